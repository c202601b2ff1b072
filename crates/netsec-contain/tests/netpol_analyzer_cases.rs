#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! netsec's connection list against netpol-analyzer's on real cluster
//! manifests (github.com/np-guard/netpol-analyzer, Apache-2.0; copied into
//! tests/data/k8s/cases with their `expected_connlist.txt`). Every case
//! copied here is one whose features netsec supports, and must agree line
//! for line; docs/K8S.md lists the cases left out and why.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netsec_contain::k8s::{connections, load_path};

fn cases_dir() -> PathBuf {
    std::env::var_os("NETSEC_K8S_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s/cases"))
}

/// Lines of a case's expected list (blank lines and section headers dropped).
fn expected(case: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(case.join("expected_connlist.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(" => "))
        .map(String::from)
        .collect()
}

/// Run every case; the names of those that differ, with the differences.
fn run_cases(dir: &Path) -> (usize, Vec<(String, Vec<String>)>) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    for case in &cases {
        let want = expected(case);
        let mut cluster = load_path(case).unwrap();
        // The expectation file is not a manifest.
        cluster.warnings.retain(|w| !w.file.ends_with(".txt"));
        let got: BTreeSet<String> = connections(&cluster)
            .iter()
            .map(|c| c.to_string())
            .collect();
        if got != want {
            let mut diff: Vec<String> = want.difference(&got).map(|l| format!("- {l}")).collect();
            diff.extend(got.difference(&want).map(|l| format!("+ {l}")));
            failures.push((
                case.file_name().unwrap().to_string_lossy().into_owned(),
                diff,
            ));
        }
    }
    (cases.len(), failures)
}

#[test]
fn connection_lists_match_netpol_analyzer() {
    let dir = cases_dir();
    let (total, failures) = run_cases(&dir);
    assert!(total >= 90, "only {total} cases in {}", dir.display());
    if std::env::var_os("NETSEC_K8S_REPORT").is_some() {
        for (name, diff) in &failures {
            eprintln!("FAIL {name} ({} lines differ)", diff.len());
            for l in diff
                .iter()
                .filter(|l| l.starts_with('+'))
                .take(3)
                .chain(diff.iter().filter(|l| l.starts_with('-')).take(3))
            {
                eprintln!("    {l}");
            }
        }
        eprintln!("{} of {total} cases agree", total - failures.len());
        return;
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ: {:?}",
        failures.len(),
        failures
            .iter()
            .map(|(n, d)| (n, d.iter().take(4).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
    );
}
