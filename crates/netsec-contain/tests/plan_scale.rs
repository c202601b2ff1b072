#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The plan at the scale of a big incident: a scanner that touched 60,000
//! services on 2,000 hosts, amid 100,000 benign conversations, planned in
//! seconds, every malicious conversation stopped, with few rules.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use netsec_contain::firewall::{
    plan, verify, Assets, Conversation, ConversationKey, Conversations, PlanConfig,
};
use netsec_model::{
    EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp, Transport,
};

fn at(s: i64) -> TimeRange {
    TimeRange {
        start: Timestamp::from_secs_nanos(1_700_000_000 + s, 0),
        end: Timestamp::from_secs_nanos(1_700_000_000 + s, 0),
    }
}

fn conv(client: IpAddr, server: IpAddr, port: u16, t: i64) -> Conversation {
    Conversation {
        key: ConversationKey {
            client,
            server,
            transport: Transport::Tcp,
            port,
        },
        flows: 1,
        packets: 2,
        bytes: 120,
        time: at(t),
        community_id: String::new(),
    }
}

#[test]
fn a_large_scan_amid_much_benign_traffic_plans_fast_and_small() {
    let scanner = IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9));
    let host = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + i));
    let mut table = Conversations::with_capacity(1_000_000);
    // The scanner's own ordinary traffic, an hour before.
    for i in 0..5 {
        table.add_known(conv(scanner, host(i), 443, -3600));
    }
    // The scan: 2,000 hosts x 30 ports over 100 s.
    for h in 0..2_000u32 {
        for p in 0..30u16 {
            table.add_known(conv(scanner, host(h), 1 + p, i64::from(h) / 20));
        }
    }
    // Benign traffic between other hosts.
    for i in 0..100_000u32 {
        table.add_known(conv(
            host(5_000 + i % 3_000),
            host(i % 2_000),
            80 + (i / 3_000) as u16,
            50,
        ));
    }
    let scan = Finding::new(
        "horizontal_scan",
        "scan",
        FindingCategory::Reconnaissance,
        Severity::High,
        0.9,
        TimeRange {
            start: at(0).start,
            end: at(100).end,
        },
        "test",
    )
    .with_entity(EntityRole::Source, EntityValue::Host { ip: scanner });
    let started = Instant::now();
    let p = plan(
        &[scan],
        &mut table,
        &Assets::default(),
        &PlanConfig::default(),
    );
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs_f64() < 10.0, "planning took {elapsed:?}");
    assert_eq!(p.totals.malicious_conversations, 60_000);
    assert!(p.uncovered.is_empty());
    // One rule on the scanner beats thousands of per-host rules even though
    // it also stops the scanner's 5 earlier conversations.
    assert_eq!(
        p.rules.len(),
        1,
        "{:?}",
        p.rules
            .iter()
            .map(|r| r.matcher.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(p.rules[0].risk.benign_flows, 5);
    let v = verify(&p, &table);
    assert_eq!(v.malicious_blocked.0, 60_000);
    assert!(v.malicious_passed.is_empty());
    assert_eq!(v.benign_blocked.0, 5);
    eprintln!("planned 60,000 malicious among 160,005 conversations in {elapsed:?}");
}

#[test]
fn a_high_benign_weight_prefers_rules_that_spare_the_scanners_other_traffic() {
    let scanner = IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9));
    let target = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1));
    let mut table = Conversations::default();
    for i in 0..20u8 {
        table.add_known(conv(
            scanner,
            IpAddr::V4(Ipv4Addr::new(10, 2, 0, i)),
            443,
            -3600,
        ));
    }
    for p in 1..=100u16 {
        table.add_known(conv(scanner, target, p, 1));
    }
    let scan = Finding::new(
        "tcp_port_scan",
        "scan",
        FindingCategory::Reconnaissance,
        Severity::High,
        0.9,
        at(1),
        "test",
    )
    .with_entity(EntityRole::Source, EntityValue::Host { ip: scanner })
    .with_entity(EntityRole::Target, EntityValue::Host { ip: target });
    let cheap = plan(
        std::slice::from_ref(&scan),
        &mut table.clone(),
        &Assets::default(),
        &PlanConfig::default(),
    );
    // 20 benign flows cost more than one narrower rule: scanner -> target.
    let rules: Vec<String> = cheap.rules.iter().map(|r| r.matcher.to_string()).collect();
    assert_eq!(rules, vec!["drop 10.9.9.9 → 10.1.0.1"]);
    assert_eq!(cheap.rules[0].risk.benign_flows, 0);
    assert_eq!(
        cheap.method,
        netsec_contain::firewall::cover::CoverMethod::Exact
    );
    // With benign flows free, the whole scanner goes.
    let config = PlanConfig {
        benign_weight: 0.0,
        ..PlanConfig::default()
    };
    let broad = plan(&[scan], &mut table, &Assets::default(), &config);
    assert_eq!(broad.rules.len(), 1);
    assert_eq!(broad.rules[0].risk.benign_flows, 20);
}
