//! Rules and bytes from the fuzzer: the first line-separated part is a rules
//! file, the rest a TCP payload inspected by the compiled rules in both
//! directions of an established flow, twice (flowbits, thresholds, bodies
//! carry over). Alerts or none; never a panic, never unbounded work.
#![no_main]
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use netsec_detect::signature::{CompiledRules, RuleConfig, RuleSet, SignatureInspector};
use netsec_model::{
    AppProto, Direction, FlowId, Inspector, InspectorOutput, IpInfo, PacketInfo, PayloadContext,
    TcpFlags, Timestamp, Transport,
};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (rules_text, payload) = data.split_at(split);
    let mut set = RuleSet::new(RuleConfig::default());
    set.add_text(&String::from_utf8_lossy(rules_text), std::path::Path::new("fuzz.rules"));
    if set.loaded() == 0 {
        return;
    }
    let rules = Arc::new(CompiledRules::new(&set));
    let mut inspector = SignatureInspector::new(rules);
    let mut out = InspectorOutput::default();
    for (i, direction) in [Direction::ToServer, Direction::ToClient, Direction::ToServer]
        .into_iter()
        .enumerate()
    {
        let (src, dst, sport, dport) = match direction {
            Direction::ToServer => ([10, 0, 0, 1], [192, 0, 2, 1], 40000, 80),
            Direction::ToClient => ([192, 0, 2, 1], [10, 0, 0, 1], 80, 40000),
        };
        let packet = PacketInfo {
            number: i as u64 + 1,
            ts: Timestamp::from_secs_nanos(1_700_000_000 + i as i64, 0),
            wire_len: payload.len() as u32 + 54,
            src_mac: None,
            dst_mac: None,
            vlan: 0,
            ether_type: 0x0800,
            ip: Some(IpInfo {
                src: IpAddr::V4(Ipv4Addr::from(src)),
                dst: IpAddr::V4(Ipv4Addr::from(dst)),
                transport: Transport::Tcp,
                ttl: 64,
                ip_len: payload.len() as u32 + 40,
                fragmented: false,
                reassembled: false,
                src_port: sport,
                dst_port: dport,
                tcp_flags: TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
                tcp_seq: 1000 + i as u32 * 7000,
                tcp_ack: 1,
                tcp_window: 1024,
                payload_len: payload.len() as u32,
            }),
        };
        let context = PayloadContext {
            flow_id: FlowId(1),
            community_id: "1:fuzz",
            direction,
            established: true,
            app_proto: AppProto::Http,
            handshake_seen: true,
        };
        inspector.on_payload(&packet, &context, payload, &mut out);
    }
    inspector.finish(&mut out);
});
