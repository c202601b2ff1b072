#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Memory stays within the budget under a SYN flood from 10 million
//! spoofed sources, with every detector on.
//!
//! The flood is hping3's own (`testdata/detect/flood-syn-random`, recorded
//! by scripts/record-detect-live.sh: 5,000 SYNs from random addresses and
//! the server's RSTs to them), replayed 2,000 times on `netsec analyze`'s
//! standard input; each replay moves every outside address to another
//! (XOR with a per-replay constant, checksums recomputed) and continues the
//! clock where the last one stopped. That is 10 million sources and 19.5
//! million packets over 54 minutes of packet time, which no state table can
//! keep: flows, scan and flood state must be evicted.
//!
//! Checked: the run succeeds; the flow table, the parsers and the analysers
//! and the summary's tables stay within their shares of `--memory-limit 64M`
//! and the whole process's peak resident size stays under 104 MB (the
//! budget plus the program: the binary, the rule and list tables, buffers,
//! allocator slack); flows
//! were evicted; the flood is still reported, with the victim and a source
//! count in the millions.
//!
//! Optimised builds replay all 10 million sources (`cargo test --release
//! -p netsec-cli --test flood_memory`, ~40 s on one core); unoptimised
//! builds, which run ~20 times slower, replay 1 million (set
//! `NETSEC_FLOOD_SOURCES` to choose).

use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};

use netsec_capture::CaptureReader;
use serde_json::Value;

/// One packet of the template: capture time (ns) and the frame.
struct Frame {
    ns: i64,
    data: Vec<u8>,
}

fn template() -> Vec<Frame> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/detect/flood-syn-random.pcap.zst");
    let mut r = CaptureReader::open(&path).unwrap();
    let mut frames = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        frames.push(Frame {
            ns: p.ts.as_nanos(),
            data: p.data.to_vec(),
        });
    }
    frames
}

/// The lab's own addresses (10.250.0.0/24) stay; every other address (the
/// spoofed sources) is moved.
fn is_lab(a: [u8; 4]) -> bool {
    a[..3] == [10, 250, 0]
}

fn checksum(words: impl Iterator<Item = u16>) -> u16 {
    let mut sum: u32 = words.map(u32::from).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn be_words(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
}

/// Moves the outside addresses of an Ethernet/IPv4 frame by `xor` and
/// recomputes the IPv4 and TCP checksums.
fn rewrite(frame: &mut [u8], xor: u32) {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
        return; // ARP
    }
    for at in [26, 30] {
        let a: [u8; 4] = frame[at..at + 4].try_into().unwrap();
        if !is_lab(a) {
            let moved = u32::from_be_bytes(a) ^ xor;
            frame[at..at + 4].copy_from_slice(&moved.to_be_bytes());
        }
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    frame[24..26].copy_from_slice(&[0, 0]);
    let ip = checksum(be_words(&frame[14..14 + ihl]));
    frame[24..26].copy_from_slice(&ip.to_be_bytes());
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    let end = (14 + total).min(frame.len());
    let (l4, proto) = (14 + ihl, frame[23]);
    if proto == 6 && end >= l4 + 20 && frame.len() >= 14 + total {
        frame[l4 + 16..l4 + 18].copy_from_slice(&[0, 0]);
        let len = (end - l4) as u16;
        let pseudo = be_words(&frame[26..34])
            .chain([u16::from(proto), len])
            .collect::<Vec<_>>();
        let tcp = checksum(pseudo.into_iter().chain(be_words(&frame[l4..end])));
        frame[l4 + 16..l4 + 18].copy_from_slice(&tcp.to_be_bytes());
    }
}

/// Writes the replays as one pcap (microseconds, Ethernet) to `out`.
fn write_flood(out: &mut impl Write, frames: &[Frame], replays: u32) -> std::io::Result<()> {
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&65535u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    out.write_all(&header)?;
    let first = frames[0].ns;
    let span = frames[frames.len() - 1].ns - first + 1_000;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut frame = Vec::new();
    for k in 0..replays {
        // A different odd constant per replay: every outside address of
        // replay k is its template address XOR xor(k).
        let xor = k.wrapping_mul(0x9e37_79b9) | 1;
        for f in frames {
            frame.clear();
            frame.extend_from_slice(&f.data);
            rewrite(&mut frame, if k == 0 { 0 } else { xor });
            let ns = f.ns + i64::from(k) * span;
            let (secs, micros) = (ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000);
            buf.extend_from_slice(&(secs as u32).to_le_bytes());
            buf.extend_from_slice(&(micros as u32).to_le_bytes());
            buf.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            buf.extend_from_slice(&frame);
        }
        if buf.len() > 1 << 20 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

#[test]
fn a_flood_from_millions_of_spoofed_sources_stays_within_the_memory_budget() {
    let frames = template();
    let outside: std::collections::HashSet<[u8; 4]> = frames
        .iter()
        .filter(|f| f.data.len() >= 34 && f.data[12..14] == [0x08, 0x00])
        .map(|f| f.data[26..30].try_into().unwrap())
        .filter(|a| !is_lab(*a))
        .collect();
    assert!(outside.len() >= 4_900, "{} sources", outside.len());
    let sources: u64 = std::env::var("NETSEC_FLOOD_SOURCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            1_000_000
        } else {
            10_000_000
        });
    let replays = sources.div_ceil(outside.len() as u64) as u32;
    let limit_mb = 64;
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsec"))
        .args([
            "analyze",
            "-",
            "--no-progress",
            "--format",
            "json",
            "--threads",
            "1",
            "--memory-limit",
            &format!("{limit_mb}M"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, &mut stdin);
        write_flood(&mut w, &frames, replays)
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();

    let limit = limit_mb << 20;
    let memory = &summary["memory"];
    assert_eq!(memory["limit"], limit, "{memory}");
    let engines = memory["engines_peak"].as_u64().unwrap();
    let analyzers = memory["analyzers_peak"].as_u64().unwrap();
    let tables = memory["tables_peak"].as_u64().unwrap();
    assert!(
        engines + analyzers + tables <= limit,
        "engines {engines} + analysers {analyzers} + tables {tables} > {limit}"
    );
    if let Some(rss) = memory["process_peak_rss"].as_u64() {
        println!(
            "{sources} sources: engines {} MB, analysers {} MB, tables {} MB, peak RSS {} MB",
            engines >> 20,
            analyzers >> 20,
            tables >> 20,
            rss >> 20
        );
        // The budget and the program itself (code, rule and list tables,
        // reader and channel buffers, allocator slack: ~30 MB on a small
        // capture), not a byte more per source.
        assert!(rss < limit + (40 << 20), "peak RSS {} MB", rss >> 20);
    }
    // Every SYN was a flow of its own; almost all had to go before the end.
    let flows = summary["flows"]["total"].as_u64().unwrap();
    assert!(flows >= sources, "{flows} flows");
    let packets = summary["packets"].as_u64().unwrap();
    assert!(packets >= 19 * sources / 10, "{packets} packets");

    let findings = summary["findings"]["top"].as_array().unwrap();
    let flood = findings
        .iter()
        .find(|f| f["kind"] == "syn_flood")
        .unwrap_or_else(|| panic!("no syn_flood in {}", summary["findings"]));
    let victim = Ipv4Addr::new(10, 250, 0, 20).to_string();
    assert!(
        flood.to_string().contains(&victim),
        "the flood names its victim: {flood}"
    );
}
