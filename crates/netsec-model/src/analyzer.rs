//! The streaming contract between the pipeline and everything that analyses
//! it: the pipeline calls an [`Analyzer`] as packets, events and finished
//! flows go by, and the analyser emits [`Finding`]s into a [`FindingSink`].
//!
//! Nothing is collected unless a sink chooses to keep it (ripgrep's `Sink`
//! design), so memory stays bounded by the analysers' own tables.

use crate::event::{AppEvent, ArpInfo};
use crate::finding::Finding;
use crate::flow::FlowRecord;
use crate::packet::PacketInfo;
use crate::time::Timestamp;

use std::sync::{Arc, Mutex};

/// Receives findings as they are produced.
pub trait FindingSink {
    /// Take one finding.
    fn finding(&mut self, finding: Finding);
}

impl FindingSink for Vec<Finding> {
    fn finding(&mut self, finding: Finding) {
        self.push(finding);
    }
}

/// What an analyser consumes. The pipeline forwards to the detection stage
/// only what some analyser declared, so an analyser that reads flow records
/// alone costs nothing per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interests {
    /// [`Analyzer::on_packet`]: every decoded packet's headers.
    pub packets: bool,
    /// [`Analyzer::on_arp`]: every ARP packet.
    pub arp: bool,
    /// [`Analyzer::on_event`]: application events (DNS, HTTP, TLS, …).
    pub events: bool,
    /// [`Analyzer::on_flow_end`]: flow records.
    pub flows: bool,
    /// [`Analyzer::on_flow_update`]: snapshots of flows still open, for
    /// reporting a long or large flow before it ends.
    pub flow_updates: bool,
}

impl Interests {
    /// Everything.
    pub const ALL: Interests = Interests {
        packets: true,
        arp: true,
        events: true,
        flows: true,
        flow_updates: true,
    };
    /// Nothing but ticks and the end of input.
    pub const NONE: Interests = Interests {
        packets: false,
        arp: false,
        events: false,
        flows: false,
        flow_updates: false,
    };

    /// What either consumes.
    pub fn union(self, other: Interests) -> Interests {
        Interests {
            packets: self.packets || other.packets,
            arp: self.arp || other.arp,
            events: self.events || other.events,
            flows: self.flows || other.flows,
            flow_updates: self.flow_updates || other.flow_updates,
        }
    }
}

/// A passive analyser fed by the pipeline. Every method has an empty
/// default, so an analyser implements only what it uses.
///
/// The analysis pipeline (netsec-analyze) runs every analyser in one
/// detection stage that sees the whole run, whatever the number of threads:
/// packets, ARP, events and flow records arrive in capture order (by packet
/// number; a flow record at the packet whose time ended it), identical for
/// one thread or seven. Keep state bounded (a capacity and an eviction rule)
/// and emit a finding as soon as the evidence crosses a threshold, then again
/// with the same [`Finding::id`] as the activity grows.
///
/// Time is packet time: `on_tick` is called as packet time advances (about
/// once a second of capture time), never from a wall clock.
pub trait Analyzer: Send {
    /// Short stable name (`portscan`, `beacon`), used in `Finding::producer`.
    fn name(&self) -> &'static str;

    /// What this analyser consumes (default: everything). Declare less and
    /// the pipeline forwards less: `on_tick` and `finish` always come.
    fn interests(&self) -> Interests {
        Interests::ALL
    }

    /// Bytes of state this analyser holds now (an estimate: its tables'
    /// entries times their size), reported in the run's summary.
    fn memory_used(&self) -> usize {
        0
    }

    /// This analyser's share of the run's memory budget: keep
    /// [`Analyzer::memory_used`] under it by evicting the oldest state first,
    /// and count what was evicted. Called once, before the first record.
    fn set_memory_budget(&mut self, _bytes: usize) {}

    /// Every decoded packet.
    fn on_packet(&mut self, _packet: &PacketInfo, _out: &mut dyn FindingSink) {}

    /// Every ARP packet.
    fn on_arp(&mut self, _arp: &ArpInfo, _out: &mut dyn FindingSink) {}

    /// Every application-layer event.
    fn on_event(&mut self, _event: &AppEvent, _out: &mut dyn FindingSink) {}

    /// Every flow record, when the flow ends or is evicted.
    fn on_flow_end(&mut self, _flow: &FlowRecord, _out: &mut dyn FindingSink) {}

    /// A snapshot of a flow that goes on (its `end_reason` is
    /// [`FlowEndReason::Ongoing`](crate::FlowEndReason::Ongoing)): its
    /// counters so far, about once per update interval of its life while
    /// packets arrive, so that a long or large flow is seen before it ends.
    /// The same flow's [`Analyzer::on_flow_end`] comes later with the
    /// final counters: add nothing up from snapshots.
    fn on_flow_update(&mut self, _flow: &FlowRecord, _out: &mut dyn FindingSink) {}

    /// Packet time has advanced to `now`.
    fn on_tick(&mut self, _now: Timestamp, _out: &mut dyn FindingSink) {}

    /// The input has ended: emit whatever is still pending.
    fn finish(&mut self, _out: &mut dyn FindingSink) {}
}

/// `Arc<Mutex<A>>` as an [`Analyzer`]: give the pipeline a clone, keep one.
/// A poisoned lock (a panic in another holder) makes the calls no-ops.
pub struct SharedAnalyzer<A: Analyzer> {
    inner: Arc<Mutex<A>>,
    name: &'static str,
    interests: Interests,
}

impl<A: Analyzer> SharedAnalyzer<A> {
    /// Share `analyzer`; returns the pipeline's side and the caller's handle.
    pub fn new(analyzer: A) -> (Self, Arc<Mutex<A>>) {
        let name = analyzer.name();
        let interests = analyzer.interests();
        let inner = Arc::new(Mutex::new(analyzer));
        (
            SharedAnalyzer {
                inner: Arc::clone(&inner),
                name,
                interests,
            },
            inner,
        )
    }
}

impl<A: Analyzer> Analyzer for SharedAnalyzer<A> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn interests(&self) -> Interests {
        self.interests
    }
    fn memory_used(&self) -> usize {
        self.inner.lock().map_or(0, |a| a.memory_used())
    }
    fn set_memory_budget(&mut self, bytes: usize) {
        if let Ok(mut a) = self.inner.lock() {
            a.set_memory_budget(bytes);
        }
    }
    fn on_packet(&mut self, packet: &PacketInfo, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_packet(packet, out);
        }
    }
    fn on_arp(&mut self, arp: &ArpInfo, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_arp(arp, out);
        }
    }
    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_event(event, out);
        }
    }
    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_flow_end(flow, out);
        }
    }

    fn on_flow_update(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_flow_update(flow, out);
        }
    }
    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_tick(now, out);
        }
    }
    fn finish(&mut self, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.finish(out);
        }
    }
}
