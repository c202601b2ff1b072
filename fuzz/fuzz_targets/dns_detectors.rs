//! DNS messages made of fuzzer bytes through the DNS detectors (tunnel,
//! DGA, spoofing, passive DNS, a threat list): each chunk of input (2-byte
//! length prefix) is one UDP datagram between two hosts, to or from port
//! 53, as query or response; the engine's DNS parser turns what parses into
//! events, and every detector sees them in order, then the end of input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{Analyzer, AppEvent, Finding, LinkType, RawPacket, Timestamp};
use netsec_proto::{Engine, EngineConfig, EngineSink};

struct Stage {
    analyzers: Vec<Box<dyn Analyzer>>,
    findings: Vec<Finding>,
}

impl EngineSink for Stage {
    fn event(&mut self, e: AppEvent) {
        for a in &mut self.analyzers {
            a.on_event(&e, &mut self.findings);
        }
        if self.findings.len() > 1000 {
            self.findings.clear();
        }
    }
    fn tick(&mut self, now: Timestamp) {
        for a in &mut self.analyzers {
            a.on_tick(now, &mut self.findings);
        }
    }
}

/// An Ethernet/IPv4/UDP frame around `payload`.
fn frame(payload: &[u8], to_server: bool, client: u8) -> Vec<u8> {
    let (src, dst, sport, dport) = if to_server {
        ([10, 0, 0, client], [10, 0, 0, 53], 40000u16, 53u16)
    } else {
        ([10, 0, 0, 53], [10, 0, 0, client], 53u16, 40000u16)
    };
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + 8 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    let ulen = (8 + payload.len()) as u16;
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&ulen.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

fuzz_target!(|data: &[u8]| {
    let mut lists = netsec_dns::IntelLists::default();
    lists.add("example.com", "fuzz");
    lists.add("10.0.0.0/8", "fuzz");
    let (passive, handle) = netsec_dns::PassiveDns::new();
    let mut analyzers = netsec_dns::DnsConfig::default().analyzers();
    analyzers.push(Box::new(passive));
    analyzers.push(Box::new(netsec_dns::DnsIntelMatcher::new(lists)));
    let mut stage = Stage {
        analyzers,
        findings: Vec::new(),
    };
    let mut engine = Engine::new(EngineConfig::default());
    let mut rest = data;
    let mut n = 0u64;
    while rest.len() >= 3 {
        let control = rest[0];
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]])) % 1500;
        let payload = &rest[3..(3 + len).min(rest.len())];
        n += 1;
        let bytes = frame(payload, control & 1 == 0, 1 + (control >> 1) % 8);
        let raw = RawPacket {
            number: n,
            ts: Timestamp::from_secs_nanos(1_700_000_000 + i64::from(control >> 4), n as u32),
            link_type: LinkType::Ethernet,
            interface: 0,
            orig_len: bytes.len() as u32,
            data: &bytes,
        };
        engine.process(&raw, &mut stage);
        rest = &rest[(3 + len).min(rest.len())..];
    }
    engine.finish(&mut stage);
    for a in &mut stage.analyzers {
        a.finish(&mut stage.findings);
    }
    let _ = handle.report(10);
});
