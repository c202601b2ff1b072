//! The Windows domain detector on the recorded Samba AD captures
//! (testdata/windows, scripts/record-windows.sh): each technique found, named
//! and explained; the everyday domain traffic quiet.

mod common;

use common::{assert_names, describe, fact, findings_of, measured, the_finding};
use netsec_detect::DetectConfig;

const DC: &str = "10.251.0.10";
const ATTACKER: &str = "10.251.0.66";

fn w(name: &str) -> String {
    format!("windows/{name}")
}

/// The one finding of `kind` on a capture, from the attacker to the DC, with
/// its evidence checkable.
fn found(capture: &str, kind: &str) -> netsec_model::Finding {
    let f = the_finding(&w(capture), kind);
    assert_names(&f, Some(ATTACKER), Some(DC));
    assert_eq!(f.producer, "netsec-detect/windows");
    f
}

#[test]
fn dcsync_from_a_host_that_is_not_a_dc() {
    let f = found("dcsync", "dcsync");
    assert_eq!(measured(&f, "getncchanges_requests"), 2.0);
    assert_eq!(f.mitre, vec!["T1003.006"]);
    assert_eq!(fact(&f, "source_is_domain_controller"), Some("false"));
    assert!(f.confidence.value() > 0.9);
    // Listed as a DC (a replication partner), the same traffic is quiet.
    let mut config = DetectConfig::default();
    assert!(config
        .set(&format!("windows.domain_controllers=[\"{ATTACKER}\"]"))
        .is_ok());
    let all = common::latest(&common::run(&common::capture(&w("dcsync")), &config));
    assert!(
        common::of_kind(&all, "dcsync").is_empty(),
        "{}",
        describe(&all)
    );
}

#[test]
fn dcshadow_replication_request_from_a_host_that_is_not_a_dc() {
    let f = found("dcshadow", "dcshadow");
    assert_eq!(fact(&f, "operations"), Some("DRSReplicaAdd"));
    assert_eq!(f.mitre, vec!["T1207"]);
    // the DRSBind before it is no DCSync
    let all = findings_of(&w("dcshadow"));
    assert!(
        common::of_kind(&all, "dcsync").is_empty(),
        "{}",
        describe(&all)
    );
}

#[test]
fn service_creation_by_psexec_and_smbexec() {
    for capture in ["psexec", "smbexec"] {
        let f = found(capture, "remote_service_execution");
        assert_eq!(fact(&f, "operations"), Some("CreateServiceW"), "{capture}");
        assert!(f.mitre.contains(&"T1569.002".to_string()));
        assert!((f.confidence.value() - 0.9).abs() < 1e-9);
    }
}

#[test]
fn dcom_activation_by_wmiexec() {
    let f = found("wmiexec", "wmi_dcom_execution");
    assert_eq!(fact(&f, "operations"), Some("ISystemActivator"));
    assert_eq!(f.mitre, vec!["T1021.003", "T1047"]);
}

#[test]
fn enumeration_by_samrdump_and_rid_cycling_by_lookupsid() {
    let f = found("samrdump", "domain_enumeration");
    assert_eq!(measured(&f, "enumeration_calls"), 21.0);
    assert!(f.mitre.contains(&"T1087.002".to_string()));
    let f = found("lookupsid", "domain_enumeration");
    assert_eq!(measured(&f, "sids_looked_up"), 1200.0);
    assert_eq!(
        measured(&f, "enumeration_calls"),
        2.0,
        "below its threshold: a plain value"
    );
}

#[test]
fn kerberos_spraying_roasting_and_downgrade() {
    let f = found("spray", "kerberos_password_spraying");
    assert_eq!(measured(&f, "principals_failed"), 12.0);
    let accounts: Vec<String> = f
        .entities
        .iter()
        .filter_map(|e| match &e.value {
            netsec_model::EntityValue::Account { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(accounts.len(), 10, "the first ten accounts are entities");
    assert_eq!(accounts[0], "alice");
    assert_eq!(f.mitre, vec!["T1110.003"]);
    let f = found("asreproast", "asrep_roasting");
    assert_eq!(measured(&f, "principals_without_preauth"), 14.0);
    assert!(f.confidence.value() < 0.9, "no AS-REP was delivered");
    let f = found("kerberoast", "kerberoasting");
    assert_eq!(measured(&f, "service_principals_rc4"), 3.0);
    assert_eq!(f.mitre, vec!["T1558.003"]);
    for capture in ["kerberoast", "asreproast"] {
        let f = found(capture, "kerberos_rc4_downgrade");
        assert!(measured(&f, "requests_without_aes") >= 4.0, "{capture}");
    }
    // alice's own TGT (asked first without pre-authentication, then with
    // it) is no AS-REP roasting.
    let all = findings_of(&w("kerberoast"));
    assert!(
        common::of_kind(&all, "asrep_roasting").is_empty(),
        "{}",
        describe(&all)
    );
    // getTGT's spray offers AES: no downgrade there.
    let all = findings_of(&w("spray"));
    assert!(
        common::of_kind(&all, "kerberos_rc4_downgrade").is_empty(),
        "{}",
        describe(&all)
    );
}

#[test]
fn zerologon_attempts() {
    let f = found("zerologon", "zerologon");
    assert_eq!(
        measured(&f, "zero_credential_attempts"),
        40.0,
        "20 challenges, 20 authentications"
    );
    assert_eq!(f.mitre, vec!["T1210"]);
}

#[test]
fn everyday_domain_traffic_is_quiet() {
    let all = findings_of(&w("benign"));
    assert!(all.is_empty(), "{}", describe(&all));
    // and each attack raises only its own kinds
    for (capture, kinds) in [
        ("dcsync", &["dcsync"][..]),
        ("psexec", &["remote_service_execution"][..]),
        ("samrdump", &["domain_enumeration"][..]),
        ("zerologon", &["zerologon"][..]),
    ] {
        let all = common::from_detector(&w(capture), "windows");
        let got: Vec<&str> = all.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(got, kinds, "{capture}: {}", describe(&all));
    }
}

#[test]
fn thresholds_are_tunable_by_name() {
    let mut config = DetectConfig::default();
    assert!(config.set("windows.min_spray_principals=13").is_ok());
    let all = common::latest(&common::run(&common::capture(&w("spray")), &config));
    assert!(common::of_kind(&all, "kerberos_password_spraying").is_empty());
    let mut config = DetectConfig::default();
    assert!(config.set("windows.enabled=false").is_ok());
    let all = common::latest(&common::run(&common::capture(&w("zerologon")), &config));
    assert!(all.iter().all(|f| f.producer != "netsec-detect/windows"));
}
