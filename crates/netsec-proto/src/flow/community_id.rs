//! Community ID flow hashing, version 1
//! (<https://github.com/corelight/community-id-spec>), the string Zeek,
//! Suricata and many SIEMs attach to flows so their records join.
//!
//! `1:` + base64(SHA-1(seed ‖ saddr ‖ daddr ‖ proto ‖ 0 ‖ sport ‖ dport)),
//! endpoints ordered so that both directions hash alike; ICMP and ICMPv6
//! use type and code as ports, with request/reply types paired so a ping
//! and its answer share an id (one-way types keep their order).

use std::net::IpAddr;

use base64::Engine as _;
use netsec_model::Transport;
use sha1::{Digest, Sha1};

/// ICMPv4 request ↔ reply types (spec's `ICMP4_PORT_EQUIVALENTS`).
const ICMP4_PAIRS: [(u8, u8); 10] = [
    (8, 0), // echo → echo reply
    (0, 8),
    (13, 14), // timestamp
    (14, 13),
    (15, 16), // information
    (16, 15),
    (10, 9), // router solicitation → advertisement
    (9, 10),
    (17, 18), // address mask
    (18, 17),
];

/// ICMPv6 request ↔ reply types (spec's `ICMP6_PORT_EQUIVALENTS`).
const ICMP6_PAIRS: [(u8, u8); 12] = [
    (128, 129), // echo
    (129, 128),
    (133, 134), // router solicitation → advertisement
    (134, 133),
    (135, 136), // neighbor solicitation → advertisement
    (136, 135),
    (130, 131), // multicast listener query → report
    (131, 130),
    (139, 140), // node information query → response
    (140, 139),
    (144, 145), // home agent address discovery
    (145, 144),
];

/// The port-like values of an ICMP message for flow keying and Community
/// ID: `(type, counterpart type)` for request/reply types, else
/// `(type, code)`; and whether the message is one-way.
pub fn icmp_port_equivalents(transport: Transport, icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let pairs: &[(u8, u8)] = match transport {
        Transport::Icmp => &ICMP4_PAIRS,
        Transport::Icmpv6 => &ICMP6_PAIRS,
        _ => &[],
    };
    match pairs.iter().find(|(t, _)| *t == icmp_type) {
        Some((t, other)) => (u16::from(*t), u16::from(*other), false),
        None => (u16::from(icmp_type), u16::from(code), true),
    }
}

/// An address as the spec hashes it (4 or 16 bytes), without allocating.
fn ip_bytes(ip: &IpAddr) -> ([u8; 16], usize) {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(a) => {
            let [b0, b1, b2, b3] = a.octets();
            out[0] = b0;
            out[1] = b1;
            out[2] = b2;
            out[3] = b3;
            (out, 4)
        }
        IpAddr::V6(a) => (a.octets(), 16),
    }
}

/// The Community ID of a flow seen from its first packet, `src` → `dst`.
/// For ICMP, pass the type as `src_port` and the code as `dst_port`.
pub fn community_id(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    transport: Transport,
    src_port: u16,
    dst_port: u16,
) -> String {
    let (mut sp, mut dp, one_way) = match transport {
        Transport::Icmp | Transport::Icmpv6 => {
            icmp_port_equivalents(transport, src_port as u8, dst_port as u8)
        }
        _ => (src_port, dst_port, false),
    };
    let ((sa, sn), (da, dn)) = (ip_bytes(&src), ip_bytes(&dst));
    let (mut s, mut d) = (
        sa.get(..sn).unwrap_or_default(),
        da.get(..dn).unwrap_or_default(),
    );
    if !one_way && (s > d || (s == d && sp > dp)) {
        std::mem::swap(&mut s, &mut d);
        std::mem::swap(&mut sp, &mut dp);
    }
    // The hashed message, at most 2 + 16 + 16 + 2 + 4 bytes, gathered in
    // one block and hashed at once (each `update` copied its few bytes
    // into the hasher's buffer).
    let mut message = [0u8; 40];
    let mut len = 0;
    let [sp0, sp1] = sp.to_be_bytes();
    let [dp0, dp1] = dp.to_be_bytes();
    let port_bytes = [sp0, sp1, dp0, dp1];
    let ports: &[u8] = if matches!(
        transport,
        Transport::Tcp | Transport::Udp | Transport::Sctp | Transport::Icmp | Transport::Icmpv6
    ) {
        &port_bytes
    } else {
        &[]
    };
    for part in [
        &seed.to_be_bytes()[..],
        s,
        d,
        &[transport.ip_proto(), 0],
        ports,
    ] {
        if let Some(to) = message.get_mut(len..len + part.len()) {
            to.copy_from_slice(part);
        }
        len += part.len();
    }
    let digest = Sha1::digest(message.get(..len).unwrap_or_default());
    let mut id = String::with_capacity(30);
    id.push_str("1:");
    // Appended to the id in place: no String of its own.
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut id);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from the spec repository's baseline (community-id-spec/baseline/baseline.py output).
    #[test]
    fn spec_baseline_vectors() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            community_id(
                0,
                ip("128.232.110.120"),
                ip("66.35.250.204"),
                Transport::Tcp,
                34855,
                80
            ),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // Same flow from the other side.
        assert_eq!(
            community_id(
                0,
                ip("66.35.250.204"),
                ip("128.232.110.120"),
                Transport::Tcp,
                80,
                34855
            ),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(
                1,
                ip("128.232.110.120"),
                ip("66.35.250.204"),
                Transport::Tcp,
                34855,
                80
            ),
            "1:3V71V58M3Ksw/yuFALMcW0LAHvc="
        );
    }

    #[test]
    fn icmp_echo_and_reply_share_an_id() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let req = community_id(0, a, b, Transport::Icmp, 8, 0);
        let rep = community_id(0, b, a, Transport::Icmp, 0, 0);
        assert_eq!(req, rep);
        // Destination unreachable is one-way: direction matters.
        let u1 = community_id(0, a, b, Transport::Icmp, 3, 1);
        let u2 = community_id(0, b, a, Transport::Icmp, 3, 1);
        assert_ne!(u1, u2);
    }
}
