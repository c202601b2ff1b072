//! Accuracy over the labelled sets (`testdata/detect/labels.toml` and the
//! Windows-domain captures' `testdata/windows/labels.toml`): per detector, true positives, false negatives and false positives, with the
//! default configuration. Fails under a recall of 0.95 for any detector or
//! over 0.02 false findings per benign host.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use netsec_model::{Analyzer, ArpInfo, EntityRole, Finding, FindingSink, Interests, PacketInfo};
use serde::Deserialize;

/// Every address that sent an IP packet or claimed one in ARP: the hosts of
/// a capture, to check the labels' `attackers` and `benign_hosts` against.
struct Senders(Arc<Mutex<BTreeSet<String>>>);

impl Analyzer for Senders {
    fn name(&self) -> &'static str {
        "senders"
    }
    fn interests(&self) -> Interests {
        Interests {
            packets: true,
            arp: true,
            ..Interests::NONE
        }
    }
    fn on_packet(&mut self, packet: &PacketInfo, _out: &mut dyn FindingSink) {
        if let (Some(ip), Ok(mut set)) = (packet.ip, self.0.lock()) {
            set.insert(ip.src.to_string());
        }
    }
    fn on_arp(&mut self, arp: &ArpInfo, _out: &mut dyn FindingSink) {
        if let Ok(mut set) = self.0.lock() {
            if !arp.sender_ip.is_unspecified() {
                set.insert(arp.sender_ip.to_string());
            }
        }
    }
}

/// The latest findings of the default detectors (and of the baseline
/// detector, learned from `baseline`'s captures with 10-s windows, when
/// given), and the capture's hosts.
fn analyse(name: &str, baseline: &[String]) -> (Vec<Finding>, BTreeSet<String>) {
    let hosts = Arc::new(Mutex::new(BTreeSet::new()));
    let mut analyzers = netsec_detect::default_analyzers(&Default::default());
    if !baseline.is_empty() {
        let mut config = netsec_detect::DetectConfig::default();
        assert!(config.set("baseline.window_secs=10").is_ok());
        let names: Vec<&str> = baseline.iter().map(String::as_str).collect();
        let learned = common::learn_baseline(&names, &config);
        analyzers.push(common::baseline_detector(learned, &config));
    }
    analyzers.push(Box::new(Senders(Arc::clone(&hosts))));
    let inspectors = netsec_detect::default_inspectors(&Default::default());
    let findings = common::latest(&common::run_inspected(
        &common::capture(name),
        &mut analyzers,
        inspectors,
    ));
    let hosts = hosts.lock().map(|h| h.clone()).unwrap_or_default();
    (findings, hosts)
}

#[derive(Debug, Deserialize)]
struct Labels {
    capture: Vec<Capture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Capture {
    name: String,
    label: String,
    what: String,
    attackers: Vec<String>,
    benign_hosts: Vec<String>,
    #[serde(default)]
    expect: Vec<Expect>,
    /// Captures of ordinary days to learn a baseline from (10-s windows):
    /// the baseline detector then runs too.
    #[serde(default)]
    baseline: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    detector: String,
    kind: String,
    source: Option<String>,
    target: Option<String>,
    /// The finding's id, when one activity must be told from others of its kind.
    id: Option<String>,
}

#[derive(Debug, Default)]
struct Score {
    tp: u64,
    fn_: u64,
    fp: u64,
    extra: u64,
}

fn matches(f: &Finding, e: &Expect) -> bool {
    f.kind == e.kind
        && f.producer == format!("netsec-detect/{}", e.detector)
        && e.source
            .as_deref()
            .is_none_or(|s| common::names(f, EntityRole::Source, s))
        && e.target
            .as_deref()
            .is_none_or(|t| common::names(f, EntityRole::Target, t))
        && e.id.as_deref().is_none_or(|id| f.id == id)
}

fn detector_of(f: &Finding) -> String {
    f.producer.trim_start_matches("netsec-detect/").to_string()
}

#[test]
fn recall_and_false_positive_rate_over_the_labelled_set() {
    let mut labels = Labels {
        capture: Vec::new(),
    };
    for (dir, prefix) in [
        (common::detect_dir(), ""),
        (common::windows_dir(), "windows/"),
    ] {
        let path = dir.join("labels.toml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let set: Labels =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        labels.capture.extend(set.capture.into_iter().map(|mut c| {
            c.name = format!("{prefix}{}", c.name);
            c
        }));
    }
    assert!(
        labels.capture.iter().any(|c| c.label == "tn"),
        "no true-negative capture"
    );

    let mut scores: BTreeMap<String, Score> = netsec_detect::DETECTORS
        .iter()
        .map(|d| (d.to_string(), Score::default()))
        .collect();
    let mut benign_hosts = 0u64;
    let mut problems: Vec<String> = Vec::new();
    let mut label_errors: Vec<String> = Vec::new();
    for c in &labels.capture {
        assert!(
            c.label == "tp" || c.label == "tn",
            "{}: label {}",
            c.name,
            c.label
        );
        assert_eq!(
            c.label == "tn",
            c.expect.is_empty(),
            "{}: tn captures expect nothing",
            c.name
        );
        assert!(
            common::capture(&c.name).exists(),
            "{}: no capture ({})",
            c.name,
            c.what
        );
        benign_hosts += c.benign_hosts.len() as u64;
        let (findings, hosts) = analyse(&c.name, &c.baseline);
        // the labels name every host of the capture, once
        let labelled: BTreeSet<String> =
            c.attackers.iter().chain(&c.benign_hosts).cloned().collect();
        let unlabelled: Vec<&String> = hosts.difference(&labelled).collect();
        if !unlabelled.is_empty() {
            label_errors.push(format!(
                "{}: hosts not in the labels: {unlabelled:?}",
                c.name
            ));
        }
        let absent: Vec<&String> = c
            .benign_hosts
            .iter()
            .filter(|h| !hosts.contains(*h))
            .collect();
        if !absent.is_empty() {
            label_errors.push(format!(
                "{}: benign hosts that sent nothing: {absent:?}",
                c.name
            ));
        }
        for e in &c.expect {
            let score = scores.entry(e.detector.clone()).or_default();
            if findings.iter().any(|f| matches(f, e)) {
                score.tp += 1;
            } else {
                score.fn_ += 1;
                problems.push(format!("FN {} {}: {:?}", c.name, e.kind, e));
            }
        }
        for f in &findings {
            if c.expect.iter().any(|e| matches(f, e)) {
                continue;
            }
            let score = scores.entry(detector_of(f)).or_default();
            let by_attacker = c
                .attackers
                .iter()
                .any(|a| common::names(f, EntityRole::Source, a));
            if by_attacker {
                score.extra += 1;
                problems.push(format!("extra {} {} {}", c.name, f.kind, f.id));
            } else {
                score.fp += 1;
                problems.push(format!(
                    "FP {} {} {}: {}",
                    c.name, f.kind, f.id, f.evidence.summary
                ));
            }
        }
    }

    assert!(
        label_errors.is_empty(),
        "labels.toml:\n{}",
        label_errors.join("\n")
    );
    println!(
        "{:<12} {:>4} {:>4} {:>4} {:>6} {:>7}",
        "detector", "TP", "FN", "FP", "extra", "recall"
    );
    let mut total = Score::default();
    for (name, s) in &scores {
        let recall = s.tp as f64 / (s.tp + s.fn_).max(1) as f64;
        println!(
            "{name:<12} {:>4} {:>4} {:>4} {:>6} {recall:>7.3}",
            s.tp, s.fn_, s.fp, s.extra
        );
        total.tp += s.tp;
        total.fn_ += s.fn_;
        total.fp += s.fp;
        total.extra += s.extra;
    }
    let recall = total.tp as f64 / (total.tp + total.fn_).max(1) as f64;
    let fp_rate = total.fp as f64 / benign_hosts.max(1) as f64;
    println!(
        "{:<12} {:>4} {:>4} {:>4} {:>6} {recall:>7.3}",
        "all", total.tp, total.fn_, total.fp, total.extra
    );
    println!("benign hosts {benign_hosts}, false findings per benign host {fp_rate:.3}");
    for p in &problems {
        println!("  {p}");
    }
    for (name, s) in &scores {
        if s.tp + s.fn_ > 0 {
            let r = s.tp as f64 / (s.tp + s.fn_) as f64;
            assert!(
                r >= 0.95,
                "{name}: recall {r:.3} < 0.95\n{}",
                problems.join("\n")
            );
        }
    }
    assert!(
        fp_rate <= 0.02,
        "{fp_rate:.3} false findings per benign host > 0.02\n{}",
        problems.join("\n")
    );
}

#[test]
fn findings_are_the_same_on_every_run() {
    for name in ["scan-syn", "beacon-http", "lateral-ssh", "arp-spoof"] {
        let path = common::capture(name);
        let a = serde_json::to_string(&common::run(&path, &Default::default())).unwrap_or_default();
        let b = serde_json::to_string(&common::run(&path, &Default::default())).unwrap_or_default();
        assert!(!a.is_empty() && a == b, "{name}");
    }
}
