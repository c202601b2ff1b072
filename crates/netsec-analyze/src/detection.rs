//! The detection stage: one place that sees the whole run in capture order.
//!
//! Shards forward compact records ([`crate::record`]), never packet bytes;
//! here they are merged by their keys into one stream, identical for any
//! number of threads (Zeek's workers feeding its manager, with the order
//! made exact). Cross-flow analysers — scans, floods, beaconing, anything
//! keyed by a host — run here and see all of a host's activity, not a
//! shard's share. The summary's host, conversation and name tables are fed
//! here too, for the same reason.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use netsec_model::{Analyzer, Finding, Interests};

use crate::findings::FindingStore;
use crate::record::{Keyed, OrderKey, Record, RecordBatch};
use crate::summary::StageTables;

/// Called with every finding as it is made (updates included).
pub type FindingCallback = Arc<dyn Fn(&Finding) + Send + Sync>;

/// The analysers of the detection stage and what they make.
pub(crate) struct DetectionStage {
    analyzers: Vec<Box<dyn Analyzer>>,
    wants: Vec<Interests>,
    readers: Readers,
    pub tables: StageTables,
    pub findings: FindingStore,
    pending: Vec<Finding>,
    on_finding: Option<FindingCallback>,
    /// The key of the last record delivered: keys must grow.
    last_key: Option<OrderKey>,
    /// Records that came out of order (a bug if ever non-zero).
    pub out_of_order: u64,
    /// Most bytes the analysers said they held at once (checked on ticks).
    pub memory_peak: usize,
    /// Most bytes the summary's tables held (checked on ticks).
    pub tables_peak: usize,
}

impl DetectionStage {
    /// The stage; `memory_budget` bytes are shared among the analysers.
    pub fn new(
        mut analyzers: Vec<Box<dyn Analyzer>>,
        tables: StageTables,
        findings: FindingStore,
        on_finding: Option<FindingCallback>,
        memory_budget: usize,
    ) -> Self {
        let share = memory_budget / analyzers.len().max(1);
        for a in &mut analyzers {
            a.set_memory_budget(share);
        }
        let wants: Vec<Interests> = analyzers.iter().map(|a| a.interests()).collect();
        let readers = Readers::of(&wants);
        DetectionStage {
            analyzers,
            wants,
            readers,
            tables,
            findings,
            pending: Vec::new(),
            on_finding,
            last_key: None,
            out_of_order: 0,
            memory_peak: 0,
            tables_peak: 0,
        }
    }

    /// What the analysers consume, together.
    pub fn interests(&self) -> Interests {
        self.wants
            .iter()
            .fold(Interests::NONE, |all, w| all.union(*w))
    }

    /// Deliver every record of `records` (in key order), leaving it empty.
    pub fn deliver_all(&mut self, records: &mut Vec<Keyed>) {
        for r in records.iter_mut() {
            self.deliver(r);
        }
        records.clear();
    }

    /// Deliver one record to the tables and the analysers that want it.
    /// The record stays where it is (a finding is taken out), so that the
    /// thread that made it frees it: glibc's allocator makes a free from
    /// another thread wait on the maker's arena (half the detection
    /// thread's time on two threads).
    pub fn deliver(&mut self, keyed: &mut Keyed) {
        if self.last_key.is_some_and(|k| keyed.key < k) {
            self.out_of_order += 1;
        }
        self.last_key = Some(keyed.key);
        let out = &mut self.pending;
        let analyzers = &mut self.analyzers;
        match &keyed.record {
            Record::Packet(p) => {
                each(analyzers, &self.readers.packets, |a| a.on_packet(p, out));
            }
            Record::Arp(arp) => {
                each(analyzers, &self.readers.arp, |a| a.on_arp(arp, out));
            }
            Record::Event(e) => {
                self.tables.event(e);
                each(analyzers, &self.readers.events, |a| a.on_event(e, out));
            }
            Record::Flow(f) => {
                self.tables.flow(f);
                each(analyzers, &self.readers.flows, |a| a.on_flow_end(f, out));
            }
            Record::FlowUpdate(f) => {
                each(analyzers, &self.readers.flow_updates, |a| {
                    a.on_flow_update(f, out)
                });
            }
            Record::Tick(now) => {
                let mut held = 0;
                for a in analyzers.iter_mut() {
                    a.on_tick(*now, out);
                    held += a.memory_used();
                }
                self.memory_peak = self.memory_peak.max(held);
                self.tables_peak = self.tables_peak.max(self.tables.memory_used());
            }
            Record::Finding(_) => {}
        }
        if let Record::Finding(_) = keyed.record {
            let taken = std::mem::replace(&mut keyed.record, PLACEHOLDER.record);
            if let Record::Finding(f) = taken {
                self.pending.push(*f);
            }
        }
        if !self.pending.is_empty() {
            self.take_pending();
        }
    }

    fn take_pending(&mut self) {
        for f in self.pending.drain(..) {
            if let Some(cb) = &self.on_finding {
                cb(&f);
            }
            self.findings.add(f);
        }
    }

    /// The end of the input: the analysers emit what they still hold.
    pub fn finish(&mut self) {
        for a in &mut self.analyzers {
            a.finish(&mut self.pending);
        }
        self.take_pending();
    }
}

/// What a delivered finding leaves behind in its batch.
const PLACEHOLDER: Keyed = Keyed {
    key: OrderKey::start_of(0),
    record: Record::Tick(netsec_model::Timestamp::ZERO),
};

/// One shard's stream as the merge sees it.
struct Lane {
    from_shard: Receiver<RecordBatch>,
    recycle: SyncSender<Vec<Keyed>>,
    records: Vec<Keyed>,
    /// The next record of `records` to deliver.
    next: usize,
    /// No record still to come from this shard has a smaller key.
    watermark: OrderKey,
    done: bool,
    /// The shard hung up without its last batch (it failed).
    broken: bool,
}

/// Merge the shards' streams by key into `stage`, until every shard has
/// sent its last batch. Ties between shards (none are expected: keys are
/// unique but for the speaker's ticks) go to the lower shard. Whether a
/// shard hung up without finishing.
pub(crate) fn merge_into(
    stage: &mut DetectionStage,
    shards: Vec<(Receiver<RecordBatch>, SyncSender<Vec<Keyed>>)>,
) -> bool {
    let mut lanes: Vec<Lane> = shards
        .into_iter()
        .map(|(from_shard, recycle)| Lane {
            from_shard,
            recycle,
            records: Vec::new(),
            next: 0,
            watermark: OrderKey::start_of(0),
            done: false,
            broken: false,
        })
        .collect();
    loop {
        let mut next: Option<(OrderKey, usize)> = None;
        for (i, lane) in lanes.iter_mut().enumerate() {
            if let Some(r) = lane.records.get(lane.next) {
                if next.is_none_or(|(k, _)| r.key < k) {
                    next = Some((r.key, i));
                }
            }
        }
        // A shard with nothing queued may still send something earlier than
        // the best candidate, unless its watermark says otherwise: wait for it.
        let starved = lanes.iter().position(|lane| {
            !lane.done
                && lane.next >= lane.records.len()
                && next.is_none_or(|(k, _)| lane.watermark <= k)
        });
        if let Some(i) = starved {
            if let Some(lane) = lanes.get_mut(i) {
                match lane.from_shard.recv() {
                    Ok(batch) => {
                        if let Some(w) = batch.watermark {
                            lane.watermark = lane.watermark.max(w);
                        }
                        lane.done = batch.last;
                        let spent = std::mem::replace(&mut lane.records, batch.records);
                        lane.next = 0;
                        // Back to the shard with its records, which it
                        // frees (it made them); when the shard is gone or
                        // has vectors enough, they are freed here.
                        let _ = lane.recycle.try_send(spent);
                    }
                    Err(_) => {
                        lane.done = true;
                        lane.broken = true;
                    }
                }
            }
            continue;
        }
        let Some((_, i)) = next else { break };
        if let Some(lane) = lanes.get_mut(i) {
            if let Some(slot) = lane.records.get_mut(lane.next) {
                lane.next += 1;
                stage.deliver(slot);
            }
        }
    }
    lanes.iter().any(|l| l.broken)
}

/// Which analysers read each kind of record (indexes, in their order): a
/// packet goes to the few that read packets without asking all of them.
#[derive(Debug, Default)]
struct Readers {
    packets: Vec<usize>,
    arp: Vec<usize>,
    events: Vec<usize>,
    flows: Vec<usize>,
    flow_updates: Vec<usize>,
}

impl Readers {
    fn of(wants: &[Interests]) -> Self {
        let which = |pick: fn(&Interests) -> bool| {
            wants
                .iter()
                .enumerate()
                .filter(|(_, w)| pick(w))
                .map(|(i, _)| i)
                .collect()
        };
        Readers {
            packets: which(|w| w.packets),
            arp: which(|w| w.arp),
            events: which(|w| w.events),
            flows: which(|w| w.flows),
            flow_updates: which(|w| w.flow_updates),
        }
    }
}

/// `call` on each analyser of `readers`.
fn each(
    analyzers: &mut [Box<dyn Analyzer>],
    readers: &[usize],
    mut call: impl FnMut(&mut dyn Analyzer),
) {
    for &i in readers {
        if let Some(a) = analyzers.get_mut(i) {
            call(a.as_mut());
        }
    }
}
