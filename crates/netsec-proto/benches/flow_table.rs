#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! Flow-table cost: many short UDP flows (each packet a new 5-tuple, then
//! its reply) and one long TCP flow, built with etherparse.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netsec_model::{LinkType, RawPacket, Timestamp};
use netsec_proto::{Engine, EngineConfig, EngineSink};

struct Discard;
impl EngineSink for Discard {}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut out, &[0u8; 32])
        .expect("build");
    out
}

fn bench(c: &mut Criterion) {
    let mut frames = Vec::new();
    for i in 0..20_000u32 {
        let a = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        frames.push(udp(a, [192, 0, 2, 1], 40_000 + (i % 20_000) as u16, 9999));
        frames.push(udp([192, 0, 2, 1], a, 9999, 40_000 + (i % 20_000) as u16));
    }
    let mut g = c.benchmark_group("flow_table");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("20k_udp_flows", |b| {
        b.iter(|| {
            let mut engine = Engine::new(EngineConfig::default());
            for (i, f) in frames.iter().enumerate() {
                let raw = RawPacket {
                    number: i as u64 + 1,
                    ts: Timestamp::from_secs_nanos(1_700_000_000, i as u32 * 1000),
                    link_type: LinkType::Ethernet,
                    interface: 0,
                    orig_len: f.len() as u32,
                    data: f,
                };
                engine.process(&raw, &mut Discard);
            }
            engine.finish(&mut Discard);
            engine.stats().flows_created
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
