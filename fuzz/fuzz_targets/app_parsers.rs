//! Any bytes into every application parser, both directions, in chunks,
//! plus protocol identification on the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{AppProto, Direction, Endpoint, EventContext, Timestamp, Transport};
use netsec_proto::app::{identify, AppParser};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let protos = [AppProto::Dns, AppProto::Tls, AppProto::Http, AppProto::Ssh, AppProto::Smb, AppProto::Dhcp, AppProto::Ntp];
    let proto = protos[usize::from(selector) % protos.len()];
    let transport = if selector & 0x80 != 0 { Transport::Udp } else { Transport::Tcp };
    let _ = identify(transport, 40000, 53, Direction::ToServer, body);
    let Some(mut parser) = AppParser::new(proto) else { return };
    let ctx = EventContext {
        ts: Timestamp::ZERO,
        packet_number: 1,
        flow_id: None,
        community_id: None,
        src: Endpoint::new([10, 0, 0, 1].into(), 40000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 53),
        transport,
        direction: Direction::ToServer,
    };
    let mut out = Vec::new();
    for (i, chunk) in body.chunks(1 + usize::from(selector % 61)).enumerate() {
        let dir = if i % 3 == 2 { Direction::ToClient } else { Direction::ToServer };
        parser.feed(dir, chunk, &ctx, &mut out);
        if i % 17 == 16 {
            parser.gap(dir, 5);
        }
    }
});
