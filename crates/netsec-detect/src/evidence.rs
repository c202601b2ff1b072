//! Pieces every detector's evidence shares: a capped sample of flows and the
//! rule for when a growing activity is reported again.

use netsec_model::{Endpoint, Finding, FlowRecord, FlowRef, TimeRange, Timestamp, Transport};
use smallvec::SmallVec;

/// Flows listed in one finding's evidence at most; `flows_total` says how
/// many there were in all.
pub const MAX_EVIDENCE_FLOWS: usize = 10;

/// The first [`MAX_EVIDENCE_FLOWS`] flows of an activity, and how many it had.
#[derive(Debug, Clone, Default)]
pub struct FlowSample {
    /// The first flow inline: most activities tracked (a probed port, a
    /// connection pair) never see a second, and never report.
    flows: SmallVec<[FlowRef; 1]>,
    total: u64,
}

impl FlowSample {
    /// Count a flow, keeping it when there is room.
    pub fn add(&mut self, flow: FlowRef) {
        self.total += 1;
        if self.flows.len() < MAX_EVIDENCE_FLOWS {
            self.flows.push(flow);
        }
    }

    /// Count a flow record. A TCP or UDP flow's Community ID is its
    /// client's and server's address and port, so it is computed again if
    /// the sample goes into a finding rather than copied for every flow
    /// counted (a copy per scan probe was a string allocated and freed).
    pub fn add_record(&mut self, flow: &FlowRecord) {
        self.total += 1;
        if self.flows.len() < MAX_EVIDENCE_FLOWS {
            let mut reference = FlowRef {
                community_id: None,
                flow_id: Some(flow.id),
                client: flow.client,
                server: flow.server,
                transport: flow.transport,
                time: flow.time,
            };
            if !matches!(flow.transport, Transport::Tcp | Transport::Udp) {
                reference.community_id = Some(flow.community_id.clone());
            }
            self.flows.push(reference);
        }
    }

    /// Count a packet-level exchange seen before any flow record: the
    /// reference carries the 5-tuple and the packet's time; the Community ID
    /// the flow table gives the same flow (ICMP: type and code as ports) is
    /// computed only if the sample goes into a finding (most activities never
    /// cross a threshold, and a SHA-1 per probed port was a tenth of the run
    /// on a scan-heavy capture).
    pub fn add_packet(
        &mut self,
        client: Endpoint,
        server: Endpoint,
        transport: Transport,
        ts: Timestamp,
    ) {
        self.total += 1;
        if self.flows.len() >= MAX_EVIDENCE_FLOWS {
            return;
        }
        self.flows.push(FlowRef {
            community_id: None,
            flow_id: None,
            client,
            server,
            transport,
            time: TimeRange::at(ts),
        });
    }

    /// Flows counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Put the sample into a finding's evidence.
    pub fn attach(&self, mut finding: Finding) -> Finding {
        finding.evidence.flows = self.flows.to_vec();
        for f in &mut finding.evidence.flows {
            if f.community_id.is_none() {
                f.community_id = Some(netsec_proto::community_id(
                    0,
                    f.client.ip,
                    f.server.ip,
                    f.transport,
                    f.client.port,
                    f.server.port,
                ));
            }
        }
        if self.total > self.flows.len() as u64 {
            finding.evidence.flows_total = Some(self.total);
        }
        finding
    }
}

/// When to report a growing activity again: at the first crossing of its
/// threshold, then each time its main measure has doubled, so an activity
/// of N units is reported about log2(N) times, never once per packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Growth {
    reported_at: u64,
}

impl Growth {
    /// Whether `value` (already over the threshold) calls for a new report;
    /// records it when so.
    pub fn due(&mut self, value: u64) -> bool {
        if self.reported_at == 0 || value >= self.reported_at.saturating_mul(2) {
            self.reported_at = value.max(1);
            return true;
        }
        false
    }

    /// Whether the activity was ever reported.
    pub fn reported(&self) -> bool {
        self.reported_at > 0
    }

    /// Whether `value` differs from the last report (for a final update at
    /// expiry or end of input).
    pub fn stale(&self, value: u64) -> bool {
        self.reported_at > 0 && value != self.reported_at
    }

    /// Whether a reported activity changed since (its final report is due);
    /// records `value` when so.
    pub fn settle(&mut self, value: u64) -> bool {
        if self.stale(value) {
            self.mark(value);
            return true;
        }
        false
    }

    /// Record a final report of `value`.
    pub fn mark(&mut self, value: u64) {
        self.reported_at = value.max(1);
    }
}

/// `1 − e^(−x / scale)`: 0.63 at `x = scale`, 0.95 at three times it. The
/// saturating curve the confidence formulas use for "how far past the
/// threshold".
pub fn saturate(x: f64, scale: f64) -> f64 {
    if scale <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    1.0 - (-x / scale).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_reports_on_doubling() {
        let mut g = Growth::default();
        let reports: Vec<u64> = (20..=200).filter(|v| g.due(*v)).collect();
        assert_eq!(reports, vec![20, 40, 80, 160]);
        assert!(g.stale(200));
        g.mark(200);
        assert!(!g.stale(200));
    }

    #[test]
    fn saturate_is_bounded() {
        assert!((saturate(1.0, 1.0) - 0.632).abs() < 0.001);
        assert!(saturate(1e9, 1.0) <= 1.0);
        assert_eq!(saturate(1.0, 0.0), 0.0);
        assert_eq!(saturate(f64::NAN, 1.0), 0.0);
    }
}
