//! Lateral movement between home hosts, from flow records.
//!
//! - `lateral_movement`: one home host opening administrative protocols —
//!   SSH 22, DCE-RPC 135, NetBIOS 139, SMB 445, RDP 3389, WinRM 5985/5986 —
//!   on `min_hosts` or more other home hosts that accepted (answered with
//!   data) within `window_secs`; refused attempts are reported beside them
//!   (attempts alone are a sweep, which `portscan` reports).
//! - `lateral_chain`: an administrative session A → B (established), then
//!   B → C starting while A → B was open or within `chain_window_secs` of its
//!   start: the hop an operator makes through a compromised host.
//!
//! Confidence: fan-out `sat(accepting / min_hosts) × (0.5 + 0.5 × accepting
//! share of attempted)`; chain 0.6, 0.8 when the second hop started while the first
//! session was still open (`sat(x) = 1 − e^(−x)`).
//!
//! ATT&CK: T1021 Remote Services (T1021.001 RDP, T1021.002 SMB/Windows
//! Admin Shares, T1021.004 SSH, T1021.006 WinRM), T1570 Lateral Tool
//! Transfer is not claimed (no content is seen).
//!
//! Known false positives: jump hosts, configuration management (Ansible over
//! SSH), backup and inventory servers, domain controllers talking to
//! members (allow-list them as sources). Blind spots: movement through
//! protocols not in the list, hops whose flows end outside the capture.

use std::collections::VecDeque;
use std::net::IpAddr;

use netsec_model::{
    Analyzer, Comparison, Duration, Endpoint, EntityRole, EntityValue, Finding, FindingCategory,
    FindingSink, FlowRecord, FlowRef, Interests, Severity, TcpState, TimeRange, Timestamp,
    Transport,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet};

const PRODUCER: &str = "netsec-detect/lateral";

/// Sessions remembered into and out of each host for chains.
const SESSIONS_PER_HOST: usize = 16;

/// Heap of a host's session list, typically a few sessions (an estimate).
const SESSION_HEAP: usize = 4 * std::mem::size_of::<Session>() + 256;

/// Lateral movement settings (`[lateral]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LateralConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most sources tracked at once, and administrative sessions remembered for chains.
    pub capacity: usize,
    /// Fan-out counted over this idle window (ours: 1 h).
    pub window_secs: f64,
    /// Distinct home hosts reached on administrative ports (ours: 5).
    pub min_hosts: u64,
    /// A second hop starting this long after the first at most.
    pub chain_window_secs: f64,
    /// Administrative TCP ports.
    pub admin_ports: Vec<u16>,
}

impl Default for LateralConfig {
    fn default() -> Self {
        LateralConfig {
            enabled: true,
            capacity: 50_000,
            window_secs: 3600.0,
            min_hosts: 5,
            chain_window_secs: 600.0,
            admin_ports: vec![22, 135, 139, 445, 3389, 5985, 5986],
        }
    }
}

#[derive(Debug, Clone)]
struct FanOut {
    time: TimeRange,
    hosts: CappedSet<IpAddr>,
    established: CappedSet<IpAddr>,
    ports: CappedSet<u16>,
    flows: FlowSample,
    growth: Growth,
}

/// An established administrative session.
#[derive(Debug, Clone)]
struct Session {
    client: IpAddr,
    server: Endpoint,
    time: TimeRange,
    flow: FlowRef,
}

/// Detects administrative fan-out and chains between home hosts.
#[derive(Debug)]
pub struct LateralDetector {
    config: LateralConfig,
    network: NetworkConfig,
    fanout: BoundedTable<IpAddr, FanOut>,
    /// Recent sessions into each host (A → B, by B) and out of each host
    /// (B → C, by B), the newest `SESSIONS_PER_HOST` each: a chain through a
    /// new session costs two lookups.
    into: BoundedTable<IpAddr, VecDeque<Session>>,
    out_of: BoundedTable<IpAddr, VecDeque<Session>>,
    chains: BoundedTable<(IpAddr, IpAddr, IpAddr), ()>,
}

impl LateralDetector {
    /// A detector with these settings.
    pub fn new(config: LateralConfig, network: NetworkConfig) -> Self {
        let window = Duration::from_secs_f64(config.window_secs);
        LateralDetector {
            fanout: BoundedTable::new(config.capacity, window),
            chains: BoundedTable::new(config.capacity, window),
            into: BoundedTable::new(config.capacity, window).with_heap(SESSION_HEAP),
            out_of: BoundedTable::new(config.capacity, window).with_heap(SESSION_HEAP),
            config,
            network,
        }
    }

    /// Entries evicted from the full tables so far.
    pub fn evicted(&self) -> u64 {
        self.fanout.evicted() + self.chains.evicted() + self.into.evicted() + self.out_of.evicted()
    }

    fn fanout_finding(&self, src: IpAddr, f: &FanOut) -> Finding {
        let hosts = f.hosts.count();
        let established = f.established.count();
        let share = established as f64 / hosts.max(1) as f64;
        // scored on hosts that accepted a session
        let ports: Vec<String> = f.ports.items().iter().map(u16::to_string).collect();
        let finding = Finding::new(
            "lateral_movement",
            format!("{src} opened administrative protocols to {hosts} internal hosts"),
            FindingCategory::LateralMovement,
            Severity::Medium,
            saturate(established as f64, self.config.min_hosts as f64) * (0.5 + 0.5 * share),
            f.time,
            PRODUCER,
        )
        .with_id(src)
        .with_mitre(mitre(f.ports.items()))
        .with_entity(EntityRole::Source, EntityValue::Host { ip: src })
        .with_measurement(
            "accepting_hosts",
            established as f64,
            "hosts",
            Comparison::GreaterOrEqual,
            self.config.min_hosts as f64,
        )
        .with_value("attempted_hosts", hosts as f64, "hosts")
        .with_fact("ports", ports.join(","))
        .with_summary(format!(
            "{src} reached tcp/{} on {hosts} internal hosts ({established} accepted) in {:.0} s",
            ports.join(","),
            f.time.duration().as_secs_f64()
        ));
        let finding = f.hosts.items().iter().take(10).fold(finding, |acc, h| {
            acc.with_entity(EntityRole::Target, EntityValue::Host { ip: *h })
        });
        f.flows.attach(finding)
    }

    fn chain_finding(&self, first: &Session, second: &Session) -> Finding {
        let (a, b, c) = (first.client, first.server.ip, second.server.ip);
        let overlapping = second.time.start <= first.time.end;
        let mut time = first.time;
        time.extend(second.time.end);
        Finding::new(
            "lateral_chain",
            format!("Lateral chain {a} → {b} → {c}"),
            FindingCategory::LateralMovement,
            self.network.severity_for(Some(c), Severity::High),
            if overlapping { 0.8 } else { 0.6 },
            time,
            PRODUCER,
        )
        .with_id(format!("{a}->{b}->{c}"))
        .with_mitre(mitre(&[first.server.port, second.server.port]))
        .with_entity(EntityRole::Source, EntityValue::Host { ip: a })
        .with_entity(EntityRole::Target, EntityValue::Host { ip: b })
        .with_entity(EntityRole::Target, EntityValue::Host { ip: c })
        .with_measurement(
            "second_hop_delay",
            second.time.start.since(first.time.start).as_secs_f64(),
            "s",
            Comparison::LessOrEqual,
            self.config.chain_window_secs,
        )
        .with_fact("first_open_during_second", overlapping.to_string())
        .with_flow(first.flow.clone())
        .with_flow(second.flow.clone())
        .with_summary(format!(
            "{a} opened tcp/{} on {b}; {:.1} s later {b} opened tcp/{} on {c}{}",
            first.server.port,
            second.time.start.since(first.time.start).as_secs_f64(),
            second.server.port,
            if overlapping {
                ", while the first session was still open"
            } else {
                ""
            }
        ))
    }

    /// A chain through `new` in either position, with sessions seen so far.
    fn chains_with(&mut self, new: &Session, out: &mut dyn FindingSink) {
        let window = Duration::from_secs_f64(self.config.chain_window_secs);
        let mut found: Vec<(Session, Session)> = Vec::new();
        // s = A → B, new = B → C
        for s in self.into.get(&new.client).into_iter().flatten() {
            if s.client != new.server.ip && follows(s, new, window) {
                found.push((s.clone(), new.clone()));
            }
        }
        // new = A → B, s = B → C (the outer session ended after the inner)
        for s in self.out_of.get(&new.server.ip).into_iter().flatten() {
            if new.client != s.server.ip && follows(new, s, window) {
                found.push((new.clone(), s.clone()));
            }
        }
        for (first, second) in found {
            let key = (first.client, first.server.ip, second.server.ip);
            if self.chains.get(&key).is_some() {
                continue;
            }
            self.chains.touch(key, second.time.end, || ());
            out.finding(self.chain_finding(&first, &second));
        }
    }
}

impl LateralDetector {
    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        for (src, mut f) in self.fanout.ended(all, now) {
            if f.growth.settle(f.established.count()) {
                out.finding(self.fanout_finding(src, &f));
            }
        }
    }
}

/// Whether `second` started after `first` did, and while it was open or
/// within `window` of its start.
fn follows(first: &Session, second: &Session, window: Duration) -> bool {
    second.time.start > first.time.start
        && (second.time.start <= first.time.end
            || second.time.start.since(first.time.start) <= window)
}

fn mitre(ports: &[u16]) -> Vec<String> {
    let mut ids = vec!["T1021".to_string()];
    for p in ports {
        let sub = match p {
            3389 => "T1021.001",
            139 | 445 => "T1021.002",
            135 => "T1021.003",
            22 => "T1021.004",
            5985 | 5986 => "T1021.006",
            _ => continue,
        };
        if !ids.iter().any(|i| i == sub) {
            ids.push(sub.to_string());
        }
    }
    ids
}

impl Analyzer for LateralDetector {
    fn name(&self) -> &'static str {
        "lateral"
    }

    fn interests(&self) -> Interests {
        Interests {
            flows: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.fanout, &self.chains, &self.into, &self.out_of])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(
            &mut [
                &mut self.fanout,
                &mut self.chains,
                &mut self.into,
                &mut self.out_of,
            ],
            bytes,
        );
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if flow.transport != Transport::Tcp || !self.config.admin_ports.contains(&flow.server.port)
        {
            return;
        }
        let (src, dst) = (flow.client.ip, flow.server.ip);
        if src == dst || !self.network.is_home(src) || !self.network.is_home(dst) {
            return;
        }
        if self.network.is_allowed(src, Some(dst)) {
            return;
        }
        let established = matches!(
            flow.tcp_state,
            TcpState::Established | TcpState::Closing | TcpState::Closed | TcpState::Reset
        ) && flow.to_client.payload_bytes > 0;
        let f = self.fanout.touch(src, flow.time.end, || FanOut {
            time: flow.time,
            hosts: CappedSet::default(),
            established: CappedSet::default(),
            ports: CappedSet::default(),
            flows: FlowSample::default(),
            growth: Growth::default(),
        });
        f.time.extend(flow.time.start);
        f.time.extend(flow.time.end);
        if f.hosts.insert(dst, 1024) {
            f.flows.add_record(flow);
        }
        if established {
            f.established.insert(dst, 1024);
        }
        f.ports.insert(flow.server.port, 64);
        // hosts that accepted: attempts alone are a sweep (portscan's finding)
        let accepted = f.established.count();
        if accepted >= self.config.min_hosts && f.growth.due(accepted) {
            let snapshot = f.clone();
            let finding = self.fanout_finding(src, &snapshot);
            out.finding(finding);
        }
        if !established {
            return;
        }
        let session = Session {
            client: src,
            server: flow.server,
            time: flow.time,
            flow: flow.reference(),
        };
        self.chains_with(&session, out);
        let end = session.time.end;
        for (table, host) in [
            (&mut self.into, session.server.ip),
            (&mut self.out_of, session.client),
        ] {
            let list = table.touch(host, end, VecDeque::new);
            if list.len() >= SESSIONS_PER_HOST {
                list.pop_front();
            }
            list.push_back(session.clone());
        }
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        self.flush(false, now, out);
        self.chains.expire(now);
        self.into.expire(now);
        self.out_of.expire(now);
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        self.flush(true, Timestamp::ZERO, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ep;

    /// A session 10.0.0.`client` → 10.0.0.`server`:`port`, accepted or refused.
    fn flow(
        client: u8,
        server: u8,
        port: u16,
        start: f64,
        secs: f64,
        accepted: bool,
    ) -> FlowRecord {
        let (c, s) = (
            ep(0x0a00_0000 | u32::from(client), 40000),
            ep(0x0a00_0000 | u32::from(server), port),
        );
        let (bytes, state) = if accepted {
            (3000, TcpState::Closed)
        } else {
            (0, TcpState::Rejected)
        };
        crate::fixtures::flow(c, s, (start, secs), (bytes, bytes), state)
    }

    #[test]
    fn a_chain_is_found_whichever_record_ends_first() {
        let mut d = LateralDetector::new(LateralConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        // the inner hop (B → C) ends first, inside the outer session
        d.on_flow_end(&flow(2, 3, 22, 11.0, 2.0, true), &mut out);
        d.on_flow_end(&flow(1, 2, 22, 10.0, 5.0, true), &mut out);
        let ids: Vec<&str> = out.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, vec!["lateral_chain:10.0.0.1->10.0.0.2->10.0.0.3"]);
    }

    #[test]
    fn fanout_needs_min_hosts_and_a_return_hop_is_no_chain() {
        let mut d = LateralDetector::new(LateralConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for h in 10..14 {
            d.on_flow_end(&flow(1, h, 445, 0.0, 0.1, true), &mut out);
        }
        for h in 20..40 {
            // refused: a sweep, not movement
            d.on_flow_end(&flow(3, h, 445, 0.0, 0.1, false), &mut out);
        }
        // B answers back to A: not a chain
        d.on_flow_end(&flow(1, 2, 22, 10.0, 5.0, true), &mut out);
        d.on_flow_end(&flow(2, 1, 22, 11.0, 1.0, true), &mut out);
        d.finish(&mut out);
        let kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["lateral_movement"],
            "5 hosts reached: 10..13 and 2"
        );
    }
}
