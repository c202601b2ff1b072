//! IPv4 and IPv6 fragment reassembly on real traffic: `testdata/fragments.pcap`
//! (scripts/record-fragments.sh) holds pings of 3000 bytes and UDP datagrams
//! of 4000 bytes over a 1500-byte MTU, fragmented by the Linux kernel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use netsec_model::{FlowRecord, LinkType, RawPacket, Timestamp, Transport};
use netsec_proto::{Engine, EngineConfig, EngineSink};
use pcap_parser::PcapCapture;

#[derive(Default)]
struct Flows(Vec<FlowRecord>);

impl EngineSink for Flows {
    fn flow_end(&mut self, flow: FlowRecord) {
        self.0.push(flow);
    }
}

fn analyse(name: &str) -> (Engine, Vec<FlowRecord>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let capture = PcapCapture::from_file(&bytes).unwrap();
    let mut engine = Engine::new(EngineConfig::default());
    let mut sink = Flows::default();
    for (number, b) in (1..).zip(capture.blocks) {
        let raw = RawPacket {
            number,
            ts: Timestamp::from_secs_nanos(i64::from(b.ts_sec), b.ts_usec * 1000),
            link_type: LinkType::Ethernet,
            interface: 0,
            orig_len: b.origlen,
            data: b.data,
        };
        engine.process(&raw, &mut sink);
    }
    engine.finish(&mut sink);
    (engine, sink.0)
}

/// The UDP flow from `client` to port 9999.
fn udp_flow<'a>(flows: &'a [FlowRecord], client: &str) -> &'a FlowRecord {
    let ip: std::net::IpAddr = client.parse().unwrap();
    flows
        .iter()
        .find(|f| f.client.ip == ip && f.transport == Transport::Udp && f.server.port == 9999)
        .unwrap_or_else(|| panic!("no UDP flow from {client} to port 9999: {flows:#?}"))
}

#[test]
fn ipv4_and_ipv6_fragments_are_reassembled() {
    let (engine, flows) = analyse("fragments.pcap");
    let stats = engine.stats();
    // 3 echo requests and 3 replies of two fragments each, and one UDP
    // datagram of two fragments (the last piece of each carries no MF flag
    // and is a fragment too: 3 pieces per datagram, as tshark shows).
    assert_eq!(stats.ipv4_fragments, 21, "{stats:?}");
    assert_eq!(stats.ipv4_reassembled, 7, "{stats:?}");
    assert_eq!(stats.ipv6_fragments, 21, "{stats:?}");
    assert_eq!(stats.ipv6_reassembled, 7, "{stats:?}");
    assert_eq!(stats.fragments_dropped, 0, "{stats:?}");

    // The whole datagrams reach the flows: 4000 bytes of UDP payload in one
    // datagram, over each address family, with the ports from the first
    // fragment's UDP header.
    for client in ["10.253.0.10", "fd00:253::10"] {
        let f = udp_flow(&flows, client);
        assert_eq!(f.to_server.packets, 1, "{f:#?}");
        assert_eq!(f.to_server.payload_bytes, 4000, "{f:#?}");
    }
    // Echo request and reply, 3000 bytes of ICMP data each, three times.
    for (client, transport) in [
        ("10.253.0.10", Transport::Icmp),
        ("fd00:253::10", Transport::Icmpv6),
    ] {
        let f = flows
            .iter()
            .find(|f| {
                f.client.ip == client.parse::<std::net::IpAddr>().unwrap()
                    && f.transport == transport
                    && f.to_client.packets == 3
            })
            .unwrap_or_else(|| panic!("no echo flow from {client}: {flows:#?}"));
        assert_eq!(f.to_server.packets, 3, "{f:#?}");
        assert_eq!(f.to_server.payload_bytes, 3 * 3000, "{f:#?}");
        assert_eq!(f.to_client.payload_bytes, 3 * 3000, "{f:#?}");
    }
}
