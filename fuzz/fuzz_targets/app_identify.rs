//! Any bytes into protocol identification, over TCP and UDP, with the
//! ports taken from the first bytes (so that the port-gated checks for DNS,
//! DHCP and NTP run too).
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{Direction, Transport};
use netsec_proto::app::identify;

fuzz_target!(|data: &[u8]| {
    let Some((head, payload)) = data.split_first_chunk::<3>() else {
        return;
    };
    // Port choices: the protocols' own ports and one that is none of them.
    let ports = [53u16, 67, 68, 123, 40000];
    let port = ports[usize::from(head[0]) % ports.len()];
    let other = u16::from_be_bytes([head[1], head[2]]);
    for transport in [Transport::Tcp, Transport::Udp] {
        let _ = identify(transport, other, port, Direction::ToServer, payload);
        let _ = identify(transport, port, other, Direction::ToClient, payload);
    }
});
