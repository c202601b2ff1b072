//! Floods and reflection, from packet headers, in one-second bins of
//! packet time.
//!
//! - `syn_flood`: bare SYNs to one service (address and port) at
//!   `syn_rate` or more per second, with a half-open ratio of at least
//!   `min_half_open_ratio`: `1 − acks / syns`, where `acks` counts the
//!   segments with ACK (no SYN, no RST) the service received in the same
//!   second. Every real connection sends at least one such segment (its
//!   handshake's last), most several; a flood sends none.
//! - `udp_flood`: UDP datagrams to one host at `udp_rate` per second or more,
//!   concentrated (at least `min_packets_per_port` per destination port, so
//!   that a UDP port scan is not a flood) and nearly unanswered by UDP
//!   (replies ≤ `max_reply_ratio` of requests).
//! - `icmp_flood`: ICMP echo requests to one host at `icmp_rate` per second.
//! - `udp_amplification`: a reflector (a host answering from DNS 53, NTP
//!   123, SSDP 1900, memcached 11211 or CLDAP 389) sending one victim
//!   `min_response_bytes` or more with a response/request byte ratio of
//!   `min_amplification` or more (requests not seen count as a ratio of
//!   infinity: a victim-side capture sees only the answers).
//!
//! Confidence: floods `shape × sat(peak_rate / rate)`, shape being the
//! half-open ratio (SYN), `1 − reply_ratio` (UDP) or 1 (ICMP);
//! amplification `sat(ratio / min_amplification) × sat(bytes /
//! min_response_bytes)`, with `sat(x) = 1 − e^(−x)`.
//!
//! Rates follow Juniper SRX screen defaults (`syn-flood attack-threshold`
//! 200/s per destination address and port, `udp-flood` and `icmp-flood`
//! 1000/s per destination). Amplification factors for the five services are
//! those of US-CERT TA14-017A (DNS 28–54, NTP 556, SSDP 30, memcached 10 000+,
//! CLDAP 56–70); the threshold of 10 is below all of them and above a DNS
//! client's ordinary answer-to-query ratio (1–8).
//!
//! ATT&CK: T1498 Network Denial of Service (T1498.001 direct flood,
//! T1498.002 reflection amplification), T1499 Endpoint Denial of Service
//! (T1499.001 OS exhaustion flood: SYN floods).
//!
//! Known false positives: a load test; a heavily used service whose clients
//! send their handshake ACK in a later second (only at the bin edge). Blind
//! spots: floods spread over many destination ports (SYN) or below the rate
//! in every second; amplification over other services.

use std::net::IpAddr;

use netsec_model::{
    Analyzer, Comparison, Duration, Endpoint, EntityRole, EntityValue, Finding, FindingCategory,
    FindingSink, Interests, IpInfo, PacketInfo, Severity, TcpFlags, TimeRange, Timestamp,
    Transport,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet, SecondSketch};

const PRODUCER: &str = "netsec-detect/flood";

/// Flood and amplification settings (`[flood]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FloodConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most victims (and reflector/victim pairs) tracked at once, per table.
    pub capacity: usize,
    /// A flood with no packet for this long is over.
    pub idle_secs: f64,
    /// Bare SYNs per second to one address and port (Juniper SRX: 200).
    pub syn_rate: u64,
    /// Share of those SYNs never followed by an ACK in the same second.
    pub min_half_open_ratio: f64,
    /// UDP datagrams per second to one host (Juniper SRX: 1000).
    pub udp_rate: u64,
    /// UDP datagrams per destination port in that second, at least (a scan sends one or two).
    pub min_packets_per_port: u64,
    /// UDP replies from the victim per request, at most (a flood goes unanswered).
    pub max_reply_ratio: f64,
    /// ICMP echo requests per second to one host (Juniper SRX: 1000).
    pub icmp_rate: u64,
    /// Bytes a reflector sent one victim from an amplifying service port.
    pub min_response_bytes: u64,
    /// Response bytes per request byte (US-CERT TA14-017A factors are all above 10).
    pub min_amplification: f64,
    /// UDP source ports of amplifying services: DNS, NTP, SSDP, memcached, CLDAP.
    pub amplifier_ports: Vec<u16>,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            enabled: true,
            capacity: 50_000,
            idle_secs: 60.0,
            syn_rate: 200,
            min_half_open_ratio: 0.8,
            udp_rate: 1000,
            min_packets_per_port: 10,
            max_reply_ratio: 0.1,
            icmp_rate: 1000,
            min_response_bytes: 100_000,
            min_amplification: 10.0,
            amplifier_ports: vec![53, 123, 1900, 11211, 389],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum FloodKind {
    Syn,
    Udp,
    Icmp,
}

impl FloodKind {
    fn name(self) -> &'static str {
        match self {
            FloodKind::Syn => "syn_flood",
            FloodKind::Udp => "udp_flood",
            FloodKind::Icmp => "icmp_flood",
        }
    }
}

/// One victim's traffic of one kind: the current second, and the flood so far.
#[derive(Debug, Clone)]
struct Victim {
    bin: i64,
    packets: u64,
    /// Whether this second's packets are already counted in the flood.
    bin_in_flood: bool,
    answers: u64,
    ports: CappedSet<u16>,
    sources: CappedSet<IpAddr>,
    // the flood: totals over the seconds that crossed the rate
    flood_time: Option<TimeRange>,
    flood_packets: u64,
    flood_seconds: u64,
    peak_rate: u64,
    peak_ratio: f64,
    flows: FlowSample,
    growth: Growth,
}

/// A reflector answering one victim from one service port.
#[derive(Debug, Clone)]
struct Reflection {
    time: TimeRange,
    request_bytes: u64,
    response_bytes: u64,
    requests: u64,
    responses: u64,
    flows: FlowSample,
    growth: Growth,
}

/// (victim address, port or 0, kind)
type VictimKey = (IpAddr, u16, FloodKind);
/// (reflector, service port, victim)
type ReflectionKey = (IpAddr, u16, IpAddr);

/// Detects SYN, UDP and ICMP floods and UDP amplification.
#[derive(Debug)]
pub struct FloodDetector {
    config: FloodConfig,
    network: NetworkConfig,
    victims: BoundedTable<VictimKey, Victim>,
    /// Packets per second of the victims not in `victims` (see `count`).
    unseen_rates: SecondSketch,
    reflections: BoundedTable<ReflectionKey, Reflection>,
}

/// Sources remembered per victim and second (counting goes on past it).
const MAX_SOURCES: usize = 64;

impl FloodDetector {
    /// A detector with these settings.
    pub fn new(config: FloodConfig, network: NetworkConfig) -> Self {
        let idle = Duration::from_secs_f64(config.idle_secs);
        FloodDetector {
            victims: BoundedTable::new(config.capacity, idle),
            unseen_rates: SecondSketch::default(),
            reflections: BoundedTable::new(config.capacity, idle),
            config,
            network,
        }
    }

    /// Entries evicted from the full tables so far.
    pub fn evicted(&self) -> u64 {
        self.victims.evicted() + self.reflections.evicted()
    }

    fn rate_of(&self, kind: FloodKind) -> u64 {
        match kind {
            FloodKind::Syn => self.config.syn_rate,
            FloodKind::Udp => self.config.udp_rate,
            FloodKind::Icmp => self.config.icmp_rate,
        }
    }

    /// Count a packet towards a victim; report when its second crosses the rate.
    ///
    /// A victim gets its entry only once a second brings it `gate(rate)`
    /// packets by the sketch's estimate, and its count starts at the gate:
    /// a scan's probes, one or two to each address and port, never enter the
    /// table, and a flood enters it within its first sixteenth of the rate.
    /// The estimate is never below the truth, so no victim that reaches the
    /// gate is missed; it is above it only when keys of the same second
    /// share both its cells, and then the entering second counts up to
    /// `gate − 1` packets too many (answers and sources of the packets
    /// before the gate are not counted).
    fn count(&mut self, key: VictimKey, p: &PacketInfo, ip: &IpInfo, out: &mut dyn FindingSink) {
        let rate = self.rate_of(key.2);
        let second = p.ts.secs();
        let mut earlier = 0;
        if !self.victims.contains(&key) {
            let gate = gate(rate);
            if self.unseen_rates.add(&key, second) < gate {
                return;
            }
            earlier = gate - 1;
        }
        let v = self.victims.touch(key, p.ts, || new_victim(second));
        roll(v, second);
        v.packets += earlier;
        v.packets += 1;
        v.ports.insert(ip.dst_port, 4096);
        v.sources.insert(ip.src, MAX_SOURCES);
        if v.packets < rate {
            return;
        }
        let ratio = match key.2 {
            FloodKind::Syn => 1.0 - (v.answers as f64 / v.packets as f64).min(1.0),
            FloodKind::Udp => v.answers as f64 / v.packets as f64,
            FloodKind::Icmp => 0.0,
        };
        let per_port = v.packets / v.ports.count().max(1);
        let flood = match key.2 {
            FloodKind::Syn => ratio >= self.config.min_half_open_ratio,
            FloodKind::Udp => {
                ratio <= self.config.max_reply_ratio && per_port >= self.config.min_packets_per_port
            }
            FloodKind::Icmp => true,
        };
        if !flood {
            return;
        }
        if v.bin_in_flood {
            v.flood_packets += 1;
        } else {
            // this second just joined the flood, with all its packets so far
            v.bin_in_flood = true;
            v.flood_seconds += 1;
            v.flood_packets += v.packets;
            if v.flood_time.is_none() {
                v.flows
                    .add_packet(ip.src_endpoint(), ip.dst_endpoint(), ip.transport, p.ts);
            }
        }
        v.flood_time.get_or_insert(TimeRange::at(p.ts)).extend(p.ts);
        v.peak_rate = v.peak_rate.max(v.packets);
        v.peak_ratio = if key.2 == FloodKind::Syn {
            v.peak_ratio.max(ratio)
        } else {
            ratio
        };
        if v.flows.total() < 10 && v.sources.count() > v.flows.total() {
            v.flows
                .add_packet(ip.src_endpoint(), ip.dst_endpoint(), ip.transport, p.ts);
        }
        if v.growth.due(v.flood_packets) {
            let snapshot = v.clone();
            let f = self.flood_finding(key, &snapshot);
            out.finding(f);
        }
    }

    fn flood_finding(&self, key: VictimKey, v: &Victim) -> Finding {
        let (victim, port, kind) = key;
        let rate = self.rate_of(kind);
        let time = v.flood_time.unwrap_or_default();
        let target = match kind {
            FloodKind::Syn => Endpoint::new(victim, port).to_string(),
            _ => victim.to_string(),
        };
        let (mitre, severity): (&[&str], Severity) = match kind {
            FloodKind::Syn => (&["T1499", "T1499.001"], Severity::High),
            _ => (&["T1498", "T1498.001"], Severity::High),
        };
        // how far past the rate, times how one-sided
        let shape = match kind {
            FloodKind::Syn => v.peak_ratio,
            FloodKind::Udp => 1.0 - v.peak_ratio,
            FloodKind::Icmp => 1.0,
        };
        let confidence = shape * saturate(v.peak_rate as f64, rate as f64);
        let sources = v.sources.count();
        let what = match kind {
            FloodKind::Syn => "SYNs",
            FloodKind::Udp => "UDP datagrams",
            FloodKind::Icmp => "ICMP echo requests",
        };
        let mut f = Finding::new(
            kind.name(),
            format!(
                "{} of {target}",
                kind.name().replace('_', " ").to_uppercase()
            ),
            FindingCategory::DenialOfService,
            self.network.severity_for(Some(victim), severity),
            confidence,
            time,
            PRODUCER,
        )
        .with_id(&target)
        .with_mitre(mitre.iter().copied())
        .with_entity(EntityRole::Target, EntityValue::Host { ip: victim })
        .with_measurement(
            "peak_rate",
            v.peak_rate as f64,
            "packets/s",
            Comparison::GreaterOrEqual,
            rate as f64,
        );
        f = match kind {
            FloodKind::Syn => f.with_measurement(
                "half_open_ratio",
                v.peak_ratio,
                "",
                Comparison::GreaterOrEqual,
                self.config.min_half_open_ratio,
            ),
            FloodKind::Udp => f.with_measurement(
                "reply_ratio",
                v.peak_ratio,
                "",
                Comparison::LessOrEqual,
                self.config.max_reply_ratio,
            ),
            FloodKind::Icmp => f,
        };
        for src in v.sources.items().iter().take(5) {
            f = f.with_entity(EntityRole::Source, EntityValue::Host { ip: *src });
        }
        let f = f
            .with_value("packets", v.flood_packets as f64, "packets")
            .with_value("seconds_over_rate", v.flood_seconds as f64, "s")
            .with_value("sources_in_peak_second", sources as f64, "hosts")
            .with_summary(format!(
                "{} {what} to {target} in {:.2} s, peak {} per second (>= {rate}) from {sources} source(s)",
                v.flood_packets,
                time.duration().as_secs_f64(),
                v.peak_rate
            ));
        v.flows.attach(f)
    }

    fn reflect(&mut self, p: &PacketInfo, ip: &IpInfo, out: &mut dyn FindingSink) {
        let ports = &self.config.amplifier_ports;
        let bytes = u64::from(p.wire_len);
        if ports.contains(&ip.src_port) && ip.dst_port != ip.src_port {
            let key = (ip.src, ip.src_port, ip.dst);
            let r = self.reflections.touch(key, p.ts, || new_reflection(p.ts));
            r.time.extend(p.ts);
            r.response_bytes += bytes;
            r.responses += 1;
            if r.flows.total() == 0 {
                r.flows
                    .add_packet(ip.dst_endpoint(), ip.src_endpoint(), ip.transport, p.ts);
            }
            let ratio = amplification(r);
            if r.response_bytes >= self.config.min_response_bytes
                && ratio >= self.config.min_amplification
                && r.growth.due(r.response_bytes)
            {
                let snapshot = r.clone();
                let f = self.reflection_finding(key, &snapshot);
                out.finding(f);
            }
        } else if ports.contains(&ip.dst_port) {
            // a request: the victim (source, maybe spoofed) asks the reflector
            if let Some(r) = self.reflections.get_mut(&(ip.dst, ip.dst_port, ip.src)) {
                r.request_bytes += bytes;
                r.requests += 1;
            } else {
                let r = self
                    .reflections
                    .touch((ip.dst, ip.dst_port, ip.src), p.ts, || new_reflection(p.ts));
                r.request_bytes += bytes;
                r.requests += 1;
            }
        }
    }

    fn reflection_finding(&self, key: ReflectionKey, r: &Reflection) -> Finding {
        let (reflector, port, victim) = key;
        let ratio = amplification(r);
        let service = match port {
            53 => "DNS",
            123 => "NTP",
            1900 => "SSDP",
            11211 => "memcached",
            389 => "CLDAP",
            _ => "UDP service",
        };
        let confidence = saturate(ratio, self.config.min_amplification)
            * saturate(
                r.response_bytes as f64,
                self.config.min_response_bytes as f64,
            );
        let shown_ratio = if ratio.is_finite() { ratio } else { f64::MAX };
        let f = Finding::new(
            "udp_amplification",
            format!("{service} amplification against {victim} via {reflector}"),
            FindingCategory::DenialOfService,
            self.network.severity_for(Some(victim), Severity::High),
            confidence,
            r.time,
            PRODUCER,
        )
        .with_id(format!("{reflector}:{port}->{victim}"))
        .with_mitre(["T1498", "T1498.002"])
        .with_entity(EntityRole::Target, EntityValue::Host { ip: victim })
        .with_entity(EntityRole::Related, EntityValue::Service {
            endpoint: Endpoint::new(reflector, port),
            transport: "udp".into(),
        })
        .with_measurement("response_bytes", r.response_bytes as f64, "bytes", Comparison::GreaterOrEqual, self.config.min_response_bytes as f64)
        .with_measurement("amplification", shown_ratio, "", Comparison::GreaterOrEqual, self.config.min_amplification)
        .with_value("requests", r.requests as f64, "packets")
        .with_value("responses", r.responses as f64, "packets")
        .with_fact("service", service)
        .with_summary(format!(
            "{reflector}:{port} ({service}) sent {victim} {} bytes in {} responses for {} bytes in {} requests (x{:.1})",
            r.response_bytes, r.responses, r.request_bytes, r.requests, ratio
        ));
        r.flows.attach(f)
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let victims = self.victims.ended(all, now);
        for (key, mut v) in victims {
            if v.growth.settle(v.flood_packets) {
                out.finding(self.flood_finding(key, &v));
            }
        }
        let reflections = self.reflections.ended(all, now);
        for (key, mut r) in reflections {
            if r.growth.settle(r.response_bytes) {
                out.finding(self.reflection_finding(key, &r));
            }
        }
    }
}

fn new_victim(bin: i64) -> Victim {
    Victim {
        bin,
        packets: 0,
        bin_in_flood: false,
        answers: 0,
        ports: CappedSet::default(),
        sources: CappedSet::default(),
        flood_time: None,
        flood_packets: 0,
        flood_seconds: 0,
        peak_rate: 0,
        peak_ratio: 0.0,
        flows: FlowSample::default(),
        growth: Growth::default(),
    }
}

fn new_reflection(ts: Timestamp) -> Reflection {
    Reflection {
        time: TimeRange::at(ts),
        request_bytes: 0,
        response_bytes: 0,
        requests: 0,
        responses: 0,
        flows: FlowSample::default(),
        growth: Growth::default(),
    }
}

/// Packets in one second that give a victim its table entry: a sixteenth
/// of the flood rate, at least 2 (a scan's probe and its retransmission).
fn gate(rate: u64) -> u64 {
    (rate / 16).max(2)
}

/// Start a new one-second bin when time has moved on.
fn roll(v: &mut Victim, bin: i64) {
    if bin != v.bin {
        v.bin = bin;
        v.packets = 0;
        v.bin_in_flood = false;
        v.answers = 0;
        v.ports = CappedSet::default();
        v.sources = CappedSet::default();
    }
}

fn amplification(r: &Reflection) -> f64 {
    if r.request_bytes == 0 {
        return f64::INFINITY;
    }
    r.response_bytes as f64 / r.request_bytes as f64
}

impl Analyzer for FloodDetector {
    fn name(&self) -> &'static str {
        "flood"
    }

    fn interests(&self) -> Interests {
        Interests {
            packets: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.victims, &self.reflections])
            + self.unseen_rates.memory_used()
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        // the sketch takes at most a quarter, its full size from 1 MiB
        self.unseen_rates.limit_bytes(bytes / 4);
        let tables = bytes.saturating_sub(self.unseen_rates.memory_used());
        crate::table::share_budget(&mut [&mut self.victims, &mut self.reflections], tables);
    }

    fn on_packet(&mut self, packet: &PacketInfo, out: &mut dyn FindingSink) {
        let Some(ip) = packet.ip else { return };
        if self.network.is_allowed(ip.src, Some(ip.dst)) {
            return;
        }
        match ip.transport {
            Transport::Tcp => {
                let f = ip.tcp_flags;
                if f.is_syn_only() {
                    self.count((ip.dst, ip.dst_port, FloodKind::Syn), packet, &ip, out);
                } else if f.has(TcpFlags::ACK)
                    && !f.has(TcpFlags::SYN)
                    && !f.has(TcpFlags::RST)
                    && ip.payload_len == 0
                {
                    // a handshake's completing ACK answers its SYN; data
                    // segments (a lookup each, on a bulk transfer) add
                    // nothing to the half-open ratio
                    let key = (ip.dst, ip.dst_port, FloodKind::Syn);
                    if let Some(v) = self.victims.get_mut(&key) {
                        roll(v, packet.ts.secs());
                        v.answers += 1;
                    }
                }
            }
            Transport::Udp => {
                // a reply from a flooded host counts against the flood
                let key = (ip.src, 0, FloodKind::Udp);
                if let Some(v) = self.victims.get_mut(&key) {
                    if v.bin == packet.ts.secs() {
                        v.answers += 1;
                    }
                }
                self.count((ip.dst, 0, FloodKind::Udp), packet, &ip, out);
                self.reflect(packet, &ip, out);
            }
            Transport::Icmp | Transport::Icmpv6 => {
                let request = if ip.transport == Transport::Icmp {
                    8
                } else {
                    128
                };
                if ip.src_port == request {
                    self.count((ip.dst, 0, FloodKind::Icmp), packet, &ip, out);
                }
            }
            _ => {}
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ep;

    fn packet(
        ts: f64,
        (src, sport): (u32, u16),
        (dst, dport): (u32, u16),
        t: Transport,
        flags: u8,
        len: u32,
    ) -> PacketInfo {
        crate::fixtures::packet(ts, ep(src, sport), ep(dst, dport), t, flags, len)
    }

    const VICTIM: u32 = 0x0a00_0007;

    /// A bare SYN at `ts` from `src` to VICTIM's `port`.
    fn syn(ts: f64, src: (u32, u16), port: u16) -> PacketInfo {
        packet(ts, src, (VICTIM, port), Transport::Tcp, TcpFlags::SYN, 60)
    }

    #[test]
    fn spoofed_syn_flood_is_one_finding_per_doubling_and_bounded() {
        let config = FloodConfig {
            capacity: 100,
            ..FloodConfig::default()
        };
        let mut d = FloodDetector::new(config, NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..5000u32 {
            d.on_packet(
                &syn(f64::from(i) / 5000.0, (0x0b00_0000 + i, 1024), 80),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(!out.is_empty() && out.len() <= 6, "{}", out.len());
        assert!(out.iter().all(|f| f.id == "syn_flood:10.0.0.7:80"));
        assert!(d.victims.len() <= 100);
    }

    #[test]
    fn a_port_scan_never_enters_the_victims_table_and_a_flood_counts_whole() {
        let mut d = FloodDetector::new(FloodConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        // 30,000 SYNs in one second, each to another port, and two to each
        // of the first thousand (retransmissions)
        for i in 0..31_000u32 {
            let port = (i % 30_000) as u16 + 1;
            d.on_packet(
                &syn(f64::from(i) / 31_000.0, (0x0a00_0005, 40000), port),
                &mut out,
            );
        }
        assert_eq!(d.victims.len(), 0);
        // then 250 SYNs to port 80 in the next second: a flood, every SYN counted
        for i in 0..250u32 {
            let ts = 1.0 + f64::from(i) / 1000.0;
            d.on_packet(&syn(ts, (0x0b00_0000 + i, 1024), 80), &mut out);
        }
        d.finish(&mut out);
        let last = out.last().expect("a syn flood");
        assert_eq!(last.id, "syn_flood:10.0.0.7:80");
        let peak = last
            .evidence
            .measurements
            .iter()
            .find(|m| m.name == "peak_rate");
        assert_eq!(peak.map(|m| m.value), Some(250.0));
    }

    #[test]
    fn busy_server_with_completed_handshakes_is_no_flood() {
        let mut d = FloodDetector::new(FloodConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..3000u32 {
            let t = f64::from(i) / 3000.0;
            let client = 0x0b00_0000 + i;
            d.on_packet(
                &packet(
                    t,
                    (client, 1024),
                    (VICTIM, 443),
                    Transport::Tcp,
                    TcpFlags::SYN,
                    60,
                ),
                &mut out,
            );
            // the handshake's completing ACK, no payload
            let mut ack = packet(
                t,
                (client, 1024),
                (VICTIM, 443),
                Transport::Tcp,
                TcpFlags::ACK,
                60,
            );
            if let Some(ip) = ack.ip.as_mut() {
                ip.payload_len = 0;
            }
            d.on_packet(&ack, &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn udp_scan_is_not_a_udp_flood() {
        let mut d = FloodDetector::new(FloodConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for port in 1..=3000u16 {
            let p = packet(
                f64::from(port) / 3000.0,
                (0x0a00_0005, 40000),
                (VICTIM, port),
                Transport::Udp,
                0,
                42,
            );
            d.on_packet(&p, &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }

    /// `n` DNS exchanges between VICTIM and a resolver: 80-byte queries,
    /// answers of `answer` bytes.
    fn dns_exchanges(n: u16, answer: u32) -> Vec<Finding> {
        let mut d = FloodDetector::new(FloodConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        let resolver = 0x0a00_0035;
        for i in 0..n {
            let t = f64::from(i) * 0.01;
            let client = (VICTIM, 30000 + i);
            let query = packet(t, client, (resolver, 53), Transport::Udp, 0, 80);
            let reply = packet(t, (resolver, 53), client, Transport::Udp, 0, answer);
            d.on_packet(&query, &mut out);
            d.on_packet(&reply, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn amplification_needs_volume_and_ratio() {
        let out = dns_exchanges(200, 1100);
        let kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        assert!(kinds.contains(&"udp_amplification"), "{kinds:?}");
        // ordinary answers (x3) are not amplification, however many
        assert!(dns_exchanges(2000, 240).is_empty());
    }
}
