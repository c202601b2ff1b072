//! Port scans and host discovery, from packet headers.
//!
//! - **Vertical scans** (`tcp_port_scan`, `udp_port_scan`): one source
//!   probing many ports of one host — TCP SYN (nmap `-sS`, masscan), connect
//!   (`-sT`, also a bare SYN on the wire), FIN/NULL/Xmas (`-sF/-sN/-sX`: a
//!   segment without SYN, ACK or RST, which no real stack sends) and UDP
//!   (`-sU`). Fires when the distinct ports probed reach `min_ports` and the
//!   share of them that never answered positively (SYN+ACK, or UDP data
//!   back) reaches `min_failed_ratio`, as Zeek's `scan.zeek` counts failed
//!   attempts.
//! - **Horizontal sweeps** (`horizontal_scan`): one port probed across
//!   `min_hosts` hosts, most of which never answer.
//! - **Host discovery** (`host_discovery`): ARP requests for `min_arp_targets`
//!   addresses, most unanswered; ICMP echo requests to `min_icmp_targets` hosts.
//!
//! Confidence: vertical `failed_ratio × sat(ports / min_ports)`, sweep
//! `failed_ratio × sat(hosts / min_hosts)`, ARP discovery `unanswered_ratio ×
//! sat(targets / min_arp_targets)`, ICMP discovery `sat(targets /
//! min_icmp_targets)`, with `sat(x) = 1 − e^(−x)`.
//!
//! ATT&CK: T1046 Network Service Discovery (T1595 Active Scanning too when
//! the source is outside the home networks), T1018 Remote System Discovery.
//!
//! Known false positives: vulnerability scanners and monitoring (put them in
//! `network.allow_sources`); a host whose peers are all down. A UDP datagram
//! from a port below its destination port is taken for a reply, so a UDP
//! scan from source port 53 is missed, and so are probes of UDP ports
//! 33434–33534 (traceroute's).

use std::net::IpAddr;

use netsec_model::{
    Analyzer, ArpInfo, Comparison, Duration, Endpoint, EntityRole, EntityValue, Finding,
    FindingCategory, FindingSink, Interests, PacketInfo, Severity, TcpFlags, TimeRange, Timestamp,
    Transport,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet, PortSet};

const PRODUCER: &str = "netsec-detect/portscan";

/// UDP ports traceroute probes (base 33434, 3 probes for each of 30 hops:
/// traceroute(8)).
const TRACEROUTE_PORTS: std::ops::RangeInclusive<u16> = 33434..=33534;

/// Port scan and host discovery settings (`[portscan]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortScanConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most scanner/target pairs, sweeps and discovery sources tracked at
    /// once, each table (the least recently seen is evicted past it).
    pub capacity: usize,
    /// An activity idle this long is over (Zeek `scan.zeek`: 5 min).
    pub idle_secs: f64,
    /// Distinct ports of one host (Zeek `port_scan_threshold`: 15).
    pub min_ports: u64,
    /// Distinct hosts on one port (Zeek `addr_scan_threshold`: 25).
    pub min_hosts: u64,
    /// Share of probed ports or hosts that never answered (ours: 0.8; an
    /// FTP client in passive mode reaches many ports, all of which answer).
    pub min_failed_ratio: f64,
    /// Distinct addresses asked for by ARP (ours: 40, past what a host or a
    /// router refreshing its cache asks in a few minutes; nmap -sn asks 254 on a /24).
    pub min_arp_targets: u64,
    /// Share of those ARP requests unanswered (ours: 0.5).
    pub min_arp_unanswered_ratio: f64,
    /// Distinct hosts sent ICMP echo requests (as `min_hosts`: 25).
    pub min_icmp_targets: u64,
    /// Hosts, and open ports, remembered per activity (counting goes on
    /// past it); the ports probed are all kept, exactly, in at most 8 KiB.
    pub max_tracked: usize,
}

impl Default for PortScanConfig {
    fn default() -> Self {
        PortScanConfig {
            enabled: true,
            capacity: 100_000,
            idle_secs: 300.0,
            min_ports: 15,
            min_hosts: 25,
            min_failed_ratio: 0.8,
            min_arp_targets: 40,
            min_arp_unanswered_ratio: 0.5,
            min_icmp_targets: 25,
            max_tracked: 4096,
        }
    }
}

/// How a TCP probe looked on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Syn,
    Fin,
    Null,
    Xmas,
    OtherNoAck,
    Udp,
}

impl Probe {
    fn of(ip: &netsec_model::IpInfo) -> Option<Probe> {
        match ip.transport {
            Transport::Tcp => {
                let f = ip.tcp_flags;
                if f.is_syn_only() {
                    return Some(Probe::Syn);
                }
                if f.0 & (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::RST) != 0 {
                    return None;
                }
                Some(match f.0 {
                    0 => Probe::Null,
                    TcpFlags::FIN => Probe::Fin,
                    x if x == TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG => Probe::Xmas,
                    _ => Probe::OtherNoAck,
                })
            }
            // A datagram to a lower port than it came from opens an exchange
            // (client ephemeral port → service); the other way it answers
            // one. traceroute's probes (ports 33434 + hop × 3, traceroute(8))
            // are hops, not a scan.
            Transport::Udp
                if ip.dst_port < ip.src_port && !TRACEROUTE_PORTS.contains(&ip.dst_port) =>
            {
                Some(Probe::Udp)
            }
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Probe::Syn => 0,
            Probe::Fin => 1,
            Probe::Null => 2,
            Probe::Xmas => 3,
            Probe::OtherNoAck => 4,
            Probe::Udp => 5,
        }
    }
}

const PROBE_NAMES: [&str; 6] = ["syn", "fin", "null", "xmas", "other_no_ack", "udp"];

/// One scanner probing one host, TCP or UDP.
#[derive(Debug, Clone)]
struct Vertical {
    time: TimeRange,
    ports: PortSet,
    open: CappedSet<u16>,
    probes: [u64; 6],
    flows: FlowSample,
    growth: Growth,
}

/// One scanner probing one port across hosts.
#[derive(Debug, Clone)]
struct Sweep {
    time: TimeRange,
    hosts: CappedSet<IpAddr>,
    answered: CappedSet<IpAddr>,
    flows: FlowSample,
    growth: Growth,
}

/// An activity's first probe, kept alone until a second one makes it a
/// scan or a sweep: most keys of a scan (every port of a swept host, every
/// spoofed source of a flood) never see a second, and a first probe is a
/// fifth of a full activity's bytes with no heap.
#[derive(Debug, Clone, Copy)]
struct FirstProbe {
    dst: IpAddr,
    /// `None` when the probe is known from its pair's port set only.
    src_port: Option<u16>,
    dst_port: u16,
    ts: Timestamp,
    probe: Probe,
    /// Probes of this port (retransmissions after the first).
    probes: u64,
    /// Answered positively (SYN+ACK or UDP data back).
    answered: bool,
}

impl FirstProbe {
    fn of(p: &PacketInfo, ip: &netsec_model::IpInfo, probe: Probe) -> Self {
        FirstProbe {
            dst: ip.dst,
            src_port: Some(ip.src_port),
            dst_port: ip.dst_port,
            ts: p.ts,
            probe,
            probes: 0,
            answered: false,
        }
    }
}

/// The hosts a source probed: its first, and whether there were others.
#[derive(Debug, Clone, Copy)]
struct SourceHosts {
    first: IpAddr,
    many: bool,
}

/// An activity of one probe, or of more.
#[derive(Debug, Clone)]
enum Tracked<T> {
    One(FirstProbe),
    Many(Box<T>),
}

type VerticalKey = (IpAddr, IpAddr, bool);
type SweepKey = (IpAddr, u16, bool);
/// (source, method: false ARP, true ICMP)
type DiscoveryKey = (IpAddr, bool);

/// Detects vertical scans, horizontal sweeps and host discovery.
#[derive(Debug)]
pub struct PortScanDetector {
    config: PortScanConfig,
    network: NetworkConfig,
    vertical: BoundedTable<VerticalKey, Tracked<Vertical>>,
    sweeps: BoundedTable<SweepKey, Tracked<Sweep>>,
    discovery: BoundedTable<DiscoveryKey, Sweep>,
    /// The hosts each source probed (SYN or UDP): its first, and whether
    /// there were more. A source of one host (a scan of one target's
    /// ports: the rule) cannot sweep, so its probes make no sweep entries.
    sources: BoundedTable<(IpAddr, bool), SourceHosts>,
}

impl PortScanDetector {
    /// A detector with these settings.
    pub fn new(config: PortScanConfig, network: NetworkConfig) -> Self {
        let idle = Duration::from_secs_f64(config.idle_secs);
        PortScanDetector {
            // a first probe's entry holds no heap; a scan's a few sets
            vertical: BoundedTable::new(config.capacity, idle).with_heap(TRACKED_HEAP),
            sweeps: BoundedTable::new(config.capacity, idle).with_heap(TRACKED_HEAP),
            discovery: BoundedTable::new(config.capacity, idle),
            sources: BoundedTable::new(config.capacity, idle).with_heap(0),
            config,
            network,
        }
    }

    /// Entries evicted from the full tables so far.
    pub fn evicted(&self) -> u64 {
        self.vertical.evicted()
            + self.sweeps.evicted()
            + self.discovery.evicted()
            + self.sources.evicted()
    }

    fn probe(
        &mut self,
        p: &PacketInfo,
        ip: &netsec_model::IpInfo,
        probe: Probe,
        out: &mut dyn FindingSink,
    ) {
        let udp = probe == Probe::Udp;
        let cap = self.config.max_tracked;
        let first = FirstProbe::of(p, ip, probe);
        let tracked = self
            .vertical
            .touch((ip.src, ip.dst, udp), p.ts, || Tracked::One(first));
        if let Some(v) = vertical_of(tracked, ip, cap) {
            v.time.extend(p.ts);
            if let Some(n) = v.probes.get_mut(probe.index()) {
                *n += 1;
            }
            if v.ports.insert(ip.dst_port) {
                v.flows
                    .add_packet(ip.src_endpoint(), ip.dst_endpoint(), ip.transport, p.ts);
            }
            let count = v.ports.count();
            let failed = failed_ratio(count, v.open.count());
            if count >= self.config.min_ports
                && failed >= self.config.min_failed_ratio
                && v.growth.due(count)
            {
                let snapshot = v.clone();
                let f = self.vertical_finding(ip.src, ip.dst, udp, &snapshot);
                out.finding(f);
            }
        }
        // Only bare SYNs and UDP open exchanges on a port: a sweep is
        // connection attempts, not stealth probes.
        if matches!(probe, Probe::Syn | Probe::Udp) {
            let hosts = self.sources.touch((ip.src, udp), p.ts, || SourceHosts {
                first: ip.dst,
                many: false,
            });
            if !hosts.many && hosts.first == ip.dst {
                return;
            }
            hosts.many = true;
            let first_host = hosts.first;
            // a new sweep starts from the first host's probe of this port,
            // when there was one (looked up only when the entry is made)
            let vertical = &self.vertical;
            let tracked = self.sweeps.touch((ip.src, ip.dst_port, udp), p.ts, || {
                let earlier = (first_host != ip.dst)
                    .then(|| first_host_probe(vertical, ip, first_host, udp))
                    .flatten();
                Tracked::One(earlier.unwrap_or(first))
            });
            let Some(s) = sweep_of(tracked, ip, cap) else {
                return;
            };
            s.time.extend(p.ts);
            if s.hosts.insert(ip.dst, cap) {
                s.flows
                    .add_packet(ip.src_endpoint(), ip.dst_endpoint(), ip.transport, p.ts);
            }
            let hosts = s.hosts.count();
            let failed = failed_ratio(hosts, s.answered.count());
            if hosts >= self.config.min_hosts
                && failed >= self.config.min_failed_ratio
                && s.growth.due(hosts)
            {
                let snapshot = s.clone();
                let f = self.sweep_finding(ip.src, ip.dst_port, udp, &snapshot);
                out.finding(f);
            }
        }
    }

    /// A packet from a probed host back to its prober: a positive answer
    /// (SYN+ACK or UDP data) marks the port open and the host answering.
    fn answer(&mut self, ip: &netsec_model::IpInfo) {
        let udp = ip.transport == Transport::Udp;
        let positive = udp || ip.tcp_flags.is_syn_ack();
        if !positive {
            return;
        }
        let cap = self.config.max_tracked;
        match self.vertical.get_mut(&(ip.dst, ip.src, udp)) {
            Some(Tracked::Many(v)) if v.ports.contains(ip.src_port) => {
                v.open.insert(ip.src_port, cap);
            }
            Some(Tracked::One(first)) if first.dst_port == ip.src_port => first.answered = true,
            _ => {}
        }
        match self.sweeps.get_mut(&(ip.dst, ip.src_port, udp)) {
            Some(Tracked::Many(s)) if s.hosts.contains(&ip.src) => {
                s.answered.insert(ip.src, cap);
            }
            Some(Tracked::One(first)) if first.dst == ip.src => first.answered = true,
            _ => {}
        }
    }

    fn icmp(&mut self, p: &PacketInfo, ip: &netsec_model::IpInfo, out: &mut dyn FindingSink) {
        // PacketInfo carries the ICMP type in src_port.
        let (request, reply) = match ip.transport {
            Transport::Icmp => (8, 0),
            Transport::Icmpv6 => (128, 129),
            _ => return,
        };
        let cap = self.config.max_tracked;
        if ip.src_port == reply {
            if let Some(s) = self.discovery.get_mut(&(ip.dst, true)) {
                if s.hosts.contains(&ip.src) {
                    s.answered.insert(ip.src, cap);
                }
            }
            return;
        }
        if ip.src_port != request {
            return;
        }
        let s = self
            .discovery
            .touch((ip.src, true), p.ts, || new_sweep(p.ts));
        s.time.extend(p.ts);
        if s.hosts.insert(ip.dst, cap) {
            s.flows.add_packet(
                Endpoint::new(ip.src, ip.src_port),
                Endpoint::new(ip.dst, ip.dst_port),
                ip.transport,
                p.ts,
            );
        }
        let hosts = s.hosts.count();
        if hosts >= self.config.min_icmp_targets && s.growth.due(hosts) {
            let snapshot = s.clone();
            let f = self.discovery_finding(ip.src, true, &snapshot);
            out.finding(f);
        }
    }

    fn vertical_finding(&self, src: IpAddr, dst: IpAddr, udp: bool, v: &Vertical) -> Finding {
        let ports = v.ports.count();
        let open = v.open.count();
        let failed = failed_ratio(ports, open);
        let kind = if udp {
            "udp_port_scan"
        } else {
            "tcp_port_scan"
        };
        let mut styles: Vec<&str> = PROBE_NAMES
            .iter()
            .zip(v.probes.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(name, _)| *name)
            .collect();
        if styles.is_empty() {
            styles.push("unknown");
        }
        let confidence = failed * saturate(ports as f64, self.config.min_ports as f64);
        let open_list: Vec<String> = v.open.items().iter().take(20).map(u16::to_string).collect();
        let summary = format!(
            "{src} probed {ports} distinct {} ports of {dst} ({} probes: {}) in {:.1} s; {open} answered (failed ratio {failed:.2})",
            if udp { "UDP" } else { "TCP" },
            v.probes.iter().sum::<u64>(),
            styles.join("/"),
            v.time.duration().as_secs_f64(),
        );
        let f = Finding::new(
            kind,
            format!(
                "{} port scan of {dst} from {src}",
                if udp { "UDP" } else { "TCP" }
            ),
            FindingCategory::Reconnaissance,
            self.network.severity_for(Some(dst), Severity::Medium),
            confidence,
            v.time,
            PRODUCER,
        )
        .with_id(format!("{src}->{dst}"))
        .with_mitre(self.mitre(src, "T1046"))
        .with_entity(EntityRole::Source, EntityValue::Host { ip: src })
        .with_entity(EntityRole::Target, EntityValue::Host { ip: dst })
        .with_measurement(
            "distinct_ports",
            ports as f64,
            "ports",
            Comparison::GreaterOrEqual,
            self.config.min_ports as f64,
        )
        .with_measurement(
            "failed_ratio",
            failed,
            "",
            Comparison::GreaterOrEqual,
            self.config.min_failed_ratio,
        )
        .with_value("open_ports", open as f64, "ports")
        .with_fact("scan_type", styles.join("/"))
        .with_fact("open_ports", open_list.join(","))
        .with_summary(summary);
        v.flows.attach(f)
    }

    fn sweep_finding(&self, src: IpAddr, port: u16, udp: bool, s: &Sweep) -> Finding {
        let hosts = s.hosts.count();
        let answered = s.answered.count();
        let failed = failed_ratio(hosts, answered);
        let proto = if udp { "udp" } else { "tcp" };
        let confidence = failed * saturate(hosts as f64, self.config.min_hosts as f64);
        let f = Finding::new(
            "horizontal_scan",
            format!("Sweep of {proto}/{port} across {hosts} hosts from {src}"),
            FindingCategory::Reconnaissance,
            Severity::Medium,
            confidence,
            s.time,
            PRODUCER,
        )
        .with_id(format!("{src}:{proto}/{port}"))
        .with_mitre(self.mitre(src, "T1046"))
        .with_entity(EntityRole::Source, EntityValue::Host { ip: src })
        .with_measurement("distinct_hosts", hosts as f64, "hosts", Comparison::GreaterOrEqual, self.config.min_hosts as f64)
        .with_measurement("failed_ratio", failed, "", Comparison::GreaterOrEqual, self.config.min_failed_ratio)
        .with_fact("port", format!("{proto}/{port}"))
        .with_summary(format!(
            "{src} tried {proto}/{port} on {hosts} hosts in {:.1} s; {answered} answered (failed ratio {failed:.2})",
            s.time.duration().as_secs_f64()
        ));
        s.flows.attach(f)
    }

    fn discovery_finding(&self, src: IpAddr, icmp: bool, s: &Sweep) -> Finding {
        let hosts = s.hosts.count();
        let answered = s.answered.count();
        let unanswered = failed_ratio(hosts, answered);
        let method = if icmp { "icmp" } else { "arp" };
        let threshold = if icmp {
            self.config.min_icmp_targets
        } else {
            self.config.min_arp_targets
        };
        let confidence = if icmp {
            saturate(hosts as f64, threshold as f64)
        } else {
            unanswered * saturate(hosts as f64, threshold as f64)
        };
        let mut f = Finding::new(
            "host_discovery",
            format!(
                "{} sweep of {hosts} addresses from {src}",
                method.to_uppercase()
            ),
            FindingCategory::Reconnaissance,
            Severity::Low,
            confidence,
            s.time,
            PRODUCER,
        )
        .with_id(format!("{method}:{src}"))
        .with_mitre(self.mitre(src, "T1018"))
        .with_entity(EntityRole::Source, EntityValue::Host { ip: src })
        .with_measurement(
            "distinct_targets",
            hosts as f64,
            "hosts",
            Comparison::GreaterOrEqual,
            threshold as f64,
        );
        if !icmp {
            f = f.with_measurement(
                "unanswered_ratio",
                unanswered,
                "",
                Comparison::GreaterOrEqual,
                self.config.min_arp_unanswered_ratio,
            );
        }
        let f = f
            .with_value("answered", answered as f64, "hosts")
            .with_fact("method", method)
            .with_summary(format!(
                "{src} sent {} requests to {hosts} addresses in {:.1} s; {answered} answered",
                if icmp { "ICMP echo" } else { "ARP" },
                s.time.duration().as_secs_f64()
            ));
        s.flows.attach(f)
    }

    fn mitre(&self, src: IpAddr, technique: &str) -> Vec<String> {
        let mut ids = vec![technique.to_string()];
        if !self.network.is_home(src) {
            ids.push("T1595".to_string());
        }
        ids
    }

    /// Report the final state of activities that ended (or all, at the end).
    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let vertical = self.vertical.ended(all, now);
        for ((src, dst, udp), v) in vertical {
            let Tracked::Many(mut v) = v else { continue };
            if v.growth.settle(v.ports.count()) {
                out.finding(self.vertical_finding(src, dst, udp, &v));
            }
        }
        let sweeps = self.sweeps.ended(all, now);
        for ((src, port, udp), s) in sweeps {
            let Tracked::Many(mut s) = s else { continue };
            if s.growth.settle(s.hosts.count()) {
                out.finding(self.sweep_finding(src, port, udp, &s));
            }
        }
        let discovery = self.discovery.ended(all, now);
        for ((src, icmp), mut s) in discovery {
            let hosts = s.hosts.count();
            let crossed = if icmp {
                hosts >= self.config.min_icmp_targets
            } else {
                hosts >= self.config.min_arp_targets
                    && failed_ratio(hosts, s.answered.count())
                        >= self.config.min_arp_unanswered_ratio
            };
            // ARP sweeps are judged once their answers are in.
            if (crossed && !s.growth.reported()) || s.growth.stale(hosts) {
                s.growth.mark(hosts);
                out.finding(self.discovery_finding(src, icmp, &s));
            }
        }
    }
}

/// Heap a vertical or sweep entry holds on average (an estimate for the
/// memory budget): none for a first probe, which most are; a boxed activity
/// with its sets and flows for the rest.
const TRACKED_HEAP: usize = 64;

impl<T> Tracked<T> {
    /// The activity, grown from the first probe by `grow` unless `repeats`
    /// finds this probe the first one again: `None` while it is one probe.
    fn activity(
        &mut self,
        repeats: impl FnOnce(&mut FirstProbe) -> bool,
        grow: impl FnOnce(&FirstProbe) -> T,
    ) -> Option<&mut T> {
        if let Tracked::One(first) = self {
            if repeats(first) {
                return None;
            }
            *self = Tracked::Many(Box::new(grow(first)));
        }
        match self {
            Tracked::Many(activity) => Some(activity),
            Tracked::One(_) => None,
        }
    }
}

impl FirstProbe {
    /// This probe, from `ip`'s source, as the first flow of `flows`.
    fn sample_into(&self, flows: &mut FlowSample, ip: &netsec_model::IpInfo) {
        if let Some(src_port) = self.src_port {
            flows.add_packet(
                Endpoint::new(ip.src, src_port),
                Endpoint::new(self.dst, self.dst_port),
                ip.transport,
                self.ts,
            );
        }
    }
}

/// How `ip`'s source probed its first host `host` on `ip`'s port while
/// that host was the only one it probed, from their entry in `vertical` (no
/// sweep entry was kept then): `None` when it did not (or the entry is
/// gone). The probe's time and source port are exact when it was the
/// pair's first; otherwise the pair's start stands for the time and the
/// flow is not sampled.
fn first_host_probe(
    vertical: &BoundedTable<VerticalKey, Tracked<Vertical>>,
    ip: &netsec_model::IpInfo,
    host: IpAddr,
    udp: bool,
) -> Option<FirstProbe> {
    let port = ip.dst_port;
    let probe = if udp { Probe::Udp } else { Probe::Syn };
    match vertical.get(&(ip.src, host, udp))? {
        Tracked::One(first) if first.dst_port == port => Some(*first),
        Tracked::One(_) => None,
        Tracked::Many(v) if v.ports.contains(port) => Some(FirstProbe {
            dst: host,
            src_port: None,
            dst_port: port,
            ts: v.time.start,
            probe,
            probes: 1,
            answered: v.open.contains(&port),
        }),
        Tracked::Many(_) => None,
    }
}

/// The scan behind `tracked`, grown when this probe (of the packet `ip`) is
/// to another port than the entry's first.
fn vertical_of<'a>(
    tracked: &'a mut Tracked<Vertical>,
    ip: &netsec_model::IpInfo,
    cap: usize,
) -> Option<&'a mut Vertical> {
    let repeats = |first: &mut FirstProbe| {
        let same = first.dst_port == ip.dst_port;
        first.probes += u64::from(same);
        same
    };
    tracked.activity(repeats, |first| {
        let mut v = Vertical {
            time: TimeRange::at(first.ts),
            ports: PortSet::default(),
            open: CappedSet::default(),
            probes: [0; 6],
            flows: FlowSample::default(),
            growth: Growth::default(),
        };
        if let Some(n) = v.probes.get_mut(first.probe.index()) {
            *n += first.probes;
        }
        v.ports.insert(first.dst_port);
        if first.answered {
            v.open.insert(first.dst_port, cap);
        }
        first.sample_into(&mut v.flows, ip);
        v
    })
}

/// The sweep behind `tracked`, grown when this probe goes to another host
/// than the entry's first.
fn sweep_of<'a>(
    tracked: &'a mut Tracked<Sweep>,
    ip: &netsec_model::IpInfo,
    cap: usize,
) -> Option<&'a mut Sweep> {
    tracked.activity(
        |first| first.dst == ip.dst,
        |first| {
            let mut s = new_sweep(first.ts);
            s.hosts.insert(first.dst, cap);
            if first.answered {
                s.answered.insert(first.dst, cap);
            }
            first.sample_into(&mut s.flows, ip);
            s
        },
    )
}

fn new_sweep(ts: Timestamp) -> Sweep {
    Sweep {
        time: TimeRange::at(ts),
        hosts: CappedSet::default(),
        answered: CappedSet::default(),
        flows: FlowSample::default(),
        growth: Growth::default(),
    }
}

/// Share of `tried` that did not answer.
fn failed_ratio(tried: u64, answered: u64) -> f64 {
    if tried == 0 {
        return 0.0;
    }
    1.0 - (answered.min(tried) as f64 / tried as f64)
}

impl Analyzer for PortScanDetector {
    fn name(&self) -> &'static str {
        "portscan"
    }

    fn interests(&self) -> Interests {
        Interests {
            packets: true,
            arp: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.vertical, &self.sweeps, &self.discovery, &self.sources])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(
            &mut [
                &mut self.vertical,
                &mut self.sweeps,
                &mut self.discovery,
                &mut self.sources,
            ],
            bytes,
        );
    }

    fn on_packet(&mut self, packet: &PacketInfo, out: &mut dyn FindingSink) {
        let Some(ip) = packet.ip else { return };
        if ip.fragmented && !ip.reassembled {
            return;
        }
        if self.network.is_allowed(ip.src, Some(ip.dst)) {
            return;
        }
        match ip.transport {
            Transport::Icmp | Transport::Icmpv6 => self.icmp(packet, &ip, out),
            Transport::Tcp | Transport::Udp => match Probe::of(&ip) {
                Some(probe) => self.probe(packet, &ip, probe, out),
                None => self.answer(&ip),
            },
            _ => {}
        }
    }

    fn on_arp(&mut self, arp: &ArpInfo, out: &mut dyn FindingSink) {
        let sender = IpAddr::V4(arp.sender_ip);
        let target = IpAddr::V4(arp.target_ip);
        let cap = self.config.max_tracked;
        if arp.operation == 2 {
            if let Some(s) = self.discovery.get_mut(&(target, false)) {
                if s.hosts.contains(&sender) {
                    s.answered.insert(sender, cap);
                }
            }
            return;
        }
        // Requests only, and not probes (sender 0.0.0.0, RFC 5227) nor
        // gratuitous announcements (sender asks for itself).
        if arp.operation != 1 || arp.sender_ip.is_unspecified() || sender == target {
            return;
        }
        if self.network.is_allowed(sender, None) {
            return;
        }
        let min = self.config.min_arp_targets;
        let min_ratio = self.config.min_arp_unanswered_ratio;
        let s = self
            .discovery
            .touch((sender, false), arp.ts, || new_sweep(arp.ts));
        s.time.extend(arp.ts);
        s.hosts.insert(target, cap);
        let hosts = s.hosts.count();
        // Answers to the latest requests are still on their way: judge the
        // unanswered share on what is already a sweep twice the threshold,
        // the rest at expiry.
        if hosts >= min.saturating_mul(2)
            && failed_ratio(hosts, s.answered.count()) >= min_ratio
            && s.growth.due(hosts)
        {
            let snapshot = s.clone();
            let f = self.discovery_finding(sender, false, &snapshot);
            out.finding(f);
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
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        t: Transport,
        flags: u8,
    ) -> PacketInfo {
        let (s, d) = (
            ep(u32::from_be_bytes(src), sport),
            ep(u32::from_be_bytes(dst), dport),
        );
        crate::fixtures::packet(ts, s, d, t, flags, 60)
    }

    #[test]
    fn syn_scan_fires_once_per_doubling_and_names_hosts() {
        let mut d = PortScanDetector::new(PortScanConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for port in 1..=100u16 {
            let p = packet(
                f64::from(port) * 0.01,
                [10, 0, 0, 5],
                40000,
                [10, 0, 0, 7],
                port,
                Transport::Tcp,
                TcpFlags::SYN,
            );
            d.on_packet(&p, &mut out);
        }
        d.finish(&mut out);
        // 15, 30, 60 and the final 100
        assert_eq!(out.len(), 4);
        let last = out.last().map(|f| (f.kind.clone(), f.id.clone()));
        assert_eq!(
            last,
            Some((
                "tcp_port_scan".into(),
                "tcp_port_scan:10.0.0.5->10.0.0.7".into()
            ))
        );
        assert!(out.iter().all(|f| f.mitre == vec!["T1046".to_string()]));
        assert!(out
            .iter()
            .all(|f| f.evidence.flows.len() <= crate::evidence::MAX_EVIDENCE_FLOWS));
    }

    #[test]
    fn answered_ports_are_not_a_scan() {
        // a client reaching 30 passive-mode FTP data ports, each answered
        let mut d = PortScanDetector::new(PortScanConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for port in 50000..50030u16 {
            let syn = packet(
                0.0,
                [10, 0, 0, 5],
                40000,
                [10, 0, 0, 7],
                port,
                Transport::Tcp,
                TcpFlags::SYN,
            );
            let ack = packet(
                0.0,
                [10, 0, 0, 7],
                port,
                [10, 0, 0, 5],
                40000,
                Transport::Tcp,
                TcpFlags::SYN | TcpFlags::ACK,
            );
            d.on_packet(&syn, &mut out);
            d.on_packet(&ack, &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_first_probe_keeps_its_answer_and_retransmissions() {
        // port 22 answers before any other port is probed, and is probed twice
        let mut d = PortScanDetector::new(PortScanConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        let syn = |port| {
            packet(
                0.0,
                [10, 0, 0, 5],
                40000,
                [10, 0, 0, 7],
                port,
                Transport::Tcp,
                TcpFlags::SYN,
            )
        };
        d.on_packet(&syn(22), &mut out);
        d.on_packet(&syn(22), &mut out);
        let open = packet(
            0.0,
            [10, 0, 0, 7],
            22,
            [10, 0, 0, 5],
            40000,
            Transport::Tcp,
            TcpFlags::SYN | TcpFlags::ACK,
        );
        d.on_packet(&open, &mut out);
        for port in 1000..1100u16 {
            d.on_packet(&syn(port), &mut out);
        }
        // one host probed: no sweep can be, none is kept
        assert_eq!(d.sweeps.len(), 0);
        assert_eq!(d.sources.len(), 1);
        d.finish(&mut out);
        let f = out.last().expect("a scan");
        assert_eq!(f.kind, "tcp_port_scan");
        let fact = |name: &str| {
            f.evidence
                .facts
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(fact("open_ports").as_deref(), Some("22"));
        let summary = &f.evidence.summary;
        assert!(summary.contains("101 distinct TCP ports"), "{summary}");
        assert!(summary.contains("(102 probes: syn)"), "{summary}");
    }

    #[test]
    fn a_sweep_counts_the_first_host_probed_while_it_was_the_only_one() {
        // 10.0.0.7 alone first: ports 1-200 and 445 (answered), then 445
        // on 29 more hosts
        let mut d = PortScanDetector::new(PortScanConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        let syn = |host: u8, port| {
            packet(
                0.0,
                [10, 0, 0, 5],
                40000,
                [10, 0, 1, host],
                port,
                Transport::Tcp,
                TcpFlags::SYN,
            )
        };
        for port in (1..=200u16).chain([445]) {
            d.on_packet(&syn(7, port), &mut out);
        }
        let open = packet(
            0.0,
            [10, 0, 1, 7],
            445,
            [10, 0, 0, 5],
            40000,
            Transport::Tcp,
            TcpFlags::SYN | TcpFlags::ACK,
        );
        d.on_packet(&open, &mut out);
        assert_eq!(d.sweeps.len(), 0);
        for host in 100..129u8 {
            d.on_packet(&syn(host, 445), &mut out);
        }
        d.finish(&mut out);
        let sweep = out
            .iter()
            .rev()
            .find(|f| f.kind == "horizontal_scan")
            .expect("a sweep");
        let hosts = sweep
            .evidence
            .measurements
            .iter()
            .find(|m| m.name == "distinct_hosts")
            .map(|m| m.value);
        assert_eq!(hosts, Some(30.0));
        assert!(
            sweep.evidence.summary.contains("; 1 answered"),
            "{}",
            sweep.evidence.summary
        );
    }

    #[test]
    fn udp_replies_from_a_service_are_not_probes() {
        let mut d = PortScanDetector::new(PortScanConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        // a DNS server answering 100 queries from random client ports
        for port in 30000..30100u16 {
            let reply = packet(
                0.0,
                [10, 0, 0, 53],
                53,
                [10, 0, 0, 5],
                port,
                Transport::Udp,
                0,
            );
            d.on_packet(&reply, &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn traceroute_is_not_a_udp_scan() {
        let mut d = PortScanDetector::new(PortScanConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for (hop, port) in (33434..33524u16).enumerate() {
            let p = packet(
                hop as f64 * 0.1,
                [10, 0, 0, 5],
                45000,
                [198, 51, 100, 7],
                port,
                Transport::Udp,
                0,
            );
            d.on_packet(&p, &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn allow_listed_scanner_is_silent() {
        let network = NetworkConfig {
            allow_sources: vec!["10.0.0.5".parse().unwrap()],
            ..NetworkConfig::default()
        };
        let mut d = PortScanDetector::new(PortScanConfig::default(), network);
        let mut out: Vec<Finding> = Vec::new();
        for port in 1..=100u16 {
            let p = packet(
                0.0,
                [10, 0, 0, 5],
                40000,
                [10, 0, 0, 7],
                port,
                Transport::Tcp,
                TcpFlags::SYN,
            );
            d.on_packet(&p, &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn spoofed_sources_stay_within_capacity() {
        let config = PortScanConfig {
            capacity: 1000,
            ..PortScanConfig::default()
        };
        let mut d = PortScanDetector::new(config, NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..100_000u32 {
            let src = (0x0b00_0000 + i).to_be_bytes();
            let p = packet(
                0.0,
                src,
                40000,
                [10, 0, 0, 7],
                80,
                Transport::Tcp,
                TcpFlags::SYN,
            );
            d.on_packet(&p, &mut out);
        }
        assert!(d.vertical.len() <= 1000 && d.sweeps.len() <= 1000);
        assert!(d.evicted() >= 2 * 99_000);
        assert!(out.is_empty());
    }
}
