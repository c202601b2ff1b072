//! The collector: indicators from application events and flow records as
//! the pipeline delivers them, and from findings (live or saved).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use netsec_detect::table::BoundedTable;
use netsec_detect::timeline::{phases_of_finding, KillChainPhase};
use netsec_model::{
    Analyzer, AppEvent, EntityRole, EntityValue, Finding, FindingCategory, FindingSink, FlowId,
    FlowRecord, HttpMessage, Interests, Timestamp, TlsMessage,
};

use crate::config::IocConfig;
use crate::indicator::{
    key, CertificateSummary, ConnectionSample, FileSummary, Indicator, IndicatorKind, IndicatorSet,
};

/// The indicator of this kind and value in `indicators`, created when new
/// (after making room when full).
fn entry<'a>(
    indicators: &'a mut HashMap<String, Indicator>,
    config: &IocConfig,
    evicted: &mut u64,
    (kind, value): (IndicatorKind, &str),
    ts: Timestamp,
) -> &'a mut Indicator {
    let k = key(kind, value);
    if !indicators.contains_key(&k) && indicators.len() >= config.capacity {
        evict(indicators, config.capacity, evicted);
    }
    let indicator = indicators
        .entry(k)
        .or_insert_with(|| Indicator::new(kind, value, ts));
    indicator.seen_at(ts);
    indicator.sightings += 1;
    indicator
}

/// Drop the least recently seen tenth of what no finding names.
fn evict(indicators: &mut HashMap<String, Indicator>, capacity: usize, evicted: &mut u64) {
    let mut candidates: Vec<(Timestamp, String)> = indicators
        .iter()
        .filter(|(_, i)| i.finding_ids.is_empty())
        .map(|(k, i)| (i.last_seen, k.clone()))
        .collect();
    candidates.sort();
    for (_, k) in candidates.into_iter().take((capacity / 10).max(1)) {
        indicators.remove(&k);
        *evicted += 1;
    }
}

/// Where an event saw an indicator: its connection.
struct Seen {
    connection: ConnectionSample,
}

/// Flows whose events named indicators, waiting for the flow's bytes.
const MAX_OPEN_FLOWS: usize = 50_000;

/// Open flows leave when they end or when the table is full, not by time.
const NEVER_IDLE: netsec_model::Duration = netsec_model::Duration::from_secs(86_400 * 365);

/// Extracts indicators with their context. As an [`Analyzer`] it reads
/// events (DNS, HTTP, TLS) and flow records; findings come through
/// [`IocCollector::add_finding`] (after the run, or from `findings.jsonl`).
/// [`IocCollector::indicators`] gives what is exported.
#[derive(Debug)]
pub struct IocCollector {
    config: IocConfig,
    indicators: HashMap<String, Indicator>,
    /// Keys of indicators each open flow's events named.
    open_flows: BoundedTable<FlowId, Vec<String>>,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
    evicted: u64,
}

impl IocCollector {
    /// An empty collector.
    pub fn new(config: IocConfig) -> Self {
        IocCollector {
            config,
            indicators: HashMap::new(),
            open_flows: BoundedTable::new(MAX_OPEN_FLOWS, NEVER_IDLE),
            first_seen: None,
            last_seen: None,
            evicted: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IocConfig {
        &self.config
    }

    fn clock(&mut self, ts: Timestamp) {
        self.first_seen = Some(self.first_seen.map_or(ts, |f| f.min(ts)));
        self.last_seen = Some(self.last_seen.map_or(ts, |l| l.max(ts)));
    }

    /// The indicator of this kind and value, created when new.
    fn entry(&mut self, kind: IndicatorKind, value: &str, ts: Timestamp) -> &mut Indicator {
        entry(
            &mut self.indicators,
            &self.config,
            &mut self.evicted,
            (kind, value),
            ts,
        )
    }

    fn note_host(config: &IocConfig, indicator: &mut Indicator, host: IpAddr) {
        if !config.is_internal(host) || indicator.internal_hosts.contains(&host) {
            return;
        }
        if indicator.internal_hosts.len() < config.max_hosts_per_indicator {
            indicator.internal_hosts.insert(host);
        } else {
            indicator.internal_hosts_dropped += 1;
        }
    }

    /// An indicator seen in traffic between `client` and `server`.
    fn observe(
        &mut self,
        (kind, value): (IndicatorKind, &str),
        tag: &str,
        at: &Seen,
        flow: Option<FlowId>,
    ) -> String {
        let config = &self.config;
        let (client, server) = (at.connection.client, at.connection.server);
        let indicator = entry(
            &mut self.indicators,
            config,
            &mut self.evicted,
            (kind, value),
            at.connection.start,
        );
        if indicator.connection.is_none() && !matches!(kind, IndicatorKind::Domain) {
            indicator.connection = Some(at.connection);
        }
        indicator.tags.insert(tag.to_string());
        Self::note_host(config, indicator, client);
        if !config.is_internal(server) {
            indicator.servers.insert(server);
        }
        let k = indicator.key();
        if let Some(id) = flow {
            let keys = self.open_flows.touch(id, at.connection.start, Vec::new);
            if !keys.contains(&k) {
                keys.push(k.clone());
            }
        }
        k
    }

    fn relate(&mut self, a: &str, b: &str) {
        if let Some(i) = self.indicators.get_mut(a) {
            i.related.insert(b.to_string());
        }
        if let Some(i) = self.indicators.get_mut(b) {
            i.related.insert(a.to_string());
        }
    }

    /// Add a finding: the indicators it names get its id, confidence,
    /// phase, techniques and kind as a tag.
    pub fn add_finding(&mut self, finding: &Finding) {
        self.clock(finding.time.start);
        self.clock(finding.time.end);
        let mut named: Vec<(IndicatorKind, String)> = Vec::new();
        let acts_against_others = matches!(
            finding.category,
            FindingCategory::Reconnaissance
                | FindingCategory::CredentialAccess
                | FindingCategory::DenialOfService
                | FindingCategory::Spoofing
        );
        for entity in &finding.entities {
            match &entity.value {
                EntityValue::Host { ip } => {
                    let ip = *ip;
                    // a victim is no indicator; an attacker or a server used is,
                    // and an outside host in any role is
                    let indicator = match entity.role {
                        EntityRole::Source => acts_against_others || self.config.is_outside(ip),
                        EntityRole::Related => true,
                        EntityRole::Target => self.config.is_outside(ip),
                    };
                    if indicator {
                        named.push((IndicatorKind::of_ip(ip), ip.to_string()));
                    }
                }
                EntityValue::Service { endpoint, .. } if entity.role != EntityRole::Target => {
                    let ip = endpoint.ip;
                    named.push((IndicatorKind::of_ip(ip), ip.to_string()));
                }
                EntityValue::Domain { name } => {
                    named.push((IndicatorKind::Domain, name.to_ascii_lowercase()));
                }
                EntityValue::Url { url } => named.push((IndicatorKind::Url, url.clone())),
                EntityValue::Certificate { sha256 } => {
                    named.push((
                        IndicatorKind::CertificateSha256,
                        sha256.to_ascii_lowercase(),
                    ));
                }
                _ => {}
            }
        }
        named.extend(indicators_in_facts(&finding.evidence.facts));
        let phases = phases_of_finding(finding);
        let identity = finding.identity();
        let confidence = finding.confidence.value();
        let ts = finding.time.start;
        for (kind, value) in named {
            let indicator = self.entry(kind, &value, ts);
            indicator.seen_at(finding.time.end);
            indicator.named_by_finding = true;
            credit(indicator, finding, &identity, confidence, &phases);
        }
    }

    /// Add every finding of a run.
    pub fn add_findings<'a>(&mut self, findings: impl IntoIterator<Item = &'a Finding>) {
        for f in findings {
            self.add_finding(f);
        }
    }

    /// What is exported: what is outside and not allow-listed, or named by
    /// a finding; with the findings of the servers they were seen with
    /// credited to names, URLs, user agents and fingerprints.
    pub fn indicators(&self) -> IndicatorSet {
        let mut all: BTreeMap<String, Indicator> = self
            .indicators
            .iter()
            .map(|(k, i)| (k.clone(), i.clone()))
            .collect();
        // credit what was seen with a server to that server's findings
        let by_key = all.clone();
        for indicator in all.values_mut() {
            if matches!(indicator.kind, IndicatorKind::Ipv4 | IndicatorKind::Ipv6) {
                continue;
            }
            for server in indicator.servers.clone() {
                let Some(host) =
                    by_key.get(&key(IndicatorKind::of_ip(server), &server.to_string()))
                else {
                    continue;
                };
                if host.finding_ids.is_empty() {
                    continue;
                }
                indicator
                    .finding_ids
                    .extend(host.finding_ids.iter().cloned());
                indicator
                    .kill_chain_phases
                    .extend(host.kill_chain_phases.iter().copied());
                indicator.mitre.extend(host.mitre.iter().cloned());
                indicator.confidence = max_confidence(indicator.confidence, host.confidence);
                indicator.tags.insert("seen-with-indicator".into());
                indicator.related.insert(host.key());
            }
        }
        let exported: Vec<Indicator> = all.into_values().filter(|i| self.exported(i)).collect();
        let keys: std::collections::BTreeSet<String> =
            exported.iter().map(Indicator::key).collect();
        let indicators = exported
            .into_iter()
            .map(|mut i| {
                i.related.retain(|k| keys.contains(k));
                i
            })
            .collect();
        IndicatorSet {
            producer: format!("netsec {}", env!("CARGO_PKG_VERSION")),
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            indicators,
            evicted: self.evicted + self.open_flows.evicted(),
        }
    }

    fn exported(&self, i: &Indicator) -> bool {
        if self.config.require_finding && i.finding_ids.is_empty() {
            return false;
        }
        if i.named_by_finding {
            return true;
        }
        match i.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => i
                .value
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.config.is_outside(ip)),
            IndicatorKind::Domain => !self.config.is_ignored_name(&i.value),
            IndicatorKind::Url => url_host(&i.value).is_some_and(|h| {
                h.parse::<IpAddr>().map_or_else(
                    |_| !self.config.is_ignored_name(h),
                    |ip| self.config.is_outside(ip),
                )
            }),
            _ => true,
        }
    }

    /// A file carried over HTTP: its SHA-256 and MD5 (complete bodies
    /// only), under the URLs' rule unless `all_files`; related to each other
    /// and to the URL it came from.
    fn on_file(&mut self, f: &netsec_model::FileEvent, at: &Seen, flow: Option<FlowId>) {
        let (Some(sha256), Some(md5)) = (f.sha256.as_deref(), f.md5.as_deref()) else {
            return;
        };
        if !f.complete {
            return;
        }
        let server = at.connection.server;
        let host_name = f
            .host
            .as_deref()
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
        let named_outside = host_name
            .as_deref()
            .is_some_and(|h| h.parse::<IpAddr>().is_err() && !self.config.is_ignored_name(h));
        if !self.config.all_files && !self.toward_outside(server) && !named_outside {
            return;
        }
        let url = f.url().or_else(|| {
            let endpoint = netsec_model::Endpoint::new(server, at.connection.port);
            f.uri.as_deref().map(|u| format!("http://{endpoint}{u}"))
        });
        let upload = f.ctx.direction == netsec_model::Direction::ToServer;
        let summary = FileSummary {
            name: f.filename().map(str::to_string),
            size: f.bytes,
            mime_type: f.mime_type.clone(),
            url: url.clone(),
            transfer: if upload { "upload" } else { "download" },
            sha256: sha256.to_ascii_lowercase(),
            md5: md5.to_ascii_lowercase(),
        };
        let tag = if upload {
            "http-upload"
        } else {
            "http-download"
        };
        let mut keys = Vec::new();
        for (kind, value) in [
            (IndicatorKind::FileSha256, &summary.sha256),
            (IndicatorKind::FileMd5, &summary.md5),
        ] {
            let k = self.observe((kind, value), tag, at, flow);
            if let Some(i) = self.indicators.get_mut(&k) {
                if i.file.is_none() {
                    i.file = Some(summary.clone());
                }
                // A finding on an internal server credits its files too.
                i.servers.insert(server);
            }
            keys.push(k);
        }
        if let [a, b] = keys.as_slice() {
            self.relate(a, b);
            if let Some(url) = url {
                let url_key = key(IndicatorKind::Url, &url);
                if self.indicators.contains_key(&url_key) {
                    self.relate(a, &url_key);
                    self.relate(b, &url_key);
                }
            }
        }
    }

    /// Whether a server is outside: traffic to it is worth extracting
    /// names, URLs and fingerprints from.
    fn toward_outside(&self, server: IpAddr) -> bool {
        self.config.is_outside(server)
    }
}

fn credit(
    indicator: &mut Indicator,
    finding: &Finding,
    identity: &str,
    confidence: f64,
    phases: &[KillChainPhase],
) {
    indicator.finding_ids.insert(identity.to_string());
    indicator.confidence = max_confidence(indicator.confidence, Some(confidence));
    indicator.kill_chain_phases.extend(phases.iter().copied());
    indicator.mitre.extend(finding.mitre.iter().cloned());
    indicator.tags.insert(finding.kind.clone());
    indicator.tags.insert("named-by-finding".into());
}

fn max_confidence(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Indicators a finding's facts name (`ja3`, `server_name`, `user_agent`, …).
fn indicators_in_facts(facts: &[(String, String)]) -> Vec<(IndicatorKind, String)> {
    let fingerprint_kind = facts
        .iter()
        .find(|(k, _)| k == "fingerprint_kind")
        .map(|(_, v)| v.to_ascii_lowercase());
    let mut out = Vec::new();
    for (k, v) in facts {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let kind = match k.as_str() {
            "ja3" | "ja3s" | "ja3_hash" => IndicatorKind::Ja3,
            "ja4" | "ja4s" => IndicatorKind::Ja4,
            "server_name" | "sni" | "domain" | "resolved_name" | "query_name" | "http_host" => {
                IndicatorKind::Domain
            }
            "url" => IndicatorKind::Url,
            "user_agent" => IndicatorKind::UserAgent,
            "file_sha256" => IndicatorKind::FileSha256,
            "file_md5" => IndicatorKind::FileMd5,
            "certificate_sha256" => IndicatorKind::CertificateSha256,
            "fingerprint" => match fingerprint_kind.as_deref() {
                Some("ja3" | "ja3s") => IndicatorKind::Ja3,
                Some("ja4" | "ja4s") => IndicatorKind::Ja4,
                Some("sha256") => IndicatorKind::CertificateSha256,
                Some("sha1") => IndicatorKind::CertificateSha1,
                _ => continue,
            },
            _ => continue,
        };
        let value = match kind {
            IndicatorKind::Url | IndicatorKind::UserAgent | IndicatorKind::Ja4 => v.to_string(),
            IndicatorKind::Domain if v.parse::<IpAddr>().is_ok() => continue,
            _ => v.to_ascii_lowercase(),
        };
        out.push((kind, value));
    }
    out
}

/// The host part of an `http://host[:port]/…` URL.
pub(crate) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(host.split(':').next().unwrap_or(host))
}

impl Analyzer for IocCollector {
    fn name(&self) -> &'static str {
        "ioc"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            flows: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        self.indicators
            .values()
            .map(|i| {
                std::mem::size_of::<Indicator>()
                    + i.value.len()
                    + i.internal_hosts.len() * 24
                    + i.finding_ids.iter().map(String::len).sum::<usize>()
                    + i.related.iter().map(String::len).sum::<usize>()
            })
            .sum::<usize>()
            + self.open_flows.memory_used()
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        // about 512 bytes an indicator with its context
        self.config.capacity = self.config.capacity.min((bytes / 512).max(1_000));
    }

    fn on_event(&mut self, event: &AppEvent, _out: &mut dyn FindingSink) {
        let ctx = event.context();
        self.clock(ctx.ts);
        let (client, server) = match ctx.direction {
            netsec_model::Direction::ToServer => (ctx.src.ip, ctx.dst.ip),
            netsec_model::Direction::ToClient => (ctx.dst.ip, ctx.src.ip),
        };
        let (client_port, port) = match ctx.direction {
            netsec_model::Direction::ToServer => (ctx.src.port, ctx.dst.port),
            netsec_model::Direction::ToClient => (ctx.dst.port, ctx.src.port),
        };
        let at = &Seen {
            connection: ConnectionSample {
                client,
                client_port,
                server,
                port,
                transport: ctx.transport,
                start: ctx.ts,
                end: ctx.ts,
            },
        };
        match event {
            AppEvent::Dns(dns) => {
                if dns.is_response {
                    let Some(q) = dns.questions.first() else {
                        return;
                    };
                    let name = q.name.as_str().trim_end_matches('.').to_ascii_lowercase();
                    if self.config.is_ignored_name(&name) {
                        return;
                    }
                    let name_key = key(IndicatorKind::Domain, &name);
                    for answer in &dns.answers {
                        let Ok(ip) = answer.data.parse::<IpAddr>() else {
                            continue;
                        };
                        if self.toward_outside(ip) {
                            let ip_key = key(IndicatorKind::of_ip(ip), &ip.to_string());
                            if self.indicators.contains_key(&name_key) {
                                self.entry(IndicatorKind::of_ip(ip), &ip.to_string(), ctx.ts)
                                    .tags
                                    .insert("dns-answer".into());
                                self.relate(&name_key, &ip_key);
                            }
                        }
                    }
                } else {
                    for q in &dns.questions {
                        let name = q.name.as_str().trim_end_matches('.').to_ascii_lowercase();
                        if !self.config.is_ignored_name(&name) {
                            self.observe((IndicatorKind::Domain, &name), "dns-query", at, None);
                        }
                    }
                }
            }
            AppEvent::Http(http) => {
                let HttpMessage::Request {
                    uri,
                    host,
                    user_agent,
                    ..
                } = &http.message
                else {
                    return;
                };
                let host_name = host
                    .as_deref()
                    .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
                let named_outside = host_name.as_deref().is_some_and(|h| {
                    h.parse::<IpAddr>().is_err() && !self.config.is_ignored_name(h)
                });
                if !self.toward_outside(server) && !named_outside {
                    return;
                }
                let flow = ctx.flow_id;
                let domain_key = host_name
                    .as_deref()
                    .filter(|_| named_outside)
                    .map(|h| self.observe((IndicatorKind::Domain, h), "http-host", at, flow));
                let authority = host.clone().unwrap_or_else(|| ctx.dst.to_string());
                let url = if uri.starts_with("http://") || uri.starts_with("https://") {
                    uri.clone()
                } else {
                    format!("http://{authority}{uri}")
                };
                let url_key = self.observe((IndicatorKind::Url, &url), "http-request", at, flow);
                if let Some(d) = &domain_key {
                    self.relate(d, &url_key);
                }
                if let Some(ua) = user_agent.as_deref().filter(|ua| !ua.trim().is_empty()) {
                    self.observe((IndicatorKind::UserAgent, ua), "http-user-agent", at, flow);
                }
            }
            AppEvent::Tls(tls) => self.on_tls(&tls.message, at, ctx.flow_id),
            AppEvent::File(file) => self.on_file(file, at, ctx.flow_id),
            _ => {}
        }
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, _out: &mut dyn FindingSink) {
        self.clock(flow.time.start);
        self.clock(flow.time.end);
        let keys = self.open_flows.remove(&flow.id).unwrap_or_default();
        for k in keys {
            if let Some(i) = self.indicators.get_mut(&k) {
                i.bytes += flow.bytes();
            }
        }
        let config = &self.config;
        for (this, other) in [
            (flow.server.ip, flow.client.ip),
            (flow.client.ip, flow.server.ip),
        ] {
            if !config.is_outside(this) {
                continue;
            }
            let value = this.to_string();
            let indicator = entry(
                &mut self.indicators,
                config,
                &mut self.evicted,
                (IndicatorKind::of_ip(this), &value),
                flow.time.start,
            );
            indicator.seen_at(flow.time.end);
            indicator.bytes += flow.bytes();
            indicator.tags.insert("flow".into());
            Self::note_host(config, indicator, other);
            if indicator.connection.is_none() {
                indicator.connection = Some(ConnectionSample {
                    client: flow.client.ip,
                    client_port: flow.client.port,
                    server: flow.server.ip,
                    port: flow.server.port,
                    transport: flow.transport,
                    start: flow.time.start,
                    end: flow.time.end,
                });
            }
        }
    }
}

impl IocCollector {
    fn on_tls(&mut self, message: &TlsMessage, at: &Seen, flow: Option<FlowId>) {
        let server = at.connection.server;
        match message {
            TlsMessage::ClientHello(hello) => {
                let name = hello
                    .server_name
                    .as_deref()
                    .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                    .filter(|n| !self.config.is_ignored_name(n));
                if !self.toward_outside(server) && name.is_none() {
                    return;
                }
                if let Some(n) = name {
                    self.observe((IndicatorKind::Domain, &n), "tls-sni", at, flow);
                }
                if let Some(ja3) = &hello.ja3_hash {
                    self.observe(
                        (IndicatorKind::Ja3, &ja3.to_ascii_lowercase()),
                        "ja3",
                        at,
                        flow,
                    );
                }
                if let Some(ja4) = &hello.ja4 {
                    self.observe((IndicatorKind::Ja4, ja4), "ja4", at, flow);
                }
            }
            TlsMessage::ServerHello(_) => {}
            TlsMessage::Certificate { certificates, .. } => {
                if !self.toward_outside(server) {
                    return;
                }
                let Some(leaf) = certificates.first() else {
                    return;
                };
                if leaf.sha256.is_empty() {
                    return;
                }
                let value = leaf.sha256.to_ascii_lowercase();
                let kind = IndicatorKind::CertificateSha256;
                let k = self.observe((kind, &value), "tls-certificate", at, flow);
                if let Some(i) = self.indicators.get_mut(&k) {
                    i.certificate.get_or_insert_with(|| CertificateSummary {
                        subject: leaf.subject.clone(),
                        issuer: leaf.issuer.clone(),
                        serial: leaf.serial.clone(),
                        not_before: leaf.not_before,
                        not_after: leaf.not_after,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{
        AppProto, DirectionStats, Endpoint, FlowEndReason, Severity, TcpState, TimeRange, Transport,
    };

    fn flow(id: u64, client: IpAddr, server: IpAddr, secs: i64) -> FlowRecord {
        let ts = Timestamp::from_secs_nanos(1_700_000_000 + secs, 0);
        FlowRecord {
            id: FlowId(id),
            community_id: String::new(),
            client: Endpoint::new(client, 40_000),
            server: Endpoint::new(server, 443),
            transport: Transport::Tcp,
            vlan: 0,
            time: TimeRange { start: ts, end: ts },
            to_server: DirectionStats::default(),
            to_client: DirectionStats::default(),
            tcp_state: TcpState::Closed,
            app_proto: AppProto::Unknown,
            end_reason: FlowEndReason::TcpClose,
            missing_bytes: 0,
        }
    }

    #[test]
    fn a_full_collector_evicts_the_oldest_it_has_no_finding_for() {
        let config = IocConfig {
            capacity: 100,
            ..IocConfig::default()
        };
        let mut collector = IocCollector::new(config);
        let c2 = IpAddr::from([198, 51, 100, 7]);
        let beacon = Finding::new(
            "beacon",
            "Beacon",
            FindingCategory::CommandAndControl,
            Severity::High,
            0.9,
            TimeRange::at(Timestamp::from_secs_nanos(1_700_000_000, 0)),
            "test",
        )
        .with_entity(EntityRole::Related, EntityValue::Host { ip: c2 });
        collector.add_finding(&beacon);
        let mut out: Vec<Finding> = Vec::new();
        let home = IpAddr::from([10, 0, 0, 5]);
        for n in 0..1_000u32 {
            let outside = IpAddr::from(std::net::Ipv4Addr::from(0xcb00_7100 + n));
            collector.on_flow_end(&flow(u64::from(n), home, outside, i64::from(n)), &mut out);
        }
        let set = collector.indicators();
        assert!(set.indicators.len() <= 100, "{}", set.indicators.len());
        assert!(set.evicted >= 900);
        // what a finding names stays; the newest traffic stays
        assert!(set.get(IndicatorKind::Ipv4, "198.51.100.7").is_some());
        assert!(set.get(IndicatorKind::Ipv4, "203.0.116.231").is_some());
        assert!(set.get(IndicatorKind::Ipv4, "203.0.113.0").is_none());
        assert!(collector.memory_used() > 0);
    }

    #[test]
    fn victims_are_not_indicators_but_internal_attackers_are() {
        let mut collector = IocCollector::new(IocConfig::default());
        let at = TimeRange::at(Timestamp::from_secs_nanos(1_700_000_000, 0));
        let scan = Finding::new(
            "tcp_port_scan",
            "scan",
            FindingCategory::Reconnaissance,
            Severity::Medium,
            0.6,
            at,
            "t",
        )
        .with_entity(
            EntityRole::Source,
            EntityValue::Host {
                ip: IpAddr::from([10, 0, 0, 66]),
            },
        )
        .with_entity(
            EntityRole::Target,
            EntityValue::Host {
                ip: IpAddr::from([10, 0, 0, 7]),
            },
        );
        let beacon = Finding::new(
            "beacon",
            "beacon",
            FindingCategory::CommandAndControl,
            Severity::High,
            0.9,
            at,
            "t",
        )
        .with_entity(
            EntityRole::Source,
            EntityValue::Host {
                ip: IpAddr::from([10, 0, 0, 7]),
            },
        )
        .with_fact("server_name", "Evil.Example")
        .with_fact("ja3", "E7D705A3286E19EA42F587B344EE6865");
        collector.add_findings([&scan, &beacon]);
        let keys: Vec<String> = collector
            .indicators()
            .indicators
            .iter()
            .map(Indicator::key)
            .collect();
        assert_eq!(
            keys,
            [
                "domain:evil.example",
                "ipv4:10.0.0.66",
                "ja3:e7d705a3286e19ea42f587b344ee6865"
            ]
        );
    }
}
