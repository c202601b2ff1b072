//! Host discovery with raw packets, as nmap does it as root: ARP requests
//! for targets on a directly connected Ethernet segment (nothing else is
//! needed there), and for the others ICMP echo (`-PE`), ICMP timestamp
//! (`-PP`), TCP SYN (`-PS`) and TCP ACK (`-PA`) pings. Any answer — even a
//! RST — means the host is up; the first one gives the reason nmap reports
//! (`arp-response`, `echo-reply`, `timestamp-reply`, `syn-ack`, `reset`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pnet::datalink::{self, Channel, NetworkInterface};
use pnet::packet::tcp::TcpFlags;

use super::packet::{self, CookieKey, Reply, TcpProbe};
use super::sock::{self, RawSockets};
use super::RawError;
use crate::scan::ScanProgress;
use crate::timing::{HostRtts, Timing};

/// Which discovery probes to send (nmap's `-P` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// ARP on directly connected Ethernet segments (`-PR`).
    pub arp: bool,
    /// ICMP echo request (`-PE`).
    pub echo: bool,
    /// ICMP timestamp request (`-PP`, IPv4 only).
    pub timestamp: bool,
    /// TCP SYN ping ports (`-PS`).
    pub syn_ports: Vec<u16>,
    /// TCP ACK ping ports (`-PA`).
    pub ack_ports: Vec<u16>,
}

impl Default for Discovery {
    /// nmap's default as root: ARP on the local segment, elsewhere
    /// `-PE -PS443 -PA80 -PP`.
    fn default() -> Self {
        Discovery {
            arp: true,
            echo: true,
            timestamp: true,
            syn_ports: vec![443],
            ack_ports: vec![80],
        }
    }
}

impl Discovery {
    /// No probe at all.
    pub fn none() -> Self {
        Discovery {
            arp: false,
            echo: false,
            timestamp: false,
            syn_ports: Vec::new(),
            ack_ports: Vec::new(),
        }
    }

    /// Whether any IP-level (non-ARP) probe is configured.
    fn has_ip_probes(&self) -> bool {
        self.echo || self.timestamp || !self.syn_ports.is_empty() || !self.ack_ports.is_empty()
    }
}

/// A host's answer codes: 0 none yet; reasons up; `DOWN | i` an ICMP error.
const REASONS: [&str; 7] = [
    "",
    "arp-response",
    "echo-reply",
    "timestamp-reply",
    "syn-ack",
    "reset",
    "nd-response",
];
const DOWN: u8 = 0x40;

/// The interface index and its MAC for an IPv6 target on a directly
/// connected Ethernet prefix (neighbour discovery, IPv6's ARP).
fn nd_interface(interfaces: &[NetworkInterface], target: Ipv6Addr) -> Option<(u32, [u8; 6])> {
    interfaces.iter().find_map(|iface| {
        if !iface.is_up() || iface.is_loopback() {
            return None;
        }
        let mac = iface.mac.filter(|m| !m.is_zero())?.octets();
        iface
            .ips
            .iter()
            .any(|net| match net {
                pnet::ipnetwork::IpNetwork::V6(n) => {
                    n.contains(target) && n.prefix() < 128 && n.ip() != target
                }
                _ => false,
            })
            .then_some((iface.index, mac))
    })
}

/// The interface and our address on it for a target on a directly
/// connected IPv4 Ethernet subnet.
fn arp_interface(
    interfaces: &[NetworkInterface],
    target: Ipv4Addr,
) -> Option<(usize, Ipv4Addr, [u8; 6])> {
    interfaces.iter().enumerate().find_map(|(i, iface)| {
        if !iface.is_up() || iface.is_loopback() {
            return None;
        }
        let mac = iface.mac.filter(|m| !m.is_zero())?.octets();
        iface.ips.iter().find_map(|net| match net {
            pnet::ipnetwork::IpNetwork::V4(n)
                if n.contains(target) && n.prefix() < 32 && n.ip() != target =>
            {
                Some((i, n.ip(), mac))
            }
            _ => None,
        })
    })
}

struct State {
    key: CookieKey,
    index: HashMap<IpAddr, usize>,
    codes: Vec<AtomicU8>,
    /// Microseconds since `epoch` of each host's latest probe.
    sent_us: Vec<AtomicU64>,
    epoch: Instant,
    up: AtomicU64,
    /// Neighbour advertisements count (`-PR`); otherwise the ones the
    /// kernel's own resolution brings in are ignored.
    neighbor: bool,
}

impl State {
    fn mark(&self, ip: IpAddr, code: u8, rtts: &HostRtts) {
        let Some(&i) = self.index.get(&ip) else {
            return;
        };
        let Some(slot) = self.codes.get(i) else {
            return;
        };
        let first = slot
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                // An answer beats an earlier ICMP error; nothing beats an answer.
                (c == 0 || (c & DOWN != 0 && code & DOWN == 0)).then_some(code)
            })
            .is_ok();
        if first && code & DOWN == 0 {
            self.up.fetch_add(1, Ordering::Relaxed);
            if let Some(sent) = self.sent_us.get(i) {
                let now = self.epoch.elapsed().as_micros() as u64;
                let rtt = now.saturating_sub(sent.load(Ordering::Relaxed));
                rtts.sample(ip, Duration::from_micros(rtt.max(1)));
            }
        }
    }

    fn on_reply(&self, r: Reply, rtts: &HostRtts) {
        if !r.is_ours(&self.key) {
            return;
        }
        match r {
            Reply::Echo { from, .. } => self.mark(from, 2, rtts),
            Reply::Neighbor { target } if self.neighbor => {
                self.mark(IpAddr::V6(target), 6, rtts);
            }
            Reply::Neighbor { .. } => {}
            Reply::Timestamp { from, .. } => self.mark(from, 3, rtts),
            Reply::Tcp { from, flags, .. } => {
                let code = if flags & TcpFlags::RST != 0 { 5 } else { 4 };
                self.mark(from, code, rtts);
            }
            Reply::Unreachable {
                from,
                target,
                reason,
                ..
            } => {
                // The target itself refusing a port is alive; a router's
                // error says it cannot be reached.
                if from == target {
                    self.mark(target, 5, rtts);
                } else {
                    let code = super::syn::reason_code(reason);
                    self.mark(target, DOWN | code, rtts);
                }
            }
        }
    }
}

/// Find out which `targets` are up, sending at most `rate` probes per
/// second (0: the profile's, as the SYN scan). Returns per target (in
/// order) whether it is up and nmap's reason. `Err` when raw sockets cannot
/// be opened.
pub fn discover(
    targets: &[IpAddr],
    probes: &Discovery,
    timing: &Timing,
    rate: f64,
    rtts: &Arc<HostRtts>,
    progress: &ScanProgress,
) -> Result<Vec<(bool, &'static str)>, RawError> {
    let key = CookieKey::random();
    let interfaces = if probes.arp {
        datalink::interfaces()
    } else {
        Vec::new()
    };
    // ARP targets, by interface; the rest get IP probes.
    let mut arp: HashMap<usize, (Ipv4Addr, [u8; 6], Vec<Ipv4Addr>)> = HashMap::new();
    let mut ip_targets = Vec::new();
    let mut nd: Vec<(Ipv6Addr, u32, [u8; 6])> = Vec::new();
    for &t in targets {
        let local = match t {
            IpAddr::V4(v4) => arp_interface(&interfaces, v4),
            IpAddr::V6(v6) => {
                if let Some((ifindex, mac)) = nd_interface(&interfaces, v6) {
                    nd.push((v6, ifindex, mac));
                    continue;
                }
                None
            }
        };
        match local {
            Some((i, src, mac)) => arp
                .entry(i)
                .or_insert((src, mac, Vec::new()))
                .2
                .push(t_v4(t)),
            None => ip_targets.push(t),
        }
    }
    let sockets = if (probes.has_ip_probes() && !ip_targets.is_empty()) || !nd.is_empty() {
        let v4 = ip_targets.iter().any(IpAddr::is_ipv4);
        let v6 = ip_targets.iter().any(IpAddr::is_ipv6) || !nd.is_empty();
        Some(Arc::new(RawSockets::open(v4, v6)?))
    } else {
        None
    };
    let state = Arc::new(State {
        key,
        index: targets.iter().enumerate().map(|(i, &ip)| (ip, i)).collect(),
        codes: targets.iter().map(|_| AtomicU8::new(0)).collect(),
        sent_us: targets.iter().map(|_| AtomicU64::new(0)).collect(),
        epoch: Instant::now(),
        up: AtomicU64::new(0),
        neighbor: probes.arp,
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    if let Some(sockets) = &sockets {
        let (state, rtts) = (state.clone(), rtts.clone());
        threads.extend(sock::spawn_receivers(
            sockets,
            &stop,
            Arc::new(move |r| state.on_reply(r, &rtts)),
        ));
    }
    // ARP: one datalink channel per interface, a reader thread each.
    let mut arp_senders = Vec::new();
    for (i, (src, mac, list)) in arp {
        let Some(iface) = interfaces.get(i) else {
            continue;
        };
        let config = datalink::Config {
            read_timeout: Some(Duration::from_millis(20)),
            promiscuous: false,
            ..Default::default()
        };
        let (tx, mut rx) = match datalink::channel(iface, config) {
            Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
            Ok(_) => {
                return Err(RawError::Unavailable {
                    what: "Ethernet channel",
                    source: std::io::Error::other("unknown channel type"),
                })
            }
            Err(source) => {
                return Err(RawError::Unavailable {
                    what: "packet socket for ARP",
                    source,
                })
            }
        };
        let (state, rtts, stop) = (state.clone(), rtts.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(frame) = rx.next() {
                    if let Some((ip, _mac)) = packet::parse_arp_reply(frame) {
                        state.mark(IpAddr::V4(ip), 1, &rtts);
                    }
                }
            }
        }));
        arp_senders.push((tx, src, mac, list));
    }
    progress.add_total(targets.len() as u64);
    let rounds = timing.max_retries.min(1) + 1;
    let timeout = timing.initial_rtt_timeout.max(timing.min_rtt_timeout);
    let rate = if rate > 0.0 {
        rate
    } else {
        super::syn::default_rate(timing)
    };
    let mut pacer = super::syn::Pacer::new(rate);
    let mut buf = [0u8; 64];
    let is_pending = |ip: IpAddr| {
        state
            .index
            .get(&ip)
            .and_then(|&i| state.codes.get(i))
            .is_some_and(|c| {
                let c = c.load(Ordering::Relaxed);
                c == 0 || c & DOWN != 0
            })
    };
    let stamp = |ip: IpAddr| {
        if let Some(s) = state.index.get(&ip).and_then(|&i| state.sent_us.get(i)) {
            s.store(state.epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
    };
    for round in 0..rounds {
        if progress.is_cancelled() {
            break;
        }
        for (tx, src, mac, list) in &mut arp_senders {
            for &t in list.iter() {
                if !is_pending(IpAddr::V4(t)) {
                    continue;
                }
                if let Some(n) = packet::write_arp_request(&mut buf, *mac, *src, t) {
                    pacer.pace();
                    stamp(IpAddr::V4(t));
                    if let Some(frame) = buf.get(..n) {
                        let _ = tx.send_to(frame, None);
                    }
                }
            }
        }
        if let Some(sockets) = &sockets {
            for &(t, ifindex, mac) in &nd {
                if !is_pending(IpAddr::V6(t)) {
                    continue;
                }
                if let Some(b) =
                    packet::write_neighbor_solicit(&mut buf, t, mac).and_then(|n| buf.get(..n))
                {
                    pacer.pace();
                    stamp(IpAddr::V6(t));
                    let _ = sockets.send_icmp6_on_link(packet::solicited_node(t), ifindex, b);
                }
            }
            let ip_probed = if probes.has_ip_probes() {
                &ip_targets[..]
            } else {
                &[]
            };
            for &t in ip_probed {
                if !is_pending(t) {
                    continue;
                }
                stamp(t);
                send_ip_probes(sockets, probes, key, t, round as u16, &mut buf, &mut pacer);
            }
        }
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && state.up.load(Ordering::Relaxed) < targets.len() as u64 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    progress.add_done(targets.len() as u64);
    Ok(state
        .codes
        .iter()
        .map(|c| {
            let c = c.load(Ordering::Relaxed);
            if c == 0 {
                (false, "no-response")
            } else if c & DOWN != 0 {
                (false, super::syn::reason_name(c & !DOWN))
            } else {
                (
                    true,
                    REASONS.get(usize::from(c)).copied().unwrap_or("user-set"),
                )
            }
        })
        .collect())
}

fn t_v4(t: IpAddr) -> Ipv4Addr {
    match t {
        IpAddr::V4(v) => v,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

fn send_ip_probes(
    sockets: &RawSockets,
    probes: &Discovery,
    key: CookieKey,
    t: IpAddr,
    seq: u16,
    buf: &mut [u8; 64],
    pacer: &mut super::syn::Pacer,
) {
    let id = packet::icmp_id(&key, t);
    if probes.echo {
        let n = match t {
            IpAddr::V4(_) => packet::write_icmp4(buf, false, id, seq),
            IpAddr::V6(_) => packet::write_icmp6_echo(buf, id, seq),
        };
        if let Some(b) = n.and_then(|n| buf.get(..n)) {
            pacer.pace();
            let _ = sockets.send_icmp(t, b);
        }
    }
    if probes.timestamp && t.is_ipv4() {
        if let Some(b) = packet::write_icmp4(buf, true, id, seq).and_then(|n| buf.get(..n)) {
            pacer.pace();
            let _ = sockets.send_icmp(t, b);
        }
    }
    let Ok(src) = sock::source_for(t) else {
        return;
    };
    let tcp = probes
        .syn_ports
        .iter()
        .map(|&p| (TcpProbe::Syn, p))
        .chain(probes.ack_ports.iter().map(|&p| (TcpProbe::Ack, p)));
    for (kind, port) in tcp {
        let sport = key.source_port(50_000, t, port);
        let cookie = key.cookie(t, port, sport);
        let n = match (src, t) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                packet::write_ipv4_tcp(buf, kind, s, d, sport, port, cookie)
            }
            _ => packet::write_tcp(buf, kind, src, t, sport, port, cookie),
        };
        if let Some(b) = n.and_then(|n| buf.get(..n)) {
            pacer.pace();
            let _ = sockets.send_tcp(t, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_mark_hosts_with_nmap_reasons() {
        let key = CookieKey([4, 2]);
        let hosts: Vec<IpAddr> = (1..=4)
            .map(|i| IpAddr::V4(Ipv4Addr::new(10, 77, 8, i)))
            .collect();
        let state = State {
            key,
            index: hosts.iter().enumerate().map(|(i, &ip)| (ip, i)).collect(),
            codes: hosts.iter().map(|_| AtomicU8::new(0)).collect(),
            sent_us: hosts.iter().map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
            up: AtomicU64::new(0),
            neighbor: false,
        };
        let rtts = HostRtts::default();
        let id = |i: usize| packet::icmp_id(&key, hosts[i]);
        state.on_reply(
            Reply::Echo {
                from: hosts[0],
                id: id(0),
            },
            &rtts,
        );
        // A wrong identifier is someone else's ping.
        state.on_reply(
            Reply::Timestamp {
                from: hosts[1],
                id: id(1) ^ 1,
            },
            &rtts,
        );
        state.on_reply(
            Reply::Timestamp {
                from: hosts[1],
                id: id(1),
            },
            &rtts,
        );
        let sport = key.source_port(50_000, hosts[2], 80);
        state.on_reply(
            Reply::Tcp {
                from: hosts[2],
                sport: 80,
                dport: sport,
                seq: key.cookie(hosts[2], 80, sport),
                ack: 0,
                flags: TcpFlags::RST,
            },
            &rtts,
        );
        let dport = 443;
        let sport = key.source_port(50_000, hosts[3], dport);
        let seq = key.cookie(hosts[3], dport, sport);
        state.on_reply(
            Reply::Unreachable {
                from: IpAddr::V4(Ipv4Addr::new(10, 77, 8, 254)),
                target: hosts[3],
                sport,
                dport,
                seq,
                reason: "host-unreach",
            },
            &rtts,
        );
        let got: Vec<u8> = state
            .codes
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(got[..3], [2, 3, 5]);
        assert_eq!(
            got[3],
            DOWN | super::super::syn::reason_code("host-unreach")
        );
        assert_eq!(state.up.load(Ordering::Relaxed), 3);
        assert!(rtts.srtt(hosts[0]).is_some());
    }

    #[test]
    fn loopback_is_never_arped() {
        let lo = datalink::interfaces();
        assert!(arp_interface(&lo, Ipv4Addr::LOCALHOST).is_none());
    }
}
