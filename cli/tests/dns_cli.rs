#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `netsec dns` on the recorded spoofing capture (scripts/record-dns-spoof.sh):
//! the passive DNS counts agree with tshark 4.0's reading of the same file
//! (`tshark -r testdata/dns/spoof.pcap -Y FILTER | wc -l` with the filters
//! `dns.flags.response==0` → 19, `dns.flags.response==1` → 25,
//! `dns.flags.rcode==3` → 3, `dns.flags.response==1 && dns.response_to` →
//! 19), and the findings name the spoofing and the rebinding.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_dns_report_counts_as_tshark_and_names_the_attacks() {
    let capture = root().join("testdata/dns/spoof.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "dns",
            capture.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "high",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["report"];
    assert_eq!(r["queries"], 19);
    assert_eq!(r["responses"], 25);
    assert_eq!(r["matched"], 19);
    assert_eq!(r["unsolicited"], 6, "dnsspoof's late second answers");
    assert_eq!(r["unanswered"], 0);
    assert_eq!(r["rcodes"]["NXDOMAIN"], 3);
    assert_eq!(r["top_domains"][0]["domain"], "bank.example");
    let kinds: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "dns_spoofed_answer").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"dns_rebinding"), "{kinds:?}");

    let quiet = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "dns",
            root().join("testdata/dns/nospoof.pcap").to_str().unwrap(),
            "--fail-on",
            "low",
        ])
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    let text = String::from_utf8_lossy(&quiet.stdout);
    assert!(text.contains("suspicious (0):"), "{text}");
    assert!(
        text.contains("15 queries, 15 responses (15 matched)"),
        "{text}"
    );
}

#[test]
fn dns_detectors_are_tuned_by_set() {
    let capture = root().join("testdata/dns/spoof.pcap");
    let run = |set: &str| {
        Command::new(env!("CARGO_BIN_EXE_netsec"))
            .args([
                "analyze",
                capture.to_str().unwrap(),
                "--no-progress",
                "--set",
                set,
            ])
            .output()
            .unwrap()
    };
    let on = run("dns.spoof.min_wrong_ids=10");
    assert_eq!(on.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&on.stdout).contains("Spoofed DNS answer"));
    let off = run("dns.spoof.enabled=false");
    assert_eq!(off.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&off.stdout).contains("Spoofed DNS answer"));
    let bad = run("dns.spoof.window_secs=-1");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("spoof.window_secs = -1"));
    let unknown = run("dns.spoof.nonsense=1");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nonsense"));
}
