//! Test support for the app-layer tests: read a real capture with
//! pcap-parser, cut it into flows with etherparse, order each TCP direction
//! by sequence number (retransmissions dropped, holes reported as gaps), and
//! run `identify` and the `AppParser` over it the way the engine does.
//!
//! Deliberately independent of the crate's own engine, so these tests check
//! the parsers alone.
// Test support: a missing or unreadable fixture must fail the test loudly.
#![allow(dead_code, clippy::panic)]

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netsec_model::{AppEvent, AppProto, Direction, Endpoint, EventContext, Timestamp, Transport};
use netsec_proto::app::{identify, AppParser, FeedStatus};
use pcap_parser::PcapCapture;

/// A fixture of this crate (`tests/data/app/NAME`).
pub fn app_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/app")
        .join(name)
}

/// A capture of the workspace's cross-check set (`testdata/suricata-verify/NAME`).
pub fn suricata_verify(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/suricata-verify")
        .join(name)
}

/// A file of the workspace's `testdata/` (e.g. `sample.pcap`).
pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// One chunk of application bytes in flow order.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Packet number in the capture, from 1.
    pub number: u64,
    /// Index of the flow in order of first appearance.
    pub flow: usize,
    /// Direction relative to the flow's client.
    pub dir: Direction,
    /// Sender.
    pub src: Endpoint,
    /// Receiver.
    pub dst: Endpoint,
    /// The flow's client (the sender of the SYN, or of the first packet).
    pub client: Endpoint,
    /// The flow's server.
    pub server: Endpoint,
    /// Transport.
    pub transport: Transport,
    /// Bytes missing before `data` in this direction (TCP holes).
    pub gap_before: u64,
    /// New in-order bytes (TCP) or the whole datagram (UDP).
    pub data: Vec<u8>,
}

/// A flow's endpoints and what the parsers made of it.
#[derive(Debug, Clone)]
pub struct FlowRun {
    /// Client (the sender of the SYN, or of the first packet).
    pub client: Endpoint,
    /// Server.
    pub server: Endpoint,
    /// Transport.
    pub transport: Transport,
    /// What `identify` said, and on which packet.
    pub proto: Option<(AppProto, u64)>,
    /// The last status the parser returned.
    pub last_status: Option<FeedStatus>,
    /// What the parser counted as malformed.
    pub malformed: u64,
    /// Events, in order.
    pub events: Vec<AppEvent>,
}

#[derive(Default)]
struct TcpDir {
    next: Option<u32>,
}

struct FlowSlot {
    client: Endpoint,
    server: Endpoint,
    transport: Transport,
    dirs: [TcpDir; 2],
}

/// (link-layer-stripped packet, number) for every record of a legacy pcap.
fn frames(path: &Path) -> (i32, Vec<(u64, Vec<u8>)>) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "zst") {
        let mut raw = Vec::new();
        let mut z = ruzstd::decoding::StreamingDecoder::new(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        std::io::Read::read_to_end(&mut z, &mut raw)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        bytes = raw;
    }
    let cap = PcapCapture::from_file(&bytes)
        .unwrap_or_else(|e| panic!("{}: not a pcap: {e:?}", path.display()));
    let link = cap.header.network.0;
    let out = cap
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (i as u64 + 1, b.data.to_vec()))
        .collect();
    (link, out)
}

fn slice(link: i32, data: &[u8]) -> Option<etherparse::SlicedPacket<'_>> {
    match link {
        1 => etherparse::SlicedPacket::from_ethernet(data).ok(),
        // BSD loopback: 4-byte address family, then IP.
        0 => etherparse::SlicedPacket::from_ip(data.get(4..)?).ok(),
        101 | 228 | 229 | 12 | 14 => etherparse::SlicedPacket::from_ip(data).ok(),
        113 => etherparse::SlicedPacket::from_linux_sll(data).ok(),
        // Linux SLL2: a 20-byte header, then IP.
        276 => etherparse::SlicedPacket::from_ip(data.get(20..)?).ok(),
        _ => None,
    }
}

/// Every TCP/UDP payload of a capture, in flow order per direction.
pub fn segments(path: &Path) -> Vec<Segment> {
    let (link, frames) = frames(path);
    let mut flows: Vec<FlowSlot> = Vec::new();
    let mut index: HashMap<(u8, Endpoint, Endpoint), usize> = HashMap::new();
    let mut out = Vec::new();
    for (number, data) in frames {
        let Some(p) = slice(link, &data) else {
            continue;
        };
        let (sip, dip): (IpAddr, IpAddr) = match &p.net {
            Some(etherparse::NetSlice::Ipv4(v4)) => (
                v4.header().source_addr().into(),
                v4.header().destination_addr().into(),
            ),
            Some(etherparse::NetSlice::Ipv6(v6)) => (
                v6.header().source_addr().into(),
                v6.header().destination_addr().into(),
            ),
            _ => continue,
        };
        let (transport, sport, dport, payload, tcp) = match &p.transport {
            Some(etherparse::TransportSlice::Tcp(t)) => (
                Transport::Tcp,
                t.source_port(),
                t.destination_port(),
                t.payload(),
                Some((t.sequence_number(), t.syn(), t.ack())),
            ),
            Some(etherparse::TransportSlice::Udp(u)) => (
                Transport::Udp,
                u.source_port(),
                u.destination_port(),
                u.payload(),
                None,
            ),
            _ => continue,
        };
        let src = Endpoint::new(sip, sport);
        let dst = Endpoint::new(dip, dport);
        let tkey = u8::from(transport == Transport::Tcp);
        let fi = if let Some(&i) = index
            .get(&(tkey, src, dst))
            .or_else(|| index.get(&(tkey, dst, src)))
        {
            i
        } else {
            // A SYN-ACK seen first means the receiver is the client.
            let syn_ack = matches!(tcp, Some((_, true, true)));
            let (client, server) = if syn_ack { (dst, src) } else { (src, dst) };
            flows.push(FlowSlot {
                client,
                server,
                transport,
                dirs: Default::default(),
            });
            index.insert((tkey, client, server), flows.len() - 1);
            flows.len() - 1
        };
        let Some(flow) = flows.get_mut(fi) else {
            continue;
        };
        let dir = if src == flow.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let mut gap_before = 0;
        let mut data = payload;
        if let Some((seq, syn, _)) = tcp {
            let d = &mut flow.dirs[usize::from(dir == Direction::ToClient)];
            if syn {
                d.next = Some(seq.wrapping_add(1));
                continue;
            }
            if data.is_empty() {
                continue;
            }
            let next = *d.next.get_or_insert(seq);
            let ahead = seq.wrapping_sub(next) as i32;
            if ahead < 0 {
                // Retransmission, whole or partial.
                let overlap = ahead.unsigned_abs() as usize;
                if overlap >= data.len() {
                    continue;
                }
                data = &data[overlap..];
            } else {
                gap_before = ahead as u64;
            }
            d.next = Some(seq.wrapping_add(payload.len() as u32));
        }
        if data.is_empty() {
            continue;
        }
        out.push(Segment {
            number,
            flow: fi,
            dir,
            src,
            dst,
            client: flow.client,
            server: flow.server,
            transport,
            gap_before,
            data: data.to_vec(),
        });
    }
    out
}

/// Identify each flow on its first payloads and feed it to its parser, as
/// the engine does; `chunk` > 0 re-cuts every TCP segment into pieces of that
/// size to exercise reassembly inside the parsers.
pub fn run_with_chunks(path: &Path, chunk: usize) -> Vec<FlowRun> {
    let segs = segments(path);
    let mut runs: Vec<FlowRun> = Vec::new();
    let mut parsers: Vec<Option<AppParser>> = Vec::new();
    let mut tries: Vec<u32> = Vec::new();
    for s in segs {
        while runs.len() <= s.flow {
            runs.push(FlowRun {
                client: s.client,
                server: s.server,
                transport: s.transport,
                proto: None,
                last_status: None,
                malformed: 0,
                events: Vec::new(),
            });
            parsers.push(None);
            tries.push(0);
        }
        let run = &mut runs[s.flow];
        if run.proto.is_none() {
            tries[s.flow] += 1;
            if tries[s.flow] > 4 {
                continue;
            }
            let Some(p) = identify(
                s.transport,
                run.client.port,
                run.server.port,
                s.dir,
                &s.data,
            ) else {
                continue;
            };
            run.proto = Some((p, s.number));
            parsers[s.flow] = AppParser::new(p);
        }
        let Some(parser) = parsers[s.flow].as_mut() else {
            continue;
        };
        let ctx = EventContext {
            ts: Timestamp::ZERO,
            packet_number: s.number,
            flow_id: None,
            community_id: None,
            src: s.src,
            dst: s.dst,
            transport: s.transport,
            direction: s.dir,
        };
        if s.gap_before > 0 {
            parser.gap(s.dir, s.gap_before);
        }
        let step = if chunk == 0 || s.transport != Transport::Tcp {
            s.data.len().max(1)
        } else {
            chunk
        };
        let mut status = FeedStatus::Continue;
        for piece in s.data.chunks(step) {
            status = parser.feed(s.dir, piece, &ctx, &mut run.events);
            if status != FeedStatus::Continue {
                break;
            }
        }
        run.last_status = Some(status);
        run.malformed = parser.malformed();
        if status != FeedStatus::Continue {
            parsers[s.flow] = None;
        }
    }
    // End of input: what the parsers still hold open (as the engine does
    // when a flow ends).
    for (run, parser) in runs.iter_mut().zip(parsers.iter_mut()) {
        if let Some(p) = parser.as_mut() {
            let ctx = EventContext {
                ts: Timestamp::ZERO,
                packet_number: 0,
                flow_id: None,
                community_id: None,
                src: run.client,
                dst: run.server,
                transport: run.transport,
                direction: Direction::ToServer,
            };
            p.finish(&ctx, &mut run.events);
        }
    }
    runs
}

/// [`run_with_chunks`] with the capture's own segmentation.
pub fn run(path: &Path) -> Vec<FlowRun> {
    run_with_chunks(path, 0)
}

/// All events of all flows, in flow then stream order.
pub fn events(runs: Vec<FlowRun>) -> Vec<AppEvent> {
    runs.into_iter().flat_map(|r| r.events).collect()
}
