//! Flows that are over end soon (issue 10): a connection refused by a RST,
//! or seen from its SYN and reset before any data, ends 5 s after its last
//! packet (Zeek's `tcp_reset_delay`), a SYN nobody answered 10 s after its
//! last retransmission, a connection closed by a FIN from each side 5 s
//! after its last packet (Zeek's `tcp_close_delay`); a connection reset
//! after data keeps the closed timeout (60 s). The records are those the
//! longer timeouts gave, only ended sooner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod capture_run;

use std::path::{Path, PathBuf};

use netsec_model::{
    Duration, FlowEndReason, FlowRecord, LinkType, RawPacket, TcpState, Timestamp, Transport,
};
use netsec_proto::{Engine, EngineConfig, EngineSink};

/// Flow records with the capture time each was handed over at.
#[derive(Default)]
struct Ended {
    now: Timestamp,
    flows: Vec<(Timestamp, FlowRecord)>,
}

impl EngineSink for Ended {
    fn flow_end(&mut self, f: FlowRecord) {
        self.flows.push((self.now, f));
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// An Ethernet/IPv4/TCP frame (checksums left zero: the engine does not check them).
fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, seq: u32, flags: u8) -> Vec<u8> {
    tcp_ack(src, sport, dst, dport, (seq, 0), flags)
}

/// The same with an acknowledgement number: `(seq, ack)`.
fn tcp_ack(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    (seq, ack): (u32, u32),
    flags: u8,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

/// The same with a payload (PSH+ACK).
fn data(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = tcp(src, sport, dst, dport, seq, 0x18);
    let total = (40 + payload.len()) as u16;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const C: [u8; 4] = [10, 0, 0, 1];
const S: [u8; 4] = [10, 0, 0, 2];

/// Feed `(seconds, frame)` in order, then end the input; records as ended.
fn run(packets: &[(f64, Vec<u8>)]) -> Vec<(Timestamp, FlowRecord)> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut sink = Ended::default();
    for (i, (secs, data)) in packets.iter().enumerate() {
        let ts = Timestamp::from_nanos(1_700_000_000_000_000_000 + (secs * 1e9) as i64);
        sink.now = ts;
        engine.process(
            &RawPacket {
                number: i as u64 + 1,
                ts,
                link_type: LinkType::Ethernet,
                interface: 0,
                orig_len: data.len() as u32,
                data,
            },
            &mut sink,
        );
    }
    sink.now = Timestamp::from_nanos(i64::MAX);
    engine.finish(&mut sink);
    sink.flows
}

fn secs(t: Timestamp) -> f64 {
    (t.as_nanos() - 1_700_000_000_000_000_000) as f64 / 1e9
}

/// A packet of another flow at `t`, to move the capture clock on.
fn clock(t: f64) -> (f64, Vec<u8>) {
    (t, tcp([10, 9, 9, 9], 999, [10, 9, 9, 8], 9, 1, ACK))
}

#[test]
fn refused_reset_and_unanswered_connections_end_soon() {
    let packets = vec![
        // A closed port: SYN, RST+ACK (a scan's usual probe).
        (0.0, tcp(C, 40000, S, 23, 100, SYN)),
        (0.001, tcp(S, 23, C, 40000, 0, RST | ACK)),
        // An open port reset by the scanner: SYN, SYN+ACK, RST.
        (0.0, tcp(C, 40001, S, 22, 200, SYN)),
        (0.001, tcp(S, 22, C, 40001, 900, SYN | ACK)),
        (0.002, tcp(C, 40001, S, 22, 201, RST)),
        // Nobody answers: the SYN and its retransmissions 1 and 2 s later.
        (0.0, tcp(C, 40002, S, 81, 300, SYN)),
        (1.0, tcp(C, 40002, S, 81, 300, SYN)),
        (3.0, tcp(C, 40002, S, 81, 300, SYN)),
        // A connection closed by FINs both ways, each acknowledged.
        (0.0, tcp(C, 40003, S, 80, 400, SYN)),
        (0.001, tcp_ack(S, 80, C, 40003, (800, 401), SYN | ACK)),
        (0.002, tcp_ack(C, 40003, S, 80, (401, 801), ACK)),
        (0.003, tcp_ack(C, 40003, S, 80, (401, 801), FIN | ACK)),
        (0.004, tcp_ack(S, 80, C, 40003, (801, 402), FIN | ACK)),
        (0.005, tcp_ack(C, 40003, S, 80, (402, 802), ACK)),
        // The same, the server's FIN never acknowledged: the closed timeout.
        (0.0, tcp(C, 40005, S, 82, 400, SYN)),
        (0.001, tcp_ack(S, 82, C, 40005, (800, 401), SYN | ACK)),
        (0.002, tcp_ack(C, 40005, S, 82, (401, 801), ACK)),
        (0.003, tcp_ack(C, 40005, S, 82, (401, 801), FIN | ACK)),
        (0.004, tcp_ack(S, 82, C, 40005, (801, 402), FIN | ACK)),
        // Data, then a RST: the closed timeout.
        (0.0, tcp(C, 40004, S, 8080, 500, SYN)),
        (0.001, tcp(S, 8080, C, 40004, 700, SYN | ACK)),
        (0.002, data(C, 40004, S, 8080, 501, b"hello")),
        (0.003, tcp(S, 8080, C, 40004, 701, RST)),
        clock(5.5),
        clock(12.0),
        clock(13.5),
        clock(70.0),
    ];
    let mut packets = packets;
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ended = run(&packets);
    let find = |port: u16| {
        ended
            .iter()
            .find(|(_, f)| f.transport == Transport::Tcp && f.server.port == port)
            .unwrap_or_else(|| panic!("no flow to port {port}"))
    };
    let (at, refused) = find(23);
    assert_eq!(refused.tcp_state, TcpState::Rejected);
    assert_eq!(refused.end_reason, FlowEndReason::TcpClose);
    assert_eq!(refused.packets(), 2);
    // Ended on the first tick at least 5 s after its last packet, not 60 s.
    assert!((5.0..6.0).contains(&secs(*at)), "refused ended at {at:?}");
    let (at, reset) = find(22);
    assert_eq!(reset.tcp_state, TcpState::Reset);
    assert_eq!(reset.end_reason, FlowEndReason::TcpClose);
    assert_eq!(reset.packets(), 3);
    assert!((5.0..6.0).contains(&secs(*at)), "reset ended at {at:?}");
    // The retransmitted SYNs stay one flow, over 10 s after the last one.
    let (at, attempt) = find(81);
    assert_eq!(attempt.tcp_state, TcpState::SynSent);
    assert_eq!(attempt.end_reason, FlowEndReason::IdleTimeout);
    assert_eq!(attempt.packets(), 3);
    assert!((13.0..14.0).contains(&secs(*at)), "attempt ended at {at:?}");
    let (at, reset_after_data) = find(8080);
    assert_eq!(reset_after_data.tcp_state, TcpState::Reset);
    assert!(secs(*at) >= 60.0, "reset after data ended at {at:?}");
    // FINs both ways and the last ACK: the close delay, 5 s.
    let (at, closed) = find(80);
    assert_eq!(closed.tcp_state, TcpState::Closed);
    assert_eq!(closed.end_reason, FlowEndReason::TcpClose);
    assert_eq!(closed.packets(), 6);
    assert!((5.0..6.0).contains(&secs(*at)), "closed ended at {at:?}");
    let (at, unacknowledged) = find(82);
    assert_eq!(unacknowledged.tcp_state, TcpState::Closed);
    assert!(
        secs(*at) >= 60.0,
        "closed, FIN unacknowledged, ended at {at:?}"
    );
}

#[test]
fn retransmissions_and_a_rst_within_5_s_of_the_fins_stay_in_the_flow() {
    let mut packets = vec![
        (0.0, tcp(C, 40020, S, 80, 100, SYN)),
        (0.001, tcp_ack(S, 80, C, 40020, (500, 101), SYN | ACK)),
        (0.002, tcp_ack(C, 40020, S, 80, (101, 501), ACK)),
        (0.003, data(C, 40020, S, 80, 101, b"GET / HTTP/1.0\r\n\r\n")),
        (
            0.004,
            data(S, 80, C, 40020, 501, b"HTTP/1.0 200 OK\r\n\r\n"),
        ),
        (0.005, tcp_ack(S, 80, C, 40020, (520, 119), FIN | ACK)),
        (0.006, tcp_ack(C, 40020, S, 80, (119, 521), FIN | ACK)),
        (0.007, tcp_ack(S, 80, C, 40020, (521, 120), ACK)),
        // Both FINs acknowledged; the server retransmits its own 3 s later
        // all the same, the client acknowledges it again and resets 4 s
        // after that (each within 5 s of the flow's last packet).
        (3.0, tcp_ack(S, 80, C, 40020, (520, 120), FIN | ACK)),
        (3.001, tcp_ack(C, 40020, S, 80, (120, 521), ACK)),
        (7.0, tcp(C, 40020, S, 80, 120, RST)),
        clock(12.5),
        // 6 s after the RST: a stray ACK is a new (mid-stream) flow.
        (13.0, tcp(C, 40020, S, 80, 120, ACK)),
        clock(30.0),
    ];
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ended = run(&packets);
    let flows: Vec<&(Timestamp, FlowRecord)> = ended
        .iter()
        .filter(|(_, f)| f.client.port == 40020 || f.server.port == 40020)
        .collect();
    assert_eq!(flows.len(), 2, "{flows:?}");
    let (at, first) = flows[0];
    assert_eq!(first.packets(), 11);
    assert_eq!(first.tcp_state, TcpState::Reset);
    assert_eq!(first.end_reason, FlowEndReason::TcpClose);
    assert!((12.0..13.0).contains(&secs(*at)), "ended at {at:?}");
    assert_eq!(flows[1].1.packets(), 1);
    assert_eq!(flows[1].1.tcp_state, TcpState::MidStream);
}

/// Flow records in the order handed over, each with the capture time of the
/// tick it was handed over at.
#[derive(Default)]
struct Handed {
    pending: Vec<FlowRecord>,
    flows: Vec<(Timestamp, FlowRecord)>,
    ticks: Vec<Timestamp>,
}

impl EngineSink for Handed {
    fn flow_end(&mut self, f: FlowRecord) {
        self.pending.push(f);
    }
    fn tick(&mut self, now: Timestamp) {
        self.flows.extend(self.pending.drain(..).map(|f| (now, f)));
        self.ticks.push(now);
    }
}

/// The real captures of the workspace whose clock runs long enough for a
/// close delay to pass: every one of testdata/ and its suricata-verify and
/// windows sets.
fn real_captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut paths = vec![
        root.join("sample.pcap"),
        root.join("http-files/http-files.pcap"),
        root.join("killchain/killchain.pcap"),
    ];
    for dir in ["suricata-verify", "windows"] {
        let mut set: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .collect();
        set.sort();
        paths.extend(set);
    }
    paths
}

/// On real captures the close delay changes when a connection closed by
/// FINs is handed over, never what its record holds: the records are those
/// of a 60 s delay, and each connection closed by FINs is handed over at the
/// first tick 5 s or more after its last packet (or at the end of input when
/// the capture's clock stops before).
#[test]
fn connections_closed_by_fins_end_5_s_after_their_last_packet_in_real_captures() {
    let delay = Duration::from_secs(5);
    let mut closed_by_fins = 0;
    let mut ended_early = 0;
    for path in real_captures() {
        let name = path.display();
        let mut short = Handed::default();
        let (_, frames) = capture_run::run_capture_with(&path, EngineConfig::default(), &mut short);
        let mut config = EngineConfig::default();
        config.flows.tcp_close_delay = Duration::from_secs(60);
        let mut long = Handed::default();
        capture_run::run_capture_with(&path, config, &mut long);
        assert!(frames > 0, "{name}");
        let mut a: Vec<&FlowRecord> = short.flows.iter().map(|(_, f)| f).collect();
        let mut b: Vec<&FlowRecord> = long.flows.iter().map(|(_, f)| f).collect();
        a.sort_by_key(|f| f.id);
        b.sort_by_key(|f| f.id);
        assert_eq!(a.len(), b.len(), "{name}: flows");
        for (x, y) in a.iter().zip(&b) {
            // The same record, ended by the close delay where the 60 s
            // delay had not come by the capture's end.
            let mut x = (*x).clone();
            if x.end_reason == FlowEndReason::TcpClose && y.end_reason == FlowEndReason::EndOfInput
            {
                x.end_reason = FlowEndReason::EndOfInput;
            }
            assert_eq!(&x, *y, "{name}");
        }
        // The ticks of the run, without the one of the end of input.
        let ticks = short.ticks.split_last().map_or(&[][..], |(_, t)| t);
        for (at, f) in &short.flows {
            if f.transport != Transport::Tcp || f.tcp_state != TcpState::Closed {
                continue;
            }
            closed_by_fins += 1;
            let due = f.time.end + delay;
            let first_due_tick = ticks.iter().find(|t| **t >= due);
            if f.end_reason == FlowEndReason::TcpClose {
                ended_early += 1;
                assert_eq!(Some(at), first_due_tick, "{name}: {f:?}");
            } else {
                assert_eq!(f.end_reason, FlowEndReason::EndOfInput, "{name}: {f:?}");
                assert_eq!(
                    first_due_tick, None,
                    "{name}: {f:?} not ended by the close delay"
                );
            }
        }
    }
    // Pinned: the captures hold 127 connections closed by FINs, 53 of them
    // ended by the close delay before the capture's end.
    assert_eq!(closed_by_fins, 127, "connections closed by FINs");
    assert_eq!(ended_early, 53, "ended by the close delay");
}
