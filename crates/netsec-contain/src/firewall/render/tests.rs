//! Every target renders a plan with host, prefix, service and IPv6 rules,
//! a domain and a MAC; the outputs a firewall tool can check are checked by
//! the integration tests (`tests/contain_firewalls.rs`).

use std::net::IpAddr;

use netsec_model::{
    EntityRole, EntityValue, Finding, FindingCategory, MacAddr, Severity, TimeRange, Timestamp,
    Transport,
};

use super::super::*;
use super::comment;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Findings: a scan from an outside host, a beacon to an outside IPv6 C2,
/// a DNS tunnel through the inside resolver, an ARP spoofer.
pub(crate) fn sample_plan() -> Plan {
    let t = |s: i64| TimeRange {
        start: Timestamp::from_secs_nanos(1_700_000_000 + s, 0),
        end: Timestamp::from_secs_nanos(1_700_000_100 + s, 0),
    };
    let scan = Finding::new(
        "tcp_port_scan",
        "scan",
        FindingCategory::Reconnaissance,
        Severity::High,
        0.9,
        t(0),
        "test",
    )
    .with_id("203.0.113.66")
    .with_mitre(["T1046"])
    .with_entity(
        EntityRole::Source,
        EntityValue::Host {
            ip: ip("203.0.113.66"),
        },
    )
    .with_entity(EntityRole::Target, EntityValue::Host { ip: ip("10.0.0.7") });
    let beacon = Finding::new(
        "beacon",
        "beacon",
        FindingCategory::CommandAndControl,
        Severity::High,
        0.8,
        t(0),
        "test",
    )
    .with_id("c2")
    .with_mitre(["T1071"])
    .with_entity(EntityRole::Source, EntityValue::Host { ip: ip("10.0.0.8") })
    .with_entity(
        EntityRole::Related,
        EntityValue::Host {
            ip: ip("2001:db8::66"),
        },
    );
    let tunnel = Finding::new(
        "dns_tunnel",
        "tunnel",
        FindingCategory::Tunneling,
        Severity::High,
        0.9,
        t(0),
        "test",
    )
    .with_id("tun")
    .with_entity(EntityRole::Source, EntityValue::Host { ip: ip("10.0.0.9") })
    .with_entity(
        EntityRole::Related,
        EntityValue::Host {
            ip: ip("10.0.0.53"),
        },
    )
    .with_entity(
        EntityRole::Related,
        EntityValue::Domain {
            name: "t.evil.example".into(),
        },
    );
    let arp = Finding::new(
        "arp_spoofing",
        "arp",
        FindingCategory::Spoofing,
        Severity::High,
        0.9,
        t(0),
        "test",
    )
    .with_id("arp")
    .with_entity(
        EntityRole::Source,
        EntityValue::Mac {
            mac: MacAddr([2, 0, 0, 0, 0, 0x66]),
        },
    );
    let mut table = Conversations::default();
    let mut known = |client: &str, server: &str, transport, port, s| {
        table.add_known(Conversation {
            key: ConversationKey {
                client: ip(client),
                server: ip(server),
                transport,
                port,
            },
            flows: 1,
            packets: 2,
            bytes: 100,
            time: t(s),
            community_id: String::new(),
        })
    };
    for port in [22, 80, 443] {
        known("203.0.113.66", "10.0.0.7", Transport::Tcp, port, 5);
    }
    known("203.0.113.67", "10.0.0.7", Transport::Tcp, 25, 10);
    known("10.0.0.8", "2001:db8::66", Transport::Tcp, 443, 10);
    known("10.0.0.9", "10.0.0.53", Transport::Udp, 53, 10);
    known("10.0.0.10", "10.0.0.53", Transport::Udp, 53, 10);
    plan(
        &[scan, beacon, tunnel, arp],
        &mut table,
        &Assets::default(),
        &PlanConfig::default(),
    )
}

fn options() -> RenderOptions {
    RenderOptions {
        now: "2026-12-02T10:41:00Z".parse().unwrap(),
        ..RenderOptions::default()
    }
}

#[test]
fn the_sample_plan_blocks_the_scanner_the_c2_and_the_domain() {
    let p = sample_plan();
    let rules: Vec<String> = p.rules.iter().map(|r| r.matcher.to_string()).collect();
    assert_eq!(
        rules,
        vec!["drop 203.0.113.66 → any", "drop any → 2001:db8::66"]
    );
    assert_eq!(p.domains.len(), 1);
    assert_eq!(p.domains[0].domain, "t.evil.example");
    assert_eq!(p.macs.len(), 1);
    assert!(p.rules.iter().all(|r| r.also_stops.is_empty()));
    assert_eq!(p.rules[0].stops.len(), 3);
}

#[test]
fn every_target_renders_every_rule_with_its_comment() {
    let p = sample_plan();
    for target in Target::ALL {
        let r = render(&p, target, &options());
        assert!(!r.rollback.is_empty(), "{target}: no rollback");
        match target {
            Target::Rpz => {
                assert!(r.config.contains("t.evil.example CNAME ."), "{}", r.config);
                assert!(
                    r.config
                        .contains("128.66.0.0.0.0.0.db8.2001.rpz-ip CNAME ."),
                    "{}",
                    r.config
                );
            }
            Target::Ip6tables => {
                assert!(r.config.contains("-d 2001:db8::66/128"), "{}", r.config);
                assert!(!r.config.contains("203.0.113.66"), "{}", r.config);
            }
            Target::Iptables => {
                assert!(r.config.contains("-s 203.0.113.66/32"), "{}", r.config);
                assert!(
                    r.config.contains("--datestop 2026-12-03T10:41:00"),
                    "{}",
                    r.config
                );
                assert!(
                    r.config.contains("--mac-source 02:00:00:00:00:66"),
                    "{}",
                    r.config
                );
            }
            _ => {
                assert!(r.config.contains("203.0.113.66"), "{target}: {}", r.config);
                assert!(r.config.contains("2001:db8::66"), "{target}: {}", r.config);
                assert!(r.config.contains("netsec-1"), "{target}: {}", r.config);
            }
        }
    }
}

#[test]
fn nftables_elements_time_out_and_name_their_findings() {
    let r = render(&sample_plan(), Target::Nftables, &options());
    assert!(r.config.contains("set src_v4 {"), "{}", r.config);
    assert!(
        r.config.contains(
            "203.0.113.66 timeout 86400s comment \"netsec-1: tcp_port_scan:203.0.113.66 [T1046]\""
        ),
        "{}",
        r.config
    );
    assert!(
        r.config.contains("ip6 daddr @dst_v6 counter drop"),
        "{}",
        r.config
    );
    assert!(
        r.config.contains("arp saddr ether 02:00:00:00:00:66"),
        "{}",
        r.config
    );
    assert_eq!(
        r.rollback,
        "nft delete table inet netsec_contain\nnft delete table arp netsec_contain\n"
    );
}

#[test]
fn cisco_time_ranges_end_at_the_expiry() {
    let asa = render(&sample_plan(), Target::CiscoAsa, &options());
    assert!(
        asa.config.contains(" absolute end 10:41 3 December 2026"),
        "{}",
        asa.config
    );
    assert!(asa.config.contains("access-list NETSEC-CONTAIN extended deny ip host 203.0.113.66 any time-range NETSEC-CONTAIN-EXPIRE"), "{}", asa.config);
    let ios = render(&sample_plan(), Target::CiscoIos, &options());
    assert!(
        ios.config.contains("ipv6 access-list NETSEC-CONTAIN-V6"),
        "{}",
        ios.config
    );
    assert!(
        ios.config.contains(" deny ipv6 any host 2001:db8::66"),
        "{}",
        ios.config
    );
}

#[test]
fn comments_cannot_break_out_of_their_quotes() {
    assert_eq!(comment("a\"b;c$(rm)\\`x`#\n", 100), "a_b_c_(rm)__x___");
    assert_eq!(comment(&"x".repeat(300), 10), "xxxxxxx...");
}

#[test]
fn targets_parse_by_name() {
    for t in Target::ALL {
        assert_eq!(t.name().parse::<Target>().unwrap(), t);
    }
    assert!("checkpoint".parse::<Target>().is_err());
}

/// Writes every target's rendering of the sample plan into
/// `$NETSEC_RENDER_DIR`, for checking by hand with the real tools (pf,
/// vendor CLIs): `NETSEC_RENDER_DIR=DIR cargo test -p netsec-contain -- --ignored`.
#[test]
#[ignore = "writes renderings for checking by hand; needs NETSEC_RENDER_DIR"]
fn write_sample_renderings() {
    let dir = std::env::var_os("NETSEC_RENDER_DIR").expect("NETSEC_RENDER_DIR names a directory");
    let p = sample_plan();
    for t in Target::ALL {
        let r = render(&p, t, &options());
        std::fs::write(std::path::Path::new(&dir).join(t.name()), r.config).unwrap();
    }
}
