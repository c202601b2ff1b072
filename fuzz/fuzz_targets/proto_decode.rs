//! Any bytes as a frame of any supported link type: decode and shard-hash never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{LinkType, RawPacket, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = [0u32, 1, 101, 108, 113, 228, 229, 276][usize::from(selector) % 8];
    let raw = RawPacket {
        number: 1,
        ts: Timestamp::ZERO,
        link_type: LinkType::from_number(link),
        interface: 0,
        orig_len: frame.len() as u32,
        data: frame,
    };
    let _ = netsec_proto::decode(&raw);
    let _ = netsec_proto::shard_hash(&raw);
});
