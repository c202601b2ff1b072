//! A small stand-in for the analysis pipeline: read a capture, decode it
//! with the protocol engine, and feed the analysers in capture order, as the
//! detection stage does (packets, ARP, events, flow records, ticks, finish).

#![allow(dead_code)]
// A capture that cannot be read fails the test that asked for it.
#![allow(clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netsec_capture::CaptureReader;
use netsec_detect::{default_analyzers, DetectConfig};
use netsec_model::{
    Analyzer, AppEvent, ArpInfo, EntityRole, EntityValue, Finding, FlowRecord, PacketInfo,
    Timestamp,
};
use netsec_proto::{Engine, EngineConfig, EngineSink};

/// Where the labelled captures are.
pub fn detect_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/detect")
}

/// Where the Windows-domain captures are (`scripts/record-windows.sh`).
pub fn windows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/windows")
}

/// A capture of the labelled sets by name (`scan-syn`, or `windows/dcsync`
/// for testdata/windows): `.pcap` or `.pcap.zst`.
pub fn capture(name: &str) -> PathBuf {
    let (dir, name) = match name.strip_prefix("windows/") {
        Some(n) => (windows_dir(), n),
        None => (detect_dir(), name),
    };
    let plain = dir.join(format!("{name}.pcap"));
    if plain.exists() {
        plain
    } else {
        dir.join(format!("{name}.pcap.zst"))
    }
}

struct Stage<'a> {
    analyzers: &'a mut [Box<dyn Analyzer>],
    inspectors: Vec<Box<dyn netsec_model::Inspector>>,
    output: netsec_model::InspectorOutput,
    findings: Vec<Finding>,
}

impl Stage<'_> {
    /// The inspectors' findings join the others as they come.
    fn collect(&mut self) {
        self.findings.append(&mut self.output.findings);
        self.output.alerts.clear();
    }
}

impl EngineSink for Stage<'_> {
    fn packet(&mut self, packet: &PacketInfo) {
        for a in self.analyzers.iter_mut() {
            if a.interests().packets {
                a.on_packet(packet, &mut self.findings);
            }
        }
    }
    fn arp(&mut self, arp: &ArpInfo) {
        for a in self.analyzers.iter_mut() {
            if a.interests().arp {
                a.on_arp(arp, &mut self.findings);
            }
        }
    }
    fn payload(
        &mut self,
        packet: &PacketInfo,
        flow: &netsec_model::PayloadContext<'_>,
        payload: &[u8],
    ) {
        for i in self.inspectors.iter_mut() {
            i.on_payload(packet, flow, payload, &mut self.output);
        }
        self.collect();
    }
    fn event(&mut self, event: AppEvent) {
        for i in self.inspectors.iter_mut() {
            i.on_event(&event, &mut self.output);
        }
        self.collect();
        for a in self.analyzers.iter_mut() {
            if a.interests().events {
                a.on_event(&event, &mut self.findings);
            }
        }
    }
    fn flow_end(&mut self, flow: FlowRecord) {
        for i in self.inspectors.iter_mut() {
            i.on_flow_end(&flow, &mut self.output);
        }
        self.collect();
        for a in self.analyzers.iter_mut() {
            if a.interests().flows {
                a.on_flow_end(&flow, &mut self.findings);
            }
        }
    }
    fn tick(&mut self, now: Timestamp) {
        for i in self.inspectors.iter_mut() {
            i.on_tick(now, &mut self.output);
        }
        self.collect();
        for a in self.analyzers.iter_mut() {
            a.on_tick(now, &mut self.findings);
        }
    }
}

/// Every finding (each version, in emission order) the analysers produce on
/// a capture.
pub fn run_with(path: &Path, analyzers: &mut [Box<dyn Analyzer>]) -> Vec<Finding> {
    run_inspected(path, analyzers, Vec::new())
}

/// Every finding the analysers and the payload inspectors produce on a
/// capture.
pub fn run_inspected(
    path: &Path,
    analyzers: &mut [Box<dyn Analyzer>],
    inspectors: Vec<Box<dyn netsec_model::Inspector>>,
) -> Vec<Finding> {
    let mut reader = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let mut engine = Engine::new(EngineConfig::default());
    let mut stage = Stage {
        analyzers,
        inspectors,
        output: netsec_model::InspectorOutput::default(),
        findings: Vec::new(),
    };
    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => engine.process(&raw, &mut stage),
            Ok(None) => break,
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    engine.finish(&mut stage);
    for i in stage.inspectors.iter_mut() {
        i.finish(&mut stage.output);
    }
    stage.collect();
    for a in stage.analyzers.iter_mut() {
        a.finish(&mut stage.findings);
    }
    stage.findings
}

/// A baseline learned from labelled captures under `config` (`[baseline]`
/// and `[network]`).
pub fn learn_baseline(names: &[&str], config: &DetectConfig) -> netsec_detect::baseline::Baseline {
    let learner = netsec_detect::baseline::BaselineLearner::new(
        config.baseline.clone(),
        config.network.clone(),
    );
    let (side, learner) = netsec_model::SharedAnalyzer::new(learner);
    let mut analyzers: Vec<Box<dyn Analyzer>> = vec![Box::new(side)];
    for name in names {
        let findings = run_with(&capture(name), &mut analyzers);
        assert!(findings.is_empty(), "learning raises nothing");
    }
    let baseline = learner.lock().map(|mut l| l.baseline());
    match baseline {
        Ok(b) => b,
        Err(_) => panic!("the learner's lock is poisoned"),
    }
}

/// The baseline detector for a learned baseline.
pub fn baseline_detector(
    baseline: netsec_detect::baseline::Baseline,
    config: &DetectConfig,
) -> Box<dyn Analyzer> {
    Box::new(netsec_detect::baseline::BaselineDetector::new(
        config.baseline.clone(),
        config.network.clone(),
        std::sync::Arc::new(baseline),
    ))
}

/// Every finding of the default detectors (payload inspectors included)
/// under `config`.
pub fn run(path: &Path, config: &DetectConfig) -> Vec<Finding> {
    let mut analyzers = default_analyzers(config);
    run_inspected(
        path,
        &mut analyzers,
        netsec_detect::default_inspectors(config),
    )
}

/// The latest version of each finding, by id, in id order (what a sink that
/// keeps findings shows).
pub fn latest(findings: &[Finding]) -> Vec<Finding> {
    let mut by_id: BTreeMap<String, Finding> = BTreeMap::new();
    for f in findings {
        by_id.insert(f.identity(), f.clone());
    }
    by_id.into_values().collect()
}

/// Latest findings of the default configuration on a labelled capture.
pub fn findings_of(name: &str) -> Vec<Finding> {
    latest(&run(&capture(name), &DetectConfig::default()))
}

/// The text of an entity (an address, a MAC).
pub fn entity_text(v: &EntityValue) -> String {
    match v {
        EntityValue::Host { ip } => ip.to_string(),
        EntityValue::Mac { mac } => mac.to_string(),
        EntityValue::Service { endpoint, .. } => endpoint.ip.to_string(),
        other => format!("{other:?}"),
    }
}

/// Whether the finding names `who` in `role`.
pub fn names(f: &Finding, role: EntityRole, who: &str) -> bool {
    f.entities_in(role).any(|e| entity_text(e) == who)
}

/// Findings of one kind.
pub fn of_kind<'a>(findings: &'a [Finding], kind: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.kind == kind).collect()
}

/// One line per finding, for assertion messages.
pub fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} conf {:.2}: {}",
                f.kind,
                f.id,
                f.confidence.value(),
                f.evidence.summary
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one finding of `kind` a labelled capture raises (default
/// configuration), with the assertion message listing what it raised.
pub fn the_finding(capture_name: &str, kind: &str) -> Finding {
    let all = findings_of(capture_name);
    let mut matching: Vec<Finding> = all.iter().filter(|f| f.kind == kind).cloned().collect();
    assert_eq!(
        matching.len(),
        1,
        "{capture_name}: one {kind} expected, got:\n{}",
        describe(&all)
    );
    matching.remove(0)
}

/// Assert that a finding names `source` and `target` (when given) and
/// carries Community IDs for its flows.
pub fn assert_names(f: &Finding, source: Option<&str>, target: Option<&str>) {
    if let Some(s) = source {
        assert!(
            names(f, EntityRole::Source, s),
            "source {s} not named: {f:#?}"
        );
    }
    if let Some(t) = target {
        assert!(
            names(f, EntityRole::Target, t),
            "target {t} not named: {f:#?}"
        );
    }
    assert!(!f.mitre.is_empty() && !f.evidence.summary.is_empty());
    assert!(f.evidence.flows.len() <= netsec_detect::evidence::MAX_EVIDENCE_FLOWS);
    assert!(
        f.evidence.flows.iter().all(|r| r
            .community_id
            .as_deref()
            .is_some_and(|c| c.starts_with("1:"))),
        "flows without Community ID: {:?}",
        f.evidence.flows
    );
    // every measurement tested against a threshold holds
    for m in &f.evidence.measurements {
        if let (Some(t), Some(c)) = (m.threshold, m.comparison) {
            assert!(c.holds(m.value, t), "{}: {m} does not hold", f.kind);
        }
    }
}

/// Findings from the named detector (by producer) on a capture.
pub fn from_detector(capture_name: &str, detector: &str) -> Vec<Finding> {
    let producer = format!("netsec-detect/{detector}");
    findings_of(capture_name)
        .into_iter()
        .filter(|f| f.producer == producer)
        .collect()
}

/// The value of a finding's measurement (NaN when it has none by that name).
pub fn measured(f: &Finding, name: &str) -> f64 {
    f.evidence
        .measurements
        .iter()
        .find(|m| m.name == name)
        .map_or(f64::NAN, |m| m.value)
}

/// A finding's fact by key.
pub fn fact<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.evidence
        .facts
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Assert that a detector raises nothing on these captures.
pub fn assert_quiet(detector: &str, captures: &[&str]) {
    for capture in captures {
        let found = from_detector(capture, detector);
        assert!(
            found.is_empty(),
            "{detector} on {capture}:\n{}",
            describe(&found)
        );
    }
}
