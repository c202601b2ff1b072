//! Scan history in SQLite (rusqlite with its bundled SQLite: no system
//! library): every scan is saved, listed, and compared with another.

use std::collections::BTreeMap;
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
    /// A host with open ports now that had none before.
    HostAppeared {
        /// Host.
        ip: IpAddr,
    },
    /// A host with open ports before that has none now.
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
        /// Service now.
        service: String,
    },
    /// A port open before that is not now.
    PortClosed {
        /// Host.
        ip: IpAddr,
        /// Port.
        port: u16,
        /// Service before.
        service: String,
    },
    /// The service, product or version on an open port changed.
    ServiceChanged {
        /// Host.
        ip: IpAddr,
        /// Port.
        port: u16,
        /// Before.
        before: String,
        /// After.
        after: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::HostAppeared { ip } => write!(f, "+ host {ip}"),
            Change::HostDisappeared { ip } => write!(f, "- host {ip}"),
            Change::PortOpened { ip, port, service } => {
                write!(f, "+ {ip}:{port}/tcp open {service}")
            }
            Change::PortClosed { ip, port, service } => {
                write!(f, "- {ip}:{port}/tcp was open {service}")
            }
            Change::ServiceChanged {
                ip,
                port,
                before,
                after,
            } => write!(f, "~ {ip}:{port}/tcp {before} -> {after}"),
        }
    }
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
                elapsed_s REAL NOT NULL);
             CREATE TABLE IF NOT EXISTS ports (
                scan_id INTEGER NOT NULL REFERENCES scans(id),
                ip TEXT NOT NULL,
                port INTEGER NOT NULL,
                state TEXT NOT NULL,
                service TEXT,
                product TEXT,
                version TEXT,
                info TEXT);
             CREATE INDEX IF NOT EXISTS ports_scan ON ports(scan_id);",
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
            "INSERT INTO scans (started, targets, ports, elapsed_s) VALUES (?1, ?2, ?3, ?4)",
            params![
                started,
                targets,
                report.ports_scanned as i64,
                report.elapsed_s
            ],
        )
        .map_err(|e| HistoryError::Db {
            path: self.path.clone(),
            source: e,
        })?;
        let id = tx.last_insert_rowid();
        for r in report.results.iter().filter(|r| r.state == PortState::Open) {
            let s = r.service.as_ref();
            tx.execute(
                "INSERT INTO ports (scan_id, ip, port, state, service, product, version, info) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
                params![
                    id,
                    r.ip.to_string(),
                    i64::from(r.port),
                    r.state.to_string(),
                    s.map(|s| s.name.clone()),
                    s.and_then(|s| s.product.clone()),
                    s.and_then(|s| s.version.clone()),
                    s.and_then(|s| s.info.clone()),
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

    fn open_ports(&self, id: i64) -> Result<BTreeMap<(IpAddr, u16), String>, HistoryError> {
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
        let mut stmt = self
            .conn
            .prepare("SELECT ip, port, COALESCE(service,''), COALESCE(product,''), COALESCE(version,'') FROM ports WHERE scan_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| {
                let ip: String = r.get(0)?;
                let port: i64 = r.get(1)?;
                let desc = [r.get::<_, String>(2)?, r.get(3)?, r.get(4)?]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok((ip, port, desc))
            })
            .map_err(|e| self.err(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (ip, port, desc) = row.map_err(|e| self.err(e))?;
            if let (Ok(ip), Ok(port)) = (ip.parse::<IpAddr>(), u16::try_from(port)) {
                out.insert((ip, port), desc);
            }
        }
        Ok(out)
    }

    /// What changed from scan `a` to scan `b`.
    pub fn diff(&self, a: i64, b: i64) -> Result<Vec<Change>, HistoryError> {
        let (before, after) = (self.open_ports(a)?, self.open_ports(b)?);
        let hosts = |m: &BTreeMap<(IpAddr, u16), String>| {
            m.keys()
                .map(|(ip, _)| *ip)
                .collect::<std::collections::BTreeSet<_>>()
        };
        let (hb, ha) = (hosts(&before), hosts(&after));
        let mut out: Vec<Change> = Vec::new();
        out.extend(
            ha.difference(&hb)
                .map(|ip| Change::HostAppeared { ip: *ip }),
        );
        out.extend(
            hb.difference(&ha)
                .map(|ip| Change::HostDisappeared { ip: *ip }),
        );
        for ((ip, port), svc) in &after {
            match before.get(&(*ip, *port)) {
                None => out.push(Change::PortOpened {
                    ip: *ip,
                    port: *port,
                    service: svc.clone(),
                }),
                Some(old) if old != svc => out.push(Change::ServiceChanged {
                    ip: *ip,
                    port: *port,
                    before: old.clone(),
                    after: svc.clone(),
                }),
                _ => {}
            }
        }
        for ((ip, port), svc) in &before {
            if !after.contains_key(&(*ip, *port)) {
                out.push(Change::PortClosed {
                    ip: *ip,
                    port: *port,
                    service: svc.clone(),
                });
            }
        }
        out.sort();
        Ok(out)
    }
}
