//! The hardware floor for decode + flows: a plain pcap-parser + etherparse +
//! hash-map loop with no analysis at all. `netsec analyze` is measured against
//! it in docs/PERFORMANCE.md; the foundation issue sets netsec's target above
//! this floor, not at it.
//!
//! `baseline-loop FILE.pcap` prints packets, seconds, packets/s and bytes/s.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Instant;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

type Key = (IpAddr, IpAddr, u16, u16, u8);

fn key_of(data: &[u8]) -> Option<Key> {
    let p = SlicedPacket::from_ethernet(data).ok()?;
    let (src, dst, proto) = match p.net? {
        NetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
            ip.header().protocol().0,
        ),
        NetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
            ip.payload().ip_number.0,
        ),
        NetSlice::Arp(_) => return None,
    };
    let (sp, dp) = match p.transport {
        Some(TransportSlice::Tcp(t)) => (t.source_port(), t.destination_port()),
        Some(TransportSlice::Udp(u)) => (u.source_port(), u.destination_port()),
        _ => (0, 0),
    };
    // Direction-free, as a flow table needs.
    Some(if (src, sp) <= (dst, dp) {
        (src, dst, sp, dp, proto)
    } else {
        (dst, src, dp, sp, proto)
    })
}

fn run(path: &str) -> Result<(u64, u64, usize, f64), String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader = LegacyPcapReader::new(1 << 20, file).map_err(|e| format!("{path}: {e:?}"))?;
    let mut flows: HashMap<Key, (u64, u64)> = HashMap::new();
    let (mut packets, mut bytes) = (0u64, 0u64);
    let start = Instant::now();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    packets += 1;
                    bytes += u64::from(b.origlen);
                    if let Some(k) = key_of(b.data) {
                        let e = flows.entry(k).or_default();
                        e.0 += 1;
                        e.1 += u64::from(b.origlen);
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().map_err(|e| format!("{e:?}"))?,
            Err(e) => return Err(format!("{path}: {e:?}")),
        }
    }
    Ok((packets, bytes, flows.len(), start.elapsed().as_secs_f64()))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: baseline-loop FILE.pcap");
        return ExitCode::from(2);
    };
    match run(&path) {
        Ok((packets, bytes, flows, secs)) => {
            println!(
                "{packets} packets, {flows} flows, {secs:.3} s, {:.2} M packets/s, {:.2} GB/s",
                packets as f64 / secs / 1e6,
                bytes as f64 / secs / 1e9
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("baseline-loop: {e}");
            ExitCode::from(2)
        }
    }
}
