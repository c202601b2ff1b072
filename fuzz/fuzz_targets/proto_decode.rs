//! Any bytes as a frame of any supported link type: decode and shard-hash never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{LinkType, RawPacket, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    // Every link type decoded (802.11 and its monitor headers, NFLOG, HDLC, PPP included).
    const LINKS: [u32; 18] = [
        0, 1, 9, 50, 51, 101, 104, 105, 108, 113, 119, 127, 163, 192, 228, 229, 239, 276,
    ];
    let link = LINKS[usize::from(selector) % LINKS.len()];
    let raw = RawPacket {
        number: 1,
        ts: Timestamp::ZERO,
        link_type: LinkType::from_number(link),
        interface: 0,
        orig_len: frame.len() as u32,
        data: frame,
    };
    let _ = netsec_proto::decode(&raw);
    let _ = netsec_proto::shard_class(&raw);
});
