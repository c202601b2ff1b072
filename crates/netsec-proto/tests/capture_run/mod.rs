//! Test support: a whole pcap through an [`Engine`], frame by frame, with the
//! capture's own link type and timestamps.
// Test support: a missing or unreadable fixture must fail the test loudly.
#![allow(dead_code, clippy::panic, clippy::unwrap_used)]

use std::path::Path;

use netsec_model::{LinkType, RawPacket, Timestamp};
use netsec_proto::{Engine, EngineConfig, EngineSink};
use pcap_parser::PcapCapture;

/// Run every frame of the pcap at `path` through a default engine into
/// `sink`, then finish it. Returns the engine (for its counters) and the
/// number of frames read.
pub fn run_capture(path: &Path, sink: &mut impl EngineSink) -> (Engine, u64) {
    run_capture_with(path, EngineConfig::default(), sink)
}

/// The same with an engine of `config`.
pub fn run_capture_with(
    path: &Path,
    config: EngineConfig,
    sink: &mut impl EngineSink,
) -> (Engine, u64) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let capture =
        PcapCapture::from_file(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let link = LinkType::from_number(capture.header.network.0 as u32);
    let mut engine = Engine::new(config);
    let mut frames = 0;
    for (number, b) in (1..).zip(capture.blocks) {
        frames += 1;
        let raw = RawPacket {
            number,
            ts: Timestamp::from_secs_nanos(i64::from(b.ts_sec), b.ts_usec * 1000),
            link_type: link,
            interface: 0,
            orig_len: b.origlen,
            data: b.data,
        };
        engine.process(&raw, sink);
    }
    engine.finish(sink);
    (engine, frames)
}

/// The frames of a pcap and its link type.
pub fn frames(path: &Path) -> (LinkType, Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let capture =
        PcapCapture::from_file(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let link = LinkType::from_number(capture.header.network.0 as u32);
    (
        link,
        capture.blocks.iter().map(|b| b.data.to_vec()).collect(),
    )
}

/// A frame at time zero, for decoding alone.
pub fn raw(link_type: LinkType, data: &[u8]) -> RawPacket<'_> {
    RawPacket {
        number: 1,
        ts: Timestamp::ZERO,
        link_type,
        interface: 0,
        orig_len: data.len() as u32,
        data,
    }
}
