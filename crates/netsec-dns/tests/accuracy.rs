#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Accuracy of the DNS detectors (tunnel, DGA, spoofing; threat lists are
//! left out: they match what they are given) over the labelled set
//! `testdata/dns/labels.toml`: every capture of `testdata/dns/` and the
//! captures of `testdata/detect/` and `testdata/killchain/` that hold DNS.
//! Per detection it prints true positives, misses, false findings and the
//! recall, and fails under a recall of 0.95 or over 0.02 false findings per
//! benign DNS client.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netsec_analyze::{Analysis, Input};
use netsec_dns::DnsConfig;
use netsec_model::{Analyzer, AppEvent, EntityValue, Finding, FindingSink, Interests};
use serde::Deserialize;

/// The detections scored, by producer.
const DETECTORS: [&str; 3] = ["netsec-dns/tunnel", "netsec-dns/dga", "netsec-dns/spoof"];

/// Every address that sent a DNS message, split into those that asked
/// (clients) and those that only answered: to check the labels against.
#[derive(Default)]
struct Hosts {
    askers: BTreeSet<IpAddr>,
    answerers: BTreeSet<IpAddr>,
}

struct DnsHosts(Arc<Mutex<Hosts>>);

impl Analyzer for DnsHosts {
    fn name(&self) -> &'static str {
        "dns_hosts"
    }
    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }
    fn on_event(&mut self, event: &AppEvent, _out: &mut dyn FindingSink) {
        if let (AppEvent::Dns(dns), Ok(mut hosts)) = (event, self.0.lock()) {
            if dns.is_response {
                hosts.answerers.insert(dns.ctx.src.ip);
            } else {
                hosts.askers.insert(dns.ctx.src.ip);
            }
        }
    }
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// The last version of each finding of the default DNS detectors over a
/// capture, and its DNS hosts.
fn analyse(path: &Path) -> (Vec<Finding>, Hosts) {
    let hosts = Arc::new(Mutex::new(Hosts::default()));
    let mut analyzers = DnsConfig::default().analyzers();
    analyzers.push(Box::new(DnsHosts(Arc::clone(&hosts))));
    let (_, findings) = Analysis::new()
        .input(Input::path(path))
        .analyzers(analyzers)
        .run_with_findings()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut last: Vec<Finding> = Vec::new();
    for f in findings {
        match last.iter_mut().find(|g| g.id == f.id && g.kind == f.kind) {
            Some(g) => *g = f,
            None => last.push(f),
        }
    }
    let hosts = std::mem::take(&mut *hosts.lock().unwrap());
    (last, hosts)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    capture: Vec<Capture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Capture {
    /// Relative to testdata/.
    path: String,
    what: String,
    /// The attacking side and the clients the detections are about (tunnel
    /// and DGA clients, spoofing victims, the spoofer).
    positive_hosts: Vec<String>,
    /// Every other host that asked a DNS question.
    benign_clients: Vec<String>,
    #[serde(default)]
    expect: Vec<Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// `tunnel`, `dga` or `spoof`.
    detector: String,
    kind: String,
    /// A host the finding must name (in any role).
    host: String,
    /// A domain the finding must name, if any.
    domain: Option<String>,
}

fn hosts_of(f: &Finding) -> BTreeSet<String> {
    f.entities
        .iter()
        .filter_map(|e| match &e.value {
            EntityValue::Host { ip } => Some(ip.to_string()),
            _ => None,
        })
        .collect()
}

fn domains_of(f: &Finding) -> Vec<String> {
    f.entities
        .iter()
        .filter_map(|e| match &e.value {
            EntityValue::Domain { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn matches(f: &Finding, e: &Expect) -> bool {
    f.kind == e.kind
        && f.producer == format!("netsec-dns/{}", e.detector)
        && hosts_of(f).contains(&e.host)
        && e.domain
            .as_deref()
            .is_none_or(|d| domains_of(f).iter().any(|n| n == d))
}

#[derive(Debug, Default)]
struct Score {
    tp: u64,
    fn_: u64,
    fp: u64,
    extra: u64,
}

#[test]
fn recall_and_false_positives_per_benign_client_over_the_labelled_set() {
    let path = testdata().join("dns/labels.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let labels: Labels =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    let mut scores: BTreeMap<&str, Score> =
        DETECTORS.iter().map(|d| (*d, Score::default())).collect();
    let mut benign_clients = 0u64;
    let mut problems: Vec<String> = Vec::new();
    let mut label_errors: Vec<String> = Vec::new();
    // every capture of testdata/dns is labelled
    let labelled: BTreeSet<&str> = labels.capture.iter().map(|c| c.path.as_str()).collect();
    for entry in std::fs::read_dir(testdata().join("dns")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.contains(".pcap") && !labelled.contains(format!("dns/{name}").as_str()) {
            label_errors.push(format!("dns/{name}: not labelled"));
        }
    }
    for c in &labels.capture {
        let capture = testdata().join(&c.path);
        assert!(capture.exists(), "{}: no capture ({})", c.path, c.what);
        benign_clients += c.benign_clients.len() as u64;
        let (findings, hosts) = analyse(&capture);
        let askers: BTreeSet<String> = hosts.askers.iter().map(ToString::to_string).collect();
        let answerers: BTreeSet<String> = hosts.answerers.iter().map(ToString::to_string).collect();
        for b in &c.benign_clients {
            if !askers.contains(b) {
                label_errors.push(format!("{}: benign client {b} asked nothing", c.path));
            }
        }
        for a in &askers {
            if !c.benign_clients.contains(a) && !c.positive_hosts.contains(a) {
                label_errors.push(format!("{}: client {a} not in the labels", c.path));
            }
        }
        for a in &c.positive_hosts {
            if !askers.contains(a) && !answerers.contains(a) {
                label_errors.push(format!("{}: attacker {a} sent no DNS", c.path));
            }
        }
        for e in &c.expect {
            let Some(score) = scores.get_mut(format!("netsec-dns/{}", e.detector).as_str()) else {
                label_errors.push(format!("{}: detector {}", c.path, e.detector));
                continue;
            };
            if findings.iter().any(|f| matches(f, e)) {
                score.tp += 1;
            } else {
                score.fn_ += 1;
                problems.push(format!("FN {} {e:?}", c.path));
            }
        }
        for f in &findings {
            if c.expect.iter().any(|e| matches(f, e)) {
                continue;
            }
            let Some(score) = scores.get_mut(f.producer.as_str()) else {
                continue;
            };
            let hosts = hosts_of(f);
            if c.positive_hosts.iter().any(|a| hosts.contains(a)) {
                score.extra += 1;
                problems.push(format!(
                    "extra {} {} {}: {}",
                    c.path, f.kind, f.id, f.evidence.summary
                ));
            } else {
                score.fp += 1;
                problems.push(format!(
                    "FP {} {} {}: {}",
                    c.path, f.kind, f.id, f.evidence.summary
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
        "{} captures, {benign_clients} benign DNS clients",
        labels.capture.len()
    );
    println!(
        "{:<18} {:>4} {:>4} {:>4} {:>6} {:>7} {:>9}",
        "detection", "TP", "FN", "FP", "extra", "recall", "FP/client"
    );
    for (name, s) in &scores {
        let recall = s.tp as f64 / (s.tp + s.fn_).max(1) as f64;
        let fp_rate = s.fp as f64 / benign_clients.max(1) as f64;
        println!(
            "{name:<18} {:>4} {:>4} {:>4} {:>6} {recall:>7.3} {fp_rate:>9.3}",
            s.tp, s.fn_, s.fp, s.extra
        );
    }
    for p in &problems {
        println!("  {p}");
    }
    for (name, s) in &scores {
        assert!(
            s.tp + s.fn_ > 0,
            "{name}: nothing to find in the labelled set"
        );
        let recall = s.tp as f64 / (s.tp + s.fn_) as f64;
        assert!(
            recall >= 0.95,
            "{name}: recall {recall:.3} < 0.95\n{}",
            problems.join("\n")
        );
        let fp_rate = s.fp as f64 / benign_clients.max(1) as f64;
        assert!(
            fp_rate <= 0.02,
            "{name}: {fp_rate:.3} false findings per benign client > 0.02\n{}",
            problems.join("\n")
        );
    }
}
