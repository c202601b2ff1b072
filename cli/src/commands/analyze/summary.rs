//! The run summary: what a responder reads in ten seconds, and the same as
//! one JSON document for scripts.
//!
//! Everything here is aggregated from the pipeline's outputs (packet views,
//! events, flow records, findings) with bounded tables; per-host and
//! per-conversation totals come from flow records, so the per-packet cost is
//! a few counter increments.

/// Counter maps hashed with aHash: keys are counted per flow and event, and
/// SipHash's resistance is not needed for tables that are bounded anyway.
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
use std::fmt::Write as _;
use std::net::IpAddr;

use netsec_model::{
    AppEvent, AppProto, Finding, FlowRecord, HttpMessage, PacketInfo, Severity, TimeRange,
    TlsMessage, Transport,
};
use serde::Serialize;

/// Most distinct keys kept in each "top" table (hosts, conversations, names).
/// Past it new keys are counted in `untracked` rather than stored.
const TOP_TABLE_CAPACITY: usize = 100_000;
/// Most findings kept for the summary (all are written to findings.jsonl).
const FINDINGS_KEPT: usize = 1_000;

/// A bounded counter table keyed by `K`.
#[derive(Debug, Clone)]
pub struct TopTable<K> {
    counts: HashMap<K, (u64, u64)>,
    /// Packets and bytes for keys that arrived after the table was full.
    untracked: (u64, u64),
}

impl<K: std::hash::Hash + Eq + Clone + Ord> TopTable<K> {
    fn new() -> Self {
        TopTable {
            counts: HashMap::default(),
            untracked: (0, 0),
        }
    }

    fn add(&mut self, key: &K, packets: u64, bytes: u64) {
        if let Some(c) = self.counts.get_mut(key) {
            c.0 += packets;
            c.1 += bytes;
        } else if self.counts.len() < TOP_TABLE_CAPACITY {
            self.counts.insert(key.clone(), (packets, bytes));
        } else {
            self.untracked.0 += packets;
            self.untracked.1 += bytes;
        }
    }

    fn merge(&mut self, other: TopTable<K>) {
        for (k, (p, b)) in other.counts {
            self.add(&k, p, b);
        }
        self.untracked.0 += other.untracked.0;
        self.untracked.1 += other.untracked.1;
    }

    /// The `n` largest by bytes, ties broken by key so output is deterministic.
    fn top_by_bytes(&self, n: usize) -> Vec<(K, u64, u64)> {
        let mut v: Vec<(K, u64, u64)> = self
            .counts
            .iter()
            .map(|(k, (p, b))| (k.clone(), *p, *b))
            .collect();
        let order = |a: &(K, u64, u64), b: &(K, u64, u64)| {
            b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0))
        };
        if v.len() > n && n > 0 {
            v.select_nth_unstable_by(n - 1, order);
        }
        v.truncate(n);
        v.sort_by(order);
        v
    }

    /// The `n` largest by count (the first counter), ties broken by key.
    fn top_by_count(&self, n: usize) -> Vec<(K, u64)> {
        let mut v: Vec<(K, u64)> = self
            .counts
            .iter()
            .map(|(k, (c, _))| (k.clone(), *c))
            .collect();
        let order = |a: &(K, u64), b: &(K, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if v.len() > n && n > 0 {
            v.select_nth_unstable_by(n - 1, order);
        }
        v.truncate(n);
        v.sort_by(order);
        v
    }
}

/// Everything counted during a run (one per worker thread; merged at the end).
#[derive(Debug, Clone)]
pub struct SummaryBuilder {
    packets: u64,
    bytes: u64,
    time: Option<TimeRange>,
    network: [u64; 4],   // ipv4, ipv6, arp, other
    transport: [u64; 6], // tcp, udp, icmp, icmpv6, sctp, other
    events: HashMap<&'static str, u64>,
    flows: u64,
    flows_by_transport: HashMap<&'static str, u64>,
    flows_by_app: HashMap<AppProto, u64>,
    conn_states: HashMap<&'static str, u64>,
    hosts: TopTable<IpAddr>,
    conversations: TopTable<(IpAddr, IpAddr)>,
    dns_names: TopTable<String>,
    http_hosts: TopTable<String>,
    tls_snis: TopTable<String>,
    ssh_software: TopTable<String>,
    findings_total: u64,
    findings_by_severity: [u64; 5],
    findings: Vec<Finding>,
}

impl Default for SummaryBuilder {
    fn default() -> Self {
        SummaryBuilder {
            packets: 0,
            bytes: 0,
            time: None,
            network: [0; 4],
            transport: [0; 6],
            events: HashMap::default(),
            flows: 0,
            flows_by_transport: HashMap::default(),
            flows_by_app: HashMap::default(),
            conn_states: HashMap::default(),
            hosts: TopTable::new(),
            conversations: TopTable::new(),
            dns_names: TopTable::new(),
            http_hosts: TopTable::new(),
            tls_snis: TopTable::new(),
            ssh_software: TopTable::new(),
            findings_total: 0,
            findings_by_severity: [0; 5],
            findings: Vec::new(),
        }
    }
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
const NETWORK_NAMES: [&str; 4] = ["ipv4", "ipv6", "arp", "other"];

impl SummaryBuilder {
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
        match e {
            AppEvent::Dns(d) => {
                for q in &d.questions {
                    if q.name.bytes().any(|c| c.is_ascii_uppercase()) {
                        self.dns_names.add(&q.name.to_ascii_lowercase(), 1, 0);
                    } else {
                        self.dns_names.add(&q.name, 1, 0);
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

    /// Count one finished flow.
    pub fn flow(&mut self, f: &FlowRecord) {
        self.flows += 1;
        *self
            .flows_by_transport
            .entry(f.transport.name())
            .or_default() += 1;
        *self.flows_by_app.entry(f.app_proto).or_default() += 1;
        if f.transport == Transport::Tcp {
            *self
                .conn_states
                .entry(f.tcp_state.zeek_conn_state())
                .or_default() += 1;
        }
        let (p, b) = (f.packets(), f.bytes());
        self.hosts.add(&f.client.ip, p, b);
        if f.server.ip != f.client.ip {
            self.hosts.add(&f.server.ip, p, b);
        }
        let pair = if f.client.ip <= f.server.ip {
            (f.client.ip, f.server.ip)
        } else {
            (f.server.ip, f.client.ip)
        };
        self.conversations.add(&pair, p, b);
    }

    /// Count one finding.
    pub fn finding(&mut self, f: &Finding) {
        self.findings_total += 1;
        self.findings_by_severity[f.severity as usize] += 1;
        if self.findings.len() < FINDINGS_KEPT {
            self.findings.push(f.clone());
        }
    }

    /// Fold another worker's counts into this one.
    pub fn merge(&mut self, o: SummaryBuilder) {
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
        for i in 0..4 {
            self.network[i] += o.network[i];
        }
        for i in 0..6 {
            self.transport[i] += o.transport[i];
        }
        for (k, v) in o.events {
            *self.events.entry(k).or_default() += v;
        }
        self.flows += o.flows;
        for (k, v) in o.flows_by_transport {
            *self.flows_by_transport.entry(k).or_default() += v;
        }
        for (k, v) in o.flows_by_app {
            *self.flows_by_app.entry(k).or_default() += v;
        }
        for (k, v) in o.conn_states {
            *self.conn_states.entry(k).or_default() += v;
        }
        self.hosts.merge(o.hosts);
        self.conversations.merge(o.conversations);
        self.dns_names.merge(o.dns_names);
        self.http_hosts.merge(o.http_hosts);
        self.tls_snis.merge(o.tls_snis);
        self.ssh_software.merge(o.ssh_software);
        self.findings_total += o.findings_total;
        for i in 0..5 {
            self.findings_by_severity[i] += o.findings_by_severity[i];
        }
        for f in o.findings {
            if self.findings.len() < FINDINGS_KEPT {
                self.findings.push(f);
            }
        }
    }

    /// The finished summary, with the `top` largest of each table.
    pub fn build(mut self, top: usize, inputs: Vec<InputReport>, decode: DecodeReport) -> Summary {
        let sorted = |m: HashMap<&'static str, u64>| {
            let mut v: Vec<(String, u64)> =
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            v.sort();
            v.into_iter().collect::<std::collections::BTreeMap<_, _>>()
        };
        let names = |t: &TopTable<String>| {
            t.top_by_count(top)
                .into_iter()
                .map(|(name, count)| NameCount { name, count })
                .collect::<Vec<_>>()
        };
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.time.start.cmp(&b.time.start))
                .then(a.kind.cmp(&b.kind))
        });
        Summary {
            inputs,
            time: self.time,
            duration_s: self.time.map(|t| t.duration().as_secs_f64()).unwrap_or(0.0),
            packets: self.packets,
            bytes: self.bytes,
            network: NETWORK_NAMES
                .iter()
                .zip(self.network)
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            transport: TRANSPORT_NAMES
                .iter()
                .zip(self.transport)
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            flows: FlowSummary {
                total: self.flows,
                by_transport: sorted(self.flows_by_transport),
                by_app_protocol: self
                    .flows_by_app
                    .into_iter()
                    .map(|(k, v)| (k.name().to_string(), v))
                    .collect(),
                tcp_conn_states: sorted(self.conn_states),
            },
            events: sorted(self.events),
            top_talkers: self
                .hosts
                .top_by_bytes(top)
                .into_iter()
                .map(|(ip, packets, bytes)| Talker { ip, packets, bytes })
                .collect(),
            top_conversations: self
                .conversations
                .top_by_bytes(top)
                .into_iter()
                .map(|((a, b), packets, bytes)| Conversation {
                    a,
                    b,
                    packets,
                    bytes,
                })
                .collect(),
            dns_query_names: names(&self.dns_names),
            http_hosts: names(&self.http_hosts),
            tls_server_names: names(&self.tls_snis),
            ssh_software: names(&self.ssh_software),
            decode,
            findings: FindingSummary {
                total: self.findings_total,
                by_severity: Severity::ALL
                    .iter()
                    .map(|s| (s.name().to_string(), self.findings_by_severity[*s as usize]))
                    .collect(),
                top: self.findings.into_iter().take(top).collect(),
            },
        }
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize, Default)]
pub struct DecodeReport {
    /// Packets that could not be decoded, by reason.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// Other decoder statistics (fragments, TCP gaps, evictions, …).
    pub counters: std::collections::BTreeMap<String, u64>,
}

/// A name and how often it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct NameCount {
    /// The name.
    pub name: String,
    /// Times seen.
    pub count: u64,
}

/// One host's share of the traffic.
#[derive(Debug, Clone, Serialize)]
pub struct Talker {
    /// Address.
    pub ip: IpAddr,
    /// Packets sent and received.
    pub packets: u64,
    /// Bytes sent and received.
    pub bytes: u64,
}

/// Traffic between two hosts, all flows together.
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    /// Lower address.
    pub a: IpAddr,
    /// Higher address.
    pub b: IpAddr,
    /// Packets both ways.
    pub packets: u64,
    /// Bytes both ways.
    pub bytes: u64,
}

/// Flow totals.
#[derive(Debug, Clone, Serialize)]
pub struct FlowSummary {
    /// Flow records emitted.
    pub total: u64,
    /// By transport.
    pub by_transport: std::collections::BTreeMap<String, u64>,
    /// By application protocol.
    pub by_app_protocol: std::collections::BTreeMap<String, u64>,
    /// TCP flows by Zeek-style connection state.
    pub tcp_conn_states: std::collections::BTreeMap<String, u64>,
}

/// Findings totals and the most severe ones.
#[derive(Debug, Clone, Serialize)]
pub struct FindingSummary {
    /// All findings.
    pub total: u64,
    /// By severity.
    pub by_severity: std::collections::BTreeMap<String, u64>,
    /// The most severe, earliest first within a severity.
    pub top: Vec<Finding>,
}

/// The run summary document (`--format json`).
#[derive(Debug, Clone, Serialize)]
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
    pub network: std::collections::BTreeMap<String, u64>,
    /// IP packets by transport.
    pub transport: std::collections::BTreeMap<String, u64>,
    /// Flow totals.
    pub flows: FlowSummary,
    /// Application events by kind.
    pub events: std::collections::BTreeMap<String, u64>,
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
    /// Decoder statistics.
    pub decode: DecodeReport,
    /// Findings.
    pub findings: FindingSummary,
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Summary {
    /// The terminal rendering: a responder's ten-second read.
    pub fn to_text(&self, elapsed_s: f64) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "netsec analyze");
        for i in &self.inputs {
            let _ = writeln!(
                o,
                "  input      {} ({}, {} packets)",
                i.path, i.format, i.packets
            );
            for w in &i.warnings {
                let _ = writeln!(o, "    warning  {w}");
            }
            if let Some(e) = &i.error {
                let _ = writeln!(o, "    error    {e}");
            }
        }
        if let Some(t) = &self.time {
            let _ = writeln!(
                o,
                "  time       {} → {} ({:.1} s)",
                t.start, t.end, self.duration_s
            );
        }
        let _ = writeln!(
            o,
            "  traffic    {} packets, {} ({} flows)",
            self.packets,
            human_bytes(self.bytes),
            self.flows.total
        );
        let nonzero = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(o, "  network    {}", nonzero(&self.network));
        let _ = writeln!(o, "  transport  {}", nonzero(&self.transport));
        let apps: std::collections::BTreeMap<String, u64> = self
            .flows
            .by_app_protocol
            .iter()
            .filter(|(k, _)| k.as_str() != "unknown")
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if !apps.is_empty() {
            let _ = writeln!(o, "  app flows  {}", nonzero(&apps));
        }
        if !self.events.is_empty() {
            let _ = writeln!(o, "  events     {}", nonzero(&self.events));
        }
        if !self.decode.errors.is_empty() {
            let _ = writeln!(o, "  undecoded  {}", nonzero(&self.decode.errors));
        }
        if !self.top_talkers.is_empty() {
            let _ = writeln!(o, "\n  top talkers");
            for t in &self.top_talkers {
                let _ = writeln!(
                    o,
                    "    {:<40} {:>12} {:>10} pkts",
                    t.ip.to_string(),
                    human_bytes(t.bytes),
                    t.packets
                );
            }
        }
        if !self.top_conversations.is_empty() {
            let _ = writeln!(o, "\n  top conversations");
            for c in &self.top_conversations {
                let _ = writeln!(
                    o,
                    "    {:<40} {:>12} {:>10} pkts",
                    format!("{} ↔ {}", c.a, c.b),
                    human_bytes(c.bytes),
                    c.packets
                );
            }
        }
        for (title, list) in [
            ("DNS names", &self.dns_query_names),
            ("HTTP hosts", &self.http_hosts),
            ("TLS server names", &self.tls_server_names),
            ("SSH software", &self.ssh_software),
        ] {
            if !list.is_empty() {
                let items: Vec<String> = list
                    .iter()
                    .map(|n| format!("{} ({})", n.name, n.count))
                    .collect();
                let _ = writeln!(o, "\n  {title}: {}", items.join(", "));
            }
        }
        let _ = writeln!(
            o,
            "\n  findings   {} ({})",
            self.findings.total,
            Severity::ALL
                .iter()
                .rev()
                .map(|s| format!(
                    "{} {}",
                    s.name(),
                    self.findings
                        .by_severity
                        .get(s.name())
                        .copied()
                        .unwrap_or(0)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for f in &self.findings.top {
            let _ = writeln!(
                o,
                "    [{:<8}] {:.2} {} — {}",
                f.severity.name(),
                f.confidence.value(),
                f.title,
                f.evidence.summary
            );
        }
        if elapsed_s > 0.0 {
            let _ = writeln!(
                o,
                "\n  analysed in {:.2} s ({:.2} M packets/s, {}/s)",
                elapsed_s,
                self.packets as f64 / elapsed_s / 1e6,
                human_bytes((self.bytes as f64 / elapsed_s) as u64)
            );
        }
        o
    }
}
