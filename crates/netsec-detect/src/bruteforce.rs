//! Password guessing against login services, from flow records and HTTP
//! events.
//!
//! A guess costs a session: hydra, medusa and ncrack open a connection per
//! guess (or per few), each short and small. The detector counts, per
//! source, server and service, the *short sessions* that reached the service
//! (handshake answered, shorter than `short_session_secs`, under
//! `long_session_bytes` of payload) within `window_secs`, and reports
//! `{service}_bruteforce` at `min_attempts`. Services: SSH 22, FTP 21,
//! telnet 23, SMB 445, RDP 3389, and HTTP: every `401 Unauthorized`
//! answered to one client by one server counts as an attempt.
//!
//! What followed matters: a *long session* from the same source to the same
//! service after the guesses (at least `long_session_secs` or
//! `long_session_bytes`), or a 2xx after the 401s, marks a possible success
//! and raises the finding to high severity.
//!
//! Confidence: `sat(attempts / min_attempts)` with `sat(x) = 1 − e^(−x)`,
//! at least 0.9 once a possible success follows.
//!
//! **Password spraying** (`password_spraying`): the same short sessions from
//! one source to one service on `spray_min_servers` or more servers within
//! `window_secs`, however few per server (confidence `sat(servers /
//! spray_min_servers)`).
//!
//! ATT&CK: T1110 Brute Force, T1110.001 Password Guessing, T1110.003
//! Password Spraying.
//!
//! Known false positives: automation that logs in many times a minute
//! without connection reuse (allow-list it), a monitoring check of a login
//! banner. Blind spots: guessing inside one connection (SSH allows several
//! tries per connection: one session then counts once), spraying over
//! fewer servers than `spray_min_servers`, Kerberos.
//! Flow records arrive when a flow ends (TCP close plus the flow table's
//! closed timeout), so a live finding comes that much after the guesses.

use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, Comparison, Duration, Endpoint, EntityRole, EntityValue, Finding,
    FindingCategory, FindingSink, FlowRecord, HttpMessage, Interests, Severity, TcpState,
    TimeRange, Timestamp, Transport,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet};

const PRODUCER: &str = "netsec-detect/bruteforce";

/// Brute-force settings (`[bruteforce]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BruteForceConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most source/server/service triples tracked at once.
    pub capacity: usize,
    /// Attempts are counted over this idle window (fail2ban `findtime`: 600 s).
    pub window_secs: f64,
    /// Attempts at least (fail2ban `maxretry` is 5 failed logins; a
    /// session may carry several, and ours counts sessions: 10).
    pub min_attempts: u64,
    /// A session shorter than this is an attempt (ours: 30 s; OpenSSH's
    /// `LoginGraceTime` is 120 s, a failed guess ends within a few).
    pub short_session_secs: f64,
    /// A session lasting this long after the guesses is a possible success.
    pub long_session_secs: f64,
    /// …or moving this many bytes on the wire both ways (a failed SSH
    /// session of up to six guesses moves 5–10 KB).
    pub long_session_bytes: u64,
    /// Distinct servers one source made short login sessions to, for
    /// password spraying (ours: 10; guesses spread thin stay under
    /// `min_attempts` on every server).
    pub spray_min_servers: u64,
    /// TCP ports of login services and their names.
    pub services: Vec<(u16, String)>,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            enabled: true,
            capacity: 50_000,
            window_secs: 600.0,
            min_attempts: 10,
            short_session_secs: 30.0,
            long_session_secs: 60.0,
            long_session_bytes: 16_384,
            spray_min_servers: 10,
            services: [
                (22, "ssh"),
                (21, "ftp"),
                (23, "telnet"),
                (445, "smb"),
                (3389, "rdp"),
            ]
            .iter()
            .map(|(p, n)| (*p, n.to_string()))
            .collect(),
        }
    }
}

#[derive(Debug, Clone)]
struct Guesses {
    time: TimeRange,
    attempts: u64,
    success: Option<Timestamp>,
    flows: FlowSample,
    growth: Growth,
}

/// (client, server endpoint, service name index or usize::MAX for HTTP)
type Key = (IpAddr, Endpoint, usize);

const HTTP: usize = usize::MAX;

/// One source's login attempts to one service across servers.
#[derive(Debug, Clone)]
struct Spray {
    time: TimeRange,
    servers: CappedSet<IpAddr>,
    attempts: u64,
    flows: FlowSample,
    growth: Growth,
}

/// Detects repeated login attempts and what followed them, and attempts
/// spread over many servers.
#[derive(Debug)]
pub struct BruteForceDetector {
    config: BruteForceConfig,
    network: NetworkConfig,
    guesses: BoundedTable<Key, Guesses>,
    /// (source, service index)
    sprays: BoundedTable<(IpAddr, usize), Spray>,
}

impl BruteForceDetector {
    /// A detector with these settings.
    pub fn new(config: BruteForceConfig, network: NetworkConfig) -> Self {
        BruteForceDetector {
            guesses: BoundedTable::new(
                config.capacity,
                Duration::from_secs_f64(config.window_secs),
            ),
            sprays: BoundedTable::new(config.capacity, Duration::from_secs_f64(config.window_secs)),
            config,
            network,
        }
    }

    /// Entries evicted from the full table so far.
    pub fn evicted(&self) -> u64 {
        self.guesses.evicted() + self.sprays.evicted()
    }

    fn spray_finding(&self, (client, index): (IpAddr, usize), s: &Spray) -> Finding {
        let service = self.service_name(index);
        let servers = s.servers.count();
        let per_server = s.attempts as f64 / servers.max(1) as f64;
        let mut f = Finding::new(
            "password_spraying",
            format!("{} logins from {client} spread over {servers} servers", service.to_uppercase()),
            FindingCategory::CredentialAccess,
            Severity::High,
            saturate(servers as f64, self.config.spray_min_servers as f64),
            s.time,
            PRODUCER,
        )
        .with_id(format!("{client}:{service}"))
        .with_mitre(["T1110", "T1110.003"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: client })
        .with_measurement(
            "servers",
            servers as f64,
            "hosts",
            Comparison::GreaterOrEqual,
            self.config.spray_min_servers as f64,
        )
        .with_value("attempts", s.attempts as f64, "short sessions")
        .with_value("attempts_per_server", per_server, "")
        .with_fact("service", service)
        .with_summary(format!(
            "{client} made {} short {service} sessions to {servers} servers ({per_server:.1} each) in {:.1} s",
            s.attempts,
            s.time.duration().as_secs_f64()
        ));
        for server in s.servers.items().iter().take(10) {
            f = f.with_entity(EntityRole::Target, EntityValue::Host { ip: *server });
        }
        s.flows.attach(f)
    }

    fn spray(&mut self, flow: &FlowRecord, index: usize, out: &mut dyn FindingSink) {
        let key = (flow.client.ip, index);
        let s = self.sprays.touch(key, flow.time.end, || Spray {
            time: flow.time,
            servers: CappedSet::default(),
            attempts: 0,
            flows: FlowSample::default(),
            growth: Growth::default(),
        });
        s.time.extend(flow.time.start);
        s.time.extend(flow.time.end);
        s.attempts += 1;
        if s.servers.insert(flow.server.ip, 4096) {
            s.flows.add_record(flow);
        }
        let servers = s.servers.count();
        if servers >= self.config.spray_min_servers && s.growth.due(servers) {
            let snapshot = s.clone();
            out.finding(self.spray_finding(key, &snapshot));
        }
    }

    fn service_name(&self, index: usize) -> &str {
        if index == HTTP {
            return "http";
        }
        self.config
            .services
            .get(index)
            .map_or("login", |(_, n)| n.as_str())
    }

    fn finding(&self, key: Key, g: &Guesses) -> Finding {
        let (client, server, index) = key;
        let service = self.service_name(index);
        let severity = if g.success.is_some() {
            Severity::High
        } else {
            Severity::Medium
        };
        // guesses past the threshold; a following long session makes it near certain
        let base = saturate(g.attempts as f64, self.config.min_attempts as f64);
        let confidence = if g.success.is_some() {
            base.max(0.9)
        } else {
            base
        };
        let unit = if index == HTTP {
            "401 responses"
        } else {
            "short sessions"
        };
        let mut f = Finding::new(
            format!("{service}_bruteforce"),
            format!(
                "{} brute force against {server} from {client}",
                service.to_uppercase()
            ),
            FindingCategory::CredentialAccess,
            self.network.severity_for(Some(server.ip), severity),
            confidence,
            g.time,
            PRODUCER,
        )
        .with_id(format!("{client}->{server}"))
        .with_mitre(["T1110", "T1110.001"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: client })
        .with_entity(EntityRole::Target, EntityValue::Host { ip: server.ip })
        .with_entity(
            EntityRole::Target,
            EntityValue::Service {
                endpoint: server,
                transport: "tcp".into(),
            },
        )
        .with_measurement(
            "attempts",
            g.attempts as f64,
            unit,
            Comparison::GreaterOrEqual,
            self.config.min_attempts as f64,
        )
        .with_fact("service", service)
        .with_fact("possible_success", g.success.is_some().to_string());
        let followed = match g.success {
            Some(t) => format!("; a longer session followed at {t}: possible success"),
            None => String::new(),
        };
        f = f.with_summary(format!(
            "{client} made {} {service} login attempts ({unit}) to {server} in {:.1} s{followed}",
            g.attempts,
            g.time.duration().as_secs_f64()
        ));
        g.flows.attach(f)
    }

    fn attempt(
        &mut self,
        key: Key,
        ts: TimeRange,
        flow: Option<&FlowRecord>,
        out: &mut dyn FindingSink,
    ) {
        let g = self.guesses.touch(key, ts.end, || Guesses {
            time: ts,
            attempts: 0,
            success: None,
            flows: FlowSample::default(),
            growth: Growth::default(),
        });
        g.time.extend(ts.start);
        g.time.extend(ts.end);
        g.attempts += 1;
        if let Some(flow) = flow {
            g.flows.add_record(flow);
        }
        if g.attempts >= self.config.min_attempts && g.growth.due(g.attempts) {
            let snapshot = g.clone();
            let f = self.finding(key, &snapshot);
            out.finding(f);
        }
    }

    /// A session that got in: reported at once when it follows a brute force.
    fn success(
        &mut self,
        key: Key,
        ts: TimeRange,
        flow: Option<&FlowRecord>,
        out: &mut dyn FindingSink,
    ) {
        let Some(g) = self.guesses.get_mut(&key) else {
            return;
        };
        if g.success.is_some() || g.attempts < self.config.min_attempts {
            return;
        }
        g.success = Some(ts.start);
        g.time.extend(ts.end);
        if let Some(flow) = flow {
            g.flows.add_record(flow);
        }
        let attempts = g.attempts;
        g.growth.mark(attempts);
        let g = g.clone();
        out.finding(self.finding(key, &g));
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let ended = self.guesses.ended(all, now);
        for (key, mut g) in ended {
            if g.growth.settle(g.attempts) {
                out.finding(self.finding(key, &g));
            }
        }
        for (key, mut s) in self.sprays.ended(all, now) {
            if s.growth.settle(s.servers.count()) {
                out.finding(self.spray_finding(key, &s));
            }
        }
    }
}

impl Analyzer for BruteForceDetector {
    fn name(&self) -> &'static str {
        "bruteforce"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            flows: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.guesses, &self.sprays])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(&mut [&mut self.guesses, &mut self.sprays], bytes);
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if flow.transport != Transport::Tcp {
            return;
        }
        let Some(index) = self
            .config
            .services
            .iter()
            .position(|(p, _)| *p == flow.server.port)
        else {
            return;
        };
        if self
            .network
            .is_allowed(flow.client.ip, Some(flow.server.ip))
        {
            return;
        }
        // it must have reached the service
        let answered = flow.to_client.packets > 0
            && !matches!(
                flow.tcp_state,
                TcpState::Rejected | TcpState::SynSent | TcpState::None
            );
        if !answered {
            return;
        }
        let secs = flow.duration().as_secs_f64();
        // wire bytes: a snap length cuts captured payload, not frames
        let payload = flow.bytes();
        let key = (flow.client.ip, flow.server, index);
        if secs >= self.config.long_session_secs || payload >= self.config.long_session_bytes {
            self.success(key, flow.time, Some(flow), out);
        } else if secs < self.config.short_session_secs {
            self.attempt(key, flow.time, Some(flow), out);
            self.spray(flow, index, out);
        }
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        let AppEvent::Http(http) = event else { return };
        let HttpMessage::Response { status, .. } = &http.message else {
            return;
        };
        // a response travels server → client
        let (server, client) = (http.ctx.src, http.ctx.dst.ip);
        if self.network.is_allowed(client, Some(server.ip)) {
            return;
        }
        let key = (client, server, HTTP);
        let at = TimeRange::at(http.ctx.ts);
        match status {
            401 => self.attempt(key, at, None, out),
            200..=299 => self.success(key, at, None, out),
            _ => {}
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ep;

    /// A session from 10.0.0.10 to 10.0.0.20:`port` with `payload` bytes in all.
    fn flow(start: f64, secs: f64, payload: u64, port: u16) -> FlowRecord {
        let (client, server) = (ep(0x0a00_000a, 40000), ep(0x0a00_0014, port));
        crate::fixtures::flow(
            client,
            server,
            (start, secs),
            (payload / 2, payload / 2),
            TcpState::Closed,
        )
    }

    #[test]
    fn guesses_then_a_long_session_is_a_possible_success() {
        let mut d = BruteForceDetector::new(BruteForceConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..12 {
            d.on_flow_end(&flow(f64::from(i), 1.5, 4000, 22), &mut out);
        }
        assert_eq!(out.len(), 1);
        d.on_flow_end(&flow(20.0, 120.0, 50_000, 22), &mut out);
        let last = out.last().cloned();
        assert_eq!(last.as_ref().map(|f| f.severity), Some(Severity::High));
        assert_eq!(
            last.as_ref().map(|f| f.id.as_str()),
            Some("ssh_bruteforce:10.0.0.10->10.0.0.20:22")
        );
        d.finish(&mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn one_guess_on_each_of_many_servers_is_spraying() {
        let mut d = BruteForceDetector::new(BruteForceConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..12u32 {
            let server = ep(0x0a00_0100 + i, 22);
            let r = crate::fixtures::flow(
                ep(0x0a00_000a, 40000),
                server,
                (f64::from(i), 1.5),
                (2000, 2000),
                TcpState::Closed,
            );
            d.on_flow_end(&r, &mut out);
        }
        d.finish(&mut out);
        let kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["password_spraying", "password_spraying"],
            "at 10 servers, then at 12"
        );
        assert!(out
            .iter()
            .all(|f| f.mitre.contains(&"T1110.003".to_string())));
    }

    #[test]
    fn a_few_logins_are_not_brute_force() {
        let mut d = BruteForceDetector::new(BruteForceConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..5 {
            d.on_flow_end(&flow(f64::from(i) * 10.0, 1.5, 4000, 22), &mut out);
        }
        for i in 0..20 {
            // web requests are not logins
            d.on_flow_end(&flow(f64::from(i), 0.2, 1000, 80), &mut out);
        }
        d.finish(&mut out);
        assert!(out.is_empty());
    }
}
