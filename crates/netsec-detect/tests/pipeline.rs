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

/// An upload still running is reported from the pipeline's flow snapshots,
/// long before its connection ends: exfil-live is one 26 MB upload over
/// 62 s at ~400 KB/s, which crosses the 10 MB threshold about 25 s in.
#[test]
fn an_upload_is_reported_while_it_runs() {
    use std::sync::{Arc, Mutex};
    for threads in [1, 2] {
        let reports: Arc<Mutex<Vec<Finding>>> = Arc::default();
        let seen = Arc::clone(&reports);
        let (summary, findings) = Analysis::new()
            .input(Input::path(common::capture("exfil-live")))
            .threads(threads)
            .analyzers(default_analyzers(&DetectConfig::default()))
            .on_finding(Arc::new(move |f: &Finding| {
                if f.kind == "data_exfiltration" {
                    seen.lock().unwrap().push(f.clone());
                }
            }))
            .run_with_findings()
            .unwrap();
        let sent = |f: &Finding| {
            f.evidence
                .measurements
                .iter()
                .find(|m| m.name == "bytes_sent")
                .map(|m| m.value)
                .unwrap()
        };
        let reports = reports.lock().unwrap();
        let first = reports.first().expect("reported");
        let last = findings
            .iter()
            .find(|f| f.kind == "data_exfiltration")
            .unwrap();
        let upload = last.time.duration().as_secs_f64();
        assert!(upload > 60.0, "the upload lasts {upload} s");
        // the first report: a snapshot 10-40 s into the upload, over the
        // threshold and short of the total
        let at = first.time.duration().as_secs_f64();
        assert!((10.0..=40.0).contains(&at), "first report {at} s in");
        assert!(sent(first) >= 10e6 && sent(first) < 20e6, "{}", sent(first));
        // the end adds the flow up for real: the whole upload, once
        assert!(sent(last) > 26e6 && sent(last) < 27e6, "{}", sent(last));
        assert_eq!(first.id, last.id);
        assert!(reports.len() <= 3, "{} reports", reports.len());
        assert_eq!(summary.findings.total, 1);
    }
}

/// Each flow a finding lists is the flow the flow log writes under that id,
/// with the same Community ID (evidence computes a TCP or UDP flow's ID
/// again from its addresses and ports instead of copying it).
#[test]
fn evidence_flows_carry_the_community_ids_of_the_flow_log() {
    let mut checked = 0;
    for name in [
        "scan-syn",
        "brute-ssh",
        "beacon-http",
        "lateral-ssh",
        "tunnel-icmp",
    ] {
        let dir =
            std::env::temp_dir().join(format!("netsec-evidence-ids-{}-{name}", std::process::id()));
        let (_, findings) = Analysis::new()
            .input(Input::path(common::capture(name)))
            .threads(1)
            .logs(netsec_analyze::Logs::EcsDir(dir.clone()))
            .analyzers(default_analyzers(&DetectConfig::default()))
            .run_with_findings()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let flows = std::fs::read_to_string(dir.join("flows.jsonl")).unwrap_or_default();
        let logged: std::collections::HashMap<u64, String> = flows
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| {
                let id = v["netsec"]["flow_id"].as_u64()?;
                let cid = v["network"]["community_id"].as_str()?.to_string();
                Some((id, cid))
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        for f in &findings {
            for r in &f.evidence.flows {
                let Some(id) = r.flow_id else { continue };
                let logged = logged.get(&id.0).unwrap_or_else(|| {
                    panic!("{name}: {} lists flow {} absent from the log", f.kind, id.0)
                });
                assert_eq!(r.community_id.as_ref(), Some(logged), "{name}: {}", f.kind);
                checked += 1;
            }
        }
    }
    // brute force, beaconing, lateral movement and the ICMP tunnel list flow records
    assert!(checked >= 4, "{checked} flow records listed");
}
