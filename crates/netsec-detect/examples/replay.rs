//! Score a fresh recording of the labelled set against its labels.
//!
//! `scripts/record-detect.sh DIR` records the scenarios again; their MACs,
//! ports and timings differ from the committed captures, so this compares
//! by what does not change: each expected finding's detector, kind, source
//! address and id (MAC sources are not compared), through the real pipeline
//! (netsec-analyze) with the default configuration.
//!
//! ```text
//! cargo run -p netsec-detect --example replay -- DIR [LABELS]
//! ```
//!
//! Prints per detector TP, FN, FP and extra (unexpected findings by an
//! attacker); exits 1 under a recall of 0.95 or over 0.02 false findings per
//! labelled benign host.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use netsec_analyze::{Analysis, Input};
use netsec_detect::baseline::{Baseline, BaselineDetector, BaselineLearner};
use netsec_detect::{default_analyzers, DetectConfig};
use netsec_model::{EntityRole, EntityValue, Finding};
use serde::Deserialize;

#[derive(Deserialize)]
struct Labels {
    capture: Vec<Capture>,
}

#[derive(Deserialize)]
struct Capture {
    name: String,
    attackers: Vec<String>,
    benign_hosts: Vec<String>,
    #[serde(default)]
    expect: Vec<Expect>,
    #[serde(default)]
    baseline: Vec<String>,
}

#[derive(Deserialize)]
struct Expect {
    detector: String,
    kind: String,
    source: Option<String>,
    id: Option<String>,
}

#[derive(Default)]
struct Score {
    tp: u64,
    fn_: u64,
    fp: u64,
    extra: u64,
}

fn names_source(f: &Finding, who: &str) -> bool {
    f.entities_in(EntityRole::Source).any(|e| match e {
        EntityValue::Host { ip } => ip.to_string() == who,
        EntityValue::Mac { mac } => mac.to_string() == who,
        _ => false,
    })
}

fn matches(f: &Finding, e: &Expect) -> bool {
    // a MAC changes with every recording: only addresses are compared
    let source_ok = match &e.source {
        Some(s) if s.parse::<IpAddr>().is_ok() => names_source(f, s),
        _ => true,
    };
    f.kind == e.kind
        && f.producer == format!("netsec-detect/{}", e.detector)
        && source_ok
        && e.id.as_deref().is_none_or(|id| f.id == id)
}

fn capture_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [format!("{name}.pcap"), format!("{name}.pcap.zst")]
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: replay DIR [LABELS]");
        return ExitCode::from(2);
    };
    let labels_path = args.next().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/detect/labels.toml")
    });
    let labels: Labels = match std::fs::read_to_string(&labels_path)
        .map_err(|e| e.to_string())
        .and_then(|t| toml::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}: {e}", labels_path.display());
            return ExitCode::from(2);
        }
    };
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    let mut benign = 0u64;
    for c in &labels.capture {
        let Some(path) = capture_file(&dir, &c.name) else {
            println!("  missing {}", c.name);
            continue;
        };
        let config = replay_config();
        let inspect = config.clone();
        let mut analysis = Analysis::new()
            .input(Input::path(path))
            .inspectors(std::sync::Arc::new(move || {
                netsec_detect::default_inspectors(&inspect)
            }))
            .analyzers(default_analyzers(&config));
        if !c.baseline.is_empty() {
            match learn(&dir, &c.baseline, &config) {
                Ok(b) => {
                    analysis = analysis.analyzer(Box::new(BaselineDetector::new(
                        config.baseline.clone(),
                        config.network.clone(),
                        std::sync::Arc::new(b),
                    )))
                }
                Err(e) => {
                    eprintln!("{}: baseline: {e}", c.name);
                    return ExitCode::from(2);
                }
            }
        }
        let findings = match analysis.run_with_findings() {
            Ok((_, f)) => f,
            Err(e) => {
                eprintln!("{}: {e}", c.name);
                return ExitCode::from(2);
            }
        };
        benign += c.benign_hosts.len() as u64;
        for e in &c.expect {
            let s = scores.entry(e.detector.clone()).or_default();
            if findings.iter().any(|f| matches(f, e)) {
                s.tp += 1;
            } else {
                s.fn_ += 1;
                println!("  FN {} {}", c.name, e.kind);
            }
        }
        for f in findings
            .iter()
            .filter(|f| !c.expect.iter().any(|e| matches(f, e)))
        {
            let s = scores
                .entry(f.producer.trim_start_matches("netsec-detect/").to_string())
                .or_default();
            if c.attackers.iter().any(|a| names_source(f, a)) {
                s.extra += 1;
                println!("  extra {} {}", c.name, f.id);
            } else {
                s.fp += 1;
                println!("  FP {} {}: {}", c.name, f.id, f.evidence.summary);
            }
        }
    }
    println!(
        "{:<12} {:>4} {:>4} {:>4} {:>6}",
        "detector", "TP", "FN", "FP", "extra"
    );
    let (mut tp, mut fn_, mut fp) = (0, 0, 0);
    let mut worst_recall = 1.0f64;
    for (name, s) in &scores {
        println!(
            "{name:<12} {:>4} {:>4} {:>4} {:>6}",
            s.tp, s.fn_, s.fp, s.extra
        );
        tp += s.tp;
        fn_ += s.fn_;
        fp += s.fp;
        if s.tp + s.fn_ > 0 {
            worst_recall = worst_recall.min(s.tp as f64 / (s.tp + s.fn_) as f64);
        }
    }
    let fp_rate = fp as f64 / benign.max(1) as f64;
    println!("all: {tp} TP, {fn_} FN, {fp} FP; lowest recall {worst_recall:.3}; {fp_rate:.3} false findings per benign host ({benign})");
    if worst_recall < 0.95 || fp_rate > 0.02 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The default configuration, with the 10-s baseline windows the labelled
/// set's minutes-long captures need (as `tests/accuracy.rs`).
fn replay_config() -> DetectConfig {
    let mut config = DetectConfig::default();
    let _ = config.set("baseline.window_secs=10");
    config
}

/// A baseline learned from captures of the recording.
fn learn(dir: &Path, names: &[String], config: &DetectConfig) -> Result<Baseline, String> {
    let learner = BaselineLearner::new(config.baseline.clone(), config.network.clone());
    let (side, learner) = netsec_model::SharedAnalyzer::new(learner);
    let paths = names
        .iter()
        .map(|n| capture_file(dir, n).ok_or(format!("missing {n}")))
        .collect::<Result<Vec<PathBuf>, String>>()?;
    Analysis::new()
        .inputs(paths.into_iter().map(Input::Path))
        .analyzer(Box::new(side))
        .run()
        .map_err(|e| e.to_string())?;
    let baseline = learner.lock().map(|mut l| l.baseline());
    baseline.map_err(|_| "the learner failed".to_string())
}
