#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Files carried over HTTP through the whole pipeline (engine, reassembly,
//! flow ends): `netsec analyze --out` writes `files.jsonl` with the hashes
//! of `testdata/http-files/expected.tsv`; a missing segment leaves that
//! file without hashes; `netsec ioc` exports them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn capture() -> PathBuf {
    root().join("testdata/http-files/http-files.pcap")
}

fn netsec(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args(args)
        .output()
        .expect("run netsec");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (uri, sha256, md5, bytes) of expected.tsv.
fn expected() -> BTreeSet<(String, String, String, u64)> {
    std::fs::read_to_string(root().join("testdata/http-files/expected.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2].into(), f[3].into(), f[4].into(), f[5].parse().unwrap())
        })
        .collect()
}

fn files_log(pcap: &Path) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    netsec(&[
        "analyze",
        "--no-progress",
        "--threads",
        "1",
        "--out",
        dir.path().to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    std::fs::read_to_string(dir.path().join("files.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn files_log_has_every_expected_hash() {
    let docs = files_log(&capture());
    assert_eq!(docs.len(), 8);
    let got: BTreeSet<(String, String, String, u64)> = docs
        .iter()
        .map(|d| {
            assert_eq!(d["netsec"]["file"]["complete"], true, "{d}");
            (
                d["url"]["original"].as_str().unwrap().to_string(),
                d["file"]["hash"]["sha256"].as_str().unwrap().to_string(),
                d["file"]["hash"]["md5"].as_str().unwrap().to_string(),
                d["file"]["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected());
    let upload = docs
        .iter()
        .find(|d| d["http"]["request"]["body"]["bytes"] == 20000)
        .unwrap();
    assert_eq!(upload["http"]["request"]["method"], "POST");
    assert_eq!(upload["source"]["ip"], "10.252.7.10");
    let blob = docs
        .iter()
        .find(|d| d["file"]["name"] == "blob.bin")
        .unwrap();
    assert_eq!(blob["http"]["response"]["body"]["bytes"], 300000);
    assert_eq!(blob["file"]["mime_type"], "application/octet-stream");
    assert_eq!(blob["event"]["dataset"], "netsec.files");
}

#[test]
fn a_missing_segment_leaves_the_file_without_hashes() {
    // The capture without packet 100 (1448 bytes of /blob.bin's body).
    let b = std::fs::read(capture()).unwrap();
    let mut out = b[..24].to_vec();
    let (mut at, mut n) = (24, 0);
    while at + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        n += 1;
        if n != 100 {
            out.extend_from_slice(&b[at..at + 16 + incl]);
        }
        at += 16 + incl;
    }
    let dir = tempfile::tempdir().unwrap();
    let gap = dir.path().join("gap.pcap");
    std::fs::write(&gap, out).unwrap();
    let docs = files_log(&gap);
    let blob = docs
        .iter()
        .find(|d| d["file"]["name"] == "blob.bin")
        .unwrap();
    assert_eq!(blob["netsec"]["file"]["complete"], false);
    assert_eq!(blob["netsec"]["file"]["missing_bytes"], 1448);
    assert!(blob["file"].get("hash").is_none(), "{blob}");
    assert_eq!(
        docs.iter()
            .filter(|d| d["file"]["hash"]["sha256"].is_string())
            .count(),
        7
    );
}

#[test]
fn ioc_export_has_the_file_hashes() {
    let out = netsec(&[
        "ioc",
        "--format",
        "csv",
        "--threads",
        "1",
        capture().to_str().unwrap(),
    ]);
    let csv = String::from_utf8_lossy(&out.stdout);
    for (uri, sha256, md5, _) in expected() {
        assert!(
            csv.contains(&format!("file-sha256,{sha256},")),
            "{uri}\n{csv}"
        );
        assert!(csv.contains(&format!("file-md5,{md5},")), "{uri}");
    }
}
