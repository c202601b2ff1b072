//! ICMP tunnels, protocol/port mismatches and high-entropy payloads on
//! cleartext ports on real captures (ptunnel-ng, ssh on 443, `openssl
//! rand`/`openssl enc` through nc to ports 80 and 25).

mod common;

use common::{assert_names, the_finding};
use netsec_detect::DetectConfig;

#[test]
fn ptunnel_is_an_icmp_tunnel() {
    let f = the_finding("tunnel-icmp", "icmp_tunnel");
    assert_names(&f, Some("10.250.0.10"), None);
    assert!(common::names(
        &f,
        netsec_model::EntityRole::Related,
        "203.0.113.50"
    ));
    let sizes = f
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "distinct_payload_sizes");
    assert!(sizes.is_some_and(|m| m.value >= 5.0), "{sizes:?}");
}

#[test]
fn ssh_on_443_is_a_mismatch() {
    let f = the_finding("ssh-on-443", "protocol_port_mismatch");
    assert_names(&f, Some("10.250.0.10"), None);
    assert!(f
        .evidence
        .facts
        .contains(&("app_proto".into(), "ssh".into())));
    assert!(f
        .evidence
        .facts
        .contains(&("port".into(), "tcp/443".into())));
}

#[test]
fn pings_floods_and_everyday_traffic_are_not_tunnels() {
    // benign pings; the ICMP flood has one payload size; sweeps send fixed probes
    common::assert_quiet(
        "tunnel",
        &[
            "benign",
            "benign-office",
            "flood-icmp",
            "sweep-icmp",
            "beacon-http",
            "brute-http",
        ],
    );
}

#[test]
fn random_and_encrypted_bytes_on_cleartext_ports_are_flagged() {
    let all = common::findings_of("entropy-cleartext");
    let found = common::of_kind(&all, "high_entropy_payload");
    let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
    // openssl rand to :80, openssl enc to :25 of an outside host, each from its first byte
    assert_eq!(
        ids,
        [
            "high_entropy_payload:10.250.0.10->203.0.113.99:25:to_server",
            "high_entropy_payload:10.250.0.10->203.0.113.99:80:to_server",
        ],
        "{}",
        common::describe(&all)
    );
    for f in found {
        assert_names(f, Some("10.250.0.10"), None);
        let entropy = common::measured(f, "entropy");
        assert!(entropy >= 7.4, "{entropy}");
        assert_eq!(common::measured(f, "bytes_examined"), 512.0);
        assert!(f.mitre.contains(&"T1001".to_string()));
        assert!(f.evidence.flows.iter().all(|r| r.community_id.is_some()));
    }
}

#[test]
fn plain_and_compressed_http_are_not_high_entropy() {
    // curl: a page, a gzip-compressed text, 200 KB of random bytes as a
    // download's body, a POST: every stream starts with HTTP headers
    common::assert_quiet(
        "tunnel",
        &["entropy-benign", "benign", "benign-office", "brute-ftp"],
    );
    // content identified as HTTP on port 80 is never judged, whatever the threshold
    let config = DetectConfig::from_toml("[tunnel]\nentropy_threshold = 4.0\n").unwrap();
    let found = common::latest(&common::run(&common::capture("entropy-benign"), &config));
    assert!(
        common::of_kind(&found, "high_entropy_payload").is_empty(),
        "{}",
        common::describe(&found)
    );
}

#[test]
fn the_threshold_and_the_port_list_decide() {
    let quiet = |toml: &str| {
        let config = DetectConfig::from_toml(toml).unwrap();
        let found = common::latest(&common::run(&common::capture("entropy-cleartext"), &config));
        common::of_kind(&found, "high_entropy_payload").is_empty()
    };
    assert!(!quiet(""));
    // 512 random bytes measure about 7.6 bits/byte, never 8
    assert!(quiet("[tunnel]\nentropy_threshold = 7.9\n"));
    assert!(quiet("[tunnel]\ncleartext_ports = [8080]\n"));
    assert!(quiet("[tunnel]\nentropy = false\n"));
}
