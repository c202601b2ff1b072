#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! With every detector on, `netsec analyze` finds the same things whatever
//! the number of threads: each labelled capture of testdata/detect (scans,
//! floods from spoofed sources, ARP spoofing, brute force, beacons, …) and
//! testdata/windows (DCSync, Kerberoasting, Zerologon, …), and all of them
//! merged give the same summary and the same findings.jsonl at
//! 1, 2 and 3 threads, and on standard input.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["testdata/detect", "testdata/windows"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root().join(d)).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".pcap"))
        .collect();
    v.sort();
    v
}

/// Summary (inputs, timing and memory set aside) and findings.jsonl lines.
fn analyze(threads: &str, inputs: &[PathBuf], stdin: Option<&Path>) -> (Value, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsec"));
    cmd.args([
        "analyze",
        "--no-progress",
        "--format",
        "json",
        "--threads",
        threads,
        "--out",
    ])
    .arg(dir.path());
    match stdin {
        Some(file) => {
            cmd.arg("-")
                .stdin(Stdio::from(std::fs::File::open(file).unwrap()));
        }
        None => {
            cmd.args(inputs);
        }
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["inputs"] = Value::Null;
    summary["memory"] = Value::Null;
    let findings: Vec<String> = std::fs::read_to_string(dir.path().join("findings.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    (summary, findings)
}

#[test]
fn every_detector_gives_the_same_findings_at_any_thread_count() {
    let all = captures();
    assert!(all.len() >= 25, "{} captures", all.len());
    let mut found = 0;
    for capture in &all {
        let one = analyze("1", std::slice::from_ref(capture), None);
        found += one.1.len();
        for threads in ["2", "3"] {
            let other = analyze(threads, std::slice::from_ref(capture), None);
            assert_eq!(
                one.0,
                other.0,
                "{}: summary at {threads} threads",
                capture.display()
            );
            assert_eq!(
                one.1,
                other.1,
                "{}: findings at {threads} threads",
                capture.display()
            );
        }
    }
    assert!(
        found >= all.len() / 2,
        "only {found} findings over the labelled captures"
    );
}

#[test]
fn merged_captures_and_a_stream_give_the_same_findings() {
    let all: Vec<PathBuf> = captures()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    let one = analyze("1", &all, None);
    assert!(!one.1.is_empty());
    assert_eq!(one, analyze("3", &all, None), "3 threads on files");
    // One capture through standard input: read once, handed to workers.
    let flood = root().join("testdata/detect/arp-spoof.pcap");
    let single = analyze("1", std::slice::from_ref(&flood), None);
    assert_eq!(
        single,
        analyze("3", &[], Some(&flood)),
        "3 threads on standard input"
    );
}
