//! A sequence of frames through the whole engine (flows, defragmentation, TCP
//! reassembly, app parsers): input is split into frames on a 2-byte length prefix.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{LinkType, RawPacket, Timestamp};
use netsec_proto::{Engine, EngineConfig, EngineSink};

struct Count(u64);
impl EngineSink for Count {
    fn event(&mut self, _e: netsec_model::AppEvent) {
        self.0 += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut config = EngineConfig::default();
    config.flow_capacity = 8;
    let mut engine = Engine::new(config);
    let mut sink = Count(0);
    let mut rest = data;
    let mut n = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])) % 2048;
        let frame = &rest[2..(2 + len).min(rest.len())];
        n += 1;
        let raw = RawPacket {
            number: n,
            ts: Timestamp::from_secs_nanos((n * 7) as i64, 0),
            link_type: LinkType::Ethernet,
            interface: 0,
            orig_len: frame.len() as u32,
            data: frame,
        };
        engine.process(&raw, &mut sink);
        rest = &rest[(2 + len).min(rest.len())..];
    }
    engine.finish(&mut sink);
});
