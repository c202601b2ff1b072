//! The flow table: bidirectional flows keyed on the 5-tuple and VLAN, TCP
//! state, timeouts and a hard capacity.
//!
//! Expiry is amortised: deadlines are bucketed by the second they fall in
//! ([`timeouts`]), and only the buckets whose second has come are looked at
//! on a tick. A flow touched since its deadline was queued is re-queued,
//! not expired. Each queueing hands the flow a new
//! token, table-wide unique, so a flow has one valid entry; when stale
//! entries (flows ended or re-queued) make the queues more than twice the
//! table, they are compacted, so that SYN/RST repeated on one 5-tuple or a
//! frozen clock cannot grow them. When the table is full the flow idle the
//! longest is evicted.

pub mod community_id;
pub mod defrag;
mod map;
pub(crate) mod timeouts;

use netsec_model::{
    AppProto, DirectionStats, Duration, Endpoint, FlowEndReason, FlowId, FlowKey, FlowRecord,
    TcpFlags, TcpState, TimeRange, Timestamp, Transport,
};

use crate::app::AppParser;
use crate::reassembly::Stream;

/// Flow table settings. Defaults follow Suricata's `flow-timeouts` and
/// `stream.reassembly.depth` (suricata.yaml 7.0) unless noted.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Most flows tracked at once; the longest idle is evicted past it.
    pub capacity: usize,
    /// TCP flows that have not completed a handshake (Suricata: tcp new 60 s).
    pub tcp_new_timeout: Duration,
    /// Established TCP flows (Suricata: tcp established 3600 s).
    pub tcp_established_timeout: Duration,
    /// TCP connections reset after carrying data, or picked up mid-stream
    /// and reset: the peer's own RST, or data after a RST that a host
    /// ignored, can come many seconds later; and connections closed by FINs
    /// not all acknowledged (Suricata: tcp closed 60 s).
    pub tcp_closed_timeout: Duration,
    /// TCP connections closed by a FIN from each side, each FIN
    /// acknowledged (or followed by a RST), kept this long after their last
    /// packet for retransmitted FINs and ACKs and a late RST (which stay in
    /// the flow, each touching it): Zeek's `tcp_close_delay`, 5 s. While a
    /// FIN is not acknowledged its sender may still retransmit it, seconds
    /// apart (exponential backoff): such a connection keeps
    /// [`FlowConfig::tcp_closed_timeout`]. Suricata keeps such flows its `closed`
    /// timeout, 60 s (`emergency-closed` 10 s), which on a link of many short
    /// connections holds every connection of the last minute in memory. A
    /// packet later than this starts a new (mid-stream) flow, as in Zeek.
    pub tcp_close_delay: Duration,
    /// Connection attempts refused by a RST (a scan's closed ports), and
    /// connections seen from their SYN and reset before any data (a SYN
    /// scan's open ports, a connect scan): Zeek's `tcp_reset_delay`, 5 s;
    /// Suricata keeps them its `closed` 60 s (`emergency-closed` 10 s). A
    /// reset connection that carried data, or was picked up mid-stream,
    /// keeps [`FlowConfig::tcp_closed_timeout`]: the peer's late RST, or
    /// data after a RST that a host ignored, still belongs to it.
    pub tcp_reset_timeout: Duration,
    /// A SYN nobody answered (a scan's filtered ports, a host that is
    /// down), touched by each retransmitted SYN: 10 s, so that the first
    /// retransmissions (Linux 1, 2, 4 and 8 s apart, Windows 3 and 6 s)
    /// stay in the flow. Zeek's `tcp_attempt_delay` is 5 s; Suricata
    /// keeps such flows its `new` 60 s (`emergency-new` 5 s).
    pub tcp_attempt_timeout: Duration,
    /// UDP flows (Zeek's `udp_inactivity_timeout`, 60 s; Suricata keeps 300 s,
    /// which on busy links multiplies the flows held in memory by five).
    pub udp_timeout: Duration,
    /// DNS over UDP once every query of the flow is answered (its parser
    /// put away, nothing malformed): Zeek's `dns_session_timeout`, 10 s,
    /// after which Zeek removes the connection. Most lookups are one
    /// query and one response on a port of their own: held for the UDP
    /// timeout, a busy resolver's last minute of lookups filled the flow
    /// table. A query still waiting keeps [`FlowConfig::udp_timeout`].
    pub dns_answered_timeout: Duration,
    /// ICMP and other protocols (Zeek's `icmp_inactivity_timeout`, 60 s).
    pub other_timeout: Duration,
    /// A flow lasting longer is reported and continued in a new record (NetFlow-style, 30 min).
    pub active_timeout: Duration,
    /// Report a snapshot of a flow that goes on ([`crate::EngineSink::flow_update`])
    /// at the first packet after each such span of its life, so that a
    /// long or large flow is seen before it ends. `None` (the default):
    /// no snapshots; the analysis pipeline turns them on when an analyser
    /// asks for them.
    pub update_interval: Option<Duration>,
    /// Bytes reassembled per direction of a TCP flow (Suricata: 1 MiB).
    pub reassembly_depth: u64,
    /// Identify application protocols, reassemble TCP streams and parse them
    /// (DNS, TLS, HTTP, …). Off: decode and flows only, as for NetFlow-style
    /// accounting of very large captures.
    pub app_layer: bool,
    /// Bytes of one HTTP body hashed at most (netsec.toml's
    /// `http.max_file_hash`).
    pub max_file_hash: u64,
    /// Flows the table has room for before it first grows (at most
    /// `capacity`). Engines that share a run (one per thread) each start
    /// with their share, so that N threads do not touch N full-size tables.
    /// 16,384 (32,768 buckets of 297 bytes, 9.7 MB): a table sized for
    /// 65,536 held 39 MB from the start, resident as flows came and went
    /// (most of the peak RSS on many short connections, whose live flows
    /// are a few thousand once closed ones end after the close delay).
    pub initial_capacity: usize,
}

impl FlowConfig {
    /// The idle timeout of a class of flows.
    pub(crate) fn timeout(&self, class: TimeoutClass) -> Duration {
        match class {
            TimeoutClass::TcpNew => self.tcp_new_timeout,
            TimeoutClass::TcpEstablished => self.tcp_established_timeout,
            TimeoutClass::TcpClosed => self.tcp_closed_timeout,
            TimeoutClass::TcpFinished => self.tcp_close_delay,
            TimeoutClass::TcpReset => self.tcp_reset_timeout,
            TimeoutClass::TcpAttempt => self.tcp_attempt_timeout,
            TimeoutClass::Udp => self.udp_timeout,
            TimeoutClass::DnsAnswered => self.dns_answered_timeout,
            TimeoutClass::Other => self.other_timeout,
        }
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            capacity: 500_000,
            tcp_new_timeout: Duration::from_secs(60),
            tcp_established_timeout: Duration::from_secs(3600),
            tcp_closed_timeout: Duration::from_secs(60),
            tcp_close_delay: Duration::from_secs(5),
            tcp_reset_timeout: Duration::from_secs(5),
            tcp_attempt_timeout: Duration::from_secs(10),
            udp_timeout: Duration::from_secs(60),
            dns_answered_timeout: Duration::from_secs(10),
            other_timeout: Duration::from_secs(60),
            active_timeout: Duration::from_secs(1800),
            update_interval: None,
            reassembly_depth: 1024 * 1024,
            app_layer: true,
            max_file_hash: crate::app::http::DEFAULT_MAX_FILE_HASH,
            initial_capacity: 1 << 14,
        }
    }
}

/// Timeout classes, each with its own FIFO of deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeoutClass {
    TcpNew = 0,
    TcpEstablished = 1,
    TcpClosed = 2,
    Udp = 3,
    Other = 4,
    /// Reset, or refused by a RST.
    TcpReset = 5,
    /// A SYN, nothing back yet.
    TcpAttempt = 6,
    /// Closed by a FIN from each side.
    TcpFinished = 7,
    /// DNS over UDP, every query answered.
    DnsAnswered = 8,
}

/// Application-layer state of a flow: the parser and, for TCP only, the two
/// reassembled streams with the event context.
#[derive(Debug)]
pub(crate) struct AppState {
    pub parser: Option<AppParser>,
    /// TCP only, until nothing is left to parse or identify.
    pub tcp: Option<Box<TcpApp>>,
    /// The flow id events carry: the record's when this state was made (a
    /// flow continued past its active timeout keeps it).
    pub flow_id: FlowId,
    /// TCP only: the protocol is identified on the reassembled streams'
    /// first chunks; true until it is, or until identification gives up.
    pub identifying: bool,
}

/// A TCP flow's reassembly: its streams (index 0 to the server, 1 to the
/// client) and the context handed to the parser, updated per delivery.
/// Other transports build the context per datagram instead, so that a UDP
/// flow (a DNS lookup) does not hold one, with its Community ID copy, for
/// its whole timeout.
#[derive(Debug)]
pub(crate) struct TcpApp {
    pub streams: [Stream; 2],
    pub ctx: netsec_model::EventContext,
}

/// A flow being tracked.
#[derive(Debug)]
pub(crate) struct Flow {
    pub record: FlowRecord,
    /// True when the client is the key's `lo` endpoint.
    pub client_is_lo: bool,
    pub last_seen: Timestamp,
    pub class: TimeoutClass,
    /// Heap bytes this flow holds, as last added to the engine's memory tally.
    pub mem: usize,
    /// The token of the flow's entry in the engine's queue of flows holding
    /// out-of-order data (0: not queued).
    pub pressure_token: u64,
    pub fin: [bool; 2],
    /// The sequence number of each side's first FIN (valid where `fin`).
    pub fin_seq: [u32; 2],
    /// Each side's FIN acknowledged by the other side.
    pub fin_acked: [bool; 2],
    /// Initial sequence numbers seen in SYNs, per direction.
    pub isn: [Option<u32>; 2],
    /// Payload packets offered to identification, per direction.
    pub identify_tries: [u8; 2],
    /// Window scale of each side's SYN (index 0: the client's): `Some(None)`
    /// for a SYN without the option, `None` while no SYN was seen.
    pub wscale: [Option<Option<u8>>; 2],
    /// Update intervals of this record's life already reported by a
    /// snapshot (see [`FlowConfig::update_interval`]).
    pub updates: u16,
    pub app: Option<Box<AppState>>,
}

impl Flow {
    pub(crate) fn new(
        id: FlowId,
        community_id: String,
        client: Endpoint,
        server: Endpoint,
        transport: Transport,
        vlan: u16,
        ts: Timestamp,
    ) -> Self {
        let (_, client_is_lo) = FlowKey::from_packet(client, server, transport, vlan);
        Flow {
            record: FlowRecord {
                id,
                community_id,
                client,
                server,
                transport,
                vlan,
                time: TimeRange::at(ts),
                to_server: DirectionStats::default(),
                to_client: DirectionStats::default(),
                tcp_state: TcpState::None,
                app_proto: AppProto::Unknown,
                end_reason: FlowEndReason::EndOfInput,
                missing_bytes: 0,
            },
            client_is_lo,
            last_seen: ts,
            class: match transport {
                Transport::Tcp => TimeoutClass::TcpNew,
                Transport::Udp => TimeoutClass::Udp,
                _ => TimeoutClass::Other,
            },
            mem: 0,
            pressure_token: 0,
            fin: [false; 2],
            fin_seq: [0; 2],
            fin_acked: [false; 2],
            isn: [None; 2],
            identify_tries: [0; 2],
            wscale: [None; 2],
            updates: 0,
            app: None,
        }
    }

    /// The receive window, in bytes, that side `from` (0: the client)
    /// advertises with `raw` in a segment (`syn`: the segment has SYN set,
    /// whose window is never scaled). Scaling applies when both SYNs carried
    /// the option (RFC 7323 §2.2); with either SYN unseen the scale, and so
    /// the window, is unknown.
    pub(crate) fn receive_window(&self, from: usize, raw: u16, syn: bool) -> Option<u64> {
        if syn {
            return Some(u64::from(raw));
        }
        let [Some(a), Some(b)] = self.wscale else {
            return None;
        };
        let shift = match (a, b) {
            (Some(_), Some(_)) => {
                let own = if from == 0 { a } else { b };
                own.unwrap_or(0).min(crate::reassembly::MAX_WINDOW_SHIFT)
            }
            _ => 0,
        };
        Some(u64::from(raw) << shift)
    }

    /// Update TCP state with a segment (`len`: its payload bytes); `to_server`
    /// gives its direction. Returns true when the segment starts a new
    /// connection on a finished flow.
    pub(crate) fn tcp_update(
        &mut self,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        len: usize,
        to_server: bool,
    ) -> bool {
        let dir = usize::from(!to_server);
        let st = self.record.tcp_state;
        // The other side's FIN acknowledged (an ACK at or past the sequence
        // number after it, modulo 2^32).
        let other = 1 - dir;
        if flags.has(TcpFlags::ACK) && self.fin[other] {
            let past = ack.wrapping_sub(self.fin_seq[other].wrapping_add(1));
            if past < 1 << 31 {
                self.fin_acked[other] = true;
            }
        }
        if flags.is_syn_only() && to_server {
            if matches!(st, TcpState::Closed | TcpState::Reset | TcpState::Rejected)
                && self.isn[0] != Some(seq)
            {
                return true;
            }
            self.isn[0].get_or_insert(seq);
            if st == TcpState::None {
                self.record.tcp_state = TcpState::SynSent;
            }
            return false;
        }
        if flags.is_syn_ack() && !to_server {
            self.isn[1].get_or_insert(seq);
            if matches!(st, TcpState::SynSent | TcpState::None) {
                self.record.tcp_state = TcpState::SynReceived;
            }
            return false;
        }
        if flags.has(TcpFlags::RST) {
            self.record.tcp_state = match st {
                TcpState::SynSent if !to_server => TcpState::Rejected,
                TcpState::Rejected => TcpState::Rejected,
                _ => TcpState::Reset,
            };
            return false;
        }
        match st {
            TcpState::SynReceived if to_server && flags.has(TcpFlags::ACK) => {
                self.record.tcp_state = TcpState::Established;
            }
            TcpState::None => self.record.tcp_state = TcpState::MidStream,
            _ => {}
        }
        if flags.has(TcpFlags::FIN) {
            if !self.fin[dir] {
                // The FIN comes after the segment's payload.
                self.fin_seq[dir] = seq.wrapping_add(len as u32);
            }
            self.fin[dir] = true;
            self.record.tcp_state = if self.fin[0] && self.fin[1] {
                TcpState::Closed
            } else {
                match self.record.tcp_state {
                    TcpState::Reset | TcpState::Rejected => self.record.tcp_state,
                    _ => TcpState::Closing,
                }
            };
        }
        false
    }

    /// Payload seen in either direction.
    fn carried_data(&self) -> bool {
        self.record.to_server.payload_bytes > 0 || self.record.to_client.payload_bytes > 0
    }

    /// The class this flow's timeout belongs to now.
    pub(crate) fn current_class(&self) -> TimeoutClass {
        match self.record.transport {
            // FINs both ways, each acknowledged, or followed by a RST: the
            // close delay. Only retransmissions are still to come. With a
            // FIN not acknowledged (its sender retransmits it with growing
            // gaps, or the ACK is not in the capture) the closed timeout.
            Transport::Tcp
                if self.fin == [true, true]
                    && (self.fin_acked == [true, true]
                        || self.record.tcp_state == TcpState::Reset) =>
            {
                TimeoutClass::TcpFinished
            }
            Transport::Tcp => match self.record.tcp_state {
                TcpState::Rejected => TimeoutClass::TcpReset,
                // Reset before any data, seen from its SYN: a probe. A
                // reset connection that carried data, or was picked up
                // mid-stream, keeps the closed timeout: the peer's own RST
                // or data after the RST (which hosts may ignore) can come
                // many seconds later.
                TcpState::Reset if self.isn[0].is_some() && !self.carried_data() => {
                    TimeoutClass::TcpReset
                }
                TcpState::Reset | TcpState::Closed => TimeoutClass::TcpClosed,
                TcpState::SynSent => TimeoutClass::TcpAttempt,
                TcpState::Established | TcpState::MidStream | TcpState::Closing => {
                    TimeoutClass::TcpEstablished
                }
                _ => TimeoutClass::TcpNew,
            },
            // The engine puts a DNS parser away once its lookups are
            // answered, and makes it again on the next datagram.
            Transport::Udp if self.record.app_proto == AppProto::Dns && self.app.is_none() => {
                TimeoutClass::DnsAnswered
            }
            Transport::Udp => TimeoutClass::Udp,
            _ => TimeoutClass::Other,
        }
    }
}

/// Why [`FlowTable::pop_expired`] returned a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Idle,
    Closed,
}

use timeouts::DeadlineBuckets;

/// Flows by key, with their timeout queues.
#[derive(Debug)]
pub(crate) struct FlowTable {
    pub config: FlowConfig,
    pub flows: map::FlowMap,
    /// Every flow's deadline, by second (see [`timeouts`]).
    queues: DeadlineBuckets,
    /// The last queue token handed out (tokens are unique for the table's life).
    pub generations: u64,
}

impl FlowTable {
    pub(crate) fn new(config: FlowConfig) -> Self {
        // Fixed seeds: the same capture gives the same table layout every run.
        let hasher =
            ahash::RandomState::with_seeds(0x6e65_7473, 0x6563_666c, 0x6f77_7461, 0x626c_6521);
        FlowTable {
            flows: map::FlowMap::with_capacity(
                config.capacity.min(config.initial_capacity),
                hasher,
            ),
            config,
            queues: Default::default(),
            generations: 0,
        }
    }

    /// Bytes the table holds: its hash table's allocation (buckets and
    /// control bytes) and the timeout queues. Flows' own heap data is
    /// counted apart (`Flow::mem`).
    pub(crate) fn memory(&self) -> usize {
        self.flows.allocation_size() + self.queues.memory()
    }

    /// Most flows whose table stays within `bytes`, growth included.
    ///
    /// The hash table reaches P buckets (a power of two) and no more: while
    /// it grows into them the old table of P/2 is still allocated, so
    /// 1.5 × P buckets must fit, beside the flows' slots. And it holds at
    /// most half of P's 7/8 load: evicting flows from a full table leaves
    /// tombstones, and hashbrown, out of room, rehashes in place only while
    /// at most half of that load is in use; past it, it doubles the table.
    /// (Holding 7/8 of P did exactly that under a spoofed-source flood: the
    /// table drifted to 2P buckets, 1.5 times its share.) The timeout
    /// queues, counted in [`FlowTable::memory`], must fit too.
    pub(crate) fn flows_fitting(bytes: usize) -> usize {
        let mut best = 1;
        let mut pow2: usize = 16;
        while pow2 <= 1 << 40 {
            let flows = pow2 / 16 * 7;
            let need = map::FlowMap::bytes_for(flows, pow2 / 2 * 3)
                .saturating_add(DeadlineBuckets::bytes_for(flows));
            if need > bytes {
                break;
            }
            best = flows;
            pow2 *= 2;
        }
        best.min(u32::MAX as usize)
    }

    /// Drop stale entries (flows gone, or re-queued since) once the queues
    /// hold more than twice as many entries as there are flows: repeated
    /// SYN/RST on one 5-tuple, or a frozen clock, cannot grow them without
    /// bound. Amortised O(1): a compaction follows as many pushes as flows.
    fn maybe_compact(&mut self) {
        if self.queues.len() <= 2 * self.flows.len() + 1024 {
            return;
        }
        let flows = &self.flows;
        self.queues
            .retain(|(_, slot, generation)| flows.token(*slot) == *generation);
    }

    pub(crate) fn timeout(&self, class: TimeoutClass) -> Duration {
        self.config.timeout(class)
    }

    /// Queue a deadline for a flow (in table slot `slot`) in its class,
    /// under a new token from [`FlowTable::generations`] (`generation`): the
    /// flow's one valid entry from now on. Entries with another token are
    /// stale and skipped (or compacted away).
    pub(crate) fn enqueue(
        &mut self,
        slot: u32,
        class: TimeoutClass,
        last_seen: Timestamp,
        generation: u64,
    ) {
        let deadline = last_seen + self.timeout(class);
        self.flows.set_token(slot, generation);
        self.queues.push((deadline, slot, generation));
        self.maybe_compact();
    }

    /// Every flow whose timeout has passed at `now`, whatever else is
    /// queued, as `(flow id, slot, why)` in flow-id order, left in the table
    /// for the caller to take out one at a time with [`FlowTable::take`] (a
    /// tick that ends many flows holds their slots, not their records).
    /// `out` is cleared first.
    pub(crate) fn expired(&mut self, now: Timestamp, out: &mut Vec<(FlowId, u32, Expiry)>) {
        out.clear();
        while let Some((deadline, slot, generation)) = self.queues.next_due(now) {
            // Tokens are unique per queueing: another one means the flow was
            // queued again since (touched into another class, or re-queued),
            // or has ended (its slot's token is cleared). Checked in the
            // slots' dense list of tokens: a stale entry (a scan's probes
            // leave one a flow) does not read the flow.
            if self.flows.token(slot) != generation {
                continue;
            }
            let Some(flow) = self.flows.slot(slot) else {
                continue;
            };
            let idle_deadline = flow.last_seen + self.timeout(flow.class);
            if idle_deadline <= now {
                let why = if matches!(
                    flow.class,
                    TimeoutClass::TcpClosed | TimeoutClass::TcpReset | TimeoutClass::TcpFinished
                ) {
                    Expiry::Closed
                } else {
                    Expiry::Idle
                };
                out.push((flow.record.id, slot, why));
            } else if idle_deadline == deadline {
                // Due later in this second.
                self.queues.defer((deadline, slot, generation));
            } else {
                // Touched since: check again at its new deadline.
                self.queues.push((idle_deadline, slot, generation));
            }
        }
        // Flow ids are unique in a run: engines that share a capture end
        // the same flows in the same order. A second's bucket holds a few
        // runs already in id order (one per timeout class, each queued in
        // arrival order): a merge sort finds them, where quicksort (6 % of
        // the instructions of an nmap scan's base without detectors) did
        // not. Ids are unique, so stable or not gives one order.
        out.sort_by_key(|(id, _, _)| *id);
    }

    /// Remove the flow whose deadline comes first (idle the longest for its
    /// class), to make room.
    pub(crate) fn evict_one(&mut self) -> Option<Flow> {
        loop {
            let (_, slot, generation) = self.queues.pop_earliest()?;
            if self.flows.token(slot) == generation {
                return self.flows.remove_slot(slot);
            }
        }
    }

    /// End of input: every flow as `(flow id, slot)`, in flow-id order so
    /// output is deterministic. The expiry queues are emptied; each flow is
    /// then taken out with [`FlowTable::take`] and handed on before the
    /// next, so the flows are never all copied into one list (16 bytes a
    /// flow here, where a list of keys was 100 at its peak).
    pub(crate) fn ids_in_order(&mut self) -> Vec<(FlowId, u32)> {
        self.queues.clear();
        let mut order: Vec<(FlowId, u32)> =
            self.flows.iter().map(|(i, f)| (f.record.id, i)).collect();
        order.sort_unstable_by_key(|(id, _)| *id);
        order
    }

    /// Take out the flow `id` from `slot` (as [`FlowTable::expired`] and
    /// [`FlowTable::ids_in_order`] name it), if it is still there.
    pub(crate) fn take(&mut self, id: FlowId, slot: u32) -> Option<Flow> {
        if self.flows.slot(slot)?.record.id != id {
            return None;
        }
        self.flows.remove_slot(slot)
    }
}
