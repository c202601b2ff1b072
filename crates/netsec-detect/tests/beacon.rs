//! Beacons and long connections on real captures (curl every 2 s ± 20 %;
//! dig every 2 s ± 20 % for DNS).

mod common;

use common::{assert_names, the_finding};
use netsec_detect::DetectConfig;

#[test]
fn a_jittered_curl_loop_with_missed_beats_is_a_beacon() {
    let f = the_finding("beacon-http", "beacon");
    assert_names(&f, Some("10.250.0.10"), None);
    assert!(common::names(
        &f,
        netsec_model::EntityRole::Related,
        "203.0.113.50"
    ));
    assert_eq!(f.id, "beacon:10.250.0.10->203.0.113.50:80/tcp");
    // the script sleeps uniformly in 1.6..2.4 s between curls
    let median = common::measured(&f, "median_interval");
    assert!((1.8..2.4).contains(&median), "{median}");
    assert!(common::measured(&f, "beacon_score") >= 0.8, "{f:#?}");
    assert!(common::measured(&f, "connections") >= 40.0);
}

#[test]
fn the_session_beside_the_beacon_is_a_long_connection_past_its_threshold() {
    // 120 s is far below the default hour: only a lowered threshold reports it
    assert!(common::of_kind(&common::findings_of("beacon-http"), "long_connection").is_empty());
    let config = DetectConfig::from_toml("[beacon]\nlong_connection_secs = 60.0\n").unwrap();
    let found = common::latest(&common::run(&common::capture("beacon-http"), &config));
    let long = common::of_kind(&found, "long_connection");
    assert_eq!(long.len(), 1, "{}", common::describe(&found));
    assert_names(long[0], Some("10.250.0.10"), None);
    let duration = common::measured(long[0], "duration");
    assert!(duration >= 100.0, "{duration}");
    assert!(long[0].evidence.flows.iter().all(|f| f.server.port == 9000));
}

#[test]
fn everyday_traffic_and_short_attacks_are_not_beacons() {
    common::assert_quiet(
        "beacon",
        &[
            "benign",
            "benign-office",
            "brute-ssh",
            "exfil-upload",
            "lateral-ssh",
            "scan-connect",
            "baseline-day1",
            "baseline-day2",
            // one server name over two addresses, pages fetched at pauses of 1-15 s
            "sni-browsing",
        ],
    );
}

#[test]
fn periodic_lookups_of_one_domain_are_a_dns_beacon_and_irregular_ones_are_not() {
    let all = common::findings_of("beacon-dns");
    // .43 looks names up every 0-4 s and .31 one name every 1-12 s, beside it
    let beacons = common::of_kind(&all, "beacon");
    assert_eq!(beacons.len(), 1, "{}", common::describe(&all));
    let f = beacons[0];
    assert_eq!(f.id, "beacon:10.250.0.30->c2-example.com/dns");
    assert_names(f, Some("10.250.0.30"), None);
    assert!(f.mitre.contains(&"T1071.004".to_string()), "{:?}", f.mitre);
    assert!(f
        .evidence
        .facts
        .contains(&("channel".to_string(), "dns".to_string())));
    // through the home resolver (dnsmasq on .20), a new name each time
    assert_eq!(common::fact(f, "resolvers"), Some("10.250.0.20"));
    assert_eq!(common::fact(f, "query_names"), Some("several"));
    assert!(!common::names(
        f,
        netsec_model::EntityRole::Related,
        "10.250.0.20"
    ));
    let median = common::measured(f, "median_interval");
    assert!((1.8..2.4).contains(&median), "{median}");
    assert!(common::measured(f, "interval_dispersion") <= 0.15);
    assert!(common::measured(f, "connections") >= 30.0);
}

#[test]
fn without_the_dispersion_gate_ordinary_lookups_would_be_dns_beacons() {
    // what dns_max_dispersion is for: the lookups of a browsing session and
    // of a host resolving many intranet names score over 0.7 in all
    let config = DetectConfig::from_toml("[beacon]\ndns_max_dispersion = 10.0\n").unwrap();
    let found = common::latest(&common::run(&common::capture("beacon-dns"), &config));
    let ids: Vec<&str> = common::of_kind(&found, "beacon")
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert!(
        ids.contains(&"beacon:10.250.0.43->intranet.lab/dns"),
        "{ids:?}"
    );
    let others = found
        .iter()
        .filter(|f| f.kind == "beacon" && !f.id.ends_with("c2-example.com/dns"));
    for f in others {
        let dispersion = common::measured(f, "interval_dispersion");
        assert!(dispersion > 0.15, "{}: {dispersion}", f.id);
    }
}

#[test]
fn the_same_beacon_over_tls_is_found_and_tagged_encrypted() {
    let f = the_finding("beacon-https", "beacon");
    assert_names(&f, Some("10.250.0.10"), None);
    assert_eq!(f.id, "beacon:10.250.0.10->203.0.113.50:8443/tcp");
    assert!(f.mitre.contains(&"T1573".to_string()), "{:?}", f.mitre);
    assert!(common::measured(&f, "beacon_score") >= 0.8);
}

#[test]
fn a_beacon_to_one_name_over_four_addresses_is_found_by_its_server_name() {
    let all = common::findings_of("beacon-rotating");
    let by_name: Vec<_> = all.iter().filter(|f| f.id.ends_with("/tls")).collect();
    assert_eq!(by_name.len(), 1, "{}", common::describe(&all));
    let f = by_name[0];
    assert_eq!(f.id, "beacon:10.250.0.10->cdn.example.net/tls");
    assert_names(f, Some("10.250.0.10"), None);
    for address in [
        "203.0.113.60",
        "203.0.113.61",
        "203.0.113.62",
        "203.0.113.63",
    ] {
        assert!(
            common::names(f, netsec_model::EntityRole::Related, address),
            "{address}"
        );
    }
    assert!(f.mitre.contains(&"T1573".to_string()));
    // the whole beacon is in it: more connections than any one address saw
    let per_address = all.iter().filter(|g| !g.id.ends_with("/tls"));
    for g in per_address {
        assert!(common::measured(g, "connections") < common::measured(f, "connections"));
    }
}

#[test]
fn the_rotating_beacon_is_one_finding() {
    let beacons = common::of_kind(&common::findings_of("beacon-rotating"), "beacon")
        .into_iter()
        .map(|f| f.id.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        beacons,
        vec!["beacon:10.250.0.10->cdn.example.net/tls".to_string()]
    );
}
