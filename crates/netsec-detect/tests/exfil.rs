//! Exfiltration on a real capture (a 12 MB upload with nc).

mod common;

use common::{assert_names, the_finding};

#[test]
fn a_large_upload_to_a_rare_outside_host() {
    let f = the_finding("exfil-upload", "data_exfiltration");
    assert_names(&f, Some("10.250.0.10"), None);
    assert!(common::names(
        &f,
        netsec_model::EntityRole::Related,
        "203.0.113.50"
    ));
    let sent = f
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "bytes_sent");
    assert!(sent.is_some_and(|m| m.value >= 12_000_000.0), "{sent:?}");
    assert!(f
        .evidence
        .facts
        .contains(&("rare_destination".into(), "true".into())));
}

#[test]
fn downloads_and_internal_copies_are_not_exfiltration() {
    // benign holds a 1 MB download from outside and an internal scp
    common::assert_quiet(
        "exfil",
        &[
            "benign",
            "benign-office",
            "beacon-http",
            "flood-udp",
            "lateral-ssh",
        ],
    );
}

#[test]
fn thirty_small_uploads_add_up_to_slow_exfiltration() {
    let f = the_finding("exfil-slow", "data_exfiltration");
    assert_names(&f, Some("10.250.0.10"), None);
    assert!(common::measured(&f, "bytes_sent") >= 12_000_000.0);
    assert!(f.mitre.contains(&"T1030".to_string()), "{:?}", f.mitre);
    assert!(
        f.evidence.flows_total.is_some_and(|n| n >= 25),
        "{:?}",
        f.evidence.flows_total
    );
}
