//! The containment plan: from a run's findings and conversations, the block
//! rules that stop every malicious conversation while cutting as little
//! else as possible, with what each rule stops, what it also stops, and what
//! that puts at risk.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use netsec_model::{Finding, MacAddr, Timestamp};
use serde::{Deserialize, Serialize};

use super::assets::{Assets, Criticality};
use super::conversations::{Conversation, ConversationKey, Conversations};
use super::cover::{cover, Bits, CoverMethod};
use super::rule::RuleMatch;
use super::threats::{judge, threats, SkippedFinding, Threat, ThreatConfig, ThreatShape};

/// How a plan is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanConfig {
    /// Which findings count and how their conversations are judged.
    pub threats: ThreatConfig,
    /// What one benign flow blocked costs, in rules: a rule costs
    /// `1 + benign_weight × benign flows it blocks`. At 1, a broad rule that
    /// also stops 3 benign flows is preferred to 5 narrow rules that stop
    /// none; raise it to prefer narrow rules.
    pub benign_weight: f64,
    /// Shortest IPv4 prefix addresses may be aggregated into.
    pub min_prefix_v4: u8,
    /// Shortest IPv6 prefix addresses may be aggregated into.
    pub min_prefix_v6: u8,
    /// Seconds the rules live before they expire (0: until removed).
    pub ttl_secs: u64,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            threats: ThreatConfig::default(),
            benign_weight: 1.0,
            min_prefix_v4: 24,
            min_prefix_v6: 64,
            ttl_secs: 86_400,
        }
    }
}

/// An asset a rule touches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetImpact {
    /// Asset name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// How much it matters.
    pub criticality: Criticality,
    /// Benign flows of the asset the rule would stop.
    pub flows: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The rule blocks one of the asset's own addresses outright.
    pub blocks_asset_address: bool,
}

/// A narrower way to stop what a risky rule stops.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// The rules.
    pub rules: Vec<RuleMatch>,
    /// Benign flows they would still stop.
    pub benign_flows: u64,
    /// Whether they still cut a high or critical asset.
    pub cuts_critical: bool,
}

/// What a rule puts at risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRisk {
    /// Benign flows it stops.
    pub benign_flows: u64,
    /// Their bytes.
    pub benign_bytes: u64,
    /// Hosts (other than the hostile ones) that lose a benign conversation.
    pub benign_hosts: usize,
    /// Assets it touches.
    pub assets: Vec<AssetImpact>,
    /// It cuts a high or critical asset: review before applying.
    pub cuts_critical: bool,
    /// A narrower alternative, offered when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative: Option<Alternative>,
}

/// One rule of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRule {
    /// `netsec-N`, in order of the first conversation it stops.
    pub id: String,
    /// What it drops.
    pub matcher: RuleMatch,
    /// The findings it contains.
    pub findings: Vec<String>,
    /// Their kinds.
    pub kinds: Vec<String>,
    /// Their ATT&CK techniques.
    pub mitre: Vec<String>,
    /// Every malicious conversation it stops.
    pub stops: Vec<Conversation>,
    /// Every benign conversation it also stops.
    pub also_stops: Vec<Conversation>,
    /// What that risks.
    pub risk: RuleRisk,
}

impl PlannedRule {
    /// One line for comments: id, findings, techniques.
    pub fn comment(&self) -> String {
        let mut text = format!("{}: {}", self.id, self.findings.join(", "));
        if !self.mitre.is_empty() {
            text.push_str(&format!(" [{}]", self.mitre.join(",")));
        }
        text
    }
}

/// A domain to stop resolving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainBlock {
    /// The domain (and its subdomains).
    pub domain: String,
    /// Findings naming it.
    pub findings: Vec<String>,
    /// Conversations (to resolvers) only this block contains.
    pub conversations: Vec<ConversationKey>,
}

/// A MAC to drop frames from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MacBlock {
    /// The address.
    pub mac: MacAddr,
    /// Findings naming it.
    pub findings: Vec<String>,
}

/// Counts over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Conversations weighed.
    pub conversations: usize,
    /// Malicious ones.
    pub malicious_conversations: usize,
    /// Their flows.
    pub malicious_flows: u64,
    /// Benign ones (including those only a domain block contains).
    pub benign_conversations: usize,
    /// Their flows.
    pub benign_flows: u64,
    /// Conversations forgotten to stay in the memory budget.
    pub forgotten_conversations: u64,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Address rules.
    pub rules: Vec<PlannedRule>,
    /// Domains.
    pub domains: Vec<DomainBlock>,
    /// MACs.
    pub macs: Vec<MacBlock>,
    /// How the rules were chosen.
    pub method: CoverMethod,
    /// Malicious conversations no rule stops (none unless a finding's only
    /// hostile address is on the never-block list).
    pub uncovered: Vec<ConversationKey>,
    /// The findings acted on.
    pub threats: Vec<Threat>,
    /// The findings passed over, with why.
    pub skipped: Vec<SkippedFinding>,
    /// Counts.
    pub totals: Totals,
    /// Time of the last conversation (rules expire `ttl_secs` after it is applied).
    pub observed_until: Option<Timestamp>,
    /// Seconds the rules live (0: until removed).
    pub ttl_secs: u64,
}

impl Plan {
    /// Whether there is nothing to block.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.domains.is_empty() && self.macs.is_empty()
    }
}

/// Most malicious conversations of one hostile host for which
/// single-conversation candidates are made (past it, its services and peers
/// are the narrow alternatives).
const SINGLE_RULES_PER_HOST: usize = 256;

/// Conversations by the addresses on either end.
struct ByAddress(HashMap<IpAddr, Vec<ConversationKey>>);

impl ByAddress {
    fn new<'a>(keys: impl Iterator<Item = &'a ConversationKey>) -> Self {
        let mut map: HashMap<IpAddr, Vec<ConversationKey>> = HashMap::new();
        for k in keys {
            map.entry(k.client).or_default().push(*k);
            if k.server != k.client {
                map.entry(k.server).or_default().push(*k);
            }
        }
        ByAddress(map)
    }

    /// Conversations `rule` blocks.
    fn blocked_by<'a>(
        &'a self,
        rule: &'a RuleMatch,
        all: &'a [ConversationKey],
    ) -> Box<dyn Iterator<Item = ConversationKey> + 'a> {
        let host = |n: &Option<IpNet>| {
            n.filter(|n| n.prefix_len() == n.max_prefix_len())
                .map(|n| n.addr())
        };
        // Of the rule's host addresses, the one with the fewest conversations.
        let fewest = [host(&rule.src), host(&rule.dst)]
            .into_iter()
            .flatten()
            .min_by_key(|ip| self.0.get(ip).map_or(0, Vec::len));
        match fewest {
            Some(ip) => Box::new(
                self.0
                    .get(&ip)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(move |k| rule.blocks(k)),
            ),
            None => Box::new(all.iter().copied().filter(move |k| rule.blocks(k))),
        }
    }
}

/// Make the plan for `findings` over the run's `table` of conversations.
pub fn plan(
    findings: &[Finding],
    table: &mut Conversations,
    assets: &Assets,
    config: &PlanConfig,
) -> Plan {
    let (threats, skipped) = threats(findings, &config.threats);
    let judgement = judge(&threats, table, &config.threats);
    let flows_of = |k: &ConversationKey| table.get(k).map_or(1, |c| c.flows);

    // Everything not malicious is what a rule must spare: benign, and the
    // resolver conversations a domain block contains.
    let spared: Vec<ConversationKey> = judgement
        .benign
        .iter()
        .chain(judgement.by_domain.keys())
        .copied()
        .collect();
    let malicious: Vec<ConversationKey> = judgement.malicious.keys().copied().collect();
    let spared_index = ByAddress::new(spared.iter());
    let malicious_index = ByAddress::new(malicious.iter());
    let element_of: HashMap<ConversationKey, usize> =
        malicious.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let benign_cost = |rule: &RuleMatch| -> u64 {
        spared_index
            .blocked_by(rule, &spared)
            .map(|k| flows_of(&k))
            .sum()
    };

    // Candidates: per hostile host the whole host, then its services and
    // peers, then (where those stop benign traffic) each conversation.
    let mut candidates: BTreeSet<RuleMatch> = BTreeSet::new();
    for t in &threats {
        for &h in &t.hostile {
            let host_rule = match t.shape {
                ThreatShape::HostileSource => RuleMatch::from_host(h),
                ThreatShape::HostileRemote => RuleMatch::to_host(h),
            };
            // Single-conversation rules only where the host rule stops
            // benign traffic and the host's conversations are few enough
            // for them to be a sensible alternative.
            let broad_is_costly = benign_cost(&host_rule) > 0
                && malicious_index.0.get(&h).map_or(0, Vec::len) <= SINGLE_RULES_PER_HOST;
            candidates.insert(host_rule);
            for k in malicious_index.blocked_by(&host_rule, &malicious) {
                if !judgement.malicious.get(&k).is_some_and(|ts| {
                    ts.iter()
                        .any(|&i| threats.get(i).is_some_and(|x| x.hostile.contains(&h)))
                }) {
                    continue;
                }
                if k.client == h {
                    candidates.insert(RuleMatch::from_host(h).on_service(k.transport, k.port));
                    candidates.insert(RuleMatch::from_host(h).towards(k.server));
                } else {
                    candidates.insert(RuleMatch::to_host(h).on_service(k.transport, k.port));
                }
                if broad_is_costly {
                    candidates.insert(
                        RuleMatch::from_host(k.client)
                            .towards(k.server)
                            .on_service(k.transport, k.port),
                    );
                }
            }
        }
    }
    let mut candidates: Vec<RuleMatch> = candidates.into_iter().collect();
    let coverage = |r: &RuleMatch| {
        let mut b = Bits::empty(malicious.len());
        for k in malicious_index.blocked_by(r, &malicious) {
            if let Some(&i) = element_of.get(&k) {
                b.insert(i);
            }
        }
        b
    };
    let mut covers: Vec<Bits> = candidates.iter().map(coverage).collect();
    // A malicious conversation no candidate reaches gets its own rule.
    let mut reached = Bits::empty(malicious.len());
    for b in &covers {
        for e in b.iter() {
            reached.insert(e);
        }
    }
    for (e, k) in malicious.iter().enumerate() {
        if !reached.contains(e) {
            let r = RuleMatch::from_host(k.client)
                .towards(k.server)
                .on_service(k.transport, k.port);
            covers.push(coverage(&r));
            candidates.push(r);
        }
    }
    let costs: Vec<f64> = candidates
        .iter()
        .map(|r| 1.0 + config.benign_weight.max(0.0) * benign_cost(r) as f64)
        .collect();
    let chosen = cover(malicious.len(), &covers, &costs);
    let mut rules: Vec<RuleMatch> = chosen.chosen.iter().map(|&i| candidates[i]).collect();
    rules = aggregate(rules, config, |r| {
        spared_index.blocked_by(r, &spared).next().is_none()
    });
    // A hostile host seen in no conversation (an ARP sweep, spoofed
    // sources that never got a flow) is still blocked outright.
    for t in &threats {
        for &h in &t.hostile {
            let seen = malicious_index.0.contains_key(&h);
            let held = rules.iter().any(|r| host_wide_on(r, h));
            if !seen && !held {
                rules.push(match t.shape {
                    ThreatShape::HostileSource => RuleMatch::from_host(h),
                    ThreatShape::HostileRemote => RuleMatch::to_host(h),
                });
            }
        }
    }

    // Describe each rule.
    let conversation = |k: &ConversationKey| {
        table
            .get(k)
            .cloned()
            .unwrap_or_else(|| Conversation::from_ref(&key_ref(k)))
    };
    let benign_of = |rule: &RuleMatch| -> Vec<Conversation> {
        spared_index
            .blocked_by(rule, &spared)
            .map(|k| conversation(&k))
            .collect()
    };
    let mut planned: Vec<PlannedRule> = rules
        .iter()
        .map(|r| {
            let stops: Vec<Conversation> = malicious_index
                .blocked_by(r, &malicious)
                .map(|k| conversation(&k))
                .collect();
            let also_stops = benign_of(r);
            let mut threat_ids = BTreeSet::new();
            for c in &stops {
                if let Some(ts) = judgement.malicious.get(&c.key) {
                    threat_ids.extend(ts.iter().copied());
                }
            }
            for (i, t) in threats.iter().enumerate() {
                if t.hostile.iter().any(|&h| host_wide_on(r, h)) {
                    threat_ids.insert(i);
                }
            }
            let mine: Vec<&Threat> = threat_ids.iter().filter_map(|&i| threats.get(i)).collect();
            let hostile: BTreeSet<IpAddr> = mine
                .iter()
                .flat_map(|t| t.hostile.iter().copied())
                .collect();
            let mut risk = assess(r, &also_stops, &hostile, assets);
            if risk.cuts_critical {
                let elements: Vec<usize> = stops
                    .iter()
                    .filter_map(|c| element_of.get(&c.key).copied())
                    .collect();
                risk.alternative = Some(alternative(
                    &elements,
                    (&candidates, &covers, &costs),
                    |rule| benign_of(rule),
                    &malicious,
                    assets,
                ));
            }
            PlannedRule {
                id: String::new(),
                matcher: *r,
                findings: dedup(mine.iter().map(|t| t.finding.clone())),
                kinds: dedup(mine.iter().map(|t| t.kind.clone())),
                mitre: dedup(mine.iter().flat_map(|t| t.mitre.iter().cloned())),
                stops,
                also_stops,
                risk,
            }
        })
        .collect();
    planned.sort_by_key(|p| (p.stops.iter().map(|c| c.time.start).min(), p.matcher));
    for (n, p) in planned.iter_mut().enumerate() {
        p.id = format!("netsec-{}", n + 1);
        p.stops.sort_by_key(|c| (c.time.start, c.key));
        p.also_stops.sort_by_key(|c| (c.time.start, c.key));
    }

    let mut domains: BTreeMap<String, DomainBlock> = BTreeMap::new();
    let mut macs: BTreeMap<MacAddr, MacBlock> = BTreeMap::new();
    for (i, t) in threats.iter().enumerate() {
        for d in &t.domains {
            let block = domains.entry(d.clone()).or_insert_with(|| DomainBlock {
                domain: d.clone(),
                findings: Vec::new(),
                conversations: Vec::new(),
            });
            block.findings.push(t.finding.clone());
            block.conversations.extend(
                judgement
                    .by_domain
                    .iter()
                    .filter(|(_, ts)| ts.contains(&i))
                    .map(|(k, _)| *k),
            );
        }
        for m in &t.macs {
            macs.entry(*m)
                .or_insert_with(|| MacBlock {
                    mac: *m,
                    findings: Vec::new(),
                })
                .findings
                .push(t.finding.clone());
        }
    }
    let (forgotten_conversations, _, _) = table.forgotten();
    let totals = Totals {
        conversations: table.len(),
        malicious_conversations: malicious.len(),
        malicious_flows: malicious.iter().map(&flows_of).sum(),
        benign_conversations: spared.len(),
        benign_flows: spared.iter().map(&flows_of).sum(),
        forgotten_conversations,
    };
    Plan {
        rules: planned,
        domains: domains.into_values().collect(),
        macs: macs.into_values().collect(),
        method: chosen.method,
        uncovered: chosen
            .uncovered
            .iter()
            .filter_map(|&i| malicious.get(i).copied())
            .collect(),
        threats,
        skipped,
        totals,
        observed_until: table.sorted().iter().map(|c| c.time.end).max(),
        ttl_secs: config.ttl_secs,
    }
}

fn key_ref(k: &ConversationKey) -> netsec_model::FlowRef {
    netsec_model::FlowRef {
        community_id: None,
        flow_id: None,
        client: netsec_model::Endpoint::new(k.client, 0),
        server: netsec_model::Endpoint::new(k.server, k.port),
        transport: k.transport,
        time: netsec_model::TimeRange::default(),
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = items.collect();
    set.into_iter().collect()
}

/// Merge host rules of the same shape into prefixes where the prefix spares
/// every benign conversation (`spares`), is no shorter than the configured
/// minimum, and holds no never-block address.
fn aggregate(
    mut rules: Vec<RuleMatch>,
    config: &PlanConfig,
    spares: impl Fn(&RuleMatch) -> bool,
) -> Vec<RuleMatch> {
    loop {
        let mut merged = None;
        'search: for (i, a) in rules.iter().enumerate() {
            for (j, b) in rules.iter().enumerate().skip(i + 1) {
                let Some(wider) = widen(a, b, config) else {
                    continue;
                };
                if spares(&wider) {
                    merged = Some((i, j, wider));
                    break 'search;
                }
            }
        }
        let Some((_, _, wider)) = merged else {
            return rules;
        };
        // The wider rule replaces every rule it now includes.
        rules.retain(|r| !includes(&wider, r));
        rules.push(wider);
        rules.sort();
    }
}

/// The rule covering both `a` and `b`, when they differ only in one address
/// of the same family and the covering prefix is allowed.
fn widen(a: &RuleMatch, b: &RuleMatch, config: &PlanConfig) -> Option<RuleMatch> {
    if a.transport != b.transport || a.dst_port != b.dst_port {
        return None;
    }
    let supernet = |x: IpNet, y: IpNet| -> Option<IpNet> {
        let min = match x {
            IpNet::V4(_) => config.min_prefix_v4,
            IpNet::V6(_) => config.min_prefix_v6,
        };
        let mut len = x.prefix_len().min(y.prefix_len());
        loop {
            let n = IpNet::new(x.addr(), len).ok()?.trunc();
            if n.contains(&y) {
                let home =
                    config.threats.is_home(n.network()) != config.threats.is_home(n.broadcast());
                let protected = config
                    .threats
                    .never_block
                    .iter()
                    .any(|p| n.contains(&p.network()) || p.contains(&n.network()));
                return (len >= min && !home && !protected).then_some(n);
            }
            len = len.checked_sub(1)?;
        }
    };
    match (a.src, a.dst, b.src, b.dst) {
        (Some(x), None, Some(y), None) if x != y && same_family(x, y) => Some(RuleMatch {
            src: Some(supernet(x, y)?),
            ..*a
        }),
        (None, Some(x), None, Some(y)) if x != y && same_family(x, y) => Some(RuleMatch {
            dst: Some(supernet(x, y)?),
            ..*a
        }),
        _ => None,
    }
}

fn same_family(x: IpNet, y: IpNet) -> bool {
    x.addr().is_ipv4() == y.addr().is_ipv4()
}

/// Whether `wide` matches every packet `narrow` does.
fn includes(wide: &RuleMatch, narrow: &RuleMatch) -> bool {
    let net = |w: &Option<IpNet>, n: &Option<IpNet>| match (w, n) {
        (None, _) => true,
        (Some(w), Some(n)) => w.contains(n),
        (Some(_), None) => false,
    };
    net(&wide.src, &narrow.src)
        && net(&wide.dst, &narrow.dst)
        && (wide.transport.is_none() || wide.transport == narrow.transport)
        && (wide.dst_port.is_none() || wide.dst_port == narrow.dst_port)
}

/// Whether `rule` drops everything from or to `ip`.
fn host_wide_on(rule: &RuleMatch, ip: IpAddr) -> bool {
    rule.transport.is_none()
        && match (rule.src, rule.dst) {
            (Some(n), None) | (None, Some(n)) => n.contains(&ip),
            _ => false,
        }
}

/// The cheapest cover of `elements` (malicious conversations a risky rule
/// stops) by candidates that cut no high or critical asset; a conversation
/// none of them covers gets its own rule.
fn alternative(
    elements: &[usize],
    (candidates, covers, costs): (&[RuleMatch], &[Bits], &[f64]),
    benign_of: impl Fn(&RuleMatch) -> Vec<Conversation>,
    malicious: &[ConversationKey],
    assets: &Assets,
) -> Alternative {
    let safe = |r: &RuleMatch| !cuts_critical(r, &impacts(r, &benign_of(r), assets));
    let mut local_covers = Vec::new();
    let mut local_costs = Vec::new();
    let mut local_rules = Vec::new();
    for (i, r) in candidates.iter().enumerate() {
        if !elements.iter().any(|&e| covers[i].contains(e)) || !safe(r) {
            continue;
        }
        let mut b = Bits::empty(elements.len());
        for (k, &e) in elements.iter().enumerate() {
            if covers[i].contains(e) {
                b.insert(k);
            }
        }
        local_covers.push(b);
        local_costs.push(costs[i]);
        local_rules.push(*r);
    }
    let found = cover(elements.len(), &local_covers, &local_costs);
    let mut rules: Vec<RuleMatch> = found.chosen.iter().map(|&i| local_rules[i]).collect();
    for k in found.uncovered {
        if let Some(c) = elements.get(k).and_then(|&e| malicious.get(e)) {
            rules.push(
                RuleMatch::from_host(c.client)
                    .towards(c.server)
                    .on_service(c.transport, c.port),
            );
        }
    }
    rules.sort();
    rules.dedup();
    let mut still: BTreeMap<ConversationKey, Conversation> = BTreeMap::new();
    for r in &rules {
        for c in benign_of(r) {
            still.insert(c.key, c);
        }
    }
    Alternative {
        benign_flows: still.values().map(|c| c.flows).sum(),
        cuts_critical: rules
            .iter()
            .any(|r| cuts_critical(r, &impacts(r, &benign_of(r), assets))),
        rules,
    }
}

/// The assets `rule` touches: those with benign conversations among
/// `also`, and those whose own address it blocks.
fn impacts(rule: &RuleMatch, also: &[Conversation], assets: &Assets) -> Vec<AssetImpact> {
    assets
        .assets
        .iter()
        .filter_map(|a| {
            let hit: Vec<&Conversation> = also.iter().filter(|c| a.used_by(&c.key)).collect();
            let own = [rule.src, rule.dst]
                .iter()
                .flatten()
                .any(|n| a.addresses.iter().any(|x| n.contains(x) || x.contains(n)));
            (own || !hit.is_empty()).then(|| AssetImpact {
                name: a.name.clone(),
                owner: a.owner.clone(),
                criticality: a.criticality,
                flows: hit.iter().map(|c| c.flows).sum(),
                bytes: hit.iter().map(|c| c.bytes).sum(),
                blocks_asset_address: own,
            })
        })
        .collect()
}

/// Whether a rule with these impacts cuts a high or critical asset: it
/// stops benign traffic of one, or isolates one's address whole (any
/// service, any peer).
fn cuts_critical(rule: &RuleMatch, impacts: &[AssetImpact]) -> bool {
    let host_wide = rule.transport.is_none() && (rule.src.is_none() || rule.dst.is_none());
    impacts.iter().any(|i| {
        i.criticality >= Criticality::High && (i.flows > 0 || (i.blocks_asset_address && host_wide))
    })
}

/// What `rule` risks: the benign conversations it stops and the assets they
/// belong to.
fn assess(
    rule: &RuleMatch,
    also_stops: &[Conversation],
    hostile: &BTreeSet<IpAddr>,
    assets: &Assets,
) -> RuleRisk {
    let assets_hit = impacts(rule, also_stops, assets);
    let mut hosts = BTreeSet::new();
    for c in also_stops {
        for ip in [c.key.client, c.key.server] {
            if !hostile.contains(&ip) {
                hosts.insert(ip);
            }
        }
    }
    RuleRisk {
        benign_flows: also_stops.iter().map(|c| c.flows).sum(),
        benign_bytes: also_stops.iter().map(|c| c.bytes).sum(),
        benign_hosts: hosts.len(),
        cuts_critical: cuts_critical(rule, &assets_hit),
        assets: assets_hit,
        alternative: None,
    }
}
