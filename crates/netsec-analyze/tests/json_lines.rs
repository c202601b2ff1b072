#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The log lines' JSON writer (`netsec_analyze::json`), and the flow, DNS,
//! HTTP and file lines written by hand (`FlowDocument::write_json`,
//! `EventDocument::write_json`), write every document of every capture in
//! testdata/ byte for byte as serde_json does.

use std::path::{Path, PathBuf};

use netsec_analyze::json;
use netsec_capture::CaptureReader;
use netsec_model::ecs::{ArpDocument, EventDocument, FlowDocument};
use netsec_model::{AppEvent, ArpInfo, FlowRecord};
use netsec_proto::{Engine, EngineConfig, EngineSink};

#[derive(Default)]
struct Documents {
    flows: Vec<FlowRecord>,
    events: Vec<AppEvent>,
    arp: Vec<ArpInfo>,
}

impl EngineSink for Documents {
    fn flow_end(&mut self, f: FlowRecord) {
        self.flows.push(f);
    }
    fn flow_update(&mut self, f: FlowRecord) {
        self.flows.push(f);
    }
    fn event(&mut self, e: AppEvent) {
        self.events.push(e);
    }
    fn arp(&mut self, a: &ArpInfo) {
        self.arp.push(*a);
    }
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            captures(&path, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".pcap"))
        {
            out.push(path);
        }
    }
}

fn same<T: serde::Serialize>(doc: &T, what: &str) {
    let mut ours = Vec::new();
    json::to_vec(&mut ours, doc).unwrap();
    let theirs = serde_json::to_vec(doc).unwrap();
    assert!(
        ours == theirs,
        "{what}:\nours   {}\nserde_json {}",
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}

#[test]
fn every_document_of_the_test_captures_is_written_as_serde_json_writes_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut paths = Vec::new();
    captures(&root, &mut paths);
    paths.sort();
    let (mut flows, mut events, mut arp) = (0, 0, 0);
    let mut dns = DnsCounts::default();
    let mut http = HttpCounts::default();
    for path in &paths {
        let Ok(mut reader) = CaptureReader::open(path) else {
            continue;
        };
        let mut config = EngineConfig::default();
        // Snapshots too: they are logged as flows.
        config.flows.update_interval = Some(netsec_model::Duration::from_secs(1));
        let mut engine = Engine::new(config);
        let mut docs = Documents::default();
        while let Ok(Some(packet)) = reader.next_packet() {
            engine.process(&packet, &mut docs);
        }
        engine.finish(&mut docs);
        let name = path.display().to_string();
        for f in &docs.flows {
            same(&FlowDocument(f), &name);
            // The flow line written by hand, as the log writer does.
            let mut by_hand = Vec::new();
            assert!(FlowDocument(f).write_json(&mut by_hand), "{name}");
            assert!(
                by_hand == serde_json::to_vec(&FlowDocument(f)).unwrap(),
                "{name}: {}",
                String::from_utf8_lossy(&by_hand)
            );
        }
        for e in &docs.events {
            same(&EventDocument(e), &name);
            match e {
                AppEvent::Http(h) => {
                    by_hand(e, &name);
                    http.messages += 1;
                    http.responses += usize::from(matches!(
                        h.message,
                        netsec_model::HttpMessage::Response { .. }
                    ));
                    http.ports += usize::from(matches!(
                        &h.message,
                        netsec_model::HttpMessage::Request { host: Some(host), .. }
                            if netsec_model::ecs::split_host_port(host).1.is_some()
                    ));
                    continue;
                }
                AppEvent::File(f) => {
                    by_hand(e, &name);
                    http.files += 1;
                    http.uploads +=
                        usize::from(f.ctx.direction == netsec_model::Direction::ToServer);
                    continue;
                }
                AppEvent::Dns(_) => {}
                _ => {
                    // Only DNS, HTTP and file lines are written by hand.
                    assert!(!EventDocument(e).write_json(&mut Vec::new()), "{name}");
                    continue;
                }
            }
            let AppEvent::Dns(d) = e else {
                continue;
            };
            dns.messages += 1;
            dns.matched += usize::from(d.query.is_some());
            dns.records += usize::from(!d.authorities.is_empty() || !d.additionals.is_empty());
            by_hand(e, &name);
            if !d.is_response {
                // As the log writer writes a query no response answered.
                let mut marked = d.clone();
                marked.unanswered = true;
                by_hand(&AppEvent::Dns(marked), &name);
            }
        }
        for a in &docs.arp {
            same(&ArpDocument(a), &name);
        }
        flows += docs.flows.len();
        events += docs.events.len();
        arp += docs.arp.len();
    }
    assert!(paths.len() >= 190, "{} captures", paths.len());
    assert!(
        flows > 10_000 && events > 5_000 && arp > 10,
        "{flows} {events} {arp}"
    );
    // Every path of the DNS writer ran: answers matched to their query
    // (latency), authority or additional records (through serde_json).
    assert!(
        dns.messages > 1_000 && dns.matched > 300 && dns.records > 20,
        "{dns:?}"
    );
    // And of the HTTP and file writers: requests and responses, a Host
    // with a port, downloads and uploads.
    assert!(
        http.messages >= 345
            && http.responses >= 165
            && http.ports >= 9
            && http.files >= 175
            && http.uploads >= 12,
        "{http:?}"
    );
}

#[derive(Debug, Default)]
struct HttpCounts {
    messages: usize,
    responses: usize,
    ports: usize,
    files: usize,
    uploads: usize,
}

#[derive(Debug, Default)]
struct DnsCounts {
    messages: usize,
    matched: usize,
    records: usize,
}

/// An event's line written by hand, as the log writer writes it, equals
/// serde_json's.
fn by_hand(e: &AppEvent, name: &str) {
    let mut by_hand = b"before".to_vec();
    assert!(EventDocument(e).write_json(&mut by_hand), "{name}");
    let mut theirs = b"before".to_vec();
    theirs.extend(serde_json::to_vec(&EventDocument(e)).unwrap());
    assert!(
        by_hand == theirs,
        "{name}:\nby hand    {}\nserde_json {}",
        String::from_utf8_lossy(&by_hand),
        String::from_utf8_lossy(&theirs)
    );
    // A Community ID with text to escape (never one the engine makes) is
    // left to serde: nothing written.
    let mut odd = e.clone();
    let quoted = Some("1:\"quoted\"".to_string());
    match &mut odd {
        AppEvent::Dns(d) => d.ctx.community_id = quoted,
        AppEvent::Http(h) => h.ctx.community_id = quoted,
        AppEvent::File(f) => f.ctx.community_id = quoted,
        _ => return,
    }
    let mut out = b"before".to_vec();
    assert!(!EventDocument(&odd).write_json(&mut out));
    assert_eq!(out, b"before");
}
