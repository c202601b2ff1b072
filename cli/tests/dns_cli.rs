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

/// Threat lists named in the configuration file (`[dns] intel`) are
/// matched as --dns-intel's are; a list that cannot be read stops the run
/// with the key and its line.
#[test]
fn threat_lists_from_the_config_file() {
    let capture = root().join("testdata/dns/spoof.pcap");
    let dir = std::env::temp_dir().join(format!("netsec-cli-dns-intel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad-domains.txt"), "bank.example\n").unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, "[dns]\nintel = [\"bad-domains.txt\"]\n").unwrap();
    let out = dir.join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "analyze",
            capture.to_str().unwrap(),
            "--no-progress",
            "--config",
        ])
        .arg(&good)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let findings = std::fs::read_to_string(out.join("findings.jsonl")).unwrap();
    let intel: Vec<Value> = findings
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|f| f.to_string().contains("dns_blocklisted_domain"))
        .collect();
    assert!(!intel.is_empty(), "no dns_blocklisted_domain finding");
    assert!(intel
        .iter()
        .all(|f| f.to_string().contains("bad-domains.txt")));

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[dns]\n\nintel = [\"no-such-list.txt\"]\n").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "analyze",
            capture.to_str().unwrap(),
            "--no-progress",
            "--config",
        ])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("bad.toml: dns.intel[0] (line 3): threat list"),
        "{err}"
    );
    assert!(err.contains("no-such-list.txt"), "{err}");
    let check = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&check.stderr).contains("dns.intel[0] (line 3)"));
    let _ = std::fs::remove_dir_all(&dir);
}
