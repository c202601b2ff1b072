//! Passive TLS audit: what the handshakes of a capture say about the
//! servers' TLS, as findings. It runs in the detection stage and reads TLS
//! events only (ClientHello for the name asked for, ServerHello for what
//! was negotiated, Certificate for the chain, TLS 1.2 and earlier, where it
//! is sent in clear).
//!
//! | kind | what | severity |
//! |---|---|---|
//! | `tls_weak_protocol` | SSL 3.0, TLS 1.0 or 1.1 negotiated | medium (SSL 3.0: high) |
//! | `tls_weak_cipher` | a NULL, EXPORT, anonymous, RC4, DES or 3DES suite negotiated | high (3DES: medium) |
//! | `tls_certificate_expired` / `tls_certificate_not_yet_valid` | the leaf's validity against the capture time | medium |
//! | `tls_self_signed_certificate` | a one-certificate chain whose subject is its issuer | low |
//! | `tls_weak_key` | RSA or DSA under 2048 bits, EC under 224 | medium |
//! | `tls_weak_signature` | a certificate of the chain (not a self-issued root) signed with MD2, MD5 or SHA-1 | medium |
//! | `tls_name_mismatch` | the SNI is covered by neither the leaf's alternative names nor its common name | medium |
//! | `tls_blocklisted_fingerprint` | a JA3/JA3S/JA4/JA4S or certificate (JA4X, SHA-1, SHA-256) fingerprint on a loaded blocklist ([`crate::blocklist`]) | high |
//!
//! One finding per server (and name) and kind, updated as more sessions
//! show it (`sessions` counts them). Confidence is 0.95 for what the
//! handshake states outright (a version, a suite, a key size), 0.9 for
//! what depends on the capture's clock (validity) and 0.8 for the name check
//! (a client may ask by IP or an alias the certificate does not list for
//! reasons of its own). ATT&CK: a weak session exposes its traffic to
//! interception and tampering, T1557 (Adversary-in-the-Middle) and T1040
//! (Network Sniffing).
//!
//! State is one small entry per flow between its ClientHello and its
//! ServerHello/Certificate (bounded, oldest evicted) and one per finding.

use std::collections::{BTreeMap, VecDeque};

use netsec_model::{
    Analyzer, AppEvent, CertificateInfo, Comparison, EntityRole, EntityValue, EventContext,
    Finding, FindingCategory, FindingSink, FlowId, Interests, Severity, TimeRange, Timestamp,
    TlsMessage,
};

use crate::blocklist::{Blocklist, FingerprintKind};
use crate::certificate::weak_signature;

/// Limits and thresholds of the audit.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsAuditConfig {
    /// Smallest RSA or DSA key taken as strong, in bits (NIST SP 800-131A:
    /// 2048 since 2014).
    pub min_rsa_bits: u32,
    /// Smallest EC key taken as strong, in bits (NIST SP 800-57: 224).
    pub min_ec_bits: u32,
    /// Flows remembered between ClientHello and the server's messages.
    pub max_pending_flows: usize,
    /// Findings tracked (one per server, name and kind).
    pub max_findings: usize,
}

impl Default for TlsAuditConfig {
    fn default() -> Self {
        TlsAuditConfig {
            min_rsa_bits: 2048,
            min_ec_bits: 224,
            max_pending_flows: 65_536,
            max_findings: 16_384,
        }
    }
}

/// What a flow's ClientHello asked for.
#[derive(Debug, Clone)]
struct Pending {
    sni: Option<String>,
}

/// One finding being built.
#[derive(Debug, Clone)]
struct Tracked {
    finding: Finding,
    sessions: u64,
}

/// The passive TLS auditor.
#[derive(Debug)]
pub struct TlsAuditor {
    config: TlsAuditConfig,
    /// Validates chains against trust anchors, when given.
    trust: Option<std::sync::Arc<rustls::client::WebPkiServerVerifier>>,
    /// Verdicts already given, by (leaf SHA-256, server name).
    verdicts: std::collections::HashMap<(String, String), Option<String>>,
    pending: BTreeMap<FlowId, Pending>,
    pending_order: VecDeque<FlowId>,
    tracked: BTreeMap<String, Tracked>,
    blocklist: Blocklist,
    evicted: u64,
}

impl TlsAuditor {
    /// An auditor with these limits.
    pub fn new(config: TlsAuditConfig) -> Self {
        TlsAuditor {
            config,
            trust: None,
            verdicts: std::collections::HashMap::new(),
            pending: BTreeMap::new(),
            pending_order: VecDeque::new(),
            tracked: BTreeMap::new(),
            blocklist: Blocklist::default(),
            evicted: 0,
        }
    }

    /// Also validate every chain a server sends against `roots`
    /// (`crate::active::chain::roots`: Mozilla's, or a CA file), at the
    /// session's time, for its SNI: a chain that does not lead to a trust
    /// anchor (unknown issuer, bad signature, a leaf that is a CA) is a
    /// `tls_untrusted_chain` finding. Sessions without SNI are not judged.
    pub fn with_trust_anchors(mut self, roots: &std::sync::Arc<rustls::RootCertStore>) -> Self {
        self.trust = crate::active::chain::verifier(roots).ok();
        self
    }

    /// webpki's objection to `chain` for `sni` at `at`, trust only (expiry
    /// and names are reported on their own); `None` when it leads to an
    /// anchor. Cached per leaf and name.
    fn trust_problem(
        &mut self,
        chain: &[Vec<u8>],
        leaf_sha256: &str,
        sni: &str,
        at: Timestamp,
    ) -> Option<String> {
        use rustls::pki_types::UnixTime;
        let verifier = self.trust.as_ref()?;
        let key = (leaf_sha256.to_string(), sni.to_string());
        if let Some(v) = self.verdicts.get(&key) {
            return v.clone();
        }
        let secs = u64::try_from(at.secs()).unwrap_or(0);
        let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        // Expiry and names have findings of their own.
        let verdict = crate::active::chain::verify(verifier, chain, sni, at)
            .filter(|p| p.kind == crate::active::chain::ProblemKind::Trust)
            .map(|p| p.text);
        if self.verdicts.len() >= self.config.max_findings {
            self.verdicts.clear();
        }
        self.verdicts.insert(key, verdict.clone());
        verdict
    }

    /// Also report handshakes whose fingerprints `blocklist` lists.
    pub fn with_blocklist(mut self, blocklist: Blocklist) -> Self {
        self.blocklist = blocklist;
        self
    }

    /// The client and server of a TLS event's flow.
    fn endpoints(ctx: &EventContext) -> (netsec_model::Endpoint, netsec_model::Endpoint) {
        if ctx.direction == netsec_model::Direction::ToClient {
            (ctx.dst, ctx.src)
        } else {
            (ctx.src, ctx.dst)
        }
    }

    /// The session count and start of the finding `key` with this session,
    /// or `None` when the store is full and `key` is new (counted).
    fn next_session(&mut self, key: &str, ctx: &EventContext) -> Option<(u64, Timestamp)> {
        match self.tracked.get(key) {
            Some(t) => Some((t.sessions + 1, t.finding.time.start)),
            None if self.tracked.len() >= self.config.max_findings => {
                self.evicted += 1;
                None
            }
            None => Some((1, ctx.ts)),
        }
    }

    /// Keep the latest version of a finding; emit it for the first sessions,
    /// then every tenth (the stored one always holds the latest count).
    fn store(&mut self, key: String, finding: Finding, sessions: u64, out: &mut dyn FindingSink) {
        if sessions <= 3 || sessions.is_multiple_of(10) {
            out.finding(finding.clone());
        }
        self.tracked.insert(key, Tracked { finding, sessions });
    }

    /// Report a listed fingerprint: the client (for JA3/JA4) or the server
    /// (for the others) is the suspect; one finding per fingerprint and
    /// client/server pair.
    fn check_listed(
        &mut self,
        out: &mut dyn FindingSink,
        ctx: &EventContext,
        kind: FingerprintKind,
        value: &str,
    ) {
        let Some(entry) = self.blocklist.find(kind, value).cloned() else {
            return;
        };
        let (client, server) = Self::endpoints(ctx);
        let key = format!("listed:{}:{value}:{}->{server}", kind.name(), client.ip);
        let Some((sessions, start)) = self.next_session(&key, ctx) else {
            return;
        };
        let named = entry
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let mut finding = Finding::new(
            "tls_blocklisted_fingerprint",
            format!(
                "Blocklisted TLS {} from {} to {server}{named}",
                kind.name(),
                client.ip
            ),
            FindingCategory::CommandAndControl,
            Severity::High,
            0.9,
            TimeRange { start, end: ctx.ts },
            "netsec-tls/audit",
        )
        .with_id(format!("{}:{value}:{}->{server}", kind.name(), client.ip))
        .with_mitre(["T1071.001", "T1573.002"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: client.ip })
        .with_entity(
            EntityRole::Target,
            EntityValue::Service {
                endpoint: server,
                transport: ctx.transport.name().to_string(),
            },
        )
        .with_summary(format!(
            "{} {value} of the session {} -> {server} is on the blocklist {}{named}",
            kind.name(),
            client.ip,
            entry.list
        ))
        .with_fact("fingerprint_kind", kind.name())
        .with_fact("fingerprint", value)
        .with_fact("blocklist", entry.list.clone())
        .with_value("sessions", sessions as f64, "sessions");
        if let Some(name) = &entry.name {
            finding = finding.with_fact("blocklist_name", name.clone());
        }
        if let Some(c) = &ctx.community_id {
            finding = finding.with_fact("community_id", c.clone());
        }
        self.store(key, finding, sessions, out);
    }

    /// Entries dropped to stay within the limits.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    fn remember(&mut self, flow: FlowId, sni: Option<String>) {
        if self.pending.len() >= self.config.max_pending_flows {
            while let Some(old) = self.pending_order.pop_front() {
                if self.pending.remove(&old).is_some() {
                    self.evicted += 1;
                    break;
                }
            }
        }
        self.pending.insert(flow, Pending { sni });
        self.pending_order.push_back(flow);
        if self.pending_order.len() > 2 * self.config.max_pending_flows {
            let pending = &self.pending;
            self.pending_order.retain(|f| pending.contains_key(f));
        }
    }

    /// Report (or update) the finding `kind` about the server of `ctx`.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        out: &mut dyn FindingSink,
        ctx: &EventContext,
        kind: &str,
        subject: &str,
        severity: Severity,
        confidence: f64,
        summary: String,
        detail: impl FnOnce(Finding) -> Finding,
    ) {
        let (_, server) = Self::endpoints(ctx);
        let key = format!("{kind}:{server}:{subject}");
        let Some((sessions, start)) = self.next_session(&key, ctx) else {
            return;
        };
        let title = format!(
            "{} on {server}{}",
            kind_title(kind),
            subject_suffix(subject)
        );
        let mut finding = Finding::new(
            kind,
            title,
            FindingCategory::Misconfiguration,
            severity,
            confidence,
            TimeRange { start, end: ctx.ts },
            "netsec-tls/audit",
        )
        .with_id(format!("{server}:{subject}"))
        .with_mitre(["T1557", "T1040"])
        .with_entity(
            EntityRole::Target,
            EntityValue::Service {
                endpoint: server,
                transport: ctx.transport.name().to_string(),
            },
        )
        .with_summary(summary)
        .with_value("sessions", sessions as f64, "sessions");
        if !subject.is_empty() {
            finding = finding.with_entity(
                EntityRole::Related,
                EntityValue::Domain {
                    name: subject.to_string(),
                },
            );
        }
        if let Some(c) = &ctx.community_id {
            finding = finding.with_fact("community_id", c.clone());
        }
        self.store(key, detail(finding), sessions, out);
    }

    fn server_hello(
        &mut self,
        ctx: &EventContext,
        sh: &netsec_model::ServerHello,
        out: &mut dyn FindingSink,
    ) {
        let sni = ctx
            .flow_id
            .and_then(|f| self.pending.get(&f))
            .and_then(|p| p.sni.clone())
            .unwrap_or_default();
        let version = sh.selected_version.unwrap_or(sh.version);
        if let Some((name, severity)) = weak_version(version) {
            self.report(
                out,
                ctx,
                "tls_weak_protocol",
                &sni,
                severity,
                0.95,
                format!(
                    "the server negotiated {name} (0x{version:04x}); TLS 1.2 or later expected"
                ),
                |f| {
                    f.with_fact("version", name).with_measurement(
                        "version",
                        f64::from(version),
                        "",
                        Comparison::Less,
                        f64::from(0x0303u16),
                    )
                },
            );
        }
        if let Some(class) = weak_cipher(sh.cipher_suite) {
            let severity = if class == "3DES" {
                Severity::Medium
            } else {
                Severity::High
            };
            let suite = sh.cipher_suite;
            self.report(
                out,
                ctx,
                "tls_weak_cipher",
                &sni,
                severity,
                0.95,
                format!("the server chose cipher suite 0x{suite:04x}, a {class} suite"),
                |f| {
                    f.with_fact("cipher_suite", format!("0x{suite:04x}"))
                        .with_fact("weakness", class)
                },
            );
        }
    }

    fn certificate(
        &mut self,
        ctx: &EventContext,
        (der, chain): (&[Vec<u8>], &[CertificateInfo]),
        out: &mut dyn FindingSink,
    ) {
        let Some(leaf) = chain.first() else { return };
        let sni = ctx
            .flow_id
            .and_then(|f| self.pending.remove(&f))
            .and_then(|p| p.sni)
            .unwrap_or_default();
        let now = ctx.ts;
        let self_signed = chain.len() == 1 && leaf.self_issued;
        let untrusted = if sni.is_empty() || self_signed {
            None
        } else {
            self.trust_problem(der, &leaf.sha256, &sni, now)
        };
        let cert = |f: Finding| {
            f.with_entity(
                EntityRole::Related,
                EntityValue::Certificate {
                    sha256: leaf.sha256.clone(),
                },
            )
            .with_fact("subject", leaf.subject.clone())
            .with_fact("issuer", leaf.issuer.clone())
        };
        if let Some(after) = leaf.not_after.filter(|t| *t < now) {
            let days = days_between(after, now);
            self.report(
                out,
                ctx,
                "tls_certificate_expired",
                &sni,
                Severity::Medium,
                0.9,
                format!(
                    "the certificate of {} expired {after} ({days:.0} days before the session)",
                    leaf.subject
                ),
                |f| {
                    cert(f.with_measurement("days_expired", days, "days", Comparison::Greater, 0.0))
                },
            );
        }
        if let Some(before) = leaf.not_before.filter(|t| *t > now) {
            let days = days_between(now, before);
            self.report(
                out,
                ctx,
                "tls_certificate_not_yet_valid",
                &sni,
                Severity::Medium,
                0.9,
                format!("the certificate of {} is valid only from {before} ({days:.0} days after the session)", leaf.subject),
                |f| cert(f.with_measurement("days_early", days, "days", Comparison::Greater, 0.0)),
            );
        }
        if let Some(problem) = untrusted {
            self.report(
                out,
                ctx,
                "tls_untrusted_chain",
                &sni,
                Severity::Low,
                0.7,
                format!(
                    "the {} certificate(s) sent for {sni} lead to no trust anchor of the store in use (checked at the session's time; roots removed from the store since then count as unknown): {problem}",
                    chain.len()
                ),
                |f| cert(f.with_fact("problem", problem.clone())),
            );
        }
        if self_signed {
            self.report(
                out,
                ctx,
                "tls_self_signed_certificate",
                &sni,
                Severity::Low,
                0.9,
                format!(
                    "the server sent one self-issued certificate ({})",
                    leaf.subject
                ),
                cert,
            );
        }
        let (min, weak) = match leaf.public_key_algorithm.as_str() {
            "RSA" | "DSA" => (
                self.config.min_rsa_bits,
                leaf.public_key_bits < self.config.min_rsa_bits,
            ),
            "EC" => (
                self.config.min_ec_bits,
                leaf.public_key_bits < self.config.min_ec_bits,
            ),
            _ => (0, false),
        };
        if weak && leaf.public_key_bits > 0 {
            let bits = leaf.public_key_bits;
            let algorithm = leaf.public_key_algorithm.clone();
            self.report(
                out,
                ctx,
                "tls_weak_key",
                &sni,
                Severity::Medium,
                0.95,
                format!("the certificate's {algorithm} key has {bits} bits (under {min})"),
                |f| {
                    cert(f.with_measurement(
                        "key_bits",
                        f64::from(bits),
                        "bits",
                        Comparison::Less,
                        f64::from(min),
                    ))
                },
            );
        }
        if let Some(bad) = chain
            .iter()
            .find(|c| weak_signature(&c.signature_algorithm) && !(c.self_issued && c.is_ca))
        {
            let algorithm = bad.signature_algorithm.clone();
            let subject = bad.subject.clone();
            self.report(
                out,
                ctx,
                "tls_weak_signature",
                &sni,
                Severity::Medium,
                0.95,
                format!("the certificate of {subject} is signed with {algorithm}"),
                |f| cert(f.with_fact("signature_algorithm", algorithm)),
            );
        }
        if !sni.is_empty() && !name_covered(&sni, leaf) {
            let names = if leaf.alternative_names.is_empty() {
                leaf.common_names.join(", ")
            } else {
                leaf.alternative_names.join(", ")
            };
            self.report(
                out,
                ctx,
                "tls_name_mismatch",
                &sni,
                Severity::Medium,
                0.8,
                format!("the client asked for {sni}; the certificate names {names}"),
                |f| {
                    cert(
                        f.with_fact("server_name", sni.clone())
                            .with_fact("certificate_names", names),
                    )
                },
            );
        }
    }
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "tls_weak_protocol" => "Obsolete TLS version",
        "tls_weak_cipher" => "Weak TLS cipher suite",
        "tls_certificate_expired" => "Expired TLS certificate",
        "tls_certificate_not_yet_valid" => "TLS certificate not yet valid",
        "tls_self_signed_certificate" => "Self-signed TLS certificate",
        "tls_weak_key" => "Weak TLS certificate key",
        "tls_weak_signature" => "TLS certificate with a weak signature",
        "tls_name_mismatch" => "TLS certificate does not name the server",
        "tls_untrusted_chain" => "Untrusted TLS certificate chain",
        _ => "TLS finding",
    }
}

fn subject_suffix(sni: &str) -> String {
    if sni.is_empty() {
        String::new()
    } else {
        format!(" ({sni})")
    }
}

fn days_between(a: Timestamp, b: Timestamp) -> f64 {
    b.since(a).as_secs_f64() / 86_400.0
}

/// SSL 3.0, TLS 1.0 and 1.1 (RFC 8996 deprecates the two TLS versions).
pub(crate) fn weak_version(v: u16) -> Option<(&'static str, Severity)> {
    match v {
        0x0002 => Some(("SSL 2.0", Severity::High)),
        0x0300 => Some(("SSL 3.0", Severity::High)),
        0x0301 => Some(("TLS 1.0", Severity::Medium)),
        0x0302 => Some(("TLS 1.1", Severity::Medium)),
        _ => None,
    }
}

/// The weakness of a cipher suite, from the IANA TLS Cipher Suites
/// registry: NULL encryption, EXPORT grade, anonymous key exchange, RC4,
/// single DES, triple DES (Sweet32). `None` for the others.
pub fn weak_cipher(id: u16) -> Option<&'static str> {
    const NULL: &[u16] = &[
        0x0000, 0x0001, 0x0002, 0x002C, 0x002D, 0x002E, 0x003B, 0x00B0, 0x00B1, 0x00B4, 0x00B5,
        0x00B8, 0x00B9, 0xC001, 0xC006, 0xC00B, 0xC010, 0xC015, 0xC039, 0xC03A, 0xC03B,
    ];
    const EXPORT: &[u16] = &[
        0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014, 0x0017, 0x0019, 0x0026, 0x0027,
        0x0028, 0x0029, 0x002A, 0x002B, 0x0062, 0x0063, 0x0064, 0x0065,
    ];
    const ANON: &[u16] = &[
        0x0018, 0x001A, 0x001B, 0x0034, 0x003A, 0x0046, 0x006C, 0x006D, 0x0089, 0x009B, 0x00A6,
        0x00A7, 0x00BF, 0x00C5, 0xC016, 0xC017, 0xC018, 0xC019,
    ];
    const RC4: &[u16] = &[
        0x0004, 0x0005, 0x0020, 0x0024, 0x008A, 0x008E, 0x0092, 0xC002, 0xC007, 0xC00C, 0xC011,
        0xC033,
    ];
    const DES: &[u16] = &[0x0009, 0x000C, 0x000F, 0x0012, 0x0015, 0x001E, 0x0022];
    const TRIPLE_DES: &[u16] = &[
        0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001F, 0x0023, 0x008B, 0x008F, 0x0093, 0xC003,
        0xC008, 0xC00D, 0xC012, 0xC01A, 0xC01B, 0xC01C, 0xC034,
    ];
    [
        (NULL, "NULL"),
        (EXPORT, "EXPORT"),
        (ANON, "anonymous"),
        (RC4, "RC4"),
        (DES, "DES"),
        (TRIPLE_DES, "3DES"),
    ]
    .into_iter()
    .find(|(ids, _)| ids.contains(&id))
    .map(|(_, class)| class)
}

/// Whether `name` is one of the certificate's alternative names (or, with
/// none, its common names), a wildcard covering one leftmost label (RFC 6125
/// §6.4.3).
pub fn name_covered(name: &str, cert: &CertificateInfo) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let names = if cert.alternative_names.is_empty() {
        &cert.common_names
    } else {
        &cert.alternative_names
    };
    names.iter().any(|n| {
        let n = n.trim_end_matches('.').to_ascii_lowercase();
        match n.strip_prefix("*.") {
            Some(rest) => name
                .split_once('.')
                .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
            None => n == name,
        }
    })
}

impl Analyzer for TlsAuditor {
    fn name(&self) -> &'static str {
        "tls_audit"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        self.pending.len() * 96 + self.pending_order.len() * 8 + self.tracked.len() * 1024
    }

    fn set_memory_budget(&mut self, bytes: usize) {
        // Pending flows take the most; findings are few.
        self.config.max_pending_flows = self
            .config
            .max_pending_flows
            .min((bytes / 2 / 104).max(1024));
        self.config.max_findings = self.config.max_findings.min((bytes / 2 / 1024).max(256));
    }

    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        let AppEvent::Tls(tls) = event else { return };
        let ctx = &tls.ctx;
        match &tls.message {
            TlsMessage::ClientHello(ch) => {
                if let Some(flow) = ctx.flow_id {
                    self.remember(flow, ch.server_name.clone());
                }
                if let Some(v) = &ch.ja3_hash {
                    self.check_listed(out, ctx, FingerprintKind::Ja3, v);
                }
                if let Some(v) = &ch.ja4 {
                    self.check_listed(out, ctx, FingerprintKind::Ja4, v);
                }
            }
            TlsMessage::ServerHello(sh) => {
                if let Some(v) = &sh.ja3s_hash {
                    self.check_listed(out, ctx, FingerprintKind::Ja3s, v);
                }
                if let Some(v) = &sh.ja4s {
                    self.check_listed(out, ctx, FingerprintKind::Ja4s, v);
                }
                self.server_hello(ctx, sh, out)
            }
            TlsMessage::Certificate {
                chain,
                certificates,
            } => {
                for c in certificates {
                    self.check_listed(out, ctx, FingerprintKind::CertSha1, &c.sha1);
                    self.check_listed(out, ctx, FingerprintKind::CertSha256, &c.sha256);
                    if let Some(ja4x) = &c.ja4x {
                        self.check_listed(out, ctx, FingerprintKind::Ja4x, ja4x);
                    }
                }
                self.certificate(ctx, (chain, certificates), out)
            }
        }
    }

    fn finish(&mut self, out: &mut dyn FindingSink) {
        // The latest state of every finding (counts since the last report).
        for t in self.tracked.values() {
            out.finding(t.finding.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(sans: &[&str], cns: &[&str]) -> CertificateInfo {
        CertificateInfo {
            alternative_names: sans.iter().map(|s| s.to_string()).collect(),
            common_names: cns.iter().map(|s| s.to_string()).collect(),
            ..CertificateInfo::default()
        }
    }

    #[test]
    fn names_and_wildcards() {
        let c = cert(&["example.com", "*.example.com"], &["ignored.test"]);
        assert!(name_covered("example.com", &c));
        assert!(name_covered("WWW.Example.com.", &c));
        assert!(!name_covered("a.b.example.com", &c));
        assert!(!name_covered("ignored.test", &c));
        assert!(!name_covered("badexample.com", &c));
        let cn_only = cert(&[], &["host.lab"]);
        assert!(name_covered("host.lab", &cn_only));
    }

    fn event(flow: u64, message: TlsMessage) -> AppEvent {
        use std::net::{IpAddr, Ipv4Addr};
        let ep = |a, p| netsec_model::Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), p);
        AppEvent::Tls(netsec_model::TlsEvent {
            ctx: EventContext {
                ts: Timestamp::from_secs_nanos(1_700_000_000, 0),
                packet_number: flow,
                flow_id: Some(FlowId(flow)),
                community_id: None,
                src: ep(2, 443),
                dst: ep(1, 50_000),
                transport: netsec_model::Transport::Tcp,
                direction: netsec_model::Direction::ToClient,
            },
            message,
        })
    }

    #[test]
    fn a_certificate_for_another_name_and_a_short_key() {
        let mut audit = TlsAuditor::new(TlsAuditConfig::default());
        let mut out: Vec<Finding> = Vec::new();
        let hello = netsec_model::ClientHello {
            server_name: Some("bank.example".into()),
            ..Default::default()
        };
        audit.on_event(&event(7, TlsMessage::ClientHello(hello)), &mut out);
        let leaf = CertificateInfo {
            subject: "CN=other.example".into(),
            issuer: "CN=Some CA".into(),
            alternative_names: vec!["other.example".into()],
            public_key_algorithm: "RSA".into(),
            public_key_bits: 1024,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            not_before: Some(Timestamp::from_secs_nanos(1_600_000_000, 0)),
            not_after: Some(Timestamp::from_secs_nanos(1_800_000_000, 0)),
            ..CertificateInfo::default()
        };
        let chain = TlsMessage::Certificate {
            chain: vec![vec![]],
            certificates: vec![leaf],
        };
        audit.on_event(&event(7, chain), &mut out);
        let mut kinds: Vec<&str> = out.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort_unstable();
        assert_eq!(kinds, ["tls_name_mismatch", "tls_weak_key"]);
        let key = out.iter().find(|f| f.kind == "tls_weak_key").unwrap();
        assert_eq!(
            key.evidence.measurements.last().map(|m| m.to_string()),
            Some("key_bits = 1024 bits (< 2048)".to_string())
        );
        let name = out.iter().find(|f| f.kind == "tls_name_mismatch").unwrap();
        assert!(name.evidence.summary.contains("bank.example"));
        // The server is the one that sent the certificate.
        assert!(name.id.contains("10.0.0.2:443"), "{}", name.id);
    }

    #[test]
    fn weak_suites_and_versions() {
        assert_eq!(weak_cipher(0x0005), Some("RC4"));
        assert_eq!(weak_cipher(0x000A), Some("3DES"));
        assert_eq!(weak_cipher(0x0000), Some("NULL"));
        assert_eq!(weak_cipher(0x0003), Some("EXPORT"));
        assert_eq!(weak_cipher(0x0018), Some("anonymous"));
        assert_eq!(weak_cipher(0x1301), None);
        assert_eq!(weak_cipher(0xC02F), None);
        assert!(weak_version(0x0301).is_some());
        assert!(weak_version(0x0303).is_none());
        assert!(weak_version(0x0304).is_none());
    }
}
