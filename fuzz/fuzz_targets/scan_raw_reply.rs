//! Any bytes as a packet the raw-scan receivers read: a whole IPv4 or IPv6
//! packet, an IPv6 TCP segment or ICMPv6 message without its header, an
//! Ethernet ARP frame. Whatever parses is checked against a cookie key and
//! turned into a port state, as the receivers do.
#![no_main]
use std::net::Ipv6Addr;

use libfuzzer_sys::fuzz_target;
use netsec_scan::raw::packet::{self, CookieKey, Reply};

fuzz_target!(|data: &[u8]| {
    let key = CookieKey([0x1234, 0x5678]);
    let from = Ipv6Addr::LOCALHOST;
    for reply in [
        packet::parse_packet(data),
        packet::parse_ipv4(data),
        packet::parse_ipv6_tcp(from, data),
        packet::parse_icmpv6(from, data),
    ]
    .into_iter()
    .flatten()
    {
        let _ = reply.is_ours(&key);
        if let Reply::Tcp { flags, .. } = reply {
            let _ = packet::syn_reply_state(flags);
        }
    }
    let _ = packet::parse_arp_reply(data);
});
