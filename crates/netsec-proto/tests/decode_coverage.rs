//! Decoding coverage against tshark: every capture in `tests/data/decode/`
//! (encapsulations and link types: MPLS, PPPoE, LLC/SNAP, 802.11 with and
//! without radiotap, NFLOG, Geneve, GTP-U (also fragmented), GRE with ERSPAN
//! I/II/III, PPTP, TEB and MPLS (also fragmented), Teredo, AYIYA, Cisco
//! HDLC, TLS inside an HTTP CONNECT tunnel, TLS and HTTP inside SOCKS 5 and
//! 4a, DNS messages strict parsers refuse) goes through the engine, and what it
//! sees must equal what tshark saw (`tests/data/decode/expected/NAME.json`,
//! written by `scripts/tshark_expectations.py`): frames per network layer,
//! per transport, DNS messages and names, HTTP requests and hosts, TLS
//! ClientHellos and SNIs, TCP and UDP conversations.
//!
//! Each difference from tshark allowed by design is listed in
//! `KNOWN_DIFFERENCES` with its reason (testdata/README.md repeats them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capture_run;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use netsec_model::{AppEvent, FlowRecord, HttpMessage, PacketInfo, TlsMessage, Transport};
use netsec_proto::EngineSink;
use serde_json::Value;

/// Why UDP tunnels differ: tshark counts a tunnelled frame under its first
/// transport (the outer UDP) and its conversation on the outer 5-tuple;
/// netsec counts the innermost transport and keys the flow on the innermost
/// headers, as Suricata and Zeek do (GRE has no outer transport, so both
/// agree there). The total of transports is compared in every capture.
const UDP_TUNNEL: &str = "UDP tunnel: tshark counts the outer UDP, netsec the inner transport";

/// (capture, field, why netsec's value differs from tshark's).
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    ("geneve", "tcp", UDP_TUNNEL),
    ("geneve", "udp", UDP_TUNNEL),
    ("geneve", "udp_conversations", UDP_TUNNEL),
    ("gtpu", "tcp", UDP_TUNNEL),
    ("gtpu", "udp", UDP_TUNNEL),
    ("gtpu", "udp_conversations", UDP_TUNNEL),
    ("tunnel-fragments", "tcp", UDP_TUNNEL),
    ("tunnel-fragments", "udp", UDP_TUNNEL),
    ("tunnel-fragments", "udp_conversations", UDP_TUNNEL),
    ("ayiya", "udp_conversations", UDP_TUNNEL),
    ("decode-teredo-01", "icmpv6", UDP_TUNNEL),
    ("decode-teredo-01", "udp", UDP_TUNNEL),
    ("decode-teredo-01", "udp_conversations", UDP_TUNNEL),
    (
        "decode-teredo-01",
        "dns_messages",
        "three NetBIOS name queries (UDP 137) have DNS's wire format: netsec identifies \
         protocols by content and logs them as DNS, tshark names them NBNS by port",
    ),
    (
        "decode-teredo-01",
        "dns_query_names",
        "the NBNS queries' encoded name, as above",
    ),
    (
        "decode-teredo-01",
        "tcp_conversations",
        "a host resets a connection 16 s after both its FINs were acknowledged: netsec \
         ends a closed connection 5 s after its last packet, as Zeek (tcp_close_delay), \
         so the RST is a flow of its own; tshark has no timeouts",
    ),
    (
        "decode-teredo-01",
        "transport_total",
        "one Teredo frame holds an IPv6 packet with no next header (a connectivity test): \
         tshark counts it under the outer UDP, netsec under no transport",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/decode")
}

#[derive(Default)]
struct View {
    network: BTreeMap<&'static str, u64>,
    transport: BTreeMap<&'static str, u64>,
    dns_messages: u64,
    dns_names: BTreeSet<String>,
    http_requests: u64,
    http_hosts: BTreeSet<String>,
    tls_hellos: u64,
    tls_snis: BTreeSet<String>,
    flows: BTreeMap<&'static str, u64>,
}

impl EngineSink for View {
    fn packet(&mut self, p: &PacketInfo) {
        let net = match p.ether_type {
            0x0800 => "ipv4",
            0x86dd => "ipv6",
            0x0806 => "arp",
            _ => "other",
        };
        *self.network.entry(net).or_default() += 1;
        if let Some(ip) = p.ip.filter(|ip| !ip.fragmented || ip.reassembled) {
            *self
                .transport
                .entry(transport_name(ip.transport))
                .or_default() += 1;
        }
    }
    fn event(&mut self, e: AppEvent) {
        match e {
            AppEvent::Dns(d) => {
                self.dns_messages += 1;
                self.dns_names
                    .extend(d.questions.iter().map(|q| q.name.to_string()));
            }
            AppEvent::Http(h) => {
                if let HttpMessage::Request { host, .. } = &h.message {
                    self.http_requests += 1;
                    self.http_hosts.extend(host.clone());
                }
            }
            AppEvent::Tls(t) => {
                if let TlsMessage::ClientHello(ch) = &t.message {
                    self.tls_hellos += 1;
                    self.tls_snis.extend(ch.server_name.clone());
                }
            }
            _ => {}
        }
    }
    fn flow_end(&mut self, f: FlowRecord) {
        *self.flows.entry(transport_name(f.transport)).or_default() += 1;
    }
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Icmp => "icmp",
        Transport::Icmpv6 => "icmpv6",
        Transport::Sctp => "sctp",
        _ => "other",
    }
}

/// What netsec sees in a capture, in the shape of the tshark expectation.
fn netsec_view(path: &Path) -> Value {
    let mut view = View::default();
    let (_, packets) = capture_run::run_capture(path, &mut view);
    let n = |m: &BTreeMap<&str, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    serde_json::json!({
        "packets": packets,
        "ipv4": n(&view.network, "ipv4"),
        "ipv6": n(&view.network, "ipv6"),
        "arp": n(&view.network, "arp"),
        "tcp": n(&view.transport, "tcp"),
        "udp": n(&view.transport, "udp"),
        "icmp": n(&view.transport, "icmp"),
        "icmpv6": n(&view.transport, "icmpv6"),
        "sctp": n(&view.transport, "sctp"),
        "dns_messages": view.dns_messages,
        "dns_query_names": view.dns_names,
        "http_requests": view.http_requests,
        "http_hosts": view.http_hosts,
        "tls_client_hellos": view.tls_hellos,
        "tls_snis": view.tls_snis,
        "ssh_banners": [],
        "tcp_conversations": n(&view.flows, "tcp"),
        "udp_conversations": n(&view.flows, "udp"),
    })
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn netsec_decodes_what_tshark_decodes() {
    let mut expectations: Vec<PathBuf> = std::fs::read_dir(dir().join("expected"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    expectations.sort();
    let mut mismatches = Vec::new();
    let mut compared = Vec::new();
    for exp_path in &expectations {
        let name = exp_path.file_stem().unwrap().to_str().unwrap().to_string();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(exp_path).unwrap()).unwrap();
        let got = netsec_view(&dir().join(format!("{name}.pcap")));
        for (field, want) in expected.as_object().unwrap() {
            if field.starts_with('_') {
                continue;
            }
            let allowed = KNOWN_DIFFERENCES
                .iter()
                .any(|(c, f, _)| *c == name && *f == field);
            let have = &got[field];
            let equal = if want.is_array() {
                strings(want) == strings(have)
            } else {
                want.as_u64() == have.as_u64()
            };
            match (equal, allowed) {
                (false, false) => {
                    mismatches.push(format!("{name}.{field}: tshark {want} netsec {have}"))
                }
                (true, true) => mismatches.push(format!(
                    "{name}.{field}: listed as a known difference, but both say {want}"
                )),
                _ => {}
            }
        }
        let total = |v: &Value| -> u64 {
            ["tcp", "udp", "icmp", "icmpv6", "sctp"]
                .iter()
                .map(|t| v[*t].as_u64().unwrap_or(0))
                .sum()
        };
        let allowed = KNOWN_DIFFERENCES
            .iter()
            .any(|(c, f, _)| *c == name && *f == "transport_total");
        if (total(&expected) != total(&got)) != allowed {
            mismatches.push(format!(
                "{name}: frames with a transport: tshark {} netsec {}",
                total(&expected),
                total(&got)
            ));
        }
        compared.push(name);
    }
    // Pinned: every capture of the folder has its expectation.
    assert_eq!(compared.len(), 19, "{compared:?}");
    assert!(
        mismatches.is_empty(),
        "{} differences from tshark:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Every frame of every capture here, cut at every length and with each
/// byte flipped in turn: decoding never panics.
#[test]
fn truncated_and_flipped_frames_never_panic() {
    for entry in std::fs::read_dir(dir()).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "pcap") {
            continue;
        }
        let (link, frames) = capture_run::frames(&path);
        for mut frame in frames.into_iter().take(20) {
            for len in 0..=frame.len() {
                let raw = capture_run::raw(link, frame.get(..len).unwrap());
                let _ = netsec_proto::decode(&raw);
                let _ = netsec_proto::shard_class(&raw);
            }
            for i in 0..frame.len().min(120) {
                frame[i] ^= 0xff;
                let _ = netsec_proto::decode(&capture_run::raw(link, &frame));
                frame[i] ^= 0xff;
            }
        }
    }
}
