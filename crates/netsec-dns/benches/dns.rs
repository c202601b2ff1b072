#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! DNS messages per second through parse (netsec-proto's DNS parser,
//! hickory-proto) and the DNS detectors (tunnel, DGA, spoofing, with their
//! default configuration), and each half alone.
//!
//! Two mixes of the real DNS messages of testdata/dns, each replayed 100
//! times, each replay from other client addresses (10.x.y.z, so the
//! detectors keep state for 100 times the clients) and 60 s later, with a
//! tick every second of packet time, as the pipeline gives them:
//!
//! - `dns` (the headline, heavy on purpose): every capture — ordinary
//!   lookups, CDN and telemetry names, iodine in six encodings, dns2tcp, a
//!   DGA bot, dnsspoof races; 2,006 UDP messages, 70 % of them tunnel
//!   traffic with names up to 250 bytes and answers up to 1 KB;
//! - `dns_ordinary`: the benign captures only (`benign.pcap.zst`,
//!   `nospoof.pcap`): ordinary lookups, CDN and telemetry names.
//!
//! `NETSEC_BENCH_ONCE=1` (or `=ordinary`) runs one pass of the heavy (or
//! ordinary) mix and nothing else, for callgrind.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use netsec_capture::CaptureReader;
use netsec_dns::DnsConfig;
use netsec_model::{
    Analyzer, AppEvent, Direction, Endpoint, EventContext, Finding, Timestamp, Transport,
};
use netsec_proto::app::dns::parser::parse_message;

/// One DNS message over UDP as captured.
struct Message {
    ts: Timestamp,
    src: Endpoint,
    dst: Endpoint,
    payload: Vec<u8>,
}

/// The UDP port-53 messages of an Ethernet/IPv4 capture.
fn messages(path: &Path) -> Vec<Message> {
    let mut r = CaptureReader::open(path).unwrap();
    let mut out = Vec::new();
    while let Ok(Some(p)) = r.next_packet() {
        let d = p.data;
        if d.len() < 42 || d[12..14] != [0x08, 0x00] || d[23] != 17 {
            continue;
        }
        let ihl = usize::from(d[14] & 0x0f) * 4;
        let udp = 14 + ihl;
        let Some(h) = d.get(udp..udp + 8) else {
            continue;
        };
        let (sport, dport) = (
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        );
        if sport != 53 && dport != 53 {
            continue;
        }
        let ip = |o: usize| IpAddr::V4(Ipv4Addr::new(d[o], d[o + 1], d[o + 2], d[o + 3]));
        out.push(Message {
            ts: p.ts,
            src: Endpoint {
                ip: ip(26),
                port: sport,
            },
            dst: Endpoint {
                ip: ip(30),
                port: dport,
            },
            payload: d[udp + 8..].to_vec(),
        });
    }
    out
}

/// Moves a client address into replay `k`'s range; servers (port 53) stay.
fn shift(e: Endpoint, k: u32) -> Endpoint {
    match e.ip {
        IpAddr::V4(a) if e.port != 53 => {
            let o = a.octets();
            let host = u32::from_be_bytes([0, 0, 0, o[3]]);
            Endpoint {
                ip: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (k << 8) | host)),
                port: e.port,
            }
        }
        _ => e,
    }
}

/// Every capture of testdata/dns: the heavy mix.
const HEAVY: &[&str] = &[
    "benign.pcap.zst",
    "iodine.pcap.zst",
    "dns2tcp.pcap",
    "dga.pcap",
    "spoof.pcap",
    "nospoof.pcap",
];

/// The benign captures: ordinary lookups, CDN and telemetry names.
const ORDINARY: &[&str] = &["benign.pcap.zst", "nospoof.pcap"];

/// The replayed stream of `captures`: (context, payload).
fn stream(captures: &[&str], replays: u32) -> Vec<(EventContext, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dns");
    let mut base: Vec<Message> = Vec::new();
    for name in captures {
        base.extend(messages(&dir.join(name)));
    }
    // one timeline: each capture's messages in its own order, captures one
    // after another, 1 ms apart
    let t0 = 1_700_000_000_000_000_000i64;
    let mut out = Vec::with_capacity(base.len() * replays as usize);
    for k in 0..replays {
        for (i, m) in base.iter().enumerate() {
            let ts = t0 + i64::from(k) * 60_000_000_000 + i as i64 * 1_000_000;
            let _ = m.ts;
            let (src, dst) = (shift(m.src, k + 1), shift(m.dst, k + 1));
            out.push((
                EventContext {
                    ts: Timestamp::from_nanos(ts),
                    packet_number: out.len() as u64 + 1,
                    flow_id: None,
                    community_id: None,
                    src,
                    dst,
                    transport: Transport::Udp,
                    direction: if dst.port == 53 {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    },
                },
                m.payload.clone(),
            ));
        }
    }
    out
}

/// Parse every message and hand it to every detector, ticking once a
/// second of packet time; returns (events, findings).
fn run(stream: &[(EventContext, Vec<u8>)], analyzers: &mut [Box<dyn Analyzer>]) -> (u64, usize) {
    let mut findings: Vec<Finding> = Vec::new();
    let mut events = 0u64;
    let mut next_tick = i64::MIN;
    for (ctx, payload) in stream {
        let now = ctx.ts.as_nanos();
        if now >= next_tick {
            for a in analyzers.iter_mut() {
                a.on_tick(ctx.ts, &mut findings);
            }
            next_tick = now + 1_000_000_000;
        }
        if let Some(dns) = parse_message(payload, ctx) {
            events += 1;
            let event = AppEvent::Dns(dns);
            for a in analyzers.iter_mut() {
                a.on_event(&event, &mut findings);
            }
        }
    }
    for a in analyzers.iter_mut() {
        a.finish(&mut findings);
    }
    (events, findings.len())
}

fn bench(c: &mut Criterion) {
    mix(c, "dns", HEAVY);
    mix(c, "dns_ordinary", ORDINARY);
}

fn mix(c: &mut Criterion, group: &str, captures: &[&str]) {
    let stream = stream(captures, 100);
    let n = stream.len() as u64;
    let (events, findings) = run(&stream, &mut DnsConfig::default().analyzers());
    assert_eq!(events, n, "every message parses");
    // The heavy mix's tunnels, bot and races are reported.
    assert!(group != "dns" || findings > 100, "{findings} findings");
    eprintln!("{group}: {n} DNS messages, {findings} findings (with re-emissions)");

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function("parse_and_detect", |b| {
        b.iter_batched(
            || DnsConfig::default().analyzers(),
            |mut analyzers| run(&stream, &mut analyzers),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            stream
                .iter()
                .filter(|(ctx, p)| parse_message(p, ctx).is_some())
                .count()
        })
    });
    let parsed: Vec<AppEvent> = stream
        .iter()
        .filter_map(|(ctx, p)| parse_message(p, ctx).map(AppEvent::Dns))
        .collect();
    g.bench_function("detect", |b| {
        b.iter_batched(
            || DnsConfig::default().analyzers(),
            |mut analyzers| {
                let mut findings: Vec<Finding> = Vec::new();
                for e in &parsed {
                    for a in analyzers.iter_mut() {
                        a.on_event(e, &mut findings);
                    }
                }
                findings.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

/// `NETSEC_BENCH_ONCE=1`: one pass of parse + every detector over the
/// replayed stream and nothing else, for instruction counts that do not
/// depend on the machine's load (`valgrind --tool=callgrind BENCH_BINARY`).
fn main() {
    if let Some(which) = std::env::var_os("NETSEC_BENCH_ONCE") {
        let captures = if which == "ordinary" { ORDINARY } else { HEAVY };
        let stream = stream(captures, 100);
        let (events, findings) = run(&stream, &mut DnsConfig::default().analyzers());
        eprintln!("{events} DNS messages, {findings} findings");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
