//! Per-host statistical baselines: learn what each home host does in a
//! window of time from captures of ordinary days, then score a new capture
//! against it.
//!
//! **Measures**, per home host and per window of `window_secs` (60 s by
//! default, so the counts are per minute), from packet headers only:
//! packets and bytes (on the wire) sent and received (`packets_out`,
//! `packets_in`, `bytes_out`, `bytes_in`), fan-out — distinct 5-tuples the
//! host sent on (`flows`), distinct addresses it sent to (`peers`), distinct
//! service ports it sent to (`ports`: destination ports not above the
//! source port, so a server's replies to clients' ephemeral ports do not
//! count) — and the protocol mix of what it sent (`tcp_share`, `udp_share`,
//! `icmp_share` of its packets, in windows where it sent at least
//! `min_share_packets`). Only windows
//! in which the host sent or received something count ("active" windows):
//! the baseline says how a host behaves when it talks, whatever the hours it
//! is up. Distinct counts come from a fixed 1024-bit linear-counting sketch
//! per measure (Whang et al. 1990; exact in practice under ~50 distinct
//! values, within a few per cent up to a few thousand, saturating near
//! 7000): no allocation per packet.
//!
//! **Learning** ([`BaselineLearner`], `netsec baseline learn`) keeps the
//! values of each host's last `max_windows` active windows per measure and
//! writes, per host and measure, the median and the median absolute
//! deviation (MAD, statrs) and how many windows they come from: a
//! [`Baseline`], versioned JSON.
//!
//! **Scoring** ([`BaselineDetector`], `netsec analyze --baseline FILE`): at
//! the end of each of a host's windows, each measure's robust z-score
//! `z = 0.6745 × (x − median) / s` (Iglewicz and Hoaglin's modified z-score)
//! with the scale `s = max(MAD, mad_floor_ratio × |median|, floor)`: the
//! MAD floor keeps a host that always did the same thing (MAD 0) from
//! alarming at its first extra packet; `floor` is per measure (5 packets,
//! 500 bytes, 2 flows, 1 peer, 1 port, 0.1 of a share). One-sided: only
//! increases (`z ≥ threshold`, 3.5 by default, Iglewicz and Hoaglin's
//! cut-off) are anomalies; a share rising is another share falling. The
//! value must also exceed `learned_max_factor` (1.5) times the largest the
//! host reached in the learned windows: the learned days hold rare but
//! ordinary bursts (a login, a page with many objects), and a MAD from a
//! few dozen windows is narrower than the tail of what a host does.
//! `host_anomaly`, one per host, names every measure that crossed (its
//! largest z, the value, the learned median and MAD, the scale used, the
//! window's start), and is updated when another measure crosses or the
//! largest z doubles. Confidence `sat(z_max, threshold) × min(1, windows /
//! (2 × min_windows))`, `windows` the learned windows of the host. A host
//! learned from fewer than `min_windows` windows is not scored. A home host
//! absent from the baseline that sends `min_new_host_packets` packets gives
//! one `new_host` finding (severity info, confidence 0.3).
//!
//! ATT&CK: none — an anomaly is not a technique; the measure points to what
//! to look at (fan-out: discovery T1046; bytes out: exfiltration T1048).
//!
//! Blind spots: anything that keeps within a host's usual volume and
//! fan-out per window (slow exfiltration, low-and-slow scans); a host whose
//! learned days already held the attack; the victim of a scan or flood is
//! flagged too (its replies), as the measures say.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netsec_model::{
    Analyzer, Comparison, Duration, EntityRole, EntityValue, Finding, FindingCategory, FindingSink,
    Interests, PacketInfo, Severity, TimeRange, Timestamp, Transport,
};
use serde::{Deserialize, Serialize};
use statrs::statistics::{Data, Median};

use crate::evidence::saturate;
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, FixedState};

const PRODUCER: &str = "netsec-detect/baseline";

/// The `format` field of a baseline file.
pub const FORMAT: &str = "netsec-baseline";
/// The version of the baseline file this build writes and reads.
pub const VERSION: u32 = 1;

/// Baseline settings (`[baseline]`): used by `netsec baseline learn` and by
/// `--baseline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    /// Score against a baseline when one is given (`--baseline`).
    pub enabled: bool,
    /// Most hosts tracked at once (learning and scoring).
    pub capacity: usize,
    /// Window length when learning (a baseline file carries its own, used
    /// when scoring).
    pub window_secs: f64,
    /// Windows kept per host and measure when learning (the latest).
    pub max_windows: usize,
    /// Robust z-score at which a measure is anomalous (Iglewicz and
    /// Hoaglin: 3.5).
    pub threshold: f64,
    /// The scale of a z-score is at least this share of the median.
    pub mad_floor_ratio: f64,
    /// Report a value only when it is also above this many times the
    /// largest value learned for the host and measure (0: no such check).
    /// Rare but ordinary events, such as the burst of a login once a day,
    /// are in the learned days; a few learned windows make a MAD that is
    /// too narrow for the tail of what a host does.
    pub learned_max_factor: f64,
    /// Packets a host must send in a window for its protocol shares to
    /// count (a handful of packets makes any mix).
    pub min_share_packets: u64,
    /// Learned windows a host (and a measure) needs to be scored.
    pub min_windows: u64,
    /// Packets a home host absent from the baseline must send to be reported.
    pub min_new_host_packets: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            enabled: true,
            capacity: 50_000,
            window_secs: 60.0,
            max_windows: 1440,
            threshold: 3.5,
            mad_floor_ratio: 0.2,
            learned_max_factor: 1.5,
            min_share_packets: 20,
            min_windows: 5,
            min_new_host_packets: 10,
        }
    }
}

/// What is measured per host and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Packets sent.
    PacketsOut,
    /// Packets received.
    PacketsIn,
    /// Bytes sent (on the wire).
    BytesOut,
    /// Bytes received (on the wire).
    BytesIn,
    /// Distinct 5-tuples the host sent on.
    Flows,
    /// Distinct addresses the host sent to.
    Peers,
    /// Distinct service ports the host sent to.
    Ports,
    /// Share of the packets sent that were TCP.
    TcpShare,
    /// Share of the packets sent that were UDP.
    UdpShare,
    /// Share of the packets sent that were ICMP (v4 or v6).
    IcmpShare,
}

impl Measure {
    /// Every measure, in file and evidence order.
    pub const ALL: [Measure; 10] = [
        Measure::PacketsOut,
        Measure::PacketsIn,
        Measure::BytesOut,
        Measure::BytesIn,
        Measure::Flows,
        Measure::Peers,
        Measure::Ports,
        Measure::TcpShare,
        Measure::UdpShare,
        Measure::IcmpShare,
    ];

    /// snake_case name (as in the file).
    pub fn name(self) -> &'static str {
        match self {
            Measure::PacketsOut => "packets_out",
            Measure::PacketsIn => "packets_in",
            Measure::BytesOut => "bytes_out",
            Measure::BytesIn => "bytes_in",
            Measure::Flows => "flows",
            Measure::Peers => "peers",
            Measure::Ports => "ports",
            Measure::TcpShare => "tcp_share",
            Measure::UdpShare => "udp_share",
            Measure::IcmpShare => "icmp_share",
        }
    }

    /// Unit, per window.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::PacketsOut | Measure::PacketsIn => "packets",
            Measure::BytesOut | Measure::BytesIn => "bytes",
            Measure::Flows => "flows",
            Measure::Peers => "peers",
            Measure::Ports => "ports",
            Measure::TcpShare | Measure::UdpShare | Measure::IcmpShare => "",
        }
    }

    /// The least scale of a z-score for this measure.
    pub fn floor(self) -> f64 {
        match self {
            Measure::PacketsOut | Measure::PacketsIn => 5.0,
            Measure::BytesOut | Measure::BytesIn => 500.0,
            Measure::Flows => 2.0,
            Measure::Peers | Measure::Ports => 1.0,
            Measure::TcpShare | Measure::UdpShare | Measure::IcmpShare => 0.1,
        }
    }
}

/// A distinct-count sketch: 1024 bits of linear counting (fixed size, no
/// allocation).
#[derive(Debug, Clone, Copy, Default)]
struct Sketch([u64; 16]);

impl Sketch {
    const BITS: f64 = 1024.0;

    fn insert(&mut self, hash: u64) {
        let bit = (hash % 1024) as usize;
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }

    fn estimate(&self) -> f64 {
        let ones: u32 = self.0.iter().map(|w| w.count_ones()).sum();
        if ones == 0 {
            return 0.0;
        }
        let zeros = Self::BITS - f64::from(ones);
        if zeros < 1.0 {
            // saturated: the largest value linear counting can give
            return (Self::BITS * Self::BITS.ln()).round();
        }
        (-Self::BITS * (zeros / Self::BITS).ln()).round()
    }
}

/// One host's counts in one window.
#[derive(Debug, Clone, Copy)]
struct Window {
    index: i64,
    packets_out: u64,
    packets_in: u64,
    bytes_out: u64,
    bytes_in: u64,
    tcp: u64,
    udp: u64,
    icmp: u64,
    flows: Sketch,
    peers: Sketch,
    ports: Sketch,
}

impl Window {
    fn new(index: i64) -> Self {
        Window {
            index,
            packets_out: 0,
            packets_in: 0,
            bytes_out: 0,
            bytes_in: 0,
            tcp: 0,
            udp: 0,
            icmp: 0,
            flows: Sketch::default(),
            peers: Sketch::default(),
            ports: Sketch::default(),
        }
    }

    fn active(&self) -> bool {
        self.packets_out + self.packets_in > 0
    }

    /// The measures of a closed window, in [`Measure::ALL`]'s order; None
    /// where a measure is undefined (shares with nothing sent).
    fn values(&self, min_share_packets: u64) -> [Option<f64>; 10] {
        let sent = self.packets_out as f64;
        let enough = self.packets_out > 0 && self.packets_out >= min_share_packets;
        let share = |n: u64| enough.then(|| n as f64 / sent);
        [
            Some(sent),
            Some(self.packets_in as f64),
            Some(self.bytes_out as f64),
            Some(self.bytes_in as f64),
            Some(self.flows.estimate()),
            Some(self.peers.estimate()),
            Some(self.ports.estimate()),
            share(self.tcp),
            share(self.udp),
            share(self.icmp),
        ]
    }
}

/// What both analysers read: packet headers.
const PACKETS: Interests = Interests {
    packets: true,
    ..Interests::NONE
};

/// Widen a time range to `ts` (start it when there is none).
fn extend(time: &mut Option<TimeRange>, ts: Timestamp) {
    match time.as_mut() {
        Some(t) => t.extend(ts),
        None => *time = Some(TimeRange::at(ts)),
    }
}

/// Whether an address is a host (not multicast, broadcast or unspecified).
fn is_host(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_multicast() || v4.is_broadcast() || v4.is_unspecified()),
        IpAddr::V6(v6) => !(v6.is_multicast() || v6.is_unspecified()),
    }
}

/// Window bookkeeping shared by learning and scoring: which hosts count,
/// and the counting of one packet.
#[derive(Debug, Clone)]
struct Counter {
    network: NetworkConfig,
    window_secs: f64,
    hasher: FixedState,
}

impl Counter {
    fn index(&self, ts: Timestamp) -> i64 {
        (ts.as_secs_f64() / self.window_secs).floor() as i64
    }

    fn start(&self, index: i64) -> Timestamp {
        Timestamp::from_secs_f64(index as f64 * self.window_secs)
    }

    fn tracks(&self, ip: IpAddr) -> bool {
        is_host(ip) && self.network.is_home(ip)
    }

    fn count_sent(&self, w: &mut Window, packet: &PacketInfo) {
        let Some(ip) = packet.ip else { return };
        w.packets_out += 1;
        w.bytes_out += u64::from(packet.wire_len);
        match ip.transport {
            Transport::Tcp => w.tcp += 1,
            Transport::Udp => w.udp += 1,
            Transport::Icmp | Transport::Icmpv6 => w.icmp += 1,
            _ => {}
        }
        w.flows.insert(
            self.hasher
                .hash_one((ip.dst, ip.src_port, ip.dst_port, ip.transport)),
        );
        w.peers.insert(self.hasher.hash_one(ip.dst));
        if ip.transport.has_ports() && ip.dst_port <= ip.src_port {
            w.ports
                .insert(self.hasher.hash_one((ip.dst_port, ip.transport)));
        }
    }

    fn count_received(&self, w: &mut Window, packet: &PacketInfo) {
        w.packets_in += 1;
        w.bytes_in += u64::from(packet.wire_len);
    }
}

/// The learned statistics of one measure of one host.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureStats {
    /// Median over the windows.
    pub median: f64,
    /// Median absolute deviation from the median.
    pub mad: f64,
    /// The largest value learned.
    pub max: f64,
    /// Windows the statistics come from.
    pub windows: u64,
}

/// What one host did in its learned windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostProfile {
    /// Active windows learned.
    pub windows: u64,
    /// Statistics by measure.
    pub measures: BTreeMap<Measure, MeasureStats>,
}

/// A learned baseline: what `netsec baseline learn` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for files this build writes.
    pub version: u32,
    /// Window length, seconds.
    pub window_secs: f64,
    /// What it was learned from (capture names), for the reader.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Packet time learned: first and last packet.
    pub time: Option<TimeRange>,
    /// Hosts not learned because the host table was full.
    #[serde(default)]
    pub hosts_evicted: u64,
    /// Profiles by host address.
    pub hosts: BTreeMap<IpAddr, HostProfile>,
}

/// A baseline file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file cannot be read or written.
    #[error("baseline {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON, or JSON of another shape (serde_json's message names the
    /// line, column and field).
    #[error("baseline{}: {source}", file_part(file))]
    Json {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// JSON of the right shape with a value that cannot be used.
    #[error("baseline{}: {what}", file_part(file))]
    Invalid {
        /// The file, when the text came from one.
        file: Option<PathBuf>,
        /// What is wrong.
        what: String,
    },
}

fn file_part(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

/// The fields read before the rest, to refuse another format or version
/// with a message saying so.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u64>,
}

impl BaselineError {
    fn with_file(self, path: &Path) -> Self {
        match self {
            BaselineError::Json { source, .. } => BaselineError::Json {
                file: Some(path.to_path_buf()),
                source,
            },
            BaselineError::Invalid { what, .. } => BaselineError::Invalid {
                file: Some(path.to_path_buf()),
                what,
            },
            other => other,
        }
    }
}

impl Baseline {
    /// Parse and check a baseline from JSON text.
    pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
        let invalid = |what: String| BaselineError::Invalid { file: None, what };
        let header: Header = serde_json::from_str(text)
            .map_err(|source| BaselineError::Json { file: None, source })?;
        match header.format.as_deref() {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(invalid(format!(
                    "format is {other:?}, not {FORMAT:?}: not a netsec baseline"
                )))
            }
            None => return Err(invalid(format!("no \"format\": {FORMAT:?} field"))),
        }
        match header.version {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(invalid(format!(
                    "version {v} is not supported (this netsec reads version {VERSION})"
                )))
            }
            None => return Err(invalid("no \"version\" field".into())),
        }
        let baseline: Baseline = serde_json::from_str(text)
            .map_err(|source| BaselineError::Json { file: None, source })?;
        baseline.validate().map_err(invalid)?;
        Ok(baseline)
    }

    /// Read and check a baseline file; errors name the file.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::from_json(&text).map_err(|e| e.with_file(path))
    }

    /// The baseline as pretty JSON.
    pub fn to_json(&self) -> Result<String, BaselineError> {
        serde_json::to_string_pretty(self)
            .map(|t| t + "\n")
            .map_err(|source| BaselineError::Json { file: None, source })
    }

    /// Write the baseline to a file.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let text = self.to_json()?;
        std::fs::write(path, text).map_err(|source| BaselineError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    fn validate(&self) -> Result<(), String> {
        if !(self.window_secs.is_finite() && self.window_secs >= 1.0) {
            return Err(format!(
                "window_secs = {}: must be a number of seconds, at least 1",
                self.window_secs
            ));
        }
        for (host, profile) in &self.hosts {
            for (measure, s) in &profile.measures {
                let finite = s.median.is_finite() && s.mad.is_finite() && s.max.is_finite();
                if !finite || s.mad < 0.0 {
                    return Err(format!(
                        "hosts.{host}.measures.{}: median {} and MAD {} must be finite, the MAD not negative",
                        measure.name(),
                        s.median,
                        s.mad
                    ));
                }
                if s.windows == 0 || s.windows > profile.windows {
                    return Err(format!(
                        "hosts.{host}.measures.{}: windows = {} must be between 1 and the host's {}",
                        measure.name(),
                        s.windows,
                        profile.windows
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Median and MAD of some values (statrs), or None for none.
pub fn median_mad(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let median = Data::new(values.to_vec()).median();
    let deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    let mad = Data::new(deviations).median();
    Some((median, mad))
}

/// A host being learned: its open window and the values of its past ones.
#[derive(Debug, Clone)]
struct Learning {
    window: Window,
    windows: u64,
    /// Per measure, the latest `max_windows` values (a ring).
    /// (f32: half the memory; exact for counts up to 2^24, within 1e-7 beyond)
    samples: [Vec<f32>; 10],
    next: [usize; 10],
}

/// Learns a [`Baseline`] from the packets it sees (`netsec baseline learn`).
#[derive(Debug)]
pub struct BaselineLearner {
    config: BaselineConfig,
    counter: Counter,
    hosts: BoundedTable<IpAddr, Learning>,
    time: Option<TimeRange>,
    sources: Vec<String>,
}

impl BaselineLearner {
    /// A learner with these settings.
    pub fn new(config: BaselineConfig, network: NetworkConfig) -> Self {
        let kept = config.max_windows.max(1);
        BaselineLearner {
            counter: Counter {
                network,
                window_secs: config.window_secs.max(1.0),
                hasher: FixedState::default(),
            },
            // hosts are never idle-expired while learning: their windows are the point
            hosts: BoundedTable::new(config.capacity, Duration::from_nanos(i64::MAX))
                .with_heap(10 * kept * std::mem::size_of::<f32>()),
            config,
            time: None,
            sources: Vec::new(),
        }
    }

    /// Name what is learned from (capture names, written into the file).
    pub fn with_sources(mut self, sources: Vec<String>) -> Self {
        self.sources = sources;
        self
    }

    /// Hosts evicted because the table was full.
    pub fn evicted(&self) -> u64 {
        self.hosts.evicted()
    }

    fn close(config: &BaselineConfig, host: &mut Learning, next: Window) {
        let max_windows = config.max_windows;
        let closed = std::mem::replace(&mut host.window, next);
        if !closed.active() {
            return;
        }
        host.windows += 1;
        let cap = max_windows.max(1);
        let values = closed.values(config.min_share_packets);
        for ((value, samples), next) in values
            .iter()
            .zip(host.samples.iter_mut())
            .zip(host.next.iter_mut())
        {
            let Some(v) = value else { continue };
            let v = *v as f32;
            if samples.len() < cap {
                samples.push(v);
            } else if let Some(slot) = samples.get_mut(*next % cap) {
                *slot = v;
            }
            *next = (*next + 1) % cap;
        }
    }

    fn count(&mut self, ip: IpAddr, packet: &PacketInfo, sent: bool) {
        let index = self.counter.index(packet.ts);
        let host = self.hosts.touch(ip, packet.ts, || Learning {
            window: Window::new(index),
            windows: 0,
            samples: Default::default(),
            next: [0; 10],
        });
        // a later window, or an earlier one (captures given out of order)
        if index != host.window.index {
            Self::close(&self.config, host, Window::new(index));
        }
        if sent {
            self.counter.count_sent(&mut host.window, packet);
        } else {
            self.counter.count_received(&mut host.window, packet);
        }
    }

    /// The baseline learned so far (open windows closed first).
    pub fn baseline(&mut self) -> Baseline {
        for (_, host) in self.hosts.iter_mut() {
            let next = Window::new(host.window.index + 1);
            Self::close(&self.config, host, next);
        }
        let mut hosts = BTreeMap::new();
        for (ip, host) in self.hosts.iter() {
            if host.windows == 0 {
                continue;
            }
            let mut measures = BTreeMap::new();
            for (m, samples) in Measure::ALL.iter().zip(host.samples.iter()) {
                let samples: Vec<f64> = samples.iter().map(|v| f64::from(*v)).collect();
                if let Some((median, mad)) = median_mad(&samples) {
                    let stats = MeasureStats {
                        median: round6(median),
                        mad: round6(mad),
                        max: round6(samples.iter().copied().fold(f64::MIN, f64::max)),
                        windows: samples.len() as u64,
                    };
                    measures.insert(*m, stats);
                }
            }
            let profile = HostProfile {
                windows: host.windows,
                measures,
            };
            hosts.insert(*ip, profile);
        }
        Baseline {
            format: FORMAT.into(),
            version: VERSION,
            window_secs: self.counter.window_secs,
            sources: self.sources.clone(),
            time: self.time,
            hosts_evicted: self.hosts.evicted(),
            hosts,
        }
    }
}

impl Analyzer for BaselineLearner {
    fn name(&self) -> &'static str {
        "baseline-learn"
    }

    fn interests(&self) -> Interests {
        PACKETS
    }

    fn memory_used(&self) -> usize {
        self.hosts.memory_used()
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        self.hosts.limit_bytes(bytes);
    }

    fn on_packet(&mut self, packet: &PacketInfo, _out: &mut dyn FindingSink) {
        let Some(ip) = packet.ip else { return };
        extend(&mut self.time, packet.ts);
        if self.counter.tracks(ip.src) {
            self.count(ip.src, packet, true);
        }
        if ip.dst != ip.src && self.counter.tracks(ip.dst) {
            self.count(ip.dst, packet, false);
        }
    }
}

/// One measure's worst window in the scored capture.
#[derive(Debug, Clone, Copy)]
struct Anomaly {
    z: f64,
    value: f64,
    window: i64,
}

/// A host being scored.
#[derive(Debug, Clone)]
struct Scoring {
    window: Window,
    anomalies: [Option<Anomaly>; 10],
    /// Measures anomalous and the largest z when last reported.
    reported: (usize, f64),
    time: Option<TimeRange>,
    /// Packets sent, for hosts absent from the baseline.
    unseen_packets: u64,
    unseen_reported: bool,
    /// Whether the baseline has the host (looked up once).
    known: bool,
}

/// Scores hosts against a learned [`Baseline`] (`--baseline FILE`).
#[derive(Debug)]
pub struct BaselineDetector {
    config: BaselineConfig,
    baseline: std::sync::Arc<Baseline>,
    counter: Counter,
    hosts: BoundedTable<IpAddr, Scoring>,
    /// The window the last tick was in: open windows of every host are
    /// closed once per window, not per tick.
    tick_window: Option<i64>,
}

impl BaselineDetector {
    /// A detector scoring against `baseline` (its window length is the
    /// file's).
    pub fn new(
        config: BaselineConfig,
        network: NetworkConfig,
        baseline: std::sync::Arc<Baseline>,
    ) -> Self {
        let window_secs = baseline.window_secs.max(1.0);
        BaselineDetector {
            counter: Counter {
                network,
                window_secs,
                hasher: FixedState::default(),
            },
            // a host quiet for ten windows is forgotten (its finding stays)
            hosts: BoundedTable::new(config.capacity, Duration::from_secs_f64(window_secs * 10.0))
                .with_heap(0),
            config,
            baseline,
            tick_window: None,
        }
    }

    /// Hosts evicted because the table was full.
    pub fn evicted(&self) -> u64 {
        self.hosts.evicted()
    }

    fn count(&mut self, ip: IpAddr, packet: &PacketInfo, sent: bool, out: &mut dyn FindingSink) {
        let index = self.counter.index(packet.ts);
        let baseline = &self.baseline;
        let host = self.hosts.touch(ip, packet.ts, || Scoring {
            window: Window::new(index),
            anomalies: [None; 10],
            reported: (0, 0.0),
            time: None,
            unseen_packets: 0,
            unseen_reported: false,
            known: baseline.hosts.contains_key(&ip),
        });
        if index != host.window.index {
            let closed = std::mem::replace(&mut host.window, Window::new(index));
            score_window(
                &self.config,
                &self.baseline,
                &self.counter,
                ip,
                host,
                &closed,
                out,
            );
        }
        extend(&mut host.time, packet.ts);
        if sent {
            self.counter.count_sent(&mut host.window, packet);
            host.unseen_packets += 1;
        } else {
            self.counter.count_received(&mut host.window, packet);
        }
        if sent
            && !host.known
            && !host.unseen_reported
            && host.unseen_packets >= self.config.min_new_host_packets
        {
            host.unseen_reported = true;
            out.finding(new_host_finding(
                &self.counter,
                &self.baseline,
                ip,
                host,
                self.config.min_new_host_packets,
            ));
        }
    }

    /// Close every host's window that ended before `index` (all of them
    /// with None).
    fn close_all(&mut self, before: Option<i64>, out: &mut dyn FindingSink) {
        for (ip, host) in self.hosts.iter_mut() {
            if before.is_some_and(|b| host.window.index >= b) {
                continue;
            }
            let next = Window::new(host.window.index + 1);
            let closed = std::mem::replace(&mut host.window, next);
            score_window(
                &self.config,
                &self.baseline,
                &self.counter,
                *ip,
                host,
                &closed,
                out,
            );
        }
    }
}

/// Score a host's closed window; report the host when something new crossed.
fn score_window(
    config: &BaselineConfig,
    baseline: &Baseline,
    counter: &Counter,
    ip: IpAddr,
    host: &mut Scoring,
    closed: &Window,
    out: &mut dyn FindingSink,
) {
    if !closed.active() {
        return;
    }
    let Some(profile) = baseline.hosts.get(&ip) else {
        return;
    };
    if profile.windows < config.min_windows {
        return;
    }
    let values = closed.values(config.min_share_packets);
    for ((m, value), slot) in Measure::ALL
        .iter()
        .zip(values.iter())
        .zip(host.anomalies.iter_mut())
    {
        let (Some(x), Some(stats)) = (value, profile.measures.get(m)) else {
            continue;
        };
        if stats.windows < config.min_windows {
            continue;
        }
        let z = robust_z(*x, stats, config.mad_floor_ratio, m.floor());
        // a value the learned days (nearly) reached is not new, however rare it was
        let seen = *x <= config.learned_max_factor * stats.max;
        if z >= config.threshold && !seen && slot.is_none_or(|a| z > a.z) {
            *slot = Some(Anomaly {
                z,
                value: *x,
                window: closed.index,
            });
        }
    }
    let count = host.anomalies.iter().flatten().count();
    let max_z = host
        .anomalies
        .iter()
        .flatten()
        .map(|a| a.z)
        .fold(0.0, f64::max);
    let (reported_count, reported_z) = host.reported;
    if count > reported_count || (count > 0 && max_z >= 2.0 * reported_z) {
        host.reported = (count, max_z);
        out.finding(anomaly_finding(config, counter, ip, profile, host));
    }
}

/// The robust z-score of `x` against learned statistics, the scale floored
/// at `ratio × |median|` and `floor`.
pub fn robust_z(x: f64, stats: &MeasureStats, ratio: f64, floor: f64) -> f64 {
    let scale = scale_of(stats, ratio, floor);
    0.6745 * (x - stats.median) / scale
}

fn scale_of(stats: &MeasureStats, ratio: f64, floor: f64) -> f64 {
    stats.mad.max(ratio * stats.median.abs()).max(floor)
}

fn anomaly_finding(
    config: &BaselineConfig,
    counter: &Counter,
    ip: IpAddr,
    profile: &HostProfile,
    host: &Scoring,
) -> Finding {
    let anomalies: Vec<(Measure, Anomaly)> = Measure::ALL
        .iter()
        .zip(host.anomalies.iter())
        .filter_map(|(m, a)| a.map(|a| (*m, a)))
        .collect();
    let max_z = anomalies.iter().map(|(_, a)| a.z).fold(0.0, f64::max);
    let first = anomalies.iter().map(|(_, a)| a.window).min().unwrap_or(0);
    let last = anomalies.iter().map(|(_, a)| a.window).max().unwrap_or(0);
    let mut time = TimeRange::at(counter.start(first));
    time.extend(counter.start(last + 1));
    let learned = profile.windows as f64 / (2.0 * config.min_windows.max(1) as f64);
    let confidence = saturate(max_z, config.threshold) * learned.min(1.0);
    let names: Vec<&str> = anomalies.iter().map(|(m, _)| m.name()).collect();
    let mut f = Finding::new(
        "host_anomaly",
        format!("{ip} departs from its baseline: {}", names.join(", ")),
        FindingCategory::Anomaly,
        counter.network.severity_for(Some(ip), Severity::Low),
        confidence,
        time,
        PRODUCER,
    )
    .with_id(ip)
    .with_entity(EntityRole::Source, EntityValue::Host { ip });
    let mut parts = Vec::new();
    for (m, a) in &anomalies {
        let Some(stats) = profile.measures.get(m) else {
            continue;
        };
        let scale = scale_of(stats, config.mad_floor_ratio, m.floor());
        let name = m.name();
        f = f
            .with_measurement(
                format!("{name}_z"),
                a.z,
                "",
                Comparison::GreaterOrEqual,
                config.threshold,
            )
            // the value, beside the largest the learned days reached
            .with_measurement(name, a.value, m.unit(), Comparison::Greater, stats.max)
            .with_value(format!("{name}_median"), stats.median, m.unit())
            .with_value(format!("{name}_mad"), stats.mad, m.unit())
            .with_value(format!("{name}_scale"), scale, m.unit())
            .with_fact(
                format!("{name}_window"),
                format!(
                    "{:.0} s from {:.3}",
                    counter.window_secs,
                    counter.start(a.window).as_secs_f64()
                ),
            );
        parts.push(format!(
            "{name} {} {} in one {:.0}-s window against a learned median of {} (MAD {}, scale {}, largest {}): robust z {:.1} >= {}",
            trim(a.value),
            m.unit(),
            counter.window_secs,
            trim(stats.median),
            trim(stats.mad),
            trim(scale),
            trim(stats.max),
            a.z,
            config.threshold
        ));
    }
    f.with_value("baseline_windows", profile.windows as f64, "windows")
        .with_summary(format!(
            "{ip}, learned over {} windows: {}",
            profile.windows,
            parts.join("; ")
        ))
}

fn new_host_finding(
    counter: &Counter,
    baseline: &Baseline,
    ip: IpAddr,
    host: &Scoring,
    min_packets: u64,
) -> Finding {
    Finding::new(
        "new_host",
        format!("{ip} is not in the baseline"),
        FindingCategory::Anomaly,
        Severity::Info,
        0.3,
        host.time.unwrap_or_default(),
        PRODUCER,
    )
    .with_id(ip)
    .with_entity(EntityRole::Source, EntityValue::Host { ip })
    .with_measurement(
        "packets_sent",
        host.unseen_packets as f64,
        "packets",
        Comparison::GreaterOrEqual,
        min_packets as f64,
    )
    .with_value("baseline_hosts", baseline.hosts.len() as f64, "hosts")
    .with_summary(format!(
        "{ip} (home network) sent {} packets; the baseline ({} hosts, {:.0}-s windows) never saw it",
        host.unseen_packets,
        baseline.hosts.len(),
        counter.window_secs
    ))
}

/// Six decimals: what the file keeps (short decimals read back exactly).
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

impl Analyzer for BaselineDetector {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn interests(&self) -> Interests {
        PACKETS
    }

    fn memory_used(&self) -> usize {
        self.hosts.memory_used()
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        self.hosts.limit_bytes(bytes);
    }

    fn on_packet(&mut self, packet: &PacketInfo, out: &mut dyn FindingSink) {
        let Some(ip) = packet.ip else { return };
        if self.counter.tracks(ip.src) {
            self.count(ip.src, packet, true, out);
        }
        if ip.dst != ip.src && self.counter.tracks(ip.dst) {
            self.count(ip.dst, packet, false, out);
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        let index = self.counter.index(now);
        if self.tick_window.is_some_and(|w| w >= index) {
            return;
        }
        self.tick_window = Some(index);
        self.close_all(Some(index), out);
        for (ip, mut host) in self.hosts.expire(now) {
            let next = Window::new(host.window.index + 1);
            let closed = std::mem::replace(&mut host.window, next);
            score_window(
                &self.config,
                &self.baseline,
                &self.counter,
                ip,
                &mut host,
                &closed,
                out,
            );
        }
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.close_all(None, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{ep, packet};
    use netsec_model::TcpFlags;

    const HOST: u32 = 0x0a00_0005;

    /// `per_window` requests from 10.0.0.5 to one outside web server, and
    /// their answers, in each of `windows` 60-s windows from `start`.
    fn ordinary(start: f64, windows: u32, per_window: u32) -> Vec<PacketInfo> {
        let mut out = Vec::new();
        for w in 0..windows {
            for i in 0..per_window {
                let t = start + f64::from(w) * 60.0 + f64::from(i) * 0.5;
                let me = ep(HOST, 40000 + (i % 3) as u16);
                let web = ep(0xc633_6407, 443);
                out.push(packet(t, me, web, Transport::Tcp, TcpFlags::ACK, 200));
                out.push(packet(
                    t + 0.01,
                    web,
                    me,
                    Transport::Tcp,
                    TcpFlags::ACK,
                    1400,
                ));
            }
        }
        out
    }

    fn learn(packets: &[PacketInfo]) -> Baseline {
        let mut l = BaselineLearner::new(BaselineConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for p in packets {
            l.on_packet(p, &mut out);
        }
        l.finish(&mut out);
        assert!(out.is_empty());
        l.baseline()
    }

    fn score(baseline: Baseline, packets: &[PacketInfo]) -> Vec<Finding> {
        let mut d = BaselineDetector::new(
            BaselineConfig::default(),
            NetworkConfig::default(),
            std::sync::Arc::new(baseline),
        );
        let mut out: Vec<Finding> = Vec::new();
        for p in packets {
            d.on_packet(p, &mut out);
            d.on_tick(p.ts, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn median_and_mad_come_from_statrs() {
        assert_eq!(median_mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), Some((3.0, 1.0)));
        assert_eq!(median_mad(&[]), None);
        assert_eq!(median_mad(&[f64::NAN]), None);
    }

    #[test]
    fn the_scale_is_floored() {
        let stats = MeasureStats {
            median: 10.0,
            mad: 0.0,
            max: 10.0,
            windows: 10,
        };
        // MAD 0: the scale is max(0.2 × 10, 5) = 5
        assert!((robust_z(20.0, &stats, 0.2, 5.0) - 0.6745 * 2.0).abs() < 1e-9);
        let wide = MeasureStats { mad: 8.0, ..stats };
        assert!((robust_z(18.0, &wide, 0.2, 5.0) - 0.6745).abs() < 1e-9);
    }

    #[test]
    fn the_sketch_counts_distinct_values() {
        let hasher = FixedState::default();
        let mut s = Sketch::default();
        for port in 0..20u16 {
            s.insert(hasher.hash_one(port));
            s.insert(hasher.hash_one(port));
        }
        assert_eq!(s.estimate(), 20.0);
        for port in 0..500u16 {
            s.insert(hasher.hash_one(port));
        }
        let e = s.estimate();
        assert!((470.0..=530.0).contains(&e), "{e}");
    }

    #[test]
    fn a_day_like_the_learned_ones_is_quiet_and_a_scan_is_not() {
        let baseline = learn(&ordinary(0.0, 20, 40));
        let profile = baseline.hosts.get(&IpAddr::from([10, 0, 0, 5]));
        assert_eq!(profile.map(|p| p.windows), Some(20));
        // the outside server is not a home host
        assert_eq!(baseline.hosts.len(), 1);
        assert!(score(baseline.clone(), &ordinary(100_000.0, 10, 42)).is_empty());

        let mut day = ordinary(100_000.0, 10, 40);
        for port in 1..=300u16 {
            let t = 100_000.0 + 5.0 * 60.0 + f64::from(port) * 0.001;
            let probe = packet(
                t,
                ep(HOST, 50000),
                ep(0xc633_6408, port),
                Transport::Tcp,
                TcpFlags::SYN,
                60,
            );
            day.push(probe);
        }
        day.sort_by_key(|a| a.ts);
        let found = score(baseline, &day);
        let last = found.iter().rfind(|f| f.kind == "host_anomaly");
        let Some(last) = last else {
            panic!("no anomaly: {found:?}")
        };
        assert_eq!(last.id, "host_anomaly:10.0.0.5");
        let z = |name: &str| {
            last.evidence
                .measurements
                .iter()
                .find(|m| m.name == name)
                .map(|m| m.value)
        };
        assert!(z("ports_z").is_some_and(|z| z > 100.0), "{last:?}");
        // one peer more than usual is no anomaly
        assert!(z("peers_z").is_none(), "{last:?}");
        assert!(z("ports").is_some_and(|v| (280.0..=330.0).contains(&v)));
        assert_eq!(z("ports_median"), Some(1.0));
        assert!(z("bytes_in_z").is_none(), "nothing more came in");
    }

    #[test]
    fn a_host_absent_from_the_baseline_is_a_note() {
        let baseline = learn(&ordinary(0.0, 20, 40));
        let other: Vec<PacketInfo> = (0..30)
            .map(|i| {
                packet(
                    1000.0 + f64::from(i),
                    ep(0x0a00_0009, 5000),
                    ep(0x0a00_0001, 53),
                    Transport::Udp,
                    0,
                    80,
                )
            })
            .collect();
        let found = score(baseline, &other);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "new_host");
        assert_eq!(found[0].severity, Severity::Info);
        assert!(found[0].confidence.value() < 0.5);
    }

    #[test]
    fn files_round_trip_and_bad_ones_say_what_is_wrong() {
        let baseline = learn(&ordinary(0.0, 6, 10));
        let text = baseline.to_json().unwrap_or_default();
        let back = Baseline::from_json(&text);
        assert!(back.as_ref().is_ok_and(|b| *b == baseline), "{back:?}");
        let err = |t: &str| {
            Baseline::from_json(t)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("not json").contains("line 1"));
        assert!(err(r#"{"format": "pcap", "version": 1}"#).contains("not a netsec baseline"));
        assert!(err(r#"{"format": "netsec-baseline", "version": 7}"#).contains("version 7"));
        assert!(err(r#"{"format": "netsec-baseline"}"#).contains("version"));
        let renamed = text.replacen("\"bytes_in\"", "\"bytes_sideways\"", 1);
        assert!(
            err(&renamed).contains("bytes_sideways"),
            "{}",
            err(&renamed)
        );
        let negative = text.replacen("\"mad\": 0.0", "\"mad\": -1.0", 1);
        assert!(err(&negative).contains("MAD"), "{}", err(&negative));
        let bad_host = text.replacen("10.0.0.5", "10.0.0.500", 1);
        assert!(!err(&bad_host).is_empty());
        let window = text.replacen("\"window_secs\": 60.0", "\"window_secs\": 0.0", 1);
        assert!(err(&window).contains("window_secs"), "{}", err(&window));

        let dir = std::env::temp_dir().join(format!("netsec-baseline-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("bad.json");
        let _ = std::fs::write(
            &path,
            "{\"format\": \"netsec-baseline\", \"version\": 1, \"x\": 1}",
        );
        let msg = Baseline::load(&path).err().map(|e| e.to_string());
        assert!(
            msg.as_ref().is_some_and(|m| m.contains("bad.json")),
            "{msg:?}"
        );
        let missing = Baseline::load(&dir.join("absent.json"))
            .err()
            .map(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(missing.is_some_and(|m| m.contains("absent.json")));
    }

    #[test]
    fn hosts_are_capped_and_evictions_counted() {
        let config = BaselineConfig {
            capacity: 100,
            ..BaselineConfig::default()
        };
        let mut l = BaselineLearner::new(config.clone(), NetworkConfig::default());
        let baseline = std::sync::Arc::new(learn(&ordinary(0.0, 6, 10)));
        let mut d = BaselineDetector::new(config, NetworkConfig::default(), baseline);
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..10_000u32 {
            let p = packet(
                f64::from(i) * 0.01,
                ep(0x0a01_0000 + i, 4000),
                ep(0x0a02_0000 + i, 80),
                Transport::Tcp,
                TcpFlags::SYN,
                60,
            );
            l.on_packet(&p, &mut out);
            d.on_packet(&p, &mut out);
        }
        assert!(l.evicted() >= 19_000, "{}", l.evicted());
        assert!(d.evicted() >= 19_000, "{}", d.evicted());
        assert!(l.memory_used() > 0 && d.memory_used() > 0);
        l.set_memory_budget(l.memory_used() / 2);
        assert_eq!(l.hosts.len(), 50);
    }
}
