//! An indicator and its context: when it was seen, by which internal hosts,
//! how many bytes, which findings name it, how sure they are, the
//! kill-chain phases and tags.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use netsec_detect::timeline::KillChainPhase;
use netsec_model::{Timestamp, Transport};
use serde::Serialize;

/// What an indicator's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndicatorKind {
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A domain name (DNS query, TLS server name, HTTP Host).
    Domain,
    /// A URL of an HTTP request.
    Url,
    /// An HTTP `User-Agent`.
    UserAgent,
    /// A JA3 (or JA3S) hash.
    Ja3,
    /// A JA4 (or JA4S) fingerprint.
    Ja4,
    /// SHA-256 of a certificate's DER encoding.
    CertificateSha256,
    /// SHA-1 of a certificate's DER encoding.
    CertificateSha1,
    /// SHA-256 of a file.
    FileSha256,
    /// MD5 of a file.
    FileMd5,
}

impl IndicatorKind {
    /// Every kind, in export order.
    pub const ALL: [IndicatorKind; 11] = [
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Domain,
        IndicatorKind::Url,
        IndicatorKind::UserAgent,
        IndicatorKind::Ja3,
        IndicatorKind::Ja4,
        IndicatorKind::CertificateSha256,
        IndicatorKind::CertificateSha1,
        IndicatorKind::FileSha256,
        IndicatorKind::FileMd5,
    ];

    /// Short name (`ipv4`, `user-agent`), as in CSV and JSON.
    pub fn name(self) -> &'static str {
        match self {
            IndicatorKind::Ipv4 => "ipv4",
            IndicatorKind::Ipv6 => "ipv6",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::UserAgent => "user-agent",
            IndicatorKind::Ja3 => "ja3",
            IndicatorKind::Ja4 => "ja4",
            IndicatorKind::CertificateSha256 => "certificate-sha256",
            IndicatorKind::CertificateSha1 => "certificate-sha1",
            IndicatorKind::FileSha256 => "file-sha256",
            IndicatorKind::FileMd5 => "file-md5",
        }
    }

    /// The kind of an address.
    pub fn of_ip(ip: IpAddr) -> IndicatorKind {
        if ip.is_ipv4() {
            IndicatorKind::Ipv4
        } else {
            IndicatorKind::Ipv6
        }
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One connection that carried an indicator, as an example for exports
/// (STIX `network-traffic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConnectionSample {
    /// Originator.
    pub client: IpAddr,
    /// Originator's port.
    pub client_port: u16,
    /// Responder.
    pub server: IpAddr,
    /// Responder's port.
    pub port: u16,
    /// Transport.
    pub transport: Transport,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
}

/// What a certificate says, for certificate indicators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial, hex bytes joined by `:`.
    pub serial: String,
    /// Start of validity.
    pub not_before: Option<Timestamp>,
    /// End of validity.
    pub not_after: Option<Timestamp>,
}

/// What is known of a file, for file-hash indicators: from the HTTP
/// transfer that carried it (the first one seen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// Last path segment of the request's URI, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Size in bytes (as transferred: still content-encoded).
    pub size: u64,
    /// `Content-Type` of the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// URL it was downloaded from or uploaded to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `download` (in a response) or `upload` (in a request).
    pub transfer: &'static str,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// MD5, lower-case hex.
    pub md5: String,
}

/// An indicator with its context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// What the value is.
    pub kind: IndicatorKind,
    /// The value (lower-case for names and hashes; URLs as requested).
    pub value: String,
    /// First time seen (packet time).
    pub first_seen: Timestamp,
    /// Last time seen.
    pub last_seen: Timestamp,
    /// Times seen (flows, events, findings).
    pub sightings: u64,
    /// Internal hosts that talked to it (at most the configured number).
    pub internal_hosts: BTreeSet<IpAddr>,
    /// Internal hosts past that number.
    pub internal_hosts_dropped: u64,
    /// Bytes on the wire of the flows it was seen in.
    pub bytes: u64,
    /// Identities of the findings that name it or point to it.
    pub finding_ids: BTreeSet<String>,
    /// The highest confidence of those findings (none when no finding).
    pub confidence: Option<f64>,
    /// Kill-chain phases of those findings.
    pub kill_chain_phases: BTreeSet<KillChainPhase>,
    /// ATT&CK technique ids of those findings.
    pub mitre: BTreeSet<String>,
    /// Tags: finding kinds, where it was seen (`dns-query`, `tls-sni`,
    /// `http-host`, `flow`), `named-by-finding`.
    pub tags: BTreeSet<String>,
    /// Keys (`kind:value`) of indicators seen with it: the address a name
    /// resolved to, the name a URL is on.
    pub related: BTreeSet<String>,
    /// Outside servers it was seen with (names, URLs, user agents and
    /// fingerprints point to their findings through them); for file hashes
    /// internal servers too, so that a finding on the server that sent or
    /// received a file points to the file.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub servers: BTreeSet<IpAddr>,
    /// An example connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSample>,
    /// For certificate indicators, what the certificate says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateSummary>,
    /// For file-hash indicators, the file and where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileSummary>,
    /// A finding names it as an indicator (so it is exported even when
    /// internal or allow-listed).
    pub named_by_finding: bool,
}

impl Indicator {
    /// A new indicator seen once at `ts`.
    pub fn new(kind: IndicatorKind, value: impl Into<String>, ts: Timestamp) -> Self {
        Indicator {
            kind,
            value: value.into(),
            first_seen: ts,
            last_seen: ts,
            sightings: 0,
            internal_hosts: BTreeSet::new(),
            internal_hosts_dropped: 0,
            bytes: 0,
            finding_ids: BTreeSet::new(),
            confidence: None,
            kill_chain_phases: BTreeSet::new(),
            mitre: BTreeSet::new(),
            tags: BTreeSet::new(),
            related: BTreeSet::new(),
            servers: BTreeSet::new(),
            connection: None,
            certificate: None,
            file: None,
            named_by_finding: false,
        }
    }

    /// `kind:value`, the key indicators are joined by.
    pub fn key(&self) -> String {
        key(self.kind, &self.value)
    }

    /// Widen first/last seen to include `ts`.
    pub fn seen_at(&mut self, ts: Timestamp) {
        self.first_seen = self.first_seen.min(ts);
        self.last_seen = self.last_seen.max(ts);
    }
}

/// `kind:value`.
pub fn key(kind: IndicatorKind, value: &str) -> String {
    format!("{}:{value}", kind.name())
}

/// The indicators of a run, in a fixed order (kind, then value), and what
/// the collector dropped.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IndicatorSet {
    /// Who made it (`netsec 0.1.0`).
    pub producer: String,
    /// Earliest and latest time of the run's traffic and findings.
    pub first_seen: Option<Timestamp>,
    /// Latest.
    pub last_seen: Option<Timestamp>,
    /// The indicators.
    pub indicators: Vec<Indicator>,
    /// Indicators dropped when the collector was full, and flows whose bytes
    /// could not be credited (more flows open at once than it tracks).
    pub evicted: u64,
}

impl IndicatorSet {
    /// The run's start, or the epoch when nothing was seen.
    pub fn start(&self) -> Timestamp {
        self.first_seen.unwrap_or(Timestamp::ZERO)
    }

    /// The run's end (at least its start).
    pub fn end(&self) -> Timestamp {
        self.last_seen.unwrap_or(Timestamp::ZERO).max(self.start())
    }

    /// The indicator with this key.
    pub fn get(&self, kind: IndicatorKind, value: &str) -> Option<&Indicator> {
        self.indicators
            .iter()
            .find(|i| i.kind == kind && i.value == value)
    }

    /// Pretty JSON of the whole set.
    pub fn to_json(&self) -> Result<String, crate::IocError> {
        serde_json::to_string_pretty(self).map_err(|e| crate::IocError::Write {
            what: "JSON",
            reason: e.to_string(),
        })
    }
}
