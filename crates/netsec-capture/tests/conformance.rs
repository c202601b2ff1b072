#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Conformance on public test sets, checked against what TShark reads from
//! the same files (`tests/data/*/NAME.expected.tsv`, written by
//! `tests/data/tshark_expected.sh`): the whole pcapng test generator set in
//! both byte orders (also against its own `.txt` block counts), pcap in both
//! byte orders, micro- and nanosecond, the modified format, the obsolete
//! pcapng Packet Block, and every link type netsec decodes.

mod common;

use std::path::PathBuf;

use common::*;
use netsec_capture::{CaptureFormat, CaptureReader};
use netsec_model::{LinkType, Timestamp};

fn generator_files(order: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data(&format!("pcapng/{order}")))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .collect();
    files.sort();
    files
}

fn rel(path: &std::path::Path) -> String {
    path.strip_prefix(data("")).unwrap().display().to_string()
}

#[test]
fn pcapng_test_generator_set_reads_as_described_and_as_tshark_reads_it() {
    let mut checked = 0;
    for order in ["le", "be"] {
        for file in generator_files(order) {
            let name = rel(&file);
            let txt = std::fs::read_to_string(file.with_extension("txt")).unwrap();
            let want = description(&txt);
            let got = read_ok(&name);
            // The generator's own description: block counts and sequence.
            let packet_blocks = want
                .sequence
                .iter()
                .filter(|b| matches!(b.as_str(), "EPB" | "SPB" | "PB"))
                .count() as u64;
            assert_eq!(
                packet_blocks,
                want.count("EPB") + want.count("SPB") + want.count("PB")
            );
            assert_eq!(got.stats.packets, packet_blocks, "{name}: packets");
            assert_eq!(
                got.stats.interfaces,
                want.count("IDB"),
                "{name}: interfaces"
            );
            assert_eq!(got.stats.sections, want.count("SHB"), "{name}: sections");
            assert_eq!(
                got.stats.other_blocks,
                want.count("NRB") + want.count("ISB") + want.count("CB") + want.count("DCB"),
                "{name}: blocks without packets"
            );
            assert_eq!(got.stats.skipped_malformed, 0, "{name}");
            assert_eq!(got.stats.format, Some(CaptureFormat::PcapNg), "{name}");
            // Every section header of the set carries a comment ("testNNN"),
            // as capinfos shows ("Capture comment").
            assert!(
                got.stats.comments >= got.stats.sections + got.stats.packet_comments,
                "{name}: {} comments",
                got.stats.comments
            );
            // What TShark reads: timestamps, interfaces, link types, lengths, comments.
            assert_matches_tshark(&name, &got, &expected(&name));
            checked += 1;
        }
    }
    assert_eq!(checked, 48, "files checked");
}

#[test]
fn both_byte_orders_give_the_same_packets() {
    for le in generator_files("le") {
        let name = rel(&le);
        let a = read_ok(&name);
        let b = read_ok(&name.replace("le/", "be/"));
        assert_eq!(a.packets, b.packets, "{name}");
    }
}

#[test]
fn interfaces_of_different_link_types_and_resolutions_are_told_apart() {
    // test006: "Two IDBs different linktype": Ethernet and BSD NULL.
    let got = read_ok("pcapng/le/test006.pcapng");
    let kinds: std::collections::BTreeSet<(u32, u32)> = got
        .packets
        .iter()
        .map(|p| (p.interface, p.link_type))
        .collect();
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), vec![(0, 1), (1, 0)]);
    // test008: both interfaces with if_tsresol 9 (nanoseconds): the same
    // counter values as test004 read as 1/1000 of the time.
    let ns = read_ok("pcapng/le/test008.pcapng");
    let us = read_ok("pcapng/le/test004.pcapng");
    for (a, b) in ns.packets.iter().zip(&us.packets) {
        assert_eq!(a.ts.as_nanos() * 1000, b.ts.as_nanos());
    }
    // test202: three sections, numbering runs on across them.
    let multi = read_ok("pcapng/le/test202.pcapng");
    assert_eq!(multi.stats.sections, 3);
    assert_eq!(multi.packets.last().map(|p| p.number), Some(8));
}

#[test]
fn pcap_parser_samples_and_link_types_read_as_tshark_reads_them() {
    for name in [
        "pcap-parser/ntp.pcap",
        "pcap-parser/modified-format.pcap",
        "pcap-parser/test001-be.pcapng",
        "pcap-parser/err-buffertoosmall.pcapng",
        "link/decode-sll2-01.pcap",
        "link/output-eve-smb-01.pcap",
        "link/http-auth-bearer.pcap",
        "link/tls-alpn-log-detect-02.pcap",
    ] {
        let got = read_ok(name);
        assert_matches_tshark(name, &got, &expected(name));
    }
    let modified = CaptureReader::open(&data("pcap-parser/modified-format.pcap")).unwrap();
    assert_eq!(modified.format().to_string(), "pcap (modified)");
}

/// Rewrites a little-endian microsecond pcap: byte order and/or nanosecond
/// timestamps, field by field (the pcap file format, draft-ietf-opsawg-pcap).
fn rewrite_pcap(
    le_usec: &[u8],
    big_endian: bool,
    nanosecond: bool,
    link_type: Option<u32>,
) -> Vec<u8> {
    let rd = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let wr32 = |out: &mut Vec<u8>, v: u32| {
        out.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        })
    };
    let wr16 = |out: &mut Vec<u8>, v: u16| {
        out.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        })
    };
    assert_eq!(rd(le_usec, 0), 0xa1b2_c3d4);
    let mut out = Vec::new();
    wr32(&mut out, if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    wr16(&mut out, 2);
    wr16(&mut out, 4);
    for at in [8, 12, 16] {
        wr32(&mut out, rd(le_usec, at));
    }
    wr32(&mut out, link_type.unwrap_or(rd(le_usec, 20)));
    let mut at = 24;
    while at + 16 <= le_usec.len() {
        let caplen = rd(le_usec, at + 8);
        wr32(&mut out, rd(le_usec, at));
        let frac = rd(le_usec, at + 4);
        wr32(&mut out, if nanosecond { frac * 1000 + 7 } else { frac });
        wr32(&mut out, caplen);
        wr32(&mut out, rd(le_usec, at + 12));
        out.extend_from_slice(&le_usec[at + 16..at + 16 + caplen as usize]);
        at += 16 + caplen as usize;
    }
    out
}

#[test]
fn pcap_in_both_byte_orders_with_micro_and_nanosecond_timestamps() {
    let plain = bytes("pcap-parser/ntp.pcap");
    let want = expected("pcap-parser/ntp.pcap");
    for big_endian in [false, true] {
        for nanosecond in [false, true] {
            let name = format!("ntp be={big_endian} ns={nanosecond}");
            let mut r = CaptureReader::from_reader(
                Box::new(std::io::Cursor::new(rewrite_pcap(
                    &plain, big_endian, nanosecond, None,
                ))),
                &name,
            )
            .unwrap();
            assert_eq!(
                r.format(),
                CaptureFormat::Pcap {
                    nanosecond,
                    big_endian,
                    modified: false
                },
                "{name}"
            );
            let mut n = 0;
            while let Some(p) = r.next_packet().unwrap() {
                let w = &want[n];
                let extra = if nanosecond { 7 } else { 0 };
                assert_eq!(p.ts.as_nanos(), w.ts.unwrap().as_nanos() + extra, "{name}");
                assert_eq!(p.data.len(), w.cap_len, "{name}");
                n += 1;
            }
            assert_eq!(n, want.len(), "{name}");
        }
    }
}

#[test]
fn every_link_type_is_reported_and_unknown_ones_are_counted_not_fatal() {
    let plain = bytes("pcap-parser/ntp.pcap");
    let cases = [
        (0, LinkType::Null),
        (1, LinkType::Ethernet),
        (101, LinkType::Raw),
        (12, LinkType::Raw),
        (14, LinkType::Raw),
        (108, LinkType::Loop),
        (113, LinkType::LinuxSll),
        (228, LinkType::Ipv4),
        (229, LinkType::Ipv6),
        (276, LinkType::LinuxSll2),
        (147, LinkType::Other(147)),
        // An FCS length in the high bits does not change the link type.
        (0x1000_0001, LinkType::Ethernet),
    ];
    for (number, link_type) in cases {
        let d = read_bytes(rewrite_pcap(&plain, false, false, Some(number)), "lt").unwrap();
        assert!(d.error.is_none());
        assert_eq!(d.packets.len(), 12, "{number}");
        assert!(
            d.packets.iter().all(|p| p.link_type == link_type.number()),
            "{number}"
        );
        assert_eq!(d.stats.by_link_type.get(&link_type.number()), Some(&12));
        let unsupported = matches!(link_type, LinkType::Other(_));
        assert_eq!(
            d.stats
                .unsupported_link_types
                .get(&link_type.number())
                .copied(),
            unsupported.then_some(12),
            "{number}"
        );
        assert_eq!(d.stats.warnings().len(), usize::from(unsupported));
    }
    // In pcapng: the second interface of test006 relabelled 147.
    let mut ng = bytes("pcapng/le/test006.pcapng");
    let idbs: Vec<usize> = pcapng_blocks(&ng)
        .into_iter()
        .filter(|b| b.1 == 1)
        .map(|b| b.0)
        .collect();
    ng[idbs[1] + 8..idbs[1] + 10].copy_from_slice(&147u16.to_le_bytes());
    let d = read_bytes(ng, "test006-147").unwrap();
    assert!(d.error.is_none());
    assert_eq!(d.stats.unsupported_link_types.get(&147), Some(&1));
    assert_eq!(d.packets.iter().filter(|p| p.link_type == 147).count(), 1);
}

/// Turns every Enhanced Packet Block into an obsolete Packet Block (type 2):
/// the same layout but for a 16-bit interface id followed by a 16-bit drops count.
fn epbs_to_packet_blocks(ng: &[u8], big_endian: bool) -> Vec<u8> {
    let mut out = ng.to_vec();
    for (at, block_type, _) in pcapng_blocks(ng) {
        if block_type != 6 {
            continue;
        }
        let en32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let en16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let word = &ng[at + 8..at + 12];
        let if_id = if big_endian {
            u32::from_be_bytes(word.try_into().unwrap())
        } else {
            u32::from_le_bytes(word.try_into().unwrap())
        };
        out[at..at + 4].copy_from_slice(&en32(2));
        out[at + 8..at + 10].copy_from_slice(&en16(if_id as u16));
        out[at + 10..at + 12].copy_from_slice(&en16(0));
    }
    out
}

#[test]
fn obsolete_packet_blocks_read_like_enhanced_ones() {
    for (name, big_endian) in [
        ("pcapng/le/test004.pcapng", false),
        ("pcapng/be/test004.pcapng", true),
        ("pcapng/le/test009.pcapng", false),
    ] {
        let epb = read_ok(name);
        let pb = read_bytes(epbs_to_packet_blocks(&bytes(name), big_endian), "pb").unwrap();
        assert!(pb.error.is_none(), "{name}: {:?}", pb.error);
        assert_eq!(pb.packets, epb.packets, "{name}");
        assert_eq!(
            pb.stats.other_blocks, 0,
            "{name}: a PB taken for an unknown block"
        );
    }
}

#[test]
fn spb_has_no_timestamp_and_is_cut_to_the_snap_length() {
    // test012: IDB snap length 315 between the two SPB lengths (314, 342).
    let got = read_ok("pcapng/le/test012.pcapng");
    assert_eq!(got.packets[0].ts, Timestamp::ZERO);
    assert_eq!(
        (got.packets[1].wire_len, got.packets[1].data.len()),
        (342, 315)
    );
}

/// Byte offsets of the values of option `code` in each IDB of a
/// little-endian file (pcapng §3.5: code, length, value padded to 32 bits).
fn idb_option_values(ng: &[u8], code: u16) -> Vec<usize> {
    let u16_at = |at: usize| u16::from_le_bytes(ng[at..at + 2].try_into().unwrap());
    let mut found = Vec::new();
    for (at, block_type, len) in pcapng_blocks(ng) {
        if block_type != 1 {
            continue;
        }
        // IDB: type, length, link type, reserved, snap length, then options.
        let mut o = at + 16;
        while o + 4 <= at + len - 4 && u16_at(o) != 0 {
            let olen = usize::from(u16_at(o + 2));
            if u16_at(o) == code {
                found.push(o + 4);
            }
            o += 4 + olen.div_ceil(4) * 4;
        }
    }
    found
}

#[test]
fn if_tsoffset_and_power_of_two_if_tsresol_are_honoured() {
    // test008: two IDBs with if_tsresol 9 (ns) and if_tsoffset 0, alternating EPBs.
    let original = bytes("pcapng/le/test008.pcapng");
    let base = read_ok("pcapng/le/test008.pcapng").packets;
    let offsets = idb_option_values(&original, 14);
    let resolutions = idb_option_values(&original, 9);
    assert_eq!((offsets.len(), resolutions.len()), (2, 2));

    // Interface 0: if_tsoffset 1,000,000,000 s (a signed 64-bit count of seconds).
    let mut shifted = original.clone();
    shifted[offsets[0]..offsets[0] + 8].copy_from_slice(&1_000_000_000i64.to_le_bytes());
    // Interface 1: if_tsresol 0x80|20, units of 2^-20 s.
    shifted[resolutions[1]] = 0x80 | 20;
    let got = read_bytes(shifted, "tsoffset").unwrap().packets;
    assert_eq!(got.len(), base.len());
    for (g, b) in got.iter().zip(&base) {
        if g.interface == 0 {
            assert_eq!(
                g.ts.as_nanos(),
                b.ts.as_nanos() + 1_000_000_000 * 1_000_000_000
            );
        } else {
            // The same counter: n ns before, n / 2^20 s now.
            let units = b.ts.as_nanos() as u128;
            let want =
                units / (1 << 20) * 1_000_000_000 + (units % (1 << 20)) * 1_000_000_000 / (1 << 20);
            assert_eq!(g.ts.as_nanos() as u128, want);
        }
    }
}
