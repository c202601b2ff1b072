//! The detectors inside the real analysis pipeline (netsec-analyze): the
//! same findings at one thread and at two, and the same as the plain
//! harness of `tests/common` gives.

mod common;

use netsec_analyze::{Analysis, Input};
use netsec_detect::{default_analyzers, DetectConfig};
use netsec_model::Finding;

type Shape = Vec<(String, String, u64)>;

fn through_pipeline(name: &str, threads: usize) -> Result<Shape, String> {
    let (_, findings) = Analysis::new()
        .input(Input::path(common::capture(name)))
        .threads(threads)
        .analyzers(default_analyzers(&DetectConfig::default()))
        .run_with_findings()
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(shape(&findings))
}

/// What must agree: kind, id and the main measurement of each finding.
fn shape(findings: &[Finding]) -> Shape {
    let mut out: Vec<(String, String, u64)> = findings
        .iter()
        .map(|f| {
            let first = f.evidence.measurements.first().map_or(0.0, |m| m.value);
            (f.kind.clone(), f.id.clone(), first.round() as u64)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn one_thread_or_two_and_the_harness_agree() {
    for name in [
        "scan-syn",
        "sweep-tcp445",
        "flood-syn-spoofed",
        "arp-spoof",
        "brute-ssh",
        "beacon-http",
        "lateral-ssh",
        "tunnel-icmp",
        "benign-office",
    ] {
        let one = through_pipeline(name, 1).unwrap();
        let two = through_pipeline(name, 2).unwrap();
        let harness = shape(&common::findings_of(name));
        assert_eq!(one, two, "{name}: 1 vs 2 threads");
        assert_eq!(one, harness, "{name}: pipeline vs harness");
        assert_eq!(
            one.is_empty(),
            name.starts_with("benign"),
            "{name}: {one:?}"
        );
    }
}
