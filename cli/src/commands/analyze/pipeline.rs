//! Wiring: capture reader → (optional filter) → protocol engine → summary,
//! logs and analysers; on one thread, or sharded over worker threads by a
//! symmetric flow hash so both directions of a flow (and its IP fragments)
//! meet on the same worker.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use netsec_capture::{CaptureReader, Filter};
use netsec_model::{
    Analyzer, AppEvent, ArpInfo, Finding, FindingSink, FlowRecord, LinkType, PacketInfo, RawPacket,
    Timestamp,
};
use netsec_proto::{Engine, EngineConfig, EngineSink};

use super::logs::{LogBuffers, LogFiles};
use super::summary::{InputReport, SummaryBuilder};

/// Packets per batch handed to a worker.
const BATCH_PACKETS: usize = 1024;
/// Batches in flight per worker (bounded channel: memory stays flat).
const BATCHES_IN_FLIGHT: usize = 4;

/// What one pipeline (one worker) produced.
pub struct WorkerOutput {
    /// Counts for the summary.
    pub summary: SummaryBuilder,
    /// Decoder counters, by name.
    pub decode_counters: Vec<(String, u64)>,
    /// Decode errors, by reason.
    pub decode_errors: Vec<(String, u64)>,
}

/// The receiving end of the engine: counts, logs, runs analysers.
struct AnalysisSink {
    summary: SummaryBuilder,
    logs: Option<LogBuffers>,
    analyzers: Vec<Box<dyn Analyzer>>,
    findings: Vec<Finding>,
}

impl AnalysisSink {
    fn new(logs: Option<Arc<Mutex<LogFiles>>>, analyzers: Vec<Box<dyn Analyzer>>) -> Self {
        AnalysisSink {
            summary: SummaryBuilder::default(),
            logs: logs.map(LogBuffers::new),
            analyzers,
            findings: Vec::new(),
        }
    }

    /// Record findings the analysers pushed into `self.findings`.
    fn drain_findings(&mut self) {
        for f in self.findings.drain(..) {
            self.summary.finding(&f);
            if let Some(l) = &mut self.logs {
                l.finding(&f);
            }
        }
    }

    fn finish(mut self) -> SummaryBuilder {
        for a in &mut self.analyzers {
            a.finish(&mut self.findings as &mut dyn FindingSink);
        }
        self.drain_findings();
        if let Some(l) = &mut self.logs {
            l.flush();
        }
        self.summary
    }
}

impl EngineSink for AnalysisSink {
    fn packet(&mut self, packet: &PacketInfo) {
        self.summary.packet(packet);
        if !self.analyzers.is_empty() {
            for a in &mut self.analyzers {
                a.on_packet(packet, &mut self.findings);
            }
            self.drain_findings();
        }
    }

    fn arp(&mut self, arp: &ArpInfo) {
        if let Some(l) = &mut self.logs {
            l.arp(arp);
        }
        for a in &mut self.analyzers {
            a.on_arp(arp, &mut self.findings);
        }
        self.drain_findings();
    }

    fn event(&mut self, event: AppEvent) {
        self.summary.event(&event);
        if let Some(l) = &mut self.logs {
            l.event(&event);
        }
        for a in &mut self.analyzers {
            a.on_event(&event, &mut self.findings);
        }
        self.drain_findings();
    }

    fn flow_end(&mut self, flow: FlowRecord) {
        self.summary.flow(&flow);
        if let Some(l) = &mut self.logs {
            l.flow(&flow);
        }
        for a in &mut self.analyzers {
            a.on_flow_end(&flow, &mut self.findings);
        }
        self.drain_findings();
    }

    fn tick(&mut self, now: Timestamp) {
        for a in &mut self.analyzers {
            a.on_tick(now, &mut self.findings);
        }
        self.drain_findings();
    }
}

/// Options shared by the single- and multi-threaded pipelines.
pub struct PipelineOptions {
    /// Protocol engine settings.
    pub engine: EngineConfig,
    /// Packet filter, applied before the engine sees a packet.
    pub filter: Option<Filter>,
    /// Where logs go, if anywhere.
    pub logs: Option<Arc<Mutex<LogFiles>>>,
    /// Worker threads (1 = everything on the calling thread).
    pub threads: usize,
}

/// Packets are numbered across all inputs of a merged run, so flow ids
/// (the number of a flow's first packet) stay unique.
pub struct PacketNumbering {
    offset: u64,
}

impl PacketNumbering {
    /// Start at packet 1.
    pub fn new() -> Self {
        PacketNumbering { offset: 0 }
    }
}

/// Feeds packets to an engine on this thread, or to sharded workers.
pub enum Pipeline {
    /// One engine on the calling thread.
    Single(Box<SingleThread>),
    /// Engines on worker threads.
    Sharded(Sharded),
}

/// One engine and its sink.
pub struct SingleThread {
    engine: Engine,
    sink: AnalysisSink,
    filter: Option<Filter>,
}

impl Pipeline {
    /// Build the pipeline; `make_analyzers` is called once per worker.
    pub fn new(opts: PipelineOptions, make_analyzers: &dyn Fn() -> Vec<Box<dyn Analyzer>>) -> Self {
        if opts.threads <= 1 {
            Pipeline::Single(Box::new(SingleThread {
                engine: Engine::new(opts.engine),
                sink: AnalysisSink::new(opts.logs, make_analyzers()),
                filter: opts.filter,
            }))
        } else {
            Pipeline::Sharded(Sharded::start(opts, make_analyzers))
        }
    }

    /// Read every packet of `reader` into the pipeline. `progress` is called
    /// with bytes consumed every few thousand packets.
    pub fn read(
        &mut self,
        reader: &mut CaptureReader,
        numbering: &mut PacketNumbering,
        report: &mut InputReport,
        progress: &mut dyn FnMut(u64),
    ) {
        let mut consumed: u64 = 0;
        let mut last_number = 0;
        loop {
            match reader.next_packet() {
                Ok(Some(raw)) => {
                    let mut raw: RawPacket<'_> = raw;
                    last_number = raw.number;
                    raw.number += numbering.offset;
                    consumed += raw.data.len() as u64 + 16;
                    if raw.number % 4096 == 0 {
                        progress(consumed);
                        consumed = 0;
                    }
                    match self {
                        Pipeline::Single(s) => s.process(&raw),
                        Pipeline::Sharded(s) => s.dispatch(&raw),
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // A truncated or corrupt file keeps the packets read so far.
                    report.warnings.push(e.to_string());
                    break;
                }
            }
        }
        progress(consumed);
        numbering.offset += last_number;
        report.packets = last_number;
    }

    /// Capture live until `deadline` (wall clock) or `count` packets, or
    /// until the interface fails.
    pub fn read_live(
        &mut self,
        live: &mut netsec_capture::LiveCapture,
        deadline: Option<std::time::Instant>,
        count: Option<u64>,
        report: &mut InputReport,
    ) {
        loop {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                break;
            }
            if count.is_some_and(|c| report.packets >= c) {
                break;
            }
            match live.next_packet() {
                Ok(Some(raw)) => {
                    report.packets += 1;
                    match self {
                        Pipeline::Single(s) => s.process(&raw),
                        Pipeline::Sharded(s) => s.dispatch(&raw),
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    report.warnings.push(e.to_string());
                    break;
                }
            }
        }
    }

    /// Flush all flows and analysers; the merged outputs.
    pub fn finish(self) -> WorkerOutput {
        match self {
            Pipeline::Single(s) => s.finish(),
            Pipeline::Sharded(s) => s.finish(),
        }
    }
}

impl SingleThread {
    fn process(&mut self, raw: &RawPacket<'_>) {
        if let Some(filter) = &self.filter {
            match netsec_proto::decode(raw) {
                Ok(decoded) if filter.matches(&decoded.info) => {}
                _ => return,
            }
        }
        self.sink
            .summary
            .frame(raw.ts, raw.orig_len.max(raw.data.len() as u32));
        self.engine.process(raw, &mut self.sink);
    }

    fn finish(mut self) -> WorkerOutput {
        self.engine.finish(&mut self.sink);
        let stats = self.engine.stats();
        let (decode_errors, decode_counters) = (stats.error_counts(), stats.counters());
        WorkerOutput {
            summary: self.sink.finish(),
            decode_counters,
            decode_errors,
        }
    }
}

/// A batch of packets copied out of the reader's buffer for a worker.
struct Batch {
    data: Vec<u8>,
    packets: Vec<BatchEntry>,
}

struct BatchEntry {
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    interface: u32,
    orig_len: u32,
    start: usize,
    end: usize,
}

impl Batch {
    fn new() -> Self {
        Batch {
            data: Vec::with_capacity(BATCH_PACKETS * 256),
            packets: Vec::with_capacity(BATCH_PACKETS),
        }
    }
    fn push(&mut self, raw: &RawPacket<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(raw.data);
        self.packets.push(BatchEntry {
            number: raw.number,
            ts: raw.ts,
            link_type: raw.link_type,
            interface: raw.interface,
            orig_len: raw.orig_len,
            start,
            end: self.data.len(),
        });
    }
}

struct Worker {
    to_worker: SyncSender<Batch>,
    recycled: Receiver<Batch>,
    current: Batch,
    handle: thread::JoinHandle<WorkerOutput>,
}

/// Workers, each with its own engine, fed by the reading thread.
pub struct Sharded {
    workers: Vec<Worker>,
}

impl Sharded {
    fn start(opts: PipelineOptions, make_analyzers: &dyn Fn() -> Vec<Box<dyn Analyzer>>) -> Self {
        let workers = (0..opts.threads)
            .map(|_| {
                let (to_worker, from_reader) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
                let (recycle_tx, recycled) = sync_channel::<Batch>(BATCHES_IN_FLIGHT + 1);
                let engine_config = opts.engine.clone();
                let filter = opts.filter.clone();
                let logs = opts.logs.clone();
                let analyzers = make_analyzers();
                let handle = thread::spawn(move || {
                    let mut single = SingleThread {
                        engine: Engine::new(engine_config),
                        sink: AnalysisSink::new(logs, analyzers),
                        filter,
                    };
                    for mut batch in from_reader {
                        for e in &batch.packets {
                            let raw = RawPacket {
                                number: e.number,
                                ts: e.ts,
                                link_type: e.link_type,
                                interface: e.interface,
                                orig_len: e.orig_len,
                                data: batch.data.get(e.start..e.end).unwrap_or(&[]),
                            };
                            single.process(&raw);
                        }
                        batch.data.clear();
                        batch.packets.clear();
                        // The reader may have stopped listening; then the batch is dropped.
                        let _ = recycle_tx.try_send(batch);
                    }
                    single.finish()
                });
                Worker {
                    to_worker,
                    recycled,
                    current: Batch::new(),
                    handle,
                }
            })
            .collect();
        Sharded { workers }
    }

    fn dispatch(&mut self, raw: &RawPacket<'_>) {
        let n = self.workers.len() as u64;
        let idx = (netsec_proto::shard_hash(raw) % n) as usize;
        let Some(w) = self.workers.get_mut(idx) else {
            return;
        };
        w.current.push(raw);
        if w.current.packets.len() >= BATCH_PACKETS {
            let fresh = w.recycled.try_recv().unwrap_or_else(|_| Batch::new());
            let full = std::mem::replace(&mut w.current, fresh);
            // A worker only hangs up if it panicked; its packets are then lost
            // and the join below reports it.
            let _ = w.to_worker.send(full);
        }
    }

    fn finish(self) -> WorkerOutput {
        let mut merged: Option<WorkerOutput> = None;
        let mut handles = Vec::new();
        for w in self.workers {
            if !w.current.packets.is_empty() {
                let _ = w.to_worker.send(w.current);
            }
            drop(w.to_worker);
            handles.push(w.handle);
        }
        for h in handles {
            let Ok(out) = h.join() else {
                eprintln!("netsec: a worker thread failed; its share of the results is missing");
                continue;
            };
            merged = Some(match merged {
                None => out,
                Some(m) => merge_outputs(m, out),
            });
        }
        merged.unwrap_or_else(WorkerOutput::empty)
    }
}

fn add_counts(a: Vec<(String, u64)>, b: Vec<(String, u64)>) -> Vec<(String, u64)> {
    let mut m: std::collections::BTreeMap<String, u64> = a.into_iter().collect();
    for (k, v) in b {
        *m.entry(k).or_default() += v;
    }
    m.into_iter().collect()
}

/// Whether every worker can read `inputs` itself: regular, uncompressed
/// capture files (standard input can be read once only, and decompressing
/// the same stream on every worker would waste the cores it should use).
pub fn can_read_replicated(inputs: &[std::path::PathBuf]) -> bool {
    !inputs.is_empty()
        && inputs.iter().all(|p| {
            p.as_os_str() != "-"
                && std::fs::metadata(p).is_ok_and(|m| m.is_file())
                && CaptureReader::open(p)
                    .is_ok_and(|r| r.stats().compression == Some(netsec_capture::Compression::None))
        })
}

/// What reading the inputs produced: the merged outputs and one report per
/// input (from worker 0; every worker reads the same bytes).
pub struct ReplicatedRun {
    /// Merged worker outputs.
    pub output: WorkerOutput,
    /// One report per input, in order.
    pub reports: Vec<InputReport>,
    /// An input could not be opened.
    pub input_error: bool,
}

/// Analyse `inputs` on `opts.threads` workers that each read every file
/// (from the page cache after the first) and keep only the packets of their
/// shard of the symmetric address-pair hash. Nothing is copied or handed
/// between threads, so throughput grows with cores; each worker sees its
/// packets in file order, so results are identical to one thread.
pub fn read_replicated(
    opts: PipelineOptions,
    make_analyzers: &dyn Fn() -> Vec<Box<dyn Analyzer>>,
    inputs: &[std::path::PathBuf],
    progress: &(dyn Fn(u64) + Sync),
) -> ReplicatedRun {
    let shards = opts.threads.max(1) as u64;
    let per_worker: Vec<SingleThread> = (0..shards)
        .map(|_| SingleThread {
            engine: Engine::new(opts.engine.clone()),
            sink: AnalysisSink::new(opts.logs.clone(), make_analyzers()),
            filter: opts.filter.clone(),
        })
        .collect();
    let results: Vec<Option<(WorkerOutput, Vec<InputReport>, bool)>> = thread::scope(|scope| {
        let handles: Vec<_> = per_worker
            .into_iter()
            .enumerate()
            .map(|(index, mut single)| {
                scope.spawn(move || {
                    let first = index == 0;
                    let (reports, input_error) =
                        single.read_shard(inputs, index as u64, shards, first.then_some(progress));
                    (single.finish(), reports, input_error)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut merged: Option<WorkerOutput> = None;
    let mut reports = Vec::new();
    let mut input_error = false;
    for (index, result) in results.into_iter().enumerate() {
        let Some((out, worker_reports, worker_error)) = result else {
            eprintln!("netsec: a worker thread failed; its share of the results is missing");
            continue;
        };
        if index == 0 {
            reports = worker_reports;
            input_error = worker_error;
        }
        merged = Some(match merged {
            None => out,
            Some(m) => merge_outputs(m, out),
        });
    }
    ReplicatedRun {
        output: merged.unwrap_or_else(WorkerOutput::empty),
        reports,
        input_error,
    }
}

impl SingleThread {
    /// Read every input, processing the packets of shard `shard` of
    /// `shards`. The worker with `progress` also reports and warns.
    fn read_shard(
        &mut self,
        inputs: &[std::path::PathBuf],
        shard: u64,
        shards: u64,
        progress: Option<&(dyn Fn(u64) + Sync)>,
    ) -> (Vec<InputReport>, bool) {
        let reporting = progress.is_some();
        let mut offset = 0u64;
        let mut reports = Vec::new();
        let mut input_error = false;
        for path in inputs {
            let mut report = InputReport::named(path.display().to_string());
            match CaptureReader::open(path) {
                Ok(mut reader) => {
                    let mut consumed = 0u64;
                    let mut last_number = 0;
                    loop {
                        match reader.next_packet() {
                            Ok(Some(mut raw)) => {
                                last_number = raw.number;
                                if let Some(progress) = progress {
                                    consumed += raw.data.len() as u64 + 16;
                                    if raw.number % 4096 == 0 {
                                        progress(consumed);
                                        consumed = 0;
                                    }
                                }
                                if netsec_proto::shard_hash(&raw) % shards != shard {
                                    continue;
                                }
                                raw.number += offset;
                                self.process(&raw);
                            }
                            Ok(None) => break,
                            Err(e) => {
                                report.warnings.push(e.to_string());
                                break;
                            }
                        }
                    }
                    if let Some(progress) = progress {
                        progress(consumed);
                    }
                    offset += last_number;
                    report.packets = last_number;
                    report.format = reader.format().to_string();
                    report.warnings.extend(reader.stats().warnings());
                }
                Err(e) => {
                    if reporting {
                        eprintln!("netsec: {e}");
                    }
                    report.error = Some(e.to_string());
                    input_error = true;
                }
            }
            if reporting {
                for w in &report.warnings {
                    eprintln!("netsec: warning: {w}");
                }
            }
            reports.push(report);
        }
        (reports, input_error)
    }
}

impl WorkerOutput {
    fn empty() -> Self {
        WorkerOutput {
            summary: SummaryBuilder::default(),
            decode_counters: Vec::new(),
            decode_errors: Vec::new(),
        }
    }
}

/// Fold one worker's outputs into another's.
fn merge_outputs(mut m: WorkerOutput, out: WorkerOutput) -> WorkerOutput {
    m.summary.merge(out.summary);
    m.decode_counters = add_counts(m.decode_counters, out.decode_counters);
    m.decode_errors = add_counts(m.decode_errors, out.decode_errors);
    m
}
