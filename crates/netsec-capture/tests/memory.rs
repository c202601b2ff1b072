#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Memory does not grow with the input: 256 MiB of pcap, generated on the
//! fly, read with a peak resident size a few MiB above that of the first
//! packets. (Its own test binary, so no other test shares the process.)

mod common;

use std::io::Read;

use netsec_capture::CaptureReader;

/// ntp.pcap's header, then its records over and over until `total` bytes.
struct Endless {
    header: Vec<u8>,
    records: Vec<u8>,
    at: usize,
    sent: usize,
    total: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.sent < self.total {
            let src: &[u8] = if self.sent < self.header.len() {
                &self.header[self.sent..]
            } else {
                &self.records[self.at..]
            };
            let k = src.len().min(buf.len() - n).min(self.total - self.sent);
            buf[n..n + k].copy_from_slice(&src[..k]);
            n += k;
            if self.sent >= self.header.len() {
                self.at = (self.at + k) % self.records.len();
            }
            self.sent += k;
        }
        Ok(n)
    }
}

/// Peak resident set size of this process, kB (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn reading_256_mib_takes_the_memory_of_the_first_packets() {
    let ntp = common::bytes("pcap-parser/ntp.pcap");
    let records = ntp[24..].to_vec();
    let per_record = records.len() / 12;
    let total = 256 << 20;
    let whole_records = (total - 24) / records.len() * 12;
    let stream = Endless {
        header: ntp[..24].to_vec(),
        records,
        at: 0,
        sent: 0,
        total: 24 + whole_records * per_record,
    };
    let mut r = CaptureReader::from_reader(Box::new(stream), "endless").unwrap();
    let mut n = 0u64;
    let mut after_warmup = None;
    while let Some(p) = r.next_packet().unwrap() {
        n += 1;
        assert_eq!(p.data.len(), 90);
        if n == 20_000 {
            after_warmup = peak_rss_kb();
        }
    }
    assert_eq!(n, whole_records as u64);
    assert_eq!(r.stats().bytes, n * 90);
    if let (Some(before), Some(after)) = (after_warmup, peak_rss_kb()) {
        assert!(
            after <= before + 4096,
            "peak RSS grew from {before} kB to {after} kB while reading 256 MiB"
        );
    } else {
        println!("no /proc/self/status: memory not measured");
    }
}
