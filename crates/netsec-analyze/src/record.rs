//! What shards forward to the detection stage: compact records (never packet
//! bytes), each with the key that puts it in capture order.
//!
//! Every shard sees the capture time of every packet (file shards read all
//! packets; workers fed by a reader get its tick markers), so each tick, and
//! the flow timeouts checked on it, happens on the same packet in every
//! shard, whatever the thread count. Keys follow from that:
//!
//! - `(P, Expiry, flow id)`: a flow that ended on the tick at packet `P`
//!   (idle timeout or closed), after the events its parsers gave up at its
//!   end (same key); engines end a tick's flows in id order, and flow ids —
//!   the numbers of the flows' first packets — are unique in a run, so
//!   shards' expiries interleave the same way for any thread count.
//! - `(P, Expiry, u64::MAX)`: the tick itself, after its expiries (one shard
//!   speaks for all).
//! - `(P, Packet, n)`: the n-th record made while processing packet `P`
//!   itself (its headers, ARP, events, a flow it closed), by the one shard
//!   that owns `P`.
//! - `(P, ShardFinding, hash)`: a finding of a per-shard analyser.
//! - `P = u64::MAX` for the end of input: every flow still open, by id, then
//!   the last tick.

use netsec_model::{AppEvent, ArpInfo, Finding, FlowRecord, PacketInfo, Timestamp};

/// Where a record stands within one packet's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Flows ended by the tick this packet's time triggered, then the tick.
    Expiry,
    /// What the packet itself produced.
    Packet,
    /// Findings of per-shard analysers.
    ShardFinding,
}

/// The position of a record in the ordered stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey {
    /// Number of the packet (across all inputs of a run) it belongs to;
    /// `u64::MAX` at the end of input.
    pub packet: u64,
    /// Its phase within that packet.
    pub phase: Phase,
    /// Order within the phase.
    pub seq: u64,
}

impl OrderKey {
    /// The first key of packet `packet`: a watermark at it says every later
    /// record comes at or after this packet.
    pub const fn start_of(packet: u64) -> Self {
        OrderKey {
            packet,
            phase: Phase::Expiry,
            seq: 0,
        }
    }
}

/// One record of the ordered stream.
#[derive(Debug, Clone)]
pub enum Record {
    /// A decoded packet's headers.
    Packet(PacketInfo),
    /// An ARP packet.
    Arp(ArpInfo),
    /// An application event.
    Event(Box<AppEvent>),
    /// A finished flow (not boxed: one a flow, an allocation each cost more
    /// than moving it).
    Flow(FlowRecord),
    /// A snapshot of a flow that goes on.
    FlowUpdate(FlowRecord),
    /// Capture time advanced.
    Tick(Timestamp),
    /// A finding made inside a shard.
    Finding(Box<Finding>),
}

/// A record and its key.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// Position in the stream.
    pub key: OrderKey,
    /// The record.
    pub record: Record,
}

/// Records a shard hands to the detection stage in one go. The detection
/// stage sends the emptied vector back for reuse.
#[derive(Debug, Default)]
pub struct RecordBatch {
    /// In key order.
    pub records: Vec<Keyed>,
    /// No later record of this shard has a smaller key.
    pub watermark: Option<OrderKey>,
    /// The shard has finished: nothing follows.
    pub last: bool,
}
