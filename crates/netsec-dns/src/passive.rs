//! Passive DNS: every query matched to its response (client endpoint,
//! server, transaction id), with latency and response code; unanswered
//! queries and unsolicited responses counted; and the profile of a run —
//! top registered domains, per-client query profiles, NXDOMAIN rates,
//! resolvers — in bounded tables. `netsec dns CAPTURE` prints it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;

use netsec_model::{Analyzer, AppEvent, Endpoint, FindingSink, Interests, Timestamp};
use serde::Serialize;

use crate::name;

/// Seconds after which a query without a response is unanswered.
pub const ANSWER_TIMEOUT_SECS: f64 = 5.0;

/// Clients, domains and servers tracked at most, each table.
const TABLE_CAPACITY: usize = 50_000;

/// Queries awaiting a response, at most.
const PENDING_CAPACITY: usize = 100_000;

/// Distinct registered domains remembered per client.
const DOMAINS_PER_CLIENT: usize = 256;

/// Latency buckets: powers of two of microseconds, up to 2^24 µs (16.8 s).
const BUCKETS: usize = 25;

/// One client's lookups.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientProfile {
    /// The client.
    pub client: Option<IpAddr>,
    /// Queries sent.
    pub queries: u64,
    /// Responses received.
    pub responses: u64,
    /// NXDOMAIN responses.
    pub nxdomain: u64,
    /// Queries never answered.
    pub unanswered: u64,
    /// Distinct registered domains asked (counted up to 256).
    pub distinct_domains: usize,
    /// First and last query.
    pub first: Option<Timestamp>,
    /// Last query.
    pub last: Option<Timestamp>,
    #[serde(skip)]
    domains: HashSet<String>,
}

impl ClientProfile {
    /// NXDOMAIN share of the responses.
    pub fn nxdomain_rate(&self) -> f64 {
        if self.responses == 0 {
            0.0
        } else {
            self.nxdomain as f64 / self.responses as f64
        }
    }
}

/// One registered domain.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DomainProfile {
    /// The registered domain (`example.co.uk`).
    pub domain: String,
    /// Queries for it and its subdomains.
    pub queries: u64,
    /// NXDOMAIN answers.
    pub nxdomain: u64,
    /// Distinct clients asking (up to 64).
    pub clients: usize,
    #[serde(skip)]
    client_set: HashSet<IpAddr>,
}

/// One resolver.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerProfile {
    /// Address.
    pub server: Option<IpAddr>,
    /// Queries sent to it.
    pub queries: u64,
    /// Responses matched.
    pub answered: u64,
    /// Median response latency, milliseconds (bucketed: within a factor of 2).
    pub median_latency_ms: Option<f64>,
    #[serde(skip)]
    buckets: [u64; BUCKETS],
}

/// The run's DNS, as a report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsReport {
    /// Query messages.
    pub queries: u64,
    /// Response messages.
    pub responses: u64,
    /// Responses matched to a query.
    pub matched: u64,
    /// Queries with no response within 5 s (or by the end).
    pub unanswered: u64,
    /// Responses matching no query seen (the query may predate the capture).
    pub unsolicited: u64,
    /// Response codes (`NOERROR`, `NXDOMAIN`, …) and counts.
    pub rcodes: BTreeMap<String, u64>,
    /// Query types and counts.
    pub qtypes: BTreeMap<String, u64>,
    /// Latency percentiles of matched responses, milliseconds (p50, p90, p99;
    /// bucketed: within a factor of 2).
    pub latency_ms: Option<(f64, f64, f64)>,
    /// Most queried registered domains.
    pub top_domains: Vec<DomainProfile>,
    /// Clients, most queries first.
    pub clients: Vec<ClientProfile>,
    /// Resolvers, most queries first.
    pub servers: Vec<ServerProfile>,
    /// Entries dropped from full tables.
    pub evicted: u64,
}

#[derive(Debug)]
struct Pending {
    at: Timestamp,
    client: IpAddr,
}

/// The passive DNS analyser. The pipeline owns its analysers: to read the
/// report after a run, give it a
/// [`SharedAnalyzer`](netsec_model::SharedAnalyzer) of this one.
#[derive(Debug, Default)]
pub struct PassiveDns {
    report: DnsReport,
    pending: HashMap<(Endpoint, Endpoint, u16), Pending>,
    order: VecDeque<((Endpoint, Endpoint, u16), Timestamp)>,
    latency: [u64; BUCKETS],
    clients: HashMap<IpAddr, ClientProfile>,
    domains: HashMap<String, DomainProfile>,
    servers: HashMap<IpAddr, ServerProfile>,
}

fn bucket(secs: f64) -> usize {
    let micros = (secs * 1e6).max(1.0);
    (micros.log2().floor() as usize).min(BUCKETS - 1)
}

fn percentile(buckets: &[u64; BUCKETS], p: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let want = (total as f64 * p).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= want {
            // The bucket's geometric middle, in milliseconds.
            return Some(2f64.powf(i as f64 + 0.5) / 1000.0);
        }
    }
    None
}

fn rcode_name(code: u16) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        other => format!("RCODE{other}"),
    }
}

impl PassiveDns {
    /// An empty profile.
    pub fn new() -> Self {
        PassiveDns::default()
    }

    fn expire(&mut self, now: Timestamp, all: bool) {
        while let Some((key, at)) = self.order.front().cloned() {
            if !all
                && now.since(at).as_secs_f64() <= ANSWER_TIMEOUT_SECS
                && self.pending.len() <= PENDING_CAPACITY
            {
                break;
            }
            self.order.pop_front();
            if self.pending.get(&key).is_none_or(|p| p.at != at) {
                continue;
            }
            if let Some(p) = self.pending.remove(&key) {
                self.report.unanswered += 1;
                if let Some(c) = self.clients.get_mut(&p.client) {
                    c.unanswered += 1;
                }
            }
        }
    }

    fn bounded<K: std::hash::Hash + Eq + Clone, V>(
        map: &mut HashMap<K, V>,
        evicted: &mut u64,
        weight: impl Fn(&V) -> u64,
    ) {
        if map.len() < TABLE_CAPACITY {
            return;
        }
        // Drop the lightest half.
        let mut w: Vec<u64> = map.values().map(&weight).collect();
        let mid = w.len() / 2;
        let (_, cut, _) = w.select_nth_unstable(mid);
        let cut = *cut;
        let before = map.len();
        map.retain(|_, v| weight(v) > cut);
        *evicted += (before - map.len()) as u64;
    }

    fn event(&mut self, dns: &netsec_model::DnsEvent) {
        let now = dns.ctx.ts;
        self.expire(now, false);
        let evicted = &mut self.report.evicted;
        if dns.is_response {
            self.report.responses += 1;
            *self.report.rcodes.entry(rcode_name(dns.rcode)).or_default() += 1;
            let key = (dns.ctx.dst, dns.ctx.src, dns.id);
            let client = dns.ctx.dst.ip;
            let c = self.clients.entry(client).or_default();
            c.client = Some(client);
            c.responses += 1;
            if dns.rcode == 3 {
                c.nxdomain += 1;
                if let Some(d) = dns
                    .questions
                    .first()
                    .and_then(|q| name::split(q.name.as_str()))
                    .and_then(|p| self.domains.get_mut(&p.registered))
                {
                    d.nxdomain += 1;
                }
            }
            match self.pending.remove(&key) {
                Some(p) => {
                    self.report.matched += 1;
                    let b = bucket(now.since(p.at).as_secs_f64());
                    self.latency[b] += 1;
                    let s = self.servers.entry(dns.ctx.src.ip).or_default();
                    s.answered += 1;
                    s.buckets[b] += 1;
                }
                None => self.report.unsolicited += 1,
            }
            return;
        }
        self.report.queries += 1;
        let Some(q) = dns.questions.first() else {
            return;
        };
        *self.report.qtypes.entry(q.qtype.to_string()).or_default() += 1;
        let client = dns.ctx.src.ip;
        let key = (dns.ctx.src, dns.ctx.dst, dns.id);
        self.pending.insert(key, Pending { at: now, client });
        self.order.push_back((key, now));
        Self::bounded(&mut self.clients, evicted, |c| c.queries);
        let c = self.clients.entry(client).or_default();
        c.client = Some(client);
        c.queries += 1;
        c.first.get_or_insert(now);
        c.last = Some(now);
        let registered = name::split(q.name.as_str())
            .map_or_else(|| q.name.as_str().to_ascii_lowercase(), |p| p.registered);
        if c.domains.len() < DOMAINS_PER_CLIENT {
            c.domains.insert(registered.clone());
        }
        c.distinct_domains = c.domains.len();
        Self::bounded(&mut self.domains, evicted, |d| d.queries);
        let d = self
            .domains
            .entry(registered.clone())
            .or_insert_with(|| DomainProfile {
                domain: registered,
                ..DomainProfile::default()
            });
        d.queries += 1;
        if d.client_set.len() < 64 {
            d.client_set.insert(client);
        }
        d.clients = d.client_set.len();
        Self::bounded(&mut self.servers, evicted, |s| s.queries);
        let s = self.servers.entry(dns.ctx.dst.ip).or_default();
        s.server = Some(dns.ctx.dst.ip);
        s.queries += 1;
    }

    /// The report, `top` entries per table; queries still pending count as
    /// unanswered (call it once, after the run).
    pub fn report(&mut self, top: usize) -> DnsReport {
        self.expire(Timestamp::ZERO, true);
        let mut r = self.report.clone();
        r.latency_ms = percentile(&self.latency, 0.5)
            .zip(percentile(&self.latency, 0.9))
            .zip(percentile(&self.latency, 0.99))
            .map(|((a, b), c)| (a, b, c));
        let mut domains: Vec<DomainProfile> = self.domains.values().cloned().collect();
        domains.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.domain.cmp(&b.domain)));
        domains.truncate(top);
        r.top_domains = domains;
        let mut clients: Vec<ClientProfile> = self.clients.values().cloned().collect();
        clients.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.client.cmp(&b.client)));
        clients.truncate(top);
        r.clients = clients;
        let mut servers: Vec<ServerProfile> = self
            .servers
            .values()
            .cloned()
            .map(|mut s| {
                s.median_latency_ms = percentile(&s.buckets, 0.5);
                s
            })
            .collect();
        servers.sort_by(|a, b| b.queries.cmp(&a.queries).then(a.server.cmp(&b.server)));
        servers.truncate(top);
        r.servers = servers;
        r
    }
}

impl Analyzer for PassiveDns {
    fn name(&self) -> &'static str {
        "passive_dns"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn on_event(&mut self, event: &AppEvent, _out: &mut dyn FindingSink) {
        if let AppEvent::Dns(dns) = event {
            self.event(dns);
        }
    }
}
