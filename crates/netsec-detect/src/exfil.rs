//! Data leaving the home networks, from flow records.
//!
//! For each home host and outside destination the detector sums, over an
//! idle window, the bytes on the wire the home host sent (client or server
//! side) and received (wire bytes: a capture cut by a snap length still
//! counts whole frames). It reports `data_exfiltration` when the host sent at least
//! `min_bytes` with an upload/download ratio of at least `min_ratio`, many
//! small transfers adding up as one large one (slow exfiltration). Two
//! facts raise the confidence: the destination is *rare* (no more than
//! `rare_max_sources` home hosts ever talked to it in the capture) and the
//! volume is far above the host's own typical outbound volume per
//! destination (its median over the other destinations it sent to).
//!
//! Confidence: `sat(sent / min_bytes) × sat(ratio / min_ratio) × r`, where
//! `sat(x) = 1 − e^(−x)` and `r` is 1 for a rare destination and 0.7 for a
//! common one.
//!
//! ATT&CK: T1048 Exfiltration Over Alternative Protocol, T1041 Exfiltration
//! Over C2 Channel, T1030 Data Transfer Size Limits (when spread over many
//! flows).
//!
//! Known false positives: backups and cloud sync, video calls, uploads to
//! file-sharing sites (allow-list their destinations). An upload still
//! running is counted from the pipeline's flow snapshots (every 10 s of a
//! flow's life, as if it ended then; its end counts it for real), so it is
//! reported while it goes on. Blind spots: exfiltration through a home proxy
//! or over DNS (many small queries to a home resolver).

use std::net::IpAddr;

use netsec_model::{
    Analyzer, Comparison, Duration, EntityRole, EntityValue, Finding, FindingCategory, FindingSink,
    FlowRecord, Interests, Severity, TimeRange, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::evidence::{saturate, FlowSample, Growth};
use crate::scope::NetworkConfig;
use crate::table::{BoundedTable, CappedSet};

const PRODUCER: &str = "netsec-detect/exfil";

/// Exfiltration settings (`[exfil]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExfilConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Most host/destination pairs (and destinations, and hosts) tracked at once.
    pub capacity: usize,
    /// A pair idle this long is over (ours: 1 h).
    pub window_secs: f64,
    /// Bytes sent by the home host to one destination (ours: 10 MB, above
    /// the uploads of ordinary browsing and mail; backups exceed it).
    pub min_bytes: u64,
    /// Sent bytes per received byte (ours: 5; a download is the other way).
    pub min_ratio: f64,
    /// A destination talked to by at most this many home hosts is rare.
    pub rare_max_sources: u64,
}

impl Default for ExfilConfig {
    fn default() -> Self {
        ExfilConfig {
            enabled: true,
            capacity: 100_000,
            window_secs: 3600.0,
            min_bytes: 10_000_000,
            min_ratio: 5.0,
            rare_max_sources: 1,
        }
    }
}

#[derive(Debug, Clone)]
struct Transfer {
    time: TimeRange,
    sent: u64,
    received: u64,
    flows: FlowSample,
    growth: Growth,
}

/// Detects large outbound transfers.
#[derive(Debug)]
pub struct ExfilDetector {
    config: ExfilConfig,
    network: NetworkConfig,
    transfers: BoundedTable<(IpAddr, IpAddr), Transfer>,
    /// Home hosts seen talking to each outside destination.
    destinations: BoundedTable<IpAddr, CappedSet<IpAddr>>,
}

impl ExfilDetector {
    /// A detector with these settings.
    pub fn new(config: ExfilConfig, network: NetworkConfig) -> Self {
        let window = Duration::from_secs_f64(config.window_secs);
        ExfilDetector {
            transfers: BoundedTable::new(config.capacity, window),
            destinations: BoundedTable::new(
                config.capacity,
                window.max(Duration::from_secs(86_400)),
            ),
            config,
            network,
        }
    }

    /// Entries evicted from the full tables so far.
    pub fn evicted(&self) -> u64 {
        self.transfers.evicted() + self.destinations.evicted()
    }

    /// Median outbound bytes of `host` to its other destinations, among
    /// those still tracked and `also` (entries just taken out).
    fn host_median(
        &self,
        host: IpAddr,
        except: IpAddr,
        also: &[((IpAddr, IpAddr), Transfer)],
    ) -> Option<f64> {
        let tracked = self.transfers.iter().map(|(k, t)| (*k, t.sent));
        let taken = also.iter().map(|(k, t)| (*k, t.sent));
        let mut sent: Vec<u64> = tracked
            .chain(taken)
            .filter(|((h, dst), _)| *h == host && *dst != except)
            .map(|(_, sent)| sent)
            .collect();
        if sent.is_empty() {
            return None;
        }
        sent.sort_unstable();
        sent.get(sent.len() / 2).map(|v| *v as f64)
    }

    fn finding(&self, host: IpAddr, dst: IpAddr, t: &Transfer, median: Option<f64>) -> Finding {
        let sources = self.destinations.get(&dst).map_or(0, |s| s.count());
        let rare = sources <= self.config.rare_max_sources;
        let ratio = ratio(t);
        let shown_ratio = if ratio.is_finite() { ratio } else { f64::MAX };
        let confidence = saturate(t.sent as f64, self.config.min_bytes as f64)
            * saturate(ratio, self.config.min_ratio)
            * if rare { 1.0 } else { 0.7 };
        let mut f = Finding::new(
            "data_exfiltration",
            format!("{host} sent {:.1} MB to {dst}", t.sent as f64 / 1e6),
            FindingCategory::Exfiltration,
            self.network.severity_for(Some(host), Severity::High),
            confidence,
            t.time,
            PRODUCER,
        )
        .with_id(format!("{host}->{dst}"))
        .with_mitre(if t.flows.total() > 1 {
            vec!["T1048", "T1041", "T1030"]
        } else {
            vec!["T1048", "T1041"]
        })
        .with_entity(EntityRole::Source, EntityValue::Host { ip: host })
        .with_entity(EntityRole::Related, EntityValue::Host { ip: dst })
        .with_measurement(
            "bytes_sent",
            t.sent as f64,
            "bytes",
            Comparison::GreaterOrEqual,
            self.config.min_bytes as f64,
        )
        .with_measurement(
            "upload_ratio",
            shown_ratio,
            "",
            Comparison::GreaterOrEqual,
            self.config.min_ratio,
        )
        .with_value("bytes_received", t.received as f64, "bytes")
        .with_value("home_hosts_talking_to_destination", sources as f64, "hosts")
        .with_fact("rare_destination", rare.to_string());
        if let Some(m) = median {
            f = f.with_value("times_host_median", t.sent as f64 / m.max(1.0), "");
        }
        let f = f.with_summary(format!(
            "{host} sent {} bytes and received {} (ratio {ratio:.1}) to {dst} over {} flow(s) in {:.0} s; {} home host(s) talk to {dst}",
            t.sent,
            t.received,
            t.flows.total(),
            t.time.duration().as_secs_f64(),
            sources
        ));
        t.flows.attach(f)
    }

    /// The home side of a flow between home and outside, the outside
    /// address, and the bytes the home side sent and received; `None` for
    /// other flows and allow-listed pairs.
    fn home_side(&self, flow: &FlowRecord) -> Option<(IpAddr, IpAddr, u64, u64)> {
        let client_home = self.network.is_home(flow.client.ip);
        let server_home = self.network.is_home(flow.server.ip);
        let side = match (client_home, server_home) {
            (true, false) => (
                flow.client.ip,
                flow.server.ip,
                flow.to_server.bytes,
                flow.to_client.bytes,
            ),
            (false, true) => (
                flow.server.ip,
                flow.client.ip,
                flow.to_client.bytes,
                flow.to_server.bytes,
            ),
            _ => return None,
        };
        (!self.network.is_allowed(side.0, Some(side.1))).then_some(side)
    }

    /// The transfer of a pair, started at this flow when new.
    fn transfer(&mut self, host: IpAddr, dst: IpAddr, flow: &FlowRecord) -> &mut Transfer {
        self.transfers
            .touch((host, dst), flow.time.end, || Transfer {
                time: flow.time,
                sent: 0,
                received: 0,
                flows: FlowSample::default(),
                growth: Growth::default(),
            })
    }

    fn flush(&mut self, all: bool, now: Timestamp, out: &mut dyn FindingSink) {
        let ended = self.transfers.ended(all, now);
        for ((host, dst), t) in &ended {
            if t.growth.stale(t.sent) {
                let median = self.host_median(*host, *dst, &ended);
                out.finding(self.finding(*host, *dst, t, median));
            }
        }
        if !all {
            self.destinations.expire(now);
        }
    }
}

impl Transfer {
    /// Count a flow's record: its time, and what the home side sent and received.
    fn add(&mut self, flow: &FlowRecord, sent: u64, received: u64) {
        self.time.extend(flow.time.start);
        self.time.extend(flow.time.end);
        self.sent += sent;
        self.received += received;
        self.flows.add_record(flow);
    }
}

fn ratio(t: &Transfer) -> f64 {
    if t.received == 0 {
        return f64::INFINITY;
    }
    t.sent as f64 / t.received as f64
}

impl Analyzer for ExfilDetector {
    fn name(&self) -> &'static str {
        "exfil"
    }

    fn interests(&self) -> Interests {
        Interests {
            flows: true,
            flow_updates: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        crate::table::footprint(&[&self.transfers, &self.destinations])
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        crate::table::share_budget(&mut [&mut self.transfers, &mut self.destinations], bytes);
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        let Some((host, dst, sent, received)) = self.home_side(flow) else {
            return;
        };
        self.destinations
            .touch(dst, flow.time.end, CappedSet::default)
            .insert(host, 64);
        let (min_bytes, min_ratio) = (self.config.min_bytes, self.config.min_ratio);
        let t = self.transfer(host, dst, flow);
        t.add(flow, sent, received);
        let ratio = ratio(t);
        if t.sent >= min_bytes && ratio >= min_ratio && t.growth.due(t.sent) {
            let snapshot = t.clone();
            let median = self.host_median(host, dst, &[]);
            out.finding(self.finding(host, dst, &snapshot, median));
        }
    }

    /// A flow that goes on counts as if it ended now, for the report only:
    /// an upload is reported while it runs, and its end adds it for real.
    fn on_flow_update(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        let Some((host, dst, sent, received)) = self.home_side(flow) else {
            return;
        };
        self.destinations
            .touch(dst, flow.time.end, CappedSet::default)
            .insert(host, 64);
        let (min_bytes, min_ratio) = (self.config.min_bytes, self.config.min_ratio);
        let t = self.transfer(host, dst, flow);
        let mut so_far = t.clone();
        so_far.add(flow, sent, received);
        if so_far.sent >= min_bytes && ratio(&so_far) >= min_ratio && t.growth.due(so_far.sent) {
            let median = self.host_median(host, dst, &[]);
            out.finding(self.finding(host, dst, &so_far, median));
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
    use netsec_model::TcpState;

    fn flow(client: [u8; 4], server: [u8; 4], up: u64, down: u64, t: f64) -> FlowRecord {
        let (c, s) = (
            ep(u32::from_be_bytes(client), 40000),
            ep(u32::from_be_bytes(server), 443),
        );
        crate::fixtures::flow(c, s, (t, 5.0), (up, down), TcpState::Closed)
    }

    #[test]
    fn many_small_uploads_add_up() {
        let mut d = ExfilDetector::new(ExfilConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        for i in 0..40 {
            d.on_flow_end(
                &flow(
                    [10, 0, 0, 5],
                    [198, 51, 100, 9],
                    300_000,
                    2_000,
                    f64::from(i) * 30.0,
                ),
                &mut out,
            );
        }
        d.finish(&mut out);
        assert!(!out.is_empty());
        assert!(out
            .iter()
            .all(|f| f.id == "data_exfiltration:10.0.0.5->198.51.100.9"));
        assert!(out.iter().any(|f| f.mitre.contains(&"T1030".to_string())));
    }

    #[test]
    fn downloads_and_internal_copies_are_not_exfiltration() {
        let mut d = ExfilDetector::new(ExfilConfig::default(), NetworkConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        d.on_flow_end(
            &flow([10, 0, 0, 5], [198, 51, 100, 9], 200_000, 50_000_000, 0.0),
            &mut out,
        );
        d.on_flow_end(
            &flow([10, 0, 0, 5], [10, 0, 0, 6], 50_000_000, 1_000, 0.0),
            &mut out,
        );
        d.finish(&mut out);
        assert!(out.is_empty());
    }
}
