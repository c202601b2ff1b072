//! DNS security for netsec: detectors that read the DNS events netsec-proto
//! decodes and report what the names say.
//!
//! - [`tunnel`]: [`DnsTunnelDetector`], data carried in query names and
//!   answers (iodine, dnscat2, dns2tcp), per client and registered domain.
//! - [`dga`]: [`DgaDetector`], a client resolving bursts of
//!   algorithmically generated names, most of them NXDOMAIN, until one
//!   resolves.
//!
//! Both are [`Analyzer`](netsec_model::Analyzer)s for the detection stage
//! of `netsec analyze`; they read DNS events only, keep bounded state, and
//! name their thresholds in a config struct ([`DnsConfig`] reads both from
//! TOML and builds the pair: `DnsConfig::default().analyzers()`). Registered domains come from
//! the Public Suffix List ([`name::split`]).
//!
//! # Example
//!
//! ```
//! use netsec_dns::dga::{score_label, DgaConfig};
//! use netsec_dns::{DgaDetector, DnsTunnelDetector, TunnelConfig};
//! use netsec_model::Analyzer;
//!
//! // The detectors the pipeline runs.
//! let tunnel = DnsTunnelDetector::new(TunnelConfig::default());
//! let dga = DgaDetector::new(DgaConfig::default());
//! assert_eq!((tunnel.name(), dga.name()), ("dns_tunnel", "dns_dga"));
//!
//! // How algorithmic a registered label looks, in [0, 1].
//! let threshold = DgaConfig::default().min_name_score;
//! assert!(score_label("wikipedia").score < threshold);
//! assert!(score_label("xjwqkzvbtrpq").score >= threshold);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bigram_table;
pub mod config;
pub mod dga;
pub mod intel;
pub mod name;
pub mod passive;
pub mod spoof;
pub mod tunnel;

pub use config::{DnsConfig, DnsConfigError};
pub use dga::{DgaConfig, DgaDetector};
pub use intel::{DnsIntelMatcher, IntelLists};
pub use passive::{DnsReport, PassiveDns};
pub use spoof::{DnsSpoofDetector, SpoofConfig};
pub use tunnel::{DnsTunnelDetector, TunnelConfig};
