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
const BATCH_PACKETS: usize = 256;
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
    /// `(i, n)`: analyse only packets whose address-pair hash is `i` mod `n`
    /// (a thread reading files next to others; see [`Pipeline::shard_of_files`]).
    shard: Option<(u64, u64)>,
}

impl Pipeline {
    /// Build the pipeline; `make_analyzers` is called once per worker.
    pub fn new(opts: PipelineOptions, make_analyzers: &dyn Fn() -> Vec<Box<dyn Analyzer>>) -> Self {
        if opts.threads <= 1 {
            Pipeline::Single(Box::new(SingleThread {
                engine: Engine::new(opts.engine),
                sink: AnalysisSink::new(opts.logs, make_analyzers()),
                filter: opts.filter,
                shard: None,
            }))
        } else {
            Pipeline::Sharded(Sharded::start(opts, make_analyzers))
        }
    }

    /// One of `of` threads that each read the same capture files and keep
    /// the flows of share `index` of the address-pair hash (both directions
    /// of a flow, and its fragments, hash alike). Reading is paid once per
    /// thread, but every thread decodes bytes its own core has just read;
    /// handing packets from one reading thread to workers made each packet
    /// a cache miss on the worker's core, and two threads were no faster
    /// than one (docs/PERFORMANCE.md). Results are identical to one thread.
    pub fn shard_of_files(
        opts: &PipelineOptions,
        index: usize,
        of: usize,
        analyzers: Vec<Box<dyn Analyzer>>,
    ) -> Pipeline {
        Pipeline::Single(Box::new(SingleThread {
            engine: Engine::new(opts.engine.share_of(of)),
            sink: AnalysisSink::new(opts.logs.clone(), analyzers),
            filter: opts.filter.clone(),
            shard: Some((index as u64, of.max(1) as u64)),
        }))
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
        if matches!(self, Pipeline::Sharded(_)) {
            // The reading thread bounds a sharded run: hand the kernel's
            // copy of the input to a helper of its own.
            reader.read_ahead();
        }
        let mut consumed: u64 = 0;
        let mut last_number = 0;
        loop {
            // For the sharded pipeline: the packet's details and its shard,
            // to hand on with the chunk of input it sits in once `raw`
            // no longer borrows the reader.
            let shared = match reader.next_packet() {
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
                        Pipeline::Single(s) => {
                            s.process(&raw);
                            None
                        }
                        Pipeline::Sharded(s) => Some((s.shard_of(&raw), BatchEntry::of(&raw))),
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    // A truncated or corrupt file keeps the packets read so far.
                    report.warnings.push(e.to_string());
                    break;
                }
            };
            if let (Some((shard, entry)), Pipeline::Sharded(s)) = (shared, &mut *self) {
                let (chunk, range) = reader.last_packet_chunk();
                s.dispatch_shared(shard, entry, chunk, range);
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
        if let Some((index, of)) = self.shard {
            if netsec_proto::shard_hash(raw) % of != index {
                // Another thread's packet; its time is everyone's.
                self.engine.advance_to(raw.ts, &mut self.sink);
                return;
            }
        }
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

/// A batch of packets for a worker: entries pointing into chunks of input
/// the reader shares (no copy), or into bytes copied into the batch (live
/// capture, whose buffer is not shared).
struct Batch {
    chunks: Vec<Arc<Vec<u8>>>,
    copied: Vec<u8>,
    packets: Vec<BatchEntry>,
    /// Capture time when the batch was sent: the latest time of any packet
    /// read so far, this worker's or another's.
    clock_after: Timestamp,
}

/// Where one packet's bytes are in a [`Batch`].
#[derive(Clone, Copy)]
enum Bytes {
    /// `chunks[chunk][start..end]`.
    Shared {
        chunk: usize,
        start: usize,
        end: usize,
    },
    /// `copied[start..end]`.
    Copied { start: usize, end: usize },
}

#[derive(Clone, Copy)]
struct BatchEntry {
    number: u64,
    /// The latest capture time read before this packet, of any worker's
    /// packet: the worker's engine catches up to it first, so flows time
    /// out as they would with one engine seeing every packet.
    clock_before: Timestamp,
    ts: Timestamp,
    link_type: LinkType,
    interface: u32,
    orig_len: u32,
    bytes: Bytes,
}

impl BatchEntry {
    /// A packet's details; its bytes are placed by the batch.
    fn of(raw: &RawPacket<'_>) -> Self {
        BatchEntry {
            number: raw.number,
            clock_before: Timestamp::ZERO,
            ts: raw.ts,
            link_type: raw.link_type,
            interface: raw.interface,
            orig_len: raw.orig_len,
            bytes: Bytes::Copied { start: 0, end: 0 },
        }
    }
}

impl Batch {
    fn new() -> Self {
        Batch {
            chunks: Vec::new(),
            copied: Vec::new(),
            packets: Vec::with_capacity(BATCH_PACKETS),
            clock_after: Timestamp::ZERO,
        }
    }

    /// Add a packet whose bytes are `range` of the shared `chunk`.
    fn push_shared(
        &mut self,
        mut entry: BatchEntry,
        chunk: &Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
    ) {
        if !self.chunks.last().is_some_and(|c| Arc::ptr_eq(c, chunk)) {
            self.chunks.push(Arc::clone(chunk));
        }
        entry.bytes = Bytes::Shared {
            chunk: self.chunks.len() - 1,
            start: range.start,
            end: range.end,
        };
        self.packets.push(entry);
    }

    /// Add a packet by copying its bytes.
    fn push_copy(&mut self, raw: &RawPacket<'_>, clock_before: Timestamp) {
        let start = self.copied.len();
        self.copied.extend_from_slice(raw.data);
        let mut entry = BatchEntry::of(raw);
        entry.clock_before = clock_before;
        entry.bytes = Bytes::Copied {
            start,
            end: self.copied.len(),
        };
        self.packets.push(entry);
    }

    fn bytes(&self, e: &BatchEntry) -> &[u8] {
        let found = match e.bytes {
            Bytes::Shared { chunk, start, end } => {
                self.chunks.get(chunk).and_then(|c| c.get(start..end))
            }
            Bytes::Copied { start, end } => self.copied.get(start..end),
        };
        found.unwrap_or_default()
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.copied.clear();
        self.packets.clear();
    }
}

struct Worker {
    to_worker: SyncSender<Batch>,
    recycled: Receiver<Batch>,
    current: Batch,
    handle: thread::JoinHandle<WorkerOutput>,
}

impl Worker {
    fn send_if_full(&mut self, clock: Timestamp) {
        if self.current.packets.len() >= BATCH_PACKETS {
            self.current.clock_after = clock;
            let fresh = self.recycled.try_recv().unwrap_or_else(|_| Batch::new());
            let full = std::mem::replace(&mut self.current, fresh);
            // A worker only hangs up if it panicked; its packets are then lost
            // and the join in `finish` reports it.
            let _ = self.to_worker.send(full);
        }
    }
}

/// Workers, each with its own engine, fed by the reading thread.
pub struct Sharded {
    workers: Vec<Worker>,
    /// The latest capture time read.
    clock: Timestamp,
}

impl Sharded {
    fn start(opts: PipelineOptions, make_analyzers: &dyn Fn() -> Vec<Box<dyn Analyzer>>) -> Self {
        // The reading thread is one of the N: reading and record parsing
        // take a core of their own (about half the work on a warm page
        // cache), so N threads are the reader and N - 1 workers.
        let worker_count = opts.threads.saturating_sub(1).max(1);
        let workers = (0..worker_count)
            .map(|_| {
                let (to_worker, from_reader) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
                let (recycle_tx, recycled) = sync_channel::<Batch>(BATCHES_IN_FLIGHT + 1);
                let engine_config = opts.engine.share_of(worker_count);
                let filter = opts.filter.clone();
                let logs = opts.logs.clone();
                let analyzers = make_analyzers();
                let handle = thread::spawn(move || {
                    let mut single = SingleThread {
                        engine: Engine::new(engine_config),
                        sink: AnalysisSink::new(logs, analyzers),
                        filter,
                        shard: None,
                    };
                    for mut batch in from_reader {
                        for e in &batch.packets {
                            single.engine.advance_to(e.clock_before, &mut single.sink);
                            let raw = RawPacket {
                                number: e.number,
                                ts: e.ts,
                                link_type: e.link_type,
                                interface: e.interface,
                                orig_len: e.orig_len,
                                data: batch.bytes(e),
                            };
                            single.process(&raw);
                        }
                        single
                            .engine
                            .advance_to(batch.clock_after, &mut single.sink);
                        // Let go of the chunks: the reader reuses them.
                        batch.clear();
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
        Sharded {
            workers,
            clock: Timestamp::ZERO,
        }
    }

    /// The worker for `raw`: both directions of a flow, and its fragments,
    /// go to the same one.
    fn shard_of(&self, raw: &RawPacket<'_>) -> usize {
        let n = self.workers.len() as u64;
        if n <= 1 {
            // One worker (two threads): nothing to choose, and hashing
            // would put the packet's headers in the reader's cache for nothing.
            return 0;
        }
        (netsec_proto::shard_hash(raw) % n) as usize
    }

    /// Hand a packet of a live capture to its worker, copying its bytes.
    fn dispatch(&mut self, raw: &RawPacket<'_>) {
        let shard = self.shard_of(raw);
        let before = self.clock;
        self.clock = self.clock.max(raw.ts);
        if let Some(w) = self.workers.get_mut(shard) {
            w.current.push_copy(raw, before);
            w.send_if_full(self.clock);
        }
    }

    /// Hand a packet read from a file to worker `shard`: its bytes stay in
    /// the reader's shared chunk.
    fn dispatch_shared(
        &mut self,
        shard: usize,
        entry: BatchEntry,
        chunk: &Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
    ) {
        let mut entry = entry;
        entry.clock_before = self.clock;
        self.clock = self.clock.max(entry.ts);
        if let Some(w) = self.workers.get_mut(shard) {
            w.current.push_shared(entry, chunk, range);
            w.send_if_full(self.clock);
        }
    }

    fn finish(self) -> WorkerOutput {
        let mut merged: Option<WorkerOutput> = None;
        let mut handles = Vec::new();
        for mut w in self.workers {
            // Every worker, even with no packets left, catches up with the
            // end of the capture.
            w.current.clock_after = self.clock;
            let _ = w.to_worker.send(w.current);
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

impl WorkerOutput {
    /// Nothing analysed.
    pub fn empty() -> Self {
        WorkerOutput {
            summary: SummaryBuilder::default(),
            decode_counters: Vec::new(),
            decode_errors: Vec::new(),
        }
    }
}

/// Fold one worker's outputs into another's.
pub fn merge_outputs(mut m: WorkerOutput, out: WorkerOutput) -> WorkerOutput {
    m.summary.merge(out.summary);
    m.decode_counters = add_counts(m.decode_counters, out.decode_counters);
    m.decode_errors = add_counts(m.decode_errors, out.decode_errors);
    m
}
