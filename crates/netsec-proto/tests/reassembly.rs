//! TCP reassembly that an attacker cannot steer, on whole captures through
//! the engine.
//!
//! `tests/data/reassembly/*.pcap` (made by `scripts/craft-reassembly-captures.py`)
//! each hold one HTTP request for `real.example` and one evasion: the request
//! out of order across the 2^32 sequence wrap, a spoofed request 20 MB ahead
//! of the stream, a longer decoy segment at the same sequence number as
//! buffered data. netsec must log the real Host, once, on all three.
//!
//! The suricata-verify stream cases (`bug-3286-0{1,2,3}`: RST and FIN with
//! invalid timestamps before the real handshake) must give what their
//! `test.yaml` expects: one HTTP response, status 200, 14 bytes of body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capture_run;

use std::path::{Path, PathBuf};

use netsec_model::{AppEvent, FlowRecord, HttpMessage};
use netsec_proto::{EngineSink, EngineStats};

#[derive(Default)]
struct Collected {
    events: Vec<AppEvent>,
    flows: Vec<FlowRecord>,
}

impl EngineSink for Collected {
    fn event(&mut self, e: AppEvent) {
        self.events.push(e);
    }
    fn flow_end(&mut self, f: FlowRecord) {
        self.flows.push(f);
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reassembly")
        .join(name)
}

fn run(path: &Path) -> (EngineStats, Collected) {
    let mut sink = Collected::default();
    let (engine, _) = capture_run::run_capture(path, &mut sink);
    (engine.stats().clone(), sink)
}

/// (hosts of requests, statuses of responses)
fn http(events: &[AppEvent]) -> (Vec<String>, Vec<u16>) {
    let mut hosts = Vec::new();
    let mut statuses = Vec::new();
    for e in events {
        if let AppEvent::Http(h) = e {
            match &h.message {
                HttpMessage::Request { host, .. } => {
                    hosts.push(host.clone().unwrap_or_default());
                }
                HttpMessage::Response { status, .. } => statuses.push(*status),
            }
        }
    }
    (hosts, statuses)
}

#[test]
fn out_of_order_across_the_sequence_wrap() {
    let (stats, out) = run(&data("wrap-out-of-order.pcap"));
    assert_eq!(http(&out.events), (vec!["real.example".into()], vec![200]));
    assert_eq!(stats.tcp_gap_bytes, 0, "{stats:?}");
    assert_eq!(out.flows.len(), 1);
    assert_eq!(out.flows[0].missing_bytes, 0);
}

#[test]
fn spoofed_segment_far_ahead_is_ignored() {
    let (stats, out) = run(&data("spoof-far-ahead.pcap"));
    assert_eq!(http(&out.events), (vec!["real.example".into()], vec![200]));
    assert_eq!(stats.tcp_out_of_window, 1, "{stats:?}");
    assert_eq!(stats.tcp_gap_bytes, 0, "{stats:?}");
}

#[test]
fn longer_decoy_at_the_same_sequence_does_not_replace_buffered_data() {
    let (stats, out) = run(&data("overlap-decoy.pcap"));
    assert_eq!(http(&out.events), (vec!["real.example".into()], vec![200]));
    // The decoy overlaps the buffered segment; the last line is then all seen.
    assert!(stats.tcp_overlaps >= 1, "{stats:?}");
    assert_eq!(stats.tcp_gap_bytes, 0, "{stats:?}");
    let user_agents: Vec<_> = out
        .events
        .iter()
        .filter_map(|e| match e {
            AppEvent::Http(h) => match &h.message {
                HttpMessage::Request { user_agent, .. } => user_agent.clone(),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(user_agents, ["craft/1"]);
}

/// suricata-verify's stream evasion cases: `test.yaml` expects one HTTP
/// event with status 200 (and a 14-byte body) in each.
#[test]
fn suricata_verify_stream_evasion_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reassembly");
    for name in [
        "bug-3286-01-no-evasion.pcap",
        "bug-3286-02-linux-evasion.pcap",
        "bug-3286-03-windows-evasion.pcap",
    ] {
        let (stats, out) = run(&root.join(name));
        let (hosts, statuses) = http(&out.events);
        assert_eq!(statuses, [200], "{name}: {stats:?}");
        assert_eq!(hosts, ["192.168.1.90"], "{name}");
        let lengths: Vec<_> = out
            .events
            .iter()
            .filter_map(|e| match e {
                AppEvent::Http(h) => match &h.message {
                    HttpMessage::Response { content_length, .. } => *content_length,
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(lengths, [14], "{name}");
    }
}
