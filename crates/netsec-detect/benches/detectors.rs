#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! Cost of the detection stage per packet: every detector on, fed a
//! synthetic stream of 300 000 packet headers (5000 host pairs, TCP with a
//! bare SYN every 50 packets and a SYN+ACK after it, one UDP datagram in
//! seven), ticks once a second of packet time; and a stream of 20 000 flow
//! records for the flow-based detectors. Beside them, on the same packets:
//! the baseline detector (scoring the 5000 home hosts against a baseline
//! learned from the stream) and the payload-entropy inspector (700 payload
//! bytes a packet, every other host pair's traffic to port 80).

use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netsec_detect::{default_analyzers, DetectConfig};
use netsec_model::{
    AppProto, DirectionStats, Endpoint, Finding, FlowEndReason, FlowId, FlowRecord, IpInfo,
    PacketInfo, TcpFlags, TcpState, TimeRange, Timestamp, Transport,
};

fn v4(a: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn packets(n: u64) -> Vec<PacketInfo> {
    (0..n)
        .map(|i| {
            let pair = (i % 5000) as u32;
            let udp = i % 7 == 0;
            let flags = match i % 50 {
                0 => TcpFlags::SYN,
                1 => TcpFlags::SYN | TcpFlags::ACK,
                _ => TcpFlags::ACK | TcpFlags::PSH,
            };
            PacketInfo {
                number: i + 1,
                ts: Timestamp::from_nanos(1_700_000_000_000_000_000 + i as i64 * 3_000),
                wire_len: 800,
                src_mac: None,
                dst_mac: None,
                vlan: 0,
                ether_type: 0x0800,
                ip: Some(IpInfo {
                    src: v4(0x0a00_0000 + pair),
                    dst: v4(0xc633_6400 + pair % 50),
                    transport: if udp { Transport::Udp } else { Transport::Tcp },
                    ttl: 64,
                    ip_len: 780,
                    fragmented: false,
                    reassembled: false,
                    src_port: 40_000 + (pair % 1000) as u16,
                    dst_port: if udp { 53 } else { 443 },
                    tcp_flags: TcpFlags(if udp { 0 } else { flags }),
                    tcp_seq: 0,
                    tcp_ack: 0,
                    tcp_window: 0,
                    payload_len: 700,
                }),
            }
        })
        .collect()
}

fn flows(n: u32) -> Vec<FlowRecord> {
    (0..n)
        .map(|i| {
            let start = Timestamp::from_secs_nanos(1_700_000_000 + i64::from(i / 10), 0);
            let stats = DirectionStats {
                packets: 12,
                bytes: 4000,
                payload_bytes: 3000,
                tcp_flags: TcpFlags(0x1b),
            };
            FlowRecord {
                id: FlowId(u64::from(i)),
                community_id: format!("1:{i}"),
                client: Endpoint::new(v4(0x0a00_0000 + i % 2000), 40_000),
                server: Endpoint::new(v4(0xc633_6400 + i % 300), if i % 5 == 0 { 22 } else { 443 }),
                transport: Transport::Tcp,
                vlan: 0,
                time: TimeRange {
                    start,
                    end: start + netsec_model::Duration::from_secs(2),
                },
                to_server: stats,
                to_client: stats,
                tcp_state: TcpState::Closed,
                app_proto: AppProto::Tls,
                end_reason: FlowEndReason::TcpClose,
                missing_bytes: 0,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let stream = packets(300_000);
    let records = flows(20_000);
    let mut g = c.benchmark_group("detectors");
    g.throughput(Throughput::Elements(stream.len() as u64));
    g.bench_function("all_on_300k_packets", |b| {
        b.iter(|| {
            let mut analyzers = default_analyzers(&DetectConfig::default());
            let mut out: Vec<Finding> = Vec::new();
            let mut next_tick = 0i64;
            for p in &stream {
                for a in analyzers.iter_mut() {
                    a.on_packet(p, &mut out);
                }
                if p.ts.secs() >= next_tick {
                    next_tick = p.ts.secs() + 1;
                    for a in analyzers.iter_mut() {
                        a.on_tick(p.ts, &mut out);
                    }
                }
            }
            out.len()
        })
    });
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("all_on_20k_flow_records", |b| {
        b.iter(|| {
            let mut analyzers = default_analyzers(&DetectConfig::default());
            let mut out: Vec<Finding> = Vec::new();
            for r in &records {
                for a in analyzers.iter_mut() {
                    a.on_flow_end(r, &mut out);
                }
            }
            for a in analyzers.iter_mut() {
                a.finish(&mut out);
            }
            out.len()
        })
    });
    g.throughput(Throughput::Elements(stream.len() as u64));
    let config = DetectConfig::default();
    let mut learner = netsec_detect::baseline::BaselineLearner::new(
        config.baseline.clone(),
        config.network.clone(),
    );
    let mut sink: Vec<Finding> = Vec::new();
    for p in &stream {
        netsec_model::Analyzer::on_packet(&mut learner, p, &mut sink);
    }
    let learned = std::sync::Arc::new(learner.baseline());
    g.bench_function("baseline_on_300k_packets", |b| {
        b.iter(|| {
            let mut d = netsec_detect::baseline::BaselineDetector::new(
                config.baseline.clone(),
                config.network.clone(),
                std::sync::Arc::clone(&learned),
            );
            let mut out: Vec<Finding> = Vec::new();
            for p in &stream {
                netsec_model::Analyzer::on_packet(&mut d, p, &mut out);
            }
            netsec_model::Analyzer::finish(&mut d, &mut out);
            out.len()
        })
    });
    let payload = vec![0x5au8; 700];
    let web: Vec<PacketInfo> = stream
        .iter()
        .map(|p| {
            let mut p = *p;
            if let Some(ip) = p.ip.as_mut() {
                if ip.transport == Transport::Tcp && ip.src_port % 2 == 0 {
                    ip.dst_port = 80;
                }
            }
            p
        })
        .collect();
    g.bench_function("entropy_inspector_on_300k_payloads", |b| {
        b.iter(|| {
            let mut inspectors = netsec_detect::default_inspectors(&config);
            let mut out = netsec_model::InspectorOutput::default();
            for p in &web {
                let pair = p.ip.map_or(0, |ip| u64::from(ip.src_port));
                let ctx = netsec_model::PayloadContext {
                    flow_id: FlowId(pair),
                    community_id: "1:bench",
                    direction: netsec_model::Direction::ToServer,
                    established: true,
                    app_proto: AppProto::Unknown,
                    handshake_seen: true,
                };
                for i in inspectors.iter_mut() {
                    i.on_payload(p, &ctx, &payload, &mut out);
                }
            }
            out.findings.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
