//! Scan history in SQLite (rusqlite with its bundled SQLite: no system
//! library): every scan is saved, listed, and compared with another.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::scan::{PortState, ScanReport};

/// Errors of the history database.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite failed.
    #[error("scan history {path}: {source}")]
    Db {
        /// Database file.
        path: String,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A scan id that is not in the database.
    #[error("scan history: no scan with id {0}")]
    NoSuchScan(i64),
    /// Fewer than two scans to compare.
    #[error("scan history: need two scans to compare, found {0}")]
    NotEnoughScans(usize),
}

/// The default database: `$XDG_DATA_HOME/netsec/scans.db`, else `~/.local/share/netsec/scans.db`.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("netsec").join("scans.db")
}

/// One saved scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanSummary {
    /// Id.
    pub id: i64,
    /// When it ran (RFC 3339, UTC).
    pub started: String,
    /// Targets as given.
    pub targets: String,
    /// Open ports found.
    pub open_ports: i64,
}

/// One difference between two scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A host up now that was down or not scanned before.
    HostAppeared {
        /// Host.
        ip: IpAddr,
    },
    /// A host up before that is down now (or was not scanned).
    HostDisappeared {
        /// Host.
        ip: IpAddr,
    },
    /// A port open now that was not.
    PortOpened {
        /// Host.
        ip: IpAddr,
        /// Port.
        port: u16,
        /// `tcp` or `udp`.
        protocol: String,
        /// Service now.
        service: String,
    },
    /// A port open before that is not now.
    PortClosed {
        /// Host.
        ip: IpAddr,
        /// Port.
        port: u16,
        /// `tcp` or `udp`.
        protocol: String,
        /// Service before.
        service: String,
    },
    /// The service, product or version on an open port changed.
    ServiceChanged {
        /// Host.
        ip: IpAddr,
        /// Port.
        port: u16,
        /// `tcp` or `udp`.
        protocol: String,
        /// Before.
        before: String,
        /// After.
        after: String,
    },
    /// The TLS certificate on an open port changed.
    CertificateChanged {
        /// Host.
        ip: IpAddr,
        /// Port.
        port: u16,
        /// `tcp` or `udp`.
        protocol: String,
        /// Subject and expiry before.
        before: String,
        /// Subject and expiry after.
        after: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::HostAppeared { ip } => write!(f, "+ host {ip} up"),
            Change::HostDisappeared { ip } => write!(f, "- host {ip} gone"),
            Change::PortOpened {
                ip,
                port,
                protocol,
                service,
            } => write!(f, "+ {ip}:{port}/{protocol} open {service}"),
            Change::PortClosed {
                ip,
                port,
                protocol,
                service,
            } => write!(f, "- {ip}:{port}/{protocol} no longer open (was {service})"),
            Change::ServiceChanged {
                ip,
                port,
                protocol,
                before,
                after,
            } => write!(f, "~ {ip}:{port}/{protocol} service {before} -> {after}"),
            Change::CertificateChanged {
                ip,
                port,
                protocol,
                before,
                after,
            } => write!(
                f,
                "~ {ip}:{port}/{protocol} certificate {before} -> {after}"
            ),
        }
    }
}

/// What one scan saw on an open port, as saved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SavedPort {
    service: String,
    certificate: Option<(String, String)>,
}

/// The history database.
pub struct History {
    conn: Connection,
    path: String,
}

impl History {
    /// Open (and create) the database at `path`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let name = path.display().to_string();
        let db = |e| HistoryError::Db {
            path: name.clone(),
            source: e,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS scans (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                started TEXT NOT NULL,
                targets TEXT NOT NULL,
                ports INTEGER NOT NULL,
                elapsed_s REAL NOT NULL,
                udp_ports INTEGER NOT NULL DEFAULT 0,
                complete INTEGER NOT NULL DEFAULT 1);
             CREATE TABLE IF NOT EXISTS ports (
                scan_id INTEGER NOT NULL REFERENCES scans(id),
                ip TEXT NOT NULL,
                port INTEGER NOT NULL,
                state TEXT NOT NULL,
                service TEXT,
                product TEXT,
                version TEXT,
                info TEXT,
                protocol TEXT NOT NULL DEFAULT 'tcp',
                cert_sha256 TEXT,
                cert_subject TEXT,
                cert_not_after INTEGER,
                service_json TEXT);
             CREATE TABLE IF NOT EXISTS hosts (
                scan_id INTEGER NOT NULL REFERENCES scans(id),
                ip TEXT NOT NULL,
                up INTEGER NOT NULL,
                reason TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS ports_scan ON ports(scan_id);
             CREATE INDEX IF NOT EXISTS hosts_scan ON hosts(scan_id);",
        )
        .map_err(db)?;
        Ok(History { conn, path: name })
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        HistoryError::Db {
            path: self.path.clone(),
            source: e,
        }
    }

    /// Save a scan; its id.
    pub fn save(
        &mut self,
        started: &str,
        targets: &str,
        report: &ScanReport,
    ) -> Result<i64, HistoryError> {
        let tx = self.conn.transaction().map_err(|e| HistoryError::Db {
            path: self.path.clone(),
            source: e,
        })?;
        tx.execute(
            "INSERT INTO scans (started, targets, ports, elapsed_s, udp_ports, complete) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                started,
                targets,
                report.ports_scanned as i64,
                report.elapsed_s,
                report.udp_ports_scanned as i64,
                report.complete,
            ],
        )
        .map_err(|e| HistoryError::Db {
            path: self.path.clone(),
            source: e,
        })?;
        let id = tx.last_insert_rowid();
        for h in &report.hosts {
            tx.execute(
                "INSERT INTO hosts (scan_id, ip, up, reason) VALUES (?1, ?2, ?3, ?4)",
                params![id, h.ip.to_string(), h.up, h.reason],
            )
            .map_err(|e| HistoryError::Db {
                path: self.path.clone(),
                source: e,
            })?;
        }
        for r in report.results.iter().filter(|r| r.state == PortState::Open) {
            let s = r.service.as_ref();
            let tls = s.and_then(|s| s.tls.as_ref());
            tx.execute(
                "INSERT INTO ports (scan_id, ip, port, state, service, product, version, info, protocol, cert_sha256, cert_subject, cert_not_after, service_json) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                params![
                    id,
                    r.ip.to_string(),
                    i64::from(r.port),
                    r.state.to_string(),
                    s.map(|s| s.display_name()),
                    s.and_then(|s| s.product.clone()),
                    s.and_then(|s| s.version.clone()),
                    s.and_then(|s| s.info.clone()),
                    r.protocol.to_string(),
                    tls.map(|t| t.fingerprint_sha256.clone()),
                    tls.map(|t| t.subject.clone()),
                    tls.map(|t| t.not_after),
                    s.and_then(|s| serde_json::to_string(s).ok()),
                ],
            )
            .map_err(|e| HistoryError::Db { path: self.path.clone(), source: e })?;
        }
        tx.commit().map_err(|e| HistoryError::Db {
            path: self.path.clone(),
            source: e,
        })?;
        Ok(id)
    }

    /// Every saved scan, newest last.
    pub fn list(&self) -> Result<Vec<ScanSummary>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT s.id, s.started, s.targets, (SELECT COUNT(*) FROM ports p WHERE p.scan_id = s.id) FROM scans s ORDER BY s.id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ScanSummary {
                    id: r.get(0)?,
                    started: r.get(1)?,
                    targets: r.get(2)?,
                    open_ports: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The ids of the last two scans (older first).
    pub fn last_two(&self) -> Result<(i64, i64), HistoryError> {
        let all = self.list()?;
        match all.as_slice() {
            [.., a, b] => Ok((a.id, b.id)),
            _ => Err(HistoryError::NotEnoughScans(all.len())),
        }
    }

    fn check_scan(&self, id: i64) -> Result<(), HistoryError> {
        let exists: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM scans WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if exists == 0 {
            return Err(HistoryError::NoSuchScan(id));
        }
        Ok(())
    }

    fn open_ports(
        &self,
        id: i64,
    ) -> Result<BTreeMap<(IpAddr, String, u16), SavedPort>, HistoryError> {
        self.check_scan(id)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ip, port, protocol, COALESCE(service,''), COALESCE(product,''), COALESCE(version,''), cert_sha256, COALESCE(cert_subject,''), COALESCE(cert_not_after,0) FROM ports WHERE scan_id = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| {
                let ip: String = r.get(0)?;
                let port: i64 = r.get(1)?;
                let protocol: String = r.get(2)?;
                let service = [r.get::<_, String>(3)?, r.get(4)?, r.get(5)?]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                let sha: Option<String> = r.get(6)?;
                let subject: String = r.get(7)?;
                let not_after: i64 = r.get(8)?;
                let certificate = sha.map(|sha| {
                    (
                        sha,
                        format!("{subject:?} valid until Unix time {not_after}"),
                    )
                });
                Ok((
                    ip,
                    port,
                    protocol,
                    SavedPort {
                        service,
                        certificate,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (ip, port, protocol, saved) = row.map_err(|e| self.err(e))?;
            if let (Ok(ip), Ok(port)) = (ip.parse::<IpAddr>(), u16::try_from(port)) {
                out.insert((ip, protocol, port), saved);
            }
        }
        Ok(out)
    }

    /// Hosts that were up in scan `id` (from discovery, or with open ports).
    fn up_hosts(&self, id: i64) -> Result<BTreeSet<IpAddr>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ip FROM hosts WHERE scan_id = ?1 AND up = 1 UNION SELECT ip FROM ports WHERE scan_id = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = BTreeSet::new();
        for row in rows {
            if let Ok(ip) = row.map_err(|e| self.err(e))?.parse() {
                out.insert(ip);
            }
        }
        Ok(out)
    }

    /// The scan before `id` with the same targets, else the scan just
    /// before it (for `--diff-last`).
    pub fn previous(&self, id: i64) -> Result<i64, HistoryError> {
        self.check_scan(id)?;
        let same: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(id) FROM scans WHERE id < ?1 AND targets = (SELECT targets FROM scans WHERE id = ?1)",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let any: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(id) FROM scans WHERE id < ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        same.or(any).ok_or(HistoryError::NotEnoughScans(1))
    }

    /// What changed from scan `a` to scan `b`.
    pub fn diff(&self, a: i64, b: i64) -> Result<Vec<Change>, HistoryError> {
        let (before, after) = (self.open_ports(a)?, self.open_ports(b)?);
        let (hb, ha) = (self.up_hosts(a)?, self.up_hosts(b)?);
        let mut out: Vec<Change> = Vec::new();
        out.extend(
            ha.difference(&hb)
                .map(|ip| Change::HostAppeared { ip: *ip }),
        );
        out.extend(
            hb.difference(&ha)
                .map(|ip| Change::HostDisappeared { ip: *ip }),
        );
        for ((ip, protocol, port), now) in &after {
            let key = (*ip, protocol.clone(), *port);
            match before.get(&key) {
                None => out.push(Change::PortOpened {
                    ip: *ip,
                    port: *port,
                    protocol: protocol.clone(),
                    service: now.service.clone(),
                }),
                Some(old) => {
                    if old.service != now.service {
                        out.push(Change::ServiceChanged {
                            ip: *ip,
                            port: *port,
                            protocol: protocol.clone(),
                            before: old.service.clone(),
                            after: now.service.clone(),
                        });
                    }
                    let fp = |c: &Option<(String, String)>| c.as_ref().map(|(f, _)| f.clone());
                    if fp(&old.certificate) != fp(&now.certificate) {
                        let text = |c: &Option<(String, String)>| {
                            c.as_ref().map_or("none".to_string(), |(_, t)| t.clone())
                        };
                        out.push(Change::CertificateChanged {
                            ip: *ip,
                            port: *port,
                            protocol: protocol.clone(),
                            before: text(&old.certificate),
                            after: text(&now.certificate),
                        });
                    }
                }
            }
        }
        for ((ip, protocol, port), old) in &before {
            if !after.contains_key(&(*ip, protocol.clone(), *port)) {
                out.push(Change::PortClosed {
                    ip: *ip,
                    port: *port,
                    protocol: protocol.clone(),
                    service: old.service.clone(),
                });
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{HostSummary, PortResult, Protocol, StateCounts};
    use crate::service::{ServiceMatch, TlsInfo};

    fn report(hosts: &[(&str, bool)], open: &[(&str, u16, &str, Option<&str>)]) -> ScanReport {
        ScanReport {
            scan_type: "connect".into(),
            started_unix: 0,
            elapsed_s: 1.0,
            ports_scanned: 100,
            udp_ports_scanned: 0,
            hosts_scanned: hosts.len(),
            hosts: hosts
                .iter()
                .map(|(ip, up)| HostSummary {
                    ip: ip.parse().unwrap(),
                    up: *up,
                    reason: "conn-refused".into(),
                    srtt_us: None,
                    tcp: StateCounts::default(),
                    udp: StateCounts::default(),
                })
                .collect(),
            results: open
                .iter()
                .map(|(ip, port, version, cert)| PortResult {
                    ip: ip.parse().unwrap(),
                    port: *port,
                    protocol: Protocol::Tcp,
                    state: PortState::Open,
                    reason: "syn-ack".into(),
                    service: Some(ServiceMatch {
                        name: "http".into(),
                        product: Some("nginx".into()),
                        version: Some(version.to_string()),
                        method: "probed".into(),
                        confidence: 1.0,
                        tls: cert.map(|c| TlsInfo {
                            subject: format!("CN={c}"),
                            fingerprint_sha256: c.repeat(8),
                            not_after: 1_800_000_000,
                            ..TlsInfo::default()
                        }),
                        ..ServiceMatch::default()
                    }),
                })
                .collect(),
            complete: true,
            notes: Vec::new(),
        }
    }

    #[test]
    fn diff_names_every_kind_of_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("x/scans.db")).unwrap();
        let a = h
            .save(
                "2026-11-23T00:00:00Z",
                "10.253.0.0/29",
                &report(
                    &[
                        ("10.253.0.2", true),
                        ("10.253.0.3", true),
                        ("10.253.0.4", false),
                    ],
                    &[
                        ("10.253.0.2", 80, "1.22.1", None),
                        ("10.253.0.2", 443, "1.22.1", Some("aaaa")),
                        ("10.253.0.3", 22, "1.0", None),
                    ],
                ),
            )
            .unwrap();
        let b = h
            .save(
                "2026-11-23T01:00:00Z",
                "10.253.0.0/29",
                &report(
                    &[
                        ("10.253.0.2", true),
                        ("10.253.0.3", false),
                        ("10.253.0.4", true),
                    ],
                    &[
                        ("10.253.0.2", 80, "1.24.0", None),
                        ("10.253.0.2", 443, "1.22.1", Some("bbbb")),
                        ("10.253.0.2", 8080, "1.22.1", None),
                    ],
                ),
            )
            .unwrap();
        let changes = h.diff(a, b).unwrap();
        let text: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "+ host 10.253.0.4 up",
                "- host 10.253.0.3 gone",
                "+ 10.253.0.2:8080/tcp open http nginx 1.22.1",
                "- 10.253.0.3:22/tcp no longer open (was http nginx 1.0)",
                "~ 10.253.0.2:80/tcp service http nginx 1.22.1 -> http nginx 1.24.0",
                "~ 10.253.0.2:443/tcp certificate \"CN=aaaa\" valid until Unix time 1800000000 -> \"CN=bbbb\" valid until Unix time 1800000000",
            ]
        );
        let json = serde_json::to_value(&changes).unwrap();
        assert_eq!(json[0]["change"], "host_appeared");
        assert!(h.diff(b, b).unwrap().is_empty());
        assert_eq!(h.previous(b).unwrap(), a);
        assert!(h.previous(a).is_err());
        assert!(matches!(h.diff(a, 99), Err(HistoryError::NoSuchScan(99))));
        let listed = h.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].open_ports, 3);
    }
}
