//! Floods and amplification on real captures (hping3).

mod common;

use common::{assert_names, the_finding};

#[test]
fn hping3_floods_are_reported_against_the_victim() {
    for (capture, kind, id) in [
        ("flood-syn", "syn_flood", "syn_flood:10.250.0.20:80"),
        ("flood-udp", "udp_flood", "udp_flood:10.250.0.20"),
        ("flood-icmp", "icmp_flood", "icmp_flood:10.250.0.20"),
    ] {
        let f = the_finding(capture, kind);
        assert_names(&f, Some("10.250.0.10"), Some("10.250.0.20"));
        assert_eq!(f.id, id);
        let peak = f
            .evidence
            .measurements
            .iter()
            .find(|m| m.name == "peak_rate");
        assert!(
            peak.is_some_and(|m| m.value >= 1000.0),
            "{capture}: {peak:?}"
        );
    }
    let syn = the_finding("flood-syn", "syn_flood");
    let half_open = syn
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "half_open_ratio");
    assert!(half_open.is_some_and(|m| m.value > 0.95), "{half_open:?}");
}

#[test]
fn dns_reflection_names_victim_and_reflector() {
    let f = the_finding("amp-dns", "udp_amplification");
    assert_names(&f, None, Some("10.250.0.30"));
    assert!(common::names(
        &f,
        netsec_model::EntityRole::Related,
        "10.250.0.20"
    ));
    let ratio = f
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "amplification");
    assert!(ratio.is_some_and(|m| m.value > 10.0), "{ratio:?}");
    assert!(f.mitre.contains(&"T1498.002".to_string()));
}

#[test]
fn scans_and_everyday_traffic_are_not_floods() {
    common::assert_quiet(
        "flood",
        &[
            "benign",
            "benign-office",
            "scan-syn",
            "scan-udp",
            "scan-masscan",
            "sweep-icmp",
            "exfil-upload",
            "brute-ssh",
        ],
    );
}

#[test]
fn a_spoofed_syn_flood_names_its_sources() {
    let f = the_finding("flood-syn-spoofed", "syn_flood");
    assert_names(&f, Some("10.250.0.100"), Some("10.250.0.20"));
    for spoofed in ["10.250.0.101", "10.250.0.102", "10.250.0.103"] {
        assert!(
            common::names(&f, netsec_model::EntityRole::Source, spoofed),
            "{spoofed}"
        );
    }
    assert_eq!(f.id, "syn_flood:10.250.0.20:443");
}

#[test]
fn a_flood_is_reported_while_it_lasts() {
    let all = common::run(&common::capture("flood-syn"), &Default::default());
    let versions: Vec<_> = all.iter().filter(|f| f.kind == "syn_flood").collect();
    assert!(versions.len() >= 2, "{}", versions.len());
    let packets = |f: &netsec_model::Finding| common::measured(f, "packets");
    let (first, last) = (packets(versions[0]), packets(versions[versions.len() - 1]));
    // reported at the rate (200 SYNs in a second), long before the 2000th
    assert!(first <= 400.0 && last >= 1900.0, "{first} .. {last}");
    assert!(versions[0].time.end < versions[versions.len() - 1].time.end);
}
