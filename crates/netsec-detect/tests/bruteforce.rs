//! Brute force on real captures (hydra against sshd, vsftpd, nginx basic auth).

mod common;

use common::{assert_names, the_finding};
use netsec_model::Severity;

#[test]
fn hydra_against_ssh_then_a_login_is_a_possible_success() {
    let f = the_finding("brute-ssh", "ssh_bruteforce");
    assert_names(&f, Some("10.250.0.10"), Some("10.250.0.20"));
    assert_eq!(common::fact(&f, "possible_success"), Some("true"));
    assert_eq!(f.severity, Severity::High);
    assert!(f.mitre.contains(&"T1110.001".to_string()));
}

#[test]
fn hydra_against_ftp_and_http_basic_auth() {
    let ftp = the_finding("brute-ftp", "ftp_bruteforce");
    assert_names(&ftp, Some("10.250.0.10"), Some("10.250.0.20"));
    assert_eq!(common::fact(&ftp, "possible_success"), Some("false"));
    let http = the_finding("brute-http", "http_bruteforce");
    assert_names(&http, Some("10.250.0.10"), Some("10.250.0.20"));
    let attempts = http
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "attempts");
    assert!(
        attempts.is_some_and(|m| m.value >= 10.0 && m.unit == "401 responses"),
        "{attempts:?}"
    );
}

#[test]
fn a_few_logins_and_other_traffic_are_not_brute_force() {
    // benign: two ssh sessions, one refused login, scp, HTTP basic auth that succeeds
    common::assert_quiet(
        "bruteforce",
        &[
            "benign",
            "benign-office",
            "lateral-ssh",
            "scan-connect",
            "beacon-http",
        ],
    );
}

#[test]
fn one_password_over_twelve_servers_is_spraying() {
    let f = the_finding("spray-ssh", "password_spraying");
    assert_names(&f, Some("10.250.0.10"), Some("203.0.113.60"));
    assert_eq!(common::measured(&f, "servers"), 12.0);
    assert!(f.mitre.contains(&"T1110.003".to_string()));
    // two tries on each server are far from a brute force of any one
    assert!(common::of_kind(&common::findings_of("spray-ssh"), "ssh_bruteforce").is_empty());
}
