//! Any bytes as a run of DNS messages through the whole DNS path: netsec-proto's
//! parser, then the tunnel, DGA and spoofing detectors and passive DNS of
//! netsec-dns and a threat list, with ticks and the end of input. Each message is a 2-byte
//! length and that many bytes; the first byte of each picks its direction
//! and client. Nothing may panic, and every message must parse exactly as
//! the former parser (hickory-proto's owned `Message`, kept in
//! crates/netsec-proto/tests/dns_oracle) read it.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/netsec-proto/tests/dns_oracle/mod.rs"]
mod dns_oracle;
use netsec_model::{AppEvent, Direction, Endpoint, EventContext, Finding, Timestamp, Transport};
use netsec_proto::app::dns::parser::parse_message;

fuzz_target!(|data: &[u8]| {
    let mut analyzers = netsec_dns::DnsConfig::default().analyzers();
    let (passive, profile) = netsec_model::SharedAnalyzer::new(netsec_dns::PassiveDns::new());
    analyzers.push(Box::new(passive));
    let mut lists = netsec_dns::IntelLists::default();
    lists.add("example.com", "fuzz");
    lists.add("10.0.0.0/8", "fuzz");
    analyzers.push(Box::new(netsec_dns::DnsIntelMatcher::new(lists)));
    let mut findings: Vec<Finding> = Vec::new();
    let mut rest = data;
    let mut n = 0u64;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let (msg, next) = tail.split_at(len.min(tail.len()));
        rest = next;
        n += 1;
        let pick = msg.first().copied().unwrap_or(0);
        let client = Endpoint::new(
            std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, pick % 4)),
            40_000,
        );
        let server = Endpoint::new(
            std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, (pick >> 2) % 2)),
            53,
        );
        let to_server = pick & 0x80 == 0;
        let ctx = EventContext {
            ts: Timestamp::from_secs_nanos(1_700_000_000 + i64::from(pick % 16) * n as i64, 0),
            packet_number: n,
            flow_id: None,
            community_id: None,
            src: if to_server { client } else { server },
            dst: if to_server { server } else { client },
            transport: Transport::Udp,
            direction: if to_server {
                Direction::ToServer
            } else {
                Direction::ToClient
            },
        };
        let parsed = parse_message(msg, &ctx);
        assert_eq!(parsed, dns_oracle::oracle(msg, &ctx), "{msg:02x?}");
        if let Some(dns) = parsed {
            let event = AppEvent::Dns(dns);
            for a in analyzers.iter_mut() {
                a.on_event(&event, &mut findings);
                a.on_tick(ctx.ts, &mut findings);
            }
        }
    }
    for a in analyzers.iter_mut() {
        a.finish(&mut findings);
    }
    drop(analyzers);
    let report = profile.lock().map(|mut p| p.report(10).queries);
    let _ = report;
});
