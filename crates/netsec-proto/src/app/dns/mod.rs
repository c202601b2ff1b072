//! DNS over UDP (one message per datagram) and TCP (messages framed by a
//! two-byte length, RFC 1035 §4.2.2, possibly split across segments or
//! several to a segment).

pub mod parser;

use netsec_model::{
    AppEvent, Direction, DnsEvent, DnsQueryMatch, EventContext, Timestamp, Transport,
};

use super::{side_index, FeedStatus};

/// Datagrams that fail to parse, with none parsed before, after which a UDP
/// flow is taken for not being DNS at all.
const MAX_MALFORMED_BEFORE_FIRST: u64 = 4;

/// Queries of one flow awaiting their response, at most (the oldest is
/// forgotten first).
pub const PENDING_QUERIES: usize = 64;

/// How long after its query a response is still matched to it: passive
/// DNS's 5 s (`netsec_dns::passive::ANSWER_TIMEOUT_SECS`).
pub const ANSWER_WINDOW_NS: i64 = 5_000_000_000;

/// A query awaiting its response.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u16,
    direction: Direction,
    packet_number: u64,
    ts: Timestamp,
}

/// One TCP direction: the bytes of an incomplete message (length prefix
/// included). Bounded by the largest message, 65 535 + 2 bytes.
#[derive(Debug, Default)]
struct Side {
    pending: Vec<u8>,
    /// Bytes went missing: skip data until something looks like a framed message.
    desync: bool,
}

/// Per-flow DNS state.
#[derive(Debug, Default)]
pub struct DnsState {
    sides: [Side; 2],
    /// Queries awaiting their response, oldest first.
    pending: Vec<Pending>,
    /// Messages parsed.
    pub parsed: u64,
    /// Messages that failed to parse (counted and skipped).
    pub malformed: u64,
}

/// Whether TCP bytes start with a length prefix and a DNS query header.
fn starts_like_framed(data: &[u8]) -> bool {
    data.get(0..2)
        .is_some_and(|l| usize::from(u16::from_be_bytes([l[0], l[1]])) >= parser::HEADER_LEN)
        && data.get(2..).is_some_and(parser::looks_like_dns_header)
}

impl DnsState {
    /// Whether a DNS-over-UDP flow's state can be put away until its next
    /// datagram and made again then ([`Self::resumed`]) without changing
    /// anything: no query waits for its response, something parsed and
    /// nothing failed (so the "never parsed" rule can no longer apply).
    pub fn is_idle_datagrams(&self) -> bool {
        self.pending.is_empty()
            && self.parsed > 0
            && self.malformed == 0
            && self.sides.iter().all(|s| s.pending.is_empty() && !s.desync)
    }

    /// The state of a flow put away while idle ([`Self::is_idle_datagrams`]).
    pub fn resumed() -> Self {
        DnsState {
            parsed: 1,
            ..DnsState::default()
        }
    }

    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|s| s.pending.capacity())
            .sum::<usize>()
            + self.pending.capacity() * std::mem::size_of::<Pending>()
    }

    /// Match a response to the flow's query with its transaction id, sent
    /// the other way at most 5 s before (the latest such query, as passive
    /// DNS matches); remember a query.
    fn match_query(&mut self, ev: &mut DnsEvent) {
        let ctx = &ev.ctx;
        if !ev.is_response {
            self.pending.retain(|p| p.id != ev.id);
            if self.pending.len() >= PENDING_QUERIES {
                self.pending.remove(0);
            }
            // Most flows carry one lookup: room for one query (then
            // growing as a vector does), not the four a first push gives.
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(1);
            }
            self.pending.push(Pending {
                id: ev.id,
                direction: ctx.direction,
                packet_number: ctx.packet_number,
                ts: ctx.ts,
            });
            return;
        }
        let Some(i) = self
            .pending
            .iter()
            .rposition(|p| p.id == ev.id && p.direction != ctx.direction)
        else {
            return;
        };
        let p = self.pending.remove(i);
        if self.pending.is_empty() {
            // Answered: the flow (held its timeout, 60 s for UDP) keeps no
            // buffer for queries to come.
            self.pending = Vec::new();
        }
        let latency_ns = ctx.ts.as_nanos().saturating_sub(p.ts.as_nanos());
        if (0..=ANSWER_WINDOW_NS).contains(&latency_ns) {
            ev.query = Some(DnsQueryMatch {
                packet_number: p.packet_number,
                ts: p.ts,
                latency_ns,
            });
        }
    }

    /// Feed a datagram (UDP) or stream bytes (TCP).
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        if ctx.transport != Transport::Tcp {
            self.message(data, ctx, out);
            // A bad datagram does not make the next one bad; a flow that never
            // parsed is not DNS after all.
            return if self.parsed == 0 && self.malformed >= MAX_MALFORMED_BEFORE_FIRST {
                FeedStatus::Error
            } else {
                FeedStatus::Continue
            };
        }
        self.feed_tcp(side_index(dir), data, ctx, out);
        FeedStatus::Continue
    }

    fn feed_tcp(&mut self, i: usize, mut data: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) {
        let Some(side) = self.sides.get_mut(i) else {
            return;
        };
        if side.desync {
            if !starts_like_framed(data) {
                return;
            }
            side.desync = false;
        }
        // Complete the message left over from earlier segments first.
        let mut completed = None;
        while !side.pending.is_empty() && !data.is_empty() {
            // The whole message's size once the prefix is in, else the prefix's.
            let want = side
                .pending
                .get(0..2)
                .map(|l| 2 + usize::from(u16::from_be_bytes([l[0], l[1]])));
            let take = want
                .unwrap_or(2)
                .saturating_sub(side.pending.len())
                .min(data.len());
            let (head, rest) = data.split_at(take);
            side.pending.extend_from_slice(head);
            data = rest;
            if want == Some(side.pending.len()) {
                completed = Some(std::mem::take(&mut side.pending));
            }
        }
        if let Some(msg) = completed {
            self.message(msg.get(2..).unwrap_or(&[]), ctx, out);
        }
        // Whole messages straight from the segment, no copy.
        while let Some(l) = data.get(0..2) {
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            let Some(body) = data.get(2..2 + len) else {
                break;
            };
            data = data.get(2 + len..).unwrap_or(&[]);
            self.message(body, ctx, out);
        }
        if let Some(side) = self.sides.get_mut(i) {
            // At most one incomplete message is left: ≤ 65 537 bytes.
            side.pending.extend_from_slice(data);
        }
    }

    fn message(&mut self, body: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) {
        match parser::parse_message(body, ctx) {
            Some(mut ev) => {
                self.match_query(&mut ev);
                self.parsed += 1;
                out.push(AppEvent::Dns(ev));
            }
            None => self.malformed += 1,
        }
    }

    /// Bytes are missing: framing is lost in that direction until a segment
    /// starts like a framed message again.
    pub fn gap(&mut self, dir: Direction) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.pending.clear();
            side.desync = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(transport: Transport) -> EventContext {
        crate::app::test_context(transport, 53)
    }

    /// Query for 0.google.com of `dns-tcp-multirequest-buffer` (suricata-verify).
    const QUERY: &[u8] = b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
\x010\x06google\x03com\x00\x00\x01\x00\x01";

    fn framed(n: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for k in 0..n {
            v.extend_from_slice(&(QUERY.len() as u16).to_be_bytes());
            let mut q = QUERY.to_vec();
            q[1] = k as u8;
            v.extend_from_slice(&q);
        }
        v
    }

    #[test]
    fn tcp_messages_split_and_batched() {
        let stream = framed(5);
        for chunk in [1, 2, 3, 7, 30, stream.len()] {
            let mut s = DnsState::default();
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                assert_eq!(
                    s.feed(Direction::ToServer, piece, &ctx(Transport::Tcp), &mut out),
                    FeedStatus::Continue
                );
            }
            let ids: Vec<u16> = out
                .iter()
                .map(|e| match e {
                    AppEvent::Dns(d) => d.id,
                    _ => unreachable!(),
                })
                .collect();
            assert_eq!(ids, vec![0, 1, 2, 3, 4], "chunk {chunk}");
            assert!(s.sides[0].pending.is_empty());
        }
    }

    #[test]
    fn tcp_gap_resyncs_on_next_framed_message() {
        let stream = framed(3);
        let one = 2 + QUERY.len();
        let mut s = DnsState::default();
        let mut out = Vec::new();
        let c = ctx(Transport::Tcp);
        s.feed(Direction::ToServer, &stream[..one + 5], &c, &mut out);
        s.gap(Direction::ToServer);
        // The tail of message 2 is not a message start: dropped.
        s.feed(
            Direction::ToServer,
            &stream[one + 15..2 * one],
            &c,
            &mut out,
        );
        s.feed(Direction::ToServer, &stream[2 * one..], &c, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(s.malformed, 0);
    }

    /// A response carries its query's packet, time and the latency; a
    /// response from the wrong side, to another id, or over 5 s late does not.
    #[test]
    fn responses_are_matched_to_their_query() {
        let query = |s: &mut DnsState, id: u8, ms: i64, out: &mut Vec<AppEvent>| {
            let mut q = QUERY.to_vec();
            q[1] = id;
            let mut c = ctx(Transport::Udp);
            c.ts = netsec_model::Timestamp::from_nanos(ms * 1_000_000);
            c.packet_number = out.len() as u64 + 1;
            s.feed(Direction::ToServer, &q, &c, out);
        };
        let response =
            |s: &mut DnsState, id: u8, ms: i64, dir: Direction, out: &mut Vec<AppEvent>| {
                let mut r = QUERY.to_vec();
                r[1] = id;
                r[2] |= 0x80;
                let mut c = ctx(Transport::Udp);
                c.ts = netsec_model::Timestamp::from_nanos(ms * 1_000_000);
                c.packet_number = out.len() as u64 + 1;
                c.direction = dir;
                s.feed(dir, &r, &c, out);
                match out.last() {
                    Some(AppEvent::Dns(d)) => d.query,
                    _ => None,
                }
            };
        let mut s = DnsState::default();
        let mut out = Vec::new();
        query(&mut s, 1, 1000, &mut out);
        query(&mut s, 2, 1001, &mut out);
        let m = response(&mut s, 1, 1004, Direction::ToClient, &mut out);
        assert_eq!(
            m,
            Some(DnsQueryMatch {
                packet_number: 1,
                ts: netsec_model::Timestamp::from_nanos(1_000_000_000),
                latency_ns: 4_000_000,
            })
        );
        // Matched once only; never from the querying side.
        assert_eq!(
            response(&mut s, 1, 1005, Direction::ToClient, &mut out),
            None
        );
        assert_eq!(
            response(&mut s, 2, 1005, Direction::ToServer, &mut out),
            None
        );
        // Over 5 s late: unanswered, as passive DNS counts it.
        assert_eq!(
            response(&mut s, 2, 7000, Direction::ToClient, &mut out),
            None
        );
        // A retransmitted query: the latest is the one answered.
        query(&mut s, 3, 8000, &mut out);
        query(&mut s, 3, 9000, &mut out);
        let m = response(&mut s, 3, 9002, Direction::ToClient, &mut out);
        assert_eq!(m.map(|m| m.latency_ns), Some(2_000_000));
        // Bounded.
        for k in 0..200u8 {
            query(&mut s, k, 10_000, &mut out);
        }
        assert!(s.pending.len() <= PENDING_QUERIES);
    }

    #[test]
    fn udp_malformed_is_counted_and_flow_continues() {
        let mut s = DnsState::default();
        let mut out = Vec::new();
        let c = ctx(Transport::Udp);
        assert_eq!(
            s.feed(Direction::ToServer, &QUERY[..15], &c, &mut out),
            FeedStatus::Continue
        );
        assert_eq!(
            s.feed(Direction::ToServer, QUERY, &c, &mut out),
            FeedStatus::Continue
        );
        assert_eq!((s.parsed, s.malformed, out.len()), (1, 1, 1));
        // Never DNS: given up after a few datagrams.
        let mut s = DnsState::default();
        let last = (0..4)
            .map(|_| s.feed(Direction::ToServer, b"junk", &c, &mut out))
            .last();
        assert_eq!(last, Some(FeedStatus::Error));
    }
}
