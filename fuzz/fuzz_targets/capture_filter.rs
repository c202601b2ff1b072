//! Any text as a filter expression: parse errors name a position inside the text,
//! never a panic (deep nesting included); a filter that parses is evaluated on an
//! IPv4 TCP, an IPv6 UDP and an ARP packet without panicking.
#![no_main]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use netsec_model::{IpInfo, PacketInfo, TcpFlags, Timestamp, Transport};

fn packet(src: IpAddr, dst: IpAddr, transport: Transport, vlan: u16) -> PacketInfo {
    PacketInfo {
        number: 1,
        ts: Timestamp::ZERO,
        wire_len: 60,
        src_mac: None,
        dst_mac: None,
        vlan,
        ether_type: if src.is_ipv4() { 0x0800 } else { 0x86dd },
        ip: Some(IpInfo {
            src,
            dst,
            transport,
            ttl: 64,
            ip_len: 40,
            fragmented: false,
            reassembled: false,
            src_port: 40000,
            dst_port: 443,
            tcp_flags: TcpFlags(TcpFlags::SYN),
            tcp_seq: 0,
            tcp_ack: 0,
            tcp_window: 0,
            payload_len: 0,
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match netsec_capture::Filter::parse(text) {
        Ok(filter) => {
            let v4 = packet(
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
                Transport::Tcp,
                0,
            );
            let v6 = packet(
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                Transport::Udp,
                100,
            );
            let mut arp = v4;
            arp.ip = None;
            arp.ether_type = 0x0806;
            for p in [v4, v6, arp] {
                let _ = filter.matches(&p);
            }
        }
        Err(e) => assert!(e.position <= text.len()),
    }
});
