//! Indicators of compromise from a netsec run, and exports for the tools
//! responders share them with.
//!
//! [`IocCollector`] is an [`Analyzer`](netsec_model::Analyzer) that reads
//! application events and flow records — outside addresses, DNS names, TLS
//! server names, HTTP hosts, URLs and user agents, JA3/JA4 hashes,
//! certificate fingerprints, SHA-256 and MD5 of files carried over HTTP
//! (complete bodies only, as netsec-proto hashes them) — and takes findings from any producer
//! ([`IocCollector::add_finding`], or [`read_findings`] for a saved
//! `findings.jsonl`). Each indicator keeps its context: first and last
//! seen, internal hosts that talked to it, bytes, the findings naming it (or
//! the server it was seen with), their confidence, kill-chain phases and
//! ATT&CK ids, tags. Internal addresses, well-known infrastructure and
//! allow-listed names ([`IocConfig`]) are left out unless a finding makes
//! them an indicator (an internal scanner, a C2 server).
//!
//! Exports: [`to_stix`] (STIX 2.1 bundle, deterministic ids and
//! timestamps), [`to_csv`], [`to_misp`] (MISP event), and JSON
//! ([`IndicatorSet::to_json`]); [`html_report`] writes the timeline and the
//! indicators as one self-contained HTML page.
//!
//! # Example
//!
//! ```
//! use netsec_ioc::{to_csv, to_stix, IndicatorKind, IocCollector, IocConfig, StixOptions};
//! use netsec_model::{EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp};
//!
//! let scan = Finding::new("tcp_port_scan", "TCP port scan", FindingCategory::Reconnaissance,
//!         Severity::Medium, 0.9, TimeRange::at(Timestamp::from_secs_nanos(1_700_000_000, 0)), "any")
//!     .with_mitre(["T1046"])
//!     .with_entity(EntityRole::Source, EntityValue::Host { ip: "203.0.113.66".parse().unwrap() })
//!     .with_entity(EntityRole::Target, EntityValue::Host { ip: "10.0.0.10".parse().unwrap() });
//! let mut collector = IocCollector::new(IocConfig::default());
//! collector.add_finding(&scan);
//! let set = collector.indicators();
//! // the scanner is an indicator, its internal target is not
//! assert_eq!(set.indicators.len(), 1);
//! let scanner = set.get(IndicatorKind::Ipv4, "203.0.113.66").unwrap();
//! assert_eq!(scanner.confidence, Some(0.9));
//! assert!(to_csv(&set).lines().nth(1).unwrap().starts_with("ipv4,203.0.113.66,"));
//! let bundle = to_stix(&set, &StixOptions::default());
//! assert_eq!(bundle["type"], "bundle");
//! assert!(bundle["objects"].as_array().unwrap().iter()
//!     .any(|o| o["pattern"] == "[ipv4-addr:value = '203.0.113.66']"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod collector;
mod config;
mod csv;
mod error;
mod indicator;
mod misp;
mod report;
mod saved;
mod stix;
mod uuid5;

pub use collector::IocCollector;
pub use config::{
    IocConfig, DEFAULT_ALLOWED_DOMAINS, DEFAULT_INFRASTRUCTURE, DEFAULT_INTERNAL_DOMAINS,
};
pub use csv::{to_csv, CSV_COLUMNS};
pub use error::IocError;
pub use indicator::{
    CertificateSummary, ConnectionSample, FileSummary, Indicator, IndicatorKind, IndicatorSet,
};
pub use misp::to_misp;
pub use netsec_model::SharedAnalyzer;
pub use report::html_report;
pub use saved::{parse_finding, read_findings};
pub use stix::{pattern, stix_time, to_stix, to_stix_json, StixOptions};
pub use uuid5::uuid_v5;
