//! Signature alerts and the byte-level inspectors that raise them.
//!
//! [`crate::Analyzer`]s never see bytes. An [`Inspector`] does: it runs
//! inside each shard of the pipeline (a flow's packets all meet in one
//! shard), is handed every packet's payload with its flow's context and the
//! shard's application events, and raises [`Alert`]s (one per match, as
//! Suricata's eve writes one) and findings.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::event::AppEvent;
use crate::finding::Finding;
use crate::flow::{Direction, FlowId, FlowRecord};
use crate::packet::{PacketInfo, Transport};
use crate::time::Timestamp;

/// One signature match, as Suricata's eve `alert` record carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Capture time of the packet that matched.
    pub ts: Timestamp,
    /// Its number in the run.
    pub packet_number: u64,
    /// The flow.
    pub flow_id: Option<FlowId>,
    /// The flow's Community ID.
    pub community_id: Option<String>,
    /// Source address of the packet.
    pub src_ip: IpAddr,
    /// Source port (0 without ports).
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// Transport.
    pub transport: Transport,
    /// Direction of the packet in its flow.
    pub direction: Direction,
    /// The rule's `sid`.
    pub sid: u32,
    /// `gid`.
    pub gid: u32,
    /// `rev`.
    pub rev: u32,
    /// `msg`.
    pub msg: String,
    /// `classtype`'s description (Suricata's `category`), or empty.
    pub category: String,
    /// Priority (1 highest).
    pub priority: u8,
    /// Where the rule came from (its file name), Suricata-style `ruleset`.
    pub ruleset: String,
    /// ATT&CK ids from the rule's metadata (`mitre_technique_id`).
    pub mitre: Vec<String>,
    /// The matched buffer (`payload`, `http.uri`, …).
    pub buffer: String,
    /// Up to 64 bytes of the buffer around the match, printable ASCII kept
    /// and other bytes as `.`.
    pub excerpt: String,
}

/// What the engine knows of a packet's flow when it hands over the payload.
#[derive(Debug, Clone, Copy)]
pub struct PayloadContext<'a> {
    /// The flow.
    pub flow_id: FlowId,
    /// The flow's Community ID.
    pub community_id: &'a str,
    /// Direction of this packet.
    pub direction: Direction,
    /// The flow is established: TCP after the handshake, other transports
    /// once both sides have sent.
    pub established: bool,
    /// The flow's application protocol as identified so far.
    pub app_proto: crate::flow::AppProto,
    /// The flow's TCP handshake was seen (false for a mid-stream pickup and
    /// for other transports).
    pub handshake_seen: bool,
}

/// Where an inspector's results go.
#[derive(Debug, Default)]
pub struct InspectorOutput {
    /// Alerts, in the order raised.
    pub alerts: Vec<Alert>,
    /// Findings (grouped alerts).
    pub findings: Vec<Finding>,
}

/// A byte-level analyser run inside each shard: one instance per shard,
/// seeing all of the flows that shard owns. Every method but `name` has an
/// empty default.
pub trait Inspector: Send {
    /// Short stable name.
    fn name(&self) -> &'static str;

    /// Bytes of state held (flows' bits, thresholds).
    fn memory_used(&self) -> usize {
        0
    }

    /// This instance's share of the memory budget.
    fn set_memory_budget(&mut self, _bytes: usize) {}

    /// A packet of a flow, with its transport payload (possibly empty).
    fn on_payload(
        &mut self,
        _packet: &PacketInfo,
        _flow: &PayloadContext<'_>,
        _payload: &[u8],
        _out: &mut InspectorOutput,
    ) {
    }

    /// An application event of a flow this shard owns (after enrichment).
    fn on_event(&mut self, _event: &AppEvent, _out: &mut InspectorOutput) {}

    /// A flow ended: drop its state.
    fn on_flow_end(&mut self, _flow: &FlowRecord, _out: &mut InspectorOutput) {}

    /// Packet time advanced.
    fn on_tick(&mut self, _now: Timestamp, _out: &mut InspectorOutput) {}

    /// End of input.
    fn finish(&mut self, _out: &mut InspectorOutput) {}
}
