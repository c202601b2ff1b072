//! The traffic a containment plan is weighed against: every flow of a run,
//! folded into conversations (client, server, transport, server port), with
//! counts, bytes and times, in a bounded table.

use std::collections::HashMap;
use std::net::IpAddr;

use netsec_model::{
    Analyzer, FindingSink, FlowRecord, FlowRef, Interests, TimeRange, Timestamp, Transport,
};
use serde::Serialize;

/// Who talked to whom on which service: the unit a block rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ConversationKey {
    /// The originator.
    pub client: IpAddr,
    /// The responder.
    pub server: IpAddr,
    /// Transport.
    pub transport: Transport,
    /// The responder's port (0 for protocols without ports).
    pub port: u16,
}

impl ConversationKey {
    /// The conversation a flow belongs to.
    pub fn of_flow(flow: &FlowRecord) -> Self {
        ConversationKey {
            client: flow.client.ip,
            server: flow.server.ip,
            transport: flow.transport,
            port: flow.server.port,
        }
    }

    /// The conversation a finding's flow reference belongs to.
    pub fn of_ref(flow: &FlowRef) -> Self {
        ConversationKey {
            client: flow.client.ip,
            server: flow.server.ip,
            transport: flow.transport,
            port: flow.server.port,
        }
    }
}

impl std::fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let server = netsec_model::Endpoint::new(self.server, self.port);
        write!(f, "{} {} → {server}", self.transport, self.client)
    }
}

/// What was seen of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    /// Who, whom, which service.
    pub key: ConversationKey,
    /// Flows folded in.
    pub flows: u64,
    /// Packets, both directions.
    pub packets: u64,
    /// Bytes, both directions.
    pub bytes: u64,
    /// First packet of the first flow to last packet of the last.
    pub time: TimeRange,
    /// Community ID of the first flow (to find it in flow logs).
    pub community_id: String,
}

impl Conversation {
    fn start(flow: &FlowRecord) -> Self {
        Conversation {
            key: ConversationKey::of_flow(flow),
            flows: 1,
            packets: flow.packets(),
            bytes: flow.bytes(),
            time: flow.time,
            community_id: flow.community_id.clone(),
        }
    }

    fn add(&mut self, flow: &FlowRecord) {
        self.flows += 1;
        self.packets += flow.packets();
        self.bytes += flow.bytes();
        self.time.extend(flow.time.start);
        self.time.extend(flow.time.end);
    }

    /// A conversation known only from a finding's flow reference (its flow
    /// was forgotten, or the findings came from a file).
    pub fn from_ref(flow: &FlowRef) -> Self {
        Conversation {
            key: ConversationKey::of_ref(flow),
            flows: 1,
            packets: 0,
            bytes: 0,
            time: flow.time,
            community_id: flow.community_id.clone().unwrap_or_default(),
        }
    }

    /// Whether the conversation was active at some moment of `range`,
    /// widened by `slack` on both sides.
    pub fn overlaps(&self, range: &TimeRange, slack: netsec_model::Duration) -> bool {
        self.time.start <= range.end + slack && self.time.end + slack >= range.start
    }
}

/// Bytes one conversation takes in the table (key, value, hash overhead and
/// the Community ID string), for the memory budget.
const ENTRY_BYTES: usize = 192;

/// Most conversations kept when no budget is set.
pub const DEFAULT_CAPACITY: usize = 500_000;

/// The conversations of a run, bounded: past its capacity the older half
/// (by last activity) is forgotten and counted.
#[derive(Debug, Clone)]
pub struct Conversations {
    map: HashMap<ConversationKey, Conversation>,
    capacity: usize,
    forgotten_conversations: u64,
    forgotten_flows: u64,
    forgotten_before: Option<Timestamp>,
}

impl Default for Conversations {
    fn default() -> Self {
        Conversations::with_capacity(DEFAULT_CAPACITY)
    }
}

impl Conversations {
    /// A table of at most `capacity` conversations (at least 16).
    pub fn with_capacity(capacity: usize) -> Self {
        Conversations {
            map: HashMap::new(),
            capacity: capacity.max(16),
            forgotten_conversations: 0,
            forgotten_flows: 0,
            forgotten_before: None,
        }
    }

    /// Fold a flow in.
    pub fn add_flow(&mut self, flow: &FlowRecord) {
        if let Some(c) = self.map.get_mut(&ConversationKey::of_flow(flow)) {
            c.add(flow);
            return;
        }
        if self.map.len() >= self.capacity {
            self.forget_older_half();
        }
        let c = Conversation::start(flow);
        self.map.insert(c.key, c);
    }

    /// Add a conversation known from elsewhere (a finding's flow) unless it
    /// is already there.
    pub fn add_known(&mut self, conversation: Conversation) {
        self.map.entry(conversation.key).or_insert(conversation);
    }

    fn forget_older_half(&mut self) {
        let mut ends: Vec<Timestamp> = self.map.values().map(|c| c.time.end).collect();
        let mid = ends.len() / 2;
        let (_, cut, _) = ends.select_nth_unstable(mid);
        let cut = *cut;
        let before = self.map.len();
        let mut flows = 0;
        self.map.retain(|_, c| {
            let keep = c.time.end > cut;
            if !keep {
                flows += c.flows;
            }
            keep
        });
        self.forgotten_conversations += (before - self.map.len()) as u64;
        self.forgotten_flows += flows;
        self.forgotten_before = Some(self.forgotten_before.map_or(cut, |t| t.max(cut)));
    }

    /// Every conversation, in key order (deterministic).
    pub fn sorted(&self) -> Vec<&Conversation> {
        let mut all: Vec<&Conversation> = self.map.values().collect();
        all.sort_by_key(|c| c.key);
        all
    }

    /// One conversation.
    pub fn get(&self, key: &ConversationKey) -> Option<&Conversation> {
        self.map.get(key)
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Conversations and flows forgotten to stay within the capacity, and
    /// the last activity time before which they were.
    pub fn forgotten(&self) -> (u64, u64, Option<Timestamp>) {
        (
            self.forgotten_conversations,
            self.forgotten_flows,
            self.forgotten_before,
        )
    }

    /// Bytes held (an estimate).
    pub fn memory_used(&self) -> usize {
        self.map.len() * ENTRY_BYTES
    }
}

/// The table as an [`Analyzer`]: it folds in every flow record of a run.
/// To read it after the run, hand the pipeline a
/// [`SharedAnalyzer`](netsec_model::SharedAnalyzer) of it.
///
/// ```
/// use netsec_contain::firewall::Conversations;
/// use netsec_model::SharedAnalyzer;
/// let (collector, table) = SharedAnalyzer::new(Conversations::default());
/// // Analysis::new().analyzer(Box::new(collector)) … .run();
/// drop(collector);
/// assert!(table.lock().unwrap().is_empty());
/// ```
impl Analyzer for Conversations {
    fn name(&self) -> &'static str {
        "conversations"
    }

    fn interests(&self) -> Interests {
        Interests {
            flows: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        Conversations::memory_used(self)
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        self.capacity = (bytes / ENTRY_BYTES).clamp(16, DEFAULT_CAPACITY * 4);
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, _out: &mut dyn FindingSink) {
        self.add_flow(flow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{
        AppProto, DirectionStats, Endpoint, FlowEndReason, FlowId, TcpState, Timestamp,
    };
    use std::net::Ipv4Addr;

    pub(crate) fn flow(client: u8, server: u8, port: u16, t: i64, bytes: u64) -> FlowRecord {
        let ip = |a| IpAddr::V4(Ipv4Addr::new(10, 0, 0, a));
        let ts = Timestamp::from_secs_nanos(t, 0);
        FlowRecord {
            id: FlowId(t as u64),
            community_id: format!("1:test{t}"),
            client: Endpoint::new(ip(client), 40_000),
            server: Endpoint::new(ip(server), port),
            transport: Transport::Tcp,
            vlan: 0,
            time: TimeRange { start: ts, end: ts },
            to_server: DirectionStats {
                packets: 1,
                bytes,
                ..Default::default()
            },
            to_client: DirectionStats::default(),
            tcp_state: TcpState::default(),
            app_proto: AppProto::default(),
            end_reason: FlowEndReason::EndOfInput,
            missing_bytes: 0,
        }
    }

    #[test]
    fn flows_fold_into_conversations() {
        let mut t = Conversations::default();
        t.add_flow(&flow(1, 2, 22, 10, 100));
        t.add_flow(&flow(1, 2, 22, 20, 50));
        t.add_flow(&flow(1, 2, 80, 30, 5));
        assert_eq!(t.len(), 2);
        let ssh = t.sorted()[0];
        assert_eq!((ssh.key.port, ssh.flows, ssh.bytes), (22, 2, 150));
        assert_eq!(ssh.time.end.secs() - ssh.time.start.secs(), 10);
    }

    #[test]
    fn capacity_forgets_the_older_half_and_counts_it() {
        let mut t = Conversations::with_capacity(16);
        for i in 0..40u16 {
            t.add_flow(&flow(1, 2, 1000 + i, i64::from(i), 1));
        }
        assert!(t.len() <= 16);
        let (conversations, flows, before) = t.forgotten();
        assert_eq!(conversations, flows);
        assert_eq!(conversations as usize + t.len(), 40);
        // the newest survive
        assert!(t.sorted().iter().any(|c| c.key.port == 1039));
        assert!(before.is_some());
    }
}
