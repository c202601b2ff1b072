//! One shard of a run: a protocol engine over its share of the flows, the
//! counters and logs that need no order, the per-shard analysers, and the
//! forwarding of records (keyed for the ordered stream) to the detection
//! stage.

use std::sync::mpsc::{Receiver, SyncSender};

use netsec_capture::Filter;
use netsec_model::{
    Analyzer, AppEvent, ArpInfo, Finding, FlowRecord, Inspector, InspectorOutput, Interests,
    PacketInfo, PayloadContext, RawPacket, Timestamp,
};
use netsec_proto::{Engine, EngineConfig, EngineSink, ShardClass, Share};

use crate::detection::DetectionStage;
use crate::logs::RecordSink;
use crate::record::{Keyed, OrderKey, Phase, Record, RecordBatch};
use crate::summary::ShardCounts;

/// Records per batch handed to the detection stage.
const BATCH_RECORDS: usize = 1024;
/// Packets after which a shard hands on its batch even when it is not full,
/// so the detection stage, which waits for every shard's watermark, moves on.
const WATERMARK_EVERY_PACKETS: u64 = 4096;

/// Where a shard's records go.
pub(crate) enum Outlet {
    /// Straight into the detection stage on the same thread (one thread).
    Inline(Box<DetectionStage>),
    /// To the detection thread, which sends emptied vectors back.
    Channel {
        to_stage: SyncSender<RecordBatch>,
        recycled: Receiver<Vec<Keyed>>,
    },
    /// The shard has finished.
    Closed,
}

/// What a finished shard leaves behind.
pub(crate) struct ShardOutput {
    pub counts: ShardCounts,
    pub decode_counters: Vec<(String, u64)>,
    pub decode_errors: Vec<(String, u64)>,
    /// The engine's most bytes held at once.
    pub memory_peak: usize,
    /// The detection stage, when it ran inline.
    pub stage: Option<Box<DetectionStage>>,
    /// A record sink's error (a log that could not be written).
    pub sink_error: Option<String>,
}

/// The engine's receiving end in one shard.
pub(crate) struct ShardSink {
    pub counts: ShardCounts,
    logs: Option<Box<dyn RecordSink>>,
    analyzers: Vec<Box<dyn Analyzer>>,
    /// Byte-level inspectors (signatures) and what they raised.
    inspectors: Vec<Box<dyn Inspector>>,
    inspected: InspectorOutput,
    enricher: Option<crate::pipeline::EventEnricher>,
    /// What the detection stage's analysers consume.
    interests: Interests,
    /// This shard forwards the ticks (every shard ticks alike).
    speaker: bool,
    packet: u64,
    phase: Phase,
    seq: u64,
    /// Findings of the per-shard analysers during the current packet.
    shard_findings: Vec<Finding>,
    batch: RecordBatch,
    packets_since_send: u64,
    outlet: Outlet,
}

impl ShardSink {
    pub fn new(
        logs: Option<Box<dyn RecordSink>>,
        analyzers: Vec<Box<dyn Analyzer>>,
        inspectors: Vec<Box<dyn Inspector>>,
        enricher: Option<crate::pipeline::EventEnricher>,
        interests: Interests,
        speaker: bool,
        outlet: Outlet,
    ) -> Self {
        ShardSink {
            counts: ShardCounts::default(),
            logs,
            analyzers,
            inspectors,
            inspected: InspectorOutput::default(),
            enricher,
            interests,
            speaker,
            packet: 0,
            phase: Phase::Expiry,
            seq: 0,
            shard_findings: Vec::new(),
            batch: RecordBatch::default(),
            packets_since_send: 0,
            outlet,
        }
    }

    /// Records made from now on belong to packet `number`.
    pub fn begin(&mut self, number: u64) {
        self.packet = number;
        self.phase = Phase::Expiry;
        self.seq = 0;
    }

    /// Done with the current packet (wholly, or up to `next`): every later
    /// record of this shard comes at or after `next`.
    pub fn end(&mut self, next: OrderKey) {
        self.flush_shard_findings();
        self.batch.watermark = Some(next);
        self.packets_since_send += 1;
        if self.batch.records.len() >= BATCH_RECORDS
            || self.packets_since_send >= WATERMARK_EVERY_PACKETS
        {
            self.send(false);
        }
    }

    /// Nothing of this shard's comes before packet `number` (a worker was
    /// told the reader is past it): say so now.
    pub fn declare_through(&mut self, number: u64) {
        let next = OrderKey::start_of(number.saturating_add(1));
        if self.batch.watermark.is_none_or(|w| w < next) {
            self.batch.watermark = Some(next);
        }
        self.send(false);
    }

    fn push(&mut self, phase: Phase, seq: u64, record: Record) {
        self.batch.records.push(Keyed {
            key: OrderKey {
                packet: self.packet,
                phase,
                seq,
            },
            record,
        });
        if self.batch.records.len() >= 4 * BATCH_RECORDS {
            // A tick that ends many flows at once: hand them on as they come
            // (the watermark stays where it was).
            self.send(false);
        }
    }

    fn push_own(&mut self, record: Record) {
        self.phase = Phase::Packet;
        let seq = self.seq;
        self.seq += 1;
        self.push(Phase::Packet, seq, record);
    }

    fn flush_shard_findings(&mut self) {
        if self.shard_findings.is_empty() {
            return;
        }
        let mut found: Vec<(u64, Finding)> = self
            .shard_findings
            .drain(..)
            .map(|f| (identity_hash(&f), f))
            .collect();
        found.sort_by_key(|(h, _)| *h);
        for (h, f) in found {
            self.push(Phase::ShardFinding, h, Record::Finding(Box::new(f)));
        }
    }

    fn send(&mut self, last: bool) {
        self.batch.last = last;
        self.packets_since_send = 0;
        let watermark = self.batch.watermark;
        match &mut self.outlet {
            Outlet::Inline(stage) => {
                stage.deliver_all(&mut self.batch.records);
            }
            Outlet::Closed => self.batch.records.clear(),
            Outlet::Channel { to_stage, recycled } => {
                // A vector the detection stage is done with, still holding
                // its records: they are freed here, by the thread that
                // made them.
                let mut records = recycled
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH_RECORDS));
                records.clear();
                let fresh = RecordBatch {
                    records,
                    watermark,
                    last: false,
                };
                let full = std::mem::replace(&mut self.batch, fresh);
                // The detection stage hangs up only when it failed; the run
                // then reports its error.
                let _ = to_stage.send(full);
            }
        }
    }

    /// End of input: the last batch; the detection stage back, when it ran inline.
    pub fn close(&mut self) -> Option<Box<DetectionStage>> {
        self.flush_shard_findings();
        self.batch.watermark = Some(OrderKey::start_of(u64::MAX));
        self.send(true);
        match std::mem::replace(&mut self.outlet, Outlet::Closed) {
            Outlet::Inline(stage) => Some(stage),
            Outlet::Channel { .. } | Outlet::Closed => None,
        }
    }

    fn run_shard_analyzers(&mut self, call: impl Fn(&mut dyn Analyzer, &mut Vec<Finding>)) {
        for a in &mut self.analyzers {
            call(a.as_mut(), &mut self.shard_findings);
        }
    }

    fn run_inspectors(&mut self, call: impl Fn(&mut dyn Inspector, &mut InspectorOutput)) {
        for i in &mut self.inspectors {
            call(i.as_mut(), &mut self.inspected);
        }
        if !self.inspected.alerts.is_empty() {
            self.counts.alerts(self.inspected.alerts.len() as u64);
            if let Some(l) = &mut self.logs {
                for alert in &self.inspected.alerts {
                    l.alert(alert);
                }
            }
            self.inspected.alerts.clear();
        }
        self.shard_findings.append(&mut self.inspected.findings);
    }

    /// The record sink's error, if it has one, after flushing it.
    fn finish_logs(&mut self) -> Option<String> {
        self.logs.as_mut().and_then(|l| l.finish().err())
    }
}

/// A stable hash of a finding's identity, to order per-shard findings the
/// same way for any thread count.
fn identity_hash(f: &Finding) -> u64 {
    // FNV-1a, then a final mix: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in f.identity().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    netsec_model::flow::mix64(h)
}

impl EngineSink for ShardSink {
    fn packet(&mut self, packet: &PacketInfo) {
        self.counts.packet(packet);
        self.phase = Phase::Packet;
        if !self.analyzers.is_empty() {
            self.run_shard_analyzers(|a, out| a.on_packet(packet, out));
        }
        if self.interests.packets {
            self.push_own(Record::Packet(*packet));
        }
    }

    fn arp(&mut self, arp: &ArpInfo) {
        if let Some(l) = &mut self.logs {
            l.arp(arp);
        }
        if !self.analyzers.is_empty() {
            self.run_shard_analyzers(|a, out| a.on_arp(arp, out));
        }
        if self.interests.arp {
            self.push_own(Record::Arp(*arp));
        }
    }

    fn event(&mut self, mut event: AppEvent) {
        if let Some(enrich) = &self.enricher {
            enrich(&mut event);
        }
        self.counts.event(&event);
        if let Some(l) = &mut self.logs {
            l.event(&event);
        }
        if !self.inspectors.is_empty() {
            self.run_inspectors(|i, out| i.on_event(&event, out));
        }
        if !self.analyzers.is_empty() {
            self.run_shard_analyzers(|a, out| a.on_event(&event, out));
        }
        // The summary's name tables read DNS, HTTP, TLS and SSH events.
        let summary_reads = matches!(
            event,
            AppEvent::Dns(_) | AppEvent::Http(_) | AppEvent::Tls(_) | AppEvent::Ssh(_)
        );
        if self.interests.events || summary_reads {
            if self.phase == Phase::Expiry {
                // A parser's last words as a tick ends its flow: they go
                // with that flow's record, keyed by its id (engines end a
                // tick's flows in id order).
                let id = event.context().flow_id.map_or(u64::MAX - 1, |f| f.0);
                self.push(Phase::Expiry, id, Record::Event(Box::new(event)));
            } else {
                self.push_own(Record::Event(Box::new(event)));
            }
        }
    }

    fn flow_end(&mut self, flow: FlowRecord) {
        self.counts.flow(&flow);
        if let Some(l) = &mut self.logs {
            l.flow(&flow);
        }
        if !self.analyzers.is_empty() {
            self.run_shard_analyzers(|a, out| a.on_flow_end(&flow, out));
        }
        if !self.inspectors.is_empty() {
            self.run_inspectors(|i, out| i.on_flow_end(&flow, out));
        }
        // The summary's host and conversation tables read every flow.
        if self.phase == Phase::Expiry {
            // Engines end a tick's flows in id order, and flow ids are
            // unique in a run: shards' expiries interleave alike for any
            // thread count.
            let id = flow.id.0;
            self.push(Phase::Expiry, id, Record::Flow(flow));
        } else {
            self.push_own(Record::Flow(flow));
        }
    }

    fn flow_update(&mut self, flow: FlowRecord) {
        if !self.analyzers.is_empty() {
            self.run_shard_analyzers(|a, out| a.on_flow_update(&flow, out));
        }
        // Made while processing a packet, by the shard that owns its flow.
        if self.interests.flow_updates {
            self.push_own(Record::FlowUpdate(flow));
        }
    }

    fn tick(&mut self, now: Timestamp) {
        if !self.analyzers.is_empty() {
            self.run_shard_analyzers(|a, out| a.on_tick(now, out));
        }
        if !self.inspectors.is_empty() {
            self.run_inspectors(|i, out| i.on_tick(now, out));
        }
        if self.speaker && self.phase == Phase::Expiry {
            self.push(Phase::Expiry, u64::MAX, Record::Tick(now));
        }
    }

    fn payload(&mut self, packet: &PacketInfo, flow: &PayloadContext<'_>, payload: &[u8]) {
        if !self.inspectors.is_empty() {
            self.run_inspectors(|i, out| i.on_payload(packet, flow, payload, out));
        }
    }
}

/// Which packets a shard analyses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ownership {
    /// Every packet it is given.
    All,
    /// The packets of its share of the flows ([`netsec_proto::shard_class`]:
    /// TCP and UDP by 5-tuple, the rest by address pair) and every fragment
    /// (reassembled by all, the datagram kept by its flow's shard); the
    /// others only move its clock.
    Share(Share),
}

/// An engine and its sink.
pub(crate) struct Shard {
    pub engine: Engine,
    pub sink: ShardSink,
    filter: Option<Filter>,
    ownership: Ownership,
}

impl Shard {
    pub fn new(
        engine: EngineConfig,
        filter: Option<Filter>,
        ownership: Ownership,
        sink: ShardSink,
    ) -> Self {
        Shard {
            engine: Engine::new(engine),
            sink,
            filter,
            ownership,
        }
    }

    /// Process one packet read from the input (this shard's or another's).
    pub fn process(&mut self, raw: &RawPacket<'_>) {
        let class = match self.ownership {
            Ownership::All => ShardClass::Flow(0),
            Ownership::Share(_) => netsec_proto::shard_class(raw),
        };
        self.process_class(raw, class);
    }

    /// Process one packet whose [`ShardClass`] is known.
    pub fn process_class(&mut self, raw: &RawPacket<'_>, class: ShardClass) {
        self.sink.begin(raw.number);
        let share = match self.ownership {
            Ownership::All => None,
            Ownership::Share(share) => Some(share),
        };
        let mine = match (class, share) {
            (_, None) => true,
            (ShardClass::Flow(hash), Some(share)) => share.owns(hash),
            (ShardClass::Fragment, Some(share)) => {
                // Every shard reassembles it; the first counts it.
                if self.passes_filter(raw) {
                    if share.index == 0 {
                        self.count_frame(raw);
                    }
                    self.engine
                        .process_shared_fragment(raw, share, &mut self.sink);
                } else {
                    self.engine.advance_to(raw.ts, &mut self.sink);
                }
                self.sink
                    .end(OrderKey::start_of(raw.number.saturating_add(1)));
                return;
            }
        };
        if mine && self.passes_filter(raw) {
            self.count_frame(raw);
            self.engine.process(raw, &mut self.sink);
        } else {
            // Another shard's packet, or one the filter drops: its time is
            // everyone's, so flows time out as with one engine.
            self.engine.advance_to(raw.ts, &mut self.sink);
        }
        self.sink
            .end(OrderKey::start_of(raw.number.saturating_add(1)));
    }

    /// Let capture time run on to `ts` at packet `number`, before that
    /// packet is processed (a tick marker from the reader: every worker
    /// ticks here, as one engine seeing every packet would).
    pub fn advance(&mut self, number: u64, ts: Timestamp) {
        self.sink.begin(number);
        self.engine.advance_to(ts, &mut self.sink);
        self.sink.end(OrderKey {
            packet: number,
            phase: Phase::Packet,
            seq: 0,
        });
    }

    fn count_frame(&mut self, raw: &RawPacket<'_>) {
        self.sink
            .counts
            .frame(raw.ts, raw.orig_len.max(raw.data.len() as u32));
    }

    fn passes_filter(&self, raw: &RawPacket<'_>) -> bool {
        match &self.filter {
            None => true,
            Some(filter) => {
                matches!(netsec_proto::decode(raw), Ok(decoded) if filter.matches(&decoded.info))
            }
        }
    }

    /// End of input: flush every flow and the analysers; what is left.
    /// `clock`: the latest capture time of the input, for a worker that did
    /// not see every packet.
    pub fn finish(mut self, clock: Option<Timestamp>) -> ShardOutput {
        self.sink.begin(u64::MAX);
        if let Some(clock) = clock {
            self.engine.advance_to(clock, &mut self.sink);
        }
        self.engine.finish(&mut self.sink);
        if !self.sink.analyzers.is_empty() {
            self.sink.run_shard_analyzers(|a, out| a.finish(out));
        }
        if !self.sink.inspectors.is_empty() {
            self.sink.run_inspectors(|i, out| i.finish(out));
        }
        let stage = self.sink.close();
        let sink_error = self.sink.finish_logs();
        let stats = self.engine.stats();
        ShardOutput {
            counts: std::mem::take(&mut self.sink.counts),
            decode_counters: stats.counters(),
            decode_errors: stats.error_counts(),
            memory_peak: stats.memory_peak as usize,
            stage,
            sink_error,
        }
    }
}
