//! ARP spoofing on real captures (arpspoof, arping).

mod common;

use common::the_finding;
use netsec_detect::DetectConfig;
use netsec_model::{EntityRole, Severity};

#[test]
fn arpspoof_is_caught_claiming_the_gateway() {
    let f = the_finding("arp-spoof", "arp_spoofing");
    common::assert_names(&f, Some("42:d4:13:3d:23:01"), Some("10.250.0.1"));
    // the real gateway's MAC is named beside the spoofer's
    assert!(common::names(&f, EntityRole::Related, "6a:81:32:fc:0d:e0"));
    assert_eq!(f.severity, Severity::Medium);
    // told which address is the gateway, the detector says so
    let config = DetectConfig::from_toml("[arp]\ngateways = [\"10.250.0.1\"]\n").unwrap();
    let found = common::latest(&common::run(&common::capture("arp-spoof"), &config));
    let spoof = common::of_kind(&found, "arp_spoofing");
    assert_eq!(spoof.len(), 1);
    assert_eq!(spoof[0].severity, Severity::High);
    assert!(spoof[0]
        .evidence
        .facts
        .contains(&("gateway".into(), "true".into())));
}

#[test]
fn a_gratuitous_arp_storm_is_reported() {
    let f = the_finding("arp-storm", "arp_gratuitous_storm");
    let n = f
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "gratuitous_arps");
    assert!(n.is_some_and(|m| m.value >= 20.0), "{n:?}");
}

#[test]
fn ordinary_arp_is_quiet() {
    common::assert_quiet(
        "arp",
        &[
            "benign",
            "benign-office",
            "benign-office",
            "sweep-arp",
            "lateral-ssh",
            "scan-syn",
        ],
    );
}
