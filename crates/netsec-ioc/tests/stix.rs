//! STIX 2.1 invariants on bundles made from a run's events, flows and
//! findings; the bundles are written to `target/stix-bundles/` for
//! `scripts/stix-validate.sh` (the OASIS validator, strict mode).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use netsec_ioc::{to_misp, to_stix, IocCollector, IocConfig, StixOptions};
use netsec_model::{
    Analyzer, AppEvent, AppProto, CertificateInfo, ClientHello, Direction, DirectionStats,
    DnsEvent, DnsFlags, DnsQuestion, DnsRecord, Endpoint, EntityRole, EntityValue, EventContext,
    Finding, FindingCategory, FlowEndReason, FlowId, FlowRecord, HttpEvent, HttpMessage, Severity,
    TcpState, TimeRange, Timestamp, TlsEvent, TlsMessage, Transport,
};
use serde_json::Value;

const T0: i64 = 1_764_669_600;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_secs_nanos(T0 + s, 250_000_000)
}

fn ctx(
    at: i64,
    src: (&str, u16),
    dst: (&str, u16),
    flow: u64,
    direction: Direction,
) -> EventContext {
    EventContext {
        ts: ts(at),
        packet_number: 1,
        flow_id: Some(FlowId(flow)),
        community_id: None,
        src: Endpoint::new(ip(src.0), src.1),
        dst: Endpoint::new(ip(dst.0), dst.1),
        transport: Transport::Tcp,
        direction,
    }
}

fn flow(id: u64, client: (&str, u16), server: (&str, u16), at: i64, bytes: u64) -> FlowRecord {
    let stats = DirectionStats {
        packets: 5,
        bytes,
        payload_bytes: bytes,
        tcp_flags: netsec_model::TcpFlags(0x1b),
    };
    FlowRecord {
        id: FlowId(id),
        community_id: format!("1:{id}"),
        client: Endpoint::new(ip(client.0), client.1),
        server: Endpoint::new(ip(server.0), server.1),
        transport: Transport::Tcp,
        vlan: 0,
        time: TimeRange {
            start: ts(at),
            end: ts(at + 2),
        },
        to_server: stats,
        to_client: stats,
        tcp_state: TcpState::Closed,
        app_proto: AppProto::Http,
        end_reason: FlowEndReason::TcpClose,
        missing_bytes: 0,
    }
}

/// A run: a scan and brute force from outside, DNS + HTTP beacon + TLS to a
/// C2, a benign lookup of an allow-listed name, a file hash from a finding.
fn collector() -> IocCollector {
    let mut c = IocCollector::new(IocConfig::default());
    let mut out: Vec<Finding> = Vec::new();
    let victim = "10.0.0.20";
    let dns = AppEvent::Dns(DnsEvent {
        ctx: ctx(
            100,
            ("10.0.0.53", 53),
            (victim, 40_000),
            1,
            Direction::ToClient,
        ),
        id: 1,
        is_response: false,
        opcode: 0,
        rcode: 0,
        flags: DnsFlags::default(),
        questions: vec![DnsQuestion {
            name: "updates.c2-relay.example".into(),
            qtype: "A".into(),
            qtype_code: 1,
            qclass: 1,
        }],
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        query: None,
        unanswered: false,
    });
    if let AppEvent::Dns(mut query) = dns.clone() {
        query.ctx = ctx(
            100,
            (victim, 40_000),
            ("10.0.0.53", 53),
            1,
            Direction::ToServer,
        );
        c.on_event(&AppEvent::Dns(query), &mut out);
    }
    if let AppEvent::Dns(mut answer) = dns {
        answer.is_response = true;
        answer.answers.push(DnsRecord {
            name: "updates.c2-relay.example".into(),
            rtype: "A".into(),
            rtype_code: 1,
            ttl: 60,
            data: "198.51.100.77".into(),
        });
        c.on_event(&AppEvent::Dns(answer), &mut out);
    }
    for n in 0..3 {
        let request = AppEvent::Http(HttpEvent {
            ctx: ctx(
                101 + n * 10,
                (victim, 41_000),
                ("198.51.100.77", 80),
                10 + n as u64,
                Direction::ToServer,
            ),
            message: HttpMessage::Request {
                method: "GET".into(),
                uri: "/beacon?id='x'".into(),
                host: Some("updates.c2-relay.example".into()),
                user_agent: Some("curl/7.88.1".into()),
            },
            version: "1.1".into(),
            headers: Default::default(),
        });
        c.on_event(&request, &mut out);
        c.on_flow_end(
            &flow(
                10 + n as u64,
                (victim, 41_000),
                ("198.51.100.77", 80),
                101 + n * 10,
                700,
            ),
            &mut out,
        );
    }
    let hello = AppEvent::Tls(TlsEvent {
        ctx: ctx(
            150,
            (victim, 42_000),
            ("198.51.100.77", 443),
            20,
            Direction::ToServer,
        ),
        message: TlsMessage::ClientHello(ClientHello {
            server_name: Some("cdn.c2-relay.example".into()),
            ja3_hash: Some("E7D705A3286E19EA42F587B344EE6865".into()),
            ja4: Some("t13d1516h2_8daaf6152771_e5627efa2ab1".into()),
            ..ClientHello::default()
        }),
    });
    c.on_event(&hello, &mut out);
    let certificate = AppEvent::Tls(TlsEvent {
        ctx: ctx(
            150,
            ("198.51.100.77", 443),
            (victim, 42_000),
            20,
            Direction::ToClient,
        ),
        message: TlsMessage::Certificate {
            chain: Vec::new(),
            certificates: vec![CertificateInfo {
                subject: "CN=cdn.c2-relay.example".into(),
                issuer: "CN=cdn.c2-relay.example".into(),
                serial: "01:02".into(),
                not_before: Some(ts(-86_400)),
                not_after: Some(ts(86_400 * 30)),
                sha256: "AB".repeat(32),
                sha1: "cd:".repeat(19) + "cd",
                self_issued: true,
                ..CertificateInfo::default()
            }],
        },
    });
    c.on_event(&certificate, &mut out);
    c.on_flow_end(
        &flow(20, (victim, 42_000), ("198.51.100.77", 443), 150, 4_000),
        &mut out,
    );
    // a benign lookup of an allow-listed name and a public resolver: not indicators
    let benign = AppEvent::Http(HttpEvent {
        ctx: ctx(
            160,
            (victim, 43_000),
            ("203.0.113.200", 80),
            30,
            Direction::ToServer,
        ),
        message: HttpMessage::Request {
            method: "GET".into(),
            uri: "/msdownload/update.cab".into(),
            host: Some("download.windowsupdate.com".into()),
            user_agent: None,
        },
        version: "1.1".into(),
        headers: Default::default(),
    });
    c.on_event(&benign, &mut out);
    c.on_flow_end(
        &flow(31, (victim, 43_001), ("8.8.8.8", 53), 161, 100),
        &mut out,
    );
    c.on_flow_end(
        &flow(32, ("10.0.0.30", 43_002), (victim, 445), 161, 100),
        &mut out,
    );

    let scan = Finding::new(
        "tcp_port_scan",
        "TCP port scan",
        FindingCategory::Reconnaissance,
        Severity::Medium,
        0.8,
        TimeRange {
            start: ts(0),
            end: ts(5),
        },
        "netsec-detect/portscan",
    )
    .with_id("203.0.113.66")
    .with_mitre(["T1046"])
    .with_entity(
        EntityRole::Source,
        EntityValue::Host {
            ip: ip("203.0.113.66"),
        },
    )
    .with_entity(
        EntityRole::Target,
        EntityValue::Host {
            ip: ip("10.0.0.10"),
        },
    );
    let brute = Finding::new(
        "ssh_bruteforce",
        "SSH brute force",
        FindingCategory::CredentialAccess,
        Severity::High,
        0.95,
        TimeRange {
            start: ts(10),
            end: ts(40),
        },
        "netsec-detect/bruteforce",
    )
    .with_id("203.0.113.66->10.0.0.10")
    .with_mitre(["T1110", "T1110.001"])
    .with_fact("possible_success", "true")
    .with_entity(
        EntityRole::Source,
        EntityValue::Host {
            ip: ip("203.0.113.66"),
        },
    )
    .with_entity(
        EntityRole::Target,
        EntityValue::Host {
            ip: ip("10.0.0.10"),
        },
    );
    let beacon = Finding::new(
        "beacon",
        "Beacon",
        FindingCategory::CommandAndControl,
        Severity::High,
        0.9,
        TimeRange {
            start: ts(101),
            end: ts(131),
        },
        "netsec-detect/beacon",
    )
    .with_id("10.0.0.20->198.51.100.77:80")
    .with_mitre(["T1071"])
    .with_entity(EntityRole::Source, EntityValue::Host { ip: ip(victim) })
    .with_entity(
        EntityRole::Related,
        EntityValue::Host {
            ip: ip("198.51.100.77"),
        },
    );
    let dropper = Finding::new(
        "signature",
        "Known dropper downloaded",
        FindingCategory::Signature,
        Severity::High,
        0.7,
        TimeRange {
            start: ts(170),
            end: ts(170),
        },
        "somebody",
    )
    .with_fact(
        "file_sha256",
        "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
    )
    .with_fact("file_md5", "098F6BCD4621D373CADE4E832627B4F6");
    c.add_findings([&scan, &brute, &beacon, &dropper]);
    c
}

fn bundle() -> Value {
    let set = collector().indicators();
    to_stix(
        &set,
        &StixOptions {
            producer: "netsec".into(),
            source: "test run".into(),
        },
    )
}

fn objects(bundle: &Value) -> Vec<&Value> {
    bundle["objects"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|p| {
            p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

fn is_stix_time(text: &str) -> bool {
    text.parse::<Timestamp>().is_ok() && text.ends_with('Z') && text.len() == 24
}

#[test]
fn exported_indicators_are_the_attacker_side_ones() {
    let set = collector().indicators();
    let got: BTreeSet<String> = set
        .indicators
        .iter()
        .map(|i| format!("{}:{}", i.kind, i.value))
        .collect();
    let want: BTreeSet<String> = [
        "ipv4:203.0.113.66",
        "ipv4:198.51.100.77",
        "domain:updates.c2-relay.example",
        "domain:cdn.c2-relay.example",
        "url:http://updates.c2-relay.example/beacon?id='x'",
        "user-agent:curl/7.88.1",
        "ja3:e7d705a3286e19ea42f587b344ee6865",
        "ja4:t13d1516h2_8daaf6152771_e5627efa2ab1",
        "certificate-sha256:abababababababababababababababababababababababababababababababab",
        "file-sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "file-md5:098f6bcd4621d373cade4e832627b4f6",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(got, want);
    let domain = set.get(
        netsec_ioc::IndicatorKind::Domain,
        "updates.c2-relay.example",
    );
    let domain = domain.map(|d| {
        (
            d.confidence,
            d.internal_hosts.iter().copied().collect::<Vec<_>>(),
            d.bytes,
            d.related.contains("ipv4:198.51.100.77"),
        )
    });
    assert_eq!(
        domain,
        Some((Some(0.9), vec![ip("10.0.0.20")], 4_200, true))
    );
    let c2 = set.get(netsec_ioc::IndicatorKind::Ipv4, "198.51.100.77");
    assert_eq!(c2.map(|c| c.bytes), Some(3 * 1_400 + 8_000));
}

#[test]
fn bundle_meets_the_invariants_stix_2_1_requires() {
    let bundle = bundle();
    assert_eq!(bundle["type"], "bundle");
    let bundle_id = bundle["id"].as_str().unwrap_or_default();
    assert!(
        bundle_id.strip_prefix("bundle--").is_some_and(is_uuid),
        "{bundle_id}"
    );
    let objects = objects(&bundle);
    let ids: BTreeSet<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids.len(), objects.len(), "ids are unique");
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &objects {
        let kind = o["type"].as_str().unwrap_or_default();
        *by_type.entry(kind).or_default() += 1;
        let id = o["id"].as_str().unwrap_or_default();
        let (prefix, uuid) = id.split_once("--").unwrap_or_default();
        assert_eq!(prefix, kind, "{id}");
        assert!(is_uuid(uuid), "{id}");
        // observables: UUIDv5 (STIX 2.1 §2.9); the rest: UUIDv4 form (name-derived)
        let sco = matches!(
            kind,
            "ipv4-addr"
                | "ipv6-addr"
                | "domain-name"
                | "url"
                | "file"
                | "network-traffic"
                | "x509-certificate"
        );
        assert_eq!(
            uuid.chars().nth(14),
            Some(if sco { '5' } else { '4' }),
            "{id}"
        );
        assert_eq!(o["spec_version"], "2.1", "{id}");
        let sdo_or_sro = !matches!(
            kind,
            "ipv4-addr"
                | "ipv6-addr"
                | "domain-name"
                | "url"
                | "file"
                | "network-traffic"
                | "x509-certificate"
        );
        if sdo_or_sro {
            let created = o["created"].as_str().unwrap_or_default();
            let modified = o["modified"].as_str().unwrap_or_default();
            assert!(
                is_stix_time(created) && is_stix_time(modified),
                "{id}: {created} {modified}"
            );
            assert!(
                created <= modified,
                "{id}: created {created} after modified {modified}"
            );
        }
        // every reference resolves inside the bundle
        for (key, value) in o.as_object().into_iter().flatten() {
            let refs: Vec<&str> = if key.ends_with("_ref") {
                value.as_str().into_iter().collect()
            } else if key.ends_with("_refs") {
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect()
            } else {
                Vec::new()
            };
            for r in refs {
                assert!(ids.contains(r), "{id}.{key} -> {r} is not in the bundle");
            }
        }
        match kind {
            "indicator" => {
                for key in ["pattern", "pattern_type", "valid_from", "indicator_types"] {
                    assert!(!o[key].is_null(), "{id} lacks {key}");
                }
                assert_eq!(o["pattern_type"], "stix");
                assert!(is_stix_time(o["valid_from"].as_str().unwrap_or_default()));
                let pattern = o["pattern"].as_str().unwrap_or_default();
                assert!(pattern_is_well_formed(pattern), "{pattern}");
            }
            "relationship" => {
                let t = o["relationship_type"].as_str().unwrap_or_default();
                assert!(["indicates", "uses", "related-to"].contains(&t), "{t}");
                let (s, tg) = (
                    o["source_ref"].as_str().unwrap_or_default(),
                    o["target_ref"].as_str().unwrap_or_default(),
                );
                let allowed = match t {
                    "indicates" => {
                        s.starts_with("indicator--")
                            && (tg.starts_with("attack-pattern--") || tg.starts_with("campaign--"))
                    }
                    "uses" => s.starts_with("campaign--") && tg.starts_with("attack-pattern--"),
                    _ => true,
                };
                assert!(allowed, "{s} {t} {tg}");
            }
            "attack-pattern" => {
                let reference = &o["external_references"][0];
                assert_eq!(reference["source_name"], "mitre-attack");
                assert!(reference["external_id"]
                    .as_str()
                    .is_some_and(|i| i.starts_with('T')));
            }
            "sighting" => assert!(o["sighting_of_ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("indicator--"))),
            "observed-data" => {
                assert!(o["number_observed"]
                    .as_u64()
                    .is_some_and(|n| (1..=999_999_999).contains(&n)));
                assert!(o["first_observed"].as_str() <= o["last_observed"].as_str());
            }
            _ => {}
        }
    }
    for kind in [
        "identity",
        "indicator",
        "ipv4-addr",
        "domain-name",
        "url",
        "file",
        "network-traffic",
        "x509-certificate",
        "observed-data",
        "sighting",
        "attack-pattern",
        "campaign",
        "relationship",
    ] {
        assert!(by_type.contains_key(kind), "no {kind} in {by_type:?}");
    }
    let relationship_types: BTreeSet<&str> = objects
        .iter()
        .filter_map(|o| o["relationship_type"].as_str())
        .collect();
    assert_eq!(
        relationship_types,
        BTreeSet::from(["indicates", "related-to", "uses"])
    );
    // the SCO id of an address is the one STIX §2.9 defines for its value
    assert!(
        ids.contains("ipv4-addr--e4f0fd8c-c8e6-5a18-8bd1-1ad63dd5b9ab") || by_type["ipv4-addr"] > 0
    );
}

/// `[object-type:path = 'literal']` (possibly `AND`/`OR`-joined), quotes balanced.
fn pattern_is_well_formed(pattern: &str) -> bool {
    let Some(inner) = pattern.strip_prefix('[').and_then(|p| p.strip_suffix(']')) else {
        return false;
    };
    let Some((path, literal)) = inner.split_once(" = ") else {
        return false;
    };
    let object_type = path.split(':').next().unwrap_or_default();
    let type_ok = !object_type.is_empty()
        && object_type
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let body = literal
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''));
    let escaped_ok = body.is_some_and(|b| {
        let mut chars = b.chars();
        while let Some(c) = chars.next() {
            let escape_ok = c != '\\' || matches!(chars.next(), Some('\\' | '\''));
            if !escape_ok || c == '\'' {
                return false;
            }
        }
        true
    });
    type_ok && path.contains(':') && escaped_ok
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let a = serde_json::to_string(&bundle()).unwrap_or_default();
    let b = serde_json::to_string(&bundle()).unwrap_or_default();
    assert!(!a.is_empty());
    assert_eq!(a, b);
    let set = collector().indicators();
    assert_eq!(to_misp(&set, "run").ok(), to_misp(&set, "run").ok());
}

#[test]
fn bundles_are_written_for_the_validator() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("stix-bundles");
    let _ = std::fs::create_dir_all(&dir);
    let text = serde_json::to_string_pretty(&bundle()).unwrap_or_default();
    assert!(std::fs::write(dir.join("collector-run.json"), text).is_ok());
    let empty = to_stix(
        &IocCollector::new(IocConfig::default()).indicators(),
        &StixOptions::default(),
    );
    assert_eq!(
        objects(&empty).len(),
        1,
        "an empty run is its identity alone"
    );
    assert!(std::fs::write(dir.join("empty-run.json"), empty.to_string()).is_ok());
    let misp = to_misp(&collector().indicators(), "test run").unwrap_or_default();
    let misp_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("misp-events");
    let _ = std::fs::create_dir_all(&misp_dir);
    assert!(std::fs::write(misp_dir.join("collector-run.json"), &misp).is_ok());
    let misp: Value = serde_json::from_str(&misp).unwrap_or_default();
    let attributes = misp["Event"]["Attribute"].as_array().map_or(0, Vec::len);
    assert_eq!(attributes, 11);
    assert_eq!(misp["Event"]["threat_level_id"], "1");
}
