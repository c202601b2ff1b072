//! The attack timeline: findings — from any producer — correlated into
//! incidents a responder can read.
//!
//! 1. Each finding becomes a [`Step`]: its actors (source hosts), targets
//!    (target hosts and services), other hosts and names it involves, its
//!    kill-chain phase ([`KillChainPhase::of_finding`]: technique ids first,
//!    then the category) and time.
//! 2. What the traffic shows and no detector reported joins as steps too:
//!    an accepted connection on an administrative port from a host that was
//!    logged into, to another home host ([`TrafficRecorder`]), is lateral
//!    movement.
//! 3. Steps link when one caused or continued the other, within
//!    [`TimelineConfig::link_window_secs`]: the same actor again (the
//!    scanner then brute-forces), a target that later acts (the host logged
//!    into opens connections to a third; that host beacons), or the same
//!    outside host (beacon and upload to one server). Linked steps form an
//!    incident, ordered by time, with the links that made it and a one-line
//!    narrative per step.
//! 4. Sessions linked across protocols (a DNS lookup, the connection to the
//!    address it returned, the HTTP request inside) are attached to the
//!    incident whose hosts they join.
//!
//! Nothing here depends on which detector made a finding: only on its
//! entities, category, ATT&CK ids, time and the `possible_success` fact.
//!
//! # Example
//!
//! ```
//! use std::net::IpAddr;
//! use netsec_detect::timeline::{KillChainPhase, TimelineBuilder, TimelineConfig};
//! use netsec_model::{EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp};
//!
//! let ip = |s: &str| s.parse::<IpAddr>().unwrap();
//! let at = |s: i64| TimeRange::at(Timestamp::from_secs_nanos(1_700_000_000 + s, 0));
//! let scan = Finding::new("tcp_port_scan", "TCP port scan", FindingCategory::Reconnaissance,
//!         Severity::Medium, 0.8, at(0), "any")
//!     .with_mitre(["T1046"])
//!     .with_entity(EntityRole::Source, EntityValue::Host { ip: ip("203.0.113.66") })
//!     .with_entity(EntityRole::Target, EntityValue::Host { ip: ip("10.0.0.10") });
//! let beacon = Finding::new("beacon", "Beacon", FindingCategory::CommandAndControl,
//!         Severity::High, 0.9, at(600), "other")
//!     .with_entity(EntityRole::Source, EntityValue::Host { ip: ip("10.0.0.10") })
//!     .with_entity(EntityRole::Related, EntityValue::Host { ip: ip("198.51.100.7") });
//! let timeline = TimelineBuilder::new(TimelineConfig::default())
//!     .findings([scan, beacon])
//!     .build();
//! assert_eq!(timeline.incidents.len(), 1);
//! let phases: Vec<_> = timeline.incidents[0].steps.iter().map(|s| s.phase).collect();
//! assert_eq!(phases, [Some(KillChainPhase::Discovery), Some(KillChainPhase::CommandAndControl)]);
//! assert!(timeline.incidents[0].narrative[1].contains("then 10.0.0.10"));
//! ```

mod narrative;
pub use narrative::render_text;
mod phase;
mod session;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use netsec_model::{EntityRole, EntityValue, Finding, Severity, TimeRange, Timestamp};
use serde::Serialize;

pub use phase::{is_successful_login, phases_of_finding, technique, KillChainPhase, Technique};
pub use session::{
    group_sessions, AdminSession, HttpRequestSeen, LinkedSession, Lookup, PairTraffic,
    SessionGroup, TrafficConfig, TrafficRecorder, ADMIN_PORTS, MAX_REQUESTS_PER_SESSION,
};

use crate::scope::NetworkConfig;

/// Flows listed per step.
pub const MAX_STEP_FLOWS: usize = 5;

/// How steps are linked into incidents.
#[derive(Debug, Clone)]
pub struct TimelineConfig {
    /// The home networks: an outside host shared by two steps links them,
    /// an inside one only through an actor.
    pub network: NetworkConfig,
    /// Two steps link only when the later starts at most this long after
    /// the earlier ended (seconds; default 24 h, the span over which RITA
    /// scores a beacon).
    pub link_window_secs: f64,
    /// Steps an incident's narrative describes one by one; past it the rest
    /// are counted.
    pub max_narrative_steps: usize,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            network: NetworkConfig::default(),
            link_window_secs: 86_400.0,
            max_narrative_steps: 50,
        }
    }
}

/// Where a step came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepSource {
    /// A finding, by its identity.
    Finding {
        /// [`Finding::identity`].
        id: String,
        /// Its producer.
        producer: String,
    },
    /// An accepted connection on an administrative port between home hosts,
    /// from a host that was logged into.
    Connection {
        /// The port.
        port: u16,
    },
}

/// One thing that happened: a finding or a connection that matters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Index in the incident's `steps` (time order).
    pub index: usize,
    /// What made it.
    pub source: StepSource,
    /// Finding kind (`ssh_bruteforce`) or `admin_connection`.
    pub kind: String,
    /// One-line title.
    pub title: String,
    /// Evidence in words.
    pub summary: String,
    /// The finding's measurements against their thresholds
    /// (`distinct_ports = 100 ports (>= 15)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<String>,
    /// Flows behind it (`tcp 10.0.0.5:40000 → 10.0.0.7:22 1:Dz…`), at most
    /// [`MAX_STEP_FLOWS`]; the finding says how many there were in all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<String>,
    /// ATT&CK tactic.
    pub phase: Option<KillChainPhase>,
    /// ATT&CK technique ids.
    pub mitre: Vec<String>,
    /// Severity.
    pub severity: Severity,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// When.
    pub time: TimeRange,
    /// Hosts acting (the finding's sources).
    pub actors: Vec<IpAddr>,
    /// Hosts acted on (targets, services).
    pub targets: Vec<IpAddr>,
    /// Other hosts involved (a C2 server, a resolver).
    pub related: Vec<IpAddr>,
    /// Names involved (domains, TLS server names).
    pub names: Vec<String>,
}

impl Step {
    fn hosts(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.actors
            .iter()
            .chain(&self.targets)
            .chain(&self.related)
            .copied()
    }
}

/// Why two steps are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkReason {
    /// The host acted on in the earlier step acts in the later one.
    TargetActs,
    /// The same host acts in both.
    SameActor,
    /// Both involve the same outside host.
    SameOutsideHost,
}

/// A causal link between two steps of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepLink {
    /// Index of the earlier step.
    pub from: usize,
    /// Index of the later step.
    pub to: usize,
    /// Why.
    pub reason: LinkReason,
    /// The host that joins them.
    pub via: IpAddr,
}

/// Linked steps, in time order, with their story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// `incident-1`, … in order of first step.
    pub id: String,
    /// From the first step's start to the last one's end.
    pub time: TimeRange,
    /// The most severe step's severity.
    pub severity: Severity,
    /// Phases in the order they first occur.
    pub phases: Vec<KillChainPhase>,
    /// Every host involved, sorted.
    pub hosts: Vec<IpAddr>,
    /// The steps, by start time.
    pub steps: Vec<Step>,
    /// For each step after the first, the earlier step it follows from.
    pub links: Vec<StepLink>,
    /// Sessions linked across protocols between the incident's hosts,
    /// grouped.
    pub sessions: Vec<SessionGroup>,
    /// One sentence per step ("203.0.113.66 scanned 10.0.0.10 at 12:01:03 …").
    pub narrative: Vec<String>,
}

/// Incidents, most severe first, then by start.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Timeline {
    /// The incidents.
    pub incidents: Vec<Incident>,
    /// Host graph: (client, server) → traffic, for the incidents' hosts.
    pub host_graph: Vec<HostEdge>,
    /// Findings read.
    pub findings: usize,
    /// Entries the traffic recorder dropped from full tables.
    pub traffic_evicted: u64,
}

/// An edge of the host graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostEdge {
    /// Who opened the connections (or acted, for a step).
    pub from: IpAddr,
    /// Who was reached.
    pub to: IpAddr,
    /// Flows seen (0 when only a finding names the pair).
    pub flows: u64,
    /// Bytes both ways.
    pub bytes: u64,
    /// Finding kinds on this edge.
    pub kinds: Vec<String>,
}

/// Collects findings and traffic, then builds the [`Timeline`].
#[derive(Debug)]
pub struct TimelineBuilder {
    config: TimelineConfig,
    findings: BTreeMap<String, Finding>,
    traffic: Option<TrafficRecorder>,
}

impl TimelineBuilder {
    /// An empty builder.
    pub fn new(config: TimelineConfig) -> Self {
        TimelineBuilder {
            config,
            findings: BTreeMap::new(),
            traffic: None,
        }
    }

    /// Add findings; a later version of one activity (same
    /// [`Finding::identity`]) replaces the earlier.
    pub fn findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        for f in findings {
            self.findings.insert(f.identity(), f);
        }
        self
    }

    /// What a [`TrafficRecorder`] kept of the run.
    pub fn traffic(mut self, traffic: TrafficRecorder) -> Self {
        self.traffic = Some(traffic);
        self
    }

    /// Correlate.
    pub fn build(self) -> Timeline {
        let TimelineBuilder {
            config,
            findings,
            traffic,
        } = self;
        let findings_read = findings.len();
        let mut steps: Vec<Step> = findings
            .values()
            .flat_map(|f| steps_of_finding(f, traffic.as_ref()))
            .collect();
        if let Some(traffic) = &traffic {
            steps.extend(connection_steps(&steps, traffic, &config));
        }
        steps.sort_by(|a, b| {
            (a.time.start, a.time.end, &a.kind, &a.actors).cmp(&(
                b.time.start,
                b.time.end,
                &b.kind,
                &b.actors,
            ))
        });
        let links = link_steps(&steps, &config);
        let mut groups = UnionFind::new(steps.len());
        for link in &links {
            groups.union(link.from, link.to);
        }
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..steps.len() {
            members.entry(groups.find(i)).or_default().push(i);
        }
        let mut sessions_by_client: HashMap<IpAddr, Vec<&LinkedSession>> = HashMap::new();
        for s in traffic.iter().flat_map(|t| t.sessions()) {
            sessions_by_client.entry(s.client).or_default().push(s);
        }
        let mut links_of: BTreeMap<usize, Vec<StepLink>> = BTreeMap::new();
        for link in links {
            links_of.entry(groups.find(link.to)).or_default().push(link);
        }
        let mut incidents: Vec<Incident> = members
            .into_iter()
            .map(|(root, indices)| {
                let links = links_of.remove(&root).unwrap_or_default();
                incident_of(&steps, &indices, &links, &sessions_by_client, &config)
            })
            .collect();
        incidents.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.time.start.cmp(&b.time.start))
        });
        for (n, incident) in incidents.iter_mut().enumerate() {
            incident.id = format!("incident-{}", n + 1);
        }
        let host_graph = host_graph(&incidents, traffic.as_ref());
        Timeline {
            incidents,
            host_graph,
            findings: findings_read,
            traffic_evicted: traffic.as_ref().map_or(0, TrafficRecorder::evicted),
        }
    }
}

/// The step of a finding; a guessed login that worked is two: the guessing,
/// then the login (at the session that lasted, when the traffic shows it).
fn steps_of_finding(f: &Finding, traffic: Option<&TrafficRecorder>) -> Vec<Step> {
    let guessing = step_of_finding(f);
    if !is_successful_login(f) {
        return vec![guessing];
    }
    let session = traffic.and_then(|t| {
        t.admin_sessions()
            .filter(|s| {
                guessing.actors.contains(&s.client)
                    && guessing.targets.contains(&s.server)
                    && s.time.start >= f.time.start
                    && s.time.start <= f.time.end
            })
            .max_by_key(|s| (s.bytes, s.time.end.since(s.time.start).as_nanos()))
            .copied()
    });
    let mut login = guessing.clone();
    login.kind = "login".into();
    login.phase = Some(KillChainPhase::InitialAccess);
    login.related.clear();
    login.measurements.clear();
    login.flows.clear();
    match session {
        Some(s) => {
            login.time = s.time;
            login.title = format!("Login to {}:{} after guessing", s.server, s.port);
            login.summary = format!(
                "{} held a session to {}:{} for {:.1} s carrying {} bytes, after the guesses ({})",
                s.client,
                s.server,
                s.port,
                s.time.end.since(s.time.start).as_secs_f64(),
                s.bytes,
                f.kind
            );
        }
        None => {
            login.time = TimeRange::at(f.time.end);
            login.title = format!("Possible login after {}", f.title);
            login.summary = format!("{} reports a session that lasted after the guesses", f.kind);
        }
    }
    vec![guessing, login]
}

fn step_of_finding(f: &Finding) -> Step {
    let mut actors = BTreeSet::new();
    let mut targets = BTreeSet::new();
    let mut related = BTreeSet::new();
    let mut names = BTreeSet::new();
    for e in &f.entities {
        let ip = match &e.value {
            EntityValue::Host { ip } => Some(*ip),
            EntityValue::Service { endpoint, .. } => Some(endpoint.ip),
            EntityValue::Domain { name } => {
                names.insert(name.to_ascii_lowercase());
                None
            }
            EntityValue::Network { cidr } => {
                names.insert(cidr.clone());
                None
            }
            _ => None,
        };
        if let Some(ip) = ip {
            match e.role {
                EntityRole::Source => actors.insert(ip),
                EntityRole::Target => targets.insert(ip),
                EntityRole::Related => related.insert(ip),
            };
        }
    }
    related.retain(|ip| !actors.contains(ip) && !targets.contains(ip));
    targets.retain(|ip| !actors.contains(ip));
    Step {
        index: 0,
        source: StepSource::Finding {
            id: f.identity(),
            producer: f.producer.clone(),
        },
        kind: f.kind.clone(),
        title: f.title.clone(),
        summary: f.evidence.summary.clone(),
        measurements: f
            .evidence
            .measurements
            .iter()
            .map(|m| m.to_string())
            .collect(),
        flows: f
            .evidence
            .flows
            .iter()
            .take(MAX_STEP_FLOWS)
            .map(|flow| match &flow.community_id {
                Some(id) => format!("{flow} {id}"),
                None => flow.to_string(),
            })
            .collect(),
        phase: KillChainPhase::of_finding(f),
        mitre: f.mitre.clone(),
        severity: f.severity,
        confidence: f.confidence.value(),
        time: f.time,
        actors: actors.into_iter().collect(),
        targets: targets.into_iter().collect(),
        related: related.into_iter().collect(),
        names: names.into_iter().collect(),
    }
}

/// Accepted admin-port connections from a host after a login to it, to
/// another home host, that no finding already names as that pair.
fn connection_steps(
    steps: &[Step],
    traffic: &TrafficRecorder,
    config: &TimelineConfig,
) -> Vec<Step> {
    let mut logged_into: BTreeMap<IpAddr, Timestamp> = BTreeMap::new();
    let mut reported: BTreeSet<(IpAddr, IpAddr)> = BTreeSet::new();
    for s in steps {
        if s.phase == Some(KillChainPhase::InitialAccess) {
            for t in &s.targets {
                let at = logged_into.entry(*t).or_insert(s.time.start);
                *at = (*at).min(s.time.start);
            }
        }
        for a in &s.actors {
            for t in &s.targets {
                reported.insert((*a, *t));
            }
        }
    }
    let mut out: BTreeMap<(IpAddr, IpAddr, u16), (Step, u64)> = BTreeMap::new();
    let net = &config.network;
    for c in traffic.admin_sessions().filter(|c| net.is_home(c.client)) {
        let Some(since) = logged_into.get(&c.client) else {
            continue;
        };
        if c.time.end < *since || reported.contains(&(c.client, c.server)) {
            continue;
        }
        let (step, bytes) = out.entry((c.client, c.server, c.port)).or_insert_with(|| {
            let step = Step {
                index: 0,
                source: StepSource::Connection { port: c.port },
                kind: "admin_connection".into(),
                title: format!("Connection to {} port {} after a login", c.server, c.port),
                summary: String::new(),
                measurements: Vec::new(),
                flows: Vec::new(),
                phase: Some(KillChainPhase::LateralMovement),
                mitre: technique_for_port(c.port)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                severity: Severity::Medium,
                confidence: 0.5,
                time: c.time,
                actors: vec![c.client],
                targets: vec![c.server],
                related: Vec::new(),
                names: Vec::new(),
            };
            (step, 0)
        });
        step.time.start = step.time.start.min(c.time.start);
        step.time.end = step.time.end.max(c.time.end);
        *bytes += c.bytes;
    }
    out.into_iter()
        .map(|((client, server, port), (mut step, bytes))| {
            step.summary = format!(
                "{client} opened sessions to {server}:{port} carrying {bytes} bytes after a login to {client}"
            );
            step
        })
        .collect()
}

fn technique_for_port(port: u16) -> Option<&'static str> {
    Some(match port {
        22 => "T1021.004",
        135 => "T1021.003",
        139 | 445 => "T1021.002",
        3389 => "T1021.001",
        5985 | 5986 => "T1021.006",
        _ => return None,
    })
}

/// For each step, the latest earlier step it follows from, if any: the
/// most recent cause is the likeliest one. One pass in time order with, per
/// host, the last step it was a target in, an actor in, and (outside hosts)
/// in at all: linear in the steps, however many there are.
fn link_steps(steps: &[Step], config: &TimelineConfig) -> Vec<StepLink> {
    let net = &config.network;
    let mut last_target: HashMap<IpAddr, usize> = HashMap::new();
    let mut last_actor: HashMap<IpAddr, usize> = HashMap::new();
    let mut last_outside: HashMap<IpAddr, usize> = HashMap::new();
    let mut links = Vec::new();
    for (j, later) in steps.iter().enumerate() {
        // candidates as (earlier step, strength: lower is stronger, reason, via)
        let mut best: Option<(usize, LinkReason, IpAddr)> = None;
        let mut consider = |i: Option<&usize>, reason: LinkReason, via: IpAddr| {
            if let Some(&i) = i {
                let better = best.is_none_or(|(bi, br, _)| i > bi || (i == bi && reason < br));
                if better {
                    best = Some((i, reason, via));
                }
            }
        };
        for a in &later.actors {
            consider(last_target.get(a), LinkReason::TargetActs, *a);
            consider(last_actor.get(a), LinkReason::SameActor, *a);
        }
        for h in later.hosts().filter(|h| !net.is_home(*h)) {
            consider(last_outside.get(&h), LinkReason::SameOutsideHost, h);
        }
        if let Some((i, reason, via)) = best {
            let in_window = steps.get(i).is_some_and(|earlier| {
                later.time.start.since(earlier.time.end).as_secs_f64() <= config.link_window_secs
            });
            if in_window {
                links.push(StepLink {
                    from: i,
                    to: j,
                    reason,
                    via,
                });
            }
        }
        for t in &later.targets {
            last_target.insert(*t, j);
        }
        for a in &later.actors {
            last_actor.insert(*a, j);
        }
        for h in later.hosts().filter(|h| !net.is_home(*h)) {
            last_outside.insert(h, j);
        }
    }
    links
}

fn incident_of(
    steps: &[Step],
    indices: &[usize],
    links: &[StepLink],
    sessions_by_client: &HashMap<IpAddr, Vec<&LinkedSession>>,
    config: &TimelineConfig,
) -> Incident {
    let position: BTreeMap<usize, usize> = indices
        .iter()
        .enumerate()
        .map(|(pos, &global)| (global, pos))
        .collect();
    let mut own_steps: Vec<Step> = indices.iter().map(|&i| steps[i].clone()).collect();
    for (pos, s) in own_steps.iter_mut().enumerate() {
        s.index = pos;
    }
    let own_links: Vec<StepLink> = links
        .iter()
        .filter_map(|l| {
            Some(StepLink {
                from: *position.get(&l.from)?,
                to: *position.get(&l.to)?,
                ..l.clone()
            })
        })
        .collect();
    let mut time = own_steps
        .first()
        .map_or(TimeRange::at(Timestamp::ZERO), |s| s.time);
    let mut phases = Vec::new();
    let mut hosts = BTreeSet::new();
    let mut severity = Severity::Info;
    for s in &own_steps {
        time.start = time.start.min(s.time.start);
        time.end = time.end.max(s.time.end);
        if let Some(p) = s.phase {
            if !phases.contains(&p) {
                phases.push(p);
            }
        }
        hosts.extend(s.hosts());
        severity = severity.max(s.severity);
    }
    let mut own_sessions: Vec<&LinkedSession> = hosts
        .iter()
        .filter_map(|h| sessions_by_client.get(h))
        .flatten()
        .filter(|s| hosts.contains(&s.server))
        .copied()
        .collect();
    own_sessions.sort_by_key(|s| s.time.start);
    let sessions = group_sessions(own_sessions);
    let narrative = narrative::tell(&own_steps, &own_links, config.max_narrative_steps);
    Incident {
        id: String::new(),
        time,
        severity,
        phases,
        hosts: hosts.into_iter().collect(),
        steps: own_steps,
        links: own_links,
        sessions,
        narrative,
    }
}

fn host_graph(incidents: &[Incident], traffic: Option<&TrafficRecorder>) -> Vec<HostEdge> {
    let mut edges: BTreeMap<(IpAddr, IpAddr), HostEdge> = BTreeMap::new();
    let mut hosts = BTreeSet::new();
    for incident in incidents {
        hosts.extend(incident.hosts.iter().copied());
        for s in &incident.steps {
            for a in &s.actors {
                for t in s.targets.iter().chain(&s.related) {
                    let edge = edges.entry((*a, *t)).or_insert_with(|| HostEdge {
                        from: *a,
                        to: *t,
                        flows: 0,
                        bytes: 0,
                        kinds: Vec::new(),
                    });
                    if !edge.kinds.contains(&s.kind) {
                        edge.kinds.push(s.kind.clone());
                    }
                }
            }
        }
    }
    if let Some(traffic) = traffic {
        for ((from, to), pair) in traffic.host_pairs() {
            if !hosts.contains(from) || !hosts.contains(to) {
                continue;
            }
            let edge = edges.entry((*from, *to)).or_insert_with(|| HostEdge {
                from: *from,
                to: *to,
                flows: 0,
                bytes: 0,
                kinds: Vec::new(),
            });
            edge.flows += pair.flows;
            edge.bytes += pair.bytes;
        }
    }
    edges.into_values().collect()
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    fn find(&mut self, mut i: usize) -> usize {
        while let Some(&parent) = self.0.get(i) {
            if parent == i {
                break;
            }
            let grand = self.0.get(parent).copied().unwrap_or(parent);
            if let Some(slot) = self.0.get_mut(i) {
                *slot = grand;
            }
            i = parent;
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        // the earlier step's root stays the root, so groups key on their first step
        let (root, child) = if ra <= rb { (ra, rb) } else { (rb, ra) };
        if let Some(slot) = self.0.get_mut(child) {
            *slot = root;
        }
    }
}

#[cfg(test)]
mod tests;
