//! Read a capture, build flows, print one line per flow.
//!
//! ```sh
//! cargo run -p netsec-examples --example list_flows -- testdata/sample.pcap
//! ```

use netsec_capture::CaptureReader;
use netsec_model::FlowRecord;
use netsec_proto::{Engine, EngineConfig, EngineSink};

/// Keeps every finished flow (fine for an example; a real tool would stream).
#[derive(Default)]
struct FlowList(Vec<FlowRecord>);

impl EngineSink for FlowList {
    fn flow_end(&mut self, flow: FlowRecord) {
        self.0.push(flow);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: list_flows CAPTURE")?;
    let mut reader = CaptureReader::open(path.as_ref())?;
    let mut engine = Engine::new(EngineConfig::default());
    let mut flows = FlowList::default();
    while let Some(packet) = reader.next_packet()? {
        engine.process(&packet, &mut flows);
    }
    engine.finish(&mut flows);
    flows.0.sort_by_key(|f| f.time.start);
    for f in &flows.0 {
        println!(
            "{} {:<5} {:>22} -> {:<22} {:<7} {:>6} pkts {:>9} bytes {:<4} {}",
            f.time.start,
            f.transport.to_string(),
            f.client.to_string(),
            f.server.to_string(),
            f.app_proto.to_string(),
            f.packets(),
            f.bytes(),
            if f.transport == netsec_model::Transport::Tcp {
                f.tcp_state.zeek_conn_state()
            } else {
                ""
            },
            f.community_id
        );
    }
    Ok(())
}
