//! Per-host baselines on recorded captures (`scripts/record-baseline.sh`):
//! learned on two ordinary days of the lab's office, a third ordinary day is
//! quiet and the day .10 scans and uploads is not; learned on
//! `benign-office`, the DNS reflection of `amp-dns` shows on the reflector
//! and on its victim.

mod common;

use netsec_detect::baseline::Baseline;
use netsec_detect::DetectConfig;
use netsec_model::Finding;

/// The lab captures are minutes long: 10-s windows give them a few dozen.
fn config() -> DetectConfig {
    let mut config = DetectConfig::default();
    assert!(config.set("baseline.window_secs=10").is_ok());
    config
}

fn learn(names: &[&str]) -> Baseline {
    common::learn_baseline(names, &config())
}

fn score(baseline: &Baseline, name: &str) -> Vec<Finding> {
    let mut analyzers = vec![common::baseline_detector(baseline.clone(), &config())];
    common::latest(&common::run_with(&common::capture(name), &mut analyzers))
}

fn measures(f: &Finding) -> Vec<&str> {
    f.evidence
        .measurements
        .iter()
        .filter_map(|m| m.name.strip_suffix("_z"))
        .collect()
}

#[test]
fn the_learned_office_is_quiet_on_a_third_day_and_the_attacker_stands_out() {
    let baseline = learn(&["baseline-day1", "baseline-day2"]);
    let hosts: Vec<String> = baseline.hosts.keys().map(|h| h.to_string()).collect();
    assert_eq!(
        hosts,
        [
            "10.250.0.10",
            "10.250.0.20",
            "10.250.0.30",
            "10.250.0.31",
            "10.250.0.41",
            "10.250.0.43"
        ]
    );
    // the file round-trips
    let text = baseline.to_json().unwrap_or_default();
    assert_eq!(Baseline::from_json(&text).ok().as_ref(), Some(&baseline));

    let quiet = score(&baseline, "baseline-day3");
    assert!(quiet.is_empty(), "{}", common::describe(&quiet));

    let day = score(&baseline, "baseline-anomaly");
    assert_eq!(day.len(), 1, "{}", common::describe(&day));
    let f = &day[0];
    assert_eq!(f.id, "host_anomaly:10.250.0.10");
    let m = measures(f);
    // nmap's 500 ports, and the 3 MB upload
    assert!(m.contains(&"ports") && m.contains(&"flows"), "{m:?}");
    assert!(m.contains(&"bytes_out"), "{m:?}");
    let value = |name: &str| {
        f.evidence
            .measurements
            .iter()
            .find(|x| x.name == name)
            .map(|x| (x.value, x.threshold))
    };
    let ports = value("ports").unwrap_or_default();
    assert!(ports.0 >= 450.0, "{ports:?}");
    let bytes = value("bytes_out").unwrap_or_default();
    assert!(bytes.0 >= 3_000_000.0, "{bytes:?}");
    // the value is reported beside the largest the learned day reached
    assert!(bytes.1.is_some_and(|max| max < 50_000.0), "{bytes:?}");
}

#[test]
fn a_reflection_shows_on_the_reflector_and_the_victim() {
    let baseline = learn(&["benign-office"]);
    let found = score(&baseline, "amp-dns");
    let by = |host: &str| {
        found
            .iter()
            .find(|f| f.id == format!("host_anomaly:{host}"))
            .map(measures)
            .unwrap_or_default()
    };
    // dnsmasq answered 300 queries for a 1 KB record
    assert!(
        by("10.250.0.20").contains(&"bytes_out"),
        "{}",
        common::describe(&found)
    );
    // the victim received them
    assert!(
        by("10.250.0.30").contains(&"bytes_in"),
        "{}",
        common::describe(&found)
    );
    // hping3's own address never showed in the office
    let new: Vec<&Finding> = common::of_kind(&found, "new_host");
    assert!(
        new.iter().all(|f| f.id == "new_host:10.250.0.10"),
        "{}",
        common::describe(&found)
    );
    assert_eq!(found.len(), 2 + new.len(), "{}", common::describe(&found));
}
