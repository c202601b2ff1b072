//! Packets of the raw scans: SYN and ACK probes, ICMP echo and timestamp
//! requests, ARP requests, and the parser of everything that can come back.
//!
//! Probes carry a *cookie* (masscan's idea): a keyed hash of the target
//! address, the target port and our source port, written into the TCP
//! sequence number (SYN), the acknowledgement number (ACK) or the ICMP
//! identifier. A reply is ours exactly when it echoes the cookie of the
//! address and ports it comes from, so no table of sent probes is kept.
//!
//! Building writes into a caller's buffer (no allocation per probe); parsing
//! never panics on any bytes (fuzzed by `fuzz/fuzz_targets/scan_raw_reply.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet::packet::icmp::IcmpTypes;
use pnet::packet::icmpv6::Icmpv6Types;
use pnet::packet::ip::IpNextHeaderProtocols;
use pnet::packet::ipv4::Ipv4Packet;
use pnet::packet::tcp::{MutableTcpPacket, TcpFlags, TcpPacket};
use pnet::packet::MutablePacket;

/// IPv4 header length of our probes (no options).
pub const IPV4_HEADER: usize = 20;
/// TCP header length of our probes: 20 bytes and the MSS option, as nmap
/// sends (some stacks ignore a SYN without it).
pub const TCP_HEADER: usize = 24;
/// A whole IPv4 TCP probe.
pub const IPV4_TCP_PROBE: usize = IPV4_HEADER + TCP_HEADER;
/// ICMP echo request (8 bytes header, no payload).
pub const ICMP_ECHO: usize = 8;
/// ICMP timestamp request (8 bytes header, three 32-bit times).
pub const ICMP_TIMESTAMP: usize = 20;
/// Ethernet ARP request.
pub const ARP_FRAME: usize = 42;

/// The secret of one scan's cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieKey(pub [u64; 2]);

impl CookieKey {
    /// A fresh random key (the process's hash seed source).
    pub fn random() -> CookieKey {
        use std::hash::{BuildHasher, Hasher};
        let a = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(a);
        CookieKey([a, h.finish()])
    }

    /// The 32-bit cookie of a probe to `ip`:`dport` from source port `sport`.
    pub fn cookie(&self, ip: IpAddr, dport: u16, sport: u16) -> u32 {
        let ports = (u64::from(dport) << 16) | u64::from(sport);
        let x = match ip {
            IpAddr::V4(v4) => mix((u64::from(u32::from(v4)) << 32 | ports) ^ self.0[0]),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let hi = mix((bits >> 64) as u64 ^ self.0[0]);
                mix(hi ^ bits as u64 ^ ports.rotate_left(40))
            }
        };
        let y = mix(x.wrapping_add(self.0[1]));
        (y ^ (y >> 32)) as u32
    }

    /// The source port of probes to `ip`:`dport` when the user did not
    /// fix one: spread over `base..base+256` by the cookie, so that
    /// retries and parallel scans do not share one 4-tuple.
    pub fn source_port(&self, base: u16, ip: IpAddr, dport: u16) -> u16 {
        base.wrapping_add((self.cookie(ip, dport, 0) & 0xff) as u16)
    }
}

/// A 64-bit finaliser (MurmurHash3's fmix64).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Which TCP probe to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpProbe {
    /// SYN; the cookie is the sequence number.
    Syn,
    /// ACK (the ACK ping); the cookie is the acknowledgement number.
    Ack,
}

/// Write the TCP header of a probe into `buf[..TCP_HEADER]` and return its
/// length; the checksum is for the pseudo-header of `src` → `dst` (both of
/// one family). `None` when `buf` is too short or the families differ.
pub fn write_tcp(
    buf: &mut [u8],
    kind: TcpProbe,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    cookie: u32,
) -> Option<usize> {
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    let buf = buf.get_mut(..TCP_HEADER)?;
    let mut tcp = MutableTcpPacket::new(buf)?;
    tcp.set_source(sport);
    tcp.set_destination(dport);
    match kind {
        TcpProbe::Syn => {
            tcp.set_sequence(cookie);
            tcp.set_acknowledgement(0);
            tcp.set_flags(TcpFlags::SYN);
        }
        TcpProbe::Ack => {
            tcp.set_sequence(cookie.rotate_left(16));
            tcp.set_acknowledgement(cookie);
            tcp.set_flags(TcpFlags::ACK);
        }
    }
    tcp.set_data_offset((TCP_HEADER / 4) as u8);
    tcp.set_reserved(0);
    tcp.set_window(1024);
    tcp.set_urgent_ptr(0);
    tcp.set_checksum(0);
    // MSS 1460.
    if let Some(opt) = tcp.packet_mut().get_mut(20..TCP_HEADER) {
        opt.copy_from_slice(&[2, 4, 0x05, 0xb4]);
    }
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            pnet::packet::tcp::ipv4_checksum(&tcp.to_immutable(), &s, &d)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            pnet::packet::tcp::ipv6_checksum(&tcp.to_immutable(), &s, &d)
        }
        _ => return None,
    };
    tcp.set_checksum(sum);
    Some(TCP_HEADER)
}

/// Write a whole IPv4 TCP probe (header included, for an `IP_HDRINCL`
/// socket) into `buf[..IPV4_TCP_PROBE]`.
pub fn write_ipv4_tcp(
    buf: &mut [u8],
    kind: TcpProbe,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    cookie: u32,
) -> Option<usize> {
    let buf = buf.get_mut(..IPV4_TCP_PROBE)?;
    let (ip, tcp) = buf.split_at_mut(IPV4_HEADER);
    write_tcp(tcp, kind, src.into(), dst.into(), sport, dport, cookie)?;
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&(IPV4_TCP_PROBE as u16).to_be_bytes());
    // Identification from the cookie, as varied as nmap's.
    ip[4..6].copy_from_slice(&((cookie >> 8) as u16).to_be_bytes());
    ip[6..8].copy_from_slice(&[0, 0]);
    ip[8] = 64;
    ip[9] = IpNextHeaderProtocols::Tcp.0;
    ip[10..12].copy_from_slice(&[0, 0]);
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum = pnet::packet::util::checksum(ip, 5);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    Some(IPV4_TCP_PROBE)
}

/// Write an ICMPv4 echo request (`timestamp`: a timestamp request instead)
/// with identifier `id` and sequence `seq` into `buf`; returns its length.
/// The IP header is the kernel's.
pub fn write_icmp4(buf: &mut [u8], timestamp: bool, id: u16, seq: u16) -> Option<usize> {
    let len = if timestamp { ICMP_TIMESTAMP } else { ICMP_ECHO };
    let b = buf.get_mut(..len)?;
    b.fill(0);
    b[0] = if timestamp {
        IcmpTypes::Timestamp.0
    } else {
        IcmpTypes::EchoRequest.0
    };
    b[4..6].copy_from_slice(&id.to_be_bytes());
    b[6..8].copy_from_slice(&seq.to_be_bytes());
    let sum = pnet::packet::util::checksum(b, 1);
    b[2..4].copy_from_slice(&sum.to_be_bytes());
    Some(len)
}

/// Write an ICMPv6 echo request into `buf` (the kernel fills the checksum of
/// an ICMPv6 raw socket); returns its length.
pub fn write_icmp6_echo(buf: &mut [u8], id: u16, seq: u16) -> Option<usize> {
    let b = buf.get_mut(..ICMP_ECHO)?;
    b.fill(0);
    b[0] = Icmpv6Types::EchoRequest.0;
    b[4..6].copy_from_slice(&id.to_be_bytes());
    b[6..8].copy_from_slice(&seq.to_be_bytes());
    Some(ICMP_ECHO)
}

/// ICMPv6 neighbour solicitation with the source link-layer option.
pub const ICMP6_NS: usize = 32;

/// The solicited-node multicast address of `target` (RFC 4291 §2.7.1).
pub fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let o = target.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// Write an ICMPv6 neighbour solicitation for `target` from `mac` into
/// `buf` (the kernel fills the checksum); returns its length.
pub fn write_neighbor_solicit(buf: &mut [u8], target: Ipv6Addr, mac: [u8; 6]) -> Option<usize> {
    let b = buf.get_mut(..ICMP6_NS)?;
    b.fill(0);
    b[0] = 135;
    b[8..24].copy_from_slice(&target.octets());
    b[24] = 1;
    b[25] = 1;
    b[26..32].copy_from_slice(&mac);
    Some(ICMP6_NS)
}

/// Write an Ethernet broadcast ARP request "who has `target`, tell
/// `sender_ip`" into `buf[..ARP_FRAME]`.
pub fn write_arp_request(
    buf: &mut [u8],
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target: Ipv4Addr,
) -> Option<usize> {
    let b = buf.get_mut(..ARP_FRAME)?;
    b[0..6].copy_from_slice(&[0xff; 6]);
    b[6..12].copy_from_slice(&sender_mac);
    b[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    // Ethernet, IPv4, lengths 6 and 4, request.
    b[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    b[22..28].copy_from_slice(&sender_mac);
    b[28..32].copy_from_slice(&sender_ip.octets());
    b[32..38].copy_from_slice(&[0; 6]);
    b[38..42].copy_from_slice(&target.octets());
    Some(ARP_FRAME)
}

/// An ARP reply in an Ethernet frame: who has which address. `None` for
/// anything else.
pub fn parse_arp_reply(frame: &[u8]) -> Option<(Ipv4Addr, [u8; 6])> {
    if frame.get(12..14)? != [0x08, 0x06] {
        return None;
    }
    let arp = frame.get(14..42)?;
    // Ethernet/IPv4 reply.
    if arp[0..8] != [0, 1, 8, 0, 6, 4, 0, 2] {
        return None;
    }
    let mac: [u8; 6] = arp[8..14].try_into().ok()?;
    let ip: [u8; 4] = arp[14..18].try_into().ok()?;
    Some((Ipv4Addr::from(ip), mac))
}

/// Why an ICMP error says a probe did not get through, in nmap's words.
pub fn unreach_reason_v4(code: u8) -> &'static str {
    match code {
        0 => "net-unreach",
        1 => "host-unreach",
        2 => "proto-unreach",
        3 => "port-unreach",
        9 => "net-prohibited",
        10 => "host-prohibited",
        13 => "admin-prohibited",
        _ => "host-unreach",
    }
}

/// The ICMPv6 destination-unreachable codes, in nmap's words.
pub fn unreach_reason_v6(code: u8) -> &'static str {
    match code {
        0 => "net-unreach",
        1 => "admin-prohibited",
        3 => "host-unreach",
        4 => "port-unreach",
        _ => "host-unreach",
    }
}

/// Something that came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// A TCP segment from `from`:`sport` to our `dport`.
    Tcp {
        /// The answering host.
        from: IpAddr,
        /// Its port (the one probed).
        sport: u16,
        /// Our port.
        dport: u16,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// TCP flags.
        flags: u8,
    },
    /// An ICMP destination unreachable about a TCP probe of ours.
    Unreachable {
        /// Who sent the error (the target or a router).
        from: IpAddr,
        /// The probe's destination.
        target: IpAddr,
        /// The probe's source port.
        sport: u16,
        /// The probe's destination port.
        dport: u16,
        /// The probe's sequence number.
        seq: u32,
        /// nmap's reason (`host-unreach`, `admin-prohibited`, …).
        reason: &'static str,
    },
    /// ICMP echo reply.
    Echo {
        /// The answering host.
        from: IpAddr,
        /// Identifier.
        id: u16,
    },
    /// ICMP timestamp reply.
    Timestamp {
        /// The answering host.
        from: IpAddr,
        /// Identifier.
        id: u16,
    },
    /// ICMPv6 neighbour advertisement: `target` is on the link.
    Neighbor {
        /// The advertised address.
        target: Ipv6Addr,
    },
}

impl Reply {
    /// Whether this answers a probe of ours, by its cookie.
    pub fn is_ours(&self, key: &CookieKey) -> bool {
        match *self {
            Reply::Tcp {
                from,
                sport,
                dport,
                seq,
                ack,
                flags,
            } => {
                if flags & TcpFlags::ACK != 0 {
                    // SYN-ACK or RST-ACK to a SYN: ack = cookie + 1.
                    key.cookie(from, sport, dport) == ack.wrapping_sub(1)
                } else if flags & TcpFlags::RST != 0 {
                    // RST to an ACK probe: seq = the probe's ack = cookie.
                    key.cookie(from, sport, dport) == seq
                } else {
                    false
                }
            }
            Reply::Unreachable {
                target,
                sport,
                dport,
                seq,
                ..
            } => key.cookie(target, dport, sport) == seq,
            Reply::Echo { from, id } | Reply::Timestamp { from, id } => icmp_id(key, from) == id,
            // Like ARP, neighbour discovery has no field for a cookie: the
            // advertised address must be a target (the caller checks).
            Reply::Neighbor { .. } => true,
        }
    }
}

/// The ICMP identifier of probes to `ip`.
pub fn icmp_id(key: &CookieKey, ip: IpAddr) -> u16 {
    (key.cookie(ip, 0, 0) >> 16) as u16
}

fn tcp_reply(from: IpAddr, segment: &[u8]) -> Option<Reply> {
    let tcp = TcpPacket::new(segment)?;
    Some(Reply::Tcp {
        from,
        sport: tcp.get_source(),
        dport: tcp.get_destination(),
        seq: tcp.get_sequence(),
        ack: tcp.get_acknowledgement(),
        flags: tcp.get_flags(),
    })
}

/// The first 8 bytes of a quoted TCP header: ports and sequence number.
fn quoted_tcp(b: &[u8]) -> Option<(u16, u16, u32)> {
    let sport = u16::from_be_bytes(b.get(0..2)?.try_into().ok()?);
    let dport = u16::from_be_bytes(b.get(2..4)?.try_into().ok()?);
    let seq = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
    Some((sport, dport, seq))
}

/// Parse a whole IPv4 packet (as a raw IPv4 socket reads it). `None` for
/// anything that is not a reply kind of ours or is malformed.
pub fn parse_ipv4(packet: &[u8]) -> Option<Reply> {
    let ip = Ipv4Packet::new(packet)?;
    let ihl = usize::from(ip.get_header_length()) * 4;
    if ip.get_version() != 4 || ihl < IPV4_HEADER {
        return None;
    }
    let total = usize::from(ip.get_total_length()).min(packet.len());
    let body = packet.get(ihl..total)?;
    let from = IpAddr::V4(ip.get_source());
    // Fragments other than the first carry no header of ours.
    if ip.get_fragment_offset() != 0 {
        return None;
    }
    match ip.get_next_level_protocol() {
        IpNextHeaderProtocols::Tcp => tcp_reply(from, body),
        IpNextHeaderProtocols::Icmp => {
            let (&kind, rest) = body.split_first()?;
            let code = *rest.first()?;
            let id = u16::from_be_bytes(body.get(4..6)?.try_into().ok()?);
            match kind {
                0 => Some(Reply::Echo { from, id }),
                14 => Some(Reply::Timestamp { from, id }),
                3 => {
                    let inner = body.get(8..)?;
                    let inner_ip = Ipv4Packet::new(inner)?;
                    let inner_ihl = usize::from(inner_ip.get_header_length()) * 4;
                    if inner_ip.get_version() != 4
                        || inner_ihl < IPV4_HEADER
                        || inner_ip.get_next_level_protocol() != IpNextHeaderProtocols::Tcp
                    {
                        return None;
                    }
                    let (sport, dport, seq) = quoted_tcp(inner.get(inner_ihl..)?)?;
                    Some(Reply::Unreachable {
                        from,
                        target: IpAddr::V4(inner_ip.get_destination()),
                        sport,
                        dport,
                        seq,
                        reason: unreach_reason_v4(code),
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Parse a TCP segment read from an IPv6 raw socket (no IPv6 header) sent
/// by `from`.
pub fn parse_ipv6_tcp(from: Ipv6Addr, segment: &[u8]) -> Option<Reply> {
    tcp_reply(IpAddr::V6(from), segment)
}

/// Parse an ICMPv6 message read from an IPv6 raw socket, sent by `from`.
pub fn parse_icmpv6(from: Ipv6Addr, msg: &[u8]) -> Option<Reply> {
    let kind = *msg.first()?;
    let code = *msg.get(1)?;
    let from_ip = IpAddr::V6(from);
    match kind {
        136 => {
            let target: [u8; 16] = msg.get(8..24)?.try_into().ok()?;
            Some(Reply::Neighbor {
                target: Ipv6Addr::from(target),
            })
        }
        129 => Some(Reply::Echo {
            from: from_ip,
            id: u16::from_be_bytes(msg.get(4..6)?.try_into().ok()?),
        }),
        1 => {
            // The quoted IPv6 header (40 bytes), then our TCP header (we
            // send no extension headers).
            let inner = msg.get(8..)?;
            if inner.first()? >> 4 != 6 || *inner.get(6)? != IpNextHeaderProtocols::Tcp.0 {
                return None;
            }
            let dst: [u8; 16] = inner.get(24..40)?.try_into().ok()?;
            let (sport, dport, seq) = quoted_tcp(inner.get(40..)?)?;
            Some(Reply::Unreachable {
                from: from_ip,
                target: IpAddr::V6(Ipv6Addr::from(dst)),
                sport,
                dport,
                seq,
                reason: unreach_reason_v6(code),
            })
        }
        _ => None,
    }
}

/// Parse a packet of any kind the receivers see: a whole IPv4 packet, or
/// an IPv6 header followed by TCP or ICMPv6 (as a packet socket gives it).
/// This is the fuzzed entry point.
pub fn parse_packet(packet: &[u8]) -> Option<Reply> {
    match packet.first()? >> 4 {
        4 => parse_ipv4(packet),
        6 => {
            let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let body = packet.get(40..)?;
            match *packet.get(6)? {
                6 => parse_ipv6_tcp(Ipv6Addr::from(src), body),
                58 => parse_icmpv6(Ipv6Addr::from(src), body),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The state a TCP reply to a SYN gives a port: SYN-ACK open, RST closed.
pub fn syn_reply_state(flags: u8) -> Option<(crate::PortState, &'static str)> {
    if flags & TcpFlags::RST != 0 {
        Some((crate::PortState::Closed, "reset"))
    } else if flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN | TcpFlags::ACK {
        Some((crate::PortState::Open, "syn-ack"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pnet::packet::Packet;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);

    /// The segment a target would send back to `probe`.
    fn answer(probe: &[u8], flags: u8) -> Vec<u8> {
        let p = Ipv4Packet::new(probe).unwrap();
        let t = TcpPacket::new(p.payload()).unwrap();
        let mut out = vec![0u8; IPV4_TCP_PROBE];
        write_ipv4_tcp(&mut out, TcpProbe::Syn, DST, SRC, 1, 1, 0).unwrap();
        let (_, tcp) = out.split_at_mut(IPV4_HEADER);
        let mut r = MutableTcpPacket::new(tcp).unwrap();
        r.set_source(t.get_destination());
        r.set_destination(t.get_source());
        r.set_sequence(0x1234_5678);
        r.set_acknowledgement(t.get_sequence().wrapping_add(1));
        r.set_flags(flags);
        out
    }

    #[test]
    fn syn_probe_is_well_formed() {
        let key = CookieKey([1, 2]);
        let cookie = key.cookie(DST.into(), 443, 40_000);
        let mut buf = [0u8; 64];
        let n = write_ipv4_tcp(&mut buf, TcpProbe::Syn, SRC, DST, 40_000, 443, cookie).unwrap();
        assert_eq!(n, IPV4_TCP_PROBE);
        let ip = Ipv4Packet::new(&buf[..n]).unwrap();
        assert_eq!(ip.get_destination(), DST);
        assert_eq!(pnet::packet::ipv4::checksum(&ip), ip.get_checksum());
        let tcp = TcpPacket::new(ip.payload()).unwrap();
        assert_eq!(tcp.get_flags(), TcpFlags::SYN);
        assert_eq!(tcp.get_sequence(), cookie);
        assert_eq!(tcp.get_destination(), 443);
        assert_eq!(
            pnet::packet::tcp::ipv4_checksum(&tcp, &SRC, &DST),
            tcp.get_checksum()
        );
        assert!(write_ipv4_tcp(&mut [0u8; 10], TcpProbe::Syn, SRC, DST, 1, 2, 3).is_none());
    }

    #[test]
    fn replies_match_their_probe_by_cookie_alone() {
        let key = CookieKey::random();
        let cookie = key.cookie(DST.into(), 22, 41_000);
        let mut probe = [0u8; IPV4_TCP_PROBE];
        write_ipv4_tcp(&mut probe, TcpProbe::Syn, SRC, DST, 41_000, 22, cookie).unwrap();
        let synack = parse_ipv4(&answer(&probe, TcpFlags::SYN | TcpFlags::ACK)).unwrap();
        assert!(synack.is_ours(&key));
        let Reply::Tcp { flags, sport, .. } = synack else {
            panic!("{synack:?}")
        };
        assert_eq!(sport, 22);
        assert_eq!(
            syn_reply_state(flags),
            Some((crate::PortState::Open, "syn-ack"))
        );
        let rst = parse_ipv4(&answer(&probe, TcpFlags::RST | TcpFlags::ACK)).unwrap();
        assert!(rst.is_ours(&key));
        let Reply::Tcp { flags, .. } = rst else {
            panic!()
        };
        assert_eq!(
            syn_reply_state(flags),
            Some((crate::PortState::Closed, "reset"))
        );
        // Another key (another scan) does not claim it.
        assert!(!synack.is_ours(&CookieKey([7, 8])));
        // Our own SYN seen on loopback is no answer.
        assert!(!parse_ipv4(&probe).unwrap().is_ours(&key));
    }

    #[test]
    fn ack_ping_reset_matches() {
        let key = CookieKey([3, 4]);
        let cookie = key.cookie(DST.into(), 80, 42_000);
        let mut probe = [0u8; IPV4_TCP_PROBE];
        write_ipv4_tcp(&mut probe, TcpProbe::Ack, SRC, DST, 42_000, 80, cookie).unwrap();
        // RST to an unexpected ACK: seq = the ACK's ack number, no ACK flag.
        let reply = Reply::Tcp {
            from: DST.into(),
            sport: 80,
            dport: 42_000,
            seq: cookie,
            ack: 0,
            flags: TcpFlags::RST,
        };
        assert!(reply.is_ours(&key));
    }

    #[test]
    fn icmp_unreachable_quotes_the_probe() {
        let key = CookieKey([5, 6]);
        let cookie = key.cookie(DST.into(), 9, 43_000);
        let mut probe = [0u8; IPV4_TCP_PROBE];
        write_ipv4_tcp(&mut probe, TcpProbe::Syn, SRC, DST, 43_000, 9, cookie).unwrap();
        // Router 10.77.1.254 says admin-prohibited, quoting header + 8 bytes.
        let mut pkt = vec![
            0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, 10, 77, 1, 254, 10, 77, 1, 1,
        ];
        pkt.extend_from_slice(&[3, 13, 0, 0, 0, 0, 0, 0]);
        pkt.extend_from_slice(&probe[..28]);
        let r = parse_ipv4(&pkt).unwrap();
        assert!(r.is_ours(&key));
        assert_eq!(
            r,
            Reply::Unreachable {
                from: Ipv4Addr::new(10, 77, 1, 254).into(),
                target: DST.into(),
                sport: 43_000,
                dport: 9,
                seq: cookie,
                reason: "admin-prohibited"
            }
        );
        // Truncated quotes are dropped, not misread.
        assert_eq!(parse_ipv4(&pkt[..pkt.len() - 5]), None);
    }

    #[test]
    fn icmp_and_arp_round_trip() {
        let key = CookieKey([9, 9]);
        let id = icmp_id(&key, DST.into());
        let mut b = [0u8; 32];
        let n = write_icmp4(&mut b, false, id, 1).unwrap();
        assert_eq!(
            pnet::packet::util::checksum(&b[..n], 1),
            u16::from_be_bytes([b[2], b[3]])
        );
        // The reply: the request with type 0 behind an IPv4 header.
        let mut pkt = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 77, 1, 2, 10, 77, 1, 1,
        ];
        pkt.extend_from_slice(&b[..n]);
        pkt[20] = 0;
        let r = parse_ipv4(&pkt).unwrap();
        assert_eq!(
            r,
            Reply::Echo {
                from: DST.into(),
                id
            }
        );
        assert!(r.is_ours(&key));
        let n = write_icmp4(&mut b, true, id, 1).unwrap();
        assert_eq!((n, b[0]), (ICMP_TIMESTAMP, 13));

        let mac = [2, 0, 0, 0, 0, 1];
        let mut f = [0u8; 64];
        write_arp_request(&mut f, mac, SRC, DST).unwrap();
        assert_eq!(parse_arp_reply(&f), None, "a request is no reply");
        f[21] = 2;
        f[28..32].copy_from_slice(&DST.octets());
        assert_eq!(parse_arp_reply(&f), Some((DST, mac)));
    }

    #[test]
    fn ipv6_probe_and_replies() {
        let (src, dst): (Ipv6Addr, Ipv6Addr) =
            ("fd77::1".parse().unwrap(), "fd77::2".parse().unwrap());
        let key = CookieKey([11, 12]);
        let cookie = key.cookie(dst.into(), 80, 44_000);
        let mut b = [0u8; TCP_HEADER];
        write_tcp(
            &mut b,
            TcpProbe::Syn,
            src.into(),
            dst.into(),
            44_000,
            80,
            cookie,
        )
        .unwrap();
        let t = TcpPacket::new(&b).unwrap();
        assert_eq!(
            pnet::packet::tcp::ipv6_checksum(&t, &src, &dst),
            t.get_checksum()
        );
        // Mixed families cannot be checksummed.
        assert!(write_tcp(&mut b, TcpProbe::Syn, SRC.into(), dst.into(), 1, 2, 3).is_none());
        let mut reply = b;
        reply[0..2].copy_from_slice(&80u16.to_be_bytes());
        reply[2..4].copy_from_slice(&44_000u16.to_be_bytes());
        reply[8..12].copy_from_slice(&cookie.wrapping_add(1).to_be_bytes());
        reply[13] = TcpFlags::SYN | TcpFlags::ACK;
        assert!(parse_ipv6_tcp(dst, &reply).unwrap().is_ours(&key));
        // ICMPv6 admin-prohibited quoting the probe.
        let mut m = vec![1, 1, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 24, 6, 64];
        m.extend_from_slice(&src.octets());
        m.extend_from_slice(&dst.octets());
        m.extend_from_slice(&b[..8]);
        let r = parse_icmpv6(dst, &m).unwrap();
        assert!(r.is_ours(&key));
        assert!(matches!(
            r,
            Reply::Unreachable {
                reason: "admin-prohibited",
                ..
            }
        ));
        // The same through the packet-level entry point.
        let mut whole = vec![0x60, 0, 0, 0, 0, m.len() as u8, 58, 64];
        whole.extend_from_slice(&dst.octets());
        whole.extend_from_slice(&src.octets());
        whole.extend_from_slice(&m);
        assert_eq!(parse_packet(&whole), Some(r));
    }

    #[test]
    fn neighbor_discovery_round_trip() {
        let t: Ipv6Addr = "fd77:1::2:3456".parse().unwrap();
        assert_eq!(
            solicited_node(t),
            "ff02::1:ff02:3456".parse::<Ipv6Addr>().unwrap()
        );
        let mut b = [0u8; 40];
        assert_eq!(
            write_neighbor_solicit(&mut b, t, [2, 0, 0, 0, 0, 9]),
            Some(ICMP6_NS)
        );
        // The advertisement: type 136, flags, the target.
        b[0] = 136;
        assert_eq!(
            parse_icmpv6(t, &b[..24]),
            Some(Reply::Neighbor { target: t })
        );
        assert_eq!(parse_icmpv6(t, &b[..20]), None);
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for len in 0..200 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x = mix(x);
                        x as u8
                    })
                    .collect();
                let mut v = bytes.clone();
                if let Some(b) = v.first_mut() {
                    *b = 0x45;
                }
                let _ = parse_packet(&bytes);
                let _ = parse_packet(&v);
                let _ = parse_icmpv6(Ipv6Addr::LOCALHOST, &bytes);
                let _ = parse_arp_reply(&bytes);
            }
        }
    }

    #[test]
    fn cookies_spread() {
        let key = CookieKey([1, 1]);
        let mut seen = std::collections::HashSet::new();
        for port in 0..5000u16 {
            seen.insert(key.cookie(DST.into(), port, 40_000));
        }
        assert!(seen.len() > 4990);
        assert_ne!(
            key.source_port(40_000, DST.into(), 1),
            key.source_port(40_000, DST.into(), 2)
        );
    }
}
