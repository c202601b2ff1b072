//! A multi-threaded analysis with a custom analyser, in about 30 lines:
//! which hosts opened connections to the most distinct peers.
//!
//! `cargo run -p netsec-examples --example fan_out -- testdata/sample.pcap`

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use netsec_analyze::{Analysis, Input};
use netsec_model::{Analyzer, FindingSink, FlowRecord, Interests};

type Peers = Arc<Mutex<BTreeMap<IpAddr, BTreeSet<IpAddr>>>>;

/// Runs in the detection stage: sees every flow of the run, whatever the
/// thread count, so a host's peers are counted across all threads.
struct FanOut(Peers);

impl Analyzer for FanOut {
    fn name(&self) -> &'static str {
        "fan_out"
    }
    fn interests(&self) -> Interests {
        Interests {
            flows: true,
            ..Interests::NONE
        }
    }
    fn on_flow_end(&mut self, flow: &FlowRecord, _out: &mut dyn FindingSink) {
        if let Ok(mut peers) = self.0.lock() {
            peers
                .entry(flow.client.ip)
                .or_default()
                .insert(flow.server.ip);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let peers = Peers::default();
    let summary = Analysis::new()
        .inputs(std::env::args().skip(1).map(Input::path))
        .threads(4)
        .analyzer(Box::new(FanOut(Arc::clone(&peers))))
        .run()?;
    println!("{} packets, {} flows", summary.packets, summary.flows.total);
    let peers = peers.lock().map_err(|_| "poisoned")?;
    let mut by_fan_out: Vec<_> = peers.iter().map(|(ip, p)| (p.len(), *ip)).collect();
    by_fan_out.sort_unstable_by(|a, b| b.cmp(a));
    for (n, ip) in by_fan_out.iter().take(10) {
        println!("{ip:<40} {n} peers");
    }
    Ok(())
}
