//! Raw sockets (layer 3) for the SYN scan and the ICMP/TCP pings: one per
//! family and protocol, opened once per scan, shared by a sender and one
//! receiver thread each. Replies are matched by cookie, so a receiver only
//! parses and hands every reply to a callback.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::packet::{self, Reply};
use super::RawError;

/// Kernel receive buffer asked for each receiving socket: a burst of
/// hundreds of thousands of replies must not overflow it while the receiver
/// thread catches up (the kernel caps it at `net.core.rmem_max`).
const RECV_BUFFER: usize = 16 << 20;
/// How long a receiver blocks before looking at its stop switch.
const POLL: Duration = Duration::from_millis(20);

/// The raw sockets a scan needs (a family is opened only when a target
/// has it).
#[derive(Debug)]
pub struct RawSockets {
    /// IPv4 TCP, header included on send; reads whole IPv4 packets.
    pub tcp4: Option<Socket>,
    /// IPv4 ICMP (the kernel writes the IP header); reads whole packets.
    pub icmp4: Option<Socket>,
    /// IPv6 TCP: sends and reads TCP segments without the IPv6 header.
    pub tcp6: Option<Socket>,
    /// ICMPv6: sends and reads messages without the IPv6 header.
    pub icmp6: Option<Socket>,
}

fn open(domain: Domain, proto: Protocol, what: &'static str) -> Result<Socket, RawError> {
    let unavailable = |source| RawError::Unavailable { what, source };
    let s = Socket::new(domain, Type::RAW, Some(proto)).map_err(unavailable)?;
    // Best effort: a smaller buffer only costs retries.
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_read_timeout(Some(POLL)).map_err(unavailable)?;
    Ok(s)
}

impl RawSockets {
    /// Open the sockets for IPv4 and/or IPv6 targets. Fails without
    /// `CAP_NET_RAW` (not root).
    pub fn open(v4: bool, v6: bool) -> Result<RawSockets, RawError> {
        let mut s = RawSockets {
            tcp4: None,
            icmp4: None,
            tcp6: None,
            icmp6: None,
        };
        if v4 {
            let tcp = open(Domain::IPV4, Protocol::TCP, "IPv4 raw TCP socket")?;
            tcp.set_header_included_v4(true)
                .map_err(|source| RawError::Unavailable {
                    what: "IP_HDRINCL",
                    source,
                })?;
            s.tcp4 = Some(tcp);
            s.icmp4 = Some(open(
                Domain::IPV4,
                Protocol::ICMPV4,
                "IPv4 raw ICMP socket",
            )?);
        }
        if v6 {
            s.tcp6 = Some(open(Domain::IPV6, Protocol::TCP, "IPv6 raw TCP socket")?);
            s.icmp6 = Some(open(
                Domain::IPV6,
                Protocol::ICMPV6,
                "IPv6 raw ICMP socket",
            )?);
        }
        Ok(s)
    }

    /// Whether raw sockets can be opened here (root or `CAP_NET_RAW`); the
    /// error says why not.
    pub fn check() -> Result<(), RawError> {
        open(Domain::IPV4, Protocol::TCP, "IPv4 raw TCP socket").map(drop)
    }

    /// Send a TCP probe: a whole IPv4 packet, or an IPv6 TCP segment.
    pub fn send_tcp(&self, dst: IpAddr, bytes: &[u8]) -> std::io::Result<()> {
        let sock = match dst {
            IpAddr::V4(_) => self.tcp4.as_ref(),
            IpAddr::V6(_) => self.tcp6.as_ref(),
        };
        send(sock, dst, bytes)
    }

    /// Send an ICMPv6 neighbour solicitation to `dst` (a link-local
    /// multicast address) out of interface `ifindex`, with hop limit 255 as
    /// RFC 4861 requires.
    pub fn send_icmp6_on_link(
        &self,
        dst: Ipv6Addr,
        ifindex: u32,
        bytes: &[u8],
    ) -> std::io::Result<()> {
        let Some(sock) = self.icmp6.as_ref() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "no raw ICMPv6 socket",
            ));
        };
        sock.set_multicast_hops_v6(255)?;
        let addr = SockAddr::from(std::net::SocketAddrV6::new(dst, 0, 0, ifindex));
        sock.send_to(bytes, &addr).map(drop)
    }

    /// Send an ICMP or ICMPv6 message (the kernel adds the IP header).
    pub fn send_icmp(&self, dst: IpAddr, bytes: &[u8]) -> std::io::Result<()> {
        let sock = match dst {
            IpAddr::V4(_) => self.icmp4.as_ref(),
            IpAddr::V6(_) => self.icmp6.as_ref(),
        };
        send(sock, dst, bytes)
    }
}

fn send(sock: Option<&Socket>, dst: IpAddr, bytes: &[u8]) -> std::io::Result<()> {
    let Some(sock) = sock else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "no raw socket for this address family",
        ));
    };
    let addr = SockAddr::from(SocketAddr::new(dst, 0));
    let mut tries = 0;
    loop {
        match sock.send_to(bytes, &addr) {
            Ok(_) => return Ok(()),
            // ENOBUFS: the interface queue is full; let it drain.
            Err(e) if e.raw_os_error() == Some(105) && tries < 200 => {
                tries += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The local address the kernel would use to reach `dst` (a UDP socket is
/// connected, which sends nothing).
pub fn source_for(dst: IpAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = match dst {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = std::net::UdpSocket::bind(any)?;
    s.connect(SocketAddr::new(dst, 9))?;
    Ok(s.local_addr()?.ip())
}

/// One thread per open socket reads replies and hands those that parse to
/// `on_reply`, until `stop` is set.
pub fn spawn_receivers(
    sockets: &Arc<RawSockets>,
    stop: &Arc<AtomicBool>,
    on_reply: Arc<dyn Fn(Reply) + Send + Sync>,
) -> Vec<JoinHandle<()>> {
    let mut threads = Vec::new();
    type Pick = fn(&RawSockets) -> Option<&Socket>;
    type Parse = fn(Option<Ipv6Addr>, &[u8]) -> Option<Reply>;
    let kinds: [(Pick, Parse); 4] = [
        (|s| s.tcp4.as_ref(), |_, b| packet::parse_ipv4(b)),
        (|s| s.icmp4.as_ref(), |_, b| packet::parse_ipv4(b)),
        (
            |s| s.tcp6.as_ref(),
            |from, b| packet::parse_ipv6_tcp(from?, b),
        ),
        (
            |s| s.icmp6.as_ref(),
            |from, b| packet::parse_icmpv6(from?, b),
        ),
    ];
    for (i, (pick, parse)) in kinds.into_iter().enumerate() {
        if pick(sockets).is_none() {
            continue;
        }
        let (sockets, stop, on_reply) = (sockets.clone(), stop.clone(), on_reply.clone());
        let v6 = i >= 2;
        let spawned = std::thread::Builder::new()
            .name(format!("netsec-rx{i}"))
            .spawn(move || {
                let Some(sock) = pick(&sockets) else {
                    return;
                };
                let mut buf = [0u8; 2048];
                while !stop.load(Ordering::Relaxed) {
                    // IPv6 raw sockets give no header: the sender comes from
                    // the socket address of the datagram about to be read.
                    let from = if v6 {
                        match sock.peek_sender() {
                            Ok(a) => a.as_socket_ipv6().map(|a| *a.ip()),
                            Err(_) => continue,
                        }
                    } else {
                        None
                    };
                    let n = match (&*sock).read(&mut buf) {
                        Ok(n) => n,
                        Err(_) => continue,
                    };
                    if let Some(reply) = buf.get(..n).and_then(|b| parse(from, b)) {
                        on_reply(reply);
                    }
                }
            });
        if let Ok(t) = spawned {
            threads.push(t);
        }
    }
    threads
}
