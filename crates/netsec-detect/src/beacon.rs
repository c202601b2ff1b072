//! Command-and-control beaconing and long-lived connections, from flow
//! records.
//!
//! **Beacons** (`beacon`): for each source → destination:port pair leaving
//! the home networks (and each source → TLS server name, from ClientHello
//! events, when the name's connections went to several addresses: C2 behind
//! a CDN or rotating addresses; the address pairs a reported name pair spans
//! are then not reported: one activity, one finding), the start times and client payload sizes of its
//! connections are scored as RITA (activecm/rita, `analysis/beacons.go`)
//! does, four sub-scores in [0, 1] with equal weights:
//!
//! - timestamp score: intervals between connection starts (zero intervals
//!   dropped), `(skew_score + madm_score) / 2` where `skew_score = 1 − |Bowley
//!   skewness|` (`(Q1 + Q3 − 2·Q2) / (Q3 − Q1)`, taken as 0 when `Q3 − Q1` is
//!   under 1 % of the median or the median equals a quartile) and
//!   `madm_score = (median − MAD) / median` (the median absolute deviation
//!   about the median; 0 when negative);
//! - data-size score: the same on the client's bytes per connection
//!   (on the wire, as RITA's `orig_ip_bytes`) (MAD score 0 when the median is under 1 byte);
//! - histogram score: the pair's observed span cut into `histogram_bins`
//!   bins, `1 − CV` of the connection counts per bin (RITA's
//!   `calculateCoefficientOfVariationScore` over hourly bins);
//! - duration score: the share of the detector's observed time the pair
//!   spans (RITA scores coverage of the day in hours; a capture is shorter).
//!
//! Differences from RITA, for short captures: intervals in milliseconds
//! rather than whole seconds; skewness not floored at a 10-second quartile
//! spread; at least `min_connections` connections spanning `min_span_secs`.
//! Medians and MAD resist jitter (±20 % moves the MAD to about 10 % of the
//! median, a score near 0.9) and missed beats (a doubled interval is an
//! outlier the median ignores).
//!
//! The finding's confidence is the score itself.
//!
//! **Long connections** (`long_connection`): one connection (its records
//! summed across active-timeout splits) lasting `long_connection_secs` or
//! more (RITA's base threshold: 1 h); confidence `clamp(duration / (4 ×
//! threshold), 0.5, 1)`. It is reported while the connection goes on, from
//! the pipeline's flow snapshots (every 10 s of a flow's life), not when
//! it ends.
//!
//! ATT&CK: T1071 Application Layer Protocol (T1573 Encrypted Channel too
//! when the flows are TLS).
//!
//! Known false positives: software updaters, telemetry, NTP and monitoring
//! polls to external services (allow-list the destinations). Blind spots:
//! beacons with deliberately random sleep (uniform jitter over 50 % and up),
//! one beacon spread over many addresses without a TLS server name (or with
//! TLS 1.3 Encrypted Client Hello), DNS beacons spread over several
//! registered domains.
//!
//! **DNS** (`channel` = `dns`): each DNS query of a home host is a beat of
//! its source → registered domain pair (Public Suffix List), whatever the
//! resolver, the query name's length standing for the size; scored as
//! above from `dns_min_queries` (20) queries, and reported only when the
//! MAD of the intervals is also at most `dns_max_dispersion` (0.15) of
//! their median: ordinary repeated lookups have equal sizes and full
//! coverage, half the score. ATT&CK T1071.004.

use std::collections::VecDeque;
use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, AppProto, Comparison, DnsEvent, Duration, Endpoint, EntityRole,
    EntityValue, EventContext, Finding, FindingCategory, FindingSink, FlowEndReason, FlowId,
    FlowRecord, Interests, Severity, TimeRange, Timestamp, TlsMessage, Transport,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet};

const PRODUCER: &str = "netsec-detect/beacon";

/// Beacon and long-connection settings (`[beacon]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeaconConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most source/destination pairs tracked at once.
    pub capacity: usize,
    /// A pair with no connection for this long is scored a last time and forgotten.
    pub window_secs: f64,
    /// Connections a pair needs before it is scored (RITA: 4 unique
    /// connections over a day; ours: 10, so that quartiles mean something
    /// in a short capture).
    pub min_connections: u64,
    /// Span from first to last connection, at least.
    pub min_span_secs: f64,
    /// Score to report (RITA's "low" threshold: 0.7).
    pub min_score: f64,
    /// Bins of the histogram score.
    pub histogram_bins: usize,
    /// Connection starts kept per pair (the oldest are dropped past it).
    pub max_connections_kept: usize,
    /// Score pairs whose destination is inside the home networks too (RITA
    /// scores internal → external only).
    pub internal_destinations: bool,
    /// One connection lasting this long is reported (RITA: 3600 s).
    pub long_connection_secs: f64,
    /// Score each home host's DNS queries per registered domain (from DNS
    /// events, whatever the resolver).
    pub dns: bool,
    /// Interval dispersion a DNS domain pair may have besides reaching
    /// `min_score`: the MAD of its intervals over their median, at most.
    /// Lookups repeated before each page of a browsing session have even
    /// sizes and coverage (half the score); their intervals do not: pauses
    /// uniform in 2–15 s give about 0.38, ±20 % jitter 0.1, ±50 % 0.25.
    pub dns_max_dispersion: f64,
    /// Queries a DNS domain pair needs before it is scored: the dispersion
    /// of a dozen pauses of a browsing session can come out under
    /// `dns_max_dispersion` by chance (0.12 over the first 10 of one).
    pub dns_min_queries: u64,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        BeaconConfig {
            enabled: true,
            capacity: 50_000,
            window_secs: 3600.0,
            min_connections: 10,
            min_span_secs: 60.0,
            min_score: 0.7,
            histogram_bins: 10,
            max_connections_kept: 2000,
            internal_destinations: false,
            long_connection_secs: 3600.0,
            dns: true,
            dns_max_dispersion: 0.15,
            dns_min_queries: 20,
        }
    }
}

/// The four sub-scores and the total.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BeaconScore {
    /// Regularity of intervals.
    pub timestamp: f64,
    /// Regularity of sizes.
    pub data_size: f64,
    /// Evenness of connections over the pair's span.
    pub histogram: f64,
    /// Coverage of the observed time.
    pub duration: f64,
    /// Mean of the four.
    pub total: f64,
    /// Median interval, seconds.
    pub median_interval: f64,
    /// MAD of the intervals, seconds.
    pub interval_mad: f64,
    /// Median client payload, bytes.
    pub median_bytes: f64,
}

#[derive(Debug, Clone)]
struct Pair {
    /// Connection starts and sizes, in order (the oldest first): a new
    /// start is nearly always the latest, and the oldest is the one dropped
    /// when the pair is full, both at an end. (Unordered, finding the oldest
    /// was a walk over all 2,000 kept, per query of a busy DNS pair.)
    starts: VecDeque<(Timestamp, u64)>,
    time: TimeRange,
    tls: bool,
    /// Server addresses seen (a name pair is reported only when it spans
    /// several: with one, the address pair says the same).
    servers: CappedSet<IpAddr>,
    flows: FlowSample,
    /// When the pair was last scored (at its connection count).
    growth: Growth,
    /// Whether a beacon finding was emitted for it.
    emitted: bool,
    /// DNS pairs: the name of the first query, and whether others differed.
    query_name: Option<String>,
    many_names: bool,
}

#[derive(Debug, Clone)]
struct Running {
    client: Endpoint,
    server: Endpoint,
    time: TimeRange,
    seconds: f64,
    reported: bool,
    flow: Option<netsec_model::FlowRef>,
}

/// What a source beacons to: a service by address, or a TLS server name
/// (whatever addresses it resolves to: rotating C2 addresses, CDNs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Peer {
    Service(IpAddr, u16, Transport),
    TlsName(String),
    /// A registered domain the source's DNS queries asked about (through
    /// whatever resolver).
    DnsDomain(String),
}

impl Peer {
    /// A name rather than an address: its pairs cover the address pairs
    /// of the servers they went through.
    fn is_named(&self) -> bool {
        !matches!(self, Peer::Service(..))
    }
}

type PairKey = (IpAddr, Peer);

/// One connection (or query) of a pair.
struct Start<'a> {
    time: TimeRange,
    /// Client bytes: on the wire for connections, the query name's length
    /// for DNS.
    bytes: u64,
    tls: bool,
    server: IpAddr,
    /// The query name, for DNS.
    name: Option<&'a str>,
}

/// Detects regular connection patterns (beacons) and very long connections.
#[derive(Debug)]
pub struct BeaconDetector {
    config: BeaconConfig,
    network: NetworkConfig,
    pairs: BoundedTable<PairKey, Pair>,
    running: BoundedTable<String, Running>,
    /// TLS server names of flows still open, by flow id (from ClientHello events).
    names: BoundedTable<FlowId, String>,
    observed: Option<TimeRange>,
}

impl Running {
    /// A connection first seen in this record, nothing counted yet.
    fn of(flow: &FlowRecord) -> Running {
        Running {
            client: flow.client,
            server: flow.server,
            time: flow.time,
            seconds: 0.0,
            reported: false,
            flow: None,
        }
    }
}

impl BeaconDetector {
    /// A detector with these settings.
    pub fn new(config: BeaconConfig, network: NetworkConfig) -> Self {
        let window = Duration::from_secs_f64(config.window_secs);
        BeaconDetector {
            // typically a few dozen connection times and ten flow references
            pairs: BoundedTable::new(config.capacity, window).with_heap(64 * 16 + 1600),
            // an active-timeout split is followed by its next record within the flow timeout
            running: BoundedTable::new(config.capacity, Duration::from_secs(7200)),
            names: BoundedTable::new(config.capacity, window),
            config,
            network,
            observed: None,
        }
    }

    /// Entries evicted from the full tables so far.
    pub fn evicted(&self) -> u64 {
        self.pairs.evicted() + self.running.evicted() + self.names.evicted()
    }

    fn score_pair(&self, pair: &Pair) -> BeaconScore {
        let starts: Vec<(Timestamp, u64)> = pair.starts.iter().copied().collect();
        let observed = self.observed.map_or(0.0, |o| o.duration().as_secs_f64());
        score(&starts, self.config.histogram_bins, observed)
    }

    fn beacon_finding(&self, key: &PairKey, pair: &Pair, s: &BeaconScore) -> Finding {
        let (client, peer) = key;
        let client = *client;
        let n = pair.starts.len();
        let mut mitre = vec!["T1071"];
        if pair.tls {
            mitre.push("T1573");
        }
        let (to, id, related) = match peer {
            Peer::Service(server, port, transport) => (
                format!("{server}:{port}"),
                format!("{client}->{server}:{port}/{}", transport.name()),
                EntityValue::Service {
                    endpoint: Endpoint::new(*server, *port),
                    transport: transport.name().into(),
                },
            ),
            Peer::TlsName(name) => (
                format!("{name} ({} addresses)", pair.servers.count()),
                format!("{client}->{name}/tls"),
                EntityValue::Domain { name: name.clone() },
            ),
            // the name asked every time, or the domain of names that change
            Peer::DnsDomain(domain) => (
                format!("{domain} (DNS queries)"),
                format!("{client}->{domain}/dns"),
                EntityValue::Domain {
                    name: match (&pair.query_name, pair.many_names) {
                        (Some(name), false) => name.clone(),
                        _ => domain.clone(),
                    },
                },
            ),
        };
        let channel = match peer {
            Peer::Service(..) => "connections",
            Peer::TlsName(_) => "tls_server_name",
            Peer::DnsDomain(_) => "dns",
        };
        if let Peer::DnsDomain(_) = peer {
            mitre.push("T1071.004");
        }
        let mut f = Finding::new(
            "beacon",
            format!("{client} beacons to {to} every {:.1} s", s.median_interval),
            FindingCategory::CommandAndControl,
            self.network.severity_for(Some(client), Severity::Medium),
            s.total,
            pair.time,
            PRODUCER,
        )
        .with_id(id)
        .with_mitre(mitre)
        .with_entity(EntityRole::Source, EntityValue::Host { ip: client })
        .with_entity(EntityRole::Related, related);
        f = f.with_fact("channel", channel);
        match peer {
            Peer::TlsName(_) => {
                for server in pair.servers.items().iter().take(10) {
                    f = f.with_entity(EntityRole::Related, EntityValue::Host { ip: *server });
                }
            }
            // resolvers carry the queries; they are not the other end
            Peer::DnsDomain(domain) => {
                let resolvers: Vec<String> = pair
                    .servers
                    .items()
                    .iter()
                    .take(10)
                    .map(|r| r.to_string())
                    .collect();
                f = f
                    .with_fact("registered_domain", domain.clone())
                    .with_fact("resolvers", resolvers.join(" "))
                    .with_fact(
                        "query_names",
                        if pair.many_names { "several" } else { "one" },
                    );
            }
            Peer::Service(..) => {}
        }
        let f = f
        .with_measurement("beacon_score", s.total, "", Comparison::GreaterOrEqual, self.config.min_score)
        .with_measurement("connections", n as f64, "connections", Comparison::GreaterOrEqual, self.config.min_connections as f64)
        .with_measurement("span", pair.time.duration().as_secs_f64(), "s", Comparison::GreaterOrEqual, self.config.min_span_secs)
        .with_value("timestamp_score", s.timestamp, "")
        .with_value("data_size_score", s.data_size, "")
        .with_value("histogram_score", s.histogram, "")
        .with_value("duration_score", s.duration, "")
        .with_value("median_interval", s.median_interval, "s")
        .with_value("interval_mad", s.interval_mad, "s")
        .with_value(
            "interval_dispersion",
            if s.median_interval > 0.0 { s.interval_mad / s.median_interval } else { 0.0 },
            "",
        )
        .with_value(size_name(peer), s.median_bytes, "bytes")
        .with_summary(format!(
            "{n} {} {client} → {to} over {:.0} s, interval {:.2} s ± {:.2} s (MAD), {} {:.0} bytes; score {:.2} (ts {:.2}, size {:.2}, hist {:.2}, dur {:.2}) >= {}",
            if channel == "dns" { "queries" } else { "connections" },
            pair.time.duration().as_secs_f64(),
            s.median_interval,
            s.interval_mad,
            if channel == "dns" { "query name" } else { "client" },
            s.median_bytes,
            s.total,
            s.timestamp,
            s.data_size,
            s.histogram,
            s.duration,
            self.config.min_score
        ));
        pair.flows.attach(f)
    }

    fn long_finding(&self, r: &Running, community_id: &str) -> Finding {
        let mut f = Finding::new(
            "long_connection",
            format!("{} → {} open for {:.0} s", r.client, r.server, r.seconds),
            FindingCategory::CommandAndControl,
            self.network.severity_for(Some(r.client.ip), Severity::Low),
            (r.seconds / (4.0 * self.config.long_connection_secs)).clamp(0.5, 1.0),
            r.time,
            PRODUCER,
        )
        .with_id(community_id)
        .with_mitre(["T1071"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: r.client.ip })
        .with_entity(
            EntityRole::Related,
            EntityValue::Service {
                endpoint: r.server,
                transport: "tcp".into(),
            },
        )
        .with_measurement(
            "duration",
            r.seconds,
            "s",
            Comparison::GreaterOrEqual,
            self.config.long_connection_secs,
        )
        .with_summary(format!(
            "one connection {} → {} lasted {:.0} s (>= {:.0} s)",
            r.client, r.server, r.seconds, self.config.long_connection_secs
        ));
        if let Some(flow) = &r.flow {
            f = f.with_flow(flow.clone());
        }
        f
    }

    fn long_connection(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        let secs = flow.duration().as_secs_f64();
        let over = flow.end_reason != FlowEndReason::ActiveTimeout;
        if over
            && secs < self.config.long_connection_secs
            && !self.running.contains(&flow.community_id)
        {
            // a whole connection, and a short one (the rule: every probe of
            // a scan): an entry would be made and dropped for nothing
            return;
        }
        let r = self
            .running
            .touch(flow.community_id.clone(), flow.time.end, || {
                Running::of(flow)
            });
        r.seconds += secs;
        r.time.extend(flow.time.end);
        let mut reference = flow.reference();
        reference.time = r.time;
        r.flow = Some(reference);
        let report = !r.reported && r.seconds >= self.config.long_connection_secs;
        if report {
            r.reported = true;
        }
        let snapshot = report.then(|| r.clone());
        if over {
            // the connection is over: nothing more will be added
            self.running.remove(&flow.community_id);
        }
        if let Some(snapshot) = snapshot {
            out.finding(self.long_finding(&snapshot, &flow.community_id));
        }
    }

    /// A connection that goes on: reported as soon as its records so far
    /// plus this snapshot reach the threshold (its records are added up
    /// when they end, as before).
    fn long_connection_so_far(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        let prior = self.running.get(&flow.community_id);
        if prior.is_some_and(|r| r.reported) {
            return;
        }
        let before = prior.map_or(0.0, |r| r.seconds);
        let so_far = before + flow.duration().as_secs_f64();
        if so_far < self.config.long_connection_secs {
            return;
        }
        let r = self
            .running
            .touch(flow.community_id.clone(), flow.time.end, || {
                Running::of(flow)
            });
        r.reported = true;
        let mut snapshot = r.clone();
        snapshot.seconds = so_far;
        snapshot.time.extend(flow.time.end);
        let mut reference = flow.reference();
        reference.time = snapshot.time;
        snapshot.flow = Some(reference);
        out.finding(self.long_finding(&snapshot, &flow.community_id));
    }

    /// Whether a scored pair is reported: a name pair only when it spans
    /// several addresses (with one, its address pair reports the same).
    /// An address pair is not reported when a name pair of the same source
    /// that spans that address was: one activity, one finding.
    fn reportable(&self, key: &PairKey, pair: &Pair) -> bool {
        match &key.1 {
            Peer::TlsName(_) => pair.servers.count() >= 2,
            Peer::DnsDomain(_) => true,
            Peer::Service(server, ..) => !self.pairs.iter().any(|((client, peer), p)| {
                *client == key.0 && peer.is_named() && p.emitted && p.servers.contains(server)
            }),
        }
    }

    /// A DNS query: one beat of its source → registered domain pair.
    fn on_dns(&mut self, dns: &DnsEvent, out: &mut dyn FindingSink) {
        // the observed time stays the flow records' (a DNS query's UDP flow
        // ends into it): events arriving before the flows of other traffic
        // of the same time would stretch it ahead of them
        let ctx = &dns.ctx;
        if !self.config.dns
            || dns.is_response
            || dns.opcode != 0
            || ctx.dst.ip.is_multicast()
            || matches!(ctx.dst.port, 5353 | 5355)
            || !self.network.is_home(ctx.src.ip)
            || self.network.is_allowed(ctx.src.ip, Some(ctx.dst.ip))
        {
            return;
        }
        let Some(question) = dns.questions.first() else {
            return;
        };
        let name = question
            .name
            .as_str()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if name.ends_with(".local") || name.ends_with(".arpa") {
            return;
        }
        let Some(domain) = psl::domain_str(&name) else {
            return;
        };
        let key = (ctx.src.ip, Peer::DnsDomain(domain.to_string()));
        self.add_query(key, ctx, &name, out);
    }

    /// Connections (or DNS queries) a pair needs before it is scored.
    fn min_beats(&self, peer: &Peer) -> u64 {
        match peer {
            Peer::DnsDomain(_) => self.config.dns_min_queries,
            _ => self.config.min_connections,
        }
    }

    /// Whether a score makes a beacon: `min_score`, and for DNS domain
    /// pairs intervals no more dispersed than `dns_max_dispersion`.
    fn beacon_like(&self, peer: &Peer, s: &BeaconScore) -> bool {
        s.total >= self.config.min_score
            && (!matches!(peer, Peer::DnsDomain(_))
                || s.interval_mad <= self.config.dns_max_dispersion * s.median_interval)
    }

    /// Count one connection of a pair; score it at the threshold and at each
    /// doubling of its connections (a pair's cost stays O(n log² n) in all).
    fn add_connection(&mut self, key: PairKey, flow: &FlowRecord, out: &mut dyn FindingSink) {
        let start = Start {
            time: flow.time,
            // wire bytes, as RITA's orig_ip_bytes: a snap length cuts payload, not frames
            bytes: flow.to_server.bytes,
            tls: flow.app_proto == AppProto::Tls,
            server: flow.server.ip,
            name: None,
        };
        self.add_start(key, start, |flows| flows.add_record(flow), out);
    }

    /// Count one DNS query of a source about a registered domain.
    fn add_query(
        &mut self,
        key: PairKey,
        ctx: &EventContext,
        name: &str,
        out: &mut dyn FindingSink,
    ) {
        let start = Start {
            time: TimeRange::at(ctx.ts),
            bytes: name.len() as u64,
            tls: false,
            server: ctx.dst.ip,
            name: Some(name),
        };
        let sample = |flows: &mut FlowSample| {
            flows.add_packet(ctx.src, ctx.dst, ctx.transport, ctx.ts);
        };
        self.add_start(key, start, sample, out);
    }

    fn add_start(
        &mut self,
        key: PairKey,
        start: Start,
        sample: impl FnOnce(&mut FlowSample),
        out: &mut dyn FindingSink,
    ) {
        let cap = self.config.max_connections_kept.max(4);
        let min_beats = self.min_beats(&key.1);
        let pair = self.pairs.touch(key.clone(), start.time.start, || Pair {
            starts: VecDeque::new(),
            time: start.time,
            tls: false,
            servers: CappedSet::default(),
            flows: FlowSample::default(),
            growth: Growth::default(),
            emitted: false,
            query_name: None,
            many_names: false,
        });
        if let Some(name) = start.name {
            match &pair.query_name {
                None => pair.query_name = Some(name.to_string()),
                Some(first) if first != name => pair.many_names = true,
                Some(_) => {}
            }
        }
        if pair.starts.len() >= cap {
            pair.starts.pop_front();
        }
        let new = (start.time.start, start.bytes);
        if pair.starts.back().is_none_or(|last| *last <= new) {
            pair.starts.push_back(new);
        } else {
            let at = pair.starts.partition_point(|s| *s <= new);
            pair.starts.insert(at, new);
        }
        pair.time.extend(start.time.start);
        pair.time.extend(start.time.end);
        pair.tls |= start.tls;
        pair.servers.insert(start.server, 64);
        sample(&mut pair.flows);
        let n = pair.starts.len() as u64;
        let span = pair.time.duration().as_secs_f64();
        if n < min_beats || span < self.config.min_span_secs {
            return;
        }
        if !pair.growth.due(n) {
            return;
        }
        let snapshot = pair.clone();
        if !self.reportable(&key, &snapshot) {
            return;
        }
        let s = self.score_pair(&snapshot);
        if self.beacon_like(&key.1, &s) {
            if let Some(p) = self.pairs.get_mut(&key) {
                p.emitted = true;
            }
            out.finding(self.beacon_finding(&key, &snapshot, &s));
        }
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let mut ended = self.pairs.ended(all, now);
        // name pairs first: an address pair they cover is then not reported
        ended.sort_by_key(|(key, _)| !key.1.is_named());
        let mut names_emitted: Vec<(IpAddr, CappedSet<IpAddr>)> = Vec::new();
        for (key, mut pair) in ended {
            if let Peer::Service(server, ..) = &key.1 {
                let covered = names_emitted
                    .iter()
                    .any(|(client, servers)| *client == key.0 && servers.contains(server));
                if covered {
                    continue;
                }
            }
            if pair.emitted && key.1.is_named() {
                names_emitted.push((key.0, pair.servers.clone()));
            }
            let n = pair.starts.len() as u64;
            // nothing new since it was last scored
            if n < self.min_beats(&key.1) || (pair.growth.reported() && !pair.growth.stale(n)) {
                continue;
            }
            if pair.time.duration().as_secs_f64() < self.config.min_span_secs
                || !self.reportable(&key, &pair)
            {
                continue;
            }
            let s = self.score_pair(&pair);
            if self.beacon_like(&key.1, &s) {
                pair.growth.mark(n);
                pair.emitted = true;
                if key.1.is_named() {
                    names_emitted.push((key.0, pair.servers.clone()));
                }
                out.finding(self.beacon_finding(&key, &pair, &s));
            }
        }
        if !all {
            self.running.expire(now);
        }
    }
}

impl Analyzer for BeaconDetector {
    fn name(&self) -> &'static str {
        "beacon"
    }

    fn interests(&self) -> Interests {
        Interests {
            flows: true,
            flow_updates: true,
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.pairs, &self.running, &self.names])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(
            &mut [&mut self.pairs, &mut self.running, &mut self.names],
            bytes,
        );
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        self.observed
            .get_or_insert(flow.time)
            .extend(flow.time.start);
        if let Some(o) = self.observed.as_mut() {
            o.extend(flow.time.end);
        }
        if self
            .network
            .is_allowed(flow.client.ip, Some(flow.server.ip))
        {
            return;
        }
        // an active-timeout continuation is not a new connection
        let continuation = flow.transport == Transport::Tcp
            && self
                .running
                .get(&flow.community_id)
                .is_some_and(|r| r.time.start < flow.time.start);
        if flow.transport == Transport::Tcp {
            self.long_connection(flow, out);
        }
        let outbound = self.network.is_home(flow.client.ip)
            && (self.config.internal_destinations || !self.network.is_home(flow.server.ip));
        if !outbound || !flow.transport.has_ports() {
            return;
        }
        if continuation {
            return;
        }
        let service = Peer::Service(flow.server.ip, flow.server.port, flow.transport);
        self.add_connection((flow.client.ip, service), flow, out);
        if let Some(name) = self.names.remove(&flow.id) {
            self.add_connection((flow.client.ip, Peer::TlsName(name)), flow, out);
        }
    }

    fn on_flow_update(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if flow.transport == Transport::Tcp
            && !self
                .network
                .is_allowed(flow.client.ip, Some(flow.server.ip))
        {
            self.long_connection_so_far(flow, out);
        }
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        if let AppEvent::Dns(dns) = event {
            self.on_dns(dns, out);
            return;
        }
        let AppEvent::Tls(tls) = event else { return };
        let TlsMessage::ClientHello(hello) = &tls.message else {
            return;
        };
        if let (Some(name), Some(id)) = (&hello.server_name, tls.ctx.flow_id) {
            let name = name.to_ascii_lowercase();
            let slot = self.names.touch(id, tls.ctx.ts, String::new);
            *slot = name;
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

/// The name of the size measure: client bytes, or the query name's length.
fn size_name(peer: &Peer) -> &'static str {
    match peer {
        Peer::DnsDomain(_) => "median_query_name_bytes",
        _ => "median_client_bytes",
    }
}

/// Score sorted (start, client bytes) pairs; `observed` is the time the
/// detector has seen, in seconds.
pub fn score(starts: &[(Timestamp, u64)], bins: usize, observed: f64) -> BeaconScore {
    let intervals: Vec<f64> = starts
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(b.0.since(a.0).as_secs_f64()),
            _ => None,
        })
        .filter(|d| *d > 0.001)
        .collect();
    if intervals.len() < 3 {
        return BeaconScore::default();
    }
    let mut sorted = intervals.clone();
    sorted.sort_by(f64::total_cmp);
    let (ts_score, median_interval, interval_mad) = statistical_score(&sorted, 0.0);
    let mut sizes: Vec<f64> = starts.iter().map(|s| s.1 as f64).collect();
    sizes.sort_by(f64::total_cmp);
    let (ds_score, median_bytes, _) = statistical_score(&sizes, 1.0);
    let first = starts.first().map_or(Timestamp::ZERO, |s| s.0);
    let last = starts.last().map_or(Timestamp::ZERO, |s| s.0);
    let span = last.since(first).as_secs_f64();
    let bins = bins.max(1);
    let mut counts = vec![0u64; bins];
    if span > 0.0 {
        for (t, _) in starts {
            let pos = t.since(first).as_secs_f64() / span * bins as f64;
            let i = (pos as usize).min(bins - 1);
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        }
    }
    let mean = starts.len() as f64 / bins as f64;
    let var = counts
        .iter()
        .map(|c| (*c as f64 - mean).powi(2))
        .sum::<f64>()
        / bins as f64;
    let cv = if mean > 0.0 { var.sqrt() / mean } else { 1.0 };
    let histogram = (1.0 - cv).clamp(0.0, 1.0);
    let duration = if observed > 0.0 {
        (span / observed).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let total = (ts_score + ds_score + histogram + duration) / 4.0;
    BeaconScore {
        timestamp: ts_score,
        data_size: ds_score,
        histogram,
        duration,
        total,
        median_interval,
        interval_mad,
        median_bytes,
    }
}

/// RITA's `calculateStatisticalScore` on sorted data: the mean of the
/// Bowley-skewness score and the MAD score (0 when the median is under
/// `min_median`: RITA's rule for sizes under 1 byte). Returns (score, median, MAD).
fn statistical_score(sorted: &[f64], min_median: f64) -> (f64, f64, f64) {
    let q1 = quantile(sorted, 0.25);
    let q2 = quantile(sorted, 0.5);
    let q3 = quantile(sorted, 0.75);
    let den = q3 - q1;
    let skew = if den > 0.01 * q2.abs() && q2 != q1 && q2 != q3 {
        (q1 + q3 - 2.0 * q2) / den
    } else {
        0.0
    };
    let skew_score = 1.0 - skew.abs().min(1.0);
    let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - q2).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = quantile(&deviations, 0.5);
    let mad_score = if q2 >= min_median && q2 > 0.0 {
        ((q2 - mad) / q2).max(0.0)
    } else {
        0.0
    };
    ((skew_score + mad_score) / 2.0, q2, mad)
}

/// Linear-interpolated quantile of sorted data (0 for none).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let a = sorted.get(lo).copied().unwrap_or(0.0);
    let b = sorted.get(hi).copied().unwrap_or(a);
    a + (b - a) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic generator (xorshift) for jitter in tests.
    struct Jitter(u64);
    impl Jitter {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % 10_000) as f64 / 10_000.0
        }
    }

    fn series(n: usize, period: f64, jitter: f64, skip_every: usize) -> Vec<(Timestamp, u64)> {
        let mut j = Jitter(0x9e37_79b9_7f4a_7c15);
        let mut t = 1000.0;
        let mut out = Vec::new();
        for i in 0..n {
            t += period * (1.0 + jitter * (2.0 * j.next() - 1.0));
            if skip_every > 0 && i % skip_every == skip_every - 1 {
                continue;
            }
            out.push((Timestamp::from_secs_f64(t), 320));
        }
        out
    }

    #[test]
    fn a_jittered_beacon_with_missed_beats_scores_high() {
        let s = series(60, 2.0, 0.2, 8);
        let observed = s.last().map_or(0.0, |l| l.0.as_secs_f64()) - 1000.0;
        let r = score(&s, 10, observed);
        assert!(r.total >= 0.8, "{r:?}");
        assert!((r.median_interval - 2.0).abs() < 0.3, "{r:?}");
    }

    #[test]
    fn human_browsing_scores_low() {
        // bursts of requests with long and irregular pauses, varying sizes
        let mut j = Jitter(42);
        let mut t = 0.0;
        let mut s = Vec::new();
        for _ in 0..40 {
            t += if j.next() < 0.3 {
                60.0 * j.next() * 10.0
            } else {
                0.5 * j.next()
            };
            s.push((
                Timestamp::from_secs_f64(t),
                (200.0 + 5000.0 * j.next()) as u64,
            ));
        }
        let r = score(&s, 10, t);
        assert!(r.total < 0.7, "{r:?}");
    }

    #[test]
    fn a_beacon_to_one_name_over_rotating_addresses_is_found_by_name() {
        use crate::fixtures::{ep, flow};
        use netsec_model::{ClientHello, Direction, EventContext, TcpState, TlsEvent};
        let mut d = BeaconDetector::new(BeaconConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        let client = ep(0x0a00_0005, 40000);
        let mut j = Jitter(7);
        let mut t = 1000.0;
        for i in 0..60u32 {
            t += 2.0 * (0.8 + 0.4 * j.next());
            // the address changes with every connection: each pair sees a third
            let server = ep(0xc633_6401 + i % 3, 443);
            let mut record = flow(client, server, (t, 0.3), (900, 4000), TcpState::Closed);
            record.id = FlowId(u64::from(i));
            let hello = AppEvent::Tls(TlsEvent {
                ctx: EventContext {
                    ts: Timestamp::from_secs_f64(t),
                    packet_number: 0,
                    flow_id: Some(record.id),
                    community_id: None,
                    src: client,
                    dst: server,
                    transport: Transport::Tcp,
                    direction: Direction::ToServer,
                },
                message: TlsMessage::ClientHello(ClientHello {
                    server_name: Some("CDN.example.net".into()),
                    ..ClientHello::default()
                }),
            });
            d.on_event(&hello, &mut out);
            d.on_flow_end(&record, &mut out);
        }
        d.finish(&mut out);
        let ids: Vec<&str> = out.iter().map(|f| f.id.as_str()).collect();
        assert!(
            ids.contains(&"beacon:10.0.0.5->cdn.example.net/tls"),
            "{ids:?}"
        );
        let by_name = out.iter().rfind(|f| f.id.ends_with("/tls"));
        let addresses = by_name.map_or(0, |f| f.entities_in(EntityRole::Related).count());
        assert_eq!(addresses, 4, "the name and its three addresses");
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
