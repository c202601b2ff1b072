#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! TLS handshake parsing + fingerprinting, per message: the ClientHellos and
//! ServerHellos of the TLS captures in testdata/tls (parsed by
//! netsec-proto's TLS parser, then JA3/JA3S with their MD5 and JA4/JA4S, as
//! the enricher does), and the certificates of those captures (x509-parser,
//! SHA-1, SHA-256 and JA4X: `netsec_tls::certificate::parse`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netsec_analyze::{Analysis, Input};
use netsec_capture::CaptureReader;
use netsec_model::{AppEvent, LinkType, TlsMessage};
use netsec_proto::app::tls::parser::{client_hello, server_hello};
use netsec_tls::fingerprint::{ja3, ja3s, ja4, ja4s, md5_hex};

#[path = "../tests/common/mod.rs"]
mod common;

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tls");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    out.push(dir.join("foxio/browsers-x509.pcapng"));
    out.sort();
    out
}

/// (handshake type, record version, body) of every ClientHello and
/// ServerHello that a TCP segment of an Ethernet/IPv4 capture holds whole.
fn hellos(path: &Path) -> Vec<(u8, u16, Vec<u8>)> {
    let mut r = CaptureReader::open(path).unwrap();
    let mut out = Vec::new();
    while let Ok(Some(p)) = r.next_packet() {
        let d = p.data;
        if p.link_type != LinkType::Ethernet || d.len() < 54 || d[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = 14;
        if d[ip + 9] != 6 {
            continue;
        }
        let tcp = ip + usize::from(d[ip] & 0x0f) * 4;
        let Some(off) = d.get(tcp + 12) else { continue };
        let payload = tcp + usize::from(off >> 4) * 4;
        let Some(rec) = d.get(payload..) else {
            continue;
        };
        // record header, then handshake header
        if rec.len() < 9 || rec[0] != 0x16 || rec[1] != 0x03 {
            continue;
        }
        let version = u16::from_be_bytes([rec[1], rec[2]]);
        let kind = rec[5];
        let len = usize::from(rec[6]) << 16 | usize::from(rec[7]) << 8 | usize::from(rec[8]);
        if (kind == 1 || kind == 2) && rec.len() >= 9 + len {
            out.push((kind, version, rec[9..9 + len].to_vec()));
        }
    }
    out
}

/// The DER certificates the pipeline reassembles from a capture.
fn certificates(path: &Path) -> Vec<Vec<u8>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    Analysis::new()
        .input(Input::path(path))
        .threads(1)
        .analyzer(Box::new(common::CertificateEvents(Arc::clone(&events))))
        .run()
        .unwrap();
    let events = events.lock().unwrap();
    let mut out = Vec::new();
    for e in events.iter() {
        if let AppEvent::Tls(t) = e {
            if let TlsMessage::Certificate { chain, .. } = &t.message {
                out.extend(chain.iter().cloned());
            }
        }
    }
    out
}

/// Parse and fingerprint one hello; the length of what it made.
fn hello(kind: u8, version: u16, body: &[u8]) -> usize {
    if kind == 1 {
        let Some(ch) = client_hello(body, version) else {
            return 0;
        };
        let s = ja3(&ch);
        md5_hex(&s).len() + s.len() + ja4(&ch, false).len()
    } else {
        let Some((sh, _)) = server_hello(body, version) else {
            return 0;
        };
        let s = ja3s(&sh);
        md5_hex(&s).len() + s.len() + ja4s(&sh, false).len()
    }
}

fn bench(c: &mut Criterion) {
    let files = captures();
    let all: Vec<(u8, u16, Vec<u8>)> = files.iter().flat_map(|f| hellos(f)).collect();
    // the parser refuses 5 of the 43 (not looked into here: the pipeline
    // reads these captures through its own record layer); the bench keeps
    // what it reads
    let hellos: Vec<(u8, u16, Vec<u8>)> = all
        .iter()
        .filter(|(k, v, b)| hello(*k, *v, b) > 0)
        .cloned()
        .collect();
    let certs: Vec<Vec<u8>> = files.iter().flat_map(|f| certificates(f)).collect();
    let clients = hellos.iter().filter(|h| h.0 == 1).count();
    eprintln!(
        "{} captures: {} whole hellos in a segment, {} parsed ({clients} ClientHello), {} certificates",
        files.len(),
        all.len(),
        hellos.len(),
        certs.len()
    );
    assert!(hellos.len() > 30);
    assert!(certs.len() > 10);

    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Elements(hellos.len() as u64));
    g.bench_function("hello_parse_and_fingerprint", |b| {
        b.iter(|| {
            hellos
                .iter()
                .map(|(k, v, body)| hello(*k, *v, body))
                .sum::<usize>()
        })
    });
    g.throughput(Throughput::Elements(certs.len() as u64));
    g.bench_function("certificate_parse_and_ja4x", |b| {
        b.iter(|| {
            certs
                .iter()
                .filter_map(|der| netsec_tls::certificate::parse(der))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
