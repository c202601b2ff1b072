//! Fixtures and expectations shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netsec_capture::{CaptureError, CaptureReader, ReadStats};
use netsec_model::Timestamp;

/// A file under tests/data.
pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// The bytes of a file under tests/data.
pub fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// One packet as the reader returned it (copied out of the borrowed buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub number: u64,
    pub ts: Timestamp,
    pub interface: u32,
    pub link_type: u32,
    pub wire_len: u32,
    pub data: Vec<u8>,
}

/// Everything a reader delivers: packets, the error that ended it (if any), stats.
pub struct Drained {
    pub packets: Vec<Packet>,
    pub error: Option<CaptureError>,
    pub stats: ReadStats,
}

/// Reads a reader to its end, checking the lending-iterator contract on the way:
/// numbers count from 1 without gaps, and after an error only `Ok(None)` follows.
pub fn drain(mut r: CaptureReader) -> Drained {
    let mut packets = Vec::new();
    let error = loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert_eq!(p.number, packets.len() as u64 + 1, "numbering");
                packets.push(Packet {
                    number: p.number,
                    ts: p.ts,
                    interface: p.interface,
                    link_type: p.link_type.number(),
                    wire_len: p.orig_len,
                    data: p.data.to_vec(),
                });
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert!(matches!(r.next_packet(), Ok(None)), "reader not finished");
    Drained {
        packets,
        error,
        stats: r.stats().clone(),
    }
}

/// Reads a file under tests/data; panics on any error.
pub fn read_ok(rel: &str) -> Drained {
    let d = drain(CaptureReader::open(&data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")));
    if let Some(e) = &d.error {
        panic!("{rel}: {e}");
    }
    d
}

/// Reads bytes as if from a stream named `name`.
pub fn read_bytes(bytes: Vec<u8>, name: &str) -> Result<Drained, CaptureError> {
    CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes)), name).map(drain)
}

/// One line of a `*.expected.tsv` written by tests/data/tshark_expected.sh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub number: u64,
    /// `None` where TShark shows no time (pcapng Simple Packet Blocks).
    pub ts: Option<Timestamp>,
    pub interface: u32,
    pub link_type: u32,
    pub wire_len: u32,
    pub cap_len: usize,
    pub comments: u64,
}

/// "1340954905.298858000" as nanoseconds, exactly (no floating point).
pub fn parse_epoch(s: &str) -> Timestamp {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut nanos = frac.to_string();
    assert!(nanos.len() <= 9, "{s}");
    while nanos.len() < 9 {
        nanos.push('0');
    }
    Timestamp::from_secs_nanos(secs.parse().unwrap(), nanos.parse().unwrap())
}

/// The expectations TShark wrote for `rel` (the capture's path under tests/data).
pub fn expected(rel: &str) -> Vec<Expected> {
    let path = data(rel).with_extension("expected.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("packet\t"))
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "{path:?}: {line}");
            Expected {
                number: f[0].parse().unwrap(),
                ts: (!f[1].is_empty()).then(|| parse_epoch(f[1])),
                interface: f[2].parse().unwrap(),
                link_type: f[3].parse().unwrap(),
                wire_len: f[4].parse().unwrap(),
                cap_len: f[5].parse().unwrap(),
                comments: f[6].parse().unwrap(),
            }
        })
        .collect()
}

/// Asserts that what the reader delivered is what TShark read.
pub fn assert_matches_tshark(name: &str, got: &Drained, want: &[Expected]) {
    assert_eq!(got.packets.len(), want.len(), "{name}: packet count");
    for (p, w) in got.packets.iter().zip(want) {
        let at = format!("{name} packet {}", w.number);
        assert_eq!(p.number, w.number, "{at}: number");
        // SPBs carry no timestamp; the reader gives the epoch.
        assert_eq!(p.ts, w.ts.unwrap_or(Timestamp::ZERO), "{at}: timestamp");
        assert_eq!(p.interface, w.interface, "{at}: interface");
        assert_eq!(p.link_type, w.link_type, "{at}: link type");
        assert_eq!(p.wire_len, w.wire_len, "{at}: length on the wire");
        assert_eq!(p.data.len(), w.cap_len, "{at}: captured length");
    }
    let comments: u64 = want.iter().map(|w| w.comments).sum();
    assert_eq!(
        got.stats.packet_comments, comments,
        "{name}: packet comments"
    );
    assert_eq!(
        got.stats.packets,
        want.len() as u64,
        "{name}: stats.packets"
    );
    let bytes: usize = want.iter().map(|w| w.cap_len).sum();
    assert_eq!(got.stats.bytes, bytes as u64, "{name}: stats.bytes");
}

/// Block counts and sequence from a pcapng test generator description.
pub struct Description {
    pub counts: BTreeMap<String, u64>,
    pub sequence: Vec<String>,
}

impl Description {
    pub fn count(&self, block: &str) -> u64 {
        self.counts.get(block).copied().unwrap_or(0)
    }
}

/// Parses a `testNNN.txt` ("Block counts:" lines `\tEPB: 4`, "Block sequence: SHB, IDB, …").
pub fn description(txt: &str) -> Description {
    let mut counts = BTreeMap::new();
    let mut sequence = Vec::new();
    let mut in_counts = false;
    for line in txt.lines() {
        if line.starts_with("Block counts:") {
            in_counts = true;
        } else if let Some(seq) = line.strip_prefix("Block sequence:") {
            sequence = seq.split(',').map(|s| s.trim().to_string()).collect();
            in_counts = false;
        } else if in_counts && line.starts_with('\t') {
            let (k, v) = line.trim().split_once(':').unwrap();
            counts.insert(k.trim().to_string(), v.trim().parse().unwrap());
        }
    }
    Description { counts, sequence }
}

/// The pcapng blocks of a file as (offset, block type, length), read by
/// hand (each section in the byte order of its header) to build damaged variants.
pub fn pcapng_blocks(bytes: &[u8]) -> Vec<(usize, u32, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut big_endian = false;
    while at + 12 <= bytes.len() {
        if bytes[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            big_endian = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
        }
        let word = |o: usize| {
            let b: [u8; 4] = bytes[o..o + 4].try_into().unwrap();
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let len = word(at + 4) as usize;
        out.push((at, word(at), len));
        at += len;
    }
    out
}
