#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! Decoder and engine throughput on a real capture (testdata/sample.pcap,
//! loaded into memory once): decode alone, and the whole engine (flows, TCP
//! reassembly, app parsers); and the engine on testdata/http-files (HTTP
//! bodies, 0.4 MB: what hashing the files costs).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netsec_model::{LinkType, RawPacket, Timestamp};
use netsec_proto::{decode, Engine, EngineConfig, EngineSink};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

fn load(name: &str) -> Vec<(Timestamp, Vec<u8>)> {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::File::open(&path).expect(name);
    let mut r = LegacyPcapReader::new(1 << 16, file).expect("pcap");
    let mut out = Vec::new();
    loop {
        match r.next() {
            Ok((off, PcapBlockOwned::Legacy(b))) => {
                out.push((
                    Timestamp::from_secs_nanos(i64::from(b.ts_sec), b.ts_usec * 1000),
                    b.data.to_vec(),
                ));
                r.consume(off);
            }
            Ok((off, _)) => r.consume(off),
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => r.refill().expect("refill"),
            Err(e) => panic!("{e:?}"),
        }
    }
    out
}

fn raw(i: usize, ts: Timestamp, data: &[u8]) -> RawPacket<'_> {
    RawPacket {
        number: i as u64 + 1,
        ts,
        link_type: LinkType::Ethernet,
        interface: 0,
        orig_len: data.len() as u32,
        data,
    }
}

struct Discard;
impl EngineSink for Discard {}

fn bench(c: &mut Criterion) {
    let packets = load("sample.pcap");
    let bytes: usize = packets.iter().map(|(_, d)| d.len()).sum();
    let mut g = c.benchmark_group("sample.pcap");
    g.throughput(Throughput::Elements(packets.len() as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut ok = 0;
            for (i, (ts, d)) in packets.iter().enumerate() {
                ok += usize::from(decode(&raw(i, *ts, d)).is_ok());
            }
            ok
        })
    });
    g.bench_function("engine", |b| {
        b.iter(|| {
            let mut engine = Engine::new(EngineConfig::default());
            for (i, (ts, d)) in packets.iter().enumerate() {
                engine.process(&raw(i, *ts, d), &mut Discard);
            }
            engine.finish(&mut Discard);
            engine.stats().flows_created
        })
    });
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("engine_bytes", |b| {
        b.iter(|| {
            let mut engine = Engine::new(EngineConfig::default());
            for (i, (ts, d)) in packets.iter().enumerate() {
                engine.process(&raw(i, *ts, d), &mut Discard);
            }
            engine.finish(&mut Discard);
        })
    });
    g.finish();
    let packets = load("http-files/http-files.pcap");
    let bytes: usize = packets.iter().map(|(_, d)| d.len()).sum();
    let mut g = c.benchmark_group("http-files.pcap");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("engine_bytes", |b| {
        b.iter(|| {
            let mut engine = Engine::new(EngineConfig::default());
            for (i, (ts, d)) in packets.iter().enumerate() {
                engine.process(&raw(i, *ts, d), &mut Discard);
            }
            engine.finish(&mut Discard);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
