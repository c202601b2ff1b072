//! Port scans, sweeps and host discovery on real captures (nmap, masscan).

mod common;

use common::{assert_names, the_finding};

const ATTACKER: &str = "10.250.0.10";
const SERVER: &str = "10.250.0.20";

#[test]
fn every_nmap_and_masscan_scan_is_a_port_scan_of_the_server() {
    for (capture, kind, style) in [
        ("scan-syn", "tcp_port_scan", "syn"),
        ("scan-connect", "tcp_port_scan", "syn"),
        ("scan-slow", "tcp_port_scan", "syn"),
        ("scan-fin", "tcp_port_scan", "fin"),
        ("scan-null", "tcp_port_scan", "null"),
        ("scan-xmas", "tcp_port_scan", "xmas"),
        ("scan-masscan", "tcp_port_scan", "syn"),
        ("scan-udp", "udp_port_scan", "udp"),
    ] {
        let f = the_finding(capture, kind);
        assert_names(&f, Some(ATTACKER), Some(SERVER));
        assert_eq!(f.id, format!("{kind}:{ATTACKER}->{SERVER}"));
        let scan_type = f.evidence.facts.iter().find(|(k, _)| k == "scan_type");
        assert_eq!(scan_type.map(|(_, v)| v.as_str()), Some(style), "{capture}");
        let ports = f
            .evidence
            .measurements
            .iter()
            .find(|m| m.name == "distinct_ports");
        assert!(
            ports.is_some_and(|m| m.value >= 60.0),
            "{capture}: {ports:?}"
        );
        assert!(f.mitre.contains(&"T1046".to_string()));
    }
}

#[test]
fn the_bundled_sample_shows_its_nmap_scan() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.pcap");
    let findings = common::latest(&common::run(&path, &Default::default()));
    let scans = common::of_kind(&findings, "tcp_port_scan");
    assert_eq!(scans.len(), 1, "{}", common::describe(&findings));
    assert_names(scans[0], Some("10.252.0.10"), Some("10.252.0.20"));
}

#[test]
fn sweeps_and_discovery_name_the_scanner() {
    let f = the_finding("sweep-tcp445", "horizontal_scan");
    assert_names(&f, Some(ATTACKER), None);
    assert!(f.id.ends_with("tcp/445"));
    let arp = the_finding("sweep-arp", "host_discovery");
    assert_names(&arp, Some(ATTACKER), None);
    assert!(arp
        .evidence
        .facts
        .contains(&("method".into(), "arp".into())));
    let icmp = the_finding("sweep-icmp", "host_discovery");
    assert_names(&icmp, Some(ATTACKER), None);
    assert!(icmp.mitre.contains(&"T1018".to_string()));
}

#[test]
fn everyday_traffic_and_other_attacks_are_not_scans() {
    common::assert_quiet(
        "portscan",
        &[
            "benign",
            "benign-office",
            "beacon-http",
            "exfil-upload",
            "brute-ssh",
            "lateral-ssh",
            "flood-syn",
        ],
    );
}

#[test]
fn a_scan_is_reported_while_it_runs_and_updated_under_one_id() {
    let all = common::run(&common::capture("scan-syn"), &Default::default());
    let versions: Vec<_> = all.iter().filter(|f| f.kind == "tcp_port_scan").collect();
    // first report at the threshold, then as the port count doubles: a handful, not one per packet
    assert!(
        versions.len() >= 2 && versions.len() <= 6,
        "{}",
        versions.len()
    );
    assert!(versions.iter().all(|f| f.id == versions[0].id));
    // the first report comes early in the scan, the last with all of it
    let ports = |f: &netsec_model::Finding| common::measured(f, "distinct_ports");
    let (first, last) = (ports(versions[0]), ports(versions[versions.len() - 1]));
    assert!((15.0..=40.0).contains(&first), "{first}");
    assert_eq!(last, 200.0);
    // and it was out before the scan was over
    let (first_end, last_end) = (versions[0].time.end, versions[versions.len() - 1].time.end);
    assert!(first_end < last_end, "{first_end} !< {last_end}");
}
