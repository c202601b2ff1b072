//! Lateral movement on a real capture (ssh fan-out and an ssh chain).

mod common;

use common::{assert_names, the_finding};

#[test]
fn ssh_to_five_internal_hosts_is_lateral_movement() {
    let f = the_finding("lateral-ssh", "lateral_movement");
    assert_names(&f, Some("10.250.0.10"), Some("10.250.0.41"));
    for host in ["10.250.0.42", "10.250.0.43", "10.250.0.44", "10.250.0.20"] {
        assert!(
            common::names(&f, netsec_model::EntityRole::Target, host),
            "{host}"
        );
    }
    assert!(f.mitre.contains(&"T1021.004".to_string()));
}

#[test]
fn the_hop_through_41_is_a_chain() {
    let f = the_finding("lateral-ssh", "lateral_chain");
    assert_eq!(f.id, "lateral_chain:10.250.0.10->10.250.0.41->10.250.0.42");
    assert_names(&f, Some("10.250.0.10"), Some("10.250.0.42"));
    assert!(common::names(
        &f,
        netsec_model::EntityRole::Target,
        "10.250.0.41"
    ));
    assert_eq!(f.evidence.flows.len(), 2);
}

#[test]
fn a_sweep_and_everyday_ssh_are_not_lateral_movement() {
    common::assert_quiet(
        "lateral",
        &[
            "benign",
            "benign-office",
            "sweep-tcp445",
            "brute-ssh",
            "scan-syn",
        ],
    );
}
