//! Zero-copy decoding of one captured frame, from the link layer down to the
//! transport payload.
//!
//! Link layers (Ethernet with 802.1Q/QinQ tags, Linux SLL and SLL2, BSD
//! NULL/LOOP, raw IP, IEEE 802.11 with or without a monitor-mode header,
//! NFLOG, Cisco HDLC, PPP) and the shims between them and IP (MPLS, PPPoE,
//! LLC/SNAP) are peeled here and in `encap`; IPv4, IPv6 (with extension
//! headers), TCP, UDP, ICMP and ICMPv6 are sliced by etherparse; GRE (with
//! ERSPAN and PPTP), VXLAN, Geneve, GTP-U, Teredo and IP-in-IP tunnels are
//! followed to the inner packet (flows are keyed on the innermost headers,
//! as Suricata and Zeek do). Nothing is copied: the payload is a slice of
//! the frame.

mod encap;

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{Icmpv4Slice, Icmpv6Slice, LaxIpSlice, TcpSlice, TransportSlice, UdpSlice};
use netsec_model::{
    ArpInfo, IpInfo, LinkType, MacAddr, PacketInfo, RawPacket, TcpFlags, Transport,
};

/// How many tunnel layers are followed before the packet is taken as is.
const MAX_TUNNEL_DEPTH: u8 = 3;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its link-layer header.
    #[error("frame shorter than its link-layer header")]
    TruncatedLink,
    /// A link type netsec does not decode.
    #[error("unsupported link type")]
    UnsupportedLinkType,
    /// An EtherType or address family with no decoder (LLDP, STP, …); not an error in the capture.
    #[error("non-IP frame")]
    NonIp,
    /// The IP header is malformed (bad version, length or checksum-irrelevant fields).
    #[error("malformed IP header")]
    MalformedIp,
    /// The ARP packet is malformed or not Ethernet/IPv4.
    #[error("malformed or non-IPv4 ARP")]
    MalformedArp,
}

impl DecodeError {
    /// Short stable name for counters.
    pub fn name(self) -> &'static str {
        match self {
            DecodeError::TruncatedLink => "truncated_link",
            DecodeError::UnsupportedLinkType => "unsupported_link_type",
            DecodeError::NonIp => "non_ip",
            DecodeError::MalformedIp => "malformed_ip",
            DecodeError::MalformedArp => "malformed_arp",
        }
    }
}

/// An IPv4 fragment, for the reassembler.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// IP identification (16 bits in IPv4, 32 in the IPv6 Fragment header).
    pub id: u32,
    /// Byte offset of this fragment in the datagram.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// IP protocol of the datagram.
    pub protocol: u8,
    /// This fragment's part of the IP payload.
    pub data: &'a [u8],
}

/// A decoded frame: the header view analysers consume, and the payload.
#[derive(Debug, Clone, Copy)]
pub struct DecodedPacket<'a> {
    /// Network and transport headers.
    pub info: PacketInfo,
    /// Transport payload (TCP/UDP/SCTP data, ICMP body); empty when none.
    pub payload: &'a [u8],
    /// The ARP packet, for ARP frames.
    pub arp: Option<ArpInfo>,
    /// Set for IPv4 and IPv6 fragments: the transport header may be absent
    /// and the datagram must be reassembled first.
    pub fragment: Option<Fragment<'a>>,
    /// Tunnel layers followed (GRE, VXLAN, IP-in-IP).
    pub tunnel_depth: u8,
    /// The fragment is an IPv6 one (counted apart from IPv4's).
    pub ipv6_fragment: bool,
    /// For a TCP segment with SYN set: `Some(Some(shift))` when it carries
    /// the window scale option (RFC 7323 §2.2), `Some(None)` when not;
    /// `None` for every other packet.
    pub tcp_wscale: Option<Option<u8>>,
}

impl DecodedPacket<'_> {
    /// Nothing decoded yet: the starting point for [`decode_into`].
    pub const EMPTY: DecodedPacket<'static> = DecodedPacket::empty();

    /// [`DecodedPacket::EMPTY`], built field by field where it is needed:
    /// the empty options are only their tags, where copying the constant
    /// moves all 200 bytes (once per packet on the hot path).
    #[inline(always)]
    pub const fn empty() -> DecodedPacket<'static> {
        DecodedPacket {
            info: PacketInfo {
                number: 0,
                ts: netsec_model::Timestamp::ZERO,
                wire_len: 0,
                src_mac: None,
                dst_mac: None,
                vlan: 0,
                ether_type: 0,
                ip: None,
            },
            payload: &[],
            arp: None,
            fragment: None,
            tunnel_depth: 0,
            ipv6_fragment: false,
            tcp_wscale: None,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn mac_at(b: &[u8], at: usize) -> Option<MacAddr> {
    let s: [u8; 6] = b.get(at..at + 6)?.try_into().ok()?;
    Some(MacAddr(s))
}

/// The link layer peeled off: EtherType of what follows, VLAN, MACs, and the rest.
struct Link<'a> {
    ether_type: u16,
    vlan: u16,
    src_mac: Option<MacAddr>,
    dst_mac: Option<MacAddr>,
    rest: &'a [u8],
}

fn ethernet(data: &[u8]) -> Result<Link<'_>, DecodeError> {
    let dst_mac = mac_at(data, 0).ok_or(DecodeError::TruncatedLink)?;
    let src_mac = mac_at(data, 6).ok_or(DecodeError::TruncatedLink)?;
    let mut et = be16(data, 12).ok_or(DecodeError::TruncatedLink)?;
    let mut off = 14;
    let mut vlan = 0;
    // 802.1Q / 802.1ad tags, outermost first; at most a few (QinQ and a spare).
    for _ in 0..4 {
        if !matches!(et, ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD) {
            break;
        }
        let tci = be16(data, off).ok_or(DecodeError::TruncatedLink)?;
        if vlan == 0 {
            vlan = tci & 0x0fff;
        }
        et = be16(data, off + 2).ok_or(DecodeError::TruncatedLink)?;
        off += 4;
    }
    Ok(Link {
        ether_type: et,
        vlan,
        src_mac: Some(src_mac),
        dst_mac: Some(dst_mac),
        rest: data.get(off..).unwrap_or(&[]),
    })
}

fn ip_version_ethertype(data: &[u8]) -> u16 {
    match data.first().map(|b| b >> 4) {
        Some(4) => ETHERTYPE_IPV4,
        Some(6) => ETHERTYPE_IPV6,
        _ => 0,
    }
}

fn link_layer<'a>(raw: &RawPacket<'a>) -> Result<Link<'a>, DecodeError> {
    let mut link = outer_link_layer(raw)?;
    if !matches!(
        link.ether_type,
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP
    ) {
        encap::peel_shims(&mut link);
    }
    Ok(link)
}

/// The link-layer header of `raw`'s link type, before any shim is peeled.
fn outer_link_layer<'a>(raw: &RawPacket<'a>) -> Result<Link<'a>, DecodeError> {
    let data = raw.data;
    let plain = |ether_type: u16, rest| Link {
        ether_type,
        vlan: 0,
        src_mac: None,
        dst_mac: None,
        rest,
    };
    match raw.link_type {
        LinkType::Ethernet => ethernet(data),
        LinkType::Raw => Ok(plain(ip_version_ethertype(data), data)),
        LinkType::Ipv4 => Ok(plain(ETHERTYPE_IPV4, data)),
        LinkType::Ipv6 => Ok(plain(ETHERTYPE_IPV6, data)),
        LinkType::Null | LinkType::Loop => {
            // 4-byte address family: host byte order for NULL, network order for LOOP.
            let b: [u8; 4] = data
                .get(0..4)
                .and_then(|s| s.try_into().ok())
                .ok_or(DecodeError::TruncatedLink)?;
            let family = if raw.link_type == LinkType::Loop {
                u32::from_be_bytes(b)
            } else {
                // Which host wrote it is unknown: a small value in either order is the family.
                let le = u32::from_le_bytes(b);
                if le < 0x1_0000 {
                    le
                } else {
                    u32::from_be_bytes(b)
                }
            };
            let rest = data.get(4..).unwrap_or(&[]);
            // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD),
            // 28 (FreeBSD), 30 (macOS) — the values libpcap's DLT_NULL docs list.
            match family {
                2 => Ok(plain(ETHERTYPE_IPV4, rest)),
                10 | 24 | 28 | 30 => Ok(plain(ETHERTYPE_IPV6, rest)),
                _ => Ok(plain(ip_version_ethertype(rest), rest)),
            }
        }
        LinkType::LinuxSll => {
            // 16 bytes: packet type, ARPHRD, address length, 8-byte address, protocol.
            let et = be16(data, 14).ok_or(DecodeError::TruncatedLink)?;
            let alen = be16(data, 4).unwrap_or(0);
            let src_mac = if alen == 6 { mac_at(data, 6) } else { None };
            Ok(Link {
                ether_type: et,
                vlan: 0,
                src_mac,
                dst_mac: None,
                rest: data.get(16..).unwrap_or(&[]),
            })
        }
        LinkType::LinuxSll2 => {
            // 20 bytes: protocol, reserved, interface index, ARPHRD, packet type,
            // address length, 8-byte address.
            let et = be16(data, 0).ok_or(DecodeError::TruncatedLink)?;
            if data.len() < 20 {
                return Err(DecodeError::TruncatedLink);
            }
            let alen = data.get(11).copied().unwrap_or(0);
            let src_mac = if alen == 6 { mac_at(data, 12) } else { None };
            Ok(Link {
                ether_type: et,
                vlan: 0,
                src_mac,
                dst_mac: None,
                rest: data.get(20..).unwrap_or(&[]),
            })
        }
        LinkType::Other(n) => {
            let link = match n {
                9 | 50 => encap::ppp_link(data, false),
                51 => encap::ppp_link(data, true),
                104 => encap::chdlc(data),
                105 => encap::ieee80211(data),
                119 => encap::prism(data),
                127 => encap::radiotap(data),
                163 => encap::avs(data),
                192 => encap::ppi(data),
                239 => encap::nflog(data),
                _ => return Err(DecodeError::UnsupportedLinkType),
            };
            // A frame of a supported link type that holds no IP (a beacon,
            // an encrypted 802.11 frame, PPP control) is non-IP, not broken.
            Ok(link.unwrap_or(Link {
                ether_type: 0,
                vlan: 0,
                src_mac: None,
                dst_mac: None,
                rest: &[],
            }))
        }
    }
}

fn arp(raw: &RawPacket<'_>, link: &Link<'_>) -> Result<ArpInfo, DecodeError> {
    let b = link.rest;
    // Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4 (RFC 826).
    if be16(b, 0) != Some(1) || be16(b, 2) != Some(ETHERTYPE_IPV4) {
        return Err(DecodeError::MalformedArp);
    }
    if b.get(4) != Some(&6) || b.get(5) != Some(&4) {
        return Err(DecodeError::MalformedArp);
    }
    let ip_at = |at: usize| -> Option<Ipv4Addr> {
        let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(s))
    };
    Ok(ArpInfo {
        ts: raw.ts,
        packet_number: raw.number,
        operation: be16(b, 6).ok_or(DecodeError::MalformedArp)?,
        sender_mac: mac_at(b, 8).ok_or(DecodeError::MalformedArp)?,
        sender_ip: ip_at(14).ok_or(DecodeError::MalformedArp)?,
        target_mac: mac_at(b, 18).ok_or(DecodeError::MalformedArp)?,
        target_ip: ip_at(24).ok_or(DecodeError::MalformedArp)?,
        eth_src: link.src_mac,
    })
}

/// Decode one frame.
pub fn decode<'a>(raw: &RawPacket<'a>) -> Result<DecodedPacket<'a>, DecodeError> {
    let mut out = DecodedPacket::EMPTY;
    decode_into(raw, &mut out)?;
    Ok(out)
}

/// [`decode`] into a packet the caller owns: the engine's hot path, where
/// building the 200-byte result in place saves a copy per packet. On error
/// `out` holds whatever was decoded before the failure.
pub fn decode_into<'a>(
    raw: &RawPacket<'a>,
    out: &mut DecodedPacket<'a>,
) -> Result<(), DecodeError> {
    let link = link_layer(raw)?;
    out.info = PacketInfo {
        number: raw.number,
        ts: raw.ts,
        wire_len: raw.orig_len.max(raw.data.len() as u32),
        src_mac: link.src_mac,
        dst_mac: link.dst_mac,
        vlan: link.vlan,
        ether_type: link.ether_type,
        ip: None,
    };
    out.payload = &[];
    out.arp = None;
    out.fragment = None;
    out.tunnel_depth = 0;
    out.ipv6_fragment = false;
    out.tcp_wscale = None;
    match link.ether_type {
        ETHERTYPE_ARP => {
            out.arp = Some(arp(raw, &link)?);
            Ok(())
        }
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => decode_ip(link.ether_type, link.rest, out, 0),
        _ => Err(DecodeError::NonIp),
    }
}

/// Decode an IP packet (and any tunnel inside it) into `out`.
fn decode_ip<'a>(
    ether_type: u16,
    bytes: &'a [u8],
    out: &mut DecodedPacket<'a>,
    depth: u8,
) -> Result<(), DecodeError> {
    // The IP layer, then the transport header sliced directly: the same
    // rules as etherparse's `LaxSlicedPacket` (no transport for fragments or
    // after a broken extension header) without building and moving its
    // whole-packet struct on every packet.
    let (ip_slice, ext_error) =
        LaxIpSlice::from_slice(bytes).map_err(|_| DecodeError::MalformedIp)?;
    // The version nibble must agree with the EtherType that announced it.
    let version_agrees = match &ip_slice {
        LaxIpSlice::Ipv4(_) => ether_type == ETHERTYPE_IPV4,
        LaxIpSlice::Ipv6(_) => ether_type == ETHERTYPE_IPV6,
    };
    if !version_agrees {
        return Err(DecodeError::MalformedIp);
    }
    let (src, dst, ttl, ip_len, proto, ip_payload, fragmented) = match &ip_slice {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let p = v4.payload();
            if p.fragmented {
                out.fragment = Some(Fragment {
                    id: u32::from(h.identification()),
                    offset: u32::from(h.fragments_offset().value()) * 8,
                    more: h.more_fragments(),
                    protocol: h.protocol().0,
                    data: p.payload,
                });
            }
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.ttl(),
                u32::from(h.total_len()),
                p.ip_number.0,
                p.payload,
                p.fragmented,
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let p = v6.payload();
            if p.fragmented {
                out.ipv6_fragment = true;
                // The Fragment extension header says where this piece goes;
                // the protocol is the one after it (RFC 8200 §4.5).
                let header = v6
                    .extensions()
                    .clone()
                    .into_iter()
                    .find_map(|ext| match ext {
                        etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f),
                        _ => None,
                    });
                if let Some(f) = header {
                    out.fragment = Some(Fragment {
                        id: f.identification(),
                        offset: u32::from(f.fragment_offset().value()) * 8,
                        more: f.more_fragments(),
                        protocol: p.ip_number.0,
                        data: p.payload,
                    });
                }
            }
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.hop_limit(),
                u32::from(h.payload_length()) + 40,
                p.ip_number.0,
                p.payload,
                p.fragmented,
            )
        }
    };
    let transport = if fragmented || ext_error.is_some() {
        None
    } else {
        slice_transport(proto, ip_payload)
    };
    let mut ip = IpInfo {
        src,
        dst,
        transport: Transport::from_ip_proto(proto),
        ttl,
        ip_len,
        fragmented,
        reassembled: false,
        src_port: 0,
        dst_port: 0,
        tcp_flags: TcpFlags::default(),
        tcp_seq: 0,
        tcp_ack: 0,
        tcp_window: 0,
        payload_len: 0,
    };
    if depth < MAX_TUNNEL_DEPTH && !fragmented {
        // IP-in-IP (RFC 2003) and IPv6-in-IP (RFC 4213): follow the inner packet.
        let inner_et = match proto {
            4 => Some(ETHERTYPE_IPV4),
            41 => Some(ETHERTYPE_IPV6),
            _ => None,
        };
        let inner = match (proto, inner_et) {
            (47, _) => encap::gre_inner(ip_payload),
            (_, Some(et)) => Some((et, ip_payload)),
            _ => None,
        };
        if let Some((et, inner)) = inner {
            if let Some(()) = follow_tunnel(et, inner, out, depth) {
                return Ok(());
            }
        }
    }
    let mut payload: &[u8] = &[];
    match &transport {
        Some(TransportSlice::Tcp(t)) => {
            ip.src_port = t.source_port();
            ip.dst_port = t.destination_port();
            ip.tcp_seq = t.sequence_number();
            ip.tcp_ack = t.acknowledgment_number();
            ip.tcp_window = t.window_size();
            ip.tcp_flags = TcpFlags(t.header_slice().get(13).copied().unwrap_or(0));
            payload = t.payload();
            if ip.tcp_flags.has(TcpFlags::SYN) {
                out.tcp_wscale = Some(window_scale(t));
            }
        }
        Some(TransportSlice::Udp(u)) => {
            ip.src_port = u.source_port();
            ip.dst_port = u.destination_port();
            payload = u.payload();
            if depth < MAX_TUNNEL_DEPTH {
                // VXLAN, Geneve, GTP-U, Teredo, GRE in UDP.
                if let Some((et, inner)) = encap::udp_inner(ip.src_port, ip.dst_port, payload) {
                    if follow_tunnel(et, inner, out, depth).is_some() {
                        return Ok(());
                    }
                }
            }
        }
        Some(TransportSlice::Icmpv4(i)) => {
            let b = i.slice();
            ip.src_port = u16::from(b.first().copied().unwrap_or(0));
            ip.dst_port = u16::from(b.get(1).copied().unwrap_or(0));
            payload = i.payload();
        }
        Some(TransportSlice::Icmpv6(i)) => {
            let b = i.slice();
            ip.src_port = u16::from(b.first().copied().unwrap_or(0));
            ip.dst_port = u16::from(b.get(1).copied().unwrap_or(0));
            payload = i.payload();
        }
        _ if !fragmented => match ip.transport {
            // Whatever etherparse left unparsed (a short TCP/UDP header, SCTP):
            // take the ports from the first four bytes when they are there.
            Transport::Sctp => {
                ip.src_port = be16(ip_payload, 0).unwrap_or(0);
                ip.dst_port = be16(ip_payload, 2).unwrap_or(0);
                payload = ip_payload.get(12..).unwrap_or(&[]);
            }
            Transport::Icmp | Transport::Icmpv6 => {
                ip.src_port = u16::from(ip_payload.first().copied().unwrap_or(0));
                ip.dst_port = u16::from(ip_payload.get(1).copied().unwrap_or(0));
            }
            _ => {}
        },
        _ => {}
    }
    ip.payload_len = payload.len() as u32;
    out.info.ip = Some(ip);
    out.payload = payload;
    Ok(())
}

/// The window scale option of a SYN, if it carries one (RFC 7323 §2.2):
/// a plain walk over the option bytes, as SYNs are frequent (scans).
fn window_scale(t: &TcpSlice<'_>) -> Option<u8> {
    let options = t.header_slice().get(20..)?;
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        match kind {
            0 => return None,
            1 => i += 1,
            3 => return options.get(i + 2).copied(),
            _ => i += usize::from(*options.get(i + 1)?).max(2),
        }
    }
    None
}

/// The transport header of an unfragmented IP payload, as etherparse's lax
/// slicing reads it (UDP's length field may be shorter than the payload).
fn slice_transport(proto: u8, payload: &[u8]) -> Option<TransportSlice<'_>> {
    match proto {
        6 => TcpSlice::from_slice(payload).ok().map(TransportSlice::Tcp),
        17 => UdpSlice::from_slice_lax(payload)
            .ok()
            .map(TransportSlice::Udp),
        1 => Icmpv4Slice::from_slice(payload)
            .ok()
            .map(TransportSlice::Icmpv4),
        58 => Icmpv6Slice::from_slice(payload)
            .ok()
            .map(TransportSlice::Icmpv6),
        _ => None,
    }
}

/// Decode the inner packet of a tunnel in place of the outer one. The outer
/// EtherType stays in `info.ether_type`, so network-layer counts follow the
/// outermost header as tshark's do.
fn follow_tunnel<'a>(
    ether_type: u16,
    inner: &'a [u8],
    out: &mut DecodedPacket<'a>,
    depth: u8,
) -> Option<()> {
    let saved = (out.info.ip, out.payload, out.fragment);
    out.fragment = None;
    match decode_ip(ether_type, inner, out, depth + 1) {
        Ok(()) => {
            out.tunnel_depth = out.tunnel_depth.max(depth + 1);
            Some(())
        }
        Err(_) => {
            (out.info.ip, out.payload, out.fragment) = saved;
            None
        }
    }
}

/// The packet inside a tunnel carried by a reassembled datagram (GTP-U,
/// VXLAN and the other UDP tunnels, GRE, IP in IP), decoded in place of it
/// as [`decode_into`] does for whole packets: `outer` is the datagram's
/// packet view, `protocol` its IP protocol, `ip` its header as
/// [`transport_of_datagram`] filled it and `payload` what follows. `None`
/// when no tunnel is there, its inner packet does not decode, or the
/// inner packet is itself a fragment.
pub fn decode_datagram_tunnel<'a>(
    outer: &PacketInfo,
    protocol: u8,
    ip: &IpInfo,
    payload: &'a [u8],
) -> Option<DecodedPacket<'a>> {
    let (ether_type, inner) = match protocol {
        17 => encap::udp_inner(ip.src_port, ip.dst_port, payload)?,
        47 => encap::gre_inner(payload)?,
        4 => (ETHERTYPE_IPV4, payload),
        41 => (ETHERTYPE_IPV6, payload),
        _ => return None,
    };
    let mut out = DecodedPacket::empty();
    out.info = PacketInfo { ip: None, ..*outer };
    decode_ip(ether_type, inner, &mut out, 1).ok()?;
    if out.fragment.is_some() || out.info.ip.is_none() {
        return None;
    }
    out.tunnel_depth = out.tunnel_depth.max(1);
    Some(out)
}

/// The transport header of a reassembled datagram (IPv4 or IPv6): ports, flags and
/// payload, given the datagram's protocol and bytes.
pub fn transport_of_datagram(
    protocol: u8,
    bytes: &[u8],
    ip: &mut IpInfo,
) -> Option<std::ops::Range<usize>> {
    ip.fragmented = true;
    ip.reassembled = true;
    match protocol {
        6 => {
            let t = etherparse::TcpSlice::from_slice(bytes).ok()?;
            ip.src_port = t.source_port();
            ip.dst_port = t.destination_port();
            ip.tcp_seq = t.sequence_number();
            ip.tcp_ack = t.acknowledgment_number();
            ip.tcp_window = t.window_size();
            ip.tcp_flags = TcpFlags(t.header_slice().get(13).copied().unwrap_or(0));
            let start = t.header_slice().len();
            ip.payload_len = (bytes.len() - start) as u32;
            Some(start..bytes.len())
        }
        17 => {
            let u = etherparse::UdpSlice::from_slice_lax(bytes).ok()?;
            ip.src_port = u.source_port();
            ip.dst_port = u.destination_port();
            let start = 8.min(bytes.len());
            let end = (start + u.payload().len()).min(bytes.len());
            ip.payload_len = (end - start) as u32;
            Some(start..end)
        }
        1 | 58 => {
            ip.src_port = u16::from(*bytes.first()?);
            ip.dst_port = u16::from(*bytes.get(1)?);
            let start = 8.min(bytes.len());
            ip.payload_len = (bytes.len() - start) as u32;
            Some(start..bytes.len())
        }
        _ => {
            ip.payload_len = bytes.len() as u32;
            Some(0..bytes.len())
        }
    }
}

/// Which of several engines sharing a run analyses a packet
/// ([`shard_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardClass {
    /// The packet belongs to the engine whose share holds this hash. Both
    /// directions of a flow hash alike.
    Flow(u64),
    /// An IP fragment (offset or more-fragments set): its flow is not known
    /// until the datagram is whole, so every engine is given it
    /// ([`crate::Engine::process_shared_fragment`]).
    Fragment,
}

/// One engine's part of a run shared among `of` engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// This engine's number, from 0.
    pub index: u64,
    /// How many engines share the run.
    pub of: u64,
}

impl Share {
    /// Whether a packet or datagram of shard hash `hash` is this engine's.
    pub fn owns(&self, hash: u64) -> bool {
        self.of <= 1 || hash % self.of == self.index
    }
}

/// UDP ports the decoder may find a tunnel on (`encap::udp_inner`): a
/// packet to or from one is fully decoded to find its flow.
const TUNNEL_UDP_PORTS: [u16; 6] = [4789, 6081, 2152, 3544, 4754, 5072];

/// IPv6 extension headers walked to find a fragment header or the
/// transport ports (those etherparse's lax slicing walks).
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AUTH: u8 = 51;
const IPV6_DEST_OPTIONS: u8 = 60;
const IPV6_MOBILITY: u8 = 135;
const IPV6_HIP: u8 = 139;
const IPV6_SHIM6: u8 = 140;

/// Where `raw` goes when several engines share a run: the hash of the flow
/// the engine will put it in ([`flow_shard_hash`] of its flow key), or
/// [`ShardClass::Fragment`]. A plain TCP, UDP or ICMP packet is read from
/// its outer headers without a full decode; anything else (tunnels, whose
/// flow is the inner packet's; unusual IPv6 extension headers) is decoded
/// as the engine decodes it. So TCP and UDP flows spread over every engine
/// by 5-tuple, even between two busy hosts, and a flow seen both inside
/// and outside a tunnel stays one flow.
pub fn shard_class(raw: &RawPacket<'_>) -> ShardClass {
    match quick_shard_class(raw) {
        Some(class) => class,
        None => decoded_shard_class(raw),
    }
}

/// [`shard_class`] from the outer headers alone; `None` when only a full
/// decode can tell (anything but well-formed plain TCP, UDP and ICMP).
fn quick_shard_class(raw: &RawPacket<'_>) -> Option<ShardClass> {
    let link = link_layer(raw).ok()?;
    let (src, dst, protocol, transport, b): (&[u8], &[u8], u8, usize, &[u8]) = match link.ether_type
    {
        ETHERTYPE_IPV4 => {
            let b = link.rest;
            if be16(b, 6)? & 0x3fff != 0 {
                return Some(ShardClass::Fragment);
            }
            let header = usize::from(b.first()? & 0x0f) * 4;
            let total = usize::from(be16(b, 2)?);
            if b.first()? >> 4 != 4 || header < 20 || total < header {
                return None;
            }
            // Within the datagram's length, as the decoder reads it.
            let b = b.get(..total)?;
            (b.get(12..16)?, b.get(16..20)?, *b.get(9)?, header, b)
        }
        ETHERTYPE_IPV6 => {
            let b = link.rest;
            let payload = usize::from(be16(b, 4)?);
            if b.first()? >> 4 != 6 || payload == 0 {
                return None;
            }
            let b = b.get(..40 + payload)?;
            let mut next = *b.get(6)?;
            let mut at = 40usize;
            loop {
                let len = match next {
                    IPV6_FRAGMENT => {
                        if be16(b, at + 2)? & 0xfff9 != 0 {
                            return Some(ShardClass::Fragment);
                        }
                        8
                    }
                    IPV6_AUTH => (usize::from(*b.get(at + 1)?) + 2) * 4,
                    IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DEST_OPTIONS | IPV6_MOBILITY
                    | IPV6_HIP | IPV6_SHIM6 => (usize::from(*b.get(at + 1)?) + 1) * 8,
                    _ => break,
                };
                next = *b.get(at)?;
                at += len;
            }
            (b.get(8..24)?, b.get(24..40)?, next, at, b)
        }
        _ => return None,
    };
    let ports = match protocol {
        6 => {
            // The whole header, options included, as the decoder needs it.
            let header = usize::from(b.get(transport + 12)? >> 4) * 4;
            if header < 20 || b.len() < transport + header {
                return None;
            }
            Some((be16(b, transport)?, be16(b, transport + 2)?))
        }
        17 => {
            b.get(transport + 7)?;
            let ports = (be16(b, transport)?, be16(b, transport + 2)?);
            if TUNNEL_UDP_PORTS.contains(&ports.0) || TUNNEL_UDP_PORTS.contains(&ports.1) {
                return None;
            }
            Some(ports)
        }
        1 | 58 => None,
        _ => return None,
    };
    Some(ShardClass::Flow(hash_endpoints(link.vlan, src, dst, ports)))
}

/// [`shard_class`] by a full decode, as the engine decodes.
fn decoded_shard_class(raw: &RawPacket<'_>) -> ShardClass {
    let mut decoded = DecodedPacket::empty();
    if decode_into(raw, &mut decoded).is_err() {
        return ShardClass::Flow(0);
    }
    if decoded.fragment.is_some() {
        return ShardClass::Fragment;
    }
    match &decoded.info.ip {
        Some(ip) => ShardClass::Flow(flow_shard_hash(decoded.info.vlan, ip)),
        None => ShardClass::Flow(0),
    }
}

/// The shard hash of the flow a decoded (or reassembled) packet belongs
/// to: its VLAN, address pair and, for TCP and UDP, port pair, the same
/// both ways. [`shard_class`] gives it for whole packets; the engine uses
/// it for a reassembled datagram.
pub fn flow_shard_hash(vlan: u16, ip: &IpInfo) -> u64 {
    let ports = match ip.transport {
        Transport::Tcp | Transport::Udp => Some((ip.src_port, ip.dst_port)),
        _ => None,
    };
    match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => hash_endpoints(vlan, &s.octets(), &d.octets(), ports),
        (IpAddr::V6(s), IpAddr::V6(d)) => hash_endpoints(vlan, &s.octets(), &d.octets(), ports),
        _ => 0,
    }
}

/// Symmetric hash of a VLAN, an address pair and a port pair: the same for
/// both directions. Addresses as integers (big-endian, so ordered as their
/// bytes), FNV-1a steps over 64-bit words (stable across runs and
/// machines), then mixed: the shard is `hash % engines`, which needs good
/// low bits. Every packet of a run is hashed by every engine: a few dozen
/// instructions.
fn hash_endpoints(vlan: u16, a: &[u8], b: &[u8], ports: Option<(u16, u16)>) -> u64 {
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let (pa, pb) = ports.unwrap_or((0, 0));
    let (a, b) = (address_value(a), address_value(b));
    let ((lo, plo), (hi, phi)) = if (a, pa) <= (b, pb) {
        ((a, pa), (b, pb))
    } else {
        ((b, pb), (a, pa))
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(vlan);
    for word in [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64] {
        h = (h ^ word).wrapping_mul(FNV_PRIME);
    }
    if ports.is_some() {
        let word = u64::from(plo) | (u64::from(phi) << 16) | (1 << 32);
        h = (h ^ word).wrapping_mul(FNV_PRIME);
    }
    netsec_model::flow::mix64(h)
}

/// An IPv4 or IPv6 address's bytes as one big-endian integer.
fn address_value(bytes: &[u8]) -> u128 {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return u128::from(u32::from_be_bytes(v4));
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return u128::from_be_bytes(v6);
    }
    bytes
        .iter()
        .fold(0u128, |value, &byte| (value << 8) | u128::from(byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Timestamp;

    fn raw(link_type: LinkType, data: &[u8]) -> RawPacket<'_> {
        RawPacket {
            number: 1,
            ts: Timestamp::ZERO,
            link_type,
            interface: 0,
            orig_len: data.len() as u32,
            data,
        }
    }

    fn tcp_frame(vlan: Option<u16>) -> Vec<u8> {
        let builder =
            etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]);
        let mut out = Vec::new();
        match vlan {
            Some(id) => builder
                .single_vlan(etherparse::VlanId::try_new(id).unwrap())
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(40000, 80, 1000, 65535)
                .syn()
                .write(&mut out, b"hello")
                .unwrap(),
            None => builder
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(40000, 80, 1000, 65535)
                .syn()
                .write(&mut out, b"hello")
                .unwrap(),
        }
        out
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let f = tcp_frame(None);
        let d = decode(&raw(LinkType::Ethernet, &f)).unwrap();
        let ip = d.info.ip.unwrap();
        assert_eq!(ip.src, IpAddr::from([10, 0, 0, 1]));
        assert_eq!((ip.src_port, ip.dst_port), (40000, 80));
        assert_eq!(ip.transport, Transport::Tcp);
        assert!(ip.tcp_flags.is_syn_only());
        assert_eq!(d.payload, b"hello");
        assert_eq!(d.info.src_mac, Some(MacAddr([1, 2, 3, 4, 5, 6])));
    }

    #[test]
    fn vlan_tag_is_read() {
        let f = tcp_frame(Some(42));
        let d = decode(&raw(LinkType::Ethernet, &f)).unwrap();
        assert_eq!(d.info.vlan, 42);
        assert_eq!(d.info.ether_type, ETHERTYPE_IPV4);
    }

    #[test]
    fn raw_null_and_sll_link_types() {
        let f = tcp_frame(None);
        let ip_bytes = &f[14..];
        for (lt, prefix) in [
            (LinkType::Raw, vec![]),
            (LinkType::Ipv4, vec![]),
            (LinkType::Null, 2u32.to_le_bytes().to_vec()),
            (LinkType::Loop, 2u32.to_be_bytes().to_vec()),
            (
                LinkType::LinuxSll,
                vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00],
            ),
            (
                LinkType::LinuxSll2,
                vec![
                    0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
                ],
            ),
        ] {
            let mut frame = prefix.clone();
            frame.extend_from_slice(ip_bytes);
            let d = decode(&raw(lt, &frame)).unwrap_or_else(|e| panic!("{lt:?}: {e}"));
            assert_eq!(d.info.ip.unwrap().dst_port, 80, "{lt:?}");
            assert_eq!(d.payload, b"hello", "{lt:?}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678u32;
        for len in 0..200 {
            let mut buf = vec![0u8; len];
            for b in buf.iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            for lt in [
                LinkType::Ethernet,
                LinkType::Raw,
                LinkType::LinuxSll,
                LinkType::LinuxSll2,
                LinkType::Null,
                LinkType::Other(9),
                LinkType::Other(51),
                LinkType::Other(104),
                LinkType::Other(105),
                LinkType::Other(119),
                LinkType::Other(127),
                LinkType::Other(163),
                LinkType::Other(192),
                LinkType::Other(239),
            ] {
                let _ = decode(&raw(lt, &buf));
                let _ = shard_class(&raw(lt, &buf));
            }
        }
    }

    fn flow_hash(frame: &[u8]) -> u64 {
        match shard_class(&raw(LinkType::Ethernet, frame)) {
            ShardClass::Flow(h) => h,
            ShardClass::Fragment => panic!("not a fragment"),
        }
    }

    fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut f = Vec::new();
        etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
            .ipv4(src, dst, 64)
            .udp(sport, dport)
            .write(&mut f, b"")
            .unwrap();
        f
    }

    fn assert_spread(hashes: impl Iterator<Item = u64> + Clone, total: u32) {
        for shards in [2u64, 3, 4, 7] {
            let mut counts = vec![0u32; shards as usize];
            for h in hashes.clone() {
                counts[(h % shards) as usize] += 1;
            }
            let fair = total / shards as u32;
            for c in &counts {
                assert!(*c > fair * 6 / 10, "{shards} shards: {counts:?}");
            }
        }
    }

    #[test]
    fn address_pairs_spread_over_shards() {
        // 10.x.y.10 <-> 10.x.y.20 for 400 pairs: the XOR of the addresses'
        // low bits is the same for every pair (plain FNV-1a put them all in
        // one of two shards).
        let frames: Vec<Vec<u8>> = (0..400u32)
            .map(|i| {
                let (x, y) = ((i / 256) as u8, (i % 256) as u8);
                udp_frame([10, x, y, 10], [10, x, y, 20], 5353, 5353)
            })
            .collect();
        assert_spread(frames.iter().map(|f| flow_hash(f)), 400);
    }

    #[test]
    fn the_flows_of_one_address_pair_spread_over_shards() {
        // Two lab hosts: their connections must not all land on one engine.
        let frames: Vec<Vec<u8>> = (0..400u16)
            .map(|i| udp_frame([10, 0, 0, 10], [10, 0, 0, 20], 40000 + i, 53))
            .collect();
        assert_spread(frames.iter().map(|f| flow_hash(f)), 400);
    }

    #[test]
    fn shard_class_is_symmetric() {
        let a = tcp_frame(None);
        let mut b = Vec::new();
        etherparse::PacketBuilder::ethernet2([7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(80, 40000, 1, 65535)
            .write(&mut b, b"")
            .unwrap();
        assert_eq!(flow_hash(&a), flow_hash(&b));
        assert_ne!(flow_hash(&a), 0);
        // Same address both ways: the ports decide the order.
        let c = udp_frame([10, 0, 0, 1], [10, 0, 0, 1], 1000, 2000);
        let d = udp_frame([10, 0, 0, 1], [10, 0, 0, 1], 2000, 1000);
        assert_eq!(flow_hash(&c), flow_hash(&d));
    }

    #[test]
    fn a_tunnel_shards_by_its_inner_flow() {
        // The same inner UDP flow plain and inside VXLAN (whose outer source
        // port varies per inner flow): one flow, one shard. ICMP shards by
        // its address pair.
        let inner = udp_frame([192, 0, 2, 10], [198, 51, 100, 53], 40000, 53);
        let mut vxlan_payload = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
        vxlan_payload.extend_from_slice(&inner);
        let mut outer = Vec::new();
        etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(49152, 4789)
            .write(&mut outer, &vxlan_payload)
            .unwrap();
        assert_eq!(flow_hash(&outer), flow_hash(&inner));
        let mut icmp = Vec::new();
        etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
            .ipv4([192, 0, 2, 10], [198, 51, 100, 53], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut icmp, b"")
            .unwrap();
        let d = decode(&raw(LinkType::Ethernet, &icmp)).unwrap();
        let ip = d.info.ip.unwrap();
        assert_eq!(flow_hash(&icmp), flow_shard_hash(0, &ip));
    }

    #[test]
    fn fragments_go_to_every_shard_and_the_datagram_to_its_flows() {
        // A UDP datagram cut in two: both pieces are fragments; reassembled,
        // it hashes as an unfragmented packet of its flow does.
        let whole = udp_frame([10, 0, 0, 1], [10, 0, 0, 2], 5000, 53);
        let mut first = whole.clone();
        first[14 + 6] = 0x20; // more fragments
        let mut last = whole.clone();
        last[14 + 6] = 0x00;
        last[14 + 7] = 0x01; // offset 8 bytes
        for f in [&first, &last] {
            assert_eq!(
                shard_class(&raw(LinkType::Ethernet, f)),
                ShardClass::Fragment
            );
        }
        let d = decode(&raw(LinkType::Ethernet, &whole)).unwrap();
        let ip = d.info.ip.unwrap();
        assert_eq!(flow_shard_hash(0, &ip), flow_hash(&whole));
        // Don't-fragment alone is no fragment.
        let mut df = whole.clone();
        df[14 + 6] = 0x40;
        assert_eq!(flow_hash(&df), flow_hash(&whole));
    }

    #[test]
    fn ipv6_fragment_headers_are_found_behind_extension_headers() {
        // Ethernet, IPv6 with hop-by-hop options then a fragment header.
        let mut f = vec![0u8; 14 + 40 + 8 + 8 + 8];
        f[12] = 0x86;
        f[13] = 0xdd;
        f[14] = 0x60;
        f[14 + 5] = 24; // payload length
        f[14 + 6] = IPV6_HOP_BY_HOP;
        f[14 + 23] = 1;
        f[14 + 39] = 2;
        f[54] = IPV6_FRAGMENT; // hop-by-hop: next header, length 0 (8 bytes)
        f[62] = 17; // fragment header: next header UDP
        f[65] = 1; // more fragments, offset 0
        assert_eq!(
            shard_class(&raw(LinkType::Ethernet, &f)),
            ShardClass::Fragment
        );
        // An atomic fragment (offset 0, no more) is a whole packet: its UDP
        // ports count.
        f[65] = 0;
        f[70..72].copy_from_slice(&5000u16.to_be_bytes());
        f[72..74].copy_from_slice(&53u16.to_be_bytes());
        let atomic = flow_hash(&f);
        f[70..72].copy_from_slice(&5001u16.to_be_bytes());
        assert_ne!(flow_hash(&f), atomic);
    }
}
