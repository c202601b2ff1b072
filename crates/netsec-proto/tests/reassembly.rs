//! TCP reassembly that an attacker cannot steer, on whole captures through
//! the engine.
//!
//! `tests/data/reassembly/*.pcap` (made by `scripts/craft-reassembly-captures.py`)
//! each hold one HTTP request for `real.example` and one evasion: the request
//! out of order across the 2^32 sequence wrap, a spoofed request 20 MB ahead
//! of the stream, a longer decoy segment at the same sequence number as
//! buffered data. netsec must log the real Host, once, on all three.
//!
//! suricata-verify cases with retransmitted, out-of-order or one-sided
//! streams must give the HTTP transactions their `test.yaml` expects:
//! `bug-3286-0{1,2,3}` (RST and FIN with invalid timestamps before the real
//! handshake), `bug-28` (retransmissions before the request), `bug-2512`
//! (one side of a CONNECT only: the receiver's window is never seen),
//! `bug-5437-02` (HTTP picked up mid-stream).
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

/// (method, uri, host, user agent) of every request.
fn requests(events: &[AppEvent]) -> Vec<(String, String, String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AppEvent::Http(h) => match &h.message {
                HttpMessage::Request {
                    method,
                    uri,
                    host,
                    user_agent,
                } => Some((
                    method.to_string(),
                    uri.clone(),
                    host.clone().unwrap_or_default(),
                    user_agent.clone().unwrap_or_default(),
                )),
                _ => None,
            },
            _ => None,
        })
        .collect()
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

/// `bug-28`: the request after retransmissions; test.yaml's hostname, url
/// and user agent on tx 0 of 192.168.2.7:1041 → 208.75.250.50:80.
#[test]
fn suricata_verify_bug_28_request_after_retransmissions() {
    let (_, out) = run(&data("bug-28.pcap"));
    let reqs = requests(&out.events);
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let (method, uri, host, agent) = &reqs[0];
    assert_eq!(method, "GET");
    assert_eq!(host, "btg.btgrab.com");
    assert!(uri.starts_with("/a/Drk.syn?adcontext=ROUTINE_CHECKIN&contextpeak=0"));
    assert!(uri.ends_with("&MA=005400123457&TM=-1"));
    assert_eq!(agent, "{2CAA09DF-35D8-471C-9979-A11DA0CC54DB}|0.21.5.110");
}

/// `bug-2512`: only the client's side of a CONNECT (Suricata runs it with
/// `stream.async-oneside`); test.yaml: one HTTP event, url
/// `secure-assets.rubiconproject.com:443`.
#[test]
fn suricata_verify_bug_2512_one_sided_connect() {
    let (stats, out) = run(&data("bug-2512.pcap"));
    let reqs = requests(&out.events);
    assert_eq!(reqs.len(), 1, "{reqs:?} {stats:?}");
    assert_eq!(reqs[0].0, "CONNECT");
    assert_eq!(reqs[0].1, "secure-assets.rubiconproject.com:443");
    assert_eq!(stats.tcp_out_of_window, 0);
}

/// `bug-5437-02`: HTTP picked up mid-stream; test.yaml: two flows with
/// app_proto http.
#[test]
fn suricata_verify_bug_5437_midstream_http() {
    let (_, out) = run(&data("bug-5437-02.pcap"));
    let http_flows = out
        .flows
        .iter()
        .filter(|f| f.app_proto == netsec_model::AppProto::Http)
        .count();
    assert_eq!(http_flows, 2, "{:#?}", out.flows);
}
