//! How packets reach shards, in three shapes, all giving the same ordered
//! stream to the detection stage:
//!
//! - **one thread**: one shard, the detection stage called inline;
//! - **files, N threads**: every thread reads the files itself and analyses
//!   its share of the flows by a symmetric flow hash
//!   ([`netsec_proto::shard_class`]: both directions of a flow hash alike;
//!   fragments go to every thread, and the datagram's flow decides); the calling
//!   thread merges their records into the detection stage. Reading is paid
//!   once per thread, but every thread decodes bytes its own core has just
//!   read; handing packets from one reader to workers made each packet a
//!   cache miss on the worker's core (docs/PERFORMANCE.md);
//! - **a stream or an interface, N threads**: it can be read once, so one
//!   thread reads and hands packets to N - 1 workers in batches (pointing
//!   into the reader's shared chunks, no copy, for captures; copied for live
//!   capture), with tick markers so every worker's flows time out on the
//!   packet where one engine's would; a detection thread merges.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;

use netsec_capture::{CaptureReader, Filter, LiveCapture};
use netsec_model::{Analyzer, Interests, LinkType, RawPacket, Timestamp};
use netsec_proto::{EngineConfig, ShardClass, Share, TickSchedule};

use crate::detection::{merge_into, DetectionStage};
use crate::error::AnalysisError;
use crate::input::Input;
use crate::logs::RecordSinkFactory;
use crate::progress::{CancelToken, ProgressCallback, ProgressReporter, CHECK_EVERY_PACKETS};
use crate::record::{Keyed, RecordBatch};
use crate::shard::{Outlet, Ownership, Shard, ShardOutput, ShardSink};
use crate::summary::InputReport;

/// Makes the per-shard analysers of one shard.
pub type AnalyzerFactory = Arc<dyn Fn() -> Vec<Box<dyn Analyzer>> + Send + Sync>;

/// Makes the byte-level inspectors (the signature engine) of one shard.
pub type InspectorFactory = Arc<dyn Fn() -> Vec<Box<dyn netsec_model::Inspector>> + Send + Sync>;

/// Completes an application event in place before it is logged or analysed.
pub type EventEnricher = Arc<dyn Fn(&mut netsec_model::AppEvent) + Send + Sync>;

/// Packets per batch handed to a worker.
const BATCH_PACKETS: usize = 256;
/// Batches in flight per worker (bounded channel: memory stays flat).
const BATCHES_IN_FLIGHT: usize = 4;
/// Record batches in flight from each shard to the detection stage.
const RECORD_BATCHES_IN_FLIGHT: usize = 8;
/// Bytes a pcap record header adds to a packet, for progress.
const RECORD_HEADER_BYTES: u64 = 16;

/// Everything a run's threads need to know.
#[derive(Clone)]
pub(crate) struct Plan {
    pub engine: EngineConfig,
    pub filter: Option<Filter>,
    pub threads: usize,
    pub logs: Option<RecordSinkFactory>,
    pub shard_analyzers: Option<AnalyzerFactory>,
    pub inspectors: Option<InspectorFactory>,
    /// Memory budget of each shard's inspectors.
    pub inspector_memory: usize,
    pub enricher: Option<EventEnricher>,
    pub interests: Interests,
    pub progress: Option<ProgressCallback>,
    pub cancel: CancelToken,
    pub bytes_total: u64,
}

impl Plan {
    fn sink(&self, speaker: bool, outlet: Outlet) -> ShardSink {
        ShardSink::new(
            self.logs.as_ref().map(|make| make()),
            self.shard_analyzers
                .as_ref()
                .map(|make| make())
                .unwrap_or_default(),
            self.inspectors
                .as_ref()
                .map(|make| {
                    let mut made = make();
                    let each = self.inspector_memory / made.len().max(1);
                    for inspector in &mut made {
                        inspector.set_memory_budget(each);
                    }
                    made
                })
                .unwrap_or_default(),
            self.enricher.clone(),
            self.interests,
            speaker,
            outlet,
        )
    }
}

/// What the threads of a run leave.
pub(crate) struct Outcome {
    pub shards: Vec<ShardOutput>,
    pub reports: Vec<InputReport>,
    pub stage: Option<Box<DetectionStage>>,
    pub failure: Option<AnalysisError>,
    pub cancelled: bool,
}

/// A channel pair from a shard to the detection stage and back.
fn record_channel() -> (Outlet, (Receiver<RecordBatch>, SyncSender<Vec<Keyed>>)) {
    let (to_stage, from_shard) = sync_channel::<RecordBatch>(RECORD_BATCHES_IN_FLIGHT);
    let (recycle, recycled) = sync_channel::<Vec<Keyed>>(RECORD_BATCHES_IN_FLIGHT + 1);
    (
        Outlet::Channel { to_stage, recycled },
        (from_shard, recycle),
    )
}

/// Read one capture into a shard, packet numbers continuing from `offset`.
/// Whether the run was cancelled.
fn read_capture(
    shard: &mut Shard,
    reader: &mut CaptureReader,
    offset: &mut u64,
    report: &mut InputReport,
    progress: &mut ProgressReporter,
    cancel: &CancelToken,
) -> bool {
    let mut last = 0;
    let mut cancelled = false;
    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => {
                let mut raw: RawPacket<'_> = raw;
                last = raw.number;
                raw.number += *offset;
                progress.packet(raw.data.len() as u64 + RECORD_HEADER_BYTES);
                shard.process(&raw);
                if last % CHECK_EVERY_PACKETS == 0 && cancel.is_cancelled() {
                    cancelled = true;
                    break;
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
    *offset += last;
    report.packets = last;
    report.format = reader.format().to_string();
    report.warnings.extend(reader.stats().warnings());
    cancelled
}

/// Open an input that holds a capture.
fn open(
    input: Input,
) -> (
    InputReport,
    Result<CaptureReader, netsec_capture::CaptureError>,
) {
    match input {
        Input::Path(p) => {
            let report = InputReport::named(p.display().to_string());
            (report, CaptureReader::open(&p))
        }
        Input::Reader { name, reader } => {
            let report = InputReport::named(name.clone());
            (report, CaptureReader::from_reader(reader, &name))
        }
        Input::Interface { name, .. } => {
            let report = InputReport::named(name);
            (
                report,
                Err(netsec_capture::CaptureError::NotACapture {
                    file: "interface".into(),
                    reason: "an interface is captured live, not read".into(),
                }),
            )
        }
    }
}

/// Everything on the calling thread: one shard, the detection stage inline.
pub(crate) fn run_inline(plan: &Plan, inputs: Vec<Input>, stage: Box<DetectionStage>) -> Outcome {
    let sink = plan.sink(true, Outlet::Inline(stage));
    let mut shard = Shard::new(
        plan.engine.clone(),
        plan.filter.clone(),
        Ownership::All,
        sink,
    );
    let mut progress = ProgressReporter::new(plan.progress.clone(), plan.bytes_total);
    let mut reports = Vec::new();
    let mut offset = 0;
    let mut cancelled = false;
    let mut failure = None;
    for input in inputs {
        if cancelled {
            break;
        }
        let input = match input {
            Input::Interface { .. } => {
                let mut read = |raw: &RawPacket<'_>| shard.process(raw);
                let live = capture_live(input, &mut offset, &plan.cancel, &mut read);
                cancelled = live.cancelled;
                failure = live.failure.or(failure);
                reports.push(live.report);
                progress.input_done();
                continue;
            }
            other => other,
        };
        let (mut report, opened) = open(input);
        match opened {
            Ok(mut reader) => {
                cancelled = read_capture(
                    &mut shard,
                    &mut reader,
                    &mut offset,
                    &mut report,
                    &mut progress,
                    &plan.cancel,
                );
            }
            Err(e) => report.error = Some(e.to_string()),
        }
        reports.push(report);
        progress.input_done();
    }
    let mut output = shard.finish(None);
    let stage = output.stage.take();
    Outcome {
        shards: vec![output],
        reports,
        stage,
        failure,
        cancelled,
    }
}

/// What capturing one interface gave.
struct LiveOutcome {
    report: InputReport,
    cancelled: bool,
    failure: Option<AnalysisError>,
}

/// Capture the live interface `input` into `process` until its duration or
/// count, cancellation, or an error of the interface.
fn capture_live(
    input: Input,
    offset: &mut u64,
    cancel: &CancelToken,
    process: &mut dyn FnMut(&RawPacket<'_>),
) -> LiveOutcome {
    let Input::Interface {
        name,
        duration,
        count,
        options,
    } = input
    else {
        return LiveOutcome {
            report: InputReport::named(String::new()),
            cancelled: false,
            failure: None,
        };
    };
    let mut report = InputReport::named(name.clone());
    report.format = "live".into();
    match LiveCapture::open(&name, &options) {
        Ok(mut live) => {
            let deadline = duration.map(|d| std::time::Instant::now() + d);
            let cancelled = read_live(
                &mut live,
                deadline,
                count,
                offset,
                &mut report,
                cancel,
                process,
            );
            LiveOutcome {
                report,
                cancelled,
                failure: None,
            }
        }
        Err(e) => {
            report.error = Some(e.to_string());
            LiveOutcome {
                report,
                cancelled: false,
                failure: Some(AnalysisError::Capture(e)),
            }
        }
    }
}

/// Capture live until `deadline`, `count` packets, cancellation or an
/// error of the interface. Whether the run was cancelled.
fn read_live(
    live: &mut LiveCapture,
    deadline: Option<std::time::Instant>,
    count: Option<u64>,
    offset: &mut u64,
    report: &mut InputReport,
    cancel: &CancelToken,
    process: &mut dyn FnMut(&RawPacket<'_>),
) -> bool {
    loop {
        if cancel.is_cancelled() {
            return true;
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d)
            || count.is_some_and(|c| report.packets >= c)
        {
            break;
        }
        match live.next_packet() {
            Ok(Some(raw)) => {
                report.packets += 1;
                let mut raw: RawPacket<'_> = raw;
                raw.number = *offset + report.packets;
                process(&raw);
            }
            Ok(None) => {}
            Err(e) => {
                report.warnings.push(e.to_string());
                break;
            }
        }
    }
    *offset += report.packets;
    false
}

/// Files on N threads: each reads every file and keeps its share of the
/// flows; the calling thread runs the detection stage.
pub(crate) fn run_file_shards(
    plan: &Plan,
    paths: Vec<PathBuf>,
    mut stage: Box<DetectionStage>,
) -> Outcome {
    let threads = plan.threads.max(2);
    let mut lanes = Vec::new();
    let mut outlets = Vec::new();
    for _ in 0..threads {
        let (outlet, lane) = record_channel();
        outlets.push(outlet);
        lanes.push(lane);
    }
    let paths = &paths;
    let (results, broken) = thread::scope(|scope| {
        let handles: Vec<_> = outlets
            .into_iter()
            .enumerate()
            .map(|(i, outlet)| {
                let first = i == 0;
                let sink = plan.sink(first, outlet);
                let engine = plan.engine.share_of(threads);
                let filter = plan.filter.clone();
                scope.spawn(move || {
                    let mut shard = Shard::new(
                        engine,
                        filter,
                        Ownership::Share(Share {
                            index: i as u64,
                            of: threads as u64,
                        }),
                        sink,
                    );
                    // The first thread speaks for all: the others read the
                    // same files and meet the same errors.
                    let mut progress = if first {
                        ProgressReporter::new(plan.progress.clone(), plan.bytes_total)
                    } else {
                        ProgressReporter::silent()
                    };
                    let mut reports = Vec::new();
                    let mut offset = 0;
                    let mut cancelled = false;
                    for path in paths {
                        if cancelled {
                            break;
                        }
                        let (mut report, opened) = open(Input::Path(path.clone()));
                        match opened {
                            Ok(mut reader) => {
                                cancelled = read_capture(
                                    &mut shard,
                                    &mut reader,
                                    &mut offset,
                                    &mut report,
                                    &mut progress,
                                    &plan.cancel,
                                );
                            }
                            Err(e) => report.error = Some(e.to_string()),
                        }
                        reports.push(report);
                        progress.input_done();
                    }
                    (shard.finish(None), reports, cancelled)
                })
            })
            .collect();
        let broken = merge_into(&mut stage, lanes);
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (results, broken)
    });
    let mut outcome = Outcome {
        shards: Vec::new(),
        reports: Vec::new(),
        stage: Some(stage),
        failure: None,
        cancelled: false,
    };
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok((output, reports, cancelled)) => {
                if i == 0 {
                    outcome.reports = reports;
                }
                outcome.cancelled |= cancelled;
                outcome.shards.push(output);
            }
            Err(_) => outcome.failure = Some(AnalysisError::ThreadFailed("shard")),
        }
    }
    if broken && outcome.failure.is_none() {
        outcome.failure = Some(AnalysisError::ThreadFailed("shard"));
    }
    outcome
}

/// A batch of packets for a worker: entries pointing into chunks of input
/// the reader shares (no copy), or into bytes copied into the batch (live
/// capture, whose buffer is not shared), and tick markers.
struct Batch {
    chunks: Vec<Arc<Vec<u8>>>,
    copied: Vec<u8>,
    entries: Vec<BatchEntry>,
    /// The last packet number the reader had read when it sent the batch:
    /// this worker has nothing else up to it.
    through: u64,
    /// The reader's clock (latest capture time) when it sent the batch.
    clock: Timestamp,
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
    /// A tick marker: no packet, the clock moved to `ts`.
    Marker,
}

#[derive(Clone, Copy)]
struct BatchEntry {
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    interface: u32,
    orig_len: u32,
    bytes: Bytes,
    /// Where the reader sent it (a fragment goes to every worker).
    class: ShardClass,
}

impl BatchEntry {
    fn of(raw: &RawPacket<'_>, bytes: Bytes, class: ShardClass) -> Self {
        BatchEntry {
            number: raw.number,
            ts: raw.ts,
            link_type: raw.link_type,
            interface: raw.interface,
            orig_len: raw.orig_len,
            bytes,
            class,
        }
    }
}

impl Batch {
    fn new() -> Self {
        Batch {
            chunks: Vec::new(),
            copied: Vec::new(),
            entries: Vec::with_capacity(BATCH_PACKETS),
            through: 0,
            clock: Timestamp::ZERO,
        }
    }

    fn push_copy(&mut self, raw: &RawPacket<'_>, class: ShardClass) {
        let start = self.copied.len();
        self.copied.extend_from_slice(raw.data);
        let bytes = Bytes::Copied {
            start,
            end: self.copied.len(),
        };
        self.entries.push(BatchEntry::of(raw, bytes, class));
    }

    fn push_marker(&mut self, number: u64, clock: Timestamp) {
        self.entries.push(BatchEntry {
            number,
            ts: clock,
            link_type: LinkType::Ethernet,
            interface: 0,
            orig_len: 0,
            bytes: Bytes::Marker,
            class: ShardClass::Flow(0),
        });
    }

    fn bytes(&self, e: &BatchEntry) -> &[u8] {
        let found = match e.bytes {
            Bytes::Shared { chunk, start, end } => {
                self.chunks.get(chunk).and_then(|c| c.get(start..end))
            }
            Bytes::Copied { start, end } => self.copied.get(start..end),
            Bytes::Marker => None,
        };
        found.unwrap_or_default()
    }

    fn clear(&mut self) {
        self.chunks.clear();
        self.copied.clear();
        self.entries.clear();
    }
}

struct Worker {
    to_worker: Option<SyncSender<Batch>>,
    recycled: Receiver<Batch>,
    current: Batch,
    handle: thread::JoinHandle<ShardOutput>,
}

/// The reading thread's side of the reader + workers shape.
struct Distributor {
    workers: Vec<Worker>,
    clock: Timestamp,
    ticks: TickSchedule,
    last_number: u64,
}

impl Distributor {
    fn start(
        plan: &Plan,
        lanes: &mut Vec<(Receiver<RecordBatch>, SyncSender<Vec<Keyed>>)>,
    ) -> Self {
        // The reading thread is one of the N: N threads are the reader and
        // N - 1 workers (the detection thread comes on top, mostly idle).
        let worker_count = plan.threads.saturating_sub(1).max(1);
        let workers = (0..worker_count)
            .map(|i| {
                let (to_worker, from_reader) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
                let (recycle_tx, recycled) = sync_channel::<Batch>(BATCHES_IN_FLIGHT + 1);
                let (outlet, lane) = record_channel();
                lanes.push(lane);
                let sink = plan.sink(i == 0, outlet);
                let engine = plan.engine.share_of(worker_count);
                let filter = plan.filter.clone();
                let ownership = if worker_count > 1 {
                    Ownership::Share(Share {
                        index: i as u64,
                        of: worker_count as u64,
                    })
                } else {
                    Ownership::All
                };
                let handle = thread::spawn(move || {
                    let mut shard = Shard::new(engine, filter, ownership, sink);
                    let mut clock = None;
                    for mut batch in from_reader {
                        for e in &batch.entries {
                            if matches!(e.bytes, Bytes::Marker) {
                                shard.advance(e.number, e.ts);
                                continue;
                            }
                            let raw = RawPacket {
                                number: e.number,
                                ts: e.ts,
                                link_type: e.link_type,
                                interface: e.interface,
                                orig_len: e.orig_len,
                                data: batch.bytes(e),
                            };
                            shard.process_class(&raw, e.class);
                        }
                        shard.sink.declare_through(batch.through);
                        clock = Some(batch.clock);
                        // Let go of the chunks: the reader reuses them.
                        batch.clear();
                        // The reader may have stopped listening; then the batch is dropped.
                        let _ = recycle_tx.try_send(batch);
                    }
                    shard.finish(clock)
                });
                Worker {
                    to_worker: Some(to_worker),
                    recycled,
                    current: Batch::new(),
                    handle,
                }
            })
            .collect();
        Distributor {
            workers,
            clock: Timestamp::ZERO,
            ticks: TickSchedule::new(),
            last_number: 0,
        }
    }

    /// Where `raw` goes: both directions of a flow to the same worker, a
    /// fragment to every worker (its flow is known once it is whole).
    fn class_of(&self, raw: &RawPacket<'_>) -> ShardClass {
        if self.workers.len() <= 1 {
            return ShardClass::Flow(0);
        }
        netsec_proto::shard_class(raw)
    }

    /// The workers a packet of `class` goes to.
    fn workers_for(&self, class: ShardClass) -> std::ops::Range<usize> {
        let n = self.workers.len();
        match class {
            ShardClass::Flow(hash) => {
                let i = (hash % n.max(1) as u64) as usize;
                i..i + 1
            }
            ShardClass::Fragment => 0..n,
        }
    }

    /// Before handing `raw` on: move the clock, and when a tick is due, put
    /// a marker before this packet in every worker's batch.
    fn clock_for(&mut self, raw: &RawPacket<'_>) {
        self.clock = self.clock.max(raw.ts);
        self.last_number = raw.number;
        if self.ticks.due(self.clock) {
            for w in &mut self.workers {
                w.current.push_marker(raw.number, self.clock);
            }
        }
    }

    /// Take a packet read from a capture: where it goes, and its details.
    /// Its bytes stay in the reader's shared chunk, handed on by
    /// [`Distributor::dispatch_shared`] once the packet no longer borrows
    /// the reader.
    fn prepare(&mut self, raw: &RawPacket<'_>) -> BatchEntry {
        self.clock_for(raw);
        let class = self.class_of(raw);
        BatchEntry::of(raw, Bytes::Marker, class)
    }

    /// Hand a prepared packet to its worker (a fragment to every worker):
    /// its bytes are `range` of the reader's shared `chunk`.
    fn dispatch_shared(
        &mut self,
        mut entry: BatchEntry,
        chunk: &Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
    ) {
        for shard in self.workers_for(entry.class) {
            if let Some(w) = self.workers.get_mut(shard) {
                let batch = &mut w.current;
                if !batch.chunks.last().is_some_and(|c| Arc::ptr_eq(c, chunk)) {
                    batch.chunks.push(Arc::clone(chunk));
                }
                entry.bytes = Bytes::Shared {
                    chunk: batch.chunks.len() - 1,
                    start: range.start,
                    end: range.end,
                };
                batch.entries.push(entry);
            }
            self.send_if_full(shard);
        }
    }

    /// Hand a live packet to its worker (a fragment to every worker),
    /// copying its bytes.
    fn dispatch_copy(&mut self, raw: &RawPacket<'_>) {
        self.clock_for(raw);
        let class = self.class_of(raw);
        for shard in self.workers_for(class) {
            if let Some(w) = self.workers.get_mut(shard) {
                w.current.push_copy(raw, class);
            }
            self.send_if_full(shard);
        }
    }

    fn send_if_full(&mut self, shard: usize) {
        let full = self
            .workers
            .get(shard)
            .is_some_and(|w| w.current.entries.len() >= BATCH_PACKETS);
        if full {
            self.send(shard);
        }
    }

    /// Send worker `shard` its batch. While its queue is full, the others
    /// are told how far the reader is (their partial batches are sent), so
    /// the detection stage, which waits for every worker's watermark, can
    /// drain the busy worker's records: the reader never waits on a worker
    /// that waits on the detection stage that waits on another worker.
    fn send(&mut self, shard: usize) {
        let (clock, through) = (self.clock, self.last_number);
        let Some(w) = self.workers.get_mut(shard) else {
            return;
        };
        let fresh = w.recycled.try_recv().unwrap_or_else(|_| Batch::new());
        let mut batch = std::mem::replace(&mut w.current, fresh);
        batch.through = through;
        batch.clock = clock;
        let mut waited = 0u32;
        loop {
            let Some(tx) = self.workers.get(shard).and_then(|w| w.to_worker.as_ref()) else {
                return;
            };
            match tx.try_send(batch) {
                Ok(()) => return,
                Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    batch = back;
                    self.tell_others(shard);
                    waited += 1;
                    thread::sleep(std::time::Duration::from_micros(if waited < 10 {
                        20
                    } else {
                        200
                    }));
                }
            }
        }
    }

    /// Send every other worker whose batch is behind the reader its partial
    /// batch, when its queue has room.
    fn tell_others(&mut self, busy: usize) {
        let (clock, through) = (self.clock, self.last_number);
        for (i, w) in self.workers.iter_mut().enumerate() {
            if i == busy || w.current.through >= through {
                continue;
            }
            let Some(tx) = &w.to_worker else { continue };
            let fresh = w.recycled.try_recv().unwrap_or_else(|_| Batch::new());
            let mut batch = std::mem::replace(&mut w.current, fresh);
            batch.through = through;
            batch.clock = clock;
            match tx.try_send(batch) {
                Ok(()) => w.current.through = through,
                Err(TrySendError::Full(back)) | Err(TrySendError::Disconnected(back)) => {
                    // Keep it (and what it holds) for later.
                    let spare = std::mem::replace(&mut w.current, back);
                    drop(spare);
                }
            }
        }
    }

    /// Send the last batches and wait for the workers.
    fn finish(mut self) -> (Vec<ShardOutput>, bool) {
        for i in 0..self.workers.len() {
            self.send(i);
        }
        let mut outputs = Vec::new();
        let mut failed = false;
        for mut w in self.workers {
            w.to_worker = None;
            match w.handle.join() {
                Ok(out) => outputs.push(out),
                Err(_) => failed = true,
            }
        }
        (outputs, failed)
    }
}

/// Streams and interfaces on N threads: this thread reads, N - 1 workers
/// analyse, a detection thread merges.
pub(crate) fn run_reader_workers(
    plan: &Plan,
    inputs: Vec<Input>,
    mut stage: Box<DetectionStage>,
) -> Outcome {
    let mut lanes = Vec::new();
    let mut distributor = Distributor::start(plan, &mut lanes);
    let detection = thread::spawn(move || {
        let broken = merge_into(&mut stage, lanes);
        (stage, broken)
    });
    let mut progress = ProgressReporter::new(plan.progress.clone(), plan.bytes_total);
    let mut reports = Vec::new();
    let mut offset = 0;
    let mut cancelled = false;
    let mut failure = None;
    for input in inputs {
        if cancelled {
            break;
        }
        let input = match input {
            Input::Interface { .. } => {
                let mut read = |raw: &RawPacket<'_>| distributor.dispatch_copy(raw);
                let live = capture_live(input, &mut offset, &plan.cancel, &mut read);
                cancelled = live.cancelled;
                failure = live.failure.or(failure);
                reports.push(live.report);
                progress.input_done();
                continue;
            }
            other => other,
        };
        let (mut report, opened) = open(input);
        match opened {
            Ok(mut reader) => {
                // The reading thread bounds this shape: hand the kernel's
                // copy of the input to a helper of its own.
                reader.read_ahead();
                let mut last = 0;
                loop {
                    let entry = match reader.next_packet() {
                        Ok(Some(raw)) => {
                            let mut raw: RawPacket<'_> = raw;
                            last = raw.number;
                            raw.number += offset;
                            progress.packet(raw.data.len() as u64 + RECORD_HEADER_BYTES);
                            distributor.prepare(&raw)
                        }
                        Ok(None) => break,
                        Err(e) => {
                            report.warnings.push(e.to_string());
                            break;
                        }
                    };
                    let (chunk, range) = reader.last_packet_chunk();
                    distributor.dispatch_shared(entry, chunk, range);
                    if last % CHECK_EVERY_PACKETS == 0 && plan.cancel.is_cancelled() {
                        cancelled = true;
                        break;
                    }
                }
                offset += last;
                report.packets = last;
                report.format = reader.format().to_string();
                report.warnings.extend(reader.stats().warnings());
            }
            Err(e) => report.error = Some(e.to_string()),
        }
        reports.push(report);
        progress.input_done();
    }
    let (shards, workers_failed) = distributor.finish();
    let (stage, broken) = match detection.join() {
        Ok((stage, broken)) => (Some(stage), broken),
        Err(_) => (None, true),
    };
    if stage.is_none() {
        failure = Some(AnalysisError::ThreadFailed("detection"));
    } else if workers_failed || broken {
        failure = Some(AnalysisError::ThreadFailed("worker"));
    }
    Outcome {
        shards,
        reports,
        stage,
        failure,
        cancelled,
    }
}
