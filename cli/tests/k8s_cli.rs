#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `netsec k8s list` and `diff` on netpol-analyzer's cases.

use std::path::{Path, PathBuf};
use std::process::Command;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/netsec-contain/tests/data/k8s/cases")
        .join(name)
}

fn netsec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn list_prints_the_reference_lines() {
    let dir = case("minimal_test_in_ns");
    let out = netsec(&["k8s", "list", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let got: std::collections::BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    let want: std::collections::BTreeSet<String> =
        std::fs::read_to_string(dir.join("expected_connlist.txt"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(" => "))
            .map(String::from)
            .collect();
    assert_eq!(got, want);
    let json = netsec(&[
        "k8s",
        "list",
        "-o",
        "json",
        "--focus-workload",
        "workload-a",
        dir.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.to_string().contains("workload-a")));
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[test]
fn diff_reports_changes_and_exits_1() {
    let old = case("semanticDiff-same-topologies-old1");
    let new = case("semanticDiff-same-topologies-new1");
    let out = netsec(&["k8s", "diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("changed: demo/cog-agents-account-query[DaemonSet] => demo/cog-agents-bank-ui[DaemonSet] : TCP 8080 -> All Connections"), "{text}");
    let same = netsec(&["k8s", "diff", old.to_str().unwrap(), old.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
}

#[test]
fn bad_documents_are_warnings_not_failures() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        case("minimal_test_in_ns").join("netpol.yaml"),
        dir.path().join("netpol.yaml"),
    )
    .unwrap();
    std::fs::copy(
        case("minimal_test_in_ns").join("namespace_and_deployments.yaml"),
        dir.path().join("ns.yaml"),
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "kind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {matchExpressions: [{key: a, operator: Sometimes}]}}\n---\n: : :\n").unwrap();
    let out = netsec(&["k8s", "list", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.yaml (document 0)") && err.contains("Sometimes"),
        "{err}"
    );
    assert!(err.contains("broken.yaml (document 1)"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("=> hello-world/workload-a[Deployment] : TCP 8050"));
}

#[test]
fn audit_reports_an_open_namespace_and_fails_on_request() {
    let dir = case("minimal_test_in_ns");
    let out = netsec(&[
        "k8s",
        "audit",
        "--json",
        "--fail-on",
        "medium",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        kinds.contains(&"k8s_namespace_without_default_deny".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"k8s_workload_exposed_to_any_address".to_string()),
        "{kinds:?}"
    );
}

#[test]
fn list_prints_netpol_analyzers_layout_on_several_networks() {
    // A pod network with two NADs; primary UDNs with VirtualMachines and an
    // empty pod network: the printed text is netpol-analyzer's file.
    for name in ["nad_test_1", "udn_and_vms_test_1"] {
        let dir = case(name);
        let out = netsec(&["k8s", "list", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{name}");
        let want = std::fs::read_to_string(dir.join("expected_connlist.txt")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            want.trim_end(),
            "{name}"
        );
    }
}
