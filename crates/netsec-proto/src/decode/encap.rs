//! Encapsulations between the link layer and IP, and tunnels inside IP.
//!
//! Link-layer shims peeled before IP: MPLS label stacks (RFC 3032) with IP
//! or an Ethernet pseudowire (RFC 4448, with or without control word)
//! under them, PPPoE sessions (RFC 2516), IEEE 802.2 LLC with SNAP, and the
//! link types that carry them: IEEE 802.11 data frames (LINKTYPE 105),
//! behind radiotap (127), Prism (119), AVS (163) or PPI (192) monitor-mode
//! headers, Linux NFLOG (239), Cisco HDLC (104) and PPP (9, 50, 51).
//!
//! Tunnels followed from an outer IP packet: GRE (RFC 2784/2890) carrying
//! IP, transparent Ethernet bridging, MPLS, ERSPAN type I, II and III,
//! PPTP's enhanced GRE (RFC 2637) with PPP, and Aruba access points' 802.11
//! frames (protocols 0x8200–0x8220, as Wireshark reads them); GRE in UDP (RFC 8086, port
//! 4754), VXLAN (RFC 7348, 4789), Geneve (RFC 8926, 6081), GTP-U (3GPP TS
//! 29.281, 2152), Teredo (RFC 4380, 3544) and AYIYA (5072, the
//! draft-massar-v6ops-ayiya header as Wireshark and Suricata read it).
//!
//! Every function reads through `get`, returns `None` on anything short or
//! unexpected, and never allocates.

use netsec_model::MacAddr;

use super::{be16, ethernet, mac_at, Link, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};

/// MPLS unicast and multicast (RFC 5332).
pub(super) const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
/// PPPoE session stage (RFC 2516 §4).
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// GRE "transparent Ethernet bridging" (RFC 1701).
pub(super) const ETHERTYPE_TEB: u16 = 0x6558;
/// ERSPAN type I and II (the same GRE protocol; type II has a sequence number).
const GRE_ERSPAN_2: u16 = 0x88be;
/// ERSPAN type III.
const GRE_ERSPAN_3: u16 = 0x22eb;
/// PPP in PPTP's enhanced GRE (RFC 2637 §4.1).
const GRE_PPP: u16 = 0x880b;
/// Aruba access point to controller tunnels: 802.11 frames without FCS.
const GRE_ARUBA: std::ops::RangeInclusive<u16> = 0x8200..=0x8220;

/// UDP ports of the tunnels followed.
const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
const GTPU_PORT: u16 = 2152;
const TEREDO_PORT: u16 = 3544;
const GRE_IN_UDP_PORT: u16 = 4754;
const AYIYA_PORT: u16 = 5072;

/// Shims peeled at most (MPLS labels count one each within a stack).
const MAX_SHIMS: usize = 8;
/// MPLS label stack entries read at most.
const MAX_LABELS: usize = 16;

/// What an encapsulation holds.
enum Inner<'a> {
    /// A payload of this EtherType.
    Ether(u16, &'a [u8]),
    /// A whole Ethernet frame.
    Frame(&'a [u8]),
}

/// Peel MPLS, PPPoE and LLC/SNAP off `link` until it announces IPv4, IPv6
/// or ARP (or something netsec does not decode, left as it is). The
/// EtherType becomes the inner one, as tshark names an MPLS or PPPoE
/// frame's network layer after the IP inside it.
pub(super) fn peel_shims(link: &mut Link<'_>) {
    for _ in 0..MAX_SHIMS {
        let inner = match link.ether_type {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP => return,
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => mpls(link.rest),
            ETHERTYPE_PPPOE_SESSION => pppoe_session(link.rest),
            // An 802.3 length (Ethernet), or Linux SLL's 802.2 marker (4): LLC follows.
            len if len <= 1500 => llc(link.rest),
            _ => return,
        };
        match inner {
            Some(Inner::Ether(et, rest)) => {
                link.ether_type = et;
                link.rest = rest;
            }
            Some(Inner::Frame(frame)) => {
                let Ok(l) = ethernet(frame) else { return };
                link.ether_type = l.ether_type;
                link.rest = l.rest;
                if link.vlan == 0 {
                    link.vlan = l.vlan;
                }
            }
            None => return,
        }
    }
}

/// What follows an EtherType inside a tunnel, shims peeled: IP's EtherType
/// and bytes.
pub(super) fn ip_inside(ether_type: u16, bytes: &[u8]) -> Option<(u16, &[u8])> {
    let mut link = Link {
        ether_type,
        vlan: 0,
        src_mac: None,
        dst_mac: None,
        rest: bytes,
    };
    if ether_type == ETHERTYPE_TEB {
        link = ethernet(bytes).ok()?;
    }
    peel_shims(&mut link);
    matches!(link.ether_type, ETHERTYPE_IPV4 | ETHERTYPE_IPV6)
        .then_some((link.ether_type, link.rest))
}

/// An MPLS label stack: what follows the bottom of the stack, told apart
/// by its first nibble as tshark and Suricata do (4: IPv4, 6: IPv6, 0: an
/// Ethernet pseudowire's control word, else an Ethernet frame).
fn mpls(b: &[u8]) -> Option<Inner<'_>> {
    let mut off = 0;
    for _ in 0..MAX_LABELS {
        let entry = b.get(off..off + 4)?;
        off += 4;
        // Bottom of stack: the S bit, lowest bit of the third byte.
        if entry.get(2)? & 0x01 != 0 {
            let rest = b.get(off..)?;
            return Some(match rest.first()? >> 4 {
                4 => Inner::Ether(ETHERTYPE_IPV4, rest),
                6 => Inner::Ether(ETHERTYPE_IPV6, rest),
                0 => Inner::Frame(rest.get(4..)?),
                _ => Inner::Frame(rest),
            });
        }
    }
    None
}

/// A PPPoE session header (version and type 1, code 0) and the PPP protocol after it.
fn pppoe_session(b: &[u8]) -> Option<Inner<'_>> {
    if *b.first()? != 0x11 || *b.get(1)? != 0 {
        return None;
    }
    let len = usize::from(be16(b, 4)?);
    let ppp = b.get(6..)?;
    ppp_payload(ppp.get(..len.min(ppp.len()))?)
}

/// A PPP frame's protocol (RFC 1661 §2, with RFC 1662's address and
/// control bytes when present and RFC 1661's compressed 1-byte protocol):
/// IPv4 (0x0021) or IPv6 (0x0057).
fn ppp_payload(b: &[u8]) -> Option<Inner<'_>> {
    let b = if b.starts_with(&[0xff, 0x03]) {
        b.get(2..)?
    } else {
        b
    };
    let (proto, rest) = if b.first()? & 0x01 != 0 {
        (u16::from(*b.first()?), b.get(1..)?)
    } else {
        (be16(b, 0)?, b.get(2..)?)
    };
    match proto {
        0x0021 => Some(Inner::Ether(ETHERTYPE_IPV4, rest)),
        0x0057 => Some(Inner::Ether(ETHERTYPE_IPV6, rest)),
        0x0281 => mpls(rest),
        _ => None,
    }
}

/// IEEE 802.2 LLC: SNAP (AA AA 03, OUI, EtherType) or the IP SAP (06).
fn llc(b: &[u8]) -> Option<Inner<'_>> {
    match (b.first()?, b.get(1)?, b.get(2)?) {
        (0xaa, 0xaa, 0x03) => Some(Inner::Ether(be16(b, 6)?, b.get(8..)?)),
        (0x06, 0x06, 0x03) => Some(Inner::Ether(ETHERTYPE_IPV4, b.get(3..)?)),
        _ => None,
    }
}

/// An IEEE 802.11 frame (no FCS assumed: IP's own length bounds the payload).
/// Only unprotected data frames carry IP; management, control, null-data
/// and encrypted frames give a non-IP link.
pub(super) fn ieee80211(b: &[u8]) -> Option<Link<'_>> {
    let fc0 = *b.first()?;
    let fc1 = *b.get(1)?;
    let frame_type = (fc0 >> 2) & 0x03;
    let subtype = fc0 >> 4;
    let (to_ds, from_ds) = (fc1 & 0x01 != 0, fc1 & 0x02 != 0);
    let mut off = 24;
    if to_ds && from_ds {
        off += 6;
    }
    let qos = frame_type == 2 && subtype & 0x08 != 0;
    if qos {
        off += 2;
        // HT control with the Order bit in QoS data frames.
        if fc1 & 0x80 != 0 {
            off += 4;
        }
    }
    let a1 = mac_at(b, 4);
    let a2 = mac_at(b, 10);
    let a3 = mac_at(b, 16);
    let a4 = mac_at(b, 24);
    let (dst_mac, src_mac): (Option<MacAddr>, Option<MacAddr>) = match (to_ds, from_ds) {
        (false, false) => (a1, a2),
        (true, false) => (a3, a2),
        (false, true) => (a1, a3),
        (true, true) => (a3, a4),
    };
    let rest = b.get(off..)?;
    let carries_data = frame_type == 2 && subtype & 0x04 == 0 && fc1 & 0x40 == 0;
    // A-MSDU (QoS control bit 7) packs subframes: not followed.
    let amsdu = qos && b.get(off - 2).is_some_and(|q| q & 0x80 != 0);
    let (ether_type, rest) = match llc(rest) {
        Some(Inner::Ether(et, payload)) if carries_data && !amsdu => (et, payload),
        _ => (0, rest),
    };
    Some(Link {
        ether_type,
        vlan: 0,
        src_mac,
        dst_mac,
        rest,
    })
}

/// A radiotap header (its length, little-endian at byte 2), then 802.11.
pub(super) fn radiotap(b: &[u8]) -> Option<Link<'_>> {
    if *b.first()? != 0 {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([*b.get(2)?, *b.get(3)?]));
    ieee80211(b.get(len..)?)
}

/// Prism monitor header: message length little-endian at byte 4.
pub(super) fn prism(b: &[u8]) -> Option<Link<'_>> {
    let len = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    ieee80211(b.get(usize::try_from(len).ok()?..)?)
}

/// AVS monitor header: header length big-endian at byte 4.
pub(super) fn avs(b: &[u8]) -> Option<Link<'_>> {
    let len = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
    ieee80211(b.get(usize::try_from(len).ok()?..)?)
}

/// PPI header: length little-endian at byte 2, the inner link type at 4
/// (105, 802.11, is the one written in practice).
pub(super) fn ppi(b: &[u8]) -> Option<Link<'_>> {
    let len = usize::from(u16::from_le_bytes([*b.get(2)?, *b.get(3)?]));
    let dlt = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    let rest = b.get(len..)?;
    match dlt {
        105 => ieee80211(rest),
        1 => ethernet(rest).ok(),
        _ => None,
    }
}

/// Linux NFLOG: family, version, resource id, then TLVs (length and type in
/// host byte order, each padded to 4 bytes); the payload TLV (type 9)
/// holds the IP packet.
pub(super) fn nflog(b: &[u8]) -> Option<Link<'_>> {
    let ether_type = match *b.first()? {
        2 => ETHERTYPE_IPV4,
        10 => ETHERTYPE_IPV6,
        _ => 0,
    };
    // Host byte order: little-endian on the machines that write NFLOG
    // captures; a first TLV length that does not fit says big-endian.
    let le = {
        let l = u16::from_le_bytes([*b.get(4)?, *b.get(5)?]);
        l >= 4 && usize::from(l) + 4 <= b.len()
    };
    let read16 = |at: usize| -> Option<u16> {
        let pair = [*b.get(at)?, *b.get(at + 1)?];
        Some(if le {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        })
    };
    let mut off = 4;
    while off + 4 <= b.len() {
        let len = usize::from(read16(off)?);
        let tlv_type = read16(off + 2)? & 0x7fff;
        if len < 4 {
            return None;
        }
        if tlv_type == 9 {
            return Some(Link {
                ether_type,
                vlan: 0,
                src_mac: None,
                dst_mac: None,
                rest: b.get(off + 4..off + len)?,
            });
        }
        off += len.div_ceil(4) * 4;
    }
    None
}

/// Cisco HDLC: address, control, EtherType.
pub(super) fn chdlc(b: &[u8]) -> Option<Link<'_>> {
    Some(plain_link(be16(b, 2)?, b.get(4..)?))
}

/// PPP link types: 9 (PPP, address and control optional), 50 (PPP in HDLC
/// framing), 51 (PPPoE without its Ethernet header).
pub(super) fn ppp_link(b: &[u8], pppoe: bool) -> Option<Link<'_>> {
    let inner = if pppoe {
        pppoe_session(b)?
    } else {
        ppp_payload(b)?
    };
    match inner {
        Inner::Ether(et, rest) => Some(plain_link(et, rest)),
        Inner::Frame(f) => ethernet(f).ok(),
    }
}

fn plain_link(ether_type: u16, rest: &[u8]) -> Link<'_> {
    Link {
        ether_type,
        vlan: 0,
        src_mac: None,
        dst_mac: None,
        rest,
    }
}

/// The EtherType and bytes inside a GRE packet (RFC 2784 with RFC 2890's
/// key and sequence; version 1, PPTP, with its acknowledgment), shims and
/// ERSPAN headers peeled, when IP is inside.
pub(super) fn gre_inner(b: &[u8]) -> Option<(u16, &[u8])> {
    let flags = be16(b, 0)?;
    let version = flags & 0x0007;
    let proto = be16(b, 2)?;
    let mut off = 4;
    // Checksum (with its reserved half), key, sequence number.
    for bit in [0x8000, 0x2000, 0x1000] {
        if flags & bit != 0 {
            off += 4;
        }
    }
    let has_seq = flags & 0x1000 != 0;
    match (version, proto) {
        (0, GRE_ERSPAN_2) => {
            // Type I has no sequence number and no ERSPAN header; type II
            // has both, an 8-byte header (version 1) before the frame.
            let frame = if has_seq {
                b.get(off + 8..)?
            } else {
                b.get(off..)?
            };
            ip_inside(ETHERTYPE_TEB, frame)
        }
        (0, GRE_ERSPAN_3) => {
            // 12 bytes, and an 8-byte platform sub-header when the O bit
            // (the lowest of the 12th byte) is set.
            let o = b.get(off + 11)? & 0x01 != 0;
            let frame = b.get(off + if o { 20 } else { 12 }..)?;
            ip_inside(ETHERTYPE_TEB, frame)
        }
        (0, p) if GRE_ARUBA.contains(&p) => {
            let link = ieee80211(b.get(off..)?)?;
            ip_inside(link.ether_type, link.rest)
        }
        (0, et) => ip_inside(et, b.get(off..)?),
        (1, GRE_PPP) => {
            // Enhanced GRE: the key (payload length, call id) is always
            // there; the acknowledgment number when the A bit is set.
            if flags & 0x0080 != 0 {
                off += 4;
            }
            let payload_len = usize::from(be16(b, 4)?);
            let ppp = b.get(off..)?;
            match ppp_payload(ppp.get(..payload_len.min(ppp.len()))?)? {
                Inner::Ether(et, rest) => ip_inside(et, rest),
                Inner::Frame(f) => ip_inside(ETHERTYPE_TEB, f),
            }
        }
        _ => None,
    }
}

/// The tunnel inside a UDP datagram, by port: the inner EtherType and bytes.
pub(super) fn udp_inner(src_port: u16, dst_port: u16, b: &[u8]) -> Option<(u16, &[u8])> {
    let either = |p: u16| src_port == p || dst_port == p;
    if dst_port == VXLAN_PORT {
        // 8-byte header with the I flag, then an Ethernet frame.
        if b.first()? & 0x08 == 0 {
            return None;
        }
        return ip_inside(ETHERTYPE_TEB, b.get(8..)?);
    }
    if dst_port == GENEVE_PORT {
        return geneve(b);
    }
    if either(GTPU_PORT) {
        return gtpu(b);
    }
    if either(TEREDO_PORT) {
        return teredo(b);
    }
    if dst_port == GRE_IN_UDP_PORT {
        return gre_inner(b);
    }
    if either(AYIYA_PORT) {
        return ayiya(b);
    }
    None
}

/// AYIYA: identity length (a power of two) and type, signature length (in
/// 4-byte words) and hash, authentication and opcode, next header, epoch;
/// then identity, signature and, for opcode 1 (forward), the packet.
fn ayiya(b: &[u8]) -> Option<(u16, &[u8])> {
    let id_len = 1usize << (b.first()? >> 4);
    let sig_len = usize::from(b.get(1)? >> 4) * 4;
    if b.get(2)? & 0x0f != 1 {
        return None;
    }
    let ether_type = match *b.get(3)? {
        4 => ETHERTYPE_IPV4,
        41 => ETHERTYPE_IPV6,
        _ => return None,
    };
    Some((ether_type, b.get(8 + id_len + sig_len..)?))
}

/// Geneve: version 0, options length in 4-byte words, protocol type.
fn geneve(b: &[u8]) -> Option<(u16, &[u8])> {
    let first = *b.first()?;
    if first >> 6 != 0 {
        return None;
    }
    let opt_len = usize::from(first & 0x3f) * 4;
    ip_inside(be16(b, 2)?, b.get(8 + opt_len..)?)
}

/// GTP-U version 1, G-PDU (message type 255): the user's IP packet after
/// the header, its optional fields and its extension headers.
fn gtpu(b: &[u8]) -> Option<(u16, &[u8])> {
    let flags = *b.first()?;
    // Version 1, protocol type GTP.
    if flags >> 5 != 1 || flags & 0x10 == 0 || *b.get(1)? != 0xff {
        return None;
    }
    let mut off = 8;
    if flags & 0x07 != 0 {
        // Sequence number, N-PDU number, next extension header type.
        let mut next = *b.get(11)?;
        off = 12;
        for _ in 0..MAX_SHIMS {
            if next == 0 {
                break;
            }
            // Length in 4-byte units, the last byte naming the next one.
            let len = usize::from(*b.get(off)?) * 4;
            if len == 0 {
                return None;
            }
            next = *b.get(off + len - 1)?;
            off += len;
        }
        if next != 0 {
            return None;
        }
    }
    let inner = b.get(off..)?;
    match inner.first()? >> 4 {
        4 => Some((ETHERTYPE_IPV4, inner)),
        6 => Some((ETHERTYPE_IPV6, inner)),
        _ => None,
    }
}

/// Teredo: an IPv6 packet, after an authentication indicator (type 1)
/// and an origin indication (type 0) when present (RFC 4380 §5.1.1).
fn teredo(b: &[u8]) -> Option<(u16, &[u8])> {
    let mut b = b;
    if b.starts_with(&[0x00, 0x01]) {
        let id_len = usize::from(*b.get(2)?);
        let auth_len = usize::from(*b.get(3)?);
        b = b.get(4 + id_len + auth_len + 9..)?;
    }
    if b.starts_with(&[0x00, 0x00]) {
        b = b.get(8..)?;
    }
    // An IPv6 header whose payload length fills the datagram exactly, as
    // Suricata checks: other traffic on port 3544 is left alone.
    let fits = usize::from(be16(b, 4)?) + 40 == b.len();
    (b.first()? >> 4 == 6 && fits).then_some((ETHERTYPE_IPV6, b))
}
