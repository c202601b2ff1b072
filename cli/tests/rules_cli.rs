#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `netsec rules check|list` and `netsec analyze --rules` end to end: the
//! per-file report with reasons and positions, exit codes, and
//! alerts.jsonl with ECS rule fields.

use std::path::Path;
use std::process::{Command, Output};

/// The workspace.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn netsec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .output()
        .expect("run netsec")
}

#[test]
fn check_reports_skipped_rules_with_reasons_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.rules");
    std::fs::write(
        &good,
        "alert tcp any any -> any 80 (msg:\"a\"; content:\"x\"; sid:1;)\n\
         alert tcp any any -> any 80 (msg:\"b\"; xbits:set,a,track ip_src; sid:2;)\n",
    )
    .unwrap();
    let out = netsec(&["rules", "check", good.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("1 loaded, 1 skipped (1 unsupported"),
        "{text}"
    );
    assert!(
        text.contains("line 2:39 sid 2: unsupported keyword `xbits`"),
        "{text}"
    );
    assert!(
        text.contains("total: 1 of 2 rules loaded (50.00 %)"),
        "{text}"
    );
    let bad = dir.path().join("bad.rules");
    std::fs::write(
        &bad,
        "alert tcp any any -> any 80 (msg:\"c\"; content:\"|zz|\"; sid:3;)\n",
    )
    .unwrap();
    let out = netsec(&["rules", "check", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "a malformed rule: {text}");
    assert!(text.contains("line 1:"), "{text}");
    let out = netsec(&["rules", "list", root().join("rules").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().count() >= 10);
    assert!(
        text.contains("1:9100002:1\tpolicy-violation\t1\tNETSEC POLICY HTTP POST"),
        "{text}"
    );
}

#[test]
fn analyze_with_rules_writes_alerts_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let capture = root().join("testdata/signatures/recorded/tools.pcap");
    let out = netsec(&[
        "analyze",
        capture.to_str().unwrap(),
        "--rules",
        root().join("rules").to_str().unwrap(),
        "--rule-var",
        "HOME_NET=[127.0.0.0/8]",
        "--out",
        dir.path().to_str().unwrap(),
        "--no-progress",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = std::fs::read_to_string(dir.path().join("alerts.jsonl")).unwrap();
    let docs: Vec<serde_json::Value> = alerts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{alerts}");
    for doc in &docs {
        assert_eq!(doc["event"]["kind"], "alert");
        assert_eq!(doc["rule"]["ruleset"], "netsec.rules");
        assert!(doc["network"]["community_id"]
            .as_str()
            .unwrap()
            .starts_with("1:"));
        assert!(doc["netsec"]["alert"]["packet_number"].as_u64().unwrap() > 0);
    }
    let findings = std::fs::read_to_string(dir.path().join("findings.jsonl")).unwrap();
    assert!(findings.contains("signature_match"), "{findings}");
    let out = netsec(&[
        "analyze",
        capture.to_str().unwrap(),
        "--rules",
        "/nonexistent.rules",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
