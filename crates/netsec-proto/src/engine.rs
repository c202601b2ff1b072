//! The engine: decode → fragment reassembly → flow table → TCP reassembly →
//! application parsers, with everything it learns pushed into an
//! [`EngineSink`] as it goes.

use std::collections::{BTreeMap, VecDeque};

use netsec_model::{
    AppEvent, AppProto, ArpInfo, Direction, Endpoint, EventContext, FlowEndReason, FlowId, FlowKey,
    FlowRecord, PacketInfo, PayloadContext, RawPacket, TcpState, Timestamp, Transport,
};

use crate::app::{self, AppParser, FeedStatus};
use crate::decode::{
    decode_datagram_tunnel, decode_into, transport_of_datagram, DecodeError, DecodedPacket,
};
use crate::flow::community_id::{community_id, icmp_port_equivalents};
use crate::flow::defrag::Defragmenter;
use crate::flow::{AppState, Expiry, Flow, FlowConfig, FlowTable, TcpApp};
use crate::reassembly::{Chunk, Stream};

/// Payload packets per direction offered to protocol identification before
/// a flow is left unidentified.
const IDENTIFY_TRIES: u8 = 3;

/// Receives what the engine produces. Every method has an empty default.
pub trait EngineSink {
    /// Every decoded packet (after fragment reassembly, the completed datagram).
    fn packet(&mut self, _packet: &PacketInfo) {}
    /// Every ARP packet.
    fn arp(&mut self, _arp: &ArpInfo) {}
    /// Every application event.
    fn event(&mut self, _event: AppEvent) {}
    /// Every flow record, when its flow ends.
    fn flow_end(&mut self, _flow: FlowRecord) {}
    /// A snapshot of a flow that goes on (`end_reason` is
    /// [`FlowEndReason::Ongoing`]), when [`FlowConfig::update_interval`] is
    /// set: at the first packet after each interval of the flow's life.
    fn flow_update(&mut self, _flow: FlowRecord) {}
    /// Packet time has advanced to `now` (about once per second of capture time).
    fn tick(&mut self, _now: Timestamp) {}
    /// Every packet of a flow with its transport payload (possibly empty)
    /// and its flow's state, after the flow table saw it and before the
    /// application events it produced. For byte-level inspection
    /// (signatures); the empty default costs nothing.
    fn payload(&mut self, _packet: &PacketInfo, _flow: &PayloadContext<'_>, _payload: &[u8]) {}
}

/// The engine's memory budget when none is set: 512 MiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 * 1024 * 1024;

/// Share of the memory budget the flow table's hash buckets may take (the
/// rest is for flows' buffers, parsers and fragments): one half.
const TABLE_SHARE_DIVISOR: usize = 2;
/// Share of the memory budget for fragments in progress: one eighth, at
/// most [`crate::flow::defrag::MAX_BUFFERED_BYTES`].
const DEFRAG_SHARE_DIVISOR: usize = 8;

/// Engine settings.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Flow table settings.
    pub flows: FlowConfig,
    /// Most flows tracked at once (shortcut for `flows.capacity`).
    pub flow_capacity: usize,
    /// Bytes the engine may hold: the flow table, reassembly buffers,
    /// parser buffers (TLS and HTTP heads, …) and fragments in progress
    /// (0: [`DEFAULT_MEMORY_LIMIT`]). Over it, the oldest buffered stream
    /// data becomes a counted gap, then the least recently seen flows are
    /// evicted; processing never stops. The flow capacity is lowered to
    /// what the budget's half can hold.
    pub memory_limit: usize,
}

impl EngineConfig {
    /// The settings for one of `engines` engines that share a run (one per
    /// thread, each with a share of the flows and of the memory budget):
    /// each tracks at most its share, so the bounds hold for the whole run.
    pub fn share_of(&self, engines: usize) -> EngineConfig {
        let mut share = self.clone();
        let total = self.flow_config().capacity;
        share.flow_capacity = total.div_ceil(engines.max(1)).max(1);
        share.flows.initial_capacity = self.flows.initial_capacity.div_ceil(engines.max(1));
        share.memory_limit = self.memory_limit().div_ceil(engines.max(1)).max(1);
        share
    }

    /// The memory budget in bytes (the default when unset).
    pub fn memory_limit(&self) -> usize {
        if self.memory_limit == 0 {
            DEFAULT_MEMORY_LIMIT
        } else {
            self.memory_limit
        }
    }

    fn flow_config(&self) -> FlowConfig {
        let mut f = self.flows.clone();
        if self.flow_capacity > 0 {
            f.capacity = self.flow_capacity;
        }
        f
    }

    /// The flow table settings within the memory budget.
    fn bounded_flow_config(&self) -> FlowConfig {
        let mut f = self.flow_config();
        let fitting = FlowTable::flows_fitting(self.memory_limit() / TABLE_SHARE_DIVISOR);
        f.capacity = f.capacity.min(fitting).max(1);
        f
    }
}

/// Counters of everything the engine did.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Frames offered.
    pub packets: u64,
    /// Bytes on the wire of those frames.
    pub bytes: u64,
    /// Frames that could not be decoded, by reason.
    pub decode_errors: BTreeMap<DecodeError, u64>,
    /// ARP packets.
    pub arp: u64,
    /// Packets that went through a tunnel (GRE, VXLAN, IP-in-IP).
    pub tunnelled: u64,
    /// IPv4 fragments received.
    pub ipv4_fragments: u64,
    /// IPv4 datagrams reassembled.
    pub ipv4_reassembled: u64,
    /// Fragmented datagrams (IPv4 or IPv6) given up: timeout or table full.
    pub fragments_dropped: u64,
    /// IPv6 fragments received.
    pub ipv6_fragments: u64,
    /// IPv6 datagrams reassembled.
    pub ipv6_reassembled: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended, by reason.
    pub flows_ended: BTreeMap<&'static str, u64>,
    /// Snapshots of flows still open ([`FlowConfig::update_interval`]).
    pub flow_updates: u64,
    /// TCP segments already delivered (retransmissions).
    pub tcp_retransmissions: u64,
    /// TCP segments overlapping delivered data.
    pub tcp_overlaps: u64,
    /// TCP bytes declared missing.
    pub tcp_gap_bytes: u64,
    /// TCP segments starting beyond the receiver's window, ignored.
    pub tcp_out_of_window: u64,
    /// Out-of-order TCP segments not buffered because their direction's buffer was full.
    pub tcp_out_of_order_dropped: u64,
    /// Times the memory budget turned a flow's buffered out-of-order data into a gap.
    pub memory_gaps_forced: u64,
    /// Flows evicted because the memory budget was exceeded (also counted
    /// under `flows_ended["evicted"]`).
    pub flows_evicted_memory: u64,
    /// Fragmented datagrams dropped because the memory budget was exceeded.
    pub fragments_evicted_memory: u64,
    /// Most bytes held at once ([`Engine::memory_used`]).
    pub memory_peak: u64,
    /// Flows by identified application protocol.
    pub app_flows: BTreeMap<AppProto, u64>,
    /// Application events produced.
    pub app_events: u64,
    /// Parsers that gave up on their flow (not that protocol after all, or malformed).
    pub app_parse_errors: u64,
    /// Application messages skipped as malformed by parsers that kept going.
    pub app_malformed: u64,
}

impl EngineStats {
    /// Decode errors as (name, count), for reports.
    pub fn error_counts(&self) -> Vec<(String, u64)> {
        self.decode_errors
            .iter()
            .filter(|(e, _)| **e != DecodeError::NonIp)
            .map(|(e, n)| (e.name().to_string(), *n))
            .collect()
    }

    /// Other counters as (name, count), zeros left out.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = vec![
            (
                "non_ip_frames".into(),
                self.decode_errors
                    .get(&DecodeError::NonIp)
                    .copied()
                    .unwrap_or(0),
            ),
            ("arp".into(), self.arp),
            ("tunnelled".into(), self.tunnelled),
            ("ipv4_fragments".into(), self.ipv4_fragments),
            ("ipv4_reassembled".into(), self.ipv4_reassembled),
            ("fragments_dropped".into(), self.fragments_dropped),
            ("ipv6_fragments".into(), self.ipv6_fragments),
            ("ipv6_reassembled".into(), self.ipv6_reassembled),
            ("flows_created".into(), self.flows_created),
            ("tcp_retransmissions".into(), self.tcp_retransmissions),
            ("tcp_overlaps".into(), self.tcp_overlaps),
            ("tcp_gap_bytes".into(), self.tcp_gap_bytes),
            ("tcp_out_of_window".into(), self.tcp_out_of_window),
            (
                "tcp_out_of_order_dropped".into(),
                self.tcp_out_of_order_dropped,
            ),
            ("app_events".into(), self.app_events),
            ("app_parse_errors".into(), self.app_parse_errors),
            ("app_malformed".into(), self.app_malformed),
            ("memory_gaps_forced".into(), self.memory_gaps_forced),
            ("flows_evicted_memory".into(), self.flows_evicted_memory),
            (
                "fragments_evicted_memory".into(),
                self.fragments_evicted_memory,
            ),
        ];
        for (reason, n) in &self.flows_ended {
            v.push((format!("flows_ended_{reason}"), *n));
        }
        v.retain(|(_, n)| *n > 0);
        v
    }
}

/// How an engine takes a frame.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// A frame of its own: all of it is this engine's.
    Whole,
    /// A fragment every engine sharing the run is given.
    Shared(crate::Share),
}

impl Role {
    /// Whether the flow of `info` (a reassembled datagram, or the packet a
    /// tunnel in one carried) is this engine's.
    fn owns_flow_of(&self, info: &PacketInfo) -> bool {
        match (self, &info.ip) {
            (Role::Whole, _) => true,
            (Role::Shared(share), Some(ip)) => share.owns(crate::flow_shard_hash(info.vlan, ip)),
            (Role::Shared(share), None) => share.index == 0,
        }
    }
}

/// The protocol engine.
#[derive(Debug)]
pub struct Engine {
    table: FlowTable,
    defrag: Defragmenter,
    /// Fragments every engine of a run is given
    /// ([`Engine::process_shared_fragment`]): apart from `defrag`, so the
    /// engines that share a run hold the same ones and count them once.
    shared_defrag: Defragmenter,
    /// Whether this engine counts the shared fragments (the first of a
    /// run's engines does).
    counts_shared_fragments: bool,
    stats: EngineStats,
    events: Vec<AppEvent>,
    ticks: crate::tick::TickSchedule,
    /// The flows a tick ends, reused from tick to tick.
    expired: Vec<(FlowId, u32, Expiry)>,
    now: Timestamp,
    /// The memory budget in bytes.
    memory_limit: usize,
    /// Heap bytes of the flows in the table (the sum of their `mem`).
    flow_heap: usize,
    /// Flows holding out-of-order stream data, the earliest to start
    /// buffering first, with their tokens (stale entries are skipped).
    pressure: VecDeque<(FlowKey, u64)>,
    pressure_tokens: u64,
}

impl Engine {
    /// A new engine.
    pub fn new(config: EngineConfig) -> Engine {
        let memory_limit = config.memory_limit();
        let defrag_bytes =
            (memory_limit / DEFRAG_SHARE_DIVISOR).min(crate::flow::defrag::MAX_BUFFERED_BYTES);
        Engine {
            table: FlowTable::new(config.bounded_flow_config()),
            defrag: Defragmenter::with_limits(crate::flow::defrag::MAX_DATAGRAMS, defrag_bytes),
            shared_defrag: Defragmenter::with_limits(
                crate::flow::defrag::MAX_DATAGRAMS,
                defrag_bytes,
            ),
            counts_shared_fragments: false,
            stats: EngineStats::default(),
            events: Vec::new(),
            ticks: crate::tick::TickSchedule::new(),
            expired: Vec::new(),
            now: Timestamp::ZERO,
            memory_limit,
            flow_heap: 0,
            pressure: VecDeque::new(),
            pressure_tokens: 0,
        }
    }

    /// Bytes the engine holds now: the flow table and its timeout queues,
    /// every flow's parser and reassembly buffers, and fragments in
    /// progress. Kept as a running tally, so this is O(1).
    pub fn memory_used(&self) -> usize {
        self.table.memory()
            + self.flow_heap
            + self.defrag.memory()
            + self.shared_defrag.memory()
            + self.pressure.capacity() * std::mem::size_of::<(FlowKey, u64)>()
    }

    /// The memory budget in bytes.
    pub fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// Counters so far.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Flows currently tracked.
    pub fn active_flows(&self) -> usize {
        self.table.flows.len()
    }

    /// Let capture time run on to `ts` without a packet for this engine:
    /// flows idle past their timeout as of `ts` end, as they would have
    /// on the packet's arrival. For an engine that sees a share of a
    /// capture's packets (one of several threads): advanced with every
    /// packet of the others, it ends flows exactly when a single engine
    /// seeing all of them would.
    pub fn advance_to(&mut self, ts: Timestamp, sink: &mut impl EngineSink) {
        if ts > self.now {
            self.now = ts;
        }
        self.maybe_tick(sink);
    }

    /// Process one captured frame.
    pub fn process(&mut self, raw: &RawPacket<'_>, sink: &mut impl EngineSink) {
        self.process_frame(raw, Role::Whole, sink);
        self.after_frame(sink);
    }

    /// Process a fragment that every engine sharing a run is given (its
    /// [`crate::shard_class`] is [`crate::ShardClass::Fragment`]: its flow
    /// is not known before the datagram is whole). Every engine reassembles
    /// it in the same way, since they see the same fragments; the first
    /// engine (`share.index` 0) counts it and reports the pieces; the whole
    /// datagram is analysed by the engine whose share its flow hash
    /// ([`crate::flow_shard_hash`], of the inner packet for a tunnel) is
    /// in; the others drop it.
    pub fn process_shared_fragment(
        &mut self,
        raw: &RawPacket<'_>,
        share: crate::Share,
        sink: &mut impl EngineSink,
    ) {
        self.counts_shared_fragments = share.index == 0;
        self.process_frame(raw, Role::Shared(share), sink);
        self.after_frame(sink);
    }

    fn after_frame(&mut self, sink: &mut impl EngineSink) {
        let used = self.memory_used();
        if used > self.memory_limit {
            self.relieve(sink);
        }
        let used = self.memory_used() as u64;
        if used > self.stats.memory_peak {
            self.stats.memory_peak = used;
        }
    }

    /// Over budget: the oldest buffered stream data becomes gaps, then the
    /// least recently seen flows are evicted, then the oldest fragments.
    fn relieve(&mut self, sink: &mut impl EngineSink) {
        while self.memory_used() > self.memory_limit {
            let Some((key, token)) = self.pressure.pop_front() else {
                break;
            };
            let Some(flow) = self.table.flows.get_mut(&key) else {
                continue;
            };
            if flow.pressure_token != token {
                continue;
            }
            flow.pressure_token = 0;
            let bound = self.table.config.max_file_hash;
            if force_gaps(flow, bound, &mut self.stats, &mut self.events) > 0 {
                self.stats.memory_gaps_forced += 1;
            }
            let mem = flow_heap_bytes(flow);
            self.flow_heap = (self.flow_heap + mem).saturating_sub(flow.mem);
            flow.mem = mem;
            // Hand on what the parsers made of the data after the gap now:
            // events are not in the tally, and one relief can reach many
            // flows (each 20 pipelined requests became 20 events here, and
            // 600 MB at once when held to the end of the loop).
            self.emit_events(sink);
        }
        // Evicting flows frees their buffers, not the table's buckets: stop
        // when the fixed parts alone are over (the capacity is set so they
        // are not, unless the hash table had to grow past it).
        while self.memory_used() > self.memory_limit
            && self.table.memory() + self.defrag.memory() + self.shared_defrag.memory()
                < self.memory_limit
        {
            let Some(victim) = self.table.evict_one() else {
                break;
            };
            self.stats.flows_evicted_memory += 1;
            self.end_flow(victim, FlowEndReason::Evicted, sink);
        }
        while self.memory_used() > self.memory_limit && self.defrag.evict_oldest() {
            self.stats.fragments_evicted_memory += 1;
        }
        self.count_dropped_fragments();
    }

    fn count_dropped_fragments(&mut self) {
        let mut dropped = self.defrag.stats.timed_out + self.defrag.stats.evicted;
        if self.counts_shared_fragments {
            dropped += self.shared_defrag.stats.timed_out + self.shared_defrag.stats.evicted;
        }
        self.stats.fragments_dropped = dropped;
    }

    fn emit_events(&mut self, sink: &mut impl EngineSink) {
        for ev in self.events.drain(..) {
            self.stats.app_events += 1;
            sink.event(ev);
        }
    }

    fn process_frame(&mut self, raw: &RawPacket<'_>, role: Role, sink: &mut impl EngineSink) {
        // A shared fragment is counted and reported by one engine only.
        let counting = match role {
            Role::Whole => true,
            Role::Shared(share) => share.index == 0,
        };
        if counting {
            self.stats.packets += 1;
            self.stats.bytes += u64::from(raw.orig_len.max(raw.data.len() as u32));
        }
        if raw.ts > self.now {
            self.now = raw.ts;
        }
        self.maybe_tick(sink);
        let mut decoded = DecodedPacket::empty();
        if let Err(e) = decode_into(raw, &mut decoded) {
            if counting {
                *self.stats.decode_errors.entry(e).or_default() += 1;
            }
            return;
        }
        if !counting && decoded.fragment.is_none() {
            // Not a fragment after all: the counting engine takes it whole.
            return;
        }
        if let Some(arp) = &decoded.arp {
            self.stats.arp += 1;
            sink.packet(&decoded.info);
            sink.arp(arp);
            return;
        }
        if decoded.tunnel_depth > 0 && counting {
            self.stats.tunnelled += 1;
        }
        if decoded.ipv6_fragment && counting {
            self.stats.ipv6_fragments += 1;
        }
        let Some(ip) = decoded.info.ip else {
            return;
        };
        if let Some(frag) = decoded.fragment {
            let v6 = decoded.ipv6_fragment;
            if !v6 && counting {
                self.stats.ipv4_fragments += 1;
            }
            let defrag = match role {
                Role::Whole => &mut self.defrag,
                Role::Shared(_) => &mut self.shared_defrag,
            };
            let reassembled_before = defrag.stats.reassembled;
            let whole = defrag.add(raw.ts, ip.src, ip.dst, &frag);
            let reassembled = defrag.stats.reassembled > reassembled_before;
            if reassembled && counting {
                if v6 {
                    self.stats.ipv6_reassembled += 1;
                } else {
                    self.stats.ipv4_reassembled += 1;
                }
            }
            self.count_dropped_fragments();
            let Some(datagram) = whole else {
                if counting {
                    sink.packet(&decoded.info);
                }
                return;
            };
            let mut info = decoded.info;
            let mut full_ip = ip;
            let Some(range) = transport_of_datagram(frag.protocol, &datagram, &mut full_ip) else {
                if counting {
                    sink.packet(&decoded.info);
                }
                return;
            };
            info.ip = Some(full_ip);
            let payload = datagram.get(range).unwrap_or(&[]);
            // A tunnel whose outer packet was fragmented (GTP-U over a
            // small MTU, GRE): the flow is the inner packet's, as for a
            // whole packet.
            if let Some(inner) = decode_datagram_tunnel(&info, frag.protocol, &full_ip, payload) {
                if !role.owns_flow_of(&inner.info) {
                    return;
                }
                self.stats.tunnelled += 1;
                sink.packet(&inner.info);
                self.flow_packet(&inner.info, inner.payload, inner.tcp_wscale, sink);
                return;
            }
            if !role.owns_flow_of(&info) {
                return;
            }
            sink.packet(&info);
            self.flow_packet(&info, payload, None, sink);
            return;
        }
        sink.packet(&decoded.info);
        self.flow_packet(&decoded.info, decoded.payload, decoded.tcp_wscale, sink);
    }

    /// End of input: every flow still open is reported with `EndOfInput`.
    pub fn finish(&mut self, sink: &mut impl EngineSink) {
        for (id, slot) in self.table.ids_in_order() {
            if let Some(flow) = self.table.take(id, slot) {
                self.end_flow(flow, FlowEndReason::EndOfInput, sink);
            }
        }
        sink.tick(self.now);
    }

    fn maybe_tick(&mut self, sink: &mut impl EngineSink) {
        if !self.ticks.due(self.now) {
            return;
        }
        let mut expired = std::mem::take(&mut self.expired);
        self.table.expired(self.now, &mut expired);
        for (id, slot, why) in expired.drain(..) {
            let Some(flow) = self.table.take(id, slot) else {
                continue;
            };
            let reason = match why {
                Expiry::Closed => FlowEndReason::TcpClose,
                Expiry::Idle => FlowEndReason::IdleTimeout,
            };
            self.end_flow(flow, reason, sink);
        }
        self.expired = expired;
        sink.tick(self.now);
    }

    fn flow_packet(
        &mut self,
        info: &PacketInfo,
        payload: &[u8],
        wscale: Option<Option<u8>>,
        sink: &mut impl EngineSink,
    ) {
        let Some(ip) = info.ip else { return };
        let (sport, dport) = match ip.transport {
            Transport::Icmp | Transport::Icmpv6 => {
                let (a, b, _) =
                    icmp_port_equivalents(ip.transport, ip.src_port as u8, ip.dst_port as u8);
                (a, b)
            }
            t if t.has_ports() => (ip.src_port, ip.dst_port),
            _ => (0, 0),
        };
        let src = Endpoint::new(ip.src, sport);
        let dst = Endpoint::new(ip.dst, dport);
        let (key, src_is_lo) = FlowKey::from_packet(src, dst, ip.transport, info.vlan);

        // One hash and one probe of the table find the flow, if any, for
        // everything below.
        let hash = self.table.flows.hash_of(&key);
        let mut found = self.table.flows.find_hashed(&key, hash);
        // A new connection on a finished flow's 5-tuple ends the old one.
        if let Some(i) =
            found.filter(|_| ip.transport == Transport::Tcp && ip.tcp_flags.is_syn_only())
        {
            let restart = self.table.flows.slot(i).is_some_and(|f| {
                let to_server = f.client_is_lo == src_is_lo;
                let mut probe_state = f.record.tcp_state;
                if !to_server {
                    // A SYN from the responder: treat as a new connection only after close.
                    probe_state = TcpState::Closed;
                }
                matches!(
                    probe_state,
                    TcpState::Closed | TcpState::Reset | TcpState::Rejected
                ) && f.isn[0] != Some(ip.tcp_seq)
                    && f.isn[1] != Some(ip.tcp_seq)
            });
            if restart {
                found = None;
                if let Some(old) = self.table.flows.remove_slot(i) {
                    self.end_flow(old, FlowEndReason::TcpClose, sink);
                }
            }
        }

        let at = PacketAt {
            ts: info.ts,
            number: info.number,
            src: Endpoint::new(ip.src, ip.src_port),
            dst: Endpoint::new(ip.dst, ip.dst_port),
            direction: Direction::ToServer,
        };
        // Make room first, then the flow is found or created. Evicting
        // another flow leaves this key's slot (none) as found.
        if found.is_none() && self.table.flows.len() >= self.table.config.capacity {
            if let Some(victim) = self.table.evict_one() {
                self.end_flow(victim, FlowEndReason::Evicted, sink);
            }
        }
        let (slot, created) = match found {
            Some(i) => (i, false),
            None => {
                let made = new_flow(info, &ip, src, dst);
                let Some(i) = self.table.flows.insert_hashed(made, hash) else {
                    return;
                };
                (i, true)
            }
        };
        // The flow's queue token: a new one for a new flow, which is queued
        // below under the one it has after its first packet.
        let mut token = if created {
            self.table.generations += 1;
            self.table.generations
        } else {
            self.table.flows.token(slot)
        };
        let Some(flow) = self.table.flows.slot_mut(slot) else {
            return;
        };
        // The snapshots are built here, around the update, so that the
        // update hands back three words rather than two optional records
        // (returned through memory: a 360-byte copy per packet, 4 % of a
        // scan's cycles).
        let active_timeout =
            active_timeout_snapshot(flow, &at, &self.table.config, &mut self.stats);
        let requeue = update_flow(
            flow,
            &at,
            &ip,
            info.wire_len,
            payload,
            wscale,
            src_is_lo,
            &self.table.config,
            &mut self.table.generations,
            &mut token,
            &mut self.stats,
            &mut self.events,
        );
        let update = update_snapshot(flow, info.ts, &self.table.config);
        sink.payload(info, &payload_context(flow, src_is_lo), payload);
        // A connection closed by FINs both ways, with nothing left buffered,
        // has no more data for its parser: retire it now rather than at the
        // flow's end, a closed-timeout later (60 s by default), so that many
        // short connections do not each hold parser and stream state
        // meanwhile. Not after a RST: hosts may ignore one (Linux does, for
        // a RST out of window), and data after it must still be parsed
        // (suricata-verify's bug-3286 evasion cases).
        if flow.record.tcp_state == TcpState::Closed
            && flow.app.is_some()
            && !has_buffered_data(flow)
        {
            retire_app(flow, &mut self.stats, &mut self.events);
        }
        // The memory tally: this flow's buffers as they are now.
        let mem = flow_heap_bytes(flow);
        self.flow_heap = (self.flow_heap + mem).saturating_sub(flow.mem);
        flow.mem = mem;
        let (class, generation) = (flow.class, token);
        if flow.pressure_token == 0 && has_buffered_data(flow) {
            self.pressure_tokens += 1;
            flow.pressure_token = self.pressure_tokens;
            self.pressure.push_back((key, self.pressure_tokens));
            if self.pressure.len() > 2 * self.table.flows.len() + 1024 {
                // Stale entries (flows gone or drained): amortised O(1).
                let flows = &self.table.flows;
                self.pressure.retain(|(k, t)| {
                    flows
                        .get(k)
                        .is_some_and(|f| f.pressure_token == *t && has_buffered_data(f))
                });
            }
        }
        // A new flow is queued once, in the class its first packet put it
        // in (a SYN: a connection attempt), not also in the class it was
        // created in.
        if created {
            self.table.enqueue(slot, class, info.ts, generation);
            self.stats.flows_created += 1;
        } else if let Some((class, generation, last_seen)) = requeue {
            self.table.enqueue(slot, class, last_seen, generation);
        }
        if let Some(snapshot) = active_timeout {
            sink.flow_end(snapshot);
        }
        if !self.events.is_empty() {
            self.emit_events(sink);
        }
        if let Some(snapshot) = update {
            self.stats.flow_updates += 1;
            sink.flow_update(snapshot);
        }
    }

    fn end_flow(&mut self, mut flow: Flow, reason: FlowEndReason, sink: &mut impl EngineSink) {
        self.flow_heap = self.flow_heap.saturating_sub(flow.mem);
        // Data still held past a hole goes through identification first, as
        // when the memory budget forces the gap: a flow whose only data
        // came after a hole is identified and parsed at its end too.
        if has_buffered_data(&flow) {
            let bound = self.table.config.max_file_hash;
            force_gaps(&mut flow, bound, &mut self.stats, &mut self.events);
        }
        retire_app(&mut flow, &mut self.stats, &mut self.events);
        for ev in self.events.drain(..) {
            self.stats.app_events += 1;
            sink.event(ev);
        }
        flow.record.end_reason = reason;
        *self.stats.flows_ended.entry(reason.as_str()).or_default() += 1;
        sink.flow_end(flow.record);
    }
}

/// Who opened the flow: the SYN's sender; the receiver of a SYN+ACK; else,
/// for a flow picked up mid-stream, the side on the higher port when the
/// other is a well-known port (<1024) — the heuristic Zeek applies — and
/// otherwise the sender of the first packet.
fn originator(
    src: Endpoint,
    dst: Endpoint,
    transport: Transport,
    flags: netsec_model::TcpFlags,
) -> (Endpoint, Endpoint) {
    if transport == Transport::Tcp {
        if flags.is_syn_only() {
            return (src, dst);
        }
        if flags.is_syn_ack() {
            return (dst, src);
        }
    }
    if transport.has_ports() && src.port < 1024 && dst.port >= 1024 {
        return (dst, src);
    }
    (src, dst)
}

/// A new flow from its first packet: who opened it, and its Community ID.
fn new_flow(info: &PacketInfo, ip: &netsec_model::IpInfo, src: Endpoint, dst: Endpoint) -> Flow {
    let (client, server) = originator(src, dst, ip.transport, ip.tcp_flags);
    let (c_port, s_port) = if client == src {
        (ip.src_port, ip.dst_port)
    } else {
        (ip.dst_port, ip.src_port)
    };
    let cid = match ip.transport {
        // ICMP ports are type and code, which the ID function pairs itself.
        Transport::Icmp | Transport::Icmpv6 => {
            community_id(0, ip.src, ip.dst, ip.transport, ip.src_port, ip.dst_port)
        }
        _ => community_id(0, client.ip, server.ip, ip.transport, c_port, s_port),
    };
    Flow::new(
        FlowId(info.number),
        cid,
        client,
        server,
        ip.transport,
        info.vlan,
        info.ts,
    )
}

/// The flow changed to a timeout class with a shorter timeout: queue it
/// in the new one, `(class, token, last seen)`.
type Requeue = Option<(crate::flow::TimeoutClass, u64, Timestamp)>;

/// Active timeout: past [`FlowConfig::active_timeout`] since its record
/// started, a flow is reported (the snapshot returned) and continued in a
/// fresh record starting with this packet. Runs before the packet is
/// counted ([`update_flow`]).
fn active_timeout_snapshot(
    flow: &mut Flow,
    at: &PacketAt,
    config: &FlowConfig,
    stats: &mut EngineStats,
) -> Option<FlowRecord> {
    if at.ts.since(flow.record.time.start) <= config.active_timeout {
        return None;
    }
    let snapshot = FlowRecord {
        end_reason: FlowEndReason::ActiveTimeout,
        ..flow.record.clone()
    };
    *stats.flows_ended.entry("active_timeout").or_default() += 1;
    flow.record.id = FlowId(at.number);
    flow.record.time = netsec_model::TimeRange::at(at.ts);
    flow.record.to_server = Default::default();
    flow.record.to_client = Default::default();
    flow.record.missing_bytes = 0;
    flow.updates = 0;
    Some(snapshot)
}

/// A snapshot of the flow, due by [`FlowConfig::update_interval`] once a
/// packet at `ts` has been counted ([`update_flow`]).
fn update_snapshot(flow: &mut Flow, ts: Timestamp, config: &FlowConfig) -> Option<FlowRecord> {
    let every = config.update_interval.filter(|d| d.as_nanos() > 0)?;
    // Intervals of the record's life completed by this packet.
    let done = ts.since(flow.record.time.start).as_nanos() / every.as_nanos();
    let done = u16::try_from(done).unwrap_or(u16::MAX);
    if done <= flow.updates {
        return None;
    }
    flow.updates = done;
    Some(FlowRecord {
        end_reason: FlowEndReason::Ongoing,
        ..flow.record.clone()
    })
}

/// Count a packet on its flow, advance TCP state, feed the app parser.
/// The active timeout ([`active_timeout_snapshot`]) is applied before, the
/// update snapshot ([`update_snapshot`]) taken after. `token` is the flow's
/// queue token, replaced by a new one from `generations` when the flow moves
/// to a class with a shorter timeout.
#[allow(clippy::too_many_arguments)]
fn update_flow(
    flow: &mut Flow,
    at: &PacketAt,
    ip: &netsec_model::IpInfo,
    wire_len: u32,
    payload: &[u8],
    wscale: Option<Option<u8>>,
    src_is_lo: bool,
    config: &FlowConfig,
    generations: &mut u64,
    token: &mut u64,
    stats: &mut EngineStats,
    events: &mut Vec<AppEvent>,
) -> Requeue {
    let mut requeue = None;
    let to_server = flow.client_is_lo == src_is_lo;
    let dir = if to_server {
        Direction::ToServer
    } else {
        Direction::ToClient
    };
    flow.last_seen = at.ts;
    flow.record.time.extend(at.ts);
    let counters = if to_server {
        &mut flow.record.to_server
    } else {
        &mut flow.record.to_client
    };
    counters.packets += 1;
    counters.bytes += u64::from(wire_len);
    counters.payload_bytes += payload.len() as u64;
    if ip.transport == Transport::Tcp {
        counters.tcp_flags.0 |= ip.tcp_flags.0;
        flow.tcp_update(
            ip.tcp_flags,
            ip.tcp_seq,
            ip.tcp_ack,
            payload.len(),
            to_server,
        );
        let from = usize::from(!to_server);
        if let (Some(ws), Some(slot)) = (wscale, flow.wscale.get_mut(from)) {
            slot.get_or_insert(ws);
        }
        if ip.tcp_flags.has(netsec_model::TcpFlags::SYN) {
            if let Some(tcp) = flow.app.as_mut().and_then(|a| a.tcp.as_mut()) {
                if let Some(s) = tcp.streams.get_mut(from) {
                    s.syn(ip.tcp_seq);
                }
            }
        }
        if ip.tcp_flags.has(netsec_model::TcpFlags::ACK) && flow.app.is_some() {
            let syn = ip.tcp_flags.has(netsec_model::TcpFlags::SYN);
            let window = flow.receive_window(from, ip.tcp_window, syn);
            let at = PacketAt {
                direction: dir,
                ..*at
            };
            let bound = config.max_file_hash;
            ack_app(flow, &at, ip.tcp_ack, window, bound, stats, events);
        }
    }
    if !payload.is_empty() && config.app_layer {
        let at = PacketAt {
            direction: dir,
            ..*at
        };
        feed_app(flow, &at, ip.tcp_seq, payload, config, stats, events);
    }
    let class = flow.current_class();
    if class != flow.class {
        // The queued deadline is checked lazily against the current class
        // when it comes, so a class with a timeout as long or longer needs
        // no new entry (TCP opening -> established); a shorter one (closed)
        // does, or the flow would end late.
        let shorter = config.timeout(class) < config.timeout(flow.class);
        flow.class = class;
        if shorter {
            *generations += 1;
            *token = *generations;
            requeue = Some((class, *token, flow.last_seen));
        }
    }
    requeue
}

/// What a byte-level inspector is told of a packet's flow: established as
/// Suricata's `flow:established` means it (TCP after the handshake, until
/// the end; other transports once both sides have sent).
fn payload_context(flow: &Flow, src_is_lo: bool) -> PayloadContext<'_> {
    let to_server = flow.client_is_lo == src_is_lo;
    let record = &flow.record;
    let handshake_seen = flow.isn[0].is_some() && flow.isn[1].is_some();
    let established = if record.transport == Transport::Tcp {
        handshake_seen
            && matches!(
                record.tcp_state,
                TcpState::Established | TcpState::Closing | TcpState::Closed | TcpState::Reset
            )
    } else {
        record.to_server.packets > 0 && record.to_client.packets > 0
    };
    PayloadContext {
        flow_id: record.id,
        community_id: &record.community_id,
        direction: if to_server {
            Direction::ToServer
        } else {
            Direction::ToClient
        },
        established,
        app_proto: record.app_proto,
        handshake_seen,
    }
}

/// Heap bytes a flow holds beyond its slot in the table: its Community ID,
/// and its parser and reassembly state with their buffers. O(1).
fn flow_heap_bytes(flow: &Flow) -> usize {
    let mut n = flow.record.community_id.capacity();
    if let Some(app) = &flow.app {
        n += std::mem::size_of::<AppState>() + app.parser.as_ref().map_or(0, AppParser::heap_bytes);
        if let Some(tcp) = &app.tcp {
            n += std::mem::size_of::<TcpApp>()
                + tcp.ctx.community_id.as_ref().map_or(0, String::capacity)
                + tcp.streams.iter().map(Stream::memory).sum::<usize>();
        }
    }
    n
}

/// Whether a flow holds out-of-order stream data.
fn has_buffered_data(flow: &Flow) -> bool {
    flow.app
        .as_ref()
        .and_then(|a| a.tcp.as_ref())
        .is_some_and(|t| t.streams.iter().any(|s| s.buffered() > 0))
}

/// Memory is short: declare the holes before a flow's buffered stream
/// data gaps and hand that data to its parser. Returns the bytes released.
fn force_gaps(
    flow: &mut Flow,
    max_file_hash: u64,
    stats: &mut EngineStats,
    events: &mut Vec<AppEvent>,
) -> usize {
    let mut released = 0;
    for dir in [Direction::ToServer, Direction::ToClient] {
        let (src, dst) = match dir {
            Direction::ToServer => (flow.record.client, flow.record.server),
            Direction::ToClient => (flow.record.server, flow.record.client),
        };
        let Some(tcp) = flow.app.as_mut().and_then(|a| a.tcp.as_mut()) else {
            return released;
        };
        let at = PacketAt {
            ts: flow.last_seen,
            number: 0,
            src,
            dst,
            direction: dir,
        };
        aim(&mut tcp.ctx, &at);
        run_stream(flow, dir, max_file_hash, stats, events, |stream, out| {
            released += stream.flush_gaps(out);
        });
    }
    released
}

/// Drop a flow's parser; how much input it had skipped as malformed.
fn retire(parser: &mut Option<AppParser>) -> u64 {
    parser.take().map_or(0, |p| p.malformed())
}

/// Where and when one payload was seen.
#[derive(Clone, Copy)]
struct PacketAt {
    ts: Timestamp,
    number: u64,
    src: Endpoint,
    dst: Endpoint,
    direction: Direction,
}

fn feed_app(
    flow: &mut Flow,
    at: &PacketAt,
    seq: u32,
    payload: &[u8],
    config: &FlowConfig,
    stats: &mut EngineStats,
    events: &mut Vec<AppEvent>,
) {
    let dir = at.direction;
    let di = match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    };
    let tcp = flow.record.transport == Transport::Tcp;
    if flow.app.is_none() {
        let tries = flow
            .identify_tries
            .get(di)
            .copied()
            .unwrap_or(IDENTIFY_TRIES);
        // A DNS-over-UDP flow put away between lookups resumes its parser.
        let resumed = !tcp && flow.record.app_proto == AppProto::Dns;
        if !resumed && (tries >= IDENTIFY_TRIES || flow.record.app_proto != AppProto::Unknown) {
            return;
        }
        // TCP is identified on the reassembled stream, in order, as
        // Suricata does: the first segment to arrive may be out of order, a
        // retransmission or a decoy. Other transports on each datagram.
        let parser = if tcp {
            None
        } else if resumed {
            Some(AppParser::Dns(crate::app::dns::DnsState::resumed()))
        } else {
            if let Some(t) = flow.identify_tries.get_mut(di) {
                *t += 1;
            }
            let Some(proto) = app::identify(
                flow.record.transport,
                flow.record.client.port,
                flow.record.server.port,
                dir,
                payload,
            ) else {
                return;
            };
            flow.record.app_proto = proto;
            *stats.app_flows.entry(proto).or_default() += 1;
            AppParser::with_settings(proto, config.max_file_hash)
        };
        // The event context is built once per TCP flow (one Community ID
        // copy), then only its per-packet fields change.
        let tcp_app = tcp.then(|| {
            let mut app = Box::new(TcpApp {
                streams: [
                    Stream::new(config.reassembly_depth),
                    Stream::new(config.reassembly_depth),
                ],
                ctx: event_context(&flow.record, flow.record.id, at),
            });
            for (s, isn) in app.streams.iter_mut().zip(flow.isn) {
                if let Some(isn) = isn {
                    s.syn(isn);
                }
            }
            app
        });
        flow.app = Some(Box::new(AppState {
            parser,
            tcp: tcp_app,
            flow_id: flow.record.id,
            identifying: tcp,
        }));
    }
    let Some(app) = flow.app.as_mut() else { return };
    if app.parser.is_none() && !app.identifying {
        return;
    }
    if !tcp {
        let ctx = event_context(&flow.record, app.flow_id, at);
        let parser = &mut app.parser;
        if let Some(p) = parser.as_mut() {
            match p.feed(dir, payload, &ctx, events) {
                FeedStatus::Continue => {}
                FeedStatus::Done | FeedStatus::Tunnel => stats.app_malformed += retire(parser),
                FeedStatus::Error => {
                    stats.app_parse_errors += 1;
                    stats.app_malformed += retire(parser);
                }
            }
        }
        // A lookup answered leaves nothing a DNS flow needs until its next
        // datagram, if one comes: most flows carry one lookup and then wait
        // out the UDP timeout, so their parser (and its box) goes now and
        // is made again by the next datagram.
        if matches!(parser, Some(AppParser::Dns(d)) if d.is_idle_datagrams()) {
            flow.app = None;
        }
        return;
    }
    if let Some(t) = app.tcp.as_mut() {
        aim(&mut t.ctx, at);
    }
    run_stream(
        flow,
        dir,
        config.max_file_hash,
        stats,
        events,
        |stream, out| stream.segment(seq, payload, out),
    );
}

/// The context of events from a packet `at` of a flow (whose application
/// state was made under `flow_id`).
fn event_context(record: &FlowRecord, flow_id: FlowId, at: &PacketAt) -> EventContext {
    EventContext {
        ts: at.ts,
        packet_number: at.number,
        flow_id: Some(flow_id),
        community_id: Some(record.community_id.clone()),
        src: at.src,
        dst: at.dst,
        transport: record.transport,
        direction: at.direction,
    }
}

/// Point a flow's event context at the packet `at`.
fn aim(ctx: &mut EventContext, at: &PacketAt) {
    ctx.ts = at.ts;
    ctx.packet_number = at.number;
    ctx.src = at.src;
    ctx.dst = at.dst;
    ctx.direction = at.direction;
}

/// Run `op` on the stream of direction `dir`, its output going to the
/// flow's parser (or to identification while the protocol is unknown).
/// The flow's event context must already describe that direction.
fn run_stream(
    flow: &mut Flow,
    dir: Direction,
    max_file_hash: u64,
    stats: &mut EngineStats,
    events: &mut Vec<AppEvent>,
    op: impl FnOnce(&mut Stream, &mut dyn FnMut(Chunk<'_>)),
) {
    let di = match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    };
    let Some(app) = flow.app.as_mut() else { return };
    let AppState {
        parser,
        tcp,
        identifying,
        ..
    } = &mut **app;
    let Some(TcpApp { streams, ctx }) = tcp.as_deref_mut() else {
        return;
    };
    let Some(stream) = streams.get_mut(di) else {
        return;
    };
    let mut feed = ParserFeed::new(parser, dir, ctx, events);
    feed.max_file_hash = max_file_hash;
    if *identifying {
        feed.identify = flow
            .identify_tries
            .get_mut(di)
            .map(|tries| Identify::new(tries, &flow.record));
    }
    op(stream, &mut |chunk| feed.chunk(chunk));
    let (identified, tunnel) = feed.finish(stats);
    if tunnel {
        // Identify what the tunnel carries, afresh in both directions.
        *identifying = true;
        flow.identify_tries = [0; 2];
    }
    settle_identification(
        identified,
        identifying,
        parser,
        tcp,
        &flow.identify_tries,
        &mut flow.record,
        stats,
    );
    if parser.is_none() && !*identifying {
        // Nothing left to parse or identify (the protocol is known or the
        // tries are used up, so no payload re-creates it): free it all.
        flow.app = None;
    }
}

/// After a stream delivered data to identification: record the protocol
/// found, or give up once both directions used their tries, and free the
/// reassembly buffers when nothing is left to parse.
fn settle_identification(
    identified: Option<AppProto>,
    identifying: &mut bool,
    parser: &Option<AppParser>,
    tcp: &mut Option<Box<TcpApp>>,
    tries: &[u8; 2],
    record: &mut FlowRecord,
    stats: &mut EngineStats,
) {
    if let Some(proto) = identified {
        *identifying = false;
        record.app_proto = proto;
        *stats.app_flows.entry(proto).or_default() += 1;
    } else if *identifying {
        if let Some(t) = tcp.as_mut() {
            for (stream, t) in t.streams.iter_mut().zip(tries) {
                if *t >= IDENTIFY_TRIES && !stream.is_done() {
                    stream.stop();
                }
            }
        }
        if tries.iter().all(|t| *t >= IDENTIFY_TRIES) {
            *identifying = false;
        }
    }
    if parser.is_none() && !*identifying {
        // Nothing more to parse: free the reassembly buffers now.
        retire_streams(tcp, stats, record);
    }
}

/// Protocol identification on a TCP direction's first reassembled chunks.
struct Identify<'a> {
    tries: &'a mut u8,
    transport: Transport,
    client_port: u16,
    server_port: u16,
}

impl<'a> Identify<'a> {
    fn new(tries: &'a mut u8, record: &FlowRecord) -> Self {
        Identify {
            tries,
            transport: record.transport,
            client_port: record.client.port,
            server_port: record.server.port,
        }
    }
}

/// A segment from one side acknowledges the other side's stream: move that
/// stream's window, and turn holes the receiver has acknowledged into gaps.
fn ack_app(
    flow: &mut Flow,
    at: &PacketAt,
    ack: u32,
    window: Option<u64>,
    max_file_hash: u64,
    stats: &mut EngineStats,
    events: &mut Vec<AppEvent>,
) {
    let Some(app) = flow.app.as_mut() else { return };
    // The acknowledged stream flows the other way.
    let (di, dir) = match at.direction {
        Direction::ToServer => (1, Direction::ToClient),
        Direction::ToClient => (0, Direction::ToServer),
    };
    let (parser_none, identifying) = (app.parser.is_none(), app.identifying);
    let Some(tcp) = app.tcp.as_mut() else {
        return;
    };
    let Some(stream) = tcp.streams.get_mut(di) else {
        return;
    };
    if !stream.ack(ack, window) || (parser_none && !identifying) {
        return;
    }
    let at = PacketAt {
        src: at.dst,
        dst: at.src,
        direction: dir,
        ..*at
    };
    aim(&mut tcp.ctx, &at);
    run_stream(flow, dir, max_file_hash, stats, events, |stream, out| {
        stream.release_acked(ack, out)
    });
}

/// Drop a flow's reassembly buffers, keeping their counters.
fn retire_streams(tcp: &mut Option<Box<TcpApp>>, stats: &mut EngineStats, record: &mut FlowRecord) {
    if let Some(t) = tcp.take() {
        for stream in t.streams.iter() {
            fold_stream_stats(stream, stats, record);
        }
    }
}

/// Add one stream direction's counters to the engine's and the flow's.
/// The flow's application layer is over (the flow ends, or its TCP
/// connection closed with nothing left buffered): give its parser what is
/// still buffered, gaps declared, retire the parser, fold the streams'
/// counters into the record and free it all. Nothing re-creates it: the
/// identification tries are used up.
fn retire_app(flow: &mut Flow, stats: &mut EngineStats, events: &mut Vec<AppEvent>) {
    let Some(mut app) = flow.app.take() else {
        return;
    };
    let AppState {
        parser,
        tcp,
        flow_id,
        ..
    } = &mut *app;
    let at = PacketAt {
        ts: flow.last_seen,
        number: 0,
        src: flow.record.client,
        dst: flow.record.server,
        direction: Direction::ToServer,
    };
    let (mut streams, ctx) = match tcp.take() {
        Some(t) => {
            let TcpApp { streams, mut ctx } = *t;
            aim(&mut ctx, &at);
            (Some(streams), ctx)
        }
        None => (None, event_context(&flow.record, *flow_id, &at)),
    };
    for (i, stream) in streams.iter_mut().flat_map(|s| s.iter_mut()).enumerate() {
        let dir = if i == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let mut ctx = ctx.clone();
        if i == 1 {
            ctx.src = flow.record.server;
            ctx.dst = flow.record.client;
            ctx.direction = Direction::ToClient;
        }
        let mut feed = ParserFeed::new(parser, dir, &ctx, events);
        stream.flush_gaps(&mut |chunk| feed.chunk(chunk));
        // Errors at flow end are not counted as parse errors (as before).
        stats.app_malformed += feed.malformed;
        fold_stream_stats(stream, stats, &mut flow.record);
    }
    if let Some(p) = parser.as_mut() {
        p.finish(&ctx, events);
    }
    stats.app_malformed += retire(parser);
    flow.identify_tries = [IDENTIFY_TRIES; 2];
}

fn fold_stream_stats(stream: &Stream, stats: &mut EngineStats, record: &mut FlowRecord) {
    stats.tcp_retransmissions += stream.stats.retransmissions;
    stats.tcp_overlaps += stream.stats.overlaps;
    stats.tcp_gap_bytes += stream.stats.gap_bytes;
    stats.tcp_out_of_window += stream.stats.out_of_window;
    stats.tcp_out_of_order_dropped += stream.stats.dropped;
    record.missing_bytes += stream.stats.gap_bytes;
}

/// Reassembled chunks into a flow's parser, retiring it when it is done or fails.
struct ParserFeed<'a> {
    parser: &'a mut Option<AppParser>,
    dir: Direction,
    ctx: &'a EventContext,
    events: &'a mut Vec<AppEvent>,
    /// Set while the flow's protocol is not known yet.
    identify: Option<Identify<'a>>,
    /// The protocol identification found.
    identified: Option<AppProto>,
    /// The parser said the connection now tunnels another protocol.
    tunnel: bool,
    malformed: u64,
    failed: bool,
    /// The HTTP body hashing bound of a parser made here.
    max_file_hash: u64,
}

impl<'a> ParserFeed<'a> {
    fn new(
        parser: &'a mut Option<AppParser>,
        dir: Direction,
        ctx: &'a EventContext,
        events: &'a mut Vec<AppEvent>,
    ) -> Self {
        ParserFeed {
            parser,
            dir,
            ctx,
            events,
            identify: None,
            identified: None,
            tunnel: false,
            malformed: 0,
            max_file_hash: crate::app::http::DEFAULT_MAX_FILE_HASH,
            failed: false,
        }
    }

    fn chunk(&mut self, chunk: Chunk<'_>) {
        if self.parser.is_none() {
            let (Some(id), Chunk::Data(d)) = (self.identify.as_mut(), &chunk) else {
                return;
            };
            if *id.tries >= IDENTIFY_TRIES {
                return;
            }
            *id.tries += 1;
            let Some(proto) =
                app::identify(id.transport, id.client_port, id.server_port, self.dir, d)
            else {
                return;
            };
            self.identify = None;
            self.identified = Some(proto);
            *self.parser = AppParser::with_settings(proto, self.max_file_hash);
        }
        let Some(p) = self.parser.as_mut() else {
            return;
        };
        match chunk {
            Chunk::Data(d) => match p.feed(self.dir, d, self.ctx, self.events) {
                FeedStatus::Continue => {}
                FeedStatus::Done => self.malformed += retire(self.parser),
                FeedStatus::Tunnel => {
                    self.malformed += retire(self.parser);
                    self.tunnel = true;
                }
                FeedStatus::Error => {
                    self.failed = true;
                    self.malformed += retire(self.parser);
                }
            },
            Chunk::Gap(n) => p.gap(self.dir, n),
        }
    }

    /// Count what happened; the protocol identified, if any, and whether
    /// the connection became a tunnel.
    fn finish(self, stats: &mut EngineStats) -> (Option<AppProto>, bool) {
        stats.app_malformed += self.malformed;
        if self.failed {
            stats.app_parse_errors += 1;
        }
        (self.identified, self.tunnel)
    }
}
