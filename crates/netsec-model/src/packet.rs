//! Packet views: a raw frame as read from a capture, and the decoded summary
//! of its headers that analysers consume.
//!
//! Both borrow or copy only a few words: no allocation per packet.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Data-link type of a capture interface, with the numbers of the tcpdump.org
/// LINKTYPE registry (<https://www.tcpdump.org/linktypes.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// BSD loopback: 4-byte address family in host byte order (LINKTYPE_NULL, 0).
    Null,
    /// IEEE 802.3 Ethernet (LINKTYPE_ETHERNET, 1).
    Ethernet,
    /// Raw IPv4 or IPv6, told apart by the version nibble (LINKTYPE_RAW, 101; DLT 12/14 on some systems).
    Raw,
    /// OpenBSD loopback: address family in network byte order (LINKTYPE_LOOP, 108).
    Loop,
    /// Linux "cooked" capture v1 (LINKTYPE_LINUX_SLL, 113).
    LinuxSll,
    /// Raw IPv4 (LINKTYPE_IPV4, 228).
    Ipv4,
    /// Raw IPv6 (LINKTYPE_IPV6, 229).
    Ipv6,
    /// Linux "cooked" capture v2 (LINKTYPE_LINUX_SLL2, 276).
    LinuxSll2,
    /// Any other link type, kept by number so it can be counted and reported.
    Other(u32),
}

impl LinkType {
    /// From a LINKTYPE_* number as found in pcap and pcapng headers.
    pub fn from_number(n: u32) -> Self {
        match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            // 12 and 14 are DLT_RAW on some BSDs; 101 is the portable LINKTYPE_RAW.
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The LINKTYPE_* number.
    pub fn number(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(n) => n,
        }
    }
}

/// One captured frame, borrowed from the reader's buffer.
///
/// It lives no longer than the buffer: copy out what must be kept.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Position of the packet in the input, counting from 1 as Wireshark does.
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link type of the interface the packet was captured on.
    pub link_type: LinkType,
    /// Index of that interface (pcapng IDB order; 0 for pcap and live capture).
    pub interface: u32,
    /// Length of the packet on the wire (may exceed `data.len()` when the capture was truncated by a snap length).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A 48-bit hardware address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The broadcast address ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// All zeroes, as in the target of an ARP request.
    pub const ZERO: MacAddr = MacAddr([0; 6]);
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let p = parts
                .next()
                .ok_or_else(|| format!("not a MAC address: {s:?}"))?;
            *byte = u8::from_str_radix(p, 16).map_err(|_| format!("not a MAC address: {s:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("not a MAC address: {s:?}"));
        }
        Ok(MacAddr(out))
    }
}

/// Transport protocol of a flow, by IP protocol number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP for IPv4 (1).
    Icmp,
    /// ICMP for IPv6 (58).
    Icmpv6,
    /// SCTP (132).
    Sctp,
    /// Any other IP protocol, by number.
    Other(u8),
}

impl Transport {
    /// From an IP protocol number (IANA "Assigned Internet Protocol Numbers").
    pub fn from_ip_proto(n: u8) -> Self {
        match n {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 => Transport::Icmp,
            58 => Transport::Icmpv6,
            132 => Transport::Sctp,
            other => Transport::Other(other),
        }
    }
    /// The IP protocol number.
    pub fn ip_proto(self) -> u8 {
        match self {
            Transport::Tcp => 6,
            Transport::Udp => 17,
            Transport::Icmp => 1,
            Transport::Icmpv6 => 58,
            Transport::Sctp => 132,
            Transport::Other(n) => n,
        }
    }
    /// Whether flows of this protocol carry port numbers.
    pub fn has_ports(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Udp | Transport::Sctp)
    }
    /// ECS `network.transport` value.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Icmp => "icmp",
            Transport::Icmpv6 => "ipv6-icmp",
            Transport::Sctp => "sctp",
            Transport::Other(_) => "other",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Other(n) => write!(f, "ip-proto-{n}"),
            t => f.write_str(t.name()),
        }
    }
}

/// The TCP flag bits of one segment, or the union of those seen on a flow.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN: no more data from sender.
    pub const FIN: u8 = 0x01;
    /// SYN: synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// RST: reset the connection.
    pub const RST: u8 = 0x04;
    /// PSH: push function.
    pub const PSH: u8 = 0x08;
    /// ACK: acknowledgment field significant.
    pub const ACK: u8 = 0x10;
    /// URG: urgent pointer field significant.
    pub const URG: u8 = 0x20;
    /// ECE: ECN echo.
    pub const ECE: u8 = 0x40;
    /// CWR: congestion window reduced.
    pub const CWR: u8 = 0x80;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// Whether the segment is a bare SYN (connection attempt).
    pub fn is_syn_only(self) -> bool {
        self.0 & (Self::SYN | Self::ACK | Self::RST | Self::FIN) == Self::SYN
    }
    /// Whether the segment is a SYN+ACK.
    pub fn is_syn_ack(self) -> bool {
        self.0 & (Self::SYN | Self::ACK | Self::RST) == Self::SYN | Self::ACK
    }
}

/// Zeek-like letters of the flags, most significant first.
const FLAG_LETTERS: [(u8, u8); 8] = [
    (TcpFlags::CWR, b'C'),
    (TcpFlags::ECE, b'E'),
    (TcpFlags::URG, b'U'),
    (TcpFlags::ACK, b'A'),
    (TcpFlags::PSH, b'P'),
    (TcpFlags::RST, b'R'),
    (TcpFlags::SYN, b'S'),
    (TcpFlags::FIN, b'F'),
];

impl TcpFlags {
    /// Append the letters `Display` writes (for log lines written by hand).
    pub(crate) fn push_letters(self, out: &mut Vec<u8>) {
        for (bit, c) in FLAG_LETTERS {
            if self.0 & bit != 0 {
                out.push(c);
            }
        }
    }
}

impl fmt::Display for TcpFlags {
    /// Zeek-like letters, most significant first: `CEUAPRSF` for the set bits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in FLAG_LETTERS {
            if self.0 & bit != 0 {
                fmt::Write::write_char(f, char::from(c))?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpFlags({self})")
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TcpFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut bits = 0u8;
        for c in s.chars() {
            bits |= match c {
                'C' => TcpFlags::CWR,
                'E' => TcpFlags::ECE,
                'U' => TcpFlags::URG,
                'A' => TcpFlags::ACK,
                'P' => TcpFlags::PSH,
                'R' => TcpFlags::RST,
                'S' => TcpFlags::SYN,
                'F' => TcpFlags::FIN,
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown TCP flag {other:?}"
                    )))
                }
            };
        }
        Ok(TcpFlags(bits))
    }
}

/// The network and transport headers of one packet, decoded once by
/// netsec-proto and handed to every analyser.
///
/// `Copy` and allocation-free: this is the hot-path view. Application-layer
/// content arrives separately as [`crate::event::AppEvent`]s.
#[derive(Debug, Clone, Copy)]
pub struct PacketInfo {
    /// Packet number in the input (from 1).
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Length on the wire.
    pub wire_len: u32,
    /// Source hardware address, when the link layer has one.
    pub src_mac: Option<MacAddr>,
    /// Destination hardware address, when the link layer has one.
    pub dst_mac: Option<MacAddr>,
    /// Outermost 802.1Q VLAN id, 0 when untagged.
    pub vlan: u16,
    /// EtherType of the network layer after VLAN tags (0x0800 IPv4, 0x86dd IPv6,
    /// 0x0806 ARP), also set for link types without Ethernet (raw IP, SLL, NULL).
    pub ether_type: u16,
    /// Network and transport layer, `None` for non-IP frames (ARP, LLDP, …).
    pub ip: Option<IpInfo>,
}

/// IP-layer view of a packet.
#[derive(Debug, Clone, Copy)]
pub struct IpInfo {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol (for IPv6, after extension headers).
    pub transport: Transport,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Total IP length (header plus payload) as the header states it.
    pub ip_len: u32,
    /// Whether this packet is a fragment (or a reassembled datagram).
    pub fragmented: bool,
    /// A whole datagram rebuilt from fragments (delivered with its last
    /// fragment); a fragment still waiting for the others has
    /// `fragmented` set and this clear, and no transport header decoded.
    pub reassembled: bool,
    /// Source port (TCP/UDP/SCTP), ICMP type for ICMP, else 0.
    pub src_port: u16,
    /// Destination port (TCP/UDP/SCTP), ICMP code for ICMP, else 0.
    pub dst_port: u16,
    /// TCP flags (empty for other protocols).
    pub tcp_flags: TcpFlags,
    /// TCP sequence number (0 for other protocols).
    pub tcp_seq: u32,
    /// TCP acknowledgement number (0 for other protocols).
    pub tcp_ack: u32,
    /// TCP window (0 for other protocols).
    pub tcp_window: u16,
    /// Transport payload length in bytes as captured.
    pub payload_len: u32,
}

impl IpInfo {
    /// Source as an endpoint.
    pub fn src_endpoint(&self) -> crate::flow::Endpoint {
        crate::flow::Endpoint::new(self.src, self.src_port)
    }
    /// Destination as an endpoint.
    pub fn dst_endpoint(&self) -> crate::flow::Endpoint {
        crate::flow::Endpoint::new(self.dst, self.dst_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_type_numbers_round_trip() {
        for n in [0, 1, 101, 108, 113, 228, 229, 276, 147] {
            assert_eq!(LinkType::from_number(n).number(), n);
        }
        assert_eq!(LinkType::from_number(12), LinkType::Raw);
    }

    #[test]
    fn tcp_flags_display_and_parse() {
        let f = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(f.to_string(), "AS");
        assert!(f.is_syn_ack());
        assert!(!f.is_syn_only());
        let json = serde_json::to_string(&f).unwrap_or_default();
        let back: TcpFlags = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, f);
    }

    #[test]
    fn mac_parse_and_display() {
        let m: MacAddr = "00:1b:21:AA:bb:0c".parse().unwrap_or_default();
        assert_eq!(m.to_string(), "00:1b:21:aa:bb:0c");
        assert!("00:11".parse::<MacAddr>().is_err());
        assert!("00:11:22:33:44:55:66".parse::<MacAddr>().is_err());
    }
}
