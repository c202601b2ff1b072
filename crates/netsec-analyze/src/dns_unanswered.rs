//! Queries that no response answered, for `dns.jsonl`: each such query is
//! written a second time, with `netsec.dns.unanswered: true`, once its
//! matching window is over.
//!
//! netsec-proto's DNS parser matches a response to its query per flow (same
//! transaction id, sent the other way, the latest such query, at most 5 s
//! before; at most 64 queries of a flow wait, the oldest forgotten first; a
//! query with the id of a waiting one replaces it). This replays the same
//! rules over the flow's DNS events as the log writer receives them, so a
//! query is unanswered exactly when the parser matched no response to it
//! within the window:
//!
//! - a response took it, but too late (the parser then leaves the
//!   response's `query` empty);
//! - a later query with its id replaced it, or 64 newer queries pushed it
//!   out;
//! - an event of the flow came more than 5 s after it (no response can
//!   match it any more);
//! - the flow ended, or the run did.
//!
//! Every decision reads only the flow's own events in their order, and all
//! of a flow's events reach one log writer, so the same queries are marked
//! whatever the number of threads (only the lines' order differs, as for
//! every other record).
//!
//! The table is bounded: at most [`MAX_WAITING`] queries wait in one log
//! writer's table; past that a new query is not tracked (never written
//! again, whatever comes) and counted in `untracked`. It counts the bytes it
//! holds and their peak for the run's memory report.

use std::collections::HashMap;

use netsec_model::{Direction, DnsEvent, FlowId};
use netsec_proto::app::dns::{ANSWER_WINDOW_NS, PENDING_QUERIES};
use smallvec::SmallVec;

/// One flow's queries awaiting their response, oldest first. Most DNS flows
/// carry one lookup (a resolver asks each from a new port), so the first
/// waits inline in the map's entry.
type Waiting = SmallVec<[(Direction, DnsEvent); 1]>;

/// Queries one log writer tracks at once, at most: 1,024 flows with the
/// parser's 64 pending queries each ([`PENDING_QUERIES`]); about 20 MB of
/// events at the worst, far less for ordinary names.
pub(crate) const MAX_WAITING: usize = 1024 * PENDING_QUERIES;

/// Queries awaiting their response, per flow.
#[derive(Debug, Default)]
pub(crate) struct UnansweredQueries {
    flows: HashMap<FlowId, Waiting>,
    /// Queries waiting, in all flows.
    waiting: usize,
    /// Bytes held (estimated: [`held_bytes`]) and their peak.
    held: usize,
    peak: usize,
    /// Queries not tracked because the table was full.
    untracked: u64,
}

/// Bytes a waiting query holds: the entry, its flow's share of the map, and
/// what its names, data and Community ID hold on the heap.
fn held_bytes(q: &DnsEvent) -> usize {
    let names = q.questions.iter().map(|x| x.name.wire().len());
    let records = q
        .answers
        .iter()
        .chain(&q.authorities)
        .chain(&q.additionals)
        .map(|r| std::mem::size_of_val(r) + r.name.wire().len() + r.data.len());
    std::mem::size_of::<(Direction, DnsEvent)>()
        + q.questions.len() * std::mem::size_of::<netsec_model::DnsQuestion>()
        + names.sum::<usize>()
        + records.sum::<usize>()
        + q.ctx.community_id.as_ref().map_or(0, String::len)
        + 16
}

/// A query, marked unanswered.
fn marked(mut query: DnsEvent) -> DnsEvent {
    query.unanswered = true;
    query
}

impl UnansweredQueries {
    /// A DNS event of a flow: the queries it leaves unanswered go to `out`.
    pub(crate) fn event(&mut self, ev: &DnsEvent, out: &mut impl FnMut(DnsEvent)) {
        let Some(flow) = ev.ctx.flow_id else {
            return;
        };
        if ev.unanswered {
            return;
        }
        let now = ev.ctx.ts.as_nanos();
        if ev.is_response {
            // A response to a flow with nothing waiting changes nothing.
            let Some(waiting) = self.flows.get_mut(&flow) else {
                return;
            };
            Self::expire(waiting, now, &mut self.waiting, &mut self.held, out);
            let taken = waiting
                .iter()
                .rposition(|(direction, q)| q.id == ev.id && *direction != ev.ctx.direction);
            if let Some(i) = taken {
                let (_, q) = waiting.remove(i);
                Self::forget(&mut self.waiting, &mut self.held, &q);
                // Taken by a response, but outside the window: not matched.
                if ev.query.is_none() {
                    out(marked(q));
                }
            }
            if waiting.is_empty() {
                self.flows.remove(&flow);
            }
            return;
        }
        let waiting = self.flows.entry(flow).or_default();
        Self::expire(waiting, now, &mut self.waiting, &mut self.held, out);
        // The parser keeps one query per id, and at most 64.
        let mut i = 0;
        while i < waiting.len() {
            if waiting.get(i).is_some_and(|(_, q)| q.id == ev.id) {
                let (_, q) = waiting.remove(i);
                Self::forget(&mut self.waiting, &mut self.held, &q);
                out(marked(q));
            } else {
                i += 1;
            }
        }
        if waiting.len() >= PENDING_QUERIES {
            let (_, q) = waiting.remove(0);
            Self::forget(&mut self.waiting, &mut self.held, &q);
            out(marked(q));
        }
        if self.waiting >= MAX_WAITING {
            self.untracked += 1;
        } else {
            self.waiting += 1;
            self.held += held_bytes(ev);
            self.peak = self.peak.max(self.held);
            waiting.push((ev.ctx.direction, ev.clone()));
        }
        if waiting.is_empty() {
            self.flows.remove(&flow);
        }
    }

    /// No response can match a query more than the window old: such
    /// queries leave `waiting` (in place, in their order) for `out`.
    fn expire(
        waiting: &mut Waiting,
        now: i64,
        count: &mut usize,
        held: &mut usize,
        out: &mut impl FnMut(DnsEvent),
    ) {
        let mut i = 0;
        while let Some((_, q)) = waiting.get(i) {
            if now.saturating_sub(q.ctx.ts.as_nanos()) > ANSWER_WINDOW_NS {
                let (_, q) = waiting.remove(i);
                Self::forget(count, held, &q);
                out(marked(q));
            } else {
                i += 1;
            }
        }
    }

    /// A query leaves the table.
    fn forget(waiting: &mut usize, held: &mut usize, q: &DnsEvent) {
        *waiting = waiting.saturating_sub(1);
        *held = held.saturating_sub(held_bytes(q));
    }

    /// The most bytes the table held at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// Queries not tracked because the table was full.
    pub(crate) fn untracked(&self) -> u64 {
        self.untracked
    }

    /// The flow ended: its waiting queries go to `out`, oldest first.
    pub(crate) fn flow_ended(&mut self, flow: FlowId, out: &mut impl FnMut(DnsEvent)) {
        for (_, q) in self.flows.remove(&flow).unwrap_or_default() {
            Self::forget(&mut self.waiting, &mut self.held, &q);
            out(marked(q));
        }
    }

    /// The run ended: every waiting query goes to `out`, by flow id.
    pub(crate) fn finish(&mut self, out: &mut impl FnMut(DnsEvent)) {
        let mut flows: Vec<(FlowId, Waiting)> = self.flows.drain().collect();
        flows.sort_unstable_by_key(|(id, _)| id.0);
        for (_, waiting) in flows {
            for (_, q) in waiting {
                Self::forget(&mut self.waiting, &mut self.held, &q);
                out(marked(q));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{Endpoint, EventContext, Timestamp, Transport};
    use netsec_proto::app::dns::parser::parse_message;
    use std::net::{IpAddr, Ipv4Addr};

    /// A? www.example.com with transaction id `id`, on flow `flow`.
    fn query(flow: u64, id: u16) -> DnsEvent {
        let ep = |p| Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), p);
        let ctx = EventContext {
            ts: Timestamp::from_secs_nanos(1_700_000_000, 0),
            packet_number: 1,
            flow_id: Some(FlowId(flow)),
            community_id: None,
            src: ep(40_000),
            dst: ep(53),
            transport: Transport::Udp,
            direction: Direction::ToServer,
        };
        let mut msg =
            b"\0\0\x01\0\0\x01\0\0\0\0\0\0\x03www\x07example\x03com\0\0\x01\0\x01".to_vec();
        msg[..2].copy_from_slice(&id.to_be_bytes());
        parse_message(&msg, &ctx).unwrap_or_else(|| panic!("the query parses"))
    }

    /// `query(flow, id)` sent `secs` after the first, with its packet number.
    fn query_at(flow: u64, id: u16, secs: i64, number: u64) -> DnsEvent {
        let mut q = query(flow, id);
        q.ctx.ts = Timestamp::from_secs_nanos(1_700_000_000 + secs, 0);
        q.ctx.packet_number = number;
        q
    }

    /// The response to `q`, `secs` after the first query; matched by the
    /// parser (`query` set) or not.
    fn response_to(q: &DnsEvent, secs: i64, matched: bool) -> DnsEvent {
        let mut r = q.clone();
        r.is_response = true;
        r.ctx.direction = Direction::ToClient;
        r.ctx.ts = Timestamp::from_secs_nanos(1_700_000_000 + secs, 0);
        r.query = matched.then(|| netsec_model::DnsQueryMatch {
            packet_number: q.ctx.packet_number,
            ts: q.ctx.ts,
            latency_ns: r.ctx.ts.as_nanos() - q.ctx.ts.as_nanos(),
        });
        r
    }

    /// Each rule of the module's list, with the packet numbers of the
    /// queries marked, in the order they are marked.
    #[test]
    fn each_rule_marks_the_queries_the_parser_left_unmatched() {
        let mut table = UnansweredQueries::default();
        let mut marked = Vec::new();
        let mut feed = |table: &mut UnansweredQueries, ev: &DnsEvent| {
            table.event(ev, &mut |q: DnsEvent| {
                assert!(q.unanswered && !q.is_response);
                marked.push(q.ctx.packet_number);
            });
        };
        // Answered in time: never marked; the flow leaves the table.
        let q1 = query_at(1, 7, 0, 1);
        feed(&mut table, &q1);
        feed(&mut table, &response_to(&q1, 1, true));
        assert!(table.flows.is_empty());
        // Taken by a response too late (the parser left `query` empty).
        let q2 = query_at(2, 8, 0, 2);
        feed(&mut table, &q2);
        feed(&mut table, &response_to(&q2, 4, false));
        // Replaced by a later query with the same id.
        let q3 = query_at(3, 9, 0, 3);
        feed(&mut table, &q3);
        feed(&mut table, &query_at(3, 9, 1, 4));
        // An event of the flow more than 5 s later: packet 4 expires
        // (before the new query's own handling), packet 5 waits.
        feed(&mut table, &query_at(3, 10, 7, 5));
        // 64 newer queries push the oldest out.
        for id in 0..PENDING_QUERIES as u16 {
            feed(&mut table, &query_at(4, id, 0, 100 + u64::from(id)));
        }
        feed(&mut table, &query_at(4, 999, 0, 200));
        // A response to a flow with nothing waiting changes nothing.
        feed(&mut table, &response_to(&query_at(5, 1, 0, 300), 0, false));
        assert_eq!(marked, vec![2, 3, 4, 100]);
        // The flow ended: its waiting query, then the run's end: the rest by
        // flow, oldest first.
        table.flow_ended(FlowId(3), &mut |q| marked.push(q.ctx.packet_number));
        assert_eq!(marked.last(), Some(&5));
        table.finish(&mut |q| marked.push(q.ctx.packet_number));
        let rest: Vec<u64> = (101..100 + PENDING_QUERIES as u64).chain([200]).collect();
        assert_eq!(marked.get(5..), Some(rest.as_slice()));
        assert_eq!((table.waiting, table.held), (0, 0));
    }

    /// Past `MAX_WAITING` queries a new one is counted, not kept; the bytes
    /// held go back to zero once every query left.
    #[test]
    fn the_table_is_bounded_and_counted() {
        let mut table = UnansweredQueries::default();
        let mut marked = 0usize;
        let flows = (MAX_WAITING / PENDING_QUERIES) as u64 + 2;
        for flow in 0..flows {
            for id in 0..PENDING_QUERIES as u16 {
                table.event(&query(flow, id), &mut |_| marked += 1);
            }
        }
        assert_eq!(marked, 0);
        assert_eq!(table.waiting, MAX_WAITING);
        assert_eq!(table.untracked(), 2 * PENDING_QUERIES as u64);
        assert!(table.peak() >= MAX_WAITING * std::mem::size_of::<DnsEvent>());
        table.finish(&mut |_| marked += 1);
        assert_eq!(marked, MAX_WAITING);
        assert_eq!((table.waiting, table.held), (0, 0));
    }
}
