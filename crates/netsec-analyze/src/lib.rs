//! The netsec analysis pipeline as a library: what `netsec analyze` runs,
//! for any program to embed.
//!
//! One pass over captures (files, directories, any byte stream, or a live
//! interface): packets are decoded and built into flows by shards (one per
//! thread, each with a share of the flows), which write logs and forward
//! compact records — flow records, application events, and the packet
//! headers or ARP packets an analyser asked for — to one **detection
//! stage**. There the records of all shards are merged into capture order,
//! identical whatever the number of threads, and every [`Analyzer`] sees the
//! whole run: a scanner touching 1,000 hosts is seen touching 1,000 hosts.
//! Analysers that need a flow's packets where they are (per-flow protocol
//! checks) run inside the shards instead ([`Analysis::shard_analyzers`]);
//! their findings join the ordered stream.
//!
//! A run is watched and stopped from any thread ([`Analysis::progress`],
//! [`CancelToken`]); its [`Summary`] is a serde type.
//!
//! # Example
//!
//! Count the flows that end per transport, on two threads, and keep the
//! summary:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::{Arc, Mutex};
//! use netsec_analyze::{Analysis, Input};
//! use netsec_model::{Analyzer, FindingSink, FlowRecord, Interests};
//!
//! struct FlowCounter(Arc<Mutex<BTreeMap<String, u64>>>);
//!
//! impl Analyzer for FlowCounter {
//!     fn name(&self) -> &'static str { "flow_counter" }
//!     fn interests(&self) -> Interests { Interests { flows: true, ..Interests::NONE } }
//!     fn on_flow_end(&mut self, flow: &FlowRecord, _out: &mut dyn FindingSink) {
//!         if let Ok(mut counts) = self.0.lock() {
//!             *counts.entry(flow.transport.to_string()).or_default() += 1;
//!         }
//!     }
//! }
//!
//! let counts = Arc::new(Mutex::new(BTreeMap::new()));
//! let summary = Analysis::new()
//!     .input(Input::path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample.pcap")))
//!     .threads(2)
//!     .analyzer(Box::new(FlowCounter(Arc::clone(&counts))))
//!     .run()
//!     .expect("the sample is readable");
//! let counted: u64 = counts.lock().map(|c| c.values().sum()).unwrap_or(0);
//! assert_eq!(counted, summary.flows.total);
//! assert!(summary.packets > 400);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod detection;
mod dns_unanswered;
mod error;
mod findings;
mod heavy_hitters;
mod input;
pub mod json;
pub mod logs;
mod pipeline;
mod progress;
mod record;
mod shard;
mod summary;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use netsec_capture::Filter;
use netsec_model::{Analyzer, Finding};
use netsec_proto::EngineConfig;

pub use detection::FindingCallback;
pub use error::AnalysisError;
pub use findings::DEFAULT_FINDINGS_KEPT;
pub use heavy_hitters::{Counted, HeavyHitters};
pub use input::{distinct_output_names, expand_paths, Input, CAPTURE_EXTENSIONS};
pub use logs::{RecordSink, RecordSinkFactory};
pub use pipeline::{AnalyzerFactory, EventEnricher, InspectorFactory};
pub use progress::{CancelToken, Progress, ProgressCallback};
pub use summary::{
    Conversation, DecodeReport, FindingSummary, FlowSummary, InputReport, MemoryReport, NameCount,
    Summary, Talker, DEFAULT_TOP_TABLE_CAPACITY,
};

use detection::DetectionStage;
use findings::FindingStore;
use pipeline::Plan;
use summary::{ShardCounts, StageTables};

/// Where a run's records are written.
#[derive(Clone)]
pub enum Logs {
    /// JSON-lines files in Elastic Common Schema form in this directory
    /// (`flows.jsonl`, `dns.jsonl`, …, `findings.jsonl`, `summary.json`).
    EcsDir(PathBuf),
    /// The embedder's own sink, one per shard.
    Sink(RecordSinkFactory),
}

/// A run being set up. Every setting has a default; `run` does the work.
pub struct Analysis {
    inputs: Vec<Input>,
    threads: usize,
    filter: Option<Filter>,
    engine: EngineConfig,
    logs: Option<Logs>,
    analyzers: Vec<Box<dyn Analyzer>>,
    shard_analyzers: Option<AnalyzerFactory>,
    inspectors: Option<InspectorFactory>,
    enricher: Option<EventEnricher>,
    progress: Option<ProgressCallback>,
    cancel: CancelToken,
    on_finding: Option<FindingCallback>,
    top: usize,
    table_capacity: Option<usize>,
    findings_kept: usize,
    memory_limit: usize,
}

/// The run's memory budget when none is set: 640 MiB, of which the
/// protocol engines take 512 MiB and the detection stage's analysers the
/// rest.
pub const DEFAULT_MEMORY_LIMIT: usize = 640 * 1024 * 1024;

/// How often a flow that goes on is reported to the analysers that read
/// snapshots ([`netsec_model::Analyzer::on_flow_update`]) when the engine's
/// [`netsec_proto::FlowConfig::update_interval`] is not set: every 10 s of
/// its life, at its first packet after each (so live capture sees a long
/// upload or a long session within seconds, not when it ends).
pub const DEFAULT_FLOW_UPDATE_INTERVAL: netsec_model::Duration =
    netsec_model::Duration::from_secs(10);

impl Default for Analysis {
    fn default() -> Self {
        Analysis::new()
    }
}

impl Analysis {
    /// A run with no input yet, one thread per core, the application layer
    /// on, no logs, no analysers.
    pub fn new() -> Self {
        Analysis {
            inputs: Vec::new(),
            threads: 0,
            filter: None,
            engine: EngineConfig::default(),
            logs: None,
            analyzers: Vec::new(),
            shard_analyzers: None,
            inspectors: None,
            enricher: None,
            progress: None,
            cancel: CancelToken::new(),
            on_finding: None,
            top: 10,
            table_capacity: None,
            findings_kept: DEFAULT_FINDINGS_KEPT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
        }
    }

    /// Add an input; inputs are read in order, packet numbers running on
    /// across them, as one analysis.
    pub fn input(mut self, input: Input) -> Self {
        self.inputs.push(input);
        self
    }

    /// Add several inputs.
    pub fn inputs(mut self, inputs: impl IntoIterator<Item = Input>) -> Self {
        self.inputs.extend(inputs);
        self
    }

    /// Threads to use (0, the default: one per core). Results are the same
    /// for any number.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Analyse only packets matching `filter` (the others still move the
    /// clock).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Decode the application layer (TCP reassembly, DNS, HTTP, TLS, …)
    /// or only build flows (default: on).
    pub fn app_layer(mut self, on: bool) -> Self {
        self.engine.flows.app_layer = on;
        self
    }

    /// Bytes of one HTTP body hashed at most (SHA-256 and MD5); a longer
    /// body is counted and reported over the limit, without hashes.
    pub fn max_file_hash(mut self, bytes: u64) -> Self {
        self.engine.flows.max_file_hash = bytes;
        self
    }

    /// Most flows tracked at once over all threads; past it the least
    /// recently seen are evicted.
    pub fn max_flows(mut self, flows: usize) -> Self {
        self.engine.flow_capacity = flows.max(1);
        self
    }

    /// The protocol engine's settings, whole.
    pub fn engine(mut self, engine: EngineConfig) -> Self {
        self.engine = engine;
        self
    }

    /// Write the records somewhere.
    pub fn logs(mut self, logs: Logs) -> Self {
        self.logs = Some(logs);
        self
    }

    /// Add an analyser to the detection stage: it sees the whole run in
    /// capture order.
    pub fn analyzer(mut self, analyzer: Box<dyn Analyzer>) -> Self {
        self.analyzers.push(analyzer);
        self
    }

    /// Add several analysers to the detection stage.
    pub fn analyzers(mut self, analyzers: impl IntoIterator<Item = Box<dyn Analyzer>>) -> Self {
        self.analyzers.extend(analyzers);
        self
    }

    /// Analysers to run inside each shard, made once per shard by
    /// `factory`: each sees only its shard's flows (every packet of those
    /// flows), so per-flow work runs where the packets already are.
    pub fn shard_analyzers(mut self, factory: AnalyzerFactory) -> Self {
        self.shard_analyzers = Some(factory);
        self
    }

    /// Byte-level inspectors to run inside each shard (the signature
    /// engine), made once per shard by `factory`: each sees every packet's
    /// payload of its shard's flows and their application events; its
    /// alerts go to the logs (`alerts.jsonl`), its findings join the ordered
    /// stream as the per-shard analysers' do. Without one, nothing is
    /// inspected and nothing costs.
    pub fn inspectors(mut self, factory: InspectorFactory) -> Self {
        self.inspectors = Some(factory);
        self
    }

    /// Complete every application event as it is made, before it is
    /// logged or analysed (netsec-tls adds JA3/JA4 fingerprints this way):
    /// parsers stay in netsec-proto, what is computed from their output
    /// stays in the crates that own it.
    pub fn event_enricher(mut self, enricher: EventEnricher) -> Self {
        self.enricher = Some(enricher);
        self
    }

    /// Called with the run's progress every few thousand packets.
    pub fn progress(mut self, callback: ProgressCallback) -> Self {
        self.progress = Some(callback);
        self
    }

    /// Stop the run when this token is cancelled (from any thread).
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// Called with every finding as the detection stage makes it (updates
    /// of one activity included), for live reporting.
    pub fn on_finding(mut self, callback: FindingCallback) -> Self {
        self.on_finding = Some(callback);
        self
    }

    /// How many entries each top list of the summary shows (default 10).
    pub fn top(mut self, n: usize) -> Self {
        self.top = n;
        self
    }

    /// Keys each top table keeps; counts stay within a stated overcount
    /// past it. By default as many as fit a quarter of the detection
    /// stage's share of the memory budget, at most
    /// [`DEFAULT_TOP_TABLE_CAPACITY`] (about 13,000 with the default
    /// budget).
    pub fn table_capacity(mut self, keys: usize) -> Self {
        self.table_capacity = Some(keys.max(1));
        self
    }

    /// Findings kept for the log and the summary (default 20,000); past
    /// it the most severe are kept and the rest counted.
    pub fn findings_kept(mut self, findings: usize) -> Self {
        self.findings_kept = findings.max(1);
        self
    }

    /// The run's memory budget in bytes (default [`DEFAULT_MEMORY_LIMIT`]):
    /// four fifths for the protocol engines (flow tables, reassembly and
    /// parser buffers, fragments; shared among the threads), one fifth for
    /// detection: a quarter of it for the summary's top tables, a quarter
    /// for the shards' payload inspectors (when there are any), the rest for
    /// the detection stage's analysers. Over it, the oldest buffered stream
    /// data becomes a counted gap and the least recently seen flows are
    /// evicted; the run never stops for memory.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes.max(1024 * 1024);
        self
    }

    /// Run to the end of the inputs (or cancellation).
    pub fn run(self) -> Result<Summary, AnalysisError> {
        self.run_with_findings().map(|(summary, _)| summary)
    }

    /// Run, and return every finding kept besides the summary (most severe
    /// first).
    pub fn run_with_findings(self) -> Result<(Summary, Vec<Finding>), AnalysisError> {
        let Analysis {
            inputs,
            threads,
            filter,
            engine,
            logs,
            analyzers,
            shard_analyzers,
            inspectors,
            enricher,
            progress,
            cancel,
            on_finding,
            top,
            table_capacity,
            findings_kept,
            memory_limit,
        } = self;
        let mut engine = engine;
        engine.memory_limit = memory_limit / 5 * 4;
        let analyzer_memory = memory_limit - engine.memory_limit;
        // The summary's top tables (hosts, conversations, names) take a
        // quarter of the analysers' fifth, sized so they cannot outgrow it.
        let table_memory = analyzer_memory / 4;
        // The shards' payload inspectors (when there are any) take another
        // quarter, shared among the threads; the detection stage's
        // analysers the rest.
        let inspector_memory = if inspectors.is_some() {
            analyzer_memory / 4
        } else {
            0
        };
        let table_capacity = table_capacity.unwrap_or_else(|| {
            StageTables::capacity_for_budget(table_memory, DEFAULT_TOP_TABLE_CAPACITY)
        });
        let inputs = expand_inputs(inputs)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = if threads == 0 { cores } else { threads };
        let bytes_total = inputs
            .iter()
            .filter_map(|i| match i {
                Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                _ => None,
            })
            .sum();
        let ecs_files = match &logs {
            Some(Logs::EcsDir(dir)) => Some(
                // A writer thread where a core is left for it; with every
                // core analysing, the shards write their own buffers.
                logs::LogFiles::create(dir, threads < cores)
                    .map_err(|e| AnalysisError::Logs(format!("{}: {e}", dir.display())))?,
            ),
            _ => None,
        };
        let record_sinks: Option<RecordSinkFactory> = match (&logs, &ecs_files) {
            (Some(Logs::Sink(factory)), _) => Some(Arc::clone(factory)),
            (_, Some(files)) => {
                let files = Arc::clone(files);
                Some(Arc::new(move || {
                    Box::new(logs::LogBuffers::new(Arc::clone(&files))) as Box<dyn RecordSink>
                }))
            }
            _ => None,
        };
        let stage = Box::new(DetectionStage::new(
            analyzers,
            StageTables::new(table_capacity),
            FindingStore::new(findings_kept),
            on_finding,
            analyzer_memory - table_memory - inspector_memory,
        ));
        // Snapshots of flows that go on cost a record per flow and interval:
        // only when an analyser reads them.
        if stage.interests().flow_updates && engine.flows.update_interval.is_none() {
            engine.flows.update_interval = Some(DEFAULT_FLOW_UPDATE_INTERVAL);
        }
        let plan = Plan {
            engine,
            filter,
            threads,
            logs: record_sinks,
            shard_analyzers,
            inspectors,
            inspector_memory: inspector_memory / threads.max(1),
            enricher,
            interests: stage.interests(),
            progress,
            cancel,
            bytes_total,
        };
        // A panicking analyser fails the run with an error, whether it ran on
        // a thread of its own or on the caller's, rather than unwinding into
        // the caller.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if threads <= 1 {
                pipeline::run_inline(&plan, inputs, stage)
            } else if inputs.iter().all(Input::reopenable) {
                let paths = inputs
                    .into_iter()
                    .filter_map(|i| match i {
                        Input::Path(p) => Some(p),
                        _ => None,
                    })
                    .collect();
                pipeline::run_file_shards(&plan, paths, stage)
            } else {
                pipeline::run_reader_workers(&plan, inputs, stage)
            }
        }))
        .map_err(|_| AnalysisError::ThreadFailed("analysis"))?;
        if let Some(failure) = outcome.failure {
            return Err(failure);
        }
        let Some(mut stage) = outcome.stage else {
            return Err(AnalysisError::ThreadFailed("detection"));
        };
        stage.finish();
        let mut counts = ShardCounts::default();
        let mut counters = std::collections::BTreeMap::<String, u64>::new();
        let mut errors = std::collections::BTreeMap::<String, u64>::new();
        let mut sink_error = None;
        let mut engines_peak = 0;
        for shard in outcome.shards {
            engines_peak += shard.memory_peak;
            counts.merge(shard.counts);
            for (k, v) in shard.decode_counters {
                *counters.entry(k).or_default() += v;
            }
            for (k, v) in shard.decode_errors {
                *errors.entry(k).or_default() += v;
            }
            sink_error = sink_error.or(shard.sink_error);
        }
        if stage.out_of_order > 0 {
            return Err(AnalysisError::ThreadFailed(
                "detection (records out of order)",
            ));
        }
        let decode = DecodeReport { errors, counters };
        let mut summary = summary::build_summary(
            counts,
            &stage.tables,
            &stage.findings,
            top,
            outcome.reports,
            decode,
        );
        summary.cancelled = outcome.cancelled;
        let unanswered = ecs_files
            .as_ref()
            .and_then(|f| f.lock().ok().map(|f| f.unanswered_use()))
            .unwrap_or_default();
        summary.memory = MemoryReport {
            limit: memory_limit as u64,
            engines_peak: engines_peak as u64,
            analyzers_peak: stage.memory_peak as u64,
            tables_peak: stage.tables_peak as u64,
            dns_unanswered_peak: unanswered.peak as u64,
            dns_unanswered_untracked: unanswered.untracked,
            process_peak_rss: MemoryReport::read_process_peak_rss(),
        };
        let findings: Vec<Finding> = stage.findings.sorted().into_iter().cloned().collect();
        if let (Some(files), Some(Logs::EcsDir(dir))) = (ecs_files, &logs) {
            write_ecs_findings_and_summary(&files, dir, &findings, &summary)?;
        }
        if let Some(e) = sink_error {
            return Err(AnalysisError::Logs(e));
        }
        Ok((summary, findings))
    }
}

/// Directories become the capture files below them.
fn expand_inputs(inputs: Vec<Input>) -> Result<Vec<Input>, AnalysisError> {
    if inputs.is_empty() {
        return Err(AnalysisError::NoInput(String::new()));
    }
    let mut out = Vec::new();
    for input in inputs {
        match input {
            Input::Path(p) if p.is_dir() => {
                let found = expand_paths(std::slice::from_ref(&p));
                if found.is_empty() {
                    return Err(AnalysisError::NoInput(format!(
                        ": no capture files in {}",
                        p.display()
                    )));
                }
                out.extend(found.into_iter().map(Input::Path));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn write_ecs_findings_and_summary(
    files: &Arc<Mutex<logs::LogFiles>>,
    dir: &std::path::Path,
    findings: &[Finding],
    summary: &Summary,
) -> Result<(), AnalysisError> {
    {
        let mut buffers = logs::LogBuffers::new(Arc::clone(files));
        for f in findings {
            buffers.finding(f);
        }
        buffers.flush();
    }
    let finished = files
        .lock()
        .map_err(|_| AnalysisError::Logs("log files poisoned by a failed thread".into()))?
        .finish();
    finished.map_err(AnalysisError::Logs)?;
    let path = dir.join("summary.json");
    serde_json::to_vec_pretty(summary)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&path, bytes))
        .map_err(|e| AnalysisError::Logs(format!("writing {}: {e}", path.display())))
}

impl Summary {
    /// Whether an input could not be read at all.
    pub fn input_failed(&self) -> bool {
        self.inputs.iter().any(|i| i.error.is_some())
    }

    /// The most severe finding's severity, if any.
    pub fn max_severity(&self) -> Option<netsec_model::Severity> {
        netsec_model::Severity::ALL.into_iter().rev().find(|s| {
            self.findings
                .by_severity
                .get(s.name())
                .copied()
                .unwrap_or(0)
                > 0
        })
    }
}
