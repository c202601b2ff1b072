use std::net::{IpAddr, Ipv4Addr};

use netsec_model::{
    Analyzer, AppEvent, AppProto, Direction, DnsEvent, DnsFlags, DnsQuestion, DnsRecord, Endpoint,
    EntityRole, EntityValue, EventContext, Finding, FindingCategory, FlowId, HttpEvent,
    HttpMessage, Severity, TcpState, TimeRange, Timestamp, Transport,
};

use super::*;
use crate::fixtures::flow;

const T0: f64 = 1_700_000_000.0;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn at(start: f64, secs: f64) -> TimeRange {
    TimeRange {
        start: Timestamp::from_secs_f64(T0 + start),
        end: Timestamp::from_secs_f64(T0 + start + secs),
    }
}

fn finding(kind: &str, category: FindingCategory, mitre: &[&str], time: TimeRange) -> Finding {
    Finding::new(
        kind,
        kind,
        category,
        Severity::Medium,
        0.8,
        time,
        "somebody",
    )
    .with_mitre(mitre.iter().copied())
    .with_id(kind)
}

fn host(role: EntityRole, f: Finding, addr: &str) -> Finding {
    f.with_entity(role, EntityValue::Host { ip: ip(addr) })
}

fn attack() -> Vec<Finding> {
    let scan = finding(
        "tcp_port_scan",
        FindingCategory::Reconnaissance,
        &["T1046"],
        at(0.0, 5.0),
    );
    let scan = host(
        EntityRole::Target,
        host(EntityRole::Source, scan, "203.0.113.66"),
        "10.0.0.10",
    );
    let brute = finding(
        "ssh_bruteforce",
        FindingCategory::CredentialAccess,
        &["T1110"],
        at(10.0, 30.0),
    )
    .with_fact("possible_success", "true");
    let brute = host(
        EntityRole::Target,
        host(EntityRole::Source, brute, "203.0.113.66"),
        "10.0.0.10",
    );
    let beacon = finding(
        "beacon",
        FindingCategory::CommandAndControl,
        &["T1071"],
        at(100.0, 60.0),
    );
    let beacon = host(
        EntityRole::Related,
        host(EntityRole::Source, beacon, "10.0.0.20"),
        "198.51.100.7",
    );
    let upload = finding(
        "data_exfiltration",
        FindingCategory::Exfiltration,
        &["T1048"],
        at(170.0, 5.0),
    );
    let upload = host(
        EntityRole::Related,
        host(EntityRole::Source, upload, "10.0.0.20"),
        "198.51.100.7",
    );
    // listed out of order: the timeline orders by time
    vec![upload, beacon, brute, scan]
}

fn recorder_with_lateral_hop() -> TrafficRecorder {
    let mut traffic = TrafficRecorder::new(TrafficConfig::default());
    let mut out: Vec<Finding> = Vec::new();
    let hop = flow(
        Endpoint::new(ip("10.0.0.10"), 40_000),
        Endpoint::new(ip("10.0.0.20"), 22),
        (T0 + 60.0, 20.0),
        (4_000, 6_000),
        TcpState::Closed,
    );
    traffic.on_flow_end(&hop, &mut out);
    // a connection before anyone logged in: not a step
    let earlier = flow(
        Endpoint::new(ip("10.0.0.30"), 40_001),
        Endpoint::new(ip("10.0.0.20"), 22),
        (T0 + 1.0, 2.0),
        (4_000, 6_000),
        TcpState::Closed,
    );
    traffic.on_flow_end(&earlier, &mut out);
    assert!(out.is_empty());
    traffic
}

#[test]
fn the_stages_of_one_attack_form_one_incident_in_order() {
    let timeline = TimelineBuilder::new(TimelineConfig::default())
        .findings(attack())
        .traffic(recorder_with_lateral_hop())
        .build();
    assert_eq!(timeline.incidents.len(), 1, "{timeline:#?}");
    let incident = &timeline.incidents[0];
    let kinds: Vec<&str> = incident.steps.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "tcp_port_scan",
            "ssh_bruteforce",
            "login",
            "admin_connection",
            "beacon",
            "data_exfiltration"
        ]
    );
    assert_eq!(
        incident.phases,
        [
            KillChainPhase::Discovery,
            KillChainPhase::CredentialAccess,
            KillChainPhase::InitialAccess,
            KillChainPhase::LateralMovement,
            KillChainPhase::CommandAndControl,
            KillChainPhase::Exfiltration
        ]
    );
    // each step follows from the one before, for the reason the story gives
    let reasons: Vec<(usize, usize, LinkReason)> = incident
        .links
        .iter()
        .map(|l| (l.from, l.to, l.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (0, 1, LinkReason::SameActor),
            (1, 2, LinkReason::SameActor),
            (2, 3, LinkReason::TargetActs),
            (3, 4, LinkReason::TargetActs),
            (4, 5, LinkReason::SameActor)
        ]
    );
    assert!(incident.narrative[0].starts_with("203.0.113.66 scanned 10.0.0.10 at "));
    assert!(incident.narrative[1].starts_with("then 203.0.113.66 guessed credentials on 10.0.0.10"));
    assert!(incident.narrative[2].starts_with("then 203.0.113.66 logged into 10.0.0.10"));
    assert!(incident.narrative[3].starts_with("then 10.0.0.10 moved to 10.0.0.20"));
    assert!(incident.narrative[4].contains("called out to 198.51.100.7"));
    assert_eq!(incident.steps[3].mitre, ["T1021.004"]);
}

#[test]
fn unrelated_findings_stay_apart_and_no_login_means_no_connection_step() {
    let mut findings = attack();
    findings.retain(|f| f.kind != "ssh_bruteforce");
    let other = finding(
        "udp_flood",
        FindingCategory::DenialOfService,
        &["T1498"],
        at(5.0, 1.0),
    );
    findings.push(host(
        EntityRole::Target,
        host(EntityRole::Source, other, "10.9.9.9"),
        "10.9.9.8",
    ));
    let timeline = TimelineBuilder::new(TimelineConfig::default())
        .findings(findings)
        .traffic(recorder_with_lateral_hop())
        .build();
    let kinds: Vec<Vec<&str>> = timeline
        .incidents
        .iter()
        .map(|i| i.steps.iter().map(|s| s.kind.as_str()).collect())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(kinds.contains(&vec!["tcp_port_scan"]));
    assert!(kinds.contains(&vec!["udp_flood"]));
    assert!(kinds.contains(&vec!["beacon", "data_exfiltration"]));
}

#[test]
fn steps_further_apart_than_the_window_do_not_link() {
    let config = TimelineConfig {
        link_window_secs: 10.0,
        ..TimelineConfig::default()
    };
    let timeline = TimelineBuilder::new(config).findings(attack()).build();
    // scan→brute 5 s apart links; brute→beacon has no shared host; beacon→upload 10 s apart links
    assert_eq!(timeline.incidents.len(), 2);
}

fn ctx(ts: f64, src: (&str, u16), dst: (&str, u16), flow_id: u64) -> EventContext {
    EventContext {
        ts: Timestamp::from_secs_f64(T0 + ts),
        packet_number: 1,
        flow_id: Some(FlowId(flow_id)),
        community_id: None,
        src: Endpoint::new(ip(src.0), src.1),
        dst: Endpoint::new(ip(dst.0), dst.1),
        transport: Transport::Tcp,
        direction: Direction::ToServer,
    }
}

#[test]
fn a_lookup_the_connection_to_its_answer_and_the_request_inside_are_one_session() {
    let mut traffic = TrafficRecorder::new(TrafficConfig::default());
    let mut out: Vec<Finding> = Vec::new();
    let answer = AppEvent::Dns(DnsEvent {
        ctx: ctx(0.0, ("10.0.0.53", 53), ("10.0.0.20", 5353), 1),
        id: 7,
        is_response: true,
        opcode: 0,
        rcode: 0,
        flags: DnsFlags::default(),
        questions: vec![DnsQuestion {
            name: "Updates.C2.example".into(),
            qtype: "A".into(),
            qtype_code: 1,
            qclass: 1,
        }],
        answers: vec![DnsRecord {
            name: "updates.c2.example".into(),
            rtype: "A".into(),
            rtype_code: 1,
            ttl: 60,
            data: "198.51.100.7".into(),
        }],
        authorities: Vec::new(),
        additionals: Vec::new(),
        query: None,
        unanswered: false,
    });
    traffic.on_event(&answer, &mut out);
    let request = AppEvent::Http(HttpEvent {
        ctx: ctx(0.2, ("10.0.0.20", 41_000), ("198.51.100.7", 80), 9),
        message: HttpMessage::Request {
            method: "GET".into(),
            uri: "/beacon".into(),
            host: Some("updates.c2.example".into()),
            user_agent: Some("curl/8.0".into()),
        },
        version: "1.1".into(),
        headers: Default::default(),
    });
    traffic.on_event(&request, &mut out);
    let mut connection = flow(
        Endpoint::new(ip("10.0.0.20"), 41_000),
        Endpoint::new(ip("198.51.100.7"), 80),
        (T0 + 0.1, 0.5),
        (300, 500),
        TcpState::Closed,
    );
    connection.id = FlowId(9);
    connection.app_proto = AppProto::Http;
    traffic.on_flow_end(&connection, &mut out);
    // the same address much later, with no lookup before it and nothing decoded: no session
    let mut late = connection.clone();
    late.id = FlowId(10);
    late.time = at(1_000.0, 1.0);
    traffic.on_flow_end(&late, &mut out);
    let sessions: Vec<&LinkedSession> = traffic.sessions().collect();
    assert_eq!(sessions.len(), 1);
    let session = sessions[0];
    let lookup = session
        .lookup
        .as_ref()
        .map(|l| (l.name.as_str(), l.resolver));
    assert_eq!(lookup, Some(("updates.c2.example", ip("10.0.0.53"))));
    assert_eq!(session.http.len(), 1);
    assert_eq!(session.http[0].uri, "/beacon");
    assert_eq!(session.app_proto, "http");
    // attached to the incident whose hosts it joins
    let timeline = TimelineBuilder::new(TimelineConfig::default())
        .findings(attack())
        .traffic(traffic)
        .build();
    let beacon_incident = timeline
        .incidents
        .iter()
        .find(|i| i.steps.iter().any(|s| s.kind == "beacon"));
    assert_eq!(beacon_incident.map(|i| i.sessions.len()), Some(1));
}

#[test]
fn the_recorder_stays_within_its_capacity() {
    let config = TrafficConfig {
        max_admin_sessions: 10,
        max_host_pairs: 10,
        ..TrafficConfig::default()
    };
    let mut traffic = TrafficRecorder::new(config);
    let mut out: Vec<Finding> = Vec::new();
    for n in 0..100u32 {
        let f = flow(
            Endpoint::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0100 + n)), 40_000),
            Endpoint::new(ip("10.0.0.20"), 445),
            (T0 + f64::from(n), 1.0),
            (100, 100),
            TcpState::Closed,
        );
        traffic.on_flow_end(&f, &mut out);
    }
    assert_eq!(traffic.admin_sessions().count(), 10);
    assert_eq!(traffic.host_pairs().len(), 10);
    assert_eq!(traffic.evicted(), 180);
    assert!(traffic.memory_used() > 0);
}

#[test]
fn a_tls_server_name_joins_its_session_without_a_lookup() {
    use netsec_model::{ClientHello, TlsEvent, TlsMessage};
    let mut traffic = TrafficRecorder::new(TrafficConfig::default());
    let mut out: Vec<Finding> = Vec::new();
    let hello = AppEvent::Tls(TlsEvent {
        ctx: ctx(5.0, ("10.0.0.20", 42_000), ("198.51.100.7", 443), 21),
        message: TlsMessage::ClientHello(ClientHello {
            server_name: Some("CDN.C2.example".into()),
            ..ClientHello::default()
        }),
    });
    traffic.on_event(&hello, &mut out);
    let mut connection = flow(
        Endpoint::new(ip("10.0.0.20"), 42_000),
        Endpoint::new(ip("198.51.100.7"), 443),
        (T0 + 5.0, 1.0),
        (600, 4_000),
        TcpState::Closed,
    );
    connection.id = FlowId(21);
    connection.app_proto = AppProto::Tls;
    traffic.on_flow_end(&connection, &mut out);
    let groups = group_sessions(traffic.sessions());
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].server_name.as_deref(), Some("cdn.c2.example"));
    assert_eq!(groups[0].lookup, None);
    assert_eq!((groups[0].sessions, groups[0].bytes), (1, 4_600));
}

#[test]
fn an_anomaly_of_no_phase_reads_as_a_report() {
    let anomaly = finding("host_anomaly", FindingCategory::Anomaly, &[], at(0.0, 10.0));
    let anomaly = host(EntityRole::Source, anomaly, "10.0.0.10");
    let timeline = TimelineBuilder::new(TimelineConfig::default())
        .findings([anomaly])
        .build();
    let narrative = timeline
        .incidents
        .first()
        .map(|i| i.narrative.clone())
        .unwrap_or_default();
    assert_eq!(narrative.len(), 1, "{narrative:?}");
    assert!(
        narrative[0].starts_with("10.0.0.10 was reported at "),
        "{narrative:?}"
    );
}
