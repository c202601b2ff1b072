//! Kill-chain phases: the MITRE ATT&CK tactic a finding belongs to, from its
//! technique ids first and its [`FindingCategory`] when no id is known.
//!
//! Phase names are ATT&CK's tactic short names (`credential-access`), the
//! `phase_name` STIX 2.1 expects under `kill_chain_name = "mitre-attack"`.

use std::fmt;

use netsec_model::{Finding, FindingCategory};
use serde::{Deserialize, Serialize};

/// An ATT&CK tactic, in the order ATT&CK's enterprise matrix lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KillChainPhase {
    /// TA0043: gathering information from outside (scans of a network).
    Reconnaissance,
    /// TA0001: getting in (a valid login after guessing).
    InitialAccess,
    /// TA0006: stealing or guessing credentials.
    CredentialAccess,
    /// TA0007: learning the network from inside.
    Discovery,
    /// TA0008: moving between internal hosts.
    LateralMovement,
    /// TA0011: talking to a controller.
    CommandAndControl,
    /// TA0010: taking data out.
    Exfiltration,
    /// TA0040: disrupting (floods).
    Impact,
}

impl KillChainPhase {
    /// Every phase, in matrix order.
    pub const ALL: [KillChainPhase; 8] = [
        KillChainPhase::Reconnaissance,
        KillChainPhase::InitialAccess,
        KillChainPhase::CredentialAccess,
        KillChainPhase::Discovery,
        KillChainPhase::LateralMovement,
        KillChainPhase::CommandAndControl,
        KillChainPhase::Exfiltration,
        KillChainPhase::Impact,
    ];

    /// ATT&CK tactic short name (`command-and-control`).
    pub fn name(self) -> &'static str {
        match self {
            KillChainPhase::Reconnaissance => "reconnaissance",
            KillChainPhase::InitialAccess => "initial-access",
            KillChainPhase::CredentialAccess => "credential-access",
            KillChainPhase::Discovery => "discovery",
            KillChainPhase::LateralMovement => "lateral-movement",
            KillChainPhase::CommandAndControl => "command-and-control",
            KillChainPhase::Exfiltration => "exfiltration",
            KillChainPhase::Impact => "impact",
        }
    }

    /// The phase of an ATT&CK technique id (`T1110.001` → credential access),
    /// for the techniques netsec's producers report.
    pub fn of_technique(id: &str) -> Option<KillChainPhase> {
        technique(id).map(|t| t.phase)
    }

    /// The phase of a finding: the earliest tactic its technique ids cover
    /// (a scan from outside, T1046 and T1595, is reconnaissance), else the
    /// category's usual tactic (`None` for audits and anomalies).
    pub fn of_finding(finding: &Finding) -> Option<KillChainPhase> {
        finding
            .mitre
            .iter()
            .filter_map(|id| KillChainPhase::of_technique(id))
            .min()
            .or_else(|| KillChainPhase::of_category(finding.category))
    }

    /// The tactic a category of finding usually belongs to.
    pub fn of_category(category: FindingCategory) -> Option<KillChainPhase> {
        match category {
            FindingCategory::Reconnaissance => Some(KillChainPhase::Reconnaissance),
            FindingCategory::DenialOfService => Some(KillChainPhase::Impact),
            FindingCategory::Spoofing | FindingCategory::CredentialAccess => {
                Some(KillChainPhase::CredentialAccess)
            }
            FindingCategory::CommandAndControl | FindingCategory::Tunneling => {
                Some(KillChainPhase::CommandAndControl)
            }
            FindingCategory::Exfiltration => Some(KillChainPhase::Exfiltration),
            FindingCategory::LateralMovement => Some(KillChainPhase::LateralMovement),
            FindingCategory::Anomaly
            | FindingCategory::Exposure
            | FindingCategory::Misconfiguration
            | FindingCategory::PolicyViolation
            | FindingCategory::Signature => None,
        }
    }
}

/// Every phase a finding covers: its own ([`KillChainPhase::of_finding`]),
/// and initial access when it reports a login that worked after guessing.
pub fn phases_of_finding(finding: &Finding) -> Vec<KillChainPhase> {
    let mut phases: Vec<KillChainPhase> = KillChainPhase::of_finding(finding).into_iter().collect();
    if is_successful_login(finding) && !phases.contains(&KillChainPhase::InitialAccess) {
        phases.push(KillChainPhase::InitialAccess);
    }
    phases
}

impl fmt::Display for KillChainPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a finding says a login succeeded: a brute force followed by a
/// session that lasted (`possible_success = true`, netsec-detect's
/// `bruteforce`), or any finding with ATT&CK T1078 Valid Accounts.
pub fn is_successful_login(finding: &Finding) -> bool {
    finding
        .evidence
        .facts
        .iter()
        .any(|(k, v)| k == "possible_success" && v == "true")
        || finding.mitre.iter().any(|m| m.starts_with("T1078"))
}

/// An ATT&CK technique netsec's producers report: its name and tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    /// Id (`T1110.001`).
    pub id: &'static str,
    /// ATT&CK's name of it.
    pub name: &'static str,
    /// The tactic netsec reports it under (the first of ATT&CK's when several).
    pub phase: KillChainPhase,
}

/// Names and tactics from ATT&CK Enterprise v15 (attack.mitre.org), for the
/// ids netsec-detect, netsec-dns and netsec-tls emit.
const TECHNIQUES: &[Technique] = &[
    t(
        "T1018",
        "Remote System Discovery",
        KillChainPhase::Discovery,
    ),
    t("T1021", "Remote Services", KillChainPhase::LateralMovement),
    t(
        "T1021.001",
        "Remote Desktop Protocol",
        KillChainPhase::LateralMovement,
    ),
    t(
        "T1021.002",
        "SMB/Windows Admin Shares",
        KillChainPhase::LateralMovement,
    ),
    t(
        "T1021.003",
        "Distributed Component Object Model",
        KillChainPhase::LateralMovement,
    ),
    t("T1021.004", "SSH", KillChainPhase::LateralMovement),
    t(
        "T1021.006",
        "Windows Remote Management",
        KillChainPhase::LateralMovement,
    ),
    t(
        "T1030",
        "Data Transfer Size Limits",
        KillChainPhase::Exfiltration,
    ),
    t(
        "T1040",
        "Network Sniffing",
        KillChainPhase::CredentialAccess,
    ),
    t(
        "T1041",
        "Exfiltration Over C2 Channel",
        KillChainPhase::Exfiltration,
    ),
    t(
        "T1046",
        "Network Service Discovery",
        KillChainPhase::Discovery,
    ),
    t(
        "T1048",
        "Exfiltration Over Alternative Protocol",
        KillChainPhase::Exfiltration,
    ),
    t(
        "T1048.003",
        "Exfiltration Over Unencrypted Non-C2 Protocol",
        KillChainPhase::Exfiltration,
    ),
    t(
        "T1071",
        "Application Layer Protocol",
        KillChainPhase::CommandAndControl,
    ),
    t(
        "T1071.001",
        "Web Protocols",
        KillChainPhase::CommandAndControl,
    ),
    t("T1071.004", "DNS", KillChainPhase::CommandAndControl),
    t("T1078", "Valid Accounts", KillChainPhase::InitialAccess),
    t(
        "T1095",
        "Non-Application Layer Protocol",
        KillChainPhase::CommandAndControl,
    ),
    t("T1110", "Brute Force", KillChainPhase::CredentialAccess),
    t(
        "T1110.001",
        "Password Guessing",
        KillChainPhase::CredentialAccess,
    ),
    t(
        "T1110.003",
        "Password Spraying",
        KillChainPhase::CredentialAccess,
    ),
    t("T1498", "Network Denial of Service", KillChainPhase::Impact),
    t(
        "T1498.002",
        "Reflection Amplification",
        KillChainPhase::Impact,
    ),
    t(
        "T1499",
        "Endpoint Denial of Service",
        KillChainPhase::Impact,
    ),
    t(
        "T1557",
        "Adversary-in-the-Middle",
        KillChainPhase::CredentialAccess,
    ),
    t(
        "T1557.002",
        "ARP Cache Poisoning",
        KillChainPhase::CredentialAccess,
    ),
    t(
        "T1568.002",
        "Domain Generation Algorithms",
        KillChainPhase::CommandAndControl,
    ),
    t(
        "T1571",
        "Non-Standard Port",
        KillChainPhase::CommandAndControl,
    ),
    t(
        "T1572",
        "Protocol Tunneling",
        KillChainPhase::CommandAndControl,
    ),
    t(
        "T1573",
        "Encrypted Channel",
        KillChainPhase::CommandAndControl,
    ),
    t(
        "T1573.002",
        "Asymmetric Cryptography",
        KillChainPhase::CommandAndControl,
    ),
    t("T1595", "Active Scanning", KillChainPhase::Reconnaissance),
];

const fn t(id: &'static str, name: &'static str, phase: KillChainPhase) -> Technique {
    Technique { id, name, phase }
}

/// The technique of an id, when netsec knows it; a sub-technique it does not
/// know falls back to its parent (`T1110.004` → Brute Force).
pub fn technique(id: &str) -> Option<Technique> {
    let id = id.trim();
    TECHNIQUES
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(id))
        .or_else(|| {
            let parent = id.split_once('.')?.0;
            TECHNIQUES
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(parent))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{Severity, TimeRange, Timestamp};

    fn finding(category: FindingCategory, mitre: &[&str]) -> Finding {
        Finding::new(
            "k",
            "t",
            category,
            Severity::Medium,
            0.5,
            TimeRange::at(Timestamp::ZERO),
            "test",
        )
        .with_mitre(mitre.iter().copied())
    }

    #[test]
    fn techniques_decide_before_categories() {
        let scan = finding(FindingCategory::Reconnaissance, &["T1046"]);
        assert_eq!(
            KillChainPhase::of_finding(&scan),
            Some(KillChainPhase::Discovery)
        );
        let from_outside = finding(FindingCategory::Reconnaissance, &["T1046", "T1595"]);
        assert_eq!(
            KillChainPhase::of_finding(&from_outside),
            Some(KillChainPhase::Reconnaissance)
        );
        let sweep = finding(FindingCategory::Reconnaissance, &[]);
        assert_eq!(
            KillChainPhase::of_finding(&sweep),
            Some(KillChainPhase::Reconnaissance)
        );
        let unknown_sub = finding(FindingCategory::Anomaly, &["T1110.004"]);
        assert_eq!(
            KillChainPhase::of_finding(&unknown_sub),
            Some(KillChainPhase::CredentialAccess)
        );
        assert_eq!(
            KillChainPhase::of_finding(&finding(FindingCategory::Misconfiguration, &[])),
            None
        );
    }

    #[test]
    fn a_brute_force_that_logged_in_is_initial_access() {
        let brute = finding(FindingCategory::CredentialAccess, &["T1110"])
            .with_fact("possible_success", "true");
        assert_eq!(
            KillChainPhase::of_finding(&brute),
            Some(KillChainPhase::CredentialAccess)
        );
        assert_eq!(
            phases_of_finding(&brute),
            [
                KillChainPhase::CredentialAccess,
                KillChainPhase::InitialAccess
            ]
        );
        assert_eq!(KillChainPhase::InitialAccess.name(), "initial-access");
    }
}
