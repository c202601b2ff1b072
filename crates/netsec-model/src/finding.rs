//! Findings: what a detector, auditor or scanner concluded, with the
//! evidence a responder needs to check it.
//!
//! A finding is data, not a log line. Its evidence names the measured
//! numbers and the thresholds they crossed, the flows and packets, and the
//! time range, so that the claim can be verified against the capture.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::flow::{Endpoint, FlowRef};
use crate::packet::MacAddr;
use crate::time::TimeRange;

/// How bad it is if the finding is true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no action needed.
    Info,
    /// Low risk.
    Low,
    /// Should be looked at.
    Medium,
    /// Likely compromise or serious exposure.
    High,
    /// Act now.
    Critical,
}

impl Severity {
    /// All severities, least to most severe.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// ECS `event.severity` number (0–100 scale used by Elastic detection rules).
    pub fn ecs_score(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Low => 21,
            Severity::Medium => 47,
            Severity::High => 73,
            Severity::Critical => 99,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a severity name that is not one of the five.
#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?}: expected info, low, medium, high or critical")]
pub struct SeverityParseError(String);

impl FromStr for Severity {
    type Err = SeverityParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| SeverityParseError(s.to_string()))
    }
}

/// How sure the detector is, in [0, 1]. Construction clamps, so a value
/// outside the range cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Confidence(f64);

impl Confidence {
    /// Clamp `v` into [0, 1]; NaN becomes 0.
    pub fn new(v: f64) -> Self {
        if v.is_nan() {
            Confidence(0.0)
        } else {
            Confidence(v.clamp(0.0, 1.0))
        }
    }
    /// The value.
    pub fn value(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Confidence::new(f64::deserialize(d)?))
    }
}

/// Broad class of a finding, for grouping in summaries and timelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCategory {
    /// Scanning and discovery.
    Reconnaissance,
    /// Floods and resource exhaustion.
    DenialOfService,
    /// ARP, DNS or other spoofing.
    Spoofing,
    /// Command-and-control (beaconing, known C2 patterns).
    CommandAndControl,
    /// Data leaving the network.
    Exfiltration,
    /// Movement between internal hosts.
    LateralMovement,
    /// Protocols carried inside other protocols (DNS, ICMP tunnels).
    Tunneling,
    /// Credential guessing or theft.
    CredentialAccess,
    /// Statistically unusual traffic.
    Anomaly,
    /// A service or workload exposed that should not be.
    Exposure,
    /// Configuration that weakens security (policies, TLS, services).
    Misconfiguration,
    /// Traffic that a stated policy forbids.
    PolicyViolation,
    /// A signature (rule) matched.
    Signature,
}

/// What an entity is to the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityRole {
    /// Source of the behaviour (scanner, beaconing host, spoofer).
    Source,
    /// Target of it (victim, scanned host).
    Target,
    /// Contacted or used (C2 server, resolver, domain).
    Related,
}

/// Something a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntityValue {
    /// A host by address.
    Host {
        /// Address.
        ip: IpAddr,
    },
    /// A service endpoint.
    Service {
        /// Address and port.
        endpoint: Endpoint,
        /// Transport name (`tcp`, `udp`).
        transport: String,
    },
    /// A hardware address.
    Mac {
        /// Address.
        mac: MacAddr,
    },
    /// A domain name.
    Domain {
        /// Name.
        name: String,
    },
    /// A URL.
    Url {
        /// URL.
        url: String,
    },
    /// A certificate, by SHA-256 of its DER encoding (hex).
    Certificate {
        /// Fingerprint.
        sha256: String,
    },
    /// A Kubernetes workload.
    Workload {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Kind (`Deployment`, `Pod`, …).
        kind: String,
    },
    /// A policy object (NetworkPolicy, firewall rule set, …).
    Policy {
        /// Namespace, when namespaced.
        namespace: Option<String>,
        /// Name.
        name: String,
        /// Kind.
        kind: String,
    },
    /// An IP network (CIDR).
    Network {
        /// CIDR text.
        cidr: String,
    },
    /// A user or service account (a Kerberos principal such as `alice` or
    /// `MSSQLSvc/sql.lab.test:1433`, as seen on the wire).
    Account {
        /// Principal name.
        name: String,
        /// Realm or domain, when known.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        realm: Option<String>,
    },
}

/// An entity with its role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entity {
    /// Role in the finding.
    pub role: EntityRole,
    /// What it is.
    #[serde(flatten)]
    pub value: EntityValue,
}

impl Entity {
    /// A host in a role.
    pub fn host(role: EntityRole, ip: IpAddr) -> Self {
        Entity {
            role,
            value: EntityValue::Host { ip },
        }
    }
}

/// How a measurement relates to its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// value > threshold
    #[serde(rename = ">")]
    Greater,
    /// value >= threshold
    #[serde(rename = ">=")]
    GreaterOrEqual,
    /// value < threshold
    #[serde(rename = "<")]
    Less,
    /// value <= threshold
    #[serde(rename = "<=")]
    LessOrEqual,
    /// value == threshold
    #[serde(rename = "==")]
    Equal,
    /// value != threshold
    #[serde(rename = "!=")]
    NotEqual,
}

impl Comparison {
    /// Symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Equal => "==",
            Comparison::NotEqual => "!=",
        }
    }
    /// Whether `value` satisfies the comparison against `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
            Comparison::Equal => value == threshold,
            Comparison::NotEqual => value != threshold,
        }
    }
}

/// One measured number, and the threshold it was compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was measured (`distinct_ports`, `interval_cv`, `entropy_bits_per_char`).
    pub name: String,
    /// The value.
    pub value: f64,
    /// Unit (`ports`, `s`, `bytes`, `bits/char`), empty when dimensionless.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub unit: String,
    /// The threshold, when the measurement was tested against one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub threshold: Option<f64>,
    /// How value and threshold compare for the finding to fire.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comparison: Option<Comparison>,
}

impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.name, trim_float(self.value))?;
        if !self.unit.is_empty() {
            write!(f, " {}", self.unit)?;
        }
        if let (Some(t), Some(c)) = (self.threshold, self.comparison) {
            write!(f, " ({} {})", c.symbol(), trim_float(t))?;
        }
        Ok(())
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// What supports a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Evidence {
    /// One or two sentences a responder can check, with the numbers in them.
    pub summary: String,
    /// The measured numbers and their thresholds.
    pub measurements: Vec<Measurement>,
    /// Flows involved (bounded by the producer; see `flows_total`).
    pub flows: Vec<FlowRef>,
    /// How many flows were involved in all, when more than listed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flows_total: Option<u64>,
    /// Packet numbers in the input (bounded by the producer).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub packets: Vec<u64>,
    /// Free-form key facts (`query_name`, `ja3`, `rule_sid`, …).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub facts: Vec<(String, String)>,
}

/// A conclusion a producer reached, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Identity of the activity this finding describes (`tcp_port_scan:10.0.0.5`):
    /// a producer emits a finding as soon as its evidence crosses a threshold
    /// and re-emits it, with the same id, as the activity grows; sinks keep the
    /// latest version of each id. Empty when the producer set none (then
    /// [`Finding::identity`] derives one from the kind and the entities).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub id: String,
    /// Stable machine name of the kind of finding (`tcp_port_scan`, `dns_tunnel`, `redis_no_auth`).
    pub kind: String,
    /// Human title, one line.
    pub title: String,
    /// Broad class.
    pub category: FindingCategory,
    /// Severity.
    pub severity: Severity,
    /// Confidence in [0, 1].
    pub confidence: Confidence,
    /// MITRE ATT&CK technique ids (`T1046`, `T1071.004`).
    pub mitre: Vec<String>,
    /// Hosts, services, domains, workloads involved.
    pub entities: Vec<Entity>,
    /// When it happened (packet time; scan time for active tools).
    pub time: TimeRange,
    /// The evidence.
    pub evidence: Evidence,
    /// Which producer made it (`netsec-detect/portscan`, `netsec-scan`, `netsec-contain/k8s`).
    pub producer: String,
}

impl Finding {
    /// Start a finding; fill the rest with the builder methods.
    pub fn new(
        kind: impl Into<String>,
        title: impl Into<String>,
        category: FindingCategory,
        severity: Severity,
        confidence: f64,
        time: TimeRange,
        producer: impl Into<String>,
    ) -> Self {
        Finding {
            id: String::new(),
            kind: kind.into(),
            title: title.into(),
            category,
            severity,
            confidence: Confidence::new(confidence),
            mitre: Vec::new(),
            entities: Vec::new(),
            time,
            evidence: Evidence::default(),
            producer: producer.into(),
        }
    }

    /// Name the activity: the id becomes `KIND:key` (for example the
    /// scanner's address for `tcp_port_scan`), so updates of one activity
    /// replace each other in sinks that keep findings.
    pub fn with_id(mut self, key: impl std::fmt::Display) -> Self {
        self.id = format!("{}:{key}", self.kind);
        self
    }

    /// The identity sinks group versions of this finding by: its id, or when
    /// the producer set none, the producer, kind and entities.
    pub fn identity(&self) -> String {
        if !self.id.is_empty() {
            return self.id.clone();
        }
        let mut identity = format!("{}:{}", self.producer, self.kind);
        for e in &self.entities {
            identity.push(':');
            identity.push_str(&serde_json::to_string(&e.value).unwrap_or_default());
        }
        identity
    }

    /// Add MITRE ATT&CK technique ids.
    pub fn with_mitre<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.mitre.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Add an entity.
    pub fn with_entity(mut self, role: EntityRole, value: EntityValue) -> Self {
        self.entities.push(Entity { role, value });
        self
    }

    /// Set the evidence summary.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.evidence.summary = summary.into();
        self
    }

    /// Add a measurement tested against a threshold.
    pub fn with_measurement(
        mut self,
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        comparison: Comparison,
        threshold: f64,
    ) -> Self {
        self.evidence.measurements.push(Measurement {
            name: name.into(),
            value,
            unit: unit.into(),
            threshold: Some(threshold),
            comparison: Some(comparison),
        });
        self
    }

    /// Add a measurement with no threshold (context).
    pub fn with_value(
        mut self,
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
    ) -> Self {
        self.evidence.measurements.push(Measurement {
            name: name.into(),
            value,
            unit: unit.into(),
            threshold: None,
            comparison: None,
        });
        self
    }

    /// Add a flow reference.
    pub fn with_flow(mut self, flow: FlowRef) -> Self {
        self.evidence.flows.push(flow);
        self
    }

    /// Add a key fact.
    pub fn with_fact(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.evidence.facts.push((key.into(), value.into()));
        self
    }

    /// Entities in a role.
    pub fn entities_in(&self, role: EntityRole) -> impl Iterator<Item = &EntityValue> {
        self.entities
            .iter()
            .filter(move |e| e.role == role)
            .map(|e| &e.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert_eq!("HIGH".parse::<Severity>().ok(), Some(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn confidence_is_clamped() {
        assert_eq!(Confidence::new(1.7).value(), 1.0);
        assert_eq!(Confidence::new(-0.2).value(), 0.0);
        assert_eq!(Confidence::new(f64::NAN).value(), 0.0);
        let c: Confidence = serde_json::from_str("3.5").unwrap_or(Confidence::new(0.0));
        assert_eq!(c.value(), 1.0);
    }

    #[test]
    fn finding_serialises_with_evidence() {
        let f = Finding::new(
            "tcp_port_scan",
            "TCP port scan",
            FindingCategory::Reconnaissance,
            Severity::Medium,
            0.9,
            TimeRange::at(Timestamp::from_nanos(0)),
            "test",
        )
        .with_mitre(["T1046"])
        .with_measurement(
            "distinct_ports",
            1000.0,
            "ports",
            Comparison::GreaterOrEqual,
            20.0,
        );
        let json = serde_json::to_value(&f).unwrap_or_default();
        assert_eq!(json["mitre"][0], "T1046");
        assert_eq!(json["evidence"]["measurements"][0]["comparison"], ">=");
        assert_eq!(
            f.evidence.measurements[0].to_string(),
            "distinct_ports = 1000 ports (>= 20)"
        );
    }
}
