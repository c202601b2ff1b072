#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Input plumbing: gzip and zstd (fixtures made by the `gzip` and `zstd`
//! tools, and streams compressed here), standard input and pipes that
//! deliver a few bytes at a time, and blocks larger than the first buffer.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use common::*;
use netsec_capture::{CaptureError, CaptureReader, Compression, MAX_BLOCK_BYTES};

#[test]
fn gzip_and_zstd_files_read_like_the_plain_file() {
    for (compressed, plain, compression) in [
        (
            "compressed/ntp.pcap.gz",
            "pcap-parser/ntp.pcap",
            Compression::Gzip,
        ),
        (
            "compressed/ntp.pcap.zst",
            "pcap-parser/ntp.pcap",
            Compression::Zstd,
        ),
        (
            "compressed/test202.pcapng.gz",
            "pcapng/le/test202.pcapng",
            Compression::Gzip,
        ),
        (
            "compressed/test202.pcapng.zst",
            "pcapng/le/test202.pcapng",
            Compression::Zstd,
        ),
    ] {
        let mut r = CaptureReader::open(&data(compressed)).unwrap();
        assert_eq!(r.compression(), compression, "{compressed}");
        // Offsets count decompressed bytes: after the last packet, the plain file's length
        // less any trailing blocks without packets.
        let mut last_offset = 0;
        while r.next_packet().unwrap().is_some() {
            assert!(r.offset() > last_offset);
            last_offset = r.offset();
        }
        assert!(last_offset <= bytes(plain).len() as u64);
        if plain.ends_with(".pcap") {
            assert_eq!(last_offset, bytes(plain).len() as u64, "{compressed}");
        }
        let r = CaptureReader::open(&data(compressed)).unwrap();
        let got = drain(r);
        assert!(got.error.is_none(), "{compressed}: {:?}", got.error);
        assert_eq!(got.stats.compression, Some(compression));
        assert_matches_tshark(compressed, &got, &expected(plain));
    }
}

#[test]
fn streams_compressed_here_including_several_gzip_members() {
    let plain = bytes("pcap-parser/ntp.pcap");
    let want = read_ok("pcap-parser/ntp.pcap").packets;
    // Two gzip members (as `cat a.gz b.gz` makes): one stream.
    let (head, tail) = plain.split_at(500);
    let mut two_members = Vec::new();
    for part in [head, tail] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part).unwrap();
        two_members.extend(gz.finish().unwrap());
    }
    let zst =
        ruzstd::encoding::compress_to_vec(&plain[..], ruzstd::encoding::CompressionLevel::Fastest);
    for (name, stream) in [("two-members.gz", two_members), ("ruzstd.zst", zst)] {
        let d = read_bytes(stream, name).unwrap();
        assert!(d.error.is_none(), "{name}: {:?}", d.error);
        assert_eq!(d.packets, want, "{name}");
    }
}

#[test]
fn damaged_compression_gives_an_error_after_the_whole_packets() {
    let gz = bytes("compressed/ntp.pcap.gz");
    let cut = gz[..gz.len() / 2].to_vec();
    let d = read_bytes(cut, "half.pcap.gz").unwrap();
    assert!(d.packets.len() < 12);
    let err = d.error.expect("an error");
    assert!(err.to_string().contains("half.pcap.gz"), "{err}");
    // Garbage after a gzip magic: refused at open.
    let e = read_bytes(vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8], "bad.gz")
        .err()
        .unwrap();
    assert!(e.to_string().contains("bad.gz"), "{e}");
    // A gzip of a text file is not a capture.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"just some text, not a capture\n").unwrap();
    let e = read_bytes(gz.finish().unwrap(), "text.gz").err().unwrap();
    assert!(matches!(e, CaptureError::NotACapture { .. }), "{e}");
}

/// A stream that hands out at most `step` bytes per read, as a pipe may.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_stream_delivering_one_byte_at_a_time_reads_whole() {
    for (name, step) in [
        ("pcap-parser/ntp.pcap", 1),
        ("pcapng/be/test202.pcapng", 1),
        ("pcapng/le/test101.pcapng", 3),
        ("compressed/test202.pcapng.gz", 1),
    ] {
        let stream = Trickle {
            bytes: bytes(name),
            at: 0,
            step,
        };
        let d = drain(CaptureReader::from_reader(Box::new(stream), "<stdin>").unwrap());
        assert!(d.error.is_none(), "{name}: {:?}", d.error);
        let plain = name.replace("compressed/", "pcapng/le/").replace(".gz", "");
        assert_eq!(d.packets, read_ok(&plain).packets, "{name}");
    }
}

#[test]
fn reads_from_a_real_pipe() {
    // `cat FILE |` as standard input would be.
    let mut child = Command::new("cat")
        .arg(data("pcapng/le/test102.pcapng"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("cat");
    let stdout = child.stdout.take().unwrap();
    let d = drain(CaptureReader::from_reader(Box::new(stdout), "<stdin>").unwrap());
    child.wait().unwrap();
    assert!(d.error.is_none());
    assert_matches_tshark("pipe", &d, &expected("pcapng/le/test102.pcapng"));
}

/// A pcap with one `size`-byte record between two ordinary ones.
fn pcap_with_big_record(size: u32) -> Vec<u8> {
    let ntp = bytes("pcap-parser/ntp.pcap");
    let mut out = ntp[..24].to_vec();
    out[16..20].copy_from_slice(&(size + 1).to_le_bytes()); // snap length
    let first = &ntp[24..24 + 16 + 90];
    out.extend_from_slice(first);
    let mut header = first[..16].to_vec();
    header[8..12].copy_from_slice(&size.to_le_bytes());
    header[12..16].copy_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend((0..size).map(|i| i as u8));
    out.extend_from_slice(first);
    out
}

#[test]
fn a_record_larger_than_the_first_buffer_grows_it_up_to_the_limit() {
    let size = 3 << 20;
    let d = read_bytes(pcap_with_big_record(size), "big.pcap").unwrap();
    assert!(d.error.is_none(), "{:?}", d.error);
    assert_eq!(d.packets.len(), 3);
    assert_eq!(d.packets[1].data.len(), size as usize);
    assert!(d.packets[1]
        .data
        .iter()
        .enumerate()
        .all(|(i, b)| *b == i as u8));
    // Above the limit: a named error, the packet before it kept.
    let d = read_bytes(pcap_with_big_record(MAX_BLOCK_BYTES as u32), "huge.pcap").unwrap();
    assert_eq!(d.packets.len(), 1);
    assert!(matches!(
        d.error,
        Some(CaptureError::Corrupt { packet: 2, .. })
    ));
}

/// Run as a child of `dash_reads_standard_input` (with the capture on its
/// standard input): reads `-` and prints what it read.
#[test]
fn stdin_child() {
    if std::env::var_os("NETSEC_CAPTURE_STDIN_CHILD").is_none() {
        return;
    }
    let r = CaptureReader::open(std::path::Path::new("-")).unwrap();
    assert_eq!(r.name(), "<stdin>");
    let d = drain(r);
    assert!(d.error.is_none());
    println!("stdin-packets={}", d.packets.len());
}

#[test]
fn dash_reads_standard_input() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "stdin_child", "--nocapture", "--test-threads=1"])
        .env("NETSEC_CAPTURE_STDIN_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&bytes("compressed/test202.pcapng.zst"))
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("stdin-packets=8"), "{text}");
}
