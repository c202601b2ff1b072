//! Builds a large capture from a recorded one, for benchmarks.
//!
//! `make-capture BASE.pcap COPIES [OUT.pcap|-]` writes COPIES back-to-back
//! copies of BASE (a classic pcap, as tcpdump writes). Copy `k` is shifted in
//! time by `k` × the base's duration (plus one second), and every IPv4
//! address in 10.0.0.0/8 has its middle two octets replaced by `k`, so the
//! copies are distinct hosts and flows rather than retransmissions of the
//! same ones. IPv4 header checksums are recomputed; TCP/UDP checksums are
//! left stale (run Suricata with `-k none`; netsec and tshark do not check).
//!
//! Writing to `-` streams to standard output, so a 10 GB capture can be fed
//! to `netsec analyze -` without touching the disk.

#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

struct Record {
    ts_us: i64,
    data: Vec<u8>,
    orig_len: u32,
}

fn read_base(path: &str) -> Result<(u32, Vec<Record>), String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader = LegacyPcapReader::new(1 << 20, file).map_err(|e| format!("{path}: {e:?}"))?;
    let mut linktype = 1;
    let mut nanos = false;
    let mut records = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        linktype = h.network.0 as u32;
                        nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let sub = if nanos {
                            b.ts_usec as i64 / 1000
                        } else {
                            b.ts_usec as i64
                        };
                        records.push(Record {
                            ts_us: b.ts_sec as i64 * 1_000_000 + sub,
                            data: b.data.to_vec(),
                            orig_len: b.origlen,
                        });
                    }
                    PcapBlockOwned::NG(_) => {
                        return Err(format!("{path}: pcapng; give a classic pcap"))
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader.refill().map_err(|e| format!("{path}: {e:?}"))?;
            }
            Err(e) => return Err(format!("{path}: {e:?}")),
        }
    }
    Ok((linktype, records))
}

/// Offset of the IPv4 header in an Ethernet frame (after VLAN tags), if IPv4.
fn ipv4_offset(frame: &[u8]) -> Option<usize> {
    let mut off = 12;
    loop {
        let et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
        match et {
            0x8100 | 0x88a8 => off += 4,
            0x0800 => return Some(off + 2),
            _ => return None,
        }
    }
}

fn rewrite_copy(frame: &mut [u8], copy: u16) {
    let Some(ip) = ipv4_offset(frame) else { return };
    let Some(hdr) = frame.get_mut(ip..ip + 20) else {
        return;
    };
    if hdr[0] >> 4 != 4 {
        return;
    }
    let [hi, lo] = copy.to_be_bytes();
    for addr in [12, 16] {
        if hdr[addr] == 10 {
            hdr[addr + 1] = hi;
            hdr[addr + 2] = lo;
        }
    }
    let ihl = usize::from(hdr[0] & 0x0f) * 4;
    let Some(hdr) = frame.get_mut(ip..ip + ihl) else {
        return;
    };
    hdr[10] = 0;
    hdr[11] = 0;
    let mut sum: u32 = 0;
    for pair in hdr.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    hdr[10..12].copy_from_slice(&ck.to_be_bytes());
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(copies)) = (args.get(1), args.get(2)) else {
        return Err("usage: make-capture BASE.pcap COPIES [OUT.pcap|-]".into());
    };
    let copies: u32 = copies
        .parse()
        .map_err(|_| format!("COPIES must be a number: {copies}"))?;
    let out_path = args.get(3).map(String::as_str).unwrap_or("-");
    let (linktype, records) = read_base(base)?;
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Err(format!("{base}: no packets"));
    };
    let span_us = last.ts_us - first.ts_us + 1_000_000;
    let out: Box<dyn Write> = if out_path == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(out_path).map_err(|e| format!("{out_path}: {e}"))?)
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let io_err = |e: io::Error| format!("{out_path}: {e}");
    // Classic pcap global header, microsecond magic, little-endian (pcap-savefile(5)).
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&0i32.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&262_144u32.to_le_bytes());
    header.extend_from_slice(&linktype.to_le_bytes());
    out.write_all(&header).map_err(io_err)?;
    let mut frame = Vec::new();
    for copy in 0..copies {
        let shift = i64::from(copy) * span_us;
        for r in &records {
            frame.clear();
            frame.extend_from_slice(&r.data);
            if linktype == 1 {
                rewrite_copy(&mut frame, (copy % 65_536) as u16);
            }
            let ts = r.ts_us + shift;
            let mut rec = [0u8; 16];
            rec[0..4].copy_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
            rec[4..8].copy_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
            rec[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
            rec[12..16].copy_from_slice(&r.orig_len.to_le_bytes());
            if let Err(e) = out.write_all(&rec).and_then(|_| out.write_all(&frame)) {
                // A closed pipe (the reader stopped) ends the stream quietly.
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(io_err(e));
            }
        }
    }
    out.flush().map_err(io_err)?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make-capture: {e}");
            ExitCode::from(2)
        }
    }
}
