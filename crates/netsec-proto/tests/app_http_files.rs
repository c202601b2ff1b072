#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Files carried over HTTP on a real capture: `testdata/http-files/`
//! (recorded by `scripts/record-http-files.sh`, which writes the expected
//! hashes with sha256sum/md5sum of the files served, cross-checked with
//! tshark's export of HTTP objects).

mod app_pcap;

use std::path::Path;

use app_pcap::{app_data, events, run, run_with_chunks, testdata};
use netsec_model::{AppEvent, Direction, FileEvent};

fn files(events: Vec<AppEvent>) -> Vec<FileEvent> {
    events
        .into_iter()
        .filter_map(|e| match e {
            AppEvent::File(f) => Some(f),
            _ => None,
        })
        .collect()
}

/// (direction, method, uri, sha256, md5, bytes) as expected.tsv lists them.
type Row = (String, String, String, String, String, u64);

fn expected() -> Vec<Row> {
    let text = std::fs::read_to_string(testdata("http-files/expected.tsv")).unwrap();
    let mut rows: Vec<Row> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].into(),
                f[1].into(),
                f[2].into(),
                f[3].into(),
                f[4].into(),
                f[5].parse().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn rows(files: &[FileEvent]) -> Vec<Row> {
    let mut rows: Vec<Row> = files
        .iter()
        .map(|f| {
            (
                match f.ctx.direction {
                    Direction::ToServer => "to_server".into(),
                    Direction::ToClient => "to_client".into(),
                },
                f.method.as_deref().unwrap_or_default().to_string(),
                f.uri.clone().unwrap_or_default(),
                f.sha256.clone().unwrap_or_default(),
                f.md5.clone().unwrap_or_default(),
                f.bytes,
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn every_file_hash_comes_out_exactly() {
    let want = expected();
    assert_eq!(want.len(), 8);
    for chunk in [0, 1, 1000] {
        let f = files(events(run_with_chunks(
            &testdata("http-files/http-files.pcap"),
            chunk,
        )));
        assert_eq!(rows(&f), want, "chunk {chunk}");
        assert!(f.iter().all(|f| f.complete && f.missing_bytes == 0));
        let gz: Vec<&FileEvent> = f
            .iter()
            .filter(|f| f.uri.as_deref() == Some("/words.txt"))
            .collect();
        // nginx gzip: chunked over HTTP/1.1, until the close over HTTP/1.0.
        assert!(gz
            .iter()
            .all(|f| f.content_encoding.as_deref() == Some("gzip")));
        assert_eq!(
            gz.iter().map(|f| f.declared_length).collect::<Vec<_>>(),
            vec![None, None]
        );
        let blob = f
            .iter()
            .find(|f| f.uri.as_deref() == Some("/blob.bin"))
            .unwrap();
        assert_eq!(blob.declared_length, Some(300_000));
        assert_eq!(blob.mime_type.as_deref(), Some("application/octet-stream"));
        assert_eq!(blob.host.as_deref(), Some("files.example.lab"));
        assert_eq!(blob.filename(), Some("blob.bin"));
    }
}

/// `src` without record `drop` (1-based), as a new legacy pcap.
fn without_packet(src: &Path, drop: usize, dst: &Path) {
    let b = std::fs::read(src).unwrap();
    let mut out = b[..24].to_vec();
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        let end = at + 16 + incl;
        n += 1;
        if n != drop {
            out.extend_from_slice(&b[at..end]);
        }
        at = end;
    }
    std::fs::write(dst, out).unwrap();
}

#[test]
fn a_missing_segment_leaves_the_file_incomplete_without_hashes() {
    // Packet 100 is 1448 bytes of /blob.bin's body (tshark: stream 1).
    let path =
        std::env::temp_dir().join(format!("netsec-http-files-gap-{}.pcap", std::process::id()));
    without_packet(&testdata("http-files/http-files.pcap"), 100, &path);
    let f = files(events(run(&path)));
    let _ = std::fs::remove_file(&path);
    let blob = f
        .iter()
        .find(|f| f.uri.as_deref() == Some("/blob.bin"))
        .unwrap();
    assert!(!blob.complete);
    assert_eq!(blob.missing_bytes, 1448);
    assert_eq!(blob.bytes, 300_000 - 1448);
    assert!(blob.sha256.is_none() && blob.md5.is_none());
    // The other files are untouched.
    let rest: Vec<Row> = rows(&f)
        .into_iter()
        .filter(|r| r.2 != "/blob.bin")
        .collect();
    let want: Vec<Row> = expected()
        .into_iter()
        .filter(|r| r.2 != "/blob.bin")
        .collect();
    assert_eq!(rest, want);
}

#[test]
fn keepalive_chunked_capture_bodies() {
    // http-keepalive-chunked: bodies of every framing on one connection,
    // both directions; none has a gap, so every one is complete and hashed.
    let f = files(events(run(&app_data("http-keepalive-chunked.pcap"))));
    assert!(!f.is_empty());
    assert!(
        f.iter()
            .all(|f| f.complete && f.sha256.is_some() && f.md5.is_some()),
        "{f:?}"
    );
}
