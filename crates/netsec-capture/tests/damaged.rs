#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Damaged, hostile and non-capture input: every whole packet before the
//! damage is delivered, records with impossible lengths are skipped and
//! counted, and what cannot be read gives one error that names the file and
//! where it stopped. Never a panic, never a giant allocation.

mod common;

use std::path::Path;

use common::*;
use netsec_capture::{CaptureError, CaptureReader, MAX_INTERFACES};

#[test]
fn pcap_parser_corrupt_file_gives_a_clear_error() {
    // err-eof.bin: a packet block with no section header before it
    // (tshark: "appears to be damaged or corrupt").
    let err = CaptureReader::open(&data("pcap-parser/err-eof.bin")).unwrap_err();
    assert!(matches!(err, CaptureError::NotACapture { .. }), "{err}");
    assert!(err.to_string().contains("err-eof.bin"), "{err}");
}

#[test]
fn empty_text_missing_and_directory_inputs_are_refused() {
    let empty = CaptureReader::from_reader(Box::new(std::io::empty()), "empty.pcap").unwrap_err();
    assert!(matches!(empty, CaptureError::Empty { .. }), "{empty}");
    let dir = tempfile::tempdir().unwrap();
    let empty_file = dir.path().join("empty.pcap");
    std::fs::write(&empty_file, b"").unwrap();
    let e = CaptureReader::open(&empty_file).unwrap_err();
    assert!(matches!(e, CaptureError::Empty { .. }) && e.to_string().contains("empty.pcap"));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "GET / HTTP/1.1\r\nHost: example.invalid\r\n\r\n").unwrap();
    let e = CaptureReader::open(&text).unwrap_err();
    assert!(matches!(e, CaptureError::NotACapture { .. }), "{e}");
    assert!(e.to_string().contains("notes.txt"), "{e}");
    // The message shows how the file starts: "GET " and that it looks like text.
    assert!(
        e.to_string().contains("47 45 54 20") && e.to_string().contains("(text)"),
        "{e}"
    );
    // A few bytes that are not even a header.
    let e = read_bytes(b"hi".to_vec(), "tiny").err().unwrap();
    assert!(matches!(e, CaptureError::NotACapture { .. }), "{e}");
    assert!(e.to_string().contains("2 bytes, too short"), "{e}");

    let missing = CaptureReader::open(Path::new("/nonexistent/x.pcap")).unwrap_err();
    assert!(matches!(missing, CaptureError::Io { .. }), "{missing}");
    assert!(missing.to_string().contains("/nonexistent/x.pcap"));
    let e = CaptureReader::open(dir.path()).unwrap_err();
    assert!(matches!(e, CaptureError::NotACapture { .. }), "{e}");
}

/// Where to cut a file for truncation tests: every record boundary and the
/// bytes around it (inside the record header), and every 5th byte between.
/// (Every byte would do, but each reader zeroes a 1 MiB buffer, slow in debug builds.)
fn cut_points(from: usize, to: usize, starts: &[usize]) -> Vec<usize> {
    (from..to)
        .filter(|c| {
            c % 5 == 0
                || starts
                    .iter()
                    .any(|s| (s.saturating_sub(1)..=s + 8).contains(c) || c + 1 == *s)
        })
        .collect()
}

#[test]
fn pcap_cut_anywhere_yields_whole_packets_then_one_truncation_error() {
    let good = bytes("pcap-parser/ntp.pcap");
    // Record boundaries, read by hand: 24-byte header, then 16 + caplen each.
    let mut starts = vec![24usize];
    while *starts.last().unwrap() < good.len() {
        let at = *starts.last().unwrap();
        let caplen = u32::from_le_bytes(good[at + 8..at + 12].try_into().unwrap()) as usize;
        starts.push(at + 16 + caplen);
    }
    for cut in cut_points(24, good.len(), &starts) {
        let name = format!("cut-{cut}.pcap");
        let d = read_bytes(good[..cut].to_vec(), &name).unwrap();
        let whole = starts.iter().filter(|&&s| s <= cut).count() - 1;
        assert_eq!(d.packets.len(), whole, "{name}");
        if starts.contains(&cut) {
            assert!(d.error.is_none(), "{name}: {:?}", d.error);
            assert!(!d.stats.truncated);
        } else {
            match d.error {
                Some(CaptureError::Truncated {
                    ref file,
                    packet,
                    offset,
                }) => {
                    assert_eq!(file, &name);
                    assert_eq!(packet, whole as u64 + 1, "{name}");
                    assert_eq!(offset, starts[whole] as u64, "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
            assert!(d.stats.truncated);
            let msg = d.error.unwrap().to_string();
            assert!(msg.contains(&name) && msg.contains("byte offset"), "{msg}");
        }
    }
}

#[test]
fn pcapng_cut_anywhere_after_the_first_section_header() {
    // Three sections, every block type.
    let good = bytes("pcapng/le/test202.pcapng");
    let want = read_ok("pcapng/le/test202.pcapng").packets;
    // Sections 2 and 3 are big-endian.
    let blocks: Vec<(usize, bool)> = pcapng_blocks(&good)
        .into_iter()
        .map(|(at, block_type, _)| (at, matches!(block_type, 3 | 6)))
        .collect();
    let first_block_end = blocks[1].0;
    let starts: Vec<usize> = blocks.iter().map(|b| b.0).collect();
    for cut in cut_points(first_block_end, good.len(), &starts) {
        let name = format!("cut-{cut}.pcapng");
        let d = read_bytes(good[..cut].to_vec(), &name).unwrap();
        let whole_packets = blocks
            .windows(2)
            .filter(|w| w[1].0 <= cut && w[0].1)
            .count();
        assert_eq!(d.packets, want[..whole_packets].to_vec(), "{name}");
        let boundary = blocks.iter().any(|b| b.0 == cut);
        match d.error {
            None => assert!(boundary, "{name}: no error"),
            Some(CaptureError::Truncated { packet, offset, .. }) => {
                assert!(!boundary, "{name}");
                assert_eq!(packet, whole_packets as u64 + 1, "{name}");
                let block_start = blocks.iter().rev().find(|b| b.0 <= cut).unwrap().0;
                assert_eq!(offset, block_start as u64, "{name}");
            }
            Some(e) => panic!("{name}: {e}"),
        }
    }
}

fn le32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn pcap_records_with_impossible_lengths_are_skipped_and_counted() {
    let good = bytes("pcap-parser/ntp.pcap");
    // Record 2 claims a captured length larger than its length on the wire.
    let mut lie = good.clone();
    let second = 24 + 16 + 90;
    le32(&mut lie, second + 12, 60);
    let d = read_bytes(lie, "lie.pcap").unwrap();
    assert!(d.error.is_none());
    assert_eq!(d.packets.len(), 11);
    assert_eq!(d.stats.skipped_malformed, 1);
    assert_eq!(d.packets[1].number, 2, "numbers stay contiguous");
    assert_eq!(d.stats.warnings().len(), 1);
    // A snap length of 80 in the header: every 90-byte record exceeds it.
    let mut snap = good.clone();
    le32(&mut snap, 16, 80);
    let d = read_bytes(snap, "snap.pcap").unwrap();
    assert_eq!((d.packets.len(), d.stats.skipped_malformed), (0, 12));
}

#[test]
fn hostile_lengths_are_named_errors_not_allocations() {
    let good = bytes("pcap-parser/ntp.pcap");
    let mut bad = good.clone();
    le32(&mut bad, 24 + 16 + 90 + 8, 0xffff_fff0);
    le32(&mut bad, 24 + 16 + 90 + 12, 0xffff_fff0);
    let d = read_bytes(bad, "hostile.pcap").unwrap();
    assert_eq!(d.packets.len(), 1);
    let err = d.error.unwrap();
    assert!(
        matches!(
            err,
            CaptureError::Corrupt {
                packet: 2,
                offset: 130,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("hostile.pcap"), "{err}");
    assert!(err.to_string().contains("limit"), "{err}");

    let ng = bytes("pcapng/le/test001.pcapng");
    let blocks = pcapng_blocks(&ng);
    let third = blocks[3].0;
    for (len, what) in [
        (0x7fff_fff0u32, "limit"),
        (13, "multiple of 4"),
        (8, "multiple of 4"),
    ] {
        let mut bad = ng.clone();
        le32(&mut bad, third + 4, len);
        let d = read_bytes(bad, "hostile.pcapng").unwrap();
        assert_eq!(d.packets.len(), 1, "{len}");
        let err = d.error.unwrap();
        assert!(err.to_string().contains(what), "{len}: {err}");
        assert!(
            matches!(err, CaptureError::Corrupt { packet: 2, .. }),
            "{err}"
        );
    }
    // The trailing length disagrees with the leading one: framing is lost.
    let mut bad = ng.clone();
    let (at, _, len) = blocks[3];
    le32(&mut bad, at + len - 4, 4);
    le32(&mut bad, at + 20, 100_000); // and the packet lies about its length
    let d = read_bytes(bad, "lost.pcapng").unwrap();
    assert_eq!(d.packets.len(), 1);
    assert!(d.error.unwrap().to_string().contains("disagree"));
}

#[test]
fn pcapng_packets_that_lie_about_their_block_are_skipped_and_counted() {
    let ng = bytes("pcapng/le/test001.pcapng");
    let blocks = pcapng_blocks(&ng);
    assert_eq!(blocks.iter().filter(|b| b.1 == 6).count(), 4);
    // EPB 2: captured length beyond its block.
    let mut bad = ng.clone();
    le32(&mut bad, blocks[3].0 + 20, 5000);
    // EPB 3: an interface no IDB describes.
    le32(&mut bad, blocks[4].0 + 8, 7);
    let d = read_bytes(bad, "lies.pcapng").unwrap();
    assert!(d.error.is_none(), "{:?}", d.error);
    let good = read_ok("pcapng/le/test001.pcapng").packets;
    assert_eq!(d.packets.len(), 2);
    assert_eq!(d.packets[0].data, good[0].data);
    assert_eq!(d.packets[1].data, good[3].data);
    assert_eq!(d.packets[1].number, 2);
    assert_eq!(d.stats.skipped_malformed, 2);
    assert_eq!(d.stats.unknown_interface, 1);
}

#[test]
fn pcapng_packets_above_their_interface_snap_length_are_skipped() {
    // test004: interface 0 has snap length 96 and two 96-byte EPBs; make it 64.
    let mut ng = bytes("pcapng/le/test004.pcapng");
    let idb0 = pcapng_blocks(&ng)[1].0;
    le32(&mut ng, idb0 + 12, 64);
    let d = read_bytes(ng, "snap.pcapng").unwrap();
    assert!(d.error.is_none());
    assert_eq!((d.packets.len(), d.stats.skipped_malformed), (2, 2));
    assert!(d.packets.iter().all(|p| p.interface == 1));
}

#[test]
fn a_block_too_short_for_its_type_is_skipped() {
    // An Enhanced Packet Block of 16 bytes (its fixed fields alone take 32)
    // with intact framing, between the first and second packets.
    let ng = bytes("pcapng/le/test001.pcapng");
    let blocks = pcapng_blocks(&ng);
    let at = blocks[3].0;
    let mut bad = ng[..at].to_vec();
    for word in [6u32, 16, 0, 16] {
        bad.extend_from_slice(&word.to_le_bytes());
    }
    bad.extend_from_slice(&ng[at..]);
    let d = read_bytes(bad, "short.pcapng").unwrap();
    assert!(d.error.is_none(), "{:?}", d.error);
    assert_eq!((d.packets.len(), d.stats.skipped_malformed), (4, 1));
    assert_eq!(d.packets, read_ok("pcapng/le/test001.pcapng").packets);
}

#[test]
fn unknown_blocks_are_counted_not_fatal() {
    let ng = bytes("pcapng/le/test001.pcapng");
    let blocks = pcapng_blocks(&ng);
    let mut odd = ng.clone();
    le32(&mut odd, blocks[2].0, 0x0000_0b0b); // an unassigned block type
    let d = read_bytes(odd, "odd.pcapng").unwrap();
    assert!(d.error.is_none());
    assert_eq!((d.packets.len(), d.stats.other_blocks), (3, 1));
}

#[test]
fn unsupported_versions_are_refused_by_name() {
    let mut pcap = bytes("pcap-parser/ntp.pcap");
    pcap[4..6].copy_from_slice(&3u16.to_le_bytes());
    let e = read_bytes(pcap, "v3.pcap").err().unwrap();
    assert!(
        matches!(
            e,
            CaptureError::UnsupportedVersion {
                format: "pcap",
                major: 3,
                minor: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("v3.pcap"));
    // The modified format written big-endian: named, not "not a capture" at random.
    let mut modified_be = bytes("pcap-parser/modified-format.pcap");
    modified_be[..4].reverse();
    let e = read_bytes(modified_be, "kuznetzov-be.pcap").err().unwrap();
    assert!(e.to_string().contains("big-endian modified"), "{e}");
    let mut ng = bytes("pcapng/le/test001.pcapng");
    ng[12..14].copy_from_slice(&2u16.to_le_bytes());
    let e = read_bytes(ng, "v2.pcapng").err().unwrap();
    assert!(
        matches!(
            e,
            CaptureError::UnsupportedVersion {
                format: "pcapng",
                major: 2,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn interfaces_beyond_the_limit_are_counted_and_ignored() {
    let ng = bytes("pcapng/le/test001.pcapng");
    let blocks = pcapng_blocks(&ng);
    let (idb_at, _, idb_len) = blocks[1];
    let idb = &ng[idb_at..idb_at + idb_len];
    let mut many = ng[..idb_at].to_vec();
    for _ in 0..MAX_INTERFACES + 10 {
        many.extend_from_slice(idb);
    }
    many.extend_from_slice(&ng[idb_at + idb_len..]);
    let d = read_bytes(many, "many.pcapng").unwrap();
    assert!(d.error.is_none());
    assert_eq!(d.packets.len(), 4);
    assert_eq!(d.stats.interfaces, MAX_INTERFACES as u64 + 10);
    assert_eq!(d.stats.skipped_malformed, 10);
}
