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

/// A passive analyser fed by the pipeline. Every method has an empty
/// default, so an analyser implements only what it uses.
///
/// Time is packet time: `on_tick` is called as packet time advances (about
/// once a second of capture time), never from a wall clock.
pub trait Analyzer: Send {
    /// Short stable name (`portscan`, `beacon`), used in `Finding::producer`.
    fn name(&self) -> &'static str;

    /// Every decoded packet.
    fn on_packet(&mut self, _packet: &PacketInfo, _out: &mut dyn FindingSink) {}

    /// Every ARP packet.
    fn on_arp(&mut self, _arp: &ArpInfo, _out: &mut dyn FindingSink) {}

    /// Every application-layer event.
    fn on_event(&mut self, _event: &AppEvent, _out: &mut dyn FindingSink) {}

    /// Every flow record, when the flow ends or is evicted.
    fn on_flow_end(&mut self, _flow: &FlowRecord, _out: &mut dyn FindingSink) {}

    /// Packet time has advanced to `now`.
    fn on_tick(&mut self, _now: Timestamp, _out: &mut dyn FindingSink) {}

    /// The input has ended: emit whatever is still pending.
    fn finish(&mut self, _out: &mut dyn FindingSink) {}
}
