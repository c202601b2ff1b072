//! A sequence of frames through the whole engine (flows, defragmentation, TCP
//! reassembly, app parsers): input is split into frames on a 2-byte length prefix.
//! A prefix with its top bit set is no frame but a jump of capture time by its low
//! 15 bits in seconds (`Engine::advance_to`, as a thread does for other threads'
//! packets), so timeouts fire between frames too. Every frame also goes through
//! two engines sharing the run as threads do (`shard_class`: its owner, or both
//! for a fragment via `Engine::process_shared_fragment`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{LinkType, RawPacket, Timestamp};
use netsec_proto::{Engine, EngineConfig, EngineSink, ShardClass, Share};

struct Count(u64);
impl EngineSink for Count {
    fn event(&mut self, _e: netsec_model::AppEvent) {
        self.0 += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut config = EngineConfig::default();
    config.flow_capacity = 8;
    let mut engine = Engine::new(config.clone());
    let mut shared = [Engine::new(config.clone()), Engine::new(config)];
    let mut sink = Count(0);
    let mut rest = data;
    let mut n = 0u64;
    let mut skew = 0i64;
    while rest.len() >= 2 {
        let prefix = u16::from_be_bytes([rest[0], rest[1]]);
        if prefix & 0x8000 != 0 {
            skew += i64::from(prefix & 0x7fff);
            engine.advance_to(
                Timestamp::from_secs_nanos((n * 7) as i64 + skew, 0),
                &mut sink,
            );
            rest = &rest[2..];
            continue;
        }
        let len = usize::from(prefix) % 2048;
        let frame = &rest[2..(2 + len).min(rest.len())];
        n += 1;
        let raw = RawPacket {
            number: n,
            ts: Timestamp::from_secs_nanos((n * 7) as i64 + skew, 0),
            link_type: LinkType::Ethernet,
            interface: 0,
            orig_len: frame.len() as u32,
            data: frame,
        };
        engine.process(&raw, &mut sink);
        let class = netsec_proto::shard_class(&raw);
        for (index, e) in shared.iter_mut().enumerate() {
            let share = Share {
                index: index as u64,
                of: 2,
            };
            match class {
                ShardClass::Fragment => e.process_shared_fragment(&raw, share, &mut sink),
                ShardClass::Flow(h) if share.owns(h) => e.process(&raw, &mut sink),
                ShardClass::Flow(_) => e.advance_to(raw.ts, &mut sink),
            }
        }
        rest = &rest[(2 + len).min(rest.len())..];
    }
    engine.finish(&mut sink);
    for e in &mut shared {
        e.finish(&mut sink);
    }
});
