//! Active scanning for netsec: nmap-style target and port specifications,
//! host discovery, a TCP connect scan and a UDP scan on tokio (no
//! privileges needed) with timing profiles, adaptive timeouts and a rate
//! limit, service and version detection from a probe/match table in nmap's
//! file format (TLS certificates included), nmap XML / JSON / CSV output,
//! findings for risky exposures, and a SQLite history with diffs.
//!
//! Point it only at hosts you are allowed to scan; it refuses nothing by
//! itself.
//!
//! # Example
//!
//! Parse targets and ports, then scan a listener this example opens on
//! loopback:
//!
//! ```
//! use netsec_scan::{scan, targets, PortState, ScanConfig};
//!
//! let hosts = targets::expand_targets(&["127.0.0.1".into()], &[]).unwrap();
//! assert_eq!(targets::parse_ports("22,80,8000-8002").unwrap().len(), 5);
//!
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let port = listener.local_addr().unwrap().port();
//!     tokio::spawn(async move {
//!         use tokio::io::AsyncWriteExt;
//!         while let Ok((mut s, _)) = listener.accept().await {
//!             let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n").await;
//!         }
//!     });
//!     let config = ScanConfig { skip_discovery: true, ..ScanConfig::default() };
//!     let report = scan(&hosts, &[port], &[], &config).await;
//!     let r = &report.results[0];
//!     assert_eq!(r.state, PortState::Open);
//!     let service = r.service.as_ref().unwrap();
//!     assert_eq!((service.name.as_str(), service.product.as_deref()), ("ssh", Some("OpenSSH")));
//! });
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod findings;
pub mod history;
pub mod output;
pub mod raw;
mod scan;
pub mod service;
pub mod targets;
mod tcp;
pub mod timing;
mod udp;

pub use findings::exposure_findings;

/// Errors of this crate, with the file or token they concern.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A target or port specification that cannot be understood.
    #[error(transparent)]
    Spec(#[from] targets::SpecError),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A probe file without a usable probe.
    #[error(transparent)]
    ProbeFile(#[from] service::probes::ProbeFileError),
    /// The history database failed.
    #[error(transparent)]
    History(#[from] history::HistoryError),
}
pub use scan::{
    scan, HostSummary, Permutation, PortResult, PortState, Protocol, ScanConfig, ScanProgress,
    ScanReport, StateCounts, TcpScan,
};
