//! Tunnels and protocol/port mismatches.
//!
//! - `icmp_tunnel` (from packets): ICMP echo traffic between two hosts that
//!   carries data. Ping tools send one payload size per run (56 bytes from
//!   Linux `ping`, 32 from Windows) and the reply echoes the request; a
//!   tunnel (ptunnel, icmpsh, hans) sends whatever the inner stream needs.
//!   PacketInfo carries no payload bytes, so entropy cannot be measured:
//!   the detector uses sizes, volume and echo/reply asymmetry. It reports at
//!   `min_packets` echo packets carrying `min_payload_bytes` in
//!   `min_distinct_sizes` or more distinct payload sizes.
//!   Confidence: `sat(sizes / min_distinct_sizes) × (0.6 + 0.4 ×
//!   asymmetry)`, asymmetry being `|request bytes − reply bytes| / max`.
//! - `protocol_port_mismatch` (from flow records): an application protocol
//!   identified by content on a port that belongs to another — SSH not on
//!   22/2222, HTTP on 443/22/53, TLS on 22/53, DNS off 53/5353/5355, or
//!   anything identified but DNS on 53: ways through a firewall that
//!   filters by port. Confidence 0.8 (identification is by content).
//!
//! ATT&CK: T1095 Non-Application Layer Protocol and T1572 Protocol
//! Tunneling (ICMP), T1571 Non-Standard Port (mismatch).
//!
//! Known false positives: path-MTU tools that vary ping sizes (`ping -s`
//! sweeps), monitoring that pings with several sizes; SSH servers moved to
//! another port on purpose (allow-list them). Blind spots: a tunnel that
//! pads every packet to one size.
//!
//! - `high_entropy_payload` (from payload bytes, [`PayloadEntropy`], an
//!   inspector): the first bytes of each direction of flows to cleartext
//!   ports, when near-random and not the port's own protocol.

use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppProto, Comparison, Direction, Duration, Endpoint, EntityRole, EntityValue,
    Finding, FindingCategory, FindingSink, FlowId, FlowRecord, FlowRef, Inspector, InspectorOutput,
    Interests, PacketInfo, PayloadContext, Severity, TimeRange, Timestamp, Transport,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet};

const PRODUCER: &str = "netsec-detect/tunnel";

/// Tunnel settings (`[tunnel]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TunnelConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most ICMP pairs tracked at once.
    pub capacity: usize,
    /// An ICMP exchange idle this long is over.
    pub window_secs: f64,
    /// Echo requests and replies, at least (ours: 20).
    pub min_packets: u64,
    /// IP bytes both ways, at least (ours: 8 KiB; 20 pings of 56 bytes are 1.7 KiB).
    pub min_payload_bytes: u64,
    /// Distinct payload sizes, at least (a ping run has one).
    pub min_distinct_sizes: u64,
    /// Report protocol/port mismatches.
    pub port_mismatch: bool,
    /// Ports where SSH is expected.
    pub ssh_ports: Vec<u16>,
    /// Measure the entropy of the first payload bytes of flows to
    /// `cleartext_ports` (`high_entropy_payload`; an inspector, reading
    /// payload bytes).
    pub entropy: bool,
    /// Ports whose protocols are cleartext: FTP 21, Telnet 23, SMTP 25,
    /// HTTP 80, POP3 110, IMAP 143 (DNS over TCP is left out: binary).
    pub cleartext_ports: Vec<u16>,
    /// Payload bytes examined per direction, from the first segments.
    pub entropy_bytes: usize,
    /// Bytes a direction must have carried to be judged (at its end).
    pub entropy_min_bytes: usize,
    /// Shannon entropy, bits per byte, at which a direction is flagged
    /// (random bytes: about 7.2 over 256 bytes, 7.6 over 512; HTTP headers
    /// and mail text 4-5.5).
    pub entropy_threshold: f64,
    /// Most flows examined at once.
    pub entropy_capacity: usize,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            enabled: true,
            capacity: 50_000,
            window_secs: 120.0,
            min_packets: 20,
            min_payload_bytes: 8192,
            min_distinct_sizes: 5,
            port_mismatch: true,
            ssh_ports: vec![22, 2222],
            entropy: true,
            cleartext_ports: vec![21, 23, 25, 80, 110, 143],
            entropy_bytes: 512,
            entropy_min_bytes: 256,
            entropy_threshold: 7.0,
            entropy_capacity: 20_000,
        }
    }
}

#[derive(Debug, Clone)]
struct Echo {
    time: TimeRange,
    requests: u64,
    replies: u64,
    request_bytes: u64,
    reply_bytes: u64,
    sizes: CappedSet<u32>,
    flows: FlowSample,
    growth: Growth,
}

/// Detects ICMP tunnels and protocols on other protocols' ports.
#[derive(Debug)]
pub struct TunnelDetector {
    config: TunnelConfig,
    network: NetworkConfig,
    /// (requester, responder)
    echoes: BoundedTable<(IpAddr, IpAddr), Echo>,
}

impl TunnelDetector {
    /// A detector with these settings.
    pub fn new(config: TunnelConfig, network: NetworkConfig) -> Self {
        TunnelDetector {
            echoes: BoundedTable::new(config.capacity, Duration::from_secs_f64(config.window_secs)),
            config,
            network,
        }
    }

    /// Entries evicted from the full table so far.
    pub fn evicted(&self) -> u64 {
        self.echoes.evicted()
    }

    fn crossed(&self, e: &Echo) -> bool {
        e.requests + e.replies >= self.config.min_packets
            && e.request_bytes + e.reply_bytes >= self.config.min_payload_bytes
            && e.sizes.count() >= self.config.min_distinct_sizes
    }

    fn icmp_finding(&self, client: IpAddr, server: IpAddr, e: &Echo) -> Finding {
        let total = e.request_bytes + e.reply_bytes;
        let asymmetry = e.request_bytes.abs_diff(e.reply_bytes) as f64
            / e.request_bytes.max(e.reply_bytes).max(1) as f64;
        let sizes = e.sizes.count();
        let f = Finding::new(
            "icmp_tunnel",
            format!("ICMP tunnel {client} ↔ {server}"),
            FindingCategory::Tunneling,
            self.network.severity_for(Some(client), Severity::High),
            saturate(sizes as f64, self.config.min_distinct_sizes as f64) * (0.6 + 0.4 * asymmetry),
            e.time,
            PRODUCER,
        )
        .with_id(format!("{client}->{server}"))
        .with_mitre(["T1095", "T1572"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: client })
        .with_entity(EntityRole::Related, EntityValue::Host { ip: server })
        .with_measurement("echo_packets", (e.requests + e.replies) as f64, "packets", Comparison::GreaterOrEqual, self.config.min_packets as f64)
        .with_measurement("payload_bytes", total as f64, "bytes", Comparison::GreaterOrEqual, self.config.min_payload_bytes as f64)
        .with_measurement("distinct_payload_sizes", sizes as f64, "sizes", Comparison::GreaterOrEqual, self.config.min_distinct_sizes as f64)
        .with_value("echo_reply_byte_asymmetry", asymmetry, "")
        .with_value("requests", e.requests as f64, "packets")
        .with_value("replies", e.replies as f64, "packets")
        .with_summary(format!(
            "{} echo requests ({} bytes) and {} replies ({} bytes) between {client} and {server} in {:.1} s, {sizes} distinct payload sizes (a ping run has 1)",
            e.requests,
            e.request_bytes,
            e.replies,
            e.reply_bytes,
            e.time.duration().as_secs_f64()
        ));
        e.flows.attach(f)
    }

    fn mismatch(&self, flow: &FlowRecord) -> Option<&'static str> {
        let port = flow.server.port;
        match flow.app_proto {
            AppProto::Ssh if !self.config.ssh_ports.contains(&port) => {
                Some("SSH on a port other than SSH's")
            }
            AppProto::Http if matches!(port, 443 | 22 | 53) => {
                Some("cleartext HTTP on a port of TLS, SSH or DNS")
            }
            AppProto::Tls if matches!(port, 22 | 53) => Some("TLS on the SSH or DNS port"),
            AppProto::Dns if !matches!(port, 53 | 5353 | 5355) => {
                Some("DNS on a port other than DNS's")
            }
            AppProto::Dns | AppProto::Unknown => None,
            _ if port == 53 => Some("a protocol other than DNS on port 53"),
            _ => None,
        }
    }

    fn mismatch_finding(&self, flow: &FlowRecord, why: &str) -> Finding {
        let proto = flow.app_proto.name();
        let port = flow.server.port;
        let transport = flow.transport.name();
        Finding::new(
            "protocol_port_mismatch",
            format!(
                "{} on {transport}/{port} from {}",
                proto.to_uppercase(),
                flow.client.ip
            ),
            FindingCategory::Tunneling,
            self.network
                .severity_for(Some(flow.server.ip), Severity::Medium),
            0.8,
            flow.time,
            PRODUCER,
        )
        .with_id(format!(
            "{}->{}/{transport}:{proto}",
            flow.client.ip, flow.server
        ))
        .with_mitre(["T1571"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: flow.client.ip })
        .with_entity(
            EntityRole::Related,
            EntityValue::Service {
                endpoint: flow.server,
                transport: transport.into(),
            },
        )
        .with_fact("app_proto", proto)
        .with_fact("port", format!("{transport}/{port}"))
        .with_flow(flow.reference())
        .with_summary(format!(
            "{} spoke {proto} to {} ({why}); identified by content",
            flow.client, flow.server
        ))
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let ended = self.echoes.ended(all, now);
        for ((client, server), mut e) in ended {
            let n = e.requests + e.replies;
            if self.crossed(&e) && (e.growth.stale(n) || !e.growth.reported()) {
                e.growth.mark(n);
                out.finding(self.icmp_finding(client, server, &e));
            }
        }
    }
}

impl Analyzer for TunnelDetector {
    fn name(&self) -> &'static str {
        "tunnel"
    }

    fn interests(&self) -> Interests {
        Interests {
            packets: true,
            flows: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.echoes])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(&mut [&mut self.echoes], bytes);
    }

    fn on_packet(&mut self, packet: &PacketInfo, out: &mut dyn FindingSink) {
        let Some(ip) = packet.ip else { return };
        let (request, reply) = match ip.transport {
            Transport::Icmp => (8, 0),
            Transport::Icmpv6 => (128, 129),
            _ => return,
        };
        let is_request = ip.src_port == request;
        if !is_request && ip.src_port != reply {
            return;
        }
        let (client, server) = if is_request {
            (ip.src, ip.dst)
        } else {
            (ip.dst, ip.src)
        };
        if self.network.is_allowed(client, Some(server)) {
            return;
        }
        let e = self.echoes.touch((client, server), packet.ts, || Echo {
            time: TimeRange::at(packet.ts),
            requests: 0,
            replies: 0,
            request_bytes: 0,
            reply_bytes: 0,
            sizes: CappedSet::default(),
            flows: FlowSample::default(),
            growth: Growth::default(),
        });
        e.time.extend(packet.ts);
        // sizes from the IP header: a snap length cuts what was captured
        let payload = u64::from(ip.ip_len);
        if is_request {
            e.requests += 1;
            e.request_bytes += payload;
        } else {
            e.replies += 1;
            e.reply_bytes += payload;
        }
        e.sizes.insert(ip.ip_len, 256);
        if e.flows.total() == 0 {
            e.flows.add_packet(
                netsec_model::Endpoint::new(client, request),
                netsec_model::Endpoint::new(server, 0),
                ip.transport,
                packet.ts,
            );
        }
        let n = e.requests + e.replies;
        let crossed = n >= self.config.min_packets
            && e.request_bytes + e.reply_bytes >= self.config.min_payload_bytes
            && e.sizes.count() >= self.config.min_distinct_sizes;
        if crossed && e.growth.due(n) {
            let snapshot = e.clone();
            out.finding(self.icmp_finding(client, server, &snapshot));
        }
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if !self.config.port_mismatch
            || self
                .network
                .is_allowed(flow.client.ip, Some(flow.server.ip))
        {
            return;
        }
        if let Some(why) = self.mismatch(flow) {
            out.finding(self.mismatch_finding(flow, why));
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

/// The first payload bytes of one direction, kept as they came and counted
/// when judged: a flow holds what it sent (an HTTP request's hundred or so
/// bytes), not two 256-counter histograms (1 KB a flow, 18.6 MB with the
/// live flows of many short HTTP connections), and nothing once judged.
#[derive(Debug, Clone, Default)]
struct Histogram {
    bytes: Vec<u8>,
    /// Judged (flagged or not): nothing more is kept.
    done: bool,
}

impl Histogram {
    fn add(&mut self, payload: &[u8], limit: usize) {
        let room = limit.saturating_sub(self.bytes.len());
        let take = payload.get(..room).unwrap_or(payload);
        self.bytes.reserve_exact(take.len());
        self.bytes.extend_from_slice(take);
    }

    /// Bytes counted.
    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Shannon entropy of the bytes counted, bits per byte.
    fn entropy(&self) -> f64 {
        let mut counts = [0u16; 256];
        for b in &self.bytes {
            if let Some(c) = counts.get_mut(usize::from(*b)) {
                *c = c.saturating_add(1);
            }
        }
        shannon_entropy(&counts, self.bytes.len() as u64)
    }
}

/// Shannon entropy (bits per symbol) of a histogram of `total` symbols.
pub fn shannon_entropy(counts: &[u16], total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let n = total as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A flow to a cleartext port being examined.
#[derive(Debug, Clone)]
struct Examined {
    client: Endpoint,
    server: Endpoint,
    community_id: String,
    first: Timestamp,
    /// To the server, to the client.
    directions: [Histogram; 2],
}

/// High-entropy payloads on cleartext ports (`high_entropy_payload`): an
/// [`Inspector`], one per shard, reading the first `entropy_bytes` payload
/// bytes of each direction of the flows to `cleartext_ports`.
///
/// A direction is flagged when at least `entropy_min_bytes` were counted,
/// their Shannon entropy is `entropy_threshold` bits per byte or more, and
/// the flow was not identified as the port's own protocol (HTTP on 80, FTP
/// on 21, SMTP on 25). Encrypted or compressed data sent raw (a tunnel, an
/// `openssl enc` stream, exfiltration through a port a firewall leaves open)
/// is near 8 bits per byte from its first byte; a compressed HTTP body comes
/// after headers of 4-5.5, so the first bytes of the stream stay low.
/// Confidence `0.5 + 0.5 × clamp((H − threshold) / (8 − threshold), 0, 1)`.
/// ATT&CK T1001 Data Obfuscation, T1571 Non-Standard Port.
#[derive(Debug)]
pub struct PayloadEntropy {
    config: TunnelConfig,
    network: NetworkConfig,
    flows: BoundedTable<FlowId, Examined>,
}

impl PayloadEntropy {
    /// An inspector with these settings.
    pub fn new(config: TunnelConfig, network: NetworkConfig) -> Self {
        PayloadEntropy {
            // The Community ID and, at most, each direction's bytes.
            flows: BoundedTable::new(config.entropy_capacity, Duration::from_secs(600))
                .with_heap(64 + 2 * config.entropy_bytes.clamp(1, usize::from(u16::MAX))),
            config,
            network,
        }
    }

    /// Flows evicted from the full table so far.
    pub fn evicted(&self) -> u64 {
        self.flows.evicted()
    }

    fn expected(port: u16) -> Option<AppProto> {
        match port {
            80 => Some(AppProto::Http),
            21 => Some(AppProto::Ftp),
            25 => Some(AppProto::Smtp),
            _ => None,
        }
    }

    /// Judge one direction, if it has enough bytes (or the flow ended).
    fn judge(
        &self,
        e: &Examined,
        direction: usize,
        app_proto: AppProto,
        out: &mut InspectorOutput,
    ) {
        let Some(h) = e.directions.get(direction) else {
            return;
        };
        if h.len() < self.config.entropy_min_bytes {
            return;
        }
        if Self::expected(e.server.port) == Some(app_proto) {
            return;
        }
        let entropy = h.entropy();
        let t = self.config.entropy_threshold;
        if entropy < t {
            return;
        }
        let confidence = 0.5 + 0.5 * ((entropy - t) / (8.0 - t).max(0.01)).clamp(0.0, 1.0);
        let (from, to, way) = if direction == 0 {
            (e.client, e.server, "to_server")
        } else {
            (e.server, e.client, "to_client")
        };
        let flow = FlowRef {
            community_id: Some(e.community_id.clone()),
            flow_id: None,
            client: e.client,
            server: e.server,
            transport: Transport::Tcp,
            time: TimeRange::at(e.first),
        };
        let f = Finding::new(
            "high_entropy_payload",
            format!(
                "{entropy:.2} bits/byte from {from} to {to} on cleartext port {}",
                e.server.port
            ),
            FindingCategory::Tunneling,
            self.network.severity_for(Some(e.server.ip), Severity::Medium),
            confidence,
            TimeRange::at(e.first),
            PRODUCER,
        )
        .with_id(format!("{}->{}:{way}", e.client.ip, e.server))
        .with_mitre(["T1001", "T1571"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: e.client.ip })
        .with_entity(
            EntityRole::Related,
            EntityValue::Service {
                endpoint: e.server,
                transport: "tcp".into(),
            },
        )
        .with_measurement(
            "entropy",
            entropy,
            "bits/byte",
            Comparison::GreaterOrEqual,
            t,
        )
        .with_measurement(
            "bytes_examined",
            h.len() as f64,
            "bytes",
            Comparison::GreaterOrEqual,
            self.config.entropy_min_bytes as f64,
        )
        .with_fact("direction", way)
        .with_fact("app_proto", app_proto.name())
        .with_fact("port", format!("tcp/{}", e.server.port))
        .with_flow(flow)
        .with_summary(format!(
            "the first {} payload bytes {from} → {to} have {entropy:.2} bits of entropy per byte (>= {t}; text and protocol headers 4-5.5, random 8) on port {}, which carries a cleartext protocol; content identified as {}",
            h.len(),
            e.server.port,
            app_proto.name()
        ));
        out.findings.push(f);
    }
}

impl Inspector for PayloadEntropy {
    fn name(&self) -> &'static str {
        "tunnel-entropy"
    }

    fn memory_used(&self) -> usize {
        self.flows.memory_used()
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        self.flows.limit_bytes(bytes);
    }

    fn on_payload(
        &mut self,
        packet: &PacketInfo,
        flow: &PayloadContext<'_>,
        payload: &[u8],
        out: &mut InspectorOutput,
    ) {
        let Some(ip) = packet.ip else { return };
        if payload.is_empty() || ip.transport != Transport::Tcp {
            return;
        }
        let to_server = flow.direction == Direction::ToServer;
        let (client, server) = if to_server {
            (
                Endpoint::new(ip.src, ip.src_port),
                Endpoint::new(ip.dst, ip.dst_port),
            )
        } else {
            (
                Endpoint::new(ip.dst, ip.dst_port),
                Endpoint::new(ip.src, ip.src_port),
            )
        };
        if !self.config.cleartext_ports.contains(&server.port)
            || self.network.is_allowed(client.ip, Some(server.ip))
        {
            return;
        }
        let limit = self.config.entropy_bytes.clamp(1, usize::from(u16::MAX));
        let direction = usize::from(!to_server);
        let e = self.flows.touch(flow.flow_id, packet.ts, || Examined {
            client,
            server,
            community_id: flow.community_id.to_string(),
            first: packet.ts,
            directions: Default::default(),
        });
        let Some(h) = e.directions.get_mut(direction) else {
            return;
        };
        if h.done {
            return;
        }
        h.add(payload, limit);
        if h.len() >= limit {
            h.done = true;
            // Judged once: the bytes leave the table with the judgement.
            let judged = Histogram {
                bytes: std::mem::take(&mut h.bytes),
                done: true,
            };
            let mut snapshot = Examined {
                client: e.client,
                server: e.server,
                community_id: e.community_id.clone(),
                first: e.first,
                directions: Default::default(),
            };
            if let Some(d) = snapshot.directions.get_mut(direction) {
                *d = judged;
            }
            self.judge(&snapshot, direction, flow.app_proto, out);
        }
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut InspectorOutput) {
        if let Some(e) = self.flows.remove(&flow.id) {
            for direction in 0..2 {
                if e.directions.get(direction).is_some_and(|h| !h.done) {
                    self.judge(&e, direction, flow.app_proto, out);
                }
            }
        }
    }

    fn on_tick(&mut self, now: Timestamp, _out: &mut InspectorOutput) {
        self.flows.expire(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ep;

    /// An echo request 10.0.0.5 → 198.51.100.7 or its reply, `payload` bytes of IP.
    fn echo(ts: f64, request: bool, payload: u32) -> PacketInfo {
        let (a, b) = (ep(0x0a00_0005, 8), ep(0xc633_6407, 0));
        let (src, dst) = if request {
            (a, b)
        } else {
            (ep(0xc633_6407, 0), ep(0x0a00_0005, 0))
        };
        crate::fixtures::packet(ts, src, dst, Transport::Icmp, 0, payload)
    }

    #[test]
    fn a_long_ping_run_is_not_a_tunnel() {
        let mut d = TunnelDetector::new(TunnelConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..600 {
            d.on_packet(&echo(f64::from(i), true, 1400), &mut out);
            d.on_packet(&echo(f64::from(i) + 0.001, false, 1400), &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn varying_sizes_with_volume_are_a_tunnel() {
        let mut d = TunnelDetector::new(TunnelConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..100u32 {
            d.on_packet(&echo(f64::from(i) * 0.05, true, 40 + (i % 7) * 3), &mut out);
            d.on_packet(
                &echo(f64::from(i) * 0.05 + 0.01, false, 1024 - (i % 5) * 100),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(out
            .iter()
            .any(|f| f.kind == "icmp_tunnel" && f.id == "icmp_tunnel:10.0.0.5->198.51.100.7"));
    }

    #[test]
    fn entropy_of_text_is_low_and_of_random_bytes_high() {
        let mut text = Histogram::default();
        text.add(
            b"GET /index.html HTTP/1.1\r\nHost: intranet.lab\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
            512,
        );
        assert!((3.0..5.5).contains(&text.entropy()), "{}", text.entropy());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let random: Vec<u8> = (0..600)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let mut h = Histogram::default();
        h.add(&random, 512);
        assert_eq!(h.len(), 512, "counting stops at the limit");
        assert!(h.entropy() > 7.4, "{}", h.entropy());
        assert_eq!(shannon_entropy(&[4, 4], 8), 1.0);
        assert_eq!(shannon_entropy(&[0; 256], 0), 0.0);
    }

    #[test]
    fn examined_flows_are_capped_and_only_cleartext_ports_are_kept() {
        use netsec_model::{FlowId, PayloadContext, TcpFlags};
        let config = TunnelConfig {
            entropy_capacity: 100,
            ..TunnelConfig::default()
        };
        let mut inspector = PayloadEntropy::new(config, NetworkConfig::default());
        let mut out = InspectorOutput::default();
        let bytes = [0x41u8; 100];
        for i in 0..5000u32 {
            let port = if i % 2 == 0 { 80 } else { 443 };
            let p = crate::fixtures::packet(
                f64::from(i) * 0.001,
                ep(0x0a00_0000 | i, 40000),
                ep(0x0a01_0001, port),
                Transport::Tcp,
                TcpFlags::ACK,
                140,
            );
            let ctx = PayloadContext {
                flow_id: FlowId(u64::from(i)),
                community_id: "1:x",
                direction: Direction::ToServer,
                established: true,
                app_proto: AppProto::Unknown,
                handshake_seen: true,
            };
            inspector.on_payload(&p, &ctx, &bytes, &mut out);
        }
        assert_eq!(inspector.flows.len(), 100);
        // 2500 flows to port 80, 100 kept: the rest evicted; port 443 never kept
        assert_eq!(inspector.evicted(), 2400);
        assert!(out.findings.is_empty(), "one repeated byte has no entropy");
        inspector.set_memory_budget(inspector.memory_used() / 2);
        assert_eq!(inspector.flows.len(), 50);
    }
}
