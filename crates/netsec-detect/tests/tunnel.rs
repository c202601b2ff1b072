//! ICMP tunnels and protocol/port mismatches on real captures (ptunnel-ng, ssh on 443).

mod common;

use common::{assert_names, the_finding};

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
