//! The active TLS auditor (`netsec tls audit`): connect to a server, fetch
//! and validate its certificate chain, enumerate the protocol versions and
//! cipher suites it accepts (and whether it imposes its own order), read
//! its HSTS header, and turn what is weak into findings.
//!
//! - Chain: a rustls handshake whose verifier records the chain and
//!   webpki's verdict against Mozilla's roots (webpki-roots) or a CA file
//!   — trust, name, validity — plus OCSP stapling; for servers rustls
//!   cannot talk to, the chain of a hand-built TLS ≤ 1.2 hello.
//! - Versions and suites: hand-built ClientHellos ([`hello`]) for SSL 3.0
//!   to TLS 1.3, each offering every registered suite not yet accepted
//!   until the server refuses, as sslscan and testssl.sh do.
//! - STARTTLS for SMTP, IMAP, POP3 and FTP before every handshake.
//!
//! Only audit hosts you may test.

pub mod chain;
pub mod hello;
pub mod suites;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use netsec_model::{
    CertificateInfo, Comparison, EntityRole, EntityValue, Finding, FindingCategory, Severity,
    TimeRange, Timestamp,
};
use serde::Serialize;

use crate::audit::{name_covered, weak_cipher, weak_version};
use hello::{Answer, HelloSpec};

/// Protocols that upgrade to TLS in-band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Starttls {
    /// SMTP (`EHLO`, `STARTTLS`).
    Smtp,
    /// IMAP (`a1 STARTTLS`).
    Imap,
    /// POP3 (`STLS`).
    Pop3,
    /// FTP (`AUTH TLS`).
    Ftp,
}

impl std::str::FromStr for Starttls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "smtp" => Ok(Starttls::Smtp),
            "imap" => Ok(Starttls::Imap),
            "pop3" => Ok(Starttls::Pop3),
            "ftp" => Ok(Starttls::Ftp),
            other => Err(format!(
                "unknown STARTTLS protocol {other:?} (smtp, imap, pop3, ftp)"
            )),
        }
    }
}

/// How to audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Connect and read timeout.
    pub timeout: Duration,
    /// Server name for SNI and the name check (default: the host given).
    pub sni: Option<String>,
    /// Upgrade with STARTTLS first.
    pub starttls: Option<Starttls>,
    /// Trust anchors (PEM); default Mozilla's.
    pub ca_file: Option<std::path::PathBuf>,
    /// Certificates expiring within this many days are findings.
    pub warn_days: u32,
    /// Enumerate versions and suites (many connections); off: chain only.
    pub enumerate: bool,
    /// Ask for the HSTS header (default: when the port is 443).
    pub http: Option<bool>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            timeout: Duration::from_secs(5),
            sni: None,
            starttls: None,
            ca_file: None,
            warn_days: 30,
            enumerate: true,
            http: None,
        }
    }
}

/// A cipher suite a server accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcceptedSuite {
    /// Value.
    pub id: u16,
    /// IANA name (or the hex value).
    pub name: String,
    /// Why it is weak, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weakness: Option<&'static str>,
}

/// One protocol version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionSupport {
    /// `TLS 1.2`.
    pub version: &'static str,
    /// Wire value.
    pub value: u16,
    /// Accepted.
    pub supported: bool,
    /// Suites accepted, in the order the server chose them.
    pub suites: Vec<AcceptedSuite>,
    /// Whether the server imposes its order (`None`: fewer than two suites).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_order: Option<bool>,
}

/// The certificate and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    /// The leaf, parsed.
    pub leaf: Option<CertificateInfo>,
    /// Certificates sent.
    pub length: usize,
    /// Trusted and valid for the name and now.
    pub valid: bool,
    /// webpki's reason when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Its kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem_kind: Option<chain::ProblemKind>,
    /// The leaf covers the name audited.
    pub name_matches: bool,
    /// Days until the leaf expires (negative: expired).
    pub days_remaining: Option<i64>,
    /// An OCSP response was stapled.
    pub ocsp_stapled: bool,
}

/// Everything learnt about one server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostReport {
    /// The target as given.
    pub target: String,
    /// Address connected to.
    pub address: Option<SocketAddr>,
    /// Name used for SNI and the name check.
    pub name: String,
    /// STARTTLS used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starttls: Option<Starttls>,
    /// Versions probed.
    pub versions: Vec<VersionSupport>,
    /// The chain.
    pub chain: Option<ChainReport>,
    /// The HSTS header, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsts: Option<String>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Why the audit could not be done (refused, timed out, not TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Versions probed, oldest first.
const VERSIONS: [(u16, &str); 5] = [
    (0x0300, "SSL 3.0"),
    (0x0301, "TLS 1.0"),
    (0x0302, "TLS 1.1"),
    (0x0303, "TLS 1.2"),
    (0x0304, "TLS 1.3"),
];

/// Split `host[:port]` (`[v6]:port` too); the port defaults to
/// `default_port`.
pub fn parse_target(target: &str, default_port: u16) -> Result<(String, u16), String> {
    let t = target.trim();
    if let Some(rest) = t.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{target:?}: missing ]"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("{target:?}: bad port"))?,
            None => default_port,
        };
        return Ok((host.to_string(), port));
    }
    match t.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((
            host.to_string(),
            port.parse().map_err(|_| format!("{target:?}: bad port"))?,
        )),
        _ if t.is_empty() => Err("empty target".into()),
        _ => Ok((t.to_string(), default_port)),
    }
}

/// The default port for a STARTTLS protocol (443 without).
pub fn default_port(starttls: Option<Starttls>) -> u16 {
    match starttls {
        None => 443,
        Some(Starttls::Smtp) => 25,
        Some(Starttls::Imap) => 143,
        Some(Starttls::Pop3) => 110,
        Some(Starttls::Ftp) => 21,
    }
}

/// A connection ready for a ClientHello (after STARTTLS when asked).
fn connect(addr: SocketAddr, options: &AuditOptions) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect_timeout(&addr, options.timeout)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = tcp.set_read_timeout(Some(options.timeout));
    let _ = tcp.set_write_timeout(Some(options.timeout));
    let _ = tcp.set_nodelay(true);
    if let Some(proto) = options.starttls {
        starttls(&tcp, proto).map_err(|e| format!("STARTTLS ({proto:?}) with {addr}: {e}"))?;
    }
    Ok(tcp)
}

/// Read one (possibly multi-line) reply whose last line starts with a
/// status and a space (SMTP, FTP) or any line starting with `prefix`.
fn reply(reader: &mut impl BufRead, done: impl Fn(&str) -> bool) -> Result<String, String> {
    let mut all = String::new();
    for _ in 0..64 {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            return Err(format!("connection closed after {all:?}"));
        }
        all.push_str(&line);
        if done(line.trim_end()) {
            return Ok(all);
        }
    }
    Err("reply too long".into())
}

fn starttls(tcp: &TcpStream, proto: Starttls) -> Result<(), String> {
    let mut writer = tcp.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(tcp.try_clone().map_err(|e| e.to_string())?.take(64 * 1024));
    let mut send = |text: &str| writer.write_all(text.as_bytes()).map_err(|e| e.to_string());
    let final_line = |code: &'static str| {
        move |l: &str| l.starts_with(code) && l.as_bytes().get(3) == Some(&b' ')
    };
    match proto {
        Starttls::Smtp => {
            reply(&mut reader, final_line("220"))?;
            send("EHLO netsec.invalid\r\n")?;
            let ehlo = reply(&mut reader, |l| l.len() >= 4 && l.as_bytes()[3] == b' ')?;
            if !ehlo.to_ascii_uppercase().contains("STARTTLS") {
                return Err("the server does not offer STARTTLS".into());
            }
            send("STARTTLS\r\n")?;
            reply(&mut reader, final_line("220"))?;
        }
        Starttls::Imap => {
            reply(&mut reader, |l| l.starts_with("* "))?;
            send("a1 STARTTLS\r\n")?;
            let r = reply(&mut reader, |l| l.starts_with("a1 "))?;
            if !r.contains("a1 OK") {
                return Err(format!("refused: {}", r.trim()));
            }
        }
        Starttls::Pop3 => {
            reply(&mut reader, |l| l.starts_with('+') || l.starts_with('-'))?;
            send("STLS\r\n")?;
            let r = reply(&mut reader, |l| l.starts_with('+') || l.starts_with('-'))?;
            if !r.starts_with("+OK") {
                return Err(format!("refused: {}", r.trim()));
            }
        }
        Starttls::Ftp => {
            reply(&mut reader, final_line("220"))?;
            send("AUTH TLS\r\n")?;
            let r = reply(&mut reader, |l| l.len() >= 4 && l.as_bytes()[3] == b' ')?;
            if !r.starts_with("234") {
                return Err(format!("refused: {}", r.trim()));
            }
        }
    }
    // Nothing may be buffered past the reply: the server waits for us.
    if !reader.buffer().is_empty() {
        return Err("the server sent data after its STARTTLS reply".into());
    }
    Ok(())
}

/// Offer every suite not yet accepted until the server refuses: the suites
/// it accepts for `version`, in the order it chose them.
fn enumerate_version(
    addr: SocketAddr,
    version: u16,
    name: &str,
    options: &AuditOptions,
) -> Result<Vec<u16>, String> {
    let mut offered: Vec<u16> = suites::SUITES
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !suites::is_signal(*id) && (suites::is_tls13(*id) == (version == 0x0304)))
        .filter(|id| *id != 0x0000)
        .collect();
    let mut accepted = Vec::new();
    while !offered.is_empty() && accepted.len() < 128 {
        let mut tcp = connect(addr, options)?;
        let answer = hello::probe(
            &mut tcp,
            &HelloSpec {
                version,
                suites: &offered,
                sni: Some(name),
            },
        );
        match answer {
            Answer::Hello {
                version: v, suite, ..
            } if v == version && offered.contains(&suite) => {
                accepted.push(suite);
                offered.retain(|s| *s != suite);
            }
            Answer::NotTls if accepted.is_empty() && version == 0x0303 => {
                return Err("the server does not speak TLS".into());
            }
            _ => break,
        }
    }
    Ok(accepted)
}

/// Whether the server picks by its own order: offered the accepted suites
/// reversed, does it still pick its first?
fn server_order(
    addr: SocketAddr,
    version: u16,
    accepted: &[u16],
    name: &str,
    options: &AuditOptions,
) -> Option<bool> {
    if accepted.len() < 2 {
        return None;
    }
    let reversed: Vec<u16> = accepted.iter().rev().copied().collect();
    let mut tcp = connect(addr, options).ok()?;
    match hello::probe(
        &mut tcp,
        &HelloSpec {
            version,
            suites: &reversed,
            sni: Some(name),
        },
    ) {
        Answer::Hello { suite, .. } => Some(Some(&suite) == accepted.first()),
        _ => None,
    }
}

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(d.as_secs() as i64, 0)
}

/// Audit one server.
pub fn audit(target: &str, options: &AuditOptions) -> HostReport {
    let mut report = HostReport {
        target: target.to_string(),
        address: None,
        name: String::new(),
        starttls: options.starttls,
        versions: Vec::new(),
        chain: None,
        hsts: None,
        findings: Vec::new(),
        error: None,
    };
    let (host, port) = match parse_target(target, default_port(options.starttls)) {
        Ok(hp) => hp,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.name = options.sni.clone().unwrap_or_else(|| host.clone());
    let addr = match (host.as_str(), port)
        .to_socket_addrs()
        .map(|mut a| a.next())
    {
        Ok(Some(a)) => a,
        Ok(None) => {
            report.error = Some(format!("{host}: no address"));
            return report;
        }
        Err(e) => {
            report.error = Some(format!("{host}: {e}"));
            return report;
        }
    };
    report.address = Some(addr);
    let roots = match chain::roots(options.ca_file.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    // The chain, by rustls first.
    let tcp = match connect(addr, options) {
        Ok(t) => t,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let http = options
        .http
        .unwrap_or(port == 443 && options.starttls.is_none());
    let session = chain::handshake(tcp, &report.name, &roots, http);
    report.hsts = session.hsts.clone();
    let mut seen = session.seen.clone();
    if options.enumerate {
        for (value, label) in VERSIONS {
            let accepted = match enumerate_version(addr, value, &report.name, options) {
                Ok(a) => a,
                Err(e) => {
                    report.error = Some(e);
                    return report;
                }
            };
            let server_order = server_order(addr, value, &accepted, &report.name, options);
            report.versions.push(VersionSupport {
                version: label,
                value,
                supported: !accepted.is_empty(),
                suites: accepted
                    .iter()
                    .map(|&id| AcceptedSuite {
                        id,
                        name: suites::name(id)
                            .map_or_else(|| format!("0x{id:04x}"), str::to_string),
                        weakness: weak_cipher(id),
                    })
                    .collect(),
                server_order,
            });
        }
    }
    // No chain from rustls (TLS ≤ 1.1 only): from a hand-built hello.
    if seen.as_ref().is_none_or(|s| s.chain.is_empty()) {
        let legacy = report
            .versions
            .iter()
            .rev()
            .find(|v| v.supported && v.value <= 0x0303);
        let fallback = legacy.map(|v| (v.value, v.suites.iter().map(|s| s.id).collect::<Vec<_>>()));
        if let Some((version, suites)) = fallback {
            if let Ok(mut tcp) = connect(addr, options) {
                if let Answer::Hello { rest, .. } = hello::probe(
                    &mut tcp,
                    &HelloSpec {
                        version,
                        suites: &suites,
                        sni: Some(&report.name),
                    },
                ) {
                    let der = hello::certificate_chain(rest, &mut tcp);
                    if !der.is_empty() {
                        seen = Some(chain::judge(&der, &report.name, &roots));
                    }
                }
            }
        }
    }
    if seen.is_none() && report.versions.iter().all(|v| !v.supported) && options.enumerate {
        report.error = Some(
            session
                .error
                .unwrap_or_else(|| "no TLS version accepted".into()),
        );
        return report;
    }
    let now = now();
    report.chain = seen.map(|s| {
        let leaf = s.chain.first().and_then(|d| crate::certificate::parse(d));
        let days_remaining = leaf
            .as_ref()
            .and_then(|l| l.not_after)
            .map(|t| (t.as_secs_f64() - now.as_secs_f64()).div_euclid(86_400.0) as i64);
        let name_matches = leaf.as_ref().is_some_and(|l| name_covered(&report.name, l));
        ChainReport {
            length: s.chain.len(),
            valid: s.problem.is_none(),
            problem_kind: s.problem.as_ref().map(|p| p.kind),
            problem: s.problem.map(|p| p.text),
            name_matches,
            days_remaining,
            ocsp_stapled: s.ocsp_stapled,
            leaf,
        }
    });
    report.findings = findings(&report, options, addr, now);
    report
}

fn finding(
    report: &HostReport,
    addr: SocketAddr,
    now: Timestamp,
    (kind, title, severity, confidence): (&str, String, Severity, f64),
    summary: String,
) -> Finding {
    let category = match kind {
        k if k.starts_with("tls_certificate") => FindingCategory::Misconfiguration,
        _ => FindingCategory::Misconfiguration,
    };
    Finding::new(
        kind,
        title,
        category,
        severity,
        confidence,
        TimeRange::at(now),
        "netsec-tls/active",
    )
    .with_id(format!("{}:{}", addr, report.name))
    .with_entity(
        EntityRole::Target,
        EntityValue::Service {
            endpoint: netsec_model::Endpoint::new(addr.ip(), addr.port()),
            transport: "tcp".into(),
        },
    )
    .with_entity(
        EntityRole::Target,
        EntityValue::Domain {
            name: report.name.clone(),
        },
    )
    .with_summary(summary)
}

fn findings(
    report: &HostReport,
    options: &AuditOptions,
    addr: SocketAddr,
    now: Timestamp,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let who = format!("{} ({addr})", report.name);
    for v in report.versions.iter().filter(|v| v.supported) {
        if let Some((name, severity)) = weak_version(v.value) {
            out.push(
                finding(
                    report,
                    addr,
                    now,
                    (
                        "tls_weak_protocol",
                        format!("{who} accepts {name}"),
                        severity,
                        1.0,
                    ),
                    format!(
                        "{who} completed a ServerHello for {name} with {} suite(s)",
                        v.suites.len()
                    ),
                )
                .with_fact("version", name)
                .with_mitre(["T1557"]),
            );
        }
        let weak: Vec<&AcceptedSuite> = v.suites.iter().filter(|s| s.weakness.is_some()).collect();
        if !weak.is_empty() {
            let list = weak
                .iter()
                .map(|s| format!("{} ({})", s.name, s.weakness.unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ");
            let mut f = finding(
                report,
                addr,
                now,
                (
                    "tls_weak_cipher",
                    format!("{who} accepts weak suites over {}", v.version),
                    Severity::High,
                    1.0,
                ),
                format!(
                    "{who} accepted {} weak suite(s) over {}: {list}",
                    weak.len(),
                    v.version
                ),
            )
            .with_mitre(["T1557"])
            .with_value("weak_suites", weak.len() as f64, "suites");
            f.id = format!("tls_weak_cipher:{addr}:{}:{}", report.name, v.version);
            out.push(f);
        }
    }
    if let Some(c) = &report.chain {
        if !c.valid {
            let problem = c.problem.clone().unwrap_or_default();
            let kind = match c.problem_kind {
                Some(chain::ProblemKind::Validity) => "tls_certificate_expired",
                Some(chain::ProblemKind::Name) => "tls_certificate_name_mismatch",
                _ => "tls_untrusted_chain",
            };
            let severity = Severity::High;
            out.push(
                finding(
                    report,
                    addr,
                    now,
                    (kind, format!("{who}: certificate not valid"), severity, 1.0),
                    format!(
                        "webpki rejects the chain of {} certificate(s) sent by {who}: {problem}",
                        c.length
                    ),
                )
                .with_fact("problem", problem),
            );
        }
        if let Some(days) = c.days_remaining {
            if days >= 0 && days <= i64::from(options.warn_days) {
                out.push(
                    finding(
                        report,
                        addr,
                        now,
                        (
                            "tls_certificate_expiring",
                            format!("{who}: certificate expires in {days} day(s)"),
                            Severity::Medium,
                            1.0,
                        ),
                        format!("the certificate of {who} expires in {days} day(s)"),
                    )
                    .with_measurement(
                        "days_remaining",
                        days as f64,
                        "days",
                        Comparison::LessOrEqual,
                        f64::from(options.warn_days),
                    ),
                );
            }
        }
        if let Some(leaf) = &c.leaf {
            let weak_key = match leaf.public_key_algorithm.as_str() {
                "RSA" | "DSA" => leaf.public_key_bits > 0 && leaf.public_key_bits < 2048,
                "EC" => leaf.public_key_bits > 0 && leaf.public_key_bits < 224,
                _ => false,
            };
            if weak_key {
                out.push(
                    finding(
                        report,
                        addr,
                        now,
                        (
                            "tls_weak_key",
                            format!(
                                "{who}: {}-bit {} key",
                                leaf.public_key_bits, leaf.public_key_algorithm
                            ),
                            Severity::High,
                            1.0,
                        ),
                        format!(
                            "the certificate of {who} has a {}-bit {} key",
                            leaf.public_key_bits, leaf.public_key_algorithm
                        ),
                    )
                    .with_measurement(
                        "key_bits",
                        f64::from(leaf.public_key_bits),
                        "bits",
                        Comparison::Less,
                        if leaf.public_key_algorithm == "EC" {
                            224.0
                        } else {
                            2048.0
                        },
                    ),
                );
            }
            let sig = leaf.signature_algorithm.to_ascii_lowercase();
            if sig.contains("sha1") || sig.contains("md5") {
                out.push(finding(
                    report,
                    addr,
                    now,
                    (
                        "tls_weak_signature",
                        format!(
                            "{who}: certificate signed with {}",
                            leaf.signature_algorithm
                        ),
                        Severity::Medium,
                        1.0,
                    ),
                    format!(
                        "the certificate of {who} is signed with {}",
                        leaf.signature_algorithm
                    ),
                ));
            }
        }
    }
    if options
        .http
        .unwrap_or(report.address.is_some_and(|a| a.port() == 443) && options.starttls.is_none())
        && report.chain.is_some()
        && report.hsts.is_none()
    {
        out.push(finding(
            report,
            addr,
            now,
            (
                "tls_no_hsts",
                format!("{who} sends no HSTS header"),
                Severity::Low,
                0.9,
            ),
            format!("the HTTP answer of {who} has no Strict-Transport-Security header"),
        ));
    }
    out
}

/// Audit many servers, at most `concurrency` at once, in input order.
pub fn audit_all(
    targets: &[String],
    options: &AuditOptions,
    concurrency: usize,
) -> Vec<HostReport> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<HostReport>>> = targets
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..concurrency.clamp(1, 64).min(targets.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(t) = targets.get(i) else { break };
                let r = audit(t, options);
                if let Some(slot) = results.get(i) {
                    *slot
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| {
            m.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A loopback server speaking one STARTTLS dialogue, then reporting the
    /// first byte the client sent after it (22: a TLS handshake record).
    fn dialogue(
        script: &'static [(&'static str, &'static str)],
    ) -> (SocketAddr, std::thread::JoinHandle<u8>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            for (expect, say) in script {
                if !expect.is_empty() {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    assert!(
                        line.starts_with(expect),
                        "got {line:?}, expected {expect:?}"
                    );
                }
                sock.write_all(say.as_bytes()).unwrap();
            }
            let mut first = [0u8; 1];
            reader.read_exact(&mut first).unwrap();
            first[0]
        });
        (addr, handle)
    }

    #[test]
    fn starttls_dialogues_hand_over_to_tls() {
        let cases: [(Starttls, &'static [(&'static str, &'static str)]); 4] = [
            (
                Starttls::Smtp,
                &[
                    ("", "220-mail\r\n220 ready\r\n"),
                    ("EHLO", "250-mail\r\n250-SIZE 1\r\n250 STARTTLS\r\n"),
                    ("STARTTLS", "220 go ahead\r\n"),
                ],
            ),
            (
                Starttls::Imap,
                &[
                    ("", "* OK IMAP ready\r\n"),
                    ("a1 STARTTLS", "a1 OK begin TLS\r\n"),
                ],
            ),
            (
                Starttls::Pop3,
                &[("", "+OK POP3\r\n"), ("STLS", "+OK begin\r\n")],
            ),
            (
                Starttls::Ftp,
                &[("", "220 FTP\r\n"), ("AUTH TLS", "234 AUTH TLS OK\r\n")],
            ),
        ];
        for (proto, script) in cases {
            let (addr, server) = dialogue(script);
            let options = AuditOptions {
                starttls: Some(proto),
                timeout: Duration::from_secs(2),
                ..AuditOptions::default()
            };
            let mut tcp = connect(addr, &options).unwrap();
            let _ = hello::probe(
                &mut tcp,
                &HelloSpec {
                    version: 0x0303,
                    suites: &[0xc02f],
                    sni: Some("x"),
                },
            );
            assert_eq!(server.join().unwrap(), 22, "{proto:?}");
        }
    }

    #[test]
    fn a_server_without_starttls_is_an_error() {
        let (addr, _server) = dialogue(&[("", "220 mail\r\n"), ("EHLO", "250 mail\r\n")]);
        let options = AuditOptions {
            starttls: Some(Starttls::Smtp),
            timeout: Duration::from_secs(2),
            ..AuditOptions::default()
        };
        let err = connect(addr, &options).unwrap_err();
        assert!(err.contains("does not offer STARTTLS"), "{err}");
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("example.org", 443).unwrap(),
            ("example.org".into(), 443)
        );
        assert_eq!(
            parse_target("10.0.0.1:8443", 443).unwrap(),
            ("10.0.0.1".into(), 8443)
        );
        assert_eq!(parse_target("[::1]:993", 443).unwrap(), ("::1".into(), 993));
        assert_eq!(parse_target("::1", 25).unwrap(), ("::1".into(), 25));
        assert!(parse_target("host:x", 443).is_err());
        assert!(parse_target("", 443).is_err());
    }
}
