//! Active scanning for netsec: nmap-style target and port specifications,
//! a TCP connect scan on tokio (no privileges needed), service
//! identification from banners and protocol probes, nmap-like output, and
//! findings for risky exposures.
//!
//! Point it only at hosts you are allowed to scan; it refuses nothing by
//! itself.
//!
//! # Example
//!
//! Scan a listener this example opens on loopback:
//!
//! ```
//! use netsec_scan::{scan, ScanConfig, PortState};
//!
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let port = listener.local_addr().unwrap().port();
//!     tokio::spawn(async move {
//!         use tokio::io::AsyncWriteExt;
//!         while let Ok((mut s, _)) = listener.accept().await {
//!             let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").await;
//!         }
//!     });
//!     let targets = netsec_scan::targets::expand_target("127.0.0.1").unwrap();
//!     let report = scan(&targets, &[port], &ScanConfig::default()).await;
//!     let r = &report.results[0];
//!     assert_eq!(r.state, PortState::Open);
//!     assert_eq!(r.service.as_ref().unwrap().name, "ssh");
//! });
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod history;
pub mod output;
mod scan;
pub mod service;
pub mod targets;

pub use scan::{scan, PortResult, PortState, ScanConfig, ScanReport};

use netsec_model::{
    EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp,
};

/// Findings for exposures a defender should know about: cleartext logins
/// (Telnet, FTP), databases reachable at all (and Redis without
/// authentication), remote desktop.
pub fn exposure_findings(report: &ScanReport, at: Timestamp) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in report.results.iter().filter(|r| r.state == PortState::Open) {
        let svc = r.service.as_ref();
        let name = svc.map(|s| s.name.as_str()).unwrap_or("");
        let (kind, title, severity, confidence, mitre): (&str, String, Severity, f64, &[&str]) =
            match (name, r.port) {
                ("telnet", _) | (_, 23) => (
                    "telnet_exposed",
                    format!("Telnet open on {}:{}", r.ip, r.port),
                    Severity::High,
                    if name == "telnet" { 1.0 } else { 0.6 },
                    &["T1021", "T1040"],
                ),
                ("ftp", _) => (
                    "ftp_exposed",
                    format!("FTP (cleartext credentials) on {}:{}", r.ip, r.port),
                    Severity::Medium,
                    0.9,
                    &["T1040"],
                ),
                ("redis", _)
                    if svc.and_then(|s| s.info.as_deref())
                        == Some("no authentication required") =>
                {
                    (
                        "redis_no_auth",
                        format!("Redis without authentication on {}:{}", r.ip, r.port),
                        Severity::Critical,
                        1.0,
                        &["T1190", "T1210"],
                    )
                }
                ("mysql" | "postgresql", _) => (
                    "database_exposed",
                    format!("{name} reachable on {}:{}", r.ip, r.port),
                    Severity::Medium,
                    0.9,
                    &["T1190"],
                ),
                (_, 3389) => (
                    "rdp_exposed",
                    format!("RDP port open on {}:{}", r.ip, r.port),
                    Severity::Medium,
                    0.6,
                    &["T1021.001"],
                ),
                _ => continue,
            };
        let mut f = Finding::new(
            kind,
            title.clone(),
            FindingCategory::Exposure,
            severity,
            confidence,
            TimeRange::at(at),
            "netsec-scan",
        )
        .with_mitre(mitre.iter().copied())
        .with_entity(
            EntityRole::Target,
            EntityValue::Service {
                endpoint: netsec_model::Endpoint::new(r.ip, r.port),
                transport: "tcp".into(),
            },
        )
        .with_summary(format!("{title}: TCP connect accepted ({})", r.reason));
        if let Some(s) = svc {
            f = f.with_fact("banner", s.banner.clone());
        }
        out.push(f);
    }
    out
}
