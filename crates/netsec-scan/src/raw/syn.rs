//! The SYN scan ("half-open", nmap's `-sS`, masscan's only scan): a sender
//! walks every (host, port) pair in a shuffled order at the configured
//! packets per second while receiver threads read SYN-ACKs, RSTs and ICMP
//! errors and match them by cookie. Pairs still silent after a round are
//! sent again (`--max-retries`), then called filtered. The kernel answers
//! each SYN-ACK with a RST itself (no socket owns our source port), so no
//! connection is ever completed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::packet::{self, CookieKey, Reply, TcpProbe};
use super::sock::{self, RawSockets};
use super::RawError;
use crate::scan::{Permutation, PortState, ScanProgress};
use crate::timing::{HostRtts, Timing};

/// Most (host, port) pairs held at once: 16 Mi one-byte states; larger
/// scans go in batches of hosts.
const MAX_BATCH: u64 = 1 << 24;
/// Set once a pair's first probe is sent.
const SENT: u8 = 0x80;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;
/// Codes from here on are filtered, one per ICMP reason.
const UNREACH: u8 = 3;
const REASONS: [&str; 7] = [
    "host-unreach",
    "net-unreach",
    "proto-unreach",
    "port-unreach",
    "net-prohibited",
    "host-prohibited",
    "admin-prohibited",
];

/// The code of an ICMP reason (shared with discovery).
pub(crate) fn reason_code(reason: &str) -> u8 {
    REASONS
        .iter()
        .position(|r| *r == reason)
        .map_or(UNREACH, |i| UNREACH + i as u8)
}

/// The reason of a code from [`reason_code`].
pub(crate) fn reason_name(code: u8) -> &'static str {
    REASONS
        .get(usize::from(code.saturating_sub(UNREACH)))
        .copied()
        .unwrap_or("host-unreach")
}

/// The state and reason a pair's code stands for; `None`: never probed
/// (the scan was cancelled first).
pub fn decode(code: u8) -> Option<(PortState, &'static str)> {
    if code & SENT == 0 && code & !SENT == 0 {
        return None;
    }
    Some(match code & !SENT {
        0 => (PortState::Filtered, "no-response"),
        OPEN => (PortState::Open, "syn-ack"),
        CLOSED => (PortState::Closed, "reset"),
        c => (PortState::Filtered, reason_name(c)),
    })
}

/// Packets per second when the user gave no `--rate`: one probe per
/// scan delay for the slow profiles, else 100 per socket of the profile's
/// parallelism (T3 51,200/s, T4 204,800/s, T5 409,600/s).
pub fn default_rate(timing: &Timing) -> f64 {
    if !timing.scan_delay.is_zero() {
        1.0 / timing.scan_delay.as_secs_f64()
    } else {
        timing.parallelism.max(1) as f64 * 100.0
    }
}

/// What a SYN scan needs.
#[derive(Debug, Clone)]
pub struct SynScan {
    /// Targets.
    pub hosts: Vec<IpAddr>,
    /// Ports.
    pub ports: Vec<u16>,
    /// Timeouts and retries.
    pub timing: Timing,
    /// Packets per second (0: [`default_rate`]).
    pub rate: f64,
    /// Shuffle seed.
    pub seed: u64,
    /// Shuffle the pairs.
    pub randomize: bool,
    /// Fixed source port (`-g`).
    pub source_port: Option<u16>,
}

/// Paces a sender at a rate: sleeps only when more than a millisecond
/// ahead, so it costs a clock read per packet.
pub(crate) struct Pacer {
    start: Instant,
    rate: f64,
    sent: u64,
}

impl Pacer {
    pub(crate) fn new(rate: f64) -> Pacer {
        Pacer {
            start: Instant::now(),
            rate,
            sent: 0,
        }
    }

    pub(crate) fn pace(&mut self) {
        self.sent += 1;
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return;
        }
        let due = self.start + Duration::from_secs_f64(self.sent as f64 / self.rate);
        let now = Instant::now();
        if due > now + Duration::from_millis(1) {
            std::thread::sleep(due - now);
        }
    }
}

/// Replies land here: the state of every pair of the current batch.
struct Batch {
    key: CookieKey,
    hosts: HashMap<IpAddr, u32>,
    /// Port → index in the port list (`u32::MAX`: not scanned).
    port_index: Arc<Vec<u32>>,
    nports: u64,
    states: Vec<AtomicU8>,
    answered: AtomicU64,
    /// Round-trip sampling without a table of probes: per host, the port
    /// index and send time (microseconds after `epoch`, wrapping) of one
    /// timed first-round probe, `NO_TIMER` when none is pending.
    timers: Vec<AtomicU64>,
    epoch: Instant,
    rtts: Arc<HostRtts>,
}

/// No timed probe pending.
const NO_TIMER: u64 = u64::MAX;
/// One first-round probe in this many (per sender) is timed.
const TIME_EVERY: u64 = 64;

impl Batch {
    fn now_us(&self) -> u32 {
        self.epoch.elapsed().as_micros() as u32
    }

    /// Time the probe of host `h`, port index `p`, sent now.
    fn start_timer(&self, h: usize, p: u64) {
        if let Some(t) = self.timers.get(h) {
            t.store(p << 32 | u64::from(self.now_us()), Ordering::Relaxed);
        }
    }

    /// A first answer for host `h`, port index `p`: one RTT sample when
    /// that probe was the timed one.
    fn stop_timer(&self, h: usize, p: u64, ip: IpAddr) {
        let Some(t) = self.timers.get(h) else {
            return;
        };
        let v = t.load(Ordering::Relaxed);
        if v == NO_TIMER || v >> 32 != p {
            return;
        }
        if t.compare_exchange(v, NO_TIMER, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let us = self.now_us().wrapping_sub(v as u32);
            self.rtts
                .sample(ip, Duration::from_micros(u64::from(us).max(1)));
        }
    }

    fn set(&self, ip: IpAddr, port: u16, code: u8) {
        let Some(&h) = self.hosts.get(&ip) else {
            return;
        };
        let p = self
            .port_index
            .get(usize::from(port))
            .copied()
            .unwrap_or(u32::MAX);
        if p == u32::MAX {
            return;
        }
        let idx = u64::from(h) * self.nports + u64::from(p);
        let Some(state) = self.states.get(idx as usize) else {
            return;
        };
        let first = state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                (s & !SENT == 0).then_some(s | code)
            })
            .is_ok();
        if first {
            self.answered.fetch_add(1, Ordering::Relaxed);
            self.stop_timer(h as usize, u64::from(p), ip);
        }
    }

    fn on_reply(&self, r: Reply) {
        if !r.is_ours(&self.key) {
            return;
        }
        match r {
            Reply::Tcp {
                from, sport, flags, ..
            } => match packet::syn_reply_state(flags) {
                Some((PortState::Open, _)) => self.set(from, sport, OPEN),
                Some(_) => self.set(from, sport, CLOSED),
                None => {}
            },
            Reply::Unreachable {
                target,
                dport,
                reason,
                ..
            } => self.set(target, dport, reason_code(reason)),
            Reply::Echo { .. } | Reply::Timestamp { .. } | Reply::Neighbor { .. } => {}
        }
    }
}

/// What the sender threads of one batch share.
struct Sender<'a> {
    batch: &'a Batch,
    sockets: &'a RawSockets,
    key: CookieKey,
    base: u16,
    sources: &'a [Option<IpAddr>],
    hosts: &'a [IpAddr],
    job: &'a SynScan,
    progress: &'a ScanProgress,
    unique_sent: AtomicU64,
}

impl Sender<'_> {
    /// Send the probes at positions `range` of `order` that still need one
    /// in `round`, at `rate` per second; returns how many were sent.
    fn send(&self, order: &Permutation, round: u32, range: Range<u64>, rate: f64) -> u64 {
        let (batch, job, key) = (self.batch, self.job, self.key);
        let nports = batch.nports;
        let mut pacer = Pacer::new(rate);
        let mut buf = [0u8; packet::IPV4_TCP_PROBE];
        let mut sent = 0u64;
        let mut unique = 0u64;
        for i in range {
            if i % 4096 == 0 && self.progress.is_cancelled() {
                break;
            }
            let idx = order.get(i);
            let Some(state) = batch.states.get(idx as usize) else {
                continue;
            };
            let s = state.load(Ordering::Relaxed);
            if s & !SENT != 0 || (round > 0 && s & SENT == 0) {
                continue;
            }
            let (h, p) = ((idx / nports) as usize, (idx % nports) as usize);
            let (Some(&ip), Some(&port)) = (self.hosts.get(h), job.ports.get(p)) else {
                continue;
            };
            let Some(src) = self.sources.get(h).copied().flatten() else {
                // No route: the kernel could not say where from.
                batch.set(ip, port, reason_code("net-unreach"));
                state.fetch_or(SENT, Ordering::Relaxed);
                continue;
            };
            let sport = job
                .source_port
                .unwrap_or_else(|| key.source_port(self.base, ip, port));
            let cookie = key.cookie(ip, port, sport);
            let len = match (src, ip) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    packet::write_ipv4_tcp(&mut buf, TcpProbe::Syn, s, d, sport, port, cookie)
                }
                _ => packet::write_tcp(&mut buf, TcpProbe::Syn, src, ip, sport, port, cookie),
            };
            let Some(bytes) = len.and_then(|l| buf.get(..l)) else {
                continue;
            };
            pacer.pace();
            // A send error (a local firewall's EPERM) leaves the pair
            // silent: filtered, like a drop further away.
            let _ = self.sockets.send_tcp(ip, bytes);
            if round == 0 && unique.is_multiple_of(TIME_EVERY) {
                batch.start_timer(h, p as u64);
            }
            if state.fetch_or(SENT, Ordering::Relaxed) & SENT == 0 {
                unique += 1;
                if unique.is_multiple_of(1024) {
                    self.progress.add_done(1024);
                    self.unique_sent.fetch_add(1024, Ordering::Relaxed);
                }
            }
            sent += 1;
        }
        self.progress.add_done(unique % 1024);
        self.unique_sent.fetch_add(unique % 1024, Ordering::Relaxed);
        sent
    }
}

/// Run a SYN scan; `emit(host, port, state, reason)` gets every probed
/// pair (batch by batch, in no particular order). Returns `Err` before
/// sending anything when raw sockets cannot be opened.
pub fn run(
    job: &SynScan,
    rtts: &Arc<HostRtts>,
    progress: &ScanProgress,
    mut emit: impl FnMut(IpAddr, u16, PortState, &'static str),
) -> Result<(), RawError> {
    let v4 = job.hosts.iter().any(IpAddr::is_ipv4);
    let v6 = job.hosts.iter().any(IpAddr::is_ipv6);
    let sockets = Arc::new(RawSockets::open(v4, v6)?);
    let key = CookieKey::random();
    let rate = if job.rate > 0.0 {
        job.rate
    } else {
        default_rate(&job.timing)
    };
    let mut port_index = vec![u32::MAX; 65_536];
    for (i, &p) in job.ports.iter().enumerate() {
        if let Some(slot) = port_index.get_mut(usize::from(p)) {
            *slot = i as u32;
        }
    }
    // Source ports: -g, or a base above the usual ephemeral range's start
    // with 256 ports spread by cookie.
    let base = 40_000 + (key.0[0] % 20_000) as u16;
    let nports = job.ports.len() as u64;
    if nports == 0 {
        return Ok(());
    }
    let per_batch = (MAX_BATCH / nports).max(1) as usize;
    progress.add_total(job.hosts.len() as u64 * nports);
    let port_index = Arc::new(port_index);
    for (b, chunk) in job.hosts.chunks(per_batch).enumerate() {
        if progress.is_cancelled() {
            break;
        }
        let n = chunk.len() as u64 * nports;
        let batch = Arc::new(Batch {
            key,
            hosts: chunk
                .iter()
                .enumerate()
                .map(|(i, &ip)| (ip, i as u32))
                .collect(),
            port_index: port_index.clone(),
            nports,
            states: (0..n).map(|_| AtomicU8::new(0)).collect(),
            answered: AtomicU64::new(0),
            timers: chunk.iter().map(|_| AtomicU64::new(NO_TIMER)).collect(),
            epoch: Instant::now(),
            rtts: rtts.clone(),
        });
        let sources: Vec<Option<IpAddr>> =
            chunk.iter().map(|&ip| sock::source_for(ip).ok()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let receiver = batch.clone();
        let threads =
            sock::spawn_receivers(&sockets, &stop, Arc::new(move |r| receiver.on_reply(r)));
        let sender = Sender {
            batch: &batch,
            sockets: &sockets,
            key,
            base,
            sources: &sources,
            hosts: chunk,
            job,
            progress,
            unique_sent: AtomicU64::new(0),
        };
        // Several senders when fast: each send also carries the kernel's
        // work on the packet, which then spreads over the cores.
        let senders = if rate > 20_000.0 {
            std::thread::available_parallelism()
                .map_or(1, usize::from)
                .clamp(1, 4) as u64
        } else {
            1
        };
        let started = Instant::now();
        for round in 0..=job.timing.max_retries {
            let order = Permutation::new(
                n,
                job.seed.wrapping_add(b as u64 * 7919 + u64::from(round)),
                job.randomize,
            );
            let share = n.div_ceil(senders);
            let sent_this_round: u64 = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..senders)
                    .map(|k| {
                        let sender = &sender;
                        let range = (k * share).min(n)..((k + 1) * share).min(n);
                        scope
                            .spawn(move || sender.send(&order, round, range, rate / senders as f64))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
            });
            if sent_this_round == 0 {
                break;
            }
            if std::env::var_os("NETSEC_SCAN_DEBUG").is_some() {
                eprintln!(
                    "syn round {round}: sent {sent_this_round} by {senders} senders in {:.2} s, answered {}",
                    started.elapsed().as_secs_f64(),
                    batch.answered.load(Ordering::Relaxed)
                );
            }
            // Wait for the last replies (the timeout adapted to the round
            // trips measured so far); stop early once every probe sent has
            // its answer.
            let timeout = chunk
                .iter()
                .map(|&ip| rtts.timeout(ip, &job.timing))
                .max()
                .unwrap_or(job.timing.initial_rtt_timeout);
            let unique_sent = sender.unique_sent.load(Ordering::Relaxed);
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline && batch.answered.load(Ordering::Relaxed) < unique_sent
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            if progress.is_cancelled() {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            let _ = t.join();
        }
        for (idx, state) in batch.states.iter().enumerate() {
            let idx = idx as u64;
            let (h, p) = ((idx / nports) as usize, (idx % nports) as usize);
            if let (Some((st, why)), Some(&ip), Some(&port)) = (
                decode(state.load(Ordering::Relaxed)),
                chunk.get(h),
                job.ports.get(p),
            ) {
                emit(ip, port, st, why);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decode_to_nmap_states() {
        assert_eq!(decode(0), None);
        assert_eq!(decode(SENT), Some((PortState::Filtered, "no-response")));
        assert_eq!(decode(SENT | OPEN), Some((PortState::Open, "syn-ack")));
        assert_eq!(decode(SENT | CLOSED), Some((PortState::Closed, "reset")));
        assert_eq!(
            decode(SENT | reason_code("admin-prohibited")),
            Some((PortState::Filtered, "admin-prohibited"))
        );
        assert_eq!(reason_code("weird"), UNREACH);
        for r in REASONS {
            assert_eq!(decode(reason_code(r)), Some((PortState::Filtered, r)));
        }
    }

    #[test]
    fn replies_fill_the_batch() {
        let key = CookieKey([1, 2]);
        let ip: IpAddr = "10.77.9.2".parse().unwrap();
        let mut port_index = vec![u32::MAX; 65_536];
        port_index[22] = 0;
        port_index[23] = 1;
        let batch = Batch {
            key,
            hosts: [(ip, 0)].into_iter().collect(),
            port_index: Arc::new(port_index),
            nports: 2,
            states: (0..2).map(|_| AtomicU8::new(SENT)).collect(),
            answered: AtomicU64::new(0),
            timers: vec![AtomicU64::new(NO_TIMER)],
            epoch: Instant::now(),
            rtts: Arc::new(HostRtts::default()),
        };
        batch.start_timer(0, 0);
        let reply = |port: u16, flags: u8, ack_delta: u32| Reply::Tcp {
            from: ip,
            sport: port,
            dport: 41_000,
            seq: 5,
            ack: key.cookie(ip, port, 41_000).wrapping_add(ack_delta),
            flags,
        };
        use pnet::packet::tcp::TcpFlags;
        // A forged SYN-ACK with the wrong ack is ignored.
        batch.on_reply(reply(22, TcpFlags::SYN | TcpFlags::ACK, 7));
        assert_eq!(batch.answered.load(Ordering::Relaxed), 0);
        batch.on_reply(reply(22, TcpFlags::SYN | TcpFlags::ACK, 1));
        batch.on_reply(reply(23, TcpFlags::RST | TcpFlags::ACK, 1));
        // Duplicates do not count twice or change the state.
        batch.on_reply(reply(22, TcpFlags::RST | TcpFlags::ACK, 1));
        assert_eq!(batch.answered.load(Ordering::Relaxed), 2);
        // The timed probe (port 22) gave one round-trip sample.
        assert!(batch.rtts.srtt(ip).is_some());
        assert_eq!(batch.timers[0].load(Ordering::Relaxed), NO_TIMER);
        let states: Vec<_> = batch
            .states
            .iter()
            .map(|s| decode(s.load(Ordering::Relaxed)))
            .collect();
        assert_eq!(
            states,
            [
                Some((PortState::Open, "syn-ack")),
                Some((PortState::Closed, "reset"))
            ]
        );
    }

    #[test]
    fn default_rates_follow_profiles() {
        assert_eq!(default_rate(&Timing::profile(4)), 204_800.0);
        assert!((default_rate(&Timing::profile(2)) - 2.5).abs() < 1e-9);
    }
}
