//! Running rules: [`CompiledRules`] (shared by every shard, built once per
//! rule set) and [`SignatureInspector`] (one per shard, holding the state of
//! that shard's flows: flowbits, HTTP transactions, thresholds).
//!
//! Rules are grouped by the moment they are evaluated at ([`Trigger`]);
//! within a group, an Aho–Corasick automaton over each rule's fast pattern
//! (per buffer) picks the candidates, so the cost per packet or event
//! follows the patterns present, not the number of rules. Rules without a
//! content are candidates always, except rules on lists of networks (ET's
//! CINS, Tor, DShield, DROP lists), which are looked up by network.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use netsec_model::{
    Alert, AppEvent, Comparison, Direction, EntityRole, EntityValue, EventContext, Finding,
    FindingCategory, FlowId, FlowRecord, Inspector, InspectorOutput, PacketInfo, PayloadContext,
    Severity, Timestamp, Transport,
};

use super::buffers::AppBuffers;
use super::matcher::{match_buffer, LazyRegex};
use super::rule::{
    Action, AddressExpr, AppProtocol, Buffer, Detection, FlagsMode, FlowbitCommand, RuleDirection,
    RuleProtocol, ThresholdKind, TrackBy, Transform,
};
use super::ruleset::RuleSet;
use super::trigger::Trigger;

/// Producer name of signature findings and alerts.
pub const PRODUCER: &str = "signature";
/// Bytes of an HTTP body kept per direction for `file.data` and friends.
const BODY_LIMIT: usize = 16 * 1024;
/// Estimated bytes of one tracked flow's state (for the memory budget).
const FLOW_STATE_BYTES: usize = 160;
/// Flows tracked per shard when no budget is set.
const DEFAULT_FLOW_CAPACITY: usize = 100_000;
/// Threshold and finding entries per shard, at most.
const MAX_COUNTERS: usize = 100_000;
/// Most alerts one packet or transaction raises: Suricata's
/// `packet-alert-max` default (15); further matches are not reported.
const MAX_ALERTS_PER_MOMENT: usize = 15;
/// Bytes of buffer quoted around a match in an alert.
const EXCERPT_BYTES: usize = 64;

/// One rule ready to run.
#[derive(Debug)]
struct CompiledRule {
    rule: super::rule::Rule,
    trigger: Trigger,
    ruleset: String,
    category: String,
    mitre: Vec<String>,
    /// Every pcre of the rule in buffer order, compiled when first needed.
    regexes: Vec<LazyRegex>,
    /// Index in `regexes` of each buffer's first pcre.
    regex_base: Vec<usize>,
    /// flowbits as ids: (command, ids, any)
    flowbits: Vec<(BitOp, Vec<u32>, bool)>,
    /// Evaluation rank from the rule's flowbits, as Suricata orders them:
    /// 0 sets and reads none, 1 sets and reads, 2 reads, 3 neither (a rule
    /// that only unsets or toggles ranks with those that use no flowbits).
    flowbits_rank: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitOp {
    Set,
    Unset,
    Toggle,
    IsSet,
    IsNotSet,
}

/// A prefilter over one buffer of one trigger.
#[derive(Debug)]
struct BufferPrefilter {
    /// Its index among all prefilters (for the per-inspector scratch).
    slot: usize,
    buffer: Buffer,
    dot_prefix: bool,
    automaton: AhoCorasick,
    /// Rules of each pattern.
    rules_of: Vec<Vec<u32>>,
}

/// The rules of one trigger.
#[derive(Debug, Default)]
struct Group {
    prefilters: Vec<BufferPrefilter>,
    /// Candidates whatever the bytes.
    always: Vec<u32>,
    /// Content-less rules on lists of networks (ET's CINS, Tor, DShield,
    /// Spamhaus DROP lists), by (prefix length, network).
    by_network: HashMap<(u8, IpAddr), Vec<u32>, ahash::RandomState>,
    /// The prefix lengths `by_network` holds.
    prefixes: Vec<u8>,
}

/// A rule set compiled for matching; share it between shards with an `Arc`.
#[derive(Debug)]
pub struct CompiledRules {
    rules: Vec<CompiledRule>,
    groups: HashMap<Trigger, Group, ahash::RandomState>,
    /// Whether any rule needs HTTP bodies or transaction state.
    http: bool,
}

impl CompiledRules {
    /// Compile the rules of a set.
    pub fn new(set: &RuleSet) -> Self {
        let mut bit_ids: HashMap<String, u32> = HashMap::new();
        let mut rules = Vec::with_capacity(set.rules.len());
        for loaded in &set.rules {
            let rule = loaded.rule.clone();
            let mut regexes = Vec::new();
            let mut regex_base = Vec::new();
            for buffer in &rule.buffers {
                regex_base.push(regexes.len());
                for item in &buffer.items {
                    if let Detection::Pcre(p) = item {
                        regexes.push(LazyRegex::new(&p.pattern));
                    }
                }
            }
            let mut next_id = bit_ids.len() as u32;
            let mut ids = |names: &[String]| -> Vec<u32> {
                names
                    .iter()
                    .map(|n| {
                        *bit_ids.entry(n.clone()).or_insert_with(|| {
                            next_id += 1;
                            next_id - 1
                        })
                    })
                    .collect()
            };
            let flowbits: Vec<(BitOp, Vec<u32>, bool)> = rule
                .flowbits
                .iter()
                .map(|c| match c {
                    FlowbitCommand::Set(n) => (BitOp::Set, ids(n), false),
                    FlowbitCommand::Unset(n) => (BitOp::Unset, ids(n), false),
                    FlowbitCommand::Toggle(n) => (BitOp::Toggle, ids(n), false),
                    FlowbitCommand::IsSet { names, any } => (BitOp::IsSet, ids(names), *any),
                    FlowbitCommand::IsNotSet { names, any } => (BitOp::IsNotSet, ids(names), *any),
                })
                .collect();
            let sets = flowbits.iter().any(|(op, _, _)| *op == BitOp::Set);
            let reads = flowbits
                .iter()
                .any(|(op, _, _)| matches!(op, BitOp::IsSet | BitOp::IsNotSet));
            let flowbits_rank = match (sets, reads) {
                (true, false) => 0,
                (true, true) => 1,
                (false, true) => 2,
                (false, false) => 3,
            };
            let category = rule
                .classtype
                .as_deref()
                .and_then(|c| set.config.classifications.get(c))
                .map(|c| c.description.clone())
                .unwrap_or_default();
            let mitre = rule
                .metadata
                .iter()
                .filter(|(k, _)| k == "mitre_technique_id")
                .map(|(_, v)| v.clone())
                .collect();
            let ruleset = set
                .files
                .get(loaded.file)
                .and_then(|f| f.path.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            rules.push(CompiledRule {
                rule,
                trigger: loaded.trigger,
                ruleset,
                category,
                mitre,
                regexes,
                regex_base,
                flowbits,
                flowbits_rank,
            });
        }
        // Suricata's evaluation order: pass rules first, then by flowbits
        // (setters before readers), then priority; then sid
        let mut order: Vec<u32> = (0..rules.len() as u32).collect();
        order.sort_by_key(|&i| {
            rules.get(i as usize).map(|r| {
                (
                    r.rule.header.action != Action::Pass,
                    r.flowbits_rank,
                    r.rule.priority.unwrap_or(3),
                    r.rule.sid,
                )
            })
        });
        let mut ordered: Vec<Option<CompiledRule>> = rules.into_iter().map(Some).collect();
        let rules: Vec<CompiledRule> = order
            .iter()
            .filter_map(|&i| ordered.get_mut(i as usize).and_then(Option::take))
            .collect();
        let groups = build_groups(&rules);
        let http = rules
            .iter()
            .any(|r| matches!(r.trigger, Trigger::HttpRequest | Trigger::HttpResponse));
        CompiledRules {
            rules,
            groups,
            http,
        }
    }

    /// Per trigger: (trigger, rules prefiltered by a pattern, distinct
    /// patterns, rules always candidates, rules looked up by network), for
    /// `netsec rules check` and tuning.
    pub fn group_sizes(&self) -> Vec<(String, usize, usize, usize, usize)> {
        let mut out: Vec<(String, usize, usize, usize, usize)> = self
            .groups
            .iter()
            .map(|(trigger, g)| {
                let prefiltered: usize = g
                    .prefilters
                    .iter()
                    .flat_map(|p| &p.rules_of)
                    .map(Vec::len)
                    .sum();
                let patterns: usize = g.prefilters.iter().map(|p| p.rules_of.len()).sum();
                let mut by_network: Vec<u32> = g.by_network.values().flatten().copied().collect();
                by_network.sort_unstable();
                by_network.dedup();
                (
                    format!("{trigger:?}"),
                    prefiltered,
                    patterns,
                    g.always.len(),
                    by_network.len(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The fast pattern of a rule: (buffer index, content) — the one marked
/// `fast_pattern`, else the longest non-negated content.
fn fast_pattern(rule: &super::rule::Rule) -> Option<(usize, &[u8])> {
    let mut best: Option<(usize, &[u8], bool)> = None;
    for (bi, buffer) in rule.buffers.iter().enumerate() {
        for item in &buffer.items {
            if let Detection::Content(c) = item {
                if c.negated {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((_, _, true)) => false,
                    Some((_, p, false)) => c.fast_pattern || c.pattern.len() > p.len(),
                };
                if better {
                    best = Some((bi, &c.pattern, c.fast_pattern));
                }
            }
        }
    }
    best.map(|(b, p, _)| (b, p))
}

/// The networks of a positive address list (`[1.2.3.4,5.6.0.0/16]`).
fn positive_networks(expr: &AddressExpr) -> Option<Vec<crate::scope::Cidr>> {
    let one = |e: &AddressExpr| match e {
        AddressExpr::Net(net) => Some(*net),
        _ => None,
    };
    match expr {
        AddressExpr::Net(_) => one(expr).map(|n| vec![n]),
        AddressExpr::List(items) => items.iter().map(one).collect(),
        _ => None,
    }
}

fn build_groups(rules: &[CompiledRule]) -> HashMap<Trigger, Group, ahash::RandomState> {
    /// (trigger, buffer, dotprefix)
    type PatternKey = (Trigger, Buffer, bool);
    /// The distinct patterns of a key and the rules of each.
    type Patterns = (Vec<Vec<u8>>, Vec<Vec<u32>>);
    let mut patterns: HashMap<PatternKey, Patterns> = HashMap::new();
    let mut groups: HashMap<Trigger, Group, ahash::RandomState> = HashMap::default();
    for (index, compiled) in rules.iter().enumerate() {
        let index = index as u32;
        let group = groups.entry(compiled.trigger).or_default();
        let rule = &compiled.rule;
        match fast_pattern(rule) {
            Some((bi, pattern)) => {
                let Some(buffer) = rule.buffers.get(bi) else {
                    group.always.push(index);
                    continue;
                };
                let dot = buffer.transforms.contains(&Transform::DotPrefix);
                let entry = patterns
                    .entry((compiled.trigger, buffer.buffer, dot))
                    .or_default();
                let lower = pattern.to_ascii_lowercase();
                match entry.0.iter().position(|p| *p == lower) {
                    Some(i) => {
                        if let Some(list) = entry.1.get_mut(i) {
                            list.push(index);
                        }
                    }
                    None => {
                        entry.0.push(lower);
                        entry.1.push(vec![index]);
                    }
                }
            }
            None => {
                let header = &rule.header;
                let indexed = if compiled.trigger == Trigger::Packet {
                    let src = positive_networks(&header.src);
                    let dst = positive_networks(&header.dst);
                    match (src, dst) {
                        (Some(nets), _) | (None, Some(nets)) => Some(nets),
                        _ => None,
                    }
                } else {
                    None
                };
                match indexed {
                    Some(nets) => {
                        for net in nets {
                            let key = (net.prefix(), net.network());
                            let rules = group.by_network.entry(key).or_default();
                            if rules.last() != Some(&index) {
                                rules.push(index);
                            }
                            if !group.prefixes.contains(&net.prefix()) {
                                group.prefixes.push(net.prefix());
                            }
                        }
                    }
                    None => group.always.push(index),
                }
            }
        }
    }
    let mut keys: Vec<PatternKey> = patterns.keys().copied().collect();
    keys.sort();
    for (slot, key) in keys.into_iter().enumerate() {
        let Some((list, rules_of)) = patterns.remove(&key) else {
            continue;
        };
        let Ok(automaton) = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&list)
        else {
            // too large an automaton: the rules stay candidates always
            let group = groups.entry(key.0).or_default();
            group.always.extend(rules_of.into_iter().flatten());
            continue;
        };
        groups
            .entry(key.0)
            .or_default()
            .prefilters
            .push(BufferPrefilter {
                slot,
                buffer: key.1,
                dot_prefix: key.2,
                automaton,
                rules_of,
            });
    }
    for group in groups.values_mut() {
        group.always.sort_unstable();
    }
    groups
}

/// A flow's signature state.
#[derive(Debug, Default)]
struct FlowState {
    bits: Vec<u32>,
    established: bool,
    app: Option<AppProtocol>,
    /// Next sequence number expected per direction (retransmissions are not inspected twice).
    next_seq: [Option<u32>; 2],
    http: Option<Box<HttpTransaction>>,
    last_seen: Timestamp,
    /// A `pass` rule matched: the rest of the flow is not inspected.
    passed: bool,
    /// Rules that alerted on this flow's TLS handshake: Suricata keeps one
    /// transaction for it per flow, so each rule alerts on it once (a
    /// repeated ClientHello does not alert again).
    fired_once: Vec<u32>,
}

/// The HTTP transaction in progress on a flow.
#[derive(Debug, Default)]
struct HttpTransaction {
    request: Option<netsec_model::HttpEvent>,
    response: Option<netsec_model::HttpEvent>,
    request_body: Vec<u8>,
    response_body: Vec<u8>,
    /// Body bytes still expected per direction (Content-Length), when known.
    body_left: [Option<u64>; 2],
    /// Collecting body bytes in each direction.
    in_body: [bool; 2],
    /// Each side's bytes as sent: the packet that ended the head, then the
    /// body (bounded): the `payload` buffer of HTTP rules that also match
    /// raw content.
    raw: [Vec<u8>; 2],
}

/// Per-(rule, key) counter of a threshold or of grouped alerts.
#[derive(Debug, Clone, Copy)]
struct Counter {
    start: Timestamp,
    count: u32,
}

/// The `threshold` / `detection_filter` counters of one run: per rule and
/// tracked address (`by_src`, `by_dst`, `by_both`, `by_rule`).
///
/// A tracked address's matches come from flows of every shard (a crawler's
/// requests are many connections, each owned by the shard its 5-tuple
/// hashes to), so the shards of one run share one set of counters, as
/// Suricata's worker threads share its host table; each shard's engine
/// still keeps its own flows' state. The count of alerts a burst raises is
/// the same for any number of shards; which of the burst's packets raises
/// it, and a rule's time window starting within a burst, can follow the
/// order in which the shards' threads reach the counter.
#[derive(Debug, Default)]
pub struct ThresholdCounters {
    table: std::sync::Mutex<ThresholdTable>,
}

type ThresholdTable = HashMap<(u32, IpAddr, IpAddr), Counter, ahash::RandomState>;

impl ThresholdCounters {
    /// Counters for one run, to give every shard's inspector
    /// ([`SignatureInspector::sharing_thresholds`]).
    pub fn new() -> Arc<Self> {
        Arc::new(ThresholdCounters::default())
    }

    /// Counters held.
    pub fn len(&self) -> usize {
        self.with(|t| t.len())
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with<R>(&self, f: impl FnOnce(&mut ThresholdTable) -> R) -> R {
        // A shard that panicked while holding the lock left counts, not
        // broken invariants: go on with them.
        let mut table = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut table)
    }
}

/// The signature engine of one shard: an [`Inspector`].
pub struct SignatureInspector {
    rules: Arc<CompiledRules>,
    flows: HashMap<FlowId, FlowState, ahash::RandomState>,
    flow_capacity: usize,
    thresholds: Arc<ThresholdCounters>,
    grouped: HashMap<(u32, FlowId), (Finding, u32), ahash::RandomState>,
    evicted: u64,
    // scratch, reused: candidates and buffers
    candidates: Vec<u32>,
    /// Per prefilter and pattern: the evaluation that last saw it (so a
    /// pattern found a thousand times in a payload adds its rules once).
    pattern_seen: Vec<Vec<u32>>,
    evaluation: u32,
    buffers: AppBuffers,
    last_payload: Vec<u8>,
    last_payload_direction: Direction,
    dechunked: Vec<u8>,
}

impl SignatureInspector {
    /// An inspector over `rules`, with threshold counters of its own: for a
    /// run on one shard. The inspectors of a run's shards share one set
    /// ([`Self::sharing_thresholds`]).
    pub fn new(rules: Arc<CompiledRules>) -> Self {
        SignatureInspector {
            rules,
            flows: HashMap::default(),
            flow_capacity: DEFAULT_FLOW_CAPACITY,
            thresholds: ThresholdCounters::new(),
            grouped: HashMap::default(),
            evicted: 0,
            candidates: Vec::new(),
            pattern_seen: Vec::new(),
            evaluation: 0,
            buffers: AppBuffers::default(),
            last_payload: Vec::new(),
            last_payload_direction: Direction::ToServer,
            dechunked: Vec::new(),
        }
    }

    /// This inspector, counting `threshold` and `detection_filter` matches
    /// in `counters`, which the other shards of its run share.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use netsec_detect::signature::{CompiledRules, RuleConfig, RuleSet, SignatureInspector, ThresholdCounters};
    ///
    /// let rules = Arc::new(CompiledRules::new(&RuleSet::new(RuleConfig::default())));
    /// let counters = ThresholdCounters::new();
    /// let shards: Vec<SignatureInspector> = (0..2)
    ///     .map(|_| SignatureInspector::new(Arc::clone(&rules)).sharing_thresholds(Arc::clone(&counters)))
    ///     .collect();
    /// assert_eq!(shards.len(), 2);
    /// assert!(counters.is_empty());
    /// ```
    pub fn sharing_thresholds(mut self, counters: Arc<ThresholdCounters>) -> Self {
        self.thresholds = counters;
        self
    }

    /// Flow states dropped because the table was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn flow(&mut self, id: FlowId, now: Timestamp) -> &mut FlowState {
        if self.flows.len() >= self.flow_capacity && !self.flows.contains_key(&id) {
            // drop the flow seen longest ago (O(n), only when full)
            if let Some(oldest) = self
                .flows
                .iter()
                .min_by_key(|(k, s)| (s.last_seen, k.0))
                .map(|(k, _)| *k)
            {
                self.flows.remove(&oldest);
                self.evicted += 1;
            }
        }
        let state = self.flows.entry(id).or_default();
        state.last_seen = now;
        state
    }
}

/// What a rule is evaluated against at one moment.
struct Moment<'a> {
    ts: Timestamp,
    packet_number: u64,
    flow_id: Option<FlowId>,
    community_id: Option<&'a str>,
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
    transport: Transport,
    direction: Direction,
    packet: Option<&'a PacketInfo>,
    payload: &'a [u8],
}

impl Moment<'_> {
    fn from_event(ctx: &EventContext) -> Moment<'_> {
        Moment {
            ts: ctx.ts,
            packet_number: ctx.packet_number,
            flow_id: ctx.flow_id,
            community_id: ctx.community_id.as_deref(),
            src: ctx.src.ip,
            src_port: ctx.src.port,
            dst: ctx.dst.ip,
            dst_port: ctx.dst.port,
            transport: ctx.transport,
            direction: ctx.direction,
            packet: None,
            payload: &[],
        }
    }
}

impl Inspector for SignatureInspector {
    fn name(&self) -> &'static str {
        PRODUCER
    }

    fn memory_used(&self) -> usize {
        self.flows.len() * FLOW_STATE_BYTES
            + self
                .flows
                .values()
                .filter_map(|f| f.http.as_ref())
                .map(|h| h.request_body.capacity() + h.response_body.capacity() + 512)
                .sum::<usize>()
            + (self.thresholds.len() / Arc::strong_count(&self.thresholds).max(1)
                + self.grouped.len())
                * 64
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        // bodies may take up to two limits per HTTP flow: count them in
        self.flow_capacity = (bytes / (FLOW_STATE_BYTES + BODY_LIMIT / 4)).max(1024);
    }

    fn on_payload(
        &mut self,
        packet: &PacketInfo,
        flow: &PayloadContext<'_>,
        payload: &[u8],
        out: &mut InspectorOutput,
    ) {
        let Some(ip) = packet.ip else { return };
        let rules = Arc::clone(&self.rules);
        let di = usize::from(flow.direction == Direction::ToClient);
        let http_flow;
        {
            let state = self.flow(flow.flow_id, packet.ts);
            state.established = flow.established;
            if state.app.is_none() {
                state.app = app_of(flow.app_proto);
            }
            // A retransmission (all of it seen already) is not inspected again.
            if ip.transport == Transport::Tcp && !payload.is_empty() {
                let end = ip.tcp_seq.wrapping_add(payload.len() as u32);
                if let Some(next) = state.next_seq.get_mut(di) {
                    match *next {
                        Some(n) if (end.wrapping_sub(n) as i32) <= 0 => return,
                        _ => *next = Some(end),
                    }
                }
            }
            if rules.http {
                collect_body(state, di, payload);
            }
            http_flow = state.app == Some(AppProtocol::Http);
        }
        // the start of a body is in the packet that ends a head: keep the
        // last payload of HTTP flows only
        if rules.http && http_flow {
            self.last_payload.clear();
            self.last_payload.extend_from_slice(payload);
            self.last_payload_direction = flow.direction;
        }
        let moment = Moment {
            ts: packet.ts,
            packet_number: packet.number,
            flow_id: Some(flow.flow_id),
            community_id: Some(flow.community_id),
            src: ip.src,
            src_port: ip.src_port,
            dst: ip.dst,
            dst_port: ip.dst_port,
            transport: ip.transport,
            direction: flow.direction,
            packet: Some(packet),
            payload,
        };
        self.evaluate(&rules, Trigger::Packet, &moment, out);
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut InspectorOutput) {
        let rules = Arc::clone(&self.rules);
        let ctx = event.context();
        let Some(flow_id) = ctx.flow_id else { return };
        let app = match event {
            AppEvent::Http(_) => Some(AppProtocol::Http),
            AppEvent::Dns(_) => Some(AppProtocol::Dns),
            AppEvent::Tls(_) => Some(AppProtocol::Tls),
            AppEvent::Ssh(_) => Some(AppProtocol::Ssh),
            AppEvent::Smb(_) => Some(AppProtocol::Smb),
            AppEvent::Dhcp(_) => Some(AppProtocol::Dhcp),
            AppEvent::Ntp(_) => Some(AppProtocol::Ntp),
            AppEvent::File(_) => Some(AppProtocol::Http),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        if let AppEvent::Http(http) = event {
            if rules.http {
                self.on_http(http, out);
            }
            self.flow(flow_id, ctx.ts).app = app;
            return;
        }
        self.flow(flow_id, ctx.ts).app = app;
        let trigger = match event {
            AppEvent::Dns(_) => Trigger::DnsQuery,
            AppEvent::Tls(t) => match t.message {
                netsec_model::TlsMessage::ClientHello(_) => Trigger::TlsClientHello,
                netsec_model::TlsMessage::ServerHello(_) => Trigger::TlsServerHello,
                netsec_model::TlsMessage::Certificate { .. } => Trigger::TlsCertificate,
            },
            AppEvent::Ssh(_) => Trigger::SshBanner,
            _ => return,
        };
        if !rules.groups.contains_key(&trigger) {
            return;
        }
        let mut buffers = std::mem::take(&mut self.buffers);
        buffers.clear();
        if buffers.add_event(event) {
            self.buffers = buffers;
            self.evaluate(&rules, trigger, &Moment::from_event(ctx), out);
        } else {
            self.buffers = buffers;
        }
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut InspectorOutput) {
        if let Some(mut state) = self.flows.remove(&flow.id) {
            if let Some(tx) = state.http.take() {
                self.close_transaction(*tx, out);
            }
        }
        // re-emit grouped findings of this flow with their final counts
        let ended: Vec<(u32, FlowId)> = self
            .grouped
            .keys()
            .filter(|(_, f)| *f == flow.id)
            .copied()
            .collect();
        for key in ended {
            if let Some((finding, count)) = self.grouped.remove(&key) {
                if count > 1 {
                    out.findings.push(finding);
                }
            }
        }
    }

    fn on_tick(&mut self, now: Timestamp, _out: &mut InspectorOutput) {
        // thresholds older than an hour can no longer count
        self.thresholds.with(|t| {
            if t.len() > MAX_COUNTERS / 2 {
                t.retain(|_, c| now.since(c.start).as_secs_f64() < 3600.0);
            }
        });
    }

    fn finish(&mut self, out: &mut InspectorOutput) {
        let mut ids: Vec<FlowId> = self.flows.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(tx) = self.flows.get_mut(&id).and_then(|s| s.http.take()) {
                self.close_transaction(*tx, out);
            }
        }
        let mut left: Vec<((u32, FlowId), (Finding, u32))> = self.grouped.drain().collect();
        left.sort_by_key(|(k, _)| *k);
        for (_, (finding, count)) in left {
            if count > 1 {
                out.findings.push(finding);
            }
        }
    }
}

/// The rule protocol of an identified application protocol.
fn app_of(proto: netsec_model::AppProto) -> Option<AppProtocol> {
    use netsec_model::AppProto;
    Some(match proto {
        AppProto::Http => AppProtocol::Http,
        AppProto::Dns => AppProtocol::Dns,
        AppProto::Tls => AppProtocol::Tls,
        AppProto::Ssh => AppProtocol::Ssh,
        AppProto::Smb => AppProtocol::Smb,
        AppProto::Dhcp => AppProtocol::Dhcp,
        AppProto::Ntp => AppProtocol::Ntp,
        AppProto::Ftp => AppProtocol::Ftp,
        AppProto::Smtp => AppProtocol::Smtp,
        _ => return None,
    })
}

/// Add a packet's payload to the body being collected in its direction.
fn collect_body(state: &mut FlowState, di: usize, payload: &[u8]) {
    let Some(tx) = state.http.as_mut() else {
        return;
    };
    if !tx.in_body.get(di).copied().unwrap_or(false) || payload.is_empty() {
        return;
    }
    let body = if di == 0 {
        &mut tx.request_body
    } else {
        &mut tx.response_body
    };
    let mut take = payload.len().min(BODY_LIMIT.saturating_sub(body.len()));
    if let Some(Some(left)) = tx.body_left.get_mut(di) {
        take = take.min(usize::try_from(*left).unwrap_or(usize::MAX));
        *left -= take as u64;
    }
    let bytes = payload.get(..take).unwrap_or_default();
    body.extend_from_slice(bytes);
    if let Some(raw) = tx.raw.get_mut(di) {
        raw.extend_from_slice(bytes);
    }
}

/// The body bytes in the packet that ended a message head.
fn body_after_head(payload: &[u8]) -> &[u8] {
    payload
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .and_then(|i| payload.get(i + 4..))
        .unwrap_or_default()
}

/// The data of a chunked body (RFC 9112 §7.1), as far as it was captured:
/// size lines and their extensions dropped, a cut last chunk kept.
fn dechunk(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut rest = raw;
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return;
        };
        let line = rest.get(..eol).unwrap_or_default();
        let digits: &[u8] = line
            .split(|b| *b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let Some(size) = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| usize::from_str_radix(d, 16).ok())
        else {
            return;
        };
        if size == 0 {
            return;
        }
        let data = rest.get(eol + 2..).unwrap_or_default();
        let take = size.min(data.len());
        out.extend_from_slice(data.get(..take).unwrap_or_default());
        rest = data.get(take..).unwrap_or_default();
        rest = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        if take < size {
            return;
        }
    }
}

fn content_length(http: &netsec_model::HttpEvent) -> Option<u64> {
    http.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
}

impl SignatureInspector {
    /// An HTTP request starts a transaction (closing the previous one); a
    /// response completes the request's.
    fn on_http(&mut self, http: &netsec_model::HttpEvent, out: &mut InspectorOutput) {
        let Some(flow_id) = http.ctx.flow_id else {
            return;
        };
        let request = matches!(http.message, netsec_model::HttpMessage::Request { .. });
        let di = usize::from(!request);
        // the packet that completed the head holds the start of the body
        // (the event may come on a packet of the other direction, by its ACK)
        let last_payload = std::mem::take(&mut self.last_payload);
        let same_direction = self.last_payload_direction == http.ctx.direction;
        let first_body = if same_direction {
            body_after_head(&last_payload)
        } else {
            &[]
        };
        let chunked = http.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        });
        // a request without Content-Length or chunked coding has no body (RFC 9112 §6.3)
        let length = match (content_length(http), request && !chunked) {
            (Some(n), _) => Some(n),
            (None, true) => Some(0),
            (None, false) => None,
        };
        let mut closed = None;
        {
            let state = self.flow(flow_id, http.ctx.ts);
            if request {
                if let Some(tx) = state.http.take() {
                    if tx.request.is_some() {
                        closed = Some(tx);
                    }
                }
            }
            let tx = state.http.get_or_insert_with(Box::default);
            if request {
                tx.request = Some(http.clone());
            } else {
                tx.response = Some(http.clone());
            }
            if let Some(flag) = tx.in_body.get_mut(di) {
                *flag = true;
            }
            if let Some(left) = tx.body_left.get_mut(di) {
                *left = length;
            }
            if let Some(other) = tx.in_body.get_mut(1 - di.min(1)) {
                *other = false;
            }
            if let Some(raw) = tx.raw.get_mut(di) {
                raw.clear();
                if same_direction {
                    let head_len = last_payload.len() - first_body.len();
                    raw.extend_from_slice(
                        last_payload
                            .get(..head_len.min(BODY_LIMIT))
                            .unwrap_or_default(),
                    );
                }
            }
            collect_body(state, di, first_body);
        }
        self.last_payload = last_payload;
        if let Some(tx) = closed {
            self.close_transaction(*tx, out);
        }
    }

    /// Evaluate the HTTP rules on a finished transaction: request rules on
    /// its request, response rules on its response, with the bodies.
    fn close_transaction(&mut self, tx: HttpTransaction, out: &mut InspectorOutput) {
        let rules = Arc::clone(&self.rules);
        let [raw_request, raw_response] = &tx.raw;
        for (trigger, message, body, body_buffer, raw) in [
            (
                Trigger::HttpRequest,
                tx.request.as_ref(),
                &tx.request_body,
                Buffer::HttpRequestBody,
                raw_request,
            ),
            (
                Trigger::HttpResponse,
                tx.response.as_ref(),
                &tx.response_body,
                Buffer::HttpResponseBody,
                raw_response,
            ),
        ] {
            let Some(message) = message else { continue };
            if !rules.groups.contains_key(&trigger) {
                continue;
            }
            let mut buffers = std::mem::take(&mut self.buffers);
            buffers.clear();
            buffers.add_http(message);
            if !body.is_empty() {
                let chunked = message.headers.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("transfer-encoding")
                        && v.to_ascii_lowercase().contains("chunked")
                });
                let body: &[u8] = if chunked {
                    dechunk(body, &mut self.dechunked);
                    &self.dechunked
                } else {
                    body
                };
                buffers.add_body(body_buffer, body);
                buffers.add_body(Buffer::FileData, body);
            }
            self.buffers = buffers;
            let moment = Moment {
                payload: raw,
                ..Moment::from_event(&message.ctx)
            };
            self.evaluate(&rules, trigger, &moment, out);
        }
    }

    /// Run a trigger's candidate rules.
    fn evaluate(
        &mut self,
        rules: &CompiledRules,
        trigger: Trigger,
        moment: &Moment<'_>,
        out: &mut InspectorOutput,
    ) {
        let Some(group) = rules.groups.get(&trigger) else {
            return;
        };
        if moment
            .flow_id
            .and_then(|id| self.flows.get(&id))
            .is_some_and(|s| s.passed)
        {
            return;
        }
        self.candidates.clear();
        self.candidates.extend_from_slice(&group.always);
        for ip in [moment.src, moment.dst] {
            for &prefix in &group.prefixes {
                let Some(network) = crate::scope::Cidr::mask(prefix, ip) else {
                    continue;
                };
                if let Some(list) = group.by_network.get(&(prefix, network)) {
                    self.candidates.extend_from_slice(list);
                }
            }
        }
        let mut dotted = Vec::new();
        self.evaluation = self.evaluation.wrapping_add(1);
        let stamp = self.evaluation;
        for prefilter in &group.prefilters {
            let bytes: &[u8] = if prefilter.buffer == Buffer::Payload {
                moment.payload
            } else {
                match self.buffers.get(prefilter.buffer) {
                    Some(b) => b,
                    None => continue,
                }
            };
            let bytes = if prefilter.dot_prefix {
                dotted.clear();
                dotted.push(b'.');
                dotted.extend_from_slice(bytes);
                dotted.as_slice()
            } else {
                bytes
            };
            let slot = prefilter.slot;
            if self.pattern_seen.len() <= slot {
                self.pattern_seen.resize_with(slot + 1, Vec::new);
            }
            let Some(seen) = self.pattern_seen.get_mut(slot) else {
                continue;
            };
            if seen.len() < prefilter.rules_of.len() {
                seen.resize(prefilter.rules_of.len(), 0);
            }
            for m in prefilter.automaton.find_overlapping_iter(bytes) {
                let pattern = m.pattern().as_usize();
                match seen.get_mut(pattern) {
                    Some(s) if *s != stamp => *s = stamp,
                    _ => continue,
                }
                if let Some(list) = prefilter.rules_of.get(pattern) {
                    self.candidates.extend_from_slice(list);
                }
            }
        }
        if self.candidates.is_empty() {
            return;
        }
        self.candidates.sort_unstable();
        self.candidates.dedup();
        let candidates = std::mem::take(&mut self.candidates);
        let once_per_flow = matches!(
            trigger,
            Trigger::TlsClientHello | Trigger::TlsServerHello | Trigger::TlsCertificate
        );
        let mut raised = 0usize;
        for &index in &candidates {
            if raised >= MAX_ALERTS_PER_MOMENT {
                break;
            }
            if once_per_flow
                && moment
                    .flow_id
                    .and_then(|id| self.flows.get(&id))
                    .is_some_and(|s| s.fired_once.contains(&index))
            {
                continue;
            }
            let Some(compiled) = rules.rules.get(index as usize) else {
                continue;
            };
            if let Some(matched) = self.rule_matches(compiled, moment) {
                if compiled.rule.header.action == Action::Pass {
                    // Suricata: the packet, and the rest of its flow, are not inspected further
                    if let Some(id) = moment.flow_id {
                        self.flow(id, moment.ts).passed = true;
                    }
                    break;
                }
                self.apply_flowbits(compiled, moment);
                if compiled.rule.noalert || !self.threshold_allows(index, compiled, moment) {
                    continue;
                }
                if once_per_flow {
                    if let Some(id) = moment.flow_id {
                        self.flow(id, moment.ts).fired_once.push(index);
                    }
                }
                raised += 1;
                self.raise(index, compiled, moment, matched, out);
            }
        }
        self.candidates = candidates;
    }

    /// Whether a rule matches; the buffer and excerpt of its last match.
    fn rule_matches(
        &self,
        compiled: &CompiledRule,
        moment: &Moment<'_>,
    ) -> Option<(Buffer, String)> {
        let rule = &compiled.rule;
        if !header_matches(rule, moment) {
            return None;
        }
        let state = moment.flow_id.and_then(|id| self.flows.get(&id));
        let flow = &rule.flow;
        if let Some(to_server) = flow.to_server {
            if to_server != (moment.direction == Direction::ToServer) {
                return None;
            }
        }
        let established = state.is_some_and(|s| s.established)
            || (moment.packet.is_none() && moment.transport != Transport::Tcp);
        if flow.established && !established && moment.packet.is_some() {
            return None;
        }
        if flow.not_established && established {
            return None;
        }
        if let RuleProtocol::App(app) = rule.header.protocol {
            if compiled.trigger == Trigger::Packet && state.and_then(|s| s.app) != Some(app) {
                return None;
            }
        }
        for (op, ids, any) in &compiled.flowbits {
            let has = |id: &u32| state.is_some_and(|s| s.bits.contains(id));
            let ok = match op {
                BitOp::IsSet if *any => ids.iter().any(has),
                BitOp::IsSet => ids.iter().all(has),
                BitOp::IsNotSet if *any => ids.iter().any(|i| !has(i)),
                BitOp::IsNotSet => ids.iter().all(|i| !has(i)),
                _ => true,
            };
            if !ok {
                return None;
            }
        }
        if let Some(packet) = moment.packet {
            if !packet_tests_match(rule, packet, moment.payload.len()) {
                return None;
            }
        }
        let mut last = (Buffer::Payload, String::new());
        for (bi, buffer) in rule.buffers.iter().enumerate() {
            let bytes: &[u8] = if buffer.buffer == Buffer::Payload {
                moment.payload
            } else {
                self.buffers.get(buffer.buffer)?
            };
            let mut dotted;
            let bytes = if buffer.transforms.contains(&Transform::DotPrefix) {
                dotted = Vec::with_capacity(bytes.len() + 1);
                dotted.push(b'.');
                dotted.extend_from_slice(bytes);
                dotted.as_slice()
            } else {
                bytes
            };
            let base = compiled.regex_base.get(bi).copied().unwrap_or(0);
            let end = match_buffer(&buffer.items, bytes, &compiled.regexes, base)?;
            last = (buffer.buffer, excerpt(bytes, end));
        }
        Some(last)
    }

    fn apply_flowbits(&mut self, compiled: &CompiledRule, moment: &Moment<'_>) {
        let Some(id) = moment.flow_id else { return };
        if !compiled
            .flowbits
            .iter()
            .any(|(op, _, _)| matches!(op, BitOp::Set | BitOp::Unset | BitOp::Toggle))
        {
            return;
        }
        let state = self.flow(id, moment.ts);
        for (op, ids, _) in &compiled.flowbits {
            for bit in ids {
                let at = state.bits.iter().position(|b| b == bit);
                match (op, at) {
                    (BitOp::Set, None) | (BitOp::Toggle, None) => state.bits.push(*bit),
                    (BitOp::Unset, Some(i)) | (BitOp::Toggle, Some(i)) => {
                        state.bits.swap_remove(i);
                    }
                    _ => {}
                }
            }
        }
    }

    /// threshold / detection_filter: whether this match may alert.
    fn threshold_allows(
        &mut self,
        index: u32,
        compiled: &CompiledRule,
        moment: &Moment<'_>,
    ) -> bool {
        let Some(t) = compiled.rule.threshold.or(compiled.rule.detection_filter) else {
            return true;
        };
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let key = match t.track {
            TrackBy::Src => (index, moment.src, unspecified),
            TrackBy::Dst => (index, moment.dst, unspecified),
            TrackBy::Rule => (index, unspecified, unspecified),
            TrackBy::Both => (index, moment.src, moment.dst),
        };
        let counted = self.thresholds.with(|table| {
            if table.len() >= MAX_COUNTERS && !table.contains_key(&key) {
                return None;
            }
            let counter = table.entry(key).or_insert(Counter {
                start: moment.ts,
                count: 0,
            });
            if moment.ts.since(counter.start).as_secs_f64() >= f64::from(t.seconds) {
                *counter = Counter {
                    start: moment.ts,
                    count: 0,
                };
            }
            counter.count = counter.count.saturating_add(1);
            Some(counter.count)
        });
        let Some(n) = counted else {
            self.evicted += 1;
            return true;
        };
        match t.kind {
            ThresholdKind::Limit => n <= t.count,
            ThresholdKind::Threshold => t.count > 0 && n.is_multiple_of(t.count),
            ThresholdKind::Both => n == t.count,
            ThresholdKind::DetectionFilter => n > t.count,
        }
    }

    fn raise(
        &mut self,
        index: u32,
        compiled: &CompiledRule,
        moment: &Moment<'_>,
        (buffer, excerpt): (Buffer, String),
        out: &mut InspectorOutput,
    ) {
        let rule = &compiled.rule;
        let priority = rule.priority.unwrap_or(3);
        out.alerts.push(Alert {
            ts: moment.ts,
            packet_number: moment.packet_number,
            flow_id: moment.flow_id,
            community_id: moment.community_id.map(str::to_string),
            src_ip: moment.src,
            src_port: moment.src_port,
            dst_ip: moment.dst,
            dst_port: moment.dst_port,
            transport: moment.transport,
            direction: moment.direction,
            sid: rule.sid,
            gid: rule.gid,
            rev: rule.rev,
            msg: rule.msg.clone(),
            category: compiled.category.clone(),
            priority,
            ruleset: compiled.ruleset.clone(),
            mitre: compiled.mitre.clone(),
            buffer: buffer.name().to_string(),
            excerpt,
        });
        let Some(flow_id) = moment.flow_id else {
            return;
        };
        let key = (index, flow_id);
        if let Some((finding, count)) = self.grouped.get_mut(&key) {
            *count += 1;
            finding.time.extend(moment.ts);
            finding.evidence.measurements.clear();
            let n = f64::from(*count);
            *finding = finding.clone().with_measurement(
                "alerts",
                n,
                "alerts",
                Comparison::GreaterOrEqual,
                1.0,
            );
            return;
        }
        if self.grouped.len() >= MAX_COUNTERS {
            self.evicted += 1;
            return;
        }
        let finding = signature_finding(compiled, moment, priority);
        out.findings.push(finding.clone());
        self.grouped.insert(key, (finding, 1));
    }
}

/// The first alert of a rule on a flow as a finding.
fn signature_finding(compiled: &CompiledRule, moment: &Moment<'_>, priority: u8) -> Finding {
    let rule = &compiled.rule;
    let severity = match priority {
        0 | 1 => Severity::High,
        2 => Severity::Medium,
        3 => Severity::Low,
        _ => Severity::Info,
    };
    // a rule written for one known threat (trojan, exploit) is surer than a policy or info rule
    let confidence = match rule.classtype.as_deref() {
        Some(
            "trojan-activity"
            | "command-and-control"
            | "exploit-kit"
            | "domain-c2"
            | "successful-admin"
            | "successful-user"
            | "attempted-admin",
        ) => 0.9,
        Some(
            "policy-violation"
            | "not-suspicious"
            | "misc-activity"
            | "unknown"
            | "protocol-command-decode",
        ) => 0.5,
        _ => 0.7,
    };
    let time = netsec_model::TimeRange::at(moment.ts);
    Finding::new(
        "signature_match",
        rule.msg.clone(),
        FindingCategory::Signature,
        severity,
        confidence,
        time,
        PRODUCER,
    )
    .with_id(format!(
        "{}:{}:{}",
        rule.gid,
        rule.sid,
        moment.flow_id.map_or_else(String::new, |f| f.to_string())
    ))
    .with_mitre(compiled.mitre.iter().cloned())
    .with_entity(EntityRole::Source, EntityValue::Host { ip: moment.src })
    .with_entity(EntityRole::Target, EntityValue::Host { ip: moment.dst })
    .with_measurement("alerts", 1.0, "alerts", Comparison::GreaterOrEqual, 1.0)
    .with_summary(format!(
        "rule {}:{}:{} ({}) matched {} → {}:{} (priority {priority}, {})",
        rule.gid,
        rule.sid,
        rule.rev,
        compiled.ruleset,
        moment.src,
        moment.dst,
        moment.dst_port,
        if compiled.category.is_empty() {
            "no classtype"
        } else {
            &compiled.category
        }
    ))
}

/// Protocol, addresses and ports.
fn header_matches(rule: &super::rule::Rule, m: &Moment<'_>) -> bool {
    let header = &rule.header;
    let proto_ok = match header.protocol {
        RuleProtocol::Ip => true,
        RuleProtocol::Tcp | RuleProtocol::TcpPkt | RuleProtocol::TcpStream => {
            m.transport == Transport::Tcp
        }
        RuleProtocol::Udp => m.transport == Transport::Udp,
        RuleProtocol::Icmp => matches!(m.transport, Transport::Icmp | Transport::Icmpv6),
        RuleProtocol::App(AppProtocol::Dns) => {
            matches!(m.transport, Transport::Udp | Transport::Tcp)
        }
        RuleProtocol::App(AppProtocol::Dhcp | AppProtocol::Ntp) => m.transport == Transport::Udp,
        RuleProtocol::App(_) => m.transport == Transport::Tcp,
    };
    if !proto_ok {
        return false;
    }
    let ports = m.transport.has_ports();
    let forward = header.src.contains(m.src)
        && header.dst.contains(m.dst)
        && (!ports
            || header.src_ports.contains(m.src_port) && header.dst_ports.contains(m.dst_port));
    if forward {
        return true;
    }
    header.direction == RuleDirection::Both
        && header.src.contains(m.dst)
        && header.dst.contains(m.src)
        && (!ports
            || header.src_ports.contains(m.dst_port) && header.dst_ports.contains(m.src_port))
}

/// dsize, flags, ttl, itype, icode, ip_proto.
fn packet_tests_match(rule: &super::rule::Rule, packet: &PacketInfo, payload_len: usize) -> bool {
    let Some(ip) = packet.ip else { return false };
    if let Some(t) = rule.dsize {
        if !t.test(payload_len as u64) {
            return false;
        }
    }
    if let Some(t) = rule.ttl {
        if !t.test(u64::from(ip.ttl)) {
            return false;
        }
    }
    if let Some(t) = rule.ip_proto {
        if !t.test(u64::from(ip.transport.ip_proto())) {
            return false;
        }
    }
    let icmp = matches!(ip.transport, Transport::Icmp | Transport::Icmpv6);
    if let Some(t) = rule.itype {
        // netsec-proto keeps the ICMP type and code in the port fields
        if !icmp || !t.test(u64::from(ip.src_port)) {
            return false;
        }
    }
    if let Some(t) = rule.icode {
        if !icmp || !t.test(u64::from(ip.dst_port)) {
            return false;
        }
    }
    if let Some(f) = rule.flags {
        if ip.transport != Transport::Tcp {
            return false;
        }
        let have = ip.tcp_flags.0 & !f.ignore;
        let ok = match f.mode {
            FlagsMode::Exact => have == f.flags,
            FlagsMode::All => have & f.flags == f.flags,
            FlagsMode::Any => have & f.flags != 0,
            FlagsMode::Not => have & f.flags == 0,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Up to [`EXCERPT_BYTES`] of the buffer ending at the match, printable.
fn excerpt(bytes: &[u8], end: usize) -> String {
    let end = end.min(bytes.len());
    let start = end.saturating_sub(EXCERPT_BYTES);
    bytes
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::ruleset::RuleConfig;
    use netsec_model::{AppProto, IpInfo, TcpFlags};
    use std::net::Ipv4Addr;
    use std::path::Path;

    /// One packet of flow 1 between 10.0.0.1:40000 (client) and 192.0.2.1:80.
    struct Packet<'a> {
        to_server: bool,
        payload: &'a [u8],
        flags: u8,
        ttl: u8,
        transport: Transport,
        ports: (u16, u16),
        established: bool,
        second: i64,
    }

    impl Default for Packet<'_> {
        fn default() -> Self {
            Packet {
                to_server: true,
                payload: b"",
                flags: TcpFlags::ACK | TcpFlags::PSH,
                ttl: 64,
                transport: Transport::Tcp,
                ports: (40000, 80),
                established: true,
                second: 0,
            }
        }
    }

    /// Sids alerted for each packet in turn.
    fn run(rules: &str, packets: &[Packet<'_>]) -> Vec<Vec<u32>> {
        let mut set = RuleSet::new(RuleConfig::default());
        set.add_text(rules, Path::new("t.rules"));
        assert_eq!(set.skipped(), 0, "{:?}", set.files[0].skipped);
        let mut inspector = SignatureInspector::new(Arc::new(CompiledRules::new(&set)));
        let mut seq = [1000u32, 5000u32];
        packets
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (client, server) = ([10, 0, 0, 1], [192, 0, 2, 1]);
                let (src, dst, sport, dport) = if p.to_server {
                    (client, server, p.ports.0, p.ports.1)
                } else {
                    (server, client, p.ports.1, p.ports.0)
                };
                let di = usize::from(!p.to_server);
                let packet = PacketInfo {
                    number: i as u64 + 1,
                    ts: Timestamp::from_secs_nanos(1_700_000_000 + p.second, 0),
                    wire_len: 60,
                    src_mac: None,
                    dst_mac: None,
                    vlan: 0,
                    ether_type: 0x0800,
                    ip: Some(IpInfo {
                        src: IpAddr::V4(Ipv4Addr::from(src)),
                        dst: IpAddr::V4(Ipv4Addr::from(dst)),
                        transport: p.transport,
                        ttl: p.ttl,
                        ip_len: 60,
                        fragmented: false,
                        reassembled: false,
                        src_port: sport,
                        dst_port: dport,
                        tcp_flags: TcpFlags(p.flags),
                        tcp_seq: seq[di],
                        tcp_ack: 1,
                        tcp_window: 1024,
                        payload_len: p.payload.len() as u32,
                    }),
                };
                seq[di] = seq[di].wrapping_add(p.payload.len() as u32);
                let context = PayloadContext {
                    flow_id: FlowId(1),
                    community_id: "1:test",
                    direction: if p.to_server {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    },
                    established: p.established,
                    app_proto: AppProto::Unknown,
                    handshake_seen: true,
                };
                let mut out = InspectorOutput::default();
                inspector.on_payload(&packet, &context, p.payload, &mut out);
                out.alerts.iter().map(|a| a.sid).collect()
            })
            .collect()
    }

    fn one(rule: &str, packet: Packet<'_>) -> bool {
        !run(rule, &[packet])[0].is_empty()
    }

    #[test]
    fn flow_direction_and_established() {
        let rule = r#"alert tcp any any -> any any (msg:"x"; flow:established,to_server; content:"a"; sid:1;)"#;
        assert!(one(
            rule,
            Packet {
                payload: b"a",
                ..Packet::default()
            }
        ));
        assert!(!one(
            rule,
            Packet {
                payload: b"a",
                to_server: false,
                ..Packet::default()
            }
        ));
        assert!(!one(
            rule,
            Packet {
                payload: b"a",
                established: false,
                ..Packet::default()
            }
        ));
        let not_est = r#"alert tcp any any -> any any (msg:"x"; flow:not_established; sid:2;)"#;
        assert!(one(
            not_est,
            Packet {
                established: false,
                ..Packet::default()
            }
        ));
        assert!(!one(not_est, Packet::default()));
    }

    #[test]
    fn header_addresses_ports_and_bidirectional() {
        let rule = r#"alert tcp 10.0.0.0/8 any -> any 80 (msg:"x"; sid:1;)"#;
        assert!(one(rule, Packet::default()));
        assert!(!one(
            rule,
            Packet {
                to_server: false,
                ..Packet::default()
            }
        ));
        let both = r#"alert tcp 10.0.0.0/8 any <> any 80 (msg:"x"; sid:1;)"#;
        assert!(one(
            both,
            Packet {
                to_server: false,
                ..Packet::default()
            }
        ));
        let udp = r#"alert udp any any -> any any (msg:"x"; sid:1;)"#;
        assert!(!one(udp, Packet::default()));
        assert!(one(
            udp,
            Packet {
                transport: Transport::Udp,
                ..Packet::default()
            }
        ));
    }

    #[test]
    fn flowbits_set_then_isset_across_packets() {
        let rules = r#"alert tcp any any -> any any (msg:"login"; flow:to_server; content:"USER"; flowbits:set,login; flowbits:noalert; sid:1;)
alert tcp any any -> any any (msg:"reply after login"; flow:to_client; content:"OK"; flowbits:isset,login; sid:2;)
alert tcp any any -> any any (msg:"reply without login"; flow:to_client; content:"OK"; flowbits:isnotset,login; sid:3;)"#;
        let alerts = run(
            rules,
            &[
                Packet {
                    payload: b"OK",
                    to_server: false,
                    ..Packet::default()
                },
                Packet {
                    payload: b"USER x",
                    ..Packet::default()
                },
                Packet {
                    payload: b"OK",
                    to_server: false,
                    ..Packet::default()
                },
            ],
        );
        assert_eq!(alerts, vec![vec![3], vec![], vec![2]]);
    }

    #[test]
    fn flags_dsize_ttl_ip_proto() {
        let syn = r#"alert tcp any any -> any any (msg:"syn"; flags:S; sid:1;)"#;
        assert!(one(
            syn,
            Packet {
                flags: TcpFlags::SYN,
                ..Packet::default()
            }
        ));
        assert!(!one(
            syn,
            Packet {
                flags: TcpFlags::SYN | TcpFlags::ACK,
                ..Packet::default()
            }
        ));
        let syn_plus = r#"alert tcp any any -> any any (msg:"syn+"; flags:S+; sid:1;)"#;
        assert!(one(
            syn_plus,
            Packet {
                flags: TcpFlags::SYN | TcpFlags::ACK,
                ..Packet::default()
            }
        ));
        let dsize = r#"alert tcp any any -> any any (msg:"d"; dsize:>3; sid:1;)"#;
        assert!(one(
            dsize,
            Packet {
                payload: b"abcd",
                ..Packet::default()
            }
        ));
        assert!(!one(
            dsize,
            Packet {
                payload: b"abc",
                ..Packet::default()
            }
        ));
        let ttl = r#"alert ip any any -> any any (msg:"t"; ttl:<10; sid:1;)"#;
        assert!(one(
            ttl,
            Packet {
                ttl: 3,
                ..Packet::default()
            }
        ));
        assert!(!one(ttl, Packet::default()));
        let proto = r#"alert ip any any -> any any (msg:"p"; ip_proto:udp; sid:1;)"#;
        assert!(one(
            proto,
            Packet {
                transport: Transport::Udp,
                ..Packet::default()
            }
        ));
        assert!(!one(proto, Packet::default()));
    }

    #[test]
    fn itype_and_icode() {
        // netsec-proto keeps the ICMP type and code in the port fields
        let echo = r#"alert icmp any any -> any any (msg:"echo"; itype:8; icode:0; sid:1;)"#;
        let icmp = |t: u16, c: u16| Packet {
            transport: Transport::Icmp,
            ports: (t, c),
            flags: 0,
            ..Packet::default()
        };
        assert!(one(echo, icmp(8, 0)));
        assert!(!one(echo, icmp(0, 0)));
        assert!(!one(echo, icmp(8, 1)));
    }

    #[test]
    fn threshold_limit_and_detection_filter() {
        let limit = r#"alert tcp any any -> any any (msg:"l"; content:"a"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)"#;
        let p = |second| Packet {
            payload: b"a",
            second,
            ..Packet::default()
        };
        let n = |alerts: Vec<Vec<u32>>| alerts.iter().filter(|a| !a.is_empty()).count();
        // retransmissions are not inspected twice: distinct payload sequence numbers
        assert_eq!(n(run(limit, &[p(0), p(1), p(2), p(3)])), 2);
        assert_eq!(n(run(limit, &[p(0), p(1), p(2), p(70)])), 3, "a new period");
        let filter = r#"alert tcp any any -> any any (msg:"f"; content:"a"; detection_filter:track by_src, count 2, seconds 60; sid:1;)"#;
        assert_eq!(
            run(filter, &[p(0), p(1), p(2), p(3)])
                .iter()
                .map(|a| a.len())
                .collect::<Vec<_>>(),
            vec![0, 0, 1, 1]
        );
    }

    #[test]
    fn pass_ends_the_flows_inspection() {
        let rules = r#"pass tcp any any -> any any (msg:"p"; content:"trusted"; sid:1;)
alert tcp any any -> any any (msg:"a"; content:"a"; sid:2;)"#;
        let alerts = run(
            rules,
            &[
                Packet {
                    payload: b"a",
                    ..Packet::default()
                },
                Packet {
                    payload: b"trusted a",
                    ..Packet::default()
                },
                Packet {
                    payload: b"a again",
                    ..Packet::default()
                },
            ],
        );
        assert_eq!(alerts, vec![vec![2], vec![], vec![]]);
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let mut out = Vec::new();
        dechunk(b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n", &mut out);
        assert_eq!(out, b"Wikipedia");
        dechunk(b"a\r\n12345", &mut out);
        assert_eq!(out, b"12345", "a cut chunk keeps what was captured");
        dechunk(b"zz\r\nabc", &mut out);
        assert!(out.is_empty(), "not chunked after all: nothing");
    }

    #[test]
    fn a_retransmission_is_not_inspected_twice() {
        let mut set = RuleSet::new(RuleConfig::default());
        set.add_text(
            r#"alert tcp any any -> any any (msg:"a"; content:"a"; sid:1;)"#,
            Path::new("t"),
        );
        let mut inspector = SignatureInspector::new(Arc::new(CompiledRules::new(&set)));
        let ip = IpInfo {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            transport: Transport::Tcp,
            ttl: 64,
            ip_len: 41,
            fragmented: false,
            reassembled: false,
            src_port: 1,
            dst_port: 2,
            tcp_flags: TcpFlags(TcpFlags::ACK),
            tcp_seq: 100,
            tcp_ack: 1,
            tcp_window: 1,
            payload_len: 1,
        };
        let packet = PacketInfo {
            number: 1,
            ts: Timestamp::from_secs_nanos(1, 0),
            wire_len: 60,
            src_mac: None,
            dst_mac: None,
            vlan: 0,
            ether_type: 0x0800,
            ip: Some(ip),
        };
        let context = PayloadContext {
            flow_id: FlowId(1),
            community_id: "",
            direction: Direction::ToServer,
            established: true,
            app_proto: AppProto::Unknown,
            handshake_seen: true,
        };
        let mut out = InspectorOutput::default();
        inspector.on_payload(&packet, &context, b"a", &mut out);
        inspector.on_payload(&packet, &context, b"a", &mut out);
        assert_eq!(out.alerts.len(), 1);
        assert_eq!(
            out.findings.len(),
            1,
            "one finding for the rule on the flow"
        );
        assert_eq!(out.findings[0].kind, "signature_match");
    }
}
