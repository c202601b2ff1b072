//! TCP SYN ("half-open") scan of IPv4 targets with raw packets (pnet), the
//! way masscan does it: one thread sends SYNs as fast as `--rate` allows,
//! another reads every TCP and ICMP packet the host receives, and replies
//! are matched statelessly — the sequence number of each SYN is a keyed hash
//! of (target, port, source port), so a SYN-ACK or RST acknowledging
//! `hash + 1` proves it answers our probe, with no table of probes in
//! flight. The kernel, which knows no such connection, answers SYN-ACKs
//! with a RST, so no connection is ever completed.
//!
//! States as nmap reports them: SYN-ACK → open (`syn-ack`), RST → closed
//! (`reset`), ICMP unreachable → filtered (`host-unreach`, `net-unreach`,
//! `port-unreach`, `admin-prohibited`), nothing after every retry →
//! filtered (`no-response`).
//!
//! Needs CAP_NET_RAW (root); [`SynScanner::open`] fails otherwise, and the
//! caller falls back to a connect scan.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pnet::packet::icmp::{IcmpPacket, IcmpTypes};
use pnet::packet::ip::IpNextHeaderProtocols;
use pnet::packet::ipv4::Ipv4Packet;
use pnet::packet::tcp::{ipv4_checksum, MutableTcpPacket, TcpFlags, TcpOption, TcpPacket};
use pnet::packet::Packet;
use pnet::transport::{
    icmp_packet_iter, tcp_packet_iter, transport_channel, TransportChannelType, TransportProtocol,
    TransportReceiver, TransportSender,
};

use crate::scan::{PortState, ScanProgress};

/// Port state codes kept per (host, port) while the scan runs.
const UNANSWERED: u8 = 0;
const OPEN: u8 = 1;
const CLOSED: u8 = 2;
const HOST_UNREACH: u8 = 3;
const NET_UNREACH: u8 = 4;
const PORT_UNREACH: u8 = 5;
const PROHIBITED: u8 = 6;

/// What a SYN scan found on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynResult {
    /// Target.
    pub ip: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// State.
    pub state: PortState,
    /// nmap's reason.
    pub reason: &'static str,
}

/// How a SYN scan runs.
#[derive(Debug, Clone)]
pub struct SynOptions {
    /// Most SYNs per second (0: as fast as the socket takes them).
    pub rate: f64,
    /// Passes over the unanswered ports after the first.
    pub max_retries: u32,
    /// Wait after each pass for late answers.
    pub wait: Duration,
    /// Source port of every SYN (random when `None`).
    pub source_port: Option<u16>,
    /// Seed of the probe order and the sequence-number key.
    pub seed: u64,
    /// Probe (host, port) pairs in a shuffled order.
    pub randomize: bool,
}

/// Raw sockets for a SYN scan.
pub struct SynScanner {
    /// One raw socket per sending thread (a send is a system call that also
    /// carries the packet through the local network stack, so one core
    /// cannot keep up with a fast link).
    senders: Vec<TransportSender>,
    tcp_rx: TransportReceiver,
    icmp_rx: TransportReceiver,
}

/// Why a SYN scan cannot run.
#[derive(Debug, thiserror::Error)]
#[error("raw sockets unavailable ({0}); SYN scanning needs root or CAP_NET_RAW")]
pub struct RawSocketError(#[source] std::io::Error);

impl SynScanner {
    /// Open the raw TCP and ICMP sockets: a sender per core (at most 4).
    pub fn open() -> Result<SynScanner, RawSocketError> {
        let tcp = TransportChannelType::Layer4(TransportProtocol::Ipv4(IpNextHeaderProtocols::Tcp));
        let icmp =
            TransportChannelType::Layer4(TransportProtocol::Ipv4(IpNextHeaderProtocols::Icmp));
        let (tcp_tx, tcp_rx) = transport_channel(1 << 20, tcp).map_err(RawSocketError)?;
        let (_, icmp_rx) = transport_channel(1 << 16, icmp).map_err(RawSocketError)?;
        let mut senders = vec![tcp_tx];
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for _ in 1..cores.min(4) {
            // Only the sending half is used; the kernel drops what queues
            // up on the other.
            if let Ok((tx, _)) = transport_channel(4096, tcp) {
                senders.push(tx);
            }
        }
        Ok(SynScanner {
            senders,
            tcp_rx,
            icmp_rx,
        })
    }

    /// Scan `ports` of `targets`; `progress` ticks once per (host, port)
    /// on the first pass and stops the scan when cancelled (ports not yet
    /// answered are then reported filtered).
    pub fn scan(
        self,
        targets: &[Ipv4Addr],
        ports: &[u16],
        options: &SynOptions,
        progress: &ScanProgress,
    ) -> Vec<SynResult> {
        let SynScanner {
            mut senders,
            tcp_rx,
            icmp_rx,
        } = self;
        let key = Key::new(options.seed);
        let source_port = options.source_port.unwrap_or_else(|| key.source_port());
        let board = Arc::new(Board::new(targets, ports));
        let stop = Arc::new(AtomicBool::new(false));
        let listeners = [
            spawn_listener(
                tcp_rx,
                Listen::Tcp,
                board.clone(),
                key,
                source_port,
                stop.clone(),
            ),
            spawn_listener(
                icmp_rx,
                Listen::Icmp,
                board.clone(),
                key,
                source_port,
                stop.clone(),
            ),
        ];
        let sources: Vec<Option<Ipv4Addr>> = targets.iter().map(|&t| source_for(t)).collect();
        let n = board.len() as u64;
        let order = crate::scan::Permutation::new(n, options.seed, options.randomize);
        let threads = senders.len().max(1) as u64;
        let mut plan = SendPlan {
            targets,
            ports,
            sources: &sources,
            board: &board,
            order,
            key,
            source_port,
            rate: options.rate / threads as f64,
            progress,
        };
        for pass in 0..=options.max_retries {
            let unanswered_before = board.unanswered();
            let started = Instant::now();
            // Each sender takes every `threads`-th probe of the shuffled order.
            let sent: u64 = std::thread::scope(|scope| {
                let plan = &plan;
                let handles: Vec<_> = senders
                    .iter_mut()
                    .enumerate()
                    .map(|(t, tx)| {
                        scope.spawn(move || plan.send_share(tx, t as u64, threads, pass == 0))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
            });
            let sending = started.elapsed();
            if progress.is_cancelled() || sent == 0 {
                break;
            }
            // Late answers: wait until every port has answered or the
            // timeout has passed.
            let deadline = Instant::now() + options.wait;
            while Instant::now() < deadline && board.unanswered() > 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
            let unanswered = board.unanswered();
            if unanswered == 0 {
                break;
            }
            // Congestion control, per pass: when more than 5 % of the probes
            // went unanswered, retry at three quarters of the rate at which
            // answers came back (the path's real capacity), never faster
            // than --rate.
            let answered = unanswered_before.saturating_sub(unanswered) as f64;
            if unanswered as f64 > 0.05 * sent as f64 && sending.as_secs_f64() > 0.0 {
                let delivered = (answered / sending.as_secs_f64()).max(100.0);
                let mut next = 0.75 * delivered;
                if options.rate > 0.0 {
                    next = next.min(options.rate);
                }
                plan.rate = next / threads as f64;
            }
        }
        stop.store(true, Ordering::Relaxed);
        for l in listeners {
            let _ = l.join();
        }
        board.results(targets, ports)
    }
}

/// What the sending threads share.
struct SendPlan<'a> {
    targets: &'a [Ipv4Addr],
    ports: &'a [u16],
    sources: &'a [Option<Ipv4Addr>],
    board: &'a Board,
    order: crate::scan::Permutation,
    key: Key,
    source_port: u16,
    /// Packets per second for each sender.
    rate: f64,
    progress: &'a ScanProgress,
}

impl SendPlan<'_> {
    /// Send the SYNs of share `share` of `shares` still unanswered; how many.
    fn send_share(
        &self,
        tx: &mut TransportSender,
        share: u64,
        shares: u64,
        first_pass: bool,
    ) -> u64 {
        let mut pacer = Pacer::new(self.rate);
        let mut packet = [0u8; 24];
        let mut sent = 0;
        let mut i = share;
        while i < self.order.len() {
            let idx = self.order.get(i) as usize;
            i += shares;
            if self.progress.is_cancelled() {
                break;
            }
            if first_pass {
                self.progress.tick();
            }
            if self.board.state(idx) != UNANSWERED {
                continue;
            }
            let (host, port_at) = self.board.pair(idx);
            let (Some(&dst), Some(Some(src)), Some(&port)) = (
                self.targets.get(host),
                self.sources.get(host),
                self.ports.get(port_at),
            ) else {
                continue;
            };
            pacer.wait();
            let seq = self.key.sequence(dst, port, self.source_port);
            if build_syn(&mut packet, *src, dst, self.source_port, port, seq).is_some() {
                send(tx, &packet, dst);
                sent += 1;
            }
        }
        sent
    }
}

/// Send one packet, waiting briefly while the socket's buffer is full.
fn send(tx: &mut TransportSender, packet: &[u8], dst: Ipv4Addr) {
    let Some(tcp) = pnet::packet::tcp::TcpPacket::new(packet) else {
        return;
    };
    for _ in 0..100 {
        match tx.send_to(&tcp, IpAddr::V4(dst)) {
            Ok(_) => return,
            // ENOBUFS: the queue is full; give the NIC a moment.
            Err(e)
                if e.raw_os_error() == Some(105) || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(_) => return,
        }
    }
}

/// The address this host would send from to reach `dst` (asks the routing
/// table through an unconnected-then-connected UDP socket; nothing is sent).
fn source_for(dst: Ipv4Addr) -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).ok()?;
    socket.connect(SocketAddr::from((dst, 9))).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    }
}

/// Write a 24-byte SYN (20-byte header and an MSS option, as nmap sends)
/// with its checksum into `buf`.
fn build_syn(
    buf: &mut [u8; 24],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    source_port: u16,
    port: u16,
    seq: u32,
) -> Option<()> {
    buf.fill(0);
    let mut tcp = MutableTcpPacket::new(buf)?;
    tcp.set_source(source_port);
    tcp.set_destination(port);
    tcp.set_sequence(seq);
    tcp.set_acknowledgement(0);
    tcp.set_data_offset(6);
    tcp.set_flags(TcpFlags::SYN);
    tcp.set_window(1024);
    tcp.set_options(&[TcpOption::mss(1460)]);
    let checksum = ipv4_checksum(&tcp.to_immutable(), &src, &dst);
    tcp.set_checksum(checksum);
    Some(())
}

/// The keyed hash that makes sequence numbers recognisable.
#[derive(Debug, Clone, Copy)]
struct Key(u64);

impl Key {
    fn new(seed: u64) -> Key {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Key(mix(seed ^ now ^ u64::from(std::process::id())))
    }

    fn sequence(self, dst: Ipv4Addr, port: u16, source_port: u16) -> u32 {
        let v =
            (u64::from(u32::from(dst)) << 32) | (u64::from(port) << 16) | u64::from(source_port);
        mix(v ^ self.0) as u32
    }

    /// A source port in the dynamic range, from the key.
    fn source_port(self) -> u16 {
        49_152 + (self.0 % 16_000) as u16
    }
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One state byte per (host, port), written by the listeners.
struct Board {
    hosts: HashMap<Ipv4Addr, usize>,
    /// Index of each port number in the port list (u32::MAX: not scanned).
    port_index: Vec<u32>,
    ports: usize,
    states: Vec<AtomicU8>,
}

impl Board {
    fn new(targets: &[Ipv4Addr], ports: &[u16]) -> Board {
        let mut port_index = vec![u32::MAX; 65_536];
        for (i, &p) in ports.iter().enumerate() {
            if let Some(slot) = port_index.get_mut(usize::from(p)) {
                *slot = i as u32;
            }
        }
        let hosts = targets.iter().enumerate().map(|(i, &t)| (t, i)).collect();
        let states = (0..targets.len() * ports.len())
            .map(|_| AtomicU8::new(UNANSWERED))
            .collect();
        Board {
            hosts,
            port_index,
            ports: ports.len(),
            states,
        }
    }

    fn len(&self) -> usize {
        self.states.len()
    }

    fn pair(&self, idx: usize) -> (usize, usize) {
        (idx / self.ports.max(1), idx % self.ports.max(1))
    }

    fn index(&self, ip: Ipv4Addr, port: u16) -> Option<usize> {
        let host = *self.hosts.get(&ip)?;
        let p = *self.port_index.get(usize::from(port))?;
        (p != u32::MAX).then(|| host * self.ports + p as usize)
    }

    fn state(&self, idx: usize) -> u8 {
        self.states
            .get(idx)
            .map_or(UNANSWERED, |s| s.load(Ordering::Relaxed))
    }

    /// Record an answer; the first one for a port wins (a late RST after a
    /// SYN-ACK does not close an open port).
    fn answer(&self, idx: usize, state: u8) {
        if let Some(s) = self.states.get(idx) {
            let _ = s.compare_exchange(UNANSWERED, state, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn unanswered(&self) -> usize {
        self.states
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) == UNANSWERED)
            .count()
    }

    fn results(&self, targets: &[Ipv4Addr], ports: &[u16]) -> Vec<SynResult> {
        let mut out = Vec::with_capacity(self.len());
        for (h, &ip) in targets.iter().enumerate() {
            for (p, &port) in ports.iter().enumerate() {
                let (state, reason) = match self.state(h * self.ports + p) {
                    OPEN => (PortState::Open, "syn-ack"),
                    CLOSED => (PortState::Closed, "reset"),
                    HOST_UNREACH => (PortState::Filtered, "host-unreach"),
                    NET_UNREACH => (PortState::Filtered, "net-unreach"),
                    PORT_UNREACH => (PortState::Filtered, "port-unreach"),
                    PROHIBITED => (PortState::Filtered, "admin-prohibited"),
                    _ => (PortState::Filtered, "no-response"),
                };
                out.push(SynResult {
                    ip,
                    port,
                    state,
                    reason,
                });
            }
        }
        out
    }
}

#[derive(Clone, Copy)]
enum Listen {
    Tcp,
    Icmp,
}

fn spawn_listener(
    mut rx: TransportReceiver,
    what: Listen,
    board: Arc<Board>,
    key: Key,
    source_port: u16,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let poll = Duration::from_millis(50);
        match what {
            Listen::Tcp => {
                // pnet hands Layer-4 receivers the TCP header with the IP
                // header stripped, and the sender's address beside it.
                let mut packets = tcp_packet_iter(&mut rx);
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(Some((tcp, IpAddr::V4(from)))) = packets.next_with_timeout(poll) {
                        if let Some((idx, state)) = tcp_answer(&tcp, from, &board, key, source_port)
                        {
                            board.answer(idx, state);
                        }
                    }
                }
            }
            Listen::Icmp => {
                let mut packets = icmp_packet_iter(&mut rx);
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(Some((icmp, _))) = packets.next_with_timeout(poll) {
                        if let Some((idx, state)) = icmp_answer(&icmp, &board, key, source_port) {
                            board.answer(idx, state);
                        }
                    }
                }
            }
        }
    })
}

/// A TCP packet that answers one of our SYNs: its (host, port) index and
/// state.
fn tcp_answer(
    tcp: &TcpPacket<'_>,
    from: Ipv4Addr,
    board: &Board,
    key: Key,
    source_port: u16,
) -> Option<(usize, u8)> {
    if tcp.get_destination() != source_port {
        return None;
    }
    let port = tcp.get_source();
    let idx = board.index(from, port)?;
    if tcp.get_acknowledgement() != key.sequence(from, port, source_port).wrapping_add(1) {
        return None;
    }
    let flags = tcp.get_flags();
    if flags & TcpFlags::RST != 0 {
        Some((idx, CLOSED))
    } else if flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN | TcpFlags::ACK {
        Some((idx, OPEN))
    } else {
        None
    }
}

/// An ICMP destination-unreachable quoting one of our SYNs (RFC 792: the
/// original IP header and its first 8 bytes, which hold the ports and the
/// sequence number).
fn icmp_answer(
    icmp: &IcmpPacket<'_>,
    board: &Board,
    key: Key,
    source_port: u16,
) -> Option<(usize, u8)> {
    if icmp.get_icmp_type() != IcmpTypes::DestinationUnreachable {
        return None;
    }
    // Type, code, checksum, 4 unused bytes, then the quoted datagram.
    let quoted = Ipv4Packet::new(icmp.packet().get(8..)?)?;
    if quoted.get_next_level_protocol() != IpNextHeaderProtocols::Tcp {
        return None;
    }
    let header_len = usize::from(quoted.get_header_length()) * 4;
    let head = quoted.packet().get(header_len..header_len + 8)?;
    let sport = u16::from_be_bytes([*head.first()?, *head.get(1)?]);
    let dport = u16::from_be_bytes([*head.get(2)?, *head.get(3)?]);
    let seq = u32::from_be_bytes([*head.get(4)?, *head.get(5)?, *head.get(6)?, *head.get(7)?]);
    let target = quoted.get_destination();
    if sport != source_port || seq != key.sequence(target, dport, source_port) {
        return None;
    }
    let idx = board.index(target, dport)?;
    let state = match icmp.get_icmp_code().0 {
        0 => NET_UNREACH,
        1 => HOST_UNREACH,
        3 => PORT_UNREACH,
        _ => PROHIBITED,
    };
    Some((idx, state))
}

/// Paces sends to a rate (packets per second) without a timer per packet.
struct Pacer {
    interval: Option<Duration>,
    next: Instant,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        let interval =
            (rate > 0.0 && rate.is_finite()).then(|| Duration::from_secs_f64(1.0 / rate));
        Pacer {
            interval,
            next: Instant::now(),
        }
    }

    fn wait(&mut self) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = Instant::now();
        if self.next > now {
            let ahead = self.next - now;
            // Sleep only when well ahead; short gaps are spun away in batches.
            if ahead > Duration::from_millis(1) {
                std::thread::sleep(ahead);
            }
        } else if now - self.next > Duration::from_millis(100) {
            // Fell behind (a slow socket): do not burst to catch up.
            self.next = now;
        }
        self.next += interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_has_mss_option_and_valid_checksum() {
        let (src, dst) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut buf = [0u8; 24];
        build_syn(&mut buf, src, dst, 50_000, 443, 0x1234_5678).unwrap();
        let tcp = TcpPacket::new(&buf).unwrap();
        assert_eq!((tcp.get_source(), tcp.get_destination()), (50_000, 443));
        assert_eq!(tcp.get_flags(), TcpFlags::SYN);
        assert_eq!(tcp.get_sequence(), 0x1234_5678);
        assert_eq!(tcp.get_data_offset(), 6);
        assert_eq!(&buf[20..24], &[2, 4, 0x05, 0xb4]);
        assert_eq!(tcp.get_checksum(), ipv4_checksum(&tcp, &src, &dst));
    }

    /// A TCP header from `port` to `dport` with `flags` and `ack`.
    fn reply(port: u16, dport: u16, flags: u8, ack: u32) -> Vec<u8> {
        let mut v = vec![0u8; 20];
        v[0..2].copy_from_slice(&port.to_be_bytes());
        v[2..4].copy_from_slice(&dport.to_be_bytes());
        v[8..12].copy_from_slice(&ack.to_be_bytes());
        v[12] = 0x50;
        v[13] = flags;
        v
    }

    #[test]
    fn replies_match_only_their_own_probe() {
        let target = Ipv4Addr::new(10, 0, 0, 2);
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let board = Board::new(&[target], &[22, 80, 443]);
        let key = Key(42);
        let sp = 50_000;
        let ack = |port| key.sequence(target, port, sp).wrapping_add(1);
        let synack = TcpFlags::SYN | TcpFlags::ACK;
        let rst = TcpFlags::RST | TcpFlags::ACK;
        let check = |from: Ipv4Addr, bytes: Vec<u8>| {
            TcpPacket::new(&bytes).and_then(|tcp| tcp_answer(&tcp, from, &board, key, sp))
        };
        assert_eq!(
            check(target, reply(80, sp, synack, ack(80))),
            Some((1, OPEN))
        );
        assert_eq!(
            check(target, reply(443, sp, rst, ack(443))),
            Some((2, CLOSED))
        );
        // Wrong acknowledgement, wrong source port, unscanned port, other host.
        assert_eq!(check(target, reply(22, sp, synack, ack(22) + 1)), None);
        assert_eq!(check(target, reply(22, sp + 1, synack, ack(22))), None);
        assert_eq!(check(target, reply(23, sp, synack, ack(23))), None);
        assert_eq!(check(me, reply(22, sp, synack, ack(22))), None);
        // Garbage never panics.
        for len in 0..60 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let _ = check(target, junk);
        }
    }

    #[test]
    fn first_answer_wins() {
        let t = Ipv4Addr::new(10, 0, 0, 2);
        let board = Board::new(&[t], &[80]);
        board.answer(0, OPEN);
        board.answer(0, CLOSED);
        assert_eq!(board.results(&[t], &[80])[0].state, PortState::Open);
    }
}
