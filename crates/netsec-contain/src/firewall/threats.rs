//! What must be blocked: the hostile parties a run's findings name, and the
//! conversations that are the incident (malicious) as opposed to everything
//! else the network did (benign).
//!
//! The findings' categories decide which side is hostile, whichever detector
//! made them:
//!
//! | category | hostile | malicious conversations |
//! |---|---|---|
//! | reconnaissance, denial of service, credential access, lateral movement, spoofing, signature | the finding's `Source` hosts | from a source to the finding's targets (any host when it names none) while the finding lasted; for a reflection attack (no source, a `Related` service), between the victims and that service |
//! | command and control, exfiltration, tunneling | the finding's `Related` hosts and services outside the home networks, its domains | to or from a hostile host, at any time |
//! | misconfiguration, exposure, policy violation, anomaly | nothing: not contained by blocking | — |
//!
//! Every flow a finding lists in its evidence is malicious too. MACs that
//! spoof ARP and domains become their own block items (rendered for targets
//! that can match them).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use netsec_model::{
    Duration, EntityRole, EntityValue, Finding, FindingCategory, MacAddr, Severity, TimeRange,
};
use serde::{Deserialize, Serialize};

use super::conversations::{Conversation, ConversationKey, Conversations};

/// Which findings a plan acts on, and how their conversations are judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreatConfig {
    /// Findings below this severity are not contained.
    pub min_severity: Severity,
    /// Findings below this confidence are not contained.
    pub min_confidence: f64,
    /// Home networks: a home address is never treated as an outside C2
    /// server, and prefixes are never widened across them and the outside.
    pub home: Vec<IpNet>,
    /// Addresses never blocked whatever a finding says (gateways, resolvers,
    /// scanners you run yourself).
    pub never_block: Vec<IpNet>,
    /// Seconds added before and after a finding's time range when deciding
    /// whether a conversation belongs to it.
    pub slack_secs: f64,
}

impl Default for ThreatConfig {
    fn default() -> Self {
        ThreatConfig {
            min_severity: Severity::Medium,
            min_confidence: 0.5,
            home: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            never_block: Vec::new(),
            slack_secs: 5.0,
        }
    }
}

impl ThreatConfig {
    /// Whether `ip` is in a home network.
    pub fn is_home(&self, ip: IpAddr) -> bool {
        self.home.iter().any(|n| n.contains(&ip))
    }

    fn never(&self, ip: IpAddr) -> bool {
        self.never_block.iter().any(|n| n.contains(&ip)) || ip.is_unspecified()
    }
}

/// How a finding's parties are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreatShape {
    /// The source attacks the targets (scans, floods, brute force, lateral movement).
    HostileSource,
    /// An inside host talks to a hostile outside party (C2, exfiltration, tunnels).
    HostileRemote,
}

/// One finding, read for containment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threat {
    /// The finding's identity.
    pub finding: String,
    /// Its kind.
    pub kind: String,
    /// Its severity.
    pub severity: Severity,
    /// Its ATT&CK techniques.
    pub mitre: Vec<String>,
    /// How its parties are read.
    pub shape: ThreatShape,
    /// Addresses to block.
    pub hostile: BTreeSet<IpAddr>,
    /// Hostile services (address, port): an outside C2 service, or a
    /// reflector abused by spoofed requests.
    pub hostile_services: BTreeSet<(IpAddr, u16)>,
    /// The other side: targets (hostile source) or inside hosts (hostile remote).
    pub peers: BTreeSet<IpAddr>,
    /// Domains to block.
    pub domains: BTreeSet<String>,
    /// MACs to block.
    pub macs: BTreeSet<MacAddr>,
    /// When.
    pub time: TimeRange,
    /// Conversations the evidence lists.
    pub evidence: Vec<ConversationKey>,
}

/// A finding not acted on, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedFinding {
    /// The finding's identity.
    pub finding: String,
    /// Why.
    pub reason: String,
}

/// Read the findings: the threats to contain and the findings passed over.
pub fn threats(findings: &[Finding], config: &ThreatConfig) -> (Vec<Threat>, Vec<SkippedFinding>) {
    let mut threats = Vec::new();
    let mut skipped = Vec::new();
    // One version per identity: the most severe, then the latest.
    let mut latest: BTreeMap<String, &Finding> = BTreeMap::new();
    for f in findings {
        latest
            .entry(f.identity())
            .and_modify(|kept| {
                if (f.severity, f.time.end) >= (kept.severity, kept.time.end) {
                    *kept = f;
                }
            })
            .or_insert(f);
    }
    for (identity, f) in latest {
        let skip = |reason: String| SkippedFinding {
            finding: identity.clone(),
            reason,
        };
        if f.severity < config.min_severity {
            skipped.push(skip(format!(
                "severity {} is below {}",
                f.severity, config.min_severity
            )));
            continue;
        }
        if f.confidence.value() < config.min_confidence {
            skipped.push(skip(format!(
                "confidence {:.2} is below {:.2}",
                f.confidence.value(),
                config.min_confidence
            )));
            continue;
        }
        match threat_of(&identity, f, config) {
            Ok(t) => threats.push(t),
            Err(reason) => skipped.push(skip(reason)),
        }
    }
    (threats, skipped)
}

fn shape_of(f: &Finding, config: &ThreatConfig) -> Option<ThreatShape> {
    use FindingCategory as C;
    match f.category {
        C::Reconnaissance
        | C::DenialOfService
        | C::CredentialAccess
        | C::LateralMovement
        | C::Spoofing => Some(ThreatShape::HostileSource),
        C::CommandAndControl | C::Exfiltration | C::Tunneling => Some(ThreatShape::HostileRemote),
        // A rule match: the source attacks, unless an inside source talks
        // to an outside party (then the outside party is the threat).
        C::Signature => {
            let inside_source = f.entities_in(EntityRole::Source).all(|e| match e {
                EntityValue::Host { ip } => config.is_home(*ip),
                _ => true,
            });
            let outside_other = f
                .entities
                .iter()
                .filter(|e| e.role != EntityRole::Source)
                .any(|e| matches!(e.value, EntityValue::Host { ip } if !config.is_home(ip)));
            if inside_source && outside_other {
                Some(ThreatShape::HostileRemote)
            } else {
                Some(ThreatShape::HostileSource)
            }
        }
        C::Misconfiguration | C::Exposure | C::PolicyViolation | C::Anomaly => None,
    }
}

fn threat_of(identity: &str, f: &Finding, config: &ThreatConfig) -> Result<Threat, String> {
    let shape = shape_of(f, config).ok_or_else(|| {
        format!(
            "a {:?} finding describes a weakness, not an attacker: not contained by blocking",
            f.category
        )
    })?;
    let mut threat = Threat {
        finding: identity.to_string(),
        kind: f.kind.clone(),
        severity: f.severity,
        mitre: f.mitre.clone(),
        shape,
        hostile: BTreeSet::new(),
        hostile_services: BTreeSet::new(),
        peers: BTreeSet::new(),
        domains: BTreeSet::new(),
        macs: BTreeSet::new(),
        time: f.time,
        evidence: f
            .evidence
            .flows
            .iter()
            .map(ConversationKey::of_ref)
            .collect(),
    };
    for e in &f.entities {
        match (shape, e.role, &e.value) {
            (_, _, EntityValue::Mac { mac }) if e.role == EntityRole::Source => {
                threat.macs.insert(*mac);
            }
            (ThreatShape::HostileSource, EntityRole::Source, EntityValue::Host { ip }) => {
                threat.hostile.insert(*ip);
            }
            (ThreatShape::HostileSource, _, EntityValue::Host { ip }) => {
                threat.peers.insert(*ip);
            }
            // A reflector abused by spoofed requests (amplification): the
            // conversations between the victim and that service carry the
            // attack.
            (
                ThreatShape::HostileSource,
                EntityRole::Related,
                EntityValue::Service { endpoint, .. },
            ) => {
                threat.hostile_services.insert((endpoint.ip, endpoint.port));
            }
            (ThreatShape::HostileSource, _, EntityValue::Service { endpoint, .. }) => {
                threat.peers.insert(endpoint.ip);
            }
            (ThreatShape::HostileRemote, EntityRole::Source, EntityValue::Host { ip }) => {
                threat.peers.insert(*ip);
            }
            (ThreatShape::HostileRemote, _, EntityValue::Host { ip }) => {
                if config.is_home(*ip) {
                    threat.peers.insert(*ip);
                } else {
                    threat.hostile.insert(*ip);
                }
            }
            (ThreatShape::HostileRemote, _, EntityValue::Service { endpoint, .. })
                if !config.is_home(endpoint.ip) =>
            {
                threat.hostile.insert(endpoint.ip);
                threat.hostile_services.insert((endpoint.ip, endpoint.port));
            }
            (ThreatShape::HostileRemote, _, EntityValue::Domain { name }) => {
                threat
                    .domains
                    .insert(name.trim_end_matches('.').to_ascii_lowercase());
            }
            _ => {}
        }
    }
    let protected: Vec<IpAddr> = threat
        .hostile
        .iter()
        .copied()
        .filter(|ip| config.never(*ip))
        .collect();
    for ip in &protected {
        threat.hostile.remove(ip);
    }
    threat.hostile_services.retain(|(ip, _)| !config.never(*ip));
    // The flows a finding lists and that touch none of its hostile parties
    // (a DNS tunnel's queries to the inside resolver) are contained by
    // domain, when it names one; otherwise they cannot be.
    if threat.hostile.is_empty()
        && threat.hostile_services.is_empty()
        && threat.domains.is_empty()
        && threat.macs.is_empty()
    {
        return Err(if protected.is_empty() {
            "names no host, domain or MAC that could be blocked".to_string()
        } else {
            format!(
                "its hostile hosts are all on the never-block list: {}",
                protected
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    Ok(threat)
}

impl Threat {
    /// Whether `c` is part of this threat.
    pub fn involves(&self, c: &Conversation, slack: Duration) -> bool {
        if self.evidence.contains(&c.key) && self.domains.is_empty() {
            return true;
        }
        match self.shape {
            ThreatShape::HostileSource => {
                let attacker = self.hostile.contains(&c.key.client)
                    && (self.peers.is_empty() || self.peers.contains(&c.key.server));
                let reflected = self.hostile.is_empty()
                    && self.hostile_services.contains(&(c.key.server, c.key.port))
                    && (self.peers.is_empty() || self.peers.contains(&c.key.client));
                (attacker || reflected) && c.overlaps(&self.time, slack)
            }
            ThreatShape::HostileRemote => {
                self.hostile.contains(&c.key.server) || self.hostile.contains(&c.key.client)
            }
        }
    }

    /// Conversations in the evidence that no address rule may be used for:
    /// those that touch no hostile host (a tunnel's queries to the inside
    /// resolver), contained by blocking the domain.
    pub fn domain_only(&self, key: &ConversationKey) -> bool {
        !self.domains.is_empty()
            && self.evidence.contains(key)
            && !self.hostile.contains(&key.client)
            && !self.hostile.contains(&key.server)
    }
}

/// The run's conversations judged against the threats.
#[derive(Debug, Clone, Default)]
pub struct Judgement {
    /// Malicious conversations (address-blockable), with the threats each belongs to.
    pub malicious: BTreeMap<ConversationKey, BTreeSet<usize>>,
    /// Conversations only a domain block contains, with their domains' threats.
    pub by_domain: BTreeMap<ConversationKey, BTreeSet<usize>>,
    /// Everything else.
    pub benign: BTreeSet<ConversationKey>,
}

/// Judge every conversation: malicious for some threat, or benign. The
/// conversations findings list but the table forgot are added first.
pub fn judge(threats: &[Threat], table: &mut Conversations, config: &ThreatConfig) -> Judgement {
    let slack = Duration::from_secs_f64(config.slack_secs.max(0.0));
    for t in threats {
        for key in &t.evidence {
            if table.get(key).is_none() {
                table.add_known(Conversation {
                    key: *key,
                    flows: 1,
                    packets: 0,
                    bytes: 0,
                    time: t.time,
                    community_id: String::new(),
                });
            }
        }
    }
    let mut judgement = Judgement::default();
    for c in table.sorted() {
        let mut mine = BTreeSet::new();
        let mut domain = BTreeSet::new();
        for (i, t) in threats.iter().enumerate() {
            if t.domain_only(&c.key) {
                domain.insert(i);
            } else if t.involves(c, slack) {
                mine.insert(i);
            }
        }
        if !mine.is_empty() {
            judgement.malicious.insert(c.key, mine);
        } else if !domain.is_empty() {
            judgement.by_domain.insert(c.key, domain);
        } else {
            judgement.benign.insert(c.key);
        }
    }
    judgement
}
