//! Packets and flow records made up for the unit tests (the integration
//! tests use real captures).

use std::net::{IpAddr, Ipv4Addr};

use netsec_model::{
    AppProto, DirectionStats, Endpoint, FlowEndReason, FlowId, FlowRecord, IpInfo, PacketInfo,
    TcpFlags, TcpState, TimeRange, Timestamp, Transport,
};

/// An IPv4 endpoint from its address as a number.
pub fn ep(addr: u32, port: u16) -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::from(addr)), port)
}

/// A packet `src` → `dst` at `ts` seconds; `len` is the wire, IP and payload length alike.
pub fn packet(
    ts: f64,
    src: Endpoint,
    dst: Endpoint,
    transport: Transport,
    flags: u8,
    len: u32,
) -> PacketInfo {
    PacketInfo {
        number: 1,
        ts: Timestamp::from_secs_f64(ts),
        wire_len: len,
        src_mac: None,
        dst_mac: None,
        vlan: 0,
        ether_type: 0x0800,
        ip: Some(IpInfo {
            src: src.ip,
            dst: dst.ip,
            transport,
            ttl: 64,
            ip_len: len,
            fragmented: false,
            reassembled: false,
            src_port: src.port,
            dst_port: dst.port,
            tcp_flags: TcpFlags(flags),
            tcp_seq: 0,
            tcp_ack: 0,
            tcp_window: 0,
            payload_len: len,
        }),
    }
}

/// A TCP flow record: `up` and `down` bytes each way (wire and payload),
/// from `start` for `secs` seconds, ending in `state`.
pub fn flow(
    client: Endpoint,
    server: Endpoint,
    (start, secs): (f64, f64),
    (up, down): (u64, u64),
    state: TcpState,
) -> FlowRecord {
    let stats = |bytes| DirectionStats {
        packets: 10,
        bytes,
        payload_bytes: bytes,
        tcp_flags: TcpFlags(0x1b),
    };
    let id = u64::from(client.port) ^ (u64::from(server.port) << 16) ^ start.to_bits();
    FlowRecord {
        id: FlowId(id),
        community_id: format!("1:{client}-{server}-{start}"),
        client,
        server,
        transport: Transport::Tcp,
        vlan: 0,
        time: TimeRange {
            start: Timestamp::from_secs_f64(start),
            end: Timestamp::from_secs_f64(start + secs),
        },
        to_server: stats(up),
        to_client: stats(down),
        tcp_state: state,
        app_proto: AppProto::Unknown,
        end_reason: FlowEndReason::TcpClose,
        missing_bytes: 0,
    }
}
