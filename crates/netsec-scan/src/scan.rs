//! The scan engine: host discovery, then TCP connect and UDP probes over
//! every (host, port) pair in a randomised order with a bounded number in
//! flight, adaptive per-host timeouts, retries and a rate limit; then
//! service detection on open ports. Progress and cancellation go through a
//! shared [`ScanProgress`]; a cancelled scan returns what it found so far.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::raw::{self, Discovery};
use crate::service::probes::ProbeTable;
use crate::service::{self, DetectConfig, ServiceMatch};
use crate::tcp::{self, ConnectOutcome};
use crate::timing::{HostRtts, RateLimiter, Timing};
use crate::udp::{self, UdpOutcome};

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// Port states, as nmap defines them (nmap book, "Port Scanning Basics").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PortState {
    /// An application accepts connections or answers datagrams.
    #[serde(rename = "open")]
    Open,
    /// Reachable, but no application listens (RST, ICMP port unreachable).
    #[serde(rename = "closed")]
    Closed,
    /// Probes are dropped or rejected by a filter (no answer, ICMP
    /// unreachable other than port unreachable).
    #[serde(rename = "filtered")]
    Filtered,
    /// UDP: no answer, which open and filtered ports both give.
    #[serde(rename = "open|filtered")]
    OpenFiltered,
    /// Reachable, open or closed unknown (ACK scans; not produced by the
    /// connect and UDP scans).
    #[serde(rename = "unfiltered")]
    Unfiltered,
}

impl PortState {
    /// nmap's name for the state.
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
            PortState::OpenFiltered => "open|filtered",
            PortState::Unfiltered => "unfiltered",
        }
    }

    /// Parse nmap's name.
    pub fn parse(s: &str) -> Option<PortState> {
        Some(match s {
            "open" => PortState::Open,
            "closed" => PortState::Closed,
            "filtered" => PortState::Filtered,
            "open|filtered" => PortState::OpenFiltered,
            "unfiltered" => PortState::Unfiltered,
            _ => return None,
        })
    }
}

impl std::fmt::Display for PortState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shared progress counters and the cancel switch (for a progress bar and
/// Ctrl-C). Clone the `Arc` into the scan's config.
#[derive(Debug, Default)]
pub struct ScanProgress {
    total: AtomicU64,
    done: AtomicU64,
    cancelled: AtomicBool,
}

impl ScanProgress {
    /// Probes planned (ports × hosts, then services).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Probes finished.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Stop the scan: no new probes start; the report says it is partial.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`ScanProgress::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub(crate) fn add_total(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_done(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    fn tick(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

/// How TCP ports are probed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TcpScan {
    /// Full connections through the kernel (`-sT`; no privileges).
    #[default]
    Connect,
    /// Half-open SYN probes with raw packets (`-sS`; root or
    /// `CAP_NET_RAW`, else the scan falls back to connect with a note).
    Syn,
}

/// Scan settings.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Timeouts, retries, delay and parallelism (a `-T` profile).
    pub timing: Timing,
    /// Most probes per second (0: no limit).
    pub rate: f64,
    /// Probe (host, port) pairs in a shuffled order.
    pub randomize: bool,
    /// Seed of the shuffle (same seed, same order).
    pub seed: u64,
    /// Bind probes to this source port.
    pub source_port: Option<u16>,
    /// Skip host discovery and treat every target as up (`-Pn`).
    pub skip_discovery: bool,
    /// TCP ports of the discovery "ping" (connect; nmap's unprivileged
    /// discovery uses 80 and 443).
    pub ping_ports: Vec<u16>,
    /// TCP technique: connect or SYN.
    pub tcp_scan: TcpScan,
    /// Raw host discovery probes (ARP, ICMP, SYN/ACK pings; needs root);
    /// `None`: connect "pings" to `ping_ports`. Falls back to those with a
    /// note when raw sockets cannot be opened.
    pub raw_discovery: Option<Discovery>,
    /// Identify services on open ports.
    pub service_detection: bool,
    /// Service-detection settings.
    pub detect: DetectConfig,
    /// The probe/match table.
    pub probes: Arc<ProbeTable>,
    /// Closed, filtered and open|filtered ports are listed one by one only
    /// when a host has at most this many ports scanned; above it they are
    /// counted (open ports are always listed). Keeps a 65,535-port scan of
    /// many hosts in bounded memory.
    pub list_limit: usize,
    /// Progress counters and the cancel switch.
    pub progress: Arc<ScanProgress>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            timing: Timing::default(),
            rate: 0.0,
            randomize: true,
            seed: 0x6e65_7473_6563,
            source_port: None,
            skip_discovery: false,
            ping_ports: vec![80, 443],
            tcp_scan: TcpScan::Connect,
            raw_discovery: None,
            service_detection: true,
            detect: DetectConfig::default(),
            probes: Arc::new(ProbeTable::bundled()),
            list_limit: 100,
            progress: Arc::new(ScanProgress::default()),
        }
    }
}

/// What was found on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortResult {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// State.
    pub state: PortState,
    /// Why, in nmap's words (`syn-ack`, `conn-refused`, `no-response`,
    /// `udp-response`, `port-unreach`, `host-unreach`).
    pub reason: String,
    /// Service, when identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceMatch>,
}

/// Ports per state on one host and protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    /// Open.
    pub open: u64,
    /// Closed.
    pub closed: u64,
    /// Filtered.
    pub filtered: u64,
    /// Open or filtered.
    pub open_filtered: u64,
    /// Unfiltered.
    pub unfiltered: u64,
}

impl StateCounts {
    fn add(&mut self, s: PortState) {
        match s {
            PortState::Open => self.open += 1,
            PortState::Closed => self.closed += 1,
            PortState::Filtered => self.filtered += 1,
            PortState::OpenFiltered => self.open_filtered += 1,
            PortState::Unfiltered => self.unfiltered += 1,
        }
    }

    /// The count of one state.
    pub fn get(&self, s: PortState) -> u64 {
        match s {
            PortState::Open => self.open,
            PortState::Closed => self.closed,
            PortState::Filtered => self.filtered,
            PortState::OpenFiltered => self.open_filtered,
            PortState::Unfiltered => self.unfiltered,
        }
    }
}

/// One host's status and port counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    /// Address.
    pub ip: IpAddr,
    /// Up (it answered, or discovery was skipped).
    pub up: bool,
    /// Why up or down (`conn-refused`, `syn-ack`, `user-set`, `no-response`).
    pub reason: String,
    /// Smoothed round trip, microseconds, once measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srtt_us: Option<u64>,
    /// TCP ports per state.
    pub tcp: StateCounts,
    /// UDP ports per state.
    pub udp: StateCounts,
}

/// A whole scan's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// `connect` (TCP connect scan), plus `udp` when UDP ports were scanned.
    pub scan_type: String,
    /// Unix time the scan started.
    pub started_unix: u64,
    /// Seconds the scan took.
    pub elapsed_s: f64,
    /// TCP ports probed per host.
    pub ports_scanned: usize,
    /// UDP ports probed per host.
    pub udp_ports_scanned: usize,
    /// Hosts probed.
    pub hosts_scanned: usize,
    /// Every target's status and counts.
    pub hosts: Vec<HostSummary>,
    /// Listed ports (see [`ScanConfig::list_limit`]), by address then port.
    pub results: Vec<PortResult>,
    /// False when the scan was cancelled before the end.
    pub complete: bool,
    /// Remarks (fallbacks taken, probe-file lines skipped, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ScanReport {
    /// Open ports.
    pub fn open(&self) -> impl Iterator<Item = &PortResult> {
        self.results.iter().filter(|r| r.state == PortState::Open)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A permutation of `0..n` in O(1) memory: `i ↦ (a·i + c) mod n` with `a`
/// coprime to `n` visits every index once. Deterministic for a seed.
#[derive(Debug, Clone, Copy)]
pub struct Permutation {
    n: u64,
    a: u64,
    c: u64,
}

impl Permutation {
    /// The permutation of `0..n` for `seed` (identity when `shuffle` is
    /// false).
    pub fn new(n: u64, seed: u64, shuffle: bool) -> Self {
        if !shuffle || n < 3 {
            return Permutation { n, a: 1, c: 0 };
        }
        // Golden-ratio multiplier spreads neighbours far apart.
        let mut a = ((n as f64 * 0.618_033_988_7) as u64 + (seed % n)) % n;
        a = a.max(2);
        while gcd(a, n) != 1 {
            a = a % (n - 1) + 1;
        }
        Permutation {
            n,
            a,
            c: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) % n,
        }
    }

    /// The `i`-th element.
    pub fn get(&self, i: u64) -> u64 {
        ((u128::from(self.a) * u128::from(i) + u128::from(self.c)) % u128::from(self.n.max(1)))
            as u64
    }
}

/// One probe's result before it joins the report.
struct Probed {
    ip: IpAddr,
    port: u16,
    protocol: Protocol,
    state: PortState,
    reason: &'static str,
    service: Option<ServiceMatch>,
    /// A local failure (descriptors, source port), reported once as a note.
    local_error: Option<String>,
}

async fn probe_tcp(
    ip: IpAddr,
    port: u16,
    config: &ScanConfig,
    rtts: &HostRtts,
    limiter: &RateLimiter,
) -> Probed {
    let addr = SocketAddr::new(ip, port);
    let mut tries = 0;
    let mut local_error = None;
    let (state, reason) = loop {
        limiter.wait().await;
        let timeout = rtts.timeout(ip, &config.timing);
        match tcp::connect(addr, timeout, config.source_port).await {
            ConnectOutcome::Open(stream, rtt) => {
                rtts.sample(ip, rtt);
                tcp::abort(stream);
                break (PortState::Open, "syn-ack");
            }
            ConnectOutcome::Closed(rtt) => {
                rtts.sample(ip, rtt);
                break (PortState::Closed, "conn-refused");
            }
            ConnectOutcome::Unreachable(why) => break (PortState::Filtered, why),
            ConnectOutcome::Timeout if tries < config.timing.max_retries => tries += 1,
            ConnectOutcome::LocalError(e) if tries < config.timing.max_retries => {
                tries += 1;
                local_error = Some(e);
                // Descriptors run out under load: give others time to close.
                tokio::time::sleep(config.timing.min_rtt_timeout).await;
            }
            ConnectOutcome::Timeout => break (PortState::Filtered, "no-response"),
            ConnectOutcome::LocalError(e) => {
                local_error = Some(e);
                break (PortState::Filtered, "local-error");
            }
        }
    };
    Probed {
        ip,
        port,
        protocol: Protocol::Tcp,
        state,
        reason,
        service: None,
        local_error,
    }
}

async fn probe_udp(
    ip: IpAddr,
    port: u16,
    config: &ScanConfig,
    rtts: &HostRtts,
    limiter: &RateLimiter,
) -> Probed {
    let addr = SocketAddr::new(ip, port);
    let table = &config.probes;
    // The payload of the first UDP probe meant for this port; empty otherwise
    // (as nmap sends for ports it has no payload for).
    let probe = table
        .probes
        .iter()
        .find(|p| p.protocol == Protocol::Udp && p.covers(port));
    let payload = probe.map_or(&[][..], |p| p.payload.as_slice());
    let mut tries = 0;
    let mut local_error = None;
    let (state, reason, service) = loop {
        limiter.wait().await;
        // UDP answers may come slower than connects; the floor is 4× the
        // TCP floor.
        let timeout = rtts
            .timeout(ip, &config.timing)
            .max(config.timing.min_rtt_timeout * 4);
        match udp::probe(addr, payload, timeout, config.source_port).await {
            UdpOutcome::Answer(data, rtt) => {
                rtts.sample(ip, rtt);
                let service = probe.and_then(|p| service::identify(table, p, &data));
                break (PortState::Open, "udp-response", service);
            }
            UdpOutcome::PortUnreachable(rtt) => {
                rtts.sample(ip, rtt);
                break (PortState::Closed, "port-unreach", None);
            }
            UdpOutcome::Unreachable(why) => break (PortState::Filtered, why, None),
            UdpOutcome::Timeout if tries < config.timing.max_retries => tries += 1,
            UdpOutcome::LocalError(e) if tries < config.timing.max_retries => {
                tries += 1;
                local_error = Some(e);
                tokio::time::sleep(config.timing.min_rtt_timeout).await;
            }
            UdpOutcome::Timeout => break (PortState::OpenFiltered, "no-response", None),
            UdpOutcome::LocalError(e) => {
                local_error = Some(e);
                break (PortState::OpenFiltered, "local-error", None);
            }
        }
    };
    Probed {
        ip,
        port,
        protocol: Protocol::Udp,
        state,
        reason,
        service,
        local_error,
    }
}

/// Discovery by TCP connect to the ping ports: any answer (accept or
/// refusal) means the host is up.
async fn discover(ip: IpAddr, config: &ScanConfig, rtts: &HostRtts) -> (bool, &'static str) {
    for &port in &config.ping_ports {
        for _ in 0..=config.timing.max_retries.min(1) {
            let timeout = rtts.timeout(ip, &config.timing);
            match tcp::connect(SocketAddr::new(ip, port), timeout, config.source_port).await {
                ConnectOutcome::Open(s, rtt) => {
                    rtts.sample(ip, rtt);
                    tcp::abort(s);
                    return (true, "syn-ack");
                }
                ConnectOutcome::Closed(rtt) => {
                    rtts.sample(ip, rtt);
                    return (true, "conn-refused");
                }
                ConnectOutcome::Unreachable(_) => return (false, "host-unreach"),
                _ => {}
            }
        }
    }
    (false, "no-response")
}

/// Collects probe results into per-host counts and the listed ports.
struct Collector {
    hosts: BTreeMap<IpAddr, HostSummary>,
    results: Vec<PortResult>,
    list_all_tcp: bool,
    list_all_udp: bool,
    local_errors: u64,
    first_local_error: Option<String>,
}

impl Collector {
    fn new(hosts: BTreeMap<IpAddr, HostSummary>, list_all_tcp: bool, list_all_udp: bool) -> Self {
        Collector {
            hosts,
            results: Vec::new(),
            list_all_tcp,
            list_all_udp,
            local_errors: 0,
            first_local_error: None,
        }
    }

    fn add(&mut self, p: Probed) {
        if let Some(e) = p.local_error {
            self.local_errors += 1;
            self.first_local_error.get_or_insert(e);
        }
        if let Some(h) = self.hosts.get_mut(&p.ip) {
            match p.protocol {
                Protocol::Tcp => h.tcp.add(p.state),
                Protocol::Udp => h.udp.add(p.state),
            }
            if p.state == PortState::Open {
                h.up = true;
            }
        }
        let list_all = match p.protocol {
            Protocol::Tcp => self.list_all_tcp,
            Protocol::Udp => self.list_all_udp,
        };
        if p.state == PortState::Open || list_all {
            self.results.push(PortResult {
                ip: p.ip,
                port: p.port,
                protocol: p.protocol,
                state: p.state,
                reason: p.reason.to_string(),
                service: p.service,
            });
        }
    }
}

/// Scan `tcp_ports` and `udp_ports` on every host of `targets`.
pub async fn scan(
    targets: &[IpAddr],
    tcp_ports: &[u16],
    udp_ports: &[u16],
    config: &ScanConfig,
) -> ScanReport {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let progress = config.progress.clone();
    let rtts = Arc::new(HostRtts::default());
    let limiter = Arc::new(RateLimiter::new(config.rate, config.timing.scan_delay));
    let mut parallelism = config.timing.parallelism.max(1);
    let mut notes = Vec::new();
    if let Some(limit) = crate::timing::open_file_limit() {
        // Leave descriptors for the runtime, the database and output files.
        let cap = limit.saturating_sub(64).max(1);
        if parallelism > cap {
            notes.push(format!(
                "parallelism lowered from {parallelism} to {cap} (open-file limit {limit})"
            ));
            parallelism = cap;
        }
    }

    // Host discovery.
    let mut hosts: BTreeMap<IpAddr, HostSummary> = BTreeMap::new();
    let mut up: Vec<IpAddr> = Vec::new();
    if config.skip_discovery {
        for &ip in targets {
            hosts.insert(ip, host_summary(ip, true, "user-set"));
            up.push(ip);
        }
    } else {
        let mut answers = Vec::new();
        let mut raw_done = false;
        if let Some(probes) = &config.raw_discovery {
            let rate = config.rate;
            let (list, probes, timing, r, p) = (
                targets.to_vec(),
                probes.clone(),
                config.timing.clone(),
                rtts.clone(),
                progress.clone(),
            );
            let found = tokio::task::spawn_blocking(move || {
                raw::discovery::discover(&list, &probes, &timing, rate, &r, &p)
            })
            .await;
            match found {
                Ok(Ok(found)) => {
                    answers.extend(
                        targets
                            .iter()
                            .zip(found)
                            .map(|(&ip, (u, why))| (ip, u, why)),
                    );
                    raw_done = true;
                }
                Ok(Err(e)) => notes.push(format!("{e}; host discovery by TCP connect instead")),
                Err(e) => notes.push(format!(
                    "raw host discovery failed ({e}); TCP connect instead"
                )),
            }
        }
        let connect_targets = if raw_done { &[][..] } else { targets };
        progress.add_total(connect_targets.len() as u64);
        let mut set = JoinSet::new();
        for &ip in connect_targets {
            if progress.is_cancelled() {
                break;
            }
            if set.len() >= parallelism {
                if let Some(Ok(a)) = set.join_next().await {
                    answers.push(a);
                }
            }
            let (config, rtts, progress) = (config.clone(), rtts.clone(), progress.clone());
            set.spawn(async move {
                let (is_up, why) = discover(ip, &config, &rtts).await;
                progress.tick();
                (ip, is_up, why)
            });
        }
        while let Some(a) = set.join_next().await {
            if let Ok(a) = a {
                answers.push(a);
            }
        }
        for (ip, is_up, why) in answers {
            hosts.insert(ip, host_summary(ip, is_up, why));
        }
        // Keep the target order for the port scan.
        up = targets
            .iter()
            .filter(|ip| hosts.get(ip).is_some_and(|h| h.up))
            .copied()
            .collect();
    }

    let collector = Collector::new(
        hosts,
        tcp_ports.len() <= config.list_limit,
        udp_ports.len() <= config.list_limit,
    );

    // SYN scan of the TCP ports, when asked for and possible.
    let (mut collector, syn_done) = if config.tcp_scan == TcpScan::Syn && !tcp_ports.is_empty() {
        syn_scan(collector, &up, tcp_ports, config, &rtts, &mut notes).await
    } else {
        (collector, false)
    };
    let connect_ports = if syn_done { &[][..] } else { tcp_ports };

    // Port scan: TCP pairs first, then UDP, each in a shuffled order.
    for (protocol, ports) in [(Protocol::Tcp, connect_ports), (Protocol::Udp, udp_ports)] {
        let n = (up.len() as u64) * (ports.len() as u64);
        if n == 0 {
            continue;
        }
        progress.add_total(n);
        let order = Permutation::new(n, config.seed, config.randomize);
        let mut set: JoinSet<Probed> = JoinSet::new();
        for i in 0..n {
            if progress.is_cancelled() {
                break;
            }
            let idx = order.get(i);
            let (Some(&ip), Some(&port)) = (
                up.get((idx / ports.len() as u64) as usize),
                ports.get((idx % ports.len() as u64) as usize),
            ) else {
                continue;
            };
            while set.len() >= parallelism {
                match set.join_next().await {
                    Some(Ok(p)) => collector.add(p),
                    Some(Err(_)) => {}
                    None => break,
                }
            }
            let (config, rtts, limiter, progress) = (
                config.clone(),
                rtts.clone(),
                limiter.clone(),
                progress.clone(),
            );
            set.spawn(async move {
                let p = match protocol {
                    Protocol::Tcp => probe_tcp(ip, port, &config, &rtts, &limiter).await,
                    Protocol::Udp => probe_udp(ip, port, &config, &rtts, &limiter).await,
                };
                progress.tick();
                p
            });
        }
        while let Some(p) = set.join_next().await {
            if let Ok(p) = p {
                collector.add(p);
            }
        }
    }

    let Collector {
        hosts,
        mut results,
        local_errors,
        first_local_error,
        ..
    } = collector;
    if let Some(e) = first_local_error {
        notes.push(format!(
            "{local_errors} probes hit a local error (first: {e}); lower --parallelism or raise the open-file limit"
        ));
    }
    let mut hosts: Vec<HostSummary> = hosts.into_values().collect();
    for h in &mut hosts {
        h.srtt_us = rtts.srtt(h.ip).map(|d| d.as_micros() as u64);
    }

    // Service detection on open TCP ports (UDP answers were matched as they
    // came).
    if config.service_detection && !progress.is_cancelled() {
        let open: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == PortState::Open && r.protocol == Protocol::Tcp)
            .map(|(i, _)| i)
            .collect();
        progress.add_total(open.len() as u64);
        // Detection holds a connection for seconds; fewer at once.
        let detect_parallelism = parallelism.min(256);
        let mut set = JoinSet::new();
        for i in open {
            if progress.is_cancelled() {
                break;
            }
            let Some((ip, port)) = results.get(i).map(|r| (r.ip, r.port)) else {
                continue;
            };
            while set.len() >= detect_parallelism {
                if let Some(Ok((j, m))) = set.join_next().await {
                    set_service(&mut results, j, m);
                }
            }
            let (table, detect, progress) = (
                config.probes.clone(),
                config.detect.clone(),
                progress.clone(),
            );
            let detect = DetectConfig {
                source_port: config.source_port,
                ..detect
            };
            set.spawn(async move {
                let m = service::detect_tcp(ip, port, &table, &detect).await;
                progress.tick();
                (i, m)
            });
        }
        while let Some(done) = set.join_next().await {
            if let Ok((j, m)) = done {
                set_service(&mut results, j, m);
            }
        }
    }
    for r in results.iter_mut().filter(|r| r.state == PortState::Open) {
        if r.service.is_none() {
            r.service = service::guess(r.port, r.protocol);
        }
    }
    results.sort_by_key(|r| (r.ip, r.protocol, r.port));
    let tcp_kind = if syn_done { "syn" } else { "connect" };
    let mut scan_type = String::from(tcp_kind);
    if !udp_ports.is_empty() {
        scan_type = if tcp_ports.is_empty() {
            "udp".into()
        } else {
            format!("{tcp_kind}+udp")
        };
    }
    ScanReport {
        scan_type,
        started_unix,
        elapsed_s: started.elapsed().as_secs_f64(),
        ports_scanned: tcp_ports.len(),
        udp_ports_scanned: udp_ports.len(),
        hosts_scanned: targets.len(),
        hosts,
        results,
        complete: !progress.is_cancelled(),
        notes,
    }
}

/// Run the SYN scan in a blocking thread, feeding `collector`; on failure
/// (no raw sockets) say so in `notes` and return `false` so the caller
/// runs a connect scan.
async fn syn_scan(
    collector: Collector,
    up: &[IpAddr],
    tcp_ports: &[u16],
    config: &ScanConfig,
    rtts: &Arc<HostRtts>,
    notes: &mut Vec<String>,
) -> (Collector, bool) {
    let job = raw::syn::SynScan {
        hosts: up.to_vec(),
        ports: tcp_ports.to_vec(),
        timing: config.timing.clone(),
        rate: config.rate,
        seed: config.seed,
        randomize: config.randomize,
        source_port: config.source_port,
    };
    let (rtts, progress) = (rtts.clone(), config.progress.clone());
    let fresh = Collector::new(
        collector.hosts.clone(),
        collector.list_all_tcp,
        collector.list_all_udp,
    );
    let mut c = collector;
    let ran = tokio::task::spawn_blocking(move || {
        let r = raw::syn::run(&job, &rtts, &progress, |ip, port, state, reason| {
            c.add(Probed {
                ip,
                port,
                protocol: Protocol::Tcp,
                state,
                reason,
                service: None,
                local_error: None,
            });
        });
        (c, r)
    })
    .await;
    match ran {
        Ok((c, Ok(()))) => (c, true),
        Ok((c, Err(e))) => {
            notes.push(format!("{e}; TCP connect scan instead"));
            (c, false)
        }
        Err(e) => {
            notes.push(format!("SYN scan failed ({e}); TCP connect scan instead"));
            (fresh, false)
        }
    }
}

fn set_service(results: &mut [PortResult], i: usize, m: Option<ServiceMatch>) {
    if let Some(r) = results.get_mut(i) {
        r.service = m;
    }
}

fn host_summary(ip: IpAddr, up: bool, reason: &str) -> HostSummary {
    HostSummary {
        ip,
        up,
        reason: reason.to_string(),
        srtt_us: None,
        tcp: StateCounts::default(),
        udp: StateCounts::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_visits_every_index_once() {
        for n in [1u64, 2, 3, 10, 1000, 65_535, 655_350] {
            let p = Permutation::new(n, 42, true);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = p.get(i) as usize;
                assert!(!seen[j], "n={n}: {j} twice");
                seen[j] = true;
            }
            if n >= 1000 {
                // Shuffled: the first ten are not 0..10.
                assert_ne!(
                    (0..10).map(|i| p.get(i)).collect::<Vec<_>>(),
                    (0..10).collect::<Vec<_>>()
                );
            }
        }
        let id = Permutation::new(10, 42, false);
        assert_eq!(
            (0..10).map(|i| id.get(i)).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn states_round_trip_names() {
        for s in [
            PortState::Open,
            PortState::Closed,
            PortState::Filtered,
            PortState::OpenFiltered,
            PortState::Unfiltered,
        ] {
            assert_eq!(PortState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
    }
}
