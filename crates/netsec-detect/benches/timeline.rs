#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

//! Cost of building the timeline: 20,000 findings (the pipeline's default
//! `findings_kept`), 5,000 attack stories of four steps each (scan, guessing
//! with a login, beacon, upload) over 5,000 outside sources and 10,000 home
//! hosts, spread over an hour; with and without 10,000 linked sessions.

use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use netsec_detect::timeline::{TimelineBuilder, TimelineConfig, TrafficConfig, TrafficRecorder};
use netsec_model::{
    Analyzer, AppEvent, AppProto, Direction, DirectionStats, DnsEvent, DnsFlags, DnsQuestion,
    DnsRecord, Endpoint, EntityRole, EntityValue, EventContext, Finding, FindingCategory,
    FlowEndReason, FlowId, FlowRecord, Severity, TcpFlags, TcpState, TimeRange, Timestamp,
    Transport,
};

const T0: i64 = 1_700_000_000;

fn v4(a: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn at(secs: f64) -> TimeRange {
    TimeRange {
        start: Timestamp::from_secs_f64(T0 as f64 + secs),
        end: Timestamp::from_secs_f64(T0 as f64 + secs + 5.0),
    }
}

fn findings() -> Vec<Finding> {
    let mut out = Vec::new();
    for n in 0..5_000u32 {
        let attacker = v4(0xcb00_7100 + n); // outside
        let victim = v4(0x0a00_0000 + n);
        let second = v4(0x0a01_0000 + n);
        let c2 = v4(0xc633_6400 + n % 500);
        let t = f64::from(n % 3_000);
        let f = |kind: &str, category, mitre: &str, offset: f64| {
            Finding::new(
                kind,
                kind,
                category,
                Severity::High,
                0.8,
                at(t + offset),
                "bench",
            )
            .with_mitre([mitre])
            .with_id(n)
        };
        out.push(
            f(
                "tcp_port_scan",
                FindingCategory::Reconnaissance,
                "T1046",
                0.0,
            )
            .with_entity(EntityRole::Source, EntityValue::Host { ip: attacker })
            .with_entity(EntityRole::Target, EntityValue::Host { ip: victim }),
        );
        out.push(
            f(
                "ssh_bruteforce",
                FindingCategory::CredentialAccess,
                "T1110",
                10.0,
            )
            .with_fact("possible_success", "true")
            .with_entity(EntityRole::Source, EntityValue::Host { ip: attacker })
            .with_entity(EntityRole::Target, EntityValue::Host { ip: victim }),
        );
        out.push(
            f("beacon", FindingCategory::CommandAndControl, "T1071", 300.0)
                .with_entity(EntityRole::Source, EntityValue::Host { ip: second })
                .with_entity(EntityRole::Related, EntityValue::Host { ip: c2 }),
        );
        out.push(
            f(
                "data_exfiltration",
                FindingCategory::Exfiltration,
                "T1048",
                400.0,
            )
            .with_entity(EntityRole::Source, EntityValue::Host { ip: second })
            .with_entity(EntityRole::Related, EntityValue::Host { ip: c2 }),
        );
    }
    out
}

fn traffic() -> TrafficRecorder {
    let mut recorder = TrafficRecorder::new(TrafficConfig::default());
    let mut sink: Vec<Finding> = Vec::new();
    let stats = DirectionStats {
        packets: 10,
        bytes: 5_000,
        payload_bytes: 4_000,
        tcp_flags: TcpFlags(0x1b),
    };
    for n in 0..10_000u32 {
        let client = v4(0x0a01_0000 + n % 5_000);
        let server = v4(0xc633_6400 + n % 500);
        let ts = Timestamp::from_secs_f64(T0 as f64 + f64::from(n % 3_600));
        let ctx = EventContext {
            ts,
            packet_number: u64::from(n),
            flow_id: None,
            community_id: None,
            src: Endpoint::new(v4(0x0a00_ff35), 53),
            dst: Endpoint::new(client, 40_000),
            transport: Transport::Udp,
            direction: Direction::ToClient,
        };
        let answer = AppEvent::Dns(DnsEvent {
            ctx,
            id: 1,
            is_response: true,
            opcode: 0,
            rcode: 0,
            flags: DnsFlags::default(),
            questions: vec![DnsQuestion {
                name: format!("c2-{}.example", n % 500).into(),
                qtype: "A".into(),
                qtype_code: 1,
                qclass: 1,
            }],
            answers: vec![DnsRecord {
                name: format!("c2-{}.example", n % 500).into(),
                rtype: "A".into(),
                rtype_code: 1,
                ttl: 60,
                data: server.to_string(),
            }],
            authorities: Vec::new(),
            additionals: Vec::new(),
            query: None,
            unanswered: false,
        });
        recorder.on_event(&answer, &mut sink);
        let flow = FlowRecord {
            id: FlowId(u64::from(n)),
            community_id: format!("1:{n}"),
            client: Endpoint::new(client, 41_000),
            server: Endpoint::new(server, 80),
            transport: Transport::Tcp,
            vlan: 0,
            time: TimeRange { start: ts, end: ts },
            to_server: stats,
            to_client: stats,
            tcp_state: TcpState::Closed,
            app_proto: AppProto::Http,
            end_reason: FlowEndReason::TcpClose,
            missing_bytes: 0,
        };
        recorder.on_flow_end(&flow, &mut sink);
    }
    recorder
}

fn timeline(c: &mut Criterion) {
    let findings = findings();
    let mut group = c.benchmark_group("timeline");
    group.sample_size(10);
    group.bench_function("20k findings", |b| {
        b.iter(|| {
            let t = TimelineBuilder::new(TimelineConfig::default())
                .findings(findings.iter().cloned())
                .build();
            assert_eq!(t.findings, 20_000);
        })
    });
    group.bench_function("20k findings + 10k sessions", |b| {
        b.iter_batched(
            traffic,
            |recorder| {
                TimelineBuilder::new(TimelineConfig::default())
                    .findings(findings.iter().cloned())
                    .traffic(recorder)
                    .build()
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, timeline);
criterion_main!(benches);
