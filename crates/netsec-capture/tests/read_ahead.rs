#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Reading ahead on a helper thread (`CaptureReader::read_ahead`, used by
//! multi-threaded pipelines) delivers exactly what reading on one thread
//! does: the same packets, the same error at the same place, the same
//! statistics — across chunk boundaries, for records larger than the room
//! kept for a record cut in two, and for damaged input.

mod common;

use common::*;
use netsec_capture::CaptureReader;

/// A little-endian microsecond pcap (snap length 256 KiB, Ethernet) whose
/// records have the given captured lengths; each packet's bytes count up
/// from its number so that a byte out of place shows.
fn pcap_with(lengths: &[usize]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut starts = Vec::new();
    for (i, &len) in lengths.iter().enumerate() {
        starts.push(out.len());
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&((i as u32 * 7919) % 1_000_000).to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&(len as u32 + 4).to_le_bytes());
        out.extend((0..len).map(|b| (b + i) as u8));
    }
    (out, starts)
}

/// Sizes that put records across many 1 MiB chunk boundaries, some longer
/// than the 64 KiB kept in front of each chunk, some empty.
fn awkward_lengths() -> Vec<usize> {
    (0..1400)
        .map(|i| match i % 50 {
            0 => 150_000,
            7 => 70_000,
            13 => 0,
            _ => 60 + (i * 37) % 1500,
        })
        .collect()
}

fn read(bytes: &[u8], ahead: bool) -> Drained {
    let mut r =
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes.to_vec())), "t.pcap")
            .unwrap();
    if ahead {
        r.read_ahead();
    }
    drain(r)
}

fn assert_same(a: &Drained, b: &Drained, what: &str) {
    assert_eq!(a.packets.len(), b.packets.len(), "{what}: packet count");
    for (x, y) in a.packets.iter().zip(&b.packets) {
        assert_eq!(x, y, "{what}: packet {}", x.number);
    }
    assert_eq!(
        a.error.as_ref().map(|e| e.to_string()),
        b.error.as_ref().map(|e| e.to_string()),
        "{what}: error"
    );
    assert_eq!(a.stats.packets, b.stats.packets, "{what}");
    assert_eq!(a.stats.bytes, b.stats.bytes, "{what}");
    assert_eq!(
        a.stats.skipped_malformed, b.stats.skipped_malformed,
        "{what}"
    );
    assert_eq!(a.stats.truncated, b.stats.truncated, "{what}");
}

#[test]
fn read_ahead_gives_the_same_packets_across_chunks_and_long_records() {
    let lengths = awkward_lengths();
    let (bytes, _) = pcap_with(&lengths);
    assert!(bytes.len() > 5 * 1024 * 1024, "spans several chunks");
    let direct = read(&bytes, false);
    assert!(
        direct.error.is_none(),
        "{:?}",
        direct.error.as_ref().map(|e| e.to_string())
    );
    assert_eq!(direct.packets.len(), lengths.len());
    for (p, &len) in direct.packets.iter().zip(&lengths) {
        assert_eq!(p.data.len(), len);
    }
    assert_same(&direct, &read(&bytes, true), "whole file");
}

#[test]
fn read_ahead_stops_where_a_truncated_file_stops() {
    let (bytes, starts) = pcap_with(&awkward_lengths());
    // Inside a long record, in a record header, just after a boundary.
    for cut in [
        starts[150] + 1000,
        starts[301] + 5,
        starts[1201] + 16,
        bytes.len() - 1,
    ] {
        let cut_bytes = &bytes[..cut];
        let direct = read(cut_bytes, false);
        assert!(direct.error.is_some(), "cut at {cut}");
        assert_same(&direct, &read(cut_bytes, true), &format!("cut at {cut}"));
    }
}

#[test]
fn read_ahead_skips_lying_records_as_reading_directly_does() {
    let (mut bytes, starts) = pcap_with(&awkward_lengths());
    // A record whose captured length exceeds its original length.
    let at = starts[200] + 12;
    bytes[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
    let direct = read(&bytes, false);
    assert_eq!(direct.stats.skipped_malformed, 1);
    assert_same(&direct, &read(&bytes, true), "lying record");
}

#[test]
fn read_ahead_reads_the_test_files_as_reading_directly_does() {
    for rel in [
        "pcap-parser/ntp.pcap",
        "pcap-parser/modified-format.pcap",
        "pcap-parser/test001-be.pcapng",
        "pcap-parser/err-buffertoosmall.pcapng",
    ] {
        let bytes = bytes(rel);
        assert_same(&read(&bytes, false), &read(&bytes, true), rel);
    }
}
