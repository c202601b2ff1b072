//! The run summary: what a responder reads in ten seconds, and the same as
//! one JSON document for scripts.
//!
//! Everything here is aggregated from the pipeline's outputs (packet views,
//! events, flow records, findings) with bounded tables; per-host and
//! per-conversation totals come from flow records, so the per-packet cost is
//! a few counter increments.
//!
//! Per-shard counters (summed across shards) and the detection stage's
//! tables (hosts, conversations, names: [`HeavyHitters`] fed in capture
//! order, so the same for any thread count, and true past their capacity).

/// Counter maps hashed with aHash: keys are counted per flow and event, and
/// SipHash's resistance is not needed for tables that are bounded anyway.
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
use std::collections::BTreeMap;

use std::net::IpAddr;

use netsec_model::{
    AppEvent, AppProto, Finding, FlowRecord, HttpMessage, PacketInfo, TimeRange, TlsMessage,
    Transport,
};
use serde::{Deserialize, Serialize};

use crate::findings::FindingStore;
use crate::heavy_hitters::HeavyHitters;

/// Most keys kept in each "top" table (hosts, conversations, names) by
/// default; a smaller memory budget keeps fewer (see
/// [`StageTables::capacity_for_budget`]).
pub const DEFAULT_TOP_TABLE_CAPACITY: usize = 100_000;

/// Heap bytes a kept name is assumed to own when the tables are sized from
/// a budget (DNS names run to 253 characters; most are far shorter).
const NAME_HEAP_ESTIMATE: usize = 64;

/// Counts that need no order: each shard keeps its own, summed at the end.
#[derive(Debug, Clone, Default)]
pub struct ShardCounts {
    packets: u64,
    bytes: u64,
    time: Option<TimeRange>,
    network: [u64; 4],   // ipv4, ipv6, arp, other
    transport: [u64; 6], // tcp, udp, icmp, icmpv6, sctp, other
    events: HashMap<&'static str, u64>,
    flows: u64,
    /// By [`transport_index`], not hashed by name (a flow's three hashed
    /// counts were 2 % of the instructions of a scan without detectors).
    flows_by_transport: [u64; 6],
    flows_by_app: HashMap<AppProto, u64>,
    conn_states: HashMap<&'static str, u64>,
}

fn transport_index(t: Transport) -> usize {
    match t {
        Transport::Tcp => 0,
        Transport::Udp => 1,
        Transport::Icmp => 2,
        Transport::Icmpv6 => 3,
        Transport::Sctp => 4,
        Transport::Other(_) => 5,
    }
}

const TRANSPORT_NAMES: [&str; 6] = ["tcp", "udp", "icmp", "icmpv6", "sctp", "other"];
/// The transport of each [`transport_index`], for flows' names.
const TRANSPORTS: [Transport; 6] = [
    Transport::Tcp,
    Transport::Udp,
    Transport::Icmp,
    Transport::Icmpv6,
    Transport::Sctp,
    Transport::Other(0),
];
const NETWORK_NAMES: [&str; 4] = ["ipv4", "ipv6", "arp", "other"];

impl ShardCounts {
    /// Count signature alerts (in the summary's events, as `alert`).
    pub fn alerts(&mut self, n: u64) {
        *self.events.entry("alert").or_default() += n;
    }

    /// Count one frame read (decoded or not).
    pub fn frame(&mut self, ts: netsec_model::Timestamp, wire_len: u32) {
        self.packets += 1;
        self.bytes += u64::from(wire_len);
        match &mut self.time {
            Some(t) => t.extend(ts),
            None => self.time = Some(TimeRange::at(ts)),
        }
    }

    /// Count one decoded packet by network layer (the outermost, as tshark
    /// counts) and transport (the innermost, after tunnels).
    pub fn packet(&mut self, p: &PacketInfo) {
        let net = match p.ether_type {
            0x0800 => 0,
            0x86dd => 1,
            0x0806 => 2,
            _ => 3,
        };
        self.network[net] += 1;
        // A fragment counts under its transport once its datagram is whole
        // (as tshark counts the frame that completes the reassembly).
        if let Some(ip) = p.ip.filter(|ip| !ip.fragmented || ip.reassembled) {
            self.transport[transport_index(ip.transport)] += 1;
        }
    }

    /// Count one application event.
    pub fn event(&mut self, e: &AppEvent) {
        *self.events.entry(e.kind()).or_default() += 1;
    }

    /// Count one finished flow.
    pub fn flow(&mut self, f: &FlowRecord) {
        self.flows += 1;
        if let Some(n) = self
            .flows_by_transport
            .get_mut(transport_index(f.transport))
        {
            *n += 1;
        }
        *self.flows_by_app.entry(f.app_proto).or_default() += 1;
        if f.transport == Transport::Tcp {
            *self
                .conn_states
                .entry(f.tcp_state.zeek_conn_state())
                .or_default() += 1;
        }
    }

    /// Add another shard's counts.
    pub fn merge(&mut self, o: ShardCounts) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        if let Some(t) = o.time {
            match &mut self.time {
                Some(mine) => {
                    mine.extend(t.start);
                    mine.extend(t.end);
                }
                None => self.time = Some(t),
            }
        }
        for (mine, theirs) in self.network.iter_mut().zip(o.network) {
            *mine += theirs;
        }
        for (mine, theirs) in self.transport.iter_mut().zip(o.transport) {
            *mine += theirs;
        }
        for (k, v) in o.events {
            *self.events.entry(k).or_default() += v;
        }
        self.flows += o.flows;
        for (mine, theirs) in self.flows_by_transport.iter_mut().zip(o.flows_by_transport) {
            *mine += theirs;
        }
        for (k, v) in o.flows_by_app {
            *self.flows_by_app.entry(k).or_default() += v;
        }
        for (k, v) in o.conn_states {
            *self.conn_states.entry(k).or_default() += v;
        }
    }
}

/// The tables fed by the detection stage, in capture order.
#[derive(Debug, Clone)]
pub struct StageTables {
    hosts: HeavyHitters<IpAddr>,
    conversations: HeavyHitters<(IpAddr, IpAddr)>,
    dns_names: HeavyHitters<String>,
    http_hosts: HeavyHitters<String>,
    tls_snis: HeavyHitters<String>,
    ssh_software: HeavyHitters<String>,
}

impl StageTables {
    /// Tables keeping `capacity` keys each.
    pub fn new(capacity: usize) -> Self {
        StageTables {
            hosts: HeavyHitters::new(capacity),
            conversations: HeavyHitters::new(capacity),
            dns_names: HeavyHitters::new(capacity),
            http_hosts: HeavyHitters::new(capacity),
            tls_snis: HeavyHitters::new(capacity),
            ssh_software: HeavyHitters::new(capacity),
        }
    }

    /// The most keys per table that keeps all six tables within `bytes` at
    /// their fullest ([`HeavyHitters::worst_case_bytes`]), at most `max`
    /// and at least 16.
    pub fn capacity_for_budget(bytes: usize, max: usize) -> usize {
        let fits = |m: usize| Self::worst_case_bytes(m) <= bytes;
        let (mut lo, mut hi) = (16, max.max(16));
        if fits(hi) {
            return hi;
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The most bytes the six tables of capacity `m` hold at once.
    pub fn worst_case_bytes(m: usize) -> usize {
        HeavyHitters::<IpAddr>::worst_case_bytes(m, 0)
            + HeavyHitters::<(IpAddr, IpAddr)>::worst_case_bytes(m, 0)
            + 4 * HeavyHitters::<String>::worst_case_bytes(m, NAME_HEAP_ESTIMATE)
    }

    /// Bytes the tables hold now.
    pub fn memory_used(&self) -> usize {
        self.hosts.memory_used()
            + self.conversations.memory_used()
            + self.dns_names.memory_used()
            + self.http_hosts.memory_used()
            + self.tls_snis.memory_used()
            + self.ssh_software.memory_used()
    }

    /// Count a flow's hosts and conversation.
    pub fn flow(&mut self, f: &FlowRecord) {
        let (p, b) = (f.packets(), f.bytes());
        self.hosts.add(&f.client.ip, b, p);
        if f.server.ip != f.client.ip {
            self.hosts.add(&f.server.ip, b, p);
        }
        let pair = if f.client.ip <= f.server.ip {
            (f.client.ip, f.server.ip)
        } else {
            (f.server.ip, f.client.ip)
        };
        self.conversations.add(&pair, b, p);
    }

    /// Count the names an event carries.
    pub fn event(&mut self, e: &AppEvent) {
        match e {
            AppEvent::Dns(d) => {
                for q in &d.questions {
                    let name = q.name.as_str();
                    if name.bytes().any(|c| c.is_ascii_uppercase()) {
                        self.dns_names.add(&name.to_ascii_lowercase(), 1, 0);
                    } else {
                        self.dns_names.add(name, 1, 0);
                    }
                }
            }
            AppEvent::Http(h) => {
                if let HttpMessage::Request {
                    host: Some(host), ..
                } = &h.message
                {
                    self.http_hosts.add(host, 1, 0);
                }
            }
            AppEvent::Tls(t) => {
                if let TlsMessage::ClientHello(ch) = &t.message {
                    if let Some(sni) = &ch.server_name {
                        self.tls_snis.add(sni, 1, 0);
                    }
                }
            }
            AppEvent::Ssh(s) => self.ssh_software.add(&s.software, 1, 0),
            _ => {}
        }
    }

    fn untracked(&self) -> BTreeMap<String, u64> {
        [
            ("hosts", self.hosts.replaced()),
            ("conversations", self.conversations.replaced()),
            ("dns_query_names", self.dns_names.replaced()),
            ("http_hosts", self.http_hosts.replaced()),
            ("tls_server_names", self.tls_snis.replaced()),
            ("ssh_software", self.ssh_software.replaced()),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), n))
        .collect()
    }
}

fn names(t: &HeavyHitters<String>, top: usize) -> Vec<NameCount> {
    t.top(top)
        .into_iter()
        .map(|(name, c)| NameCount {
            name,
            count: c.weight,
            undercount: c.error,
        })
        .collect()
}

fn sorted(m: HashMap<&'static str, u64>) -> BTreeMap<String, u64> {
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Build the summary from the summed shard counts and the stage's tables.
pub(crate) fn build_summary(
    counts: ShardCounts,
    tables: &StageTables,
    findings: &FindingStore,
    top: usize,
    inputs: Vec<InputReport>,
    decode: DecodeReport,
) -> Summary {
    Summary {
        inputs,
        time: counts.time,
        duration_s: counts
            .time
            .map(|t| t.duration().as_secs_f64())
            .unwrap_or(0.0),
        packets: counts.packets,
        bytes: counts.bytes,
        network: NETWORK_NAMES
            .iter()
            .zip(counts.network)
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        transport: TRANSPORT_NAMES
            .iter()
            .zip(counts.transport)
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        flows: FlowSummary {
            total: counts.flows,
            by_transport: (TRANSPORTS.iter().zip(counts.flows_by_transport))
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| (t.name().to_string(), n))
                .collect(),
            by_app_protocol: counts
                .flows_by_app
                .into_iter()
                .map(|(k, v)| (k.name().to_string(), v))
                .collect(),
            tcp_conn_states: sorted(counts.conn_states),
        },
        events: sorted(counts.events),
        top_talkers: tables
            .hosts
            .top(top)
            .into_iter()
            .map(|(ip, c)| Talker {
                ip,
                packets: c.other,
                bytes: c.weight,
                undercount: c.error,
            })
            .collect(),
        top_conversations: tables
            .conversations
            .top(top)
            .into_iter()
            .map(|((a, b), c)| Conversation {
                a,
                b,
                packets: c.other,
                bytes: c.weight,
                undercount: c.error,
            })
            .collect(),
        dns_query_names: names(&tables.dns_names, top),
        http_hosts: names(&tables.http_hosts, top),
        tls_server_names: names(&tables.tls_snis, top),
        ssh_software: names(&tables.ssh_software, top),
        untracked: tables.untracked(),
        decode,
        findings: findings.summary(top),
        cancelled: false,
        memory: MemoryReport::default(),
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputReport {
    /// Path as given.
    pub path: String,
    /// `pcap`, `pcapng`, or `live`.
    pub format: String,
    /// Packets read.
    pub packets: u64,
    /// Warnings (truncation, skipped records, unknown link types).
    pub warnings: Vec<String>,
    /// The error that stopped reading it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl InputReport {
    /// A report for `path`, before anything is read.
    pub fn named(path: String) -> Self {
        InputReport {
            path,
            format: String::new(),
            packets: 0,
            warnings: Vec::new(),
            error: None,
        }
    }
}

/// Decoder counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DecodeReport {
    /// Packets that could not be decoded, by reason.
    pub errors: BTreeMap<String, u64>,
    /// Other decoder statistics (fragments, TCP gaps, evictions, …).
    pub counters: BTreeMap<String, u64>,
}

/// A name and how often it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameCount {
    /// The name.
    pub name: String,
    /// Times seen (short of the true count by at most `undercount`).
    pub count: u64,
    /// How much `count` may fall short once the table was full (0: exact).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub undercount: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One host's share of the traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Talker {
    /// Address.
    pub ip: IpAddr,
    /// Packets sent and received.
    pub packets: u64,
    /// Bytes sent and received (short by at most `undercount`).
    pub bytes: u64,
    /// How much `bytes` may fall short once the table was full (0: exact).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub undercount: u64,
}

/// Traffic between two hosts, all flows together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Lower address.
    pub a: IpAddr,
    /// Higher address.
    pub b: IpAddr,
    /// Packets both ways.
    pub packets: u64,
    /// Bytes both ways (short by at most `undercount`).
    pub bytes: u64,
    /// How much `bytes` may fall short once the table was full (0: exact).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub undercount: u64,
}

/// Flow totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// Flow records emitted.
    pub total: u64,
    /// By transport.
    pub by_transport: BTreeMap<String, u64>,
    /// By application protocol.
    pub by_app_protocol: BTreeMap<String, u64>,
    /// TCP flows by Zeek-style connection state.
    pub tcp_conn_states: BTreeMap<String, u64>,
}

/// Findings totals and the most severe ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingSummary {
    /// Distinct findings (one per activity, however often it was updated).
    pub total: u64,
    /// By severity (each activity at its latest severity).
    pub by_severity: BTreeMap<String, u64>,
    /// The most severe, earliest first within a severity.
    pub top: Vec<Finding>,
    /// Findings made but not kept for the log (less severe than the
    /// kept ones once the store was full); counted above all the same.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub not_kept: u64,
    /// Versions made in all (a finding re-emitted as its activity grew
    /// counts once per version).
    #[serde(default)]
    pub versions: u64,
}

/// The run summary document (`--format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Inputs, in the order read.
    pub inputs: Vec<InputReport>,
    /// First and last packet time.
    pub time: Option<TimeRange>,
    /// Capture duration in seconds.
    pub duration_s: f64,
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// Packets by network layer.
    pub network: BTreeMap<String, u64>,
    /// IP packets by transport.
    pub transport: BTreeMap<String, u64>,
    /// Flow totals.
    pub flows: FlowSummary,
    /// Application events by kind.
    pub events: BTreeMap<String, u64>,
    /// Hosts by bytes.
    pub top_talkers: Vec<Talker>,
    /// Host pairs by bytes.
    pub top_conversations: Vec<Conversation>,
    /// Most queried DNS names.
    pub dns_query_names: Vec<NameCount>,
    /// Most requested HTTP hosts.
    pub http_hosts: Vec<NameCount>,
    /// Most seen TLS server names (SNI).
    pub tls_server_names: Vec<NameCount>,
    /// SSH software seen.
    pub ssh_software: Vec<NameCount>,
    /// Keys each top table dropped once full (absent: every count exact).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub untracked: BTreeMap<String, u64>,
    /// Decoder statistics.
    pub decode: DecodeReport,
    /// Findings.
    pub findings: FindingSummary,
    /// The run was cancelled before the end of its input: everything above
    /// covers what was read until then.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub cancelled: bool,
    /// The memory budget and what was used of it.
    #[serde(default)]
    pub memory: MemoryReport,
}

/// The run's memory budget and the most used of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MemoryReport {
    /// The budget in bytes.
    pub limit: u64,
    /// The protocol engines' peaks, summed over threads (flow tables,
    /// stream and parser buffers, fragments).
    pub engines_peak: u64,
    /// The most the detection stage's analysers said they held at once.
    pub analyzers_peak: u64,
    /// The most the summary's top tables (hosts, conversations, names)
    /// held, checked once a second of packet time; they are sized to stay
    /// within a quarter of the analysers' share of the budget.
    #[serde(default)]
    pub tables_peak: u64,
    /// The most the `dns.jsonl` writers' unanswered-query tables held
    /// (queries awaiting their response, to write again those that get
    /// none), summed over threads; bounded at 65,536 queries a writer.
    #[serde(default)]
    pub dns_unanswered_peak: u64,
    /// Queries those tables left untracked because they were full (never
    /// written again as unanswered).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dns_unanswered_untracked: u64,
    /// The peak resident set size of the whole process when the run ended,
    /// in bytes (Linux's `VmHWM`; absent elsewhere). It covers everything
    /// the process holds — the program embedding the library, buffers,
    /// allocator slack — which the two estimates above do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_peak_rss: Option<u64>,
}

impl MemoryReport {
    /// The peak resident set size of this process so far, in bytes, as
    /// Linux reports it (`VmHWM` in `/proc/self/status`); `None` where
    /// that file does not exist or does not say.
    pub fn read_process_peak_rss() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sized_to_their_budget() {
        for budget in [1 << 20, 3 << 20, 16 << 20, 32 << 20] {
            let m = StageTables::capacity_for_budget(budget, DEFAULT_TOP_TABLE_CAPACITY);
            assert!(StageTables::worst_case_bytes(m) <= budget, "{budget}: {m}");
            assert!(
                StageTables::worst_case_bytes(m + 1) > budget,
                "{budget}: {m}"
            );
        }
        // a large budget stops at the most asked for
        assert_eq!(StageTables::capacity_for_budget(1 << 40, 5_000), 5_000);
        // the default budget's quarter of the analysers' fifth
        let default = StageTables::capacity_for_budget(
            (crate::DEFAULT_MEMORY_LIMIT - crate::DEFAULT_MEMORY_LIMIT / 5 * 4) / 4,
            DEFAULT_TOP_TABLE_CAPACITY,
        );
        assert!((5_000..=50_000).contains(&default), "{default}");
    }
}
