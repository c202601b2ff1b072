#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Cross-check against a real peer: for every capture with a tshark
//! expectation in `testdata/expected/` (made by
//! `scripts/tshark_expectations.py`), `netsec analyze` must count the same
//! packets per network and transport layer, the same DNS messages and query
//! names, HTTP requests and hosts, TLS ClientHellos and SNIs, SSH banners,
//! and as many TCP/UDP flows as tshark has conversations.
//!
//! Where tshark and netsec differ by design (tshark names a protocol by port
//! where netsec looks at content, or splits conversations differently), the
//! difference is listed in `KNOWN_DIFFERENCES` with the reason, and
//! testdata/README.md explains it. Every other value must be equal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// (capture, field, why netsec's value differs from tshark's).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[(
    "dns-udp-junkrequest-first",
    "dns_messages",
    "the first query is junk after a valid header; tshark counts it as a \
     [Malformed Packet] DNS message, netsec counts it as malformed and logs no event",
)];

fn known_difference(capture: &str, field: &str) -> bool {
    KNOWN_DIFFERENCES
        .iter()
        .any(|(c, f, _)| *c == capture && *f == field)
}

fn find_capture(name: &str) -> Option<PathBuf> {
    let root = repo_root().join("testdata");
    for dir in [root.clone(), root.join("suricata-verify")] {
        for ext in ["pcap", "pcapng"] {
            let p = dir.join(format!("{name}.{ext}"));
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// What netsec reports for a capture with `threads` worker threads, in the
/// shape of the tshark expectation.
fn netsec_view(capture: &Path, out: &Path, threads: u32) -> Value {
    let run = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "analyze",
            "--threads",
            &threads.to_string(),
            "--no-progress",
            "--format",
            "json",
            "--out",
        ])
        .arg(out)
        .arg(capture)
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) => panic!("running netsec on {}: {e}", capture.display()),
    };
    assert!(
        run.status.code() == Some(0),
        "netsec analyze {} exited {:?}: {}",
        capture.display(),
        run.status.code(),
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap_or(Value::Null);
    let dns = read_jsonl(&out.join("dns.jsonl"));
    let http = read_jsonl(&out.join("http.jsonl"));
    let tls = read_jsonl(&out.join("tls.jsonl"));
    let ssh = read_jsonl(&out.join("ssh.jsonl"));
    let flows = read_jsonl(&out.join("flows.jsonl"));

    let mut names = BTreeSet::new();
    for d in &dns {
        // The first question is ECS's dns.question; any others are netsec's.
        if let Some(n) = d["dns"]["question"]["name"].as_str() {
            names.insert(n.to_string());
        }
        if let Some(qs) = d["netsec"]["dns"]["more_questions"].as_array() {
            for q in qs {
                if let Some(n) = q["name"].as_str() {
                    names.insert(n.to_string());
                }
            }
        }
    }
    let requests: Vec<&Value> = http
        .iter()
        .filter(|h| h["http"]["request"].is_object())
        .collect();
    let hosts: BTreeSet<String> = requests
        .iter()
        .filter_map(|h| {
            // tshark shows the Host header as sent: domain and port again.
            let domain = h["url"]["domain"].as_str()?;
            Some(match h["url"]["port"].as_u64() {
                Some(port) if domain.contains(':') => format!("[{domain}]:{port}"),
                Some(port) => format!("{domain}:{port}"),
                None => domain.to_string(),
            })
        })
        .collect();
    let hellos: Vec<&Value> = tls
        .iter()
        .filter(|t| t["tls"]["client"].is_object())
        .collect();
    let snis: BTreeSet<String> = hellos
        .iter()
        .filter_map(|t| t["tls"]["client"]["server_name"].as_str().map(String::from))
        .collect();
    let banners: BTreeSet<String> = ssh
        .iter()
        .filter_map(|s| {
            let e = &s["netsec"]["ssh"];
            let mut b = format!(
                "SSH-{}-{}",
                e["proto_version"].as_str()?,
                e["software"].as_str()?
            );
            if let Some(c) = e["comments"].as_str() {
                b.push(' ');
                b.push_str(c);
            }
            Some(b)
        })
        .collect();
    let flows_of = |t: &str| {
        flows
            .iter()
            .filter(|f| f["network"]["transport"] == t)
            .count()
    };
    let count = |section: &str, key: &str| summary[section][key].as_u64().unwrap_or(0);
    serde_json::json!({
        "packets": summary["packets"],
        "ipv4": count("network", "ipv4"),
        "ipv6": count("network", "ipv6"),
        "arp": count("network", "arp"),
        "tcp": count("transport", "tcp"),
        "udp": count("transport", "udp"),
        "icmp": count("transport", "icmp"),
        "icmpv6": count("transport", "icmpv6"),
        "sctp": count("transport", "sctp"),
        "dns_messages": dns.len(),
        "dns_query_names": names,
        "http_requests": requests.len(),
        "http_hosts": hosts,
        "tls_client_hellos": hellos.len(),
        "tls_snis": snis,
        "ssh_banners": banners,
        "tcp_conversations": flows_of("tcp"),
        "udp_conversations": flows_of("udp"),
    })
}

#[test]
fn netsec_agrees_with_tshark_on_every_expected_capture() {
    agrees_with_tshark(1);
}

/// The same with three worker threads: sharding must not change what is seen.
#[test]
fn netsec_agrees_with_tshark_on_every_expected_capture_with_three_threads() {
    agrees_with_tshark(3);
}

fn agrees_with_tshark(threads: u32) {
    let expected_dir = repo_root().join("testdata/expected");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&expected_dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    // Pinned: sample, fragments and the 45 suricata-verify captures.
    assert_eq!(entries.len(), 47, "tshark expectations");
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for exp_path in entries {
        let Some(name) = exp_path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(String::from)
        else {
            continue;
        };
        let Some(capture) = find_capture(&name) else {
            mismatches.push(format!("{name}: capture missing from testdata"));
            continue;
        };
        let expected: Value = std::fs::read_to_string(&exp_path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null);
        let out = tmp.path().join(&name);
        let got = netsec_view(&capture, &out, threads);
        compared += 1;
        let Some(fields) = expected.as_object() else {
            mismatches.push(format!("{name}: unreadable expectation"));
            continue;
        };
        for (field, want) in fields {
            if field.starts_with('_') || known_difference(&name, field) {
                continue;
            }
            let have = &got[field];
            let equal = if want.is_array() {
                strings(want) == strings(have)
            } else {
                want.as_u64() == have.as_u64()
            };
            if !equal {
                mismatches.push(format!("{name}.{field}: tshark {want} netsec {have}"));
            }
        }
    }
    assert_eq!(compared, 47, "captures compared");
    assert!(
        mismatches.is_empty(),
        "{} differences from tshark:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
