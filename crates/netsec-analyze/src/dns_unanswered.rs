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

use std::collections::HashMap;

use netsec_model::{Direction, DnsEvent, FlowId};
use netsec_proto::app::dns::{ANSWER_WINDOW_NS, PENDING_QUERIES};

/// One flow's queries awaiting their response, oldest first.
type Waiting = Vec<(Direction, DnsEvent)>;

/// Queries awaiting their response, per flow.
#[derive(Debug, Default)]
pub(crate) struct UnansweredQueries {
    flows: HashMap<FlowId, Waiting>,
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
        let waiting = self.flows.entry(flow).or_default();
        // No response can match a query more than the window old.
        let (old, kept): (Waiting, Waiting) = std::mem::take(waiting)
            .into_iter()
            .partition(|(_, q)| now.saturating_sub(q.ctx.ts.as_nanos()) > ANSWER_WINDOW_NS);
        *waiting = kept;
        for (_, q) in old {
            out(marked(q));
        }
        if !ev.is_response {
            // The parser keeps one query per id, and at most 64.
            let mut i = 0;
            while i < waiting.len() {
                if waiting.get(i).is_some_and(|(_, q)| q.id == ev.id) {
                    let (_, q) = waiting.remove(i);
                    out(marked(q));
                } else {
                    i += 1;
                }
            }
            if waiting.len() >= PENDING_QUERIES {
                let (_, q) = waiting.remove(0);
                out(marked(q));
            }
            waiting.push((ev.ctx.direction, ev.clone()));
            return;
        }
        let taken = waiting
            .iter()
            .rposition(|(direction, q)| q.id == ev.id && *direction != ev.ctx.direction);
        if let Some(i) = taken {
            let (_, q) = waiting.remove(i);
            // Taken by a response, but outside the window: not matched.
            if ev.query.is_none() {
                out(marked(q));
            }
        }
        if waiting.is_empty() {
            self.flows.remove(&flow);
        }
    }

    /// The flow ended: its waiting queries go to `out`, oldest first.
    pub(crate) fn flow_ended(&mut self, flow: FlowId, out: &mut impl FnMut(DnsEvent)) {
        for (_, q) in self.flows.remove(&flow).unwrap_or_default() {
            out(marked(q));
        }
    }

    /// The run ended: every waiting query goes to `out`, by flow id.
    pub(crate) fn finish(&mut self, out: &mut impl FnMut(DnsEvent)) {
        let mut flows: Vec<(FlowId, Waiting)> = self.flows.drain().collect();
        flows.sort_unstable_by_key(|(id, _)| id.0);
        for (_, waiting) in flows {
            for (_, q) in waiting {
                out(marked(q));
            }
        }
    }
}
