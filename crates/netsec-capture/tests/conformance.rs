#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Conformance on public test sets: every file of the pcapng test generator
//! (both byte orders) reads as its `.txt` describes, and pcap-parser's
//! corrupt files give clear errors, never panics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netsec_capture::{CaptureError, CaptureReader};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Block counts from a test generator description (`\tEPB: 4`).
fn block_counts(txt: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut in_counts = false;
    for line in txt.lines() {
        if line.starts_with("Block counts:") {
            in_counts = true;
            continue;
        }
        if in_counts {
            if !line.starts_with('\t') {
                if !line.trim().is_empty() {
                    in_counts = false;
                }
                continue;
            }
            let (k, v) = line.trim().split_once(':').unwrap();
            counts.insert(k.trim().to_string(), v.trim().parse().unwrap());
        }
    }
    counts
}

struct Read {
    packets: u64,
    interfaces: u64,
    sections: u64,
    other_blocks: u64,
    link_types: Vec<u32>,
}

fn read_all(path: &Path) -> Result<Read, CaptureError> {
    let mut r = CaptureReader::open(path)?;
    let mut link_types = Vec::new();
    let mut n = 0;
    while let Some(p) = r.next_packet()? {
        n += 1;
        assert_eq!(p.number, n, "packet numbers count from 1 without gaps");
        link_types.push(p.link_type.number());
    }
    let s = r.stats();
    Ok(Read {
        packets: s.packets,
        interfaces: s.interfaces,
        sections: s.sections,
        other_blocks: s.other_blocks,
        link_types,
    })
}

#[test]
fn pcapng_test_generator_set_reads_as_described() {
    let mut checked = 0;
    for order in ["le", "be"] {
        let dir = data(&format!("pcapng/{order}"));
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
            .collect();
        files.sort();
        for file in files {
            let txt = std::fs::read_to_string(file.with_extension("txt")).unwrap();
            let want = block_counts(&txt);
            let got = read_all(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let c = |k: &str| want.get(k).copied().unwrap_or(0);
            let name = file.display();
            assert_eq!(
                got.packets,
                c("EPB") + c("SPB") + c("PB"),
                "{name}: packets"
            );
            assert_eq!(got.interfaces, c("IDB"), "{name}: interfaces");
            assert_eq!(got.sections, c("SHB"), "{name}: sections");
            assert_eq!(
                got.other_blocks,
                c("NRB") + c("ISB") + c("CB") + c("DCB"),
                "{name}: non-packet blocks"
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} files checked");
}

#[test]
fn both_byte_orders_give_the_same_packets() {
    for name in ["basic/test006", "difficult/test202"] {
        let stem = name.rsplit('/').next().unwrap();
        let le = read_all(&data(&format!("pcapng/le/{stem}.pcapng"))).unwrap();
        let be = read_all(&data(&format!("pcapng/be/{stem}.pcapng"))).unwrap();
        assert_eq!(le.packets, be.packets, "{name}");
        assert_eq!(le.link_types, be.link_types, "{name}");
    }
}

#[test]
fn two_interfaces_with_different_link_types_are_told_apart() {
    // test006: "Two IDBs different linktype"
    let got = read_all(&data("pcapng/le/test006.pcapng")).unwrap();
    let distinct: std::collections::BTreeSet<u32> = got.link_types.iter().copied().collect();
    assert_eq!(distinct.len(), 2, "{:?}", got.link_types);
}

#[test]
fn corrupt_files_give_clear_errors() {
    // err-eof.bin: a packet block with no section header before it
    // (tshark: "appears to be damaged or corrupt").
    let path = data("pcap-parser/err-eof.bin");
    match read_all(&path) {
        Ok(r) => panic!("err-eof.bin: read {} packets without error", r.packets),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("err-eof.bin"),
                "error does not name the file: {msg}"
            );
            assert!(matches!(e, CaptureError::NotACapture { .. }), "{msg}");
        }
    }
}

#[test]
fn a_block_larger_than_the_first_buffer_grows_it() {
    // pcap-parser's reader reports BufferTooSmall on this file with a small
    // buffer; it is a valid capture that tshark reads as 27 packets.
    let r = read_all(&data("pcap-parser/err-buffertoosmall.pcapng")).unwrap();
    assert_eq!(r.packets, 27);
}

#[test]
fn hostile_length_fields_are_errors_not_allocations() {
    // A pcap record claiming a 4 GB packet: corrupt, named, no giant buffer.
    let good = std::fs::read(data("pcap-parser/ntp.pcap")).unwrap();
    let mut bad = good.clone();
    bad[24 + 8..24 + 12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    bad[24 + 12..24 + 16].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let mut r = CaptureReader::from_reader(Box::new(std::io::Cursor::new(bad)), "hostile").unwrap();
    let mut result = Ok(None);
    for _ in 0..10 {
        result = r.next_packet().map(|p| p.map(|p| p.number));
        if !matches!(result, Ok(Some(_))) {
            break;
        }
    }
    let err = result.unwrap_err();
    assert!(err.to_string().contains("hostile"), "{err}");
    // After the error the reader stays finished.
    assert!(r.next_packet().unwrap().is_none());
}

#[test]
fn truncated_pcap_yields_whole_packets_then_one_error() {
    let good = std::fs::read(data("pcap-parser/ntp.pcap")).unwrap();
    let total = read_all(&data("pcap-parser/ntp.pcap")).unwrap().packets;
    let cut = good[..good.len() - 10].to_vec();
    let mut r =
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(cut)), "cut.pcap").unwrap();
    let mut n = 0;
    let err = loop {
        match r.next_packet() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("no truncation error after {n} packets"),
            Err(e) => break e,
        }
    };
    assert_eq!(n, total - 1);
    assert!(matches!(err, CaptureError::Truncated { packets, .. } if packets == total - 1));
    assert!(err.to_string().contains("cut.pcap"));
    assert!(r.stats().truncated);
    assert!(r.next_packet().unwrap().is_none());
}

#[test]
fn empty_text_and_missing_inputs_are_refused() {
    let empty = CaptureReader::from_reader(Box::new(std::io::empty()), "empty.pcap").unwrap_err();
    assert!(matches!(empty, CaptureError::Empty { .. }), "{empty}");
    let text = CaptureReader::from_reader(
        Box::new(std::io::Cursor::new(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        )),
        "notes.txt",
    )
    .unwrap_err();
    assert!(matches!(text, CaptureError::NotACapture { .. }), "{text}");
    assert!(text.to_string().contains("notes.txt"));
    let missing = CaptureReader::open(Path::new("/nonexistent/x.pcap")).unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/x.pcap"));
}

#[test]
fn gzip_and_zstd_and_streams_read_like_the_plain_file() {
    use std::io::Write;
    let plain = std::fs::read(data("pcap-parser/ntp.pcap")).unwrap();
    let want = read_all(&data("pcap-parser/ntp.pcap")).unwrap().packets;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zst =
        ruzstd::encoding::compress_to_vec(&plain[..], ruzstd::encoding::CompressionLevel::Fastest);
    for (name, bytes) in [("ntp.pcap.gz", gz), ("ntp.pcap.zst", zst), ("stdin", plain)] {
        let mut r =
            CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes)), name).unwrap();
        let mut n = 0;
        while r.next_packet().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, want, "{name}");
    }
}

#[test]
fn modified_format_and_pcap_parser_samples_read() {
    let m = read_all(&data("pcap-parser/modified-format.pcap")).unwrap();
    assert!(m.packets > 0);
    let ntp = read_all(&data("pcap-parser/ntp.pcap")).unwrap();
    assert!(ntp.packets > 0);
    let be = read_all(&data("pcap-parser/test001-be.pcapng")).unwrap();
    assert!(be.packets > 0);
}

#[test]
fn timestamps_increase_in_a_real_capture() {
    let mut r = CaptureReader::open(&data("pcap-parser/ntp.pcap")).unwrap();
    let mut last = None;
    while let Some(p) = r.next_packet().unwrap() {
        // 2010s-era capture: a sane absolute time, microseconds resolved.
        assert!(p.ts.secs() > 1_000_000_000, "{}", p.ts);
        if let Some(prev) = last {
            assert!(p.ts >= prev);
        }
        last = Some(p.ts);
    }
}
