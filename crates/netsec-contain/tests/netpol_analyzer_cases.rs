#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! netsec's connection list against netpol-analyzer's on real cluster
//! manifests (github.com/np-guard/netpol-analyzer, Apache-2.0; copied into
//! tests/data/k8s/cases with their `expected_connlist.txt`). Every case
//! copied here is one whose features netsec supports, and must agree line
//! for line; docs/K8S.md lists the cases left out and why.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netsec_contain::k8s::layout::{connlist_text, network_section};
use netsec_contain::k8s::{connections, load_path};

fn cases_dir() -> PathBuf {
    std::env::var_os("NETSEC_K8S_CASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s/cases"))
}

/// A connection as compared: the network section it is listed under, and
/// its line.
type Listed = (String, String);

const HEADING: &str = "Permitted connectivity analyzed in ";

/// The (network, line) pairs of a case's expected list: lines before any
/// "Permitted connectivity analyzed in …:" heading are on the pod network;
/// the workload-to-networks mapping and notes are not connections.
fn expected(case: &Path) -> BTreeSet<Listed> {
    let text = std::fs::read_to_string(case.join("expected_connlist.txt")).unwrap();
    let mut network = "Pod network".to_string();
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix(HEADING) {
            network = name.trim_end_matches(':').to_string();
        } else if line.contains(" => ") {
            out.insert((network.clone(), line.to_string()));
        }
    }
    out
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
        let got: BTreeSet<Listed> = connections(&cluster)
            .iter()
            .map(|c| (network_section(&cluster, c), c.to_string()))
            .collect();
        if got != want {
            let show = |sign: char, (net, line): &Listed| format!("{sign} [{net}] {line}");
            let mut diff: Vec<String> = want.difference(&got).map(|l| show('-', l)).collect();
            diff.extend(got.difference(&want).map(|l| show('+', l)));
            failures.push((
                case.file_name().unwrap().to_string_lossy().into_owned(),
                diff,
            ));
        }
    }
    (cases.len(), failures)
}

/// `NETSEC_K8S_CASES` points at another set of cases (any number); the
/// repository's own must be all there. `NETSEC_K8S_REPORT` prints each
/// differing case before the assertions, which run either way.
#[test]
fn connection_lists_match_netpol_analyzer() {
    let dir = cases_dir();
    let (total, failures) = run_cases(&dir);
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
    }
    if std::env::var_os("NETSEC_K8S_CASES").is_none() {
        assert!(total >= 90, "only {total} cases in {}", dir.display());
    }
    assert!(total > 0, "no cases in {}", dir.display());
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

#[test]
fn expected_lists_are_read_per_network() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/k8s/cases/nad_test_1");
    let want = expected(&case);
    assert!(want.contains(&(
        "secondary NAD first-network".to_string(),
        "default/dns-app[Deployment] => default/router-app[Deployment] : All Connections"
            .to_string()
    )));
    assert!(want.contains(&(
        "Pod network".to_string(),
        "default/dns-app[Deployment] => default/router-app[Deployment] : All Connections"
            .to_string()
    )));
    assert!(want.iter().all(|(_, l)| !l.contains("Network")));
}

/// The text layout itself: every case's `connlist_text` is netpol-analyzer's
/// output file, headings, notes and workload-to-networks mapping included.
#[test]
fn text_output_is_netpol_analyzers_file() {
    let dir = cases_dir();
    let mut differ = Vec::new();
    let mut total = 0;
    for case in std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()) {
        if !case.is_dir() {
            continue;
        }
        total += 1;
        let want = std::fs::read_to_string(case.join("expected_connlist.txt")).unwrap();
        let cluster = load_path(&case).unwrap();
        let got = connlist_text(&cluster, &connections(&cluster));
        if got.trim_end() != want.trim_end() {
            differ.push(case.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    differ.sort();
    assert!(total > 0, "no cases in {}", dir.display());
    assert!(
        differ.is_empty(),
        "{} of {total} differ: {differ:?}",
        differ.len()
    );
}
