#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The spoofing detector on captures recorded with dnsspoof (dsniff 2.4) on
//! a hub between namespace hosts (scripts/record-dns-spoof.sh), and on the
//! other DNS captures, which must stay quiet.

mod common;

use netsec_dns::{DnsSpoofDetector, SpoofConfig};
use netsec_model::{EntityRole, EntityValue, Finding};

fn spoof() -> Box<DnsSpoofDetector> {
    Box::new(DnsSpoofDetector::new(SpoofConfig::default()))
}

fn target(f: &Finding) -> String {
    f.entities_in(EntityRole::Target)
        .find_map(|e| match e {
            EntityValue::Host { ip } => Some(ip.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn dnsspoof_races_are_caught_for_each_victim_and_name() {
    let findings = common::run("spoof.pcap", spoof());
    let mut races: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f.kind == "dns_spoofed_answer")
        .map(|f| (target(f), common::domains(f).join(",")))
        .collect();
    races.sort();
    assert_eq!(
        races,
        vec![
            ("10.54.0.10".to_string(), "bank.example".to_string()),
            ("10.54.0.11".to_string(), "www.bank.example".to_string()),
        ],
        "{findings:#?}"
    );
    let bank = findings
        .iter()
        .find(|f| f.id == "dns_spoofed_answer:10.54.0.10:bank.example")
        .unwrap();
    assert_eq!(common::fact(bank, "first_answer"), Some("A 10.54.0.80"));
    assert_eq!(common::fact(bank, "second_answer"), Some("A 10.54.0.66"));
    assert!(bank.confidence.value() >= 0.9);
    assert!(bank.mitre.contains(&"T1557".to_string()));
    // Three lookups of the name, three races.
    assert_eq!(bank.evidence.measurements[1].value, 3.0, "{bank:#?}");
    // shop.example was never spoofed.
    assert!(!findings
        .iter()
        .any(|f| common::domains(f).iter().any(|d| d.contains("shop"))));
}

#[test]
fn a_public_name_answered_with_a_private_address_is_rebinding() {
    let findings = common::run("spoof.pcap", spoof());
    let rebind: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == "dns_rebinding")
        .collect();
    assert_eq!(rebind.len(), 1, "{findings:#?}");
    assert_eq!(rebind[0].id, "dns_rebinding:attacker-site.com");
    assert_eq!(target(rebind[0]), "10.54.0.11");
    assert_eq!(
        common::fact(rebind[0], "private_addresses"),
        Some("10.54.0.5")
    );
    assert!(rebind[0]
        .evidence
        .summary
        .contains("after resolving to a public address"));
    assert_eq!(rebind[0].confidence.value(), 0.85);
    // The .example names resolve to private addresses too: special-use, not public.
    // Declared internal, the rebinding name is quiet.
    let config = SpoofConfig {
        internal_domains: vec!["attacker-site.com".into()],
        ..SpoofConfig::default()
    };
    let quiet = common::run("spoof.pcap", Box::new(DnsSpoofDetector::new(config)));
    assert!(!quiet.iter().any(|f| f.kind == "dns_rebinding"));
}

#[test]
fn ordinary_dns_raises_nothing() {
    for capture in [
        "nospoof.pcap",
        "benign.pcap.zst",
        "dga.pcap",
        "iodine.pcap.zst",
        "dns2tcp.pcap",
    ] {
        let findings = common::run(capture, spoof());
        assert!(findings.is_empty(), "{capture}: {findings:#?}");
    }
}

#[test]
fn results_do_not_depend_on_threads() {
    let one = common::run_threads("spoof.pcap", spoof(), 1);
    let three = common::run_threads("spoof.pcap", spoof(), 3);
    assert_eq!(one, three);
}
