#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! `dns.jsonl` marks the queries no response answered: each is written a
//! second time with `netsec.dns.unanswered: true`. Checked on the real
//! captures of testdata/dns against what the log itself says (a query is
//! answered exactly when an answer names its packet in
//! `netsec.dns.query.packet`), and for the same lines at 1 and 3 threads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netsec_analyze::{Analysis, Input, Logs};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of `dns.jsonl` after analysing `captures` with `threads`.
fn dns_lines(captures: &[&str], threads: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    Analysis::new()
        .inputs(
            captures
                .iter()
                .map(|c| Input::path(root().join("testdata/dns").join(c))),
        )
        .threads(threads)
        .logs(Logs::EcsDir(dir.path().to_path_buf()))
        .run()
        .unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(dir.path().join("dns.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

#[test]
fn unanswered_queries_are_marked_once_whatever_the_threads() {
    let captures = [
        "benign.pcap.zst",
        "dga.pcap",
        "dns2tcp.pcap",
        "spoof.pcap",
        "nospoof.pcap",
    ];
    let lines = dns_lines(&captures, 1);
    assert_eq!(
        lines,
        dns_lines(&captures, 3),
        "dns.jsonl at 1 and 3 threads"
    );

    let docs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // (input's packet numbers restart per capture: keyed by flow too)
    let key = |d: &Value, packet: &Value| (d["netsec"]["flow_id"].as_u64(), packet.as_u64());
    let marked: Vec<(Option<u64>, Option<u64>)> = docs
        .iter()
        .filter(|d| d["netsec"]["dns"]["unanswered"] == true)
        .map(|d| key(d, &d["netsec"]["packet"]))
        .collect();
    let answered: BTreeSet<_> = docs
        .iter()
        .filter(|d| d["dns"]["type"] == "answer")
        .filter(|d| d["netsec"]["dns"]["query"]["packet"].is_u64())
        .map(|d| key(d, &d["netsec"]["dns"]["query"]["packet"]))
        .collect();
    let queries: BTreeSet<_> = docs
        .iter()
        .filter(|d| d["dns"]["type"] == "query" && d["netsec"]["dns"]["unanswered"] != true)
        .map(|d| key(d, &d["netsec"]["packet"]))
        .collect();
    let unanswered: BTreeSet<_> = queries.difference(&answered).cloned().collect();
    let marked_set: BTreeSet<_> = marked.iter().cloned().collect();
    assert_eq!(marked.len(), marked_set.len(), "a query marked twice");
    assert_eq!(marked_set, unanswered);
    eprintln!(
        "{} queries, {} answered, {} marked unanswered",
        queries.len(),
        answered.len(),
        marked.len()
    );
    assert!(!marked.is_empty(), "the captures hold unanswered queries");
    // A marked line is its query's line again, plus the mark.
    for d in docs
        .iter()
        .filter(|d| d["netsec"]["dns"]["unanswered"] == true)
    {
        assert_eq!(d["dns"]["type"], "query", "{d}");
        assert!(d["dns"]["question"]["name"].is_string(), "{d}");
    }
}
