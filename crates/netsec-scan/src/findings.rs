//! Findings (netsec-model) for exposures a defender should act on:
//! cleartext logins (Telnet, FTP), SMBv1, databases and caches reachable
//! without authentication, remote desktop, SNMP with the `public`
//! community, MQTT without authentication, and expired or weak TLS
//! certificates on open ports.

use netsec_model::{
    Endpoint, EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp,
};

use crate::scan::{PortResult, PortState, ScanReport};

struct Exposure {
    kind: &'static str,
    title: String,
    category: FindingCategory,
    severity: Severity,
    confidence: f64,
    mitre: &'static [&'static str],
    why: String,
}

fn info_says(r: &PortResult, text: &str) -> bool {
    r.service
        .as_ref()
        .and_then(|s| s.info.as_deref())
        .is_some_and(|i| i.contains(text))
}

/// The exposures of one open port (several can apply: a TLS port with an
/// expired certificate serving FTP).
fn exposures(r: &PortResult, now_unix: i64) -> Vec<Exposure> {
    let mut out = Vec::new();
    let svc = r.service.as_ref();
    let name = svc.map_or("", |s| s.name.as_str());
    let probed = svc.is_some_and(|s| s.method == "probed");
    let conf = |c: f64| if probed { c } else { c * 0.6 };
    let at = format!("{}:{}/{}", r.ip, r.port, r.protocol);
    let banner = svc.map(|s| s.banner.clone()).unwrap_or_default();
    if name == "telnet" {
        out.push(Exposure {
            kind: "telnet_exposed",
            title: format!("Telnet open on {at}"),
            category: FindingCategory::Exposure,
            severity: Severity::High,
            confidence: conf(1.0),
            mitre: &["T1021", "T1040"],
            why: "Telnet sends logins and sessions in cleartext".into(),
        });
    }
    if name == "ftp" && svc.is_some_and(|s| s.tunnel.is_none()) {
        out.push(Exposure {
            kind: "ftp_exposed",
            title: format!("FTP with cleartext logins on {at}"),
            category: FindingCategory::Exposure,
            severity: Severity::Medium,
            confidence: conf(0.9),
            mitre: &["T1040"],
            why: format!("FTP greeting {banner:?}: credentials cross the network unencrypted"),
        });
    }
    if info_says(r, "SMBv1 enabled") {
        out.push(Exposure {
            kind: "smbv1_enabled",
            title: format!("SMBv1 accepted on {at}"),
            category: FindingCategory::Misconfiguration,
            severity: Severity::High,
            confidence: 1.0,
            mitre: &["T1210"],
            why: "the server accepted an SMB1 NEGOTIATE offering only NT LM 0.12 (SMBv1 is deprecated; EternalBlue/WannaCry class)".into(),
        });
    }
    if name == "redis" && info_says(r, "no authentication required") {
        out.push(Exposure {
            kind: "redis_no_auth",
            title: format!("Redis without authentication on {at}"),
            category: FindingCategory::Exposure,
            severity: Severity::Critical,
            confidence: 1.0,
            mitre: &["T1190", "T1210"],
            why: "PING answered +PONG and INFO answered without AUTH".into(),
        });
    } else if matches!(
        name,
        "mysql"
            | "postgresql"
            | "redis"
            | "mongod"
            | "mongodb"
            | "ms-sql-s"
            | "oracle"
            | "memcache"
            | "elasticsearch"
    ) {
        out.push(Exposure {
            kind: "database_exposed",
            title: format!("{name} reachable on {at}"),
            category: FindingCategory::Exposure,
            severity: Severity::Medium,
            confidence: conf(0.9),
            mitre: &["T1190"],
            why: format!("the {name} protocol answered from the network; databases belong behind an application tier"),
        });
    }
    if name == "mqtt" && info_says(r, "no authentication required") {
        out.push(Exposure {
            kind: "mqtt_no_auth",
            title: format!("MQTT broker accepts anonymous clients on {at}"),
            category: FindingCategory::Exposure,
            severity: Severity::High,
            confidence: 1.0,
            mitre: &["T1190"],
            why: "CONNECT without credentials got CONNACK return code 0".into(),
        });
    }
    if name == "ms-wbt-server" || (svc.is_none() && r.port == 3389) {
        out.push(Exposure {
            kind: "rdp_exposed",
            title: format!("RDP open on {at}"),
            category: FindingCategory::Exposure,
            severity: Severity::Medium,
            confidence: conf(0.9),
            mitre: &["T1021.001"],
            why: "remote desktop reachable: a brute-force and exploit target".into(),
        });
    }
    if name == "snmp" && info_says(r, "community public") {
        out.push(Exposure {
            kind: "snmp_public",
            title: format!("SNMP answers community \"public\" on {at}"),
            category: FindingCategory::Misconfiguration,
            severity: Severity::High,
            confidence: 1.0,
            mitre: &["T1602.001"],
            why: "an SNMPv1 GetRequest for sysDescr.0 with community public was answered".into(),
        });
    }
    if let Some(t) = svc.and_then(|s| s.tls.as_ref()) {
        if t.expired_at(now_unix) {
            out.push(Exposure {
                kind: "tls_certificate_expired",
                title: format!("Expired TLS certificate on {at}"),
                category: FindingCategory::Misconfiguration,
                severity: Severity::Medium,
                confidence: 1.0,
                mitre: &["T1557"],
                why: format!(
                    "certificate {:?} not valid after Unix time {} (now {now_unix})",
                    t.subject, t.not_after
                ),
            });
        }
        let weak = t.weaknesses();
        if !weak.is_empty() {
            out.push(Exposure {
                kind: "tls_weak_certificate",
                title: format!("Weak TLS certificate on {at}"),
                category: FindingCategory::Misconfiguration,
                severity: Severity::Medium,
                confidence: 1.0,
                mitre: &["T1557"],
                why: format!("certificate {:?}: {}", t.subject, weak.join(", ")),
            });
        }
    }
    out
}

/// Findings for the open ports of a scan, at time `at`.
pub fn exposure_findings(report: &ScanReport, at: Timestamp) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in report.results.iter().filter(|r| r.state == PortState::Open) {
        for e in exposures(r, at.secs()) {
            let mut f = Finding::new(
                e.kind,
                e.title.clone(),
                e.category,
                e.severity,
                e.confidence,
                TimeRange::at(at),
                "netsec-scan",
            )
            .with_mitre(e.mitre.iter().copied())
            .with_entity(EntityRole::Target, EntityValue::Host { ip: r.ip })
            .with_entity(
                EntityRole::Target,
                EntityValue::Service {
                    endpoint: Endpoint::new(r.ip, r.port),
                    transport: r.protocol.to_string(),
                },
            )
            .with_summary(format!("{}: {}", e.title, e.why))
            .with_fact("reason", r.reason.clone());
            if let Some(s) = &r.service {
                f = f
                    .with_fact("service", s.display_name())
                    .with_fact("banner", s.banner.clone());
                if let Some(t) = &s.tls {
                    f = f.with_entity(
                        EntityRole::Related,
                        EntityValue::Certificate {
                            sha256: t.fingerprint_sha256.clone(),
                        },
                    );
                }
            }
            out.push(f);
        }
    }
    out
}
