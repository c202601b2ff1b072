//! What the detection stage costs: `netsec analyze`'s pipeline (the
//! netsec-analyze library) on one capture with no analyser, and with a
//! no-op analyser subscribed to everything (every packet's headers, ARP,
//! events and flow records forwarded to the detection stage), at 1 and 2
//! threads; the best of `REPEAT` (default 5) runs of each, interleaved.
//!
//! `pipeline-cost CAPTURE` prints one line per configuration and the ratio
//! of packets/s with the no-op analyser to without (the target is >= 0.90).

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use netsec_analyze::{Analysis, Input};
use netsec_model::{
    Analyzer, AppEvent, ArpInfo, FindingSink, FlowRecord, Interests, PacketInfo, Timestamp,
};

/// Subscribed to everything, does nothing with it (but look at it, so the
/// calls are not optimised away).
struct NoOp {
    seen: u64,
}

impl Analyzer for NoOp {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn interests(&self) -> Interests {
        Interests::ALL
    }
    fn on_packet(&mut self, p: &PacketInfo, _out: &mut dyn FindingSink) {
        self.seen = self.seen.wrapping_add(p.number);
    }
    fn on_arp(&mut self, _a: &ArpInfo, _out: &mut dyn FindingSink) {
        self.seen += 1;
    }
    fn on_event(&mut self, _e: &AppEvent, _out: &mut dyn FindingSink) {
        self.seen += 1;
    }
    fn on_flow_end(&mut self, f: &FlowRecord, _out: &mut dyn FindingSink) {
        self.seen = self.seen.wrapping_add(f.id.0);
    }
    fn on_tick(&mut self, now: Timestamp, _out: &mut dyn FindingSink) {
        self.seen = self.seen.wrapping_add(now.as_nanos() as u64);
    }
}

fn once(path: &str, threads: usize, noop: bool) -> Result<(f64, u64), String> {
    let mut analysis = Analysis::new().input(Input::path(path)).threads(threads);
    if noop {
        analysis = analysis.analyzer(Box::new(NoOp { seen: 0 }));
    }
    let started = Instant::now();
    let summary = analysis.run().map_err(|e| e.to_string())?;
    Ok((started.elapsed().as_secs_f64(), summary.packets))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: pipeline-cost CAPTURE");
        return ExitCode::from(2);
    };
    let repeat: usize = std::env::var("REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let configs = [(1, false), (1, true), (2, false), (2, true)];
    let mut best = [f64::INFINITY; 4];
    let mut packets = 0;
    for _ in 0..repeat {
        for (i, (threads, noop)) in configs.iter().enumerate() {
            match once(&path, *threads, *noop) {
                Ok((secs, n)) => {
                    packets = n;
                    if let Some(b) = best.get_mut(i) {
                        *b = b.min(secs);
                    }
                }
                Err(e) => {
                    eprintln!("pipeline-cost: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    for ((threads, noop), secs) in configs.iter().zip(best) {
        println!(
            "threads {threads}, {}: {secs:.3} s, {:.2} M packets/s",
            if *noop {
                "no-op analyser on everything"
            } else {
                "no analyser"
            },
            packets as f64 / secs / 1e6
        );
    }
    let [a, b, c, d] = best;
    println!("ratio 1 thread: {:.3}", a / b);
    println!("ratio 2 threads: {:.3}", c / d);
    ExitCode::SUCCESS
}
