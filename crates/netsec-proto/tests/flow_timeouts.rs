//! Flows that are over end soon (issue 10): a connection refused by a RST,
//! or seen from its SYN and reset before any data, ends 5 s after its last
//! packet (Zeek's `tcp_reset_delay`), a SYN nobody answered 10 s after its
//! last retransmission; a connection closed by FINs, or reset after data,
//! keeps the closed timeout (60 s). The records are those the longer
//! timeouts gave, only ended sooner.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use netsec_model::{
    FlowEndReason, FlowRecord, LinkType, RawPacket, TcpState, Timestamp, Transport,
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
    let mut f = Vec::with_capacity(54);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&0u32.to_be_bytes());
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
        // A connection closed by FINs both ways.
        (0.0, tcp(C, 40003, S, 80, 400, SYN)),
        (0.001, tcp(S, 80, C, 40003, 800, SYN | ACK)),
        (0.002, tcp(C, 40003, S, 80, 401, ACK)),
        (0.003, tcp(C, 40003, S, 80, 401, FIN | ACK)),
        (0.004, tcp(S, 80, C, 40003, 801, FIN | ACK)),
        (0.005, tcp(C, 40003, S, 80, 402, ACK)),
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
    // FINs both ways: the closed timeout, 60 s.
    let (at, closed) = find(80);
    assert_eq!(closed.tcp_state, TcpState::Closed);
    assert_eq!(closed.end_reason, FlowEndReason::TcpClose);
    assert!(secs(*at) >= 60.0, "closed ended at {at:?}");
}

#[test]
fn packets_within_5_s_of_a_reset_stay_in_its_flow() {
    let mut packets = vec![
        (0.0, tcp(C, 40010, S, 80, 100, SYN)),
        (0.001, tcp(S, 80, C, 40010, 500, SYN | ACK)),
        (0.002, tcp(C, 40010, S, 80, 101, ACK)),
        (1.0, tcp(S, 80, C, 40010, 501, RST)),
        // A stray ACK 4 s later: the same flow, which then lives 5 s more.
        (5.0, tcp(C, 40010, S, 80, 101, ACK)),
        clock(7.0),
        // 6 s after that: a new flow on the same 5-tuple.
        (11.0, tcp(C, 40010, S, 80, 101, ACK)),
        clock(30.0),
    ];
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ended = run(&packets);
    let flows: Vec<&FlowRecord> = ended
        .iter()
        .map(|(_, f)| f)
        .filter(|f| f.client.port == 40010 || f.server.port == 40010)
        .collect();
    assert_eq!(flows.len(), 2, "{flows:?}");
    assert_eq!(flows[0].packets(), 5);
    assert_eq!(flows[0].tcp_state, TcpState::Reset);
    assert_eq!(flows[1].packets(), 1);
}
