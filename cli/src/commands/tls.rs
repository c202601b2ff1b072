//! `netsec tls audit`: the active TLS auditor of netsec-tls, over one or
//! many servers, as a table or JSON.
//!
//! Exit codes: 0 nothing at or above `--fail-on` and no certificate within
//! `--warn-days` of expiry, 1 otherwise, 2 a server could not be audited
//! (refused, timed out, not TLS) or a usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use netsec_model::Severity;
use netsec_tls::active::{audit_all, AuditOptions, HostReport, Starttls};

/// TLS tools.
#[derive(Debug, Args)]
pub struct TlsArgs {
    #[command(subcommand)]
    command: TlsCommand,
}

#[derive(Debug, Subcommand)]
enum TlsCommand {
    /// Audit servers: chain, versions, cipher suites, HSTS (only hosts you may test).
    Audit(AuditArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct AuditArgs {
    /// Servers: HOST, HOST:PORT or [V6]:PORT (port 443, or the STARTTLS
    /// protocol's).
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,

    /// Read more targets from this file, one per line (`#` comments).
    #[arg(short = 'f', long, value_name = "FILE")]
    file: Option<PathBuf>,

    /// Server name for SNI and the certificate name check (default: the host).
    #[arg(long, value_name = "NAME")]
    sni: Option<String>,

    /// Upgrade with STARTTLS first: smtp, imap, pop3 or ftp.
    #[arg(long, value_name = "PROTO")]
    starttls: Option<Starttls>,

    /// Trust these CA certificates (PEM) instead of Mozilla's roots.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,

    /// Certificates expiring within this many days are findings (and exit 1).
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    warn_days: u32,

    /// Chain only: do not enumerate versions and cipher suites.
    #[arg(long)]
    no_enumerate: bool,

    /// Ask for the HSTS header even off port 443.
    #[arg(long)]
    hsts: bool,

    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, default_value = "high")]
    fail_on: Severity,

    /// Servers audited at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,

    /// Connect and read timeout, seconds.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Run `netsec tls`.
pub fn run(args: TlsArgs) -> ExitCode {
    match args.command {
        TlsCommand::Audit(a) => audit(a),
    }
}

fn audit(args: AuditArgs) -> ExitCode {
    let mut targets = args.targets.clone();
    if let Some(path) = &args.file {
        match std::fs::read_to_string(path) {
            Ok(text) => targets.extend(
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                    .filter(|l| !l.is_empty()),
            ),
            Err(e) => {
                eprintln!("netsec: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if targets.is_empty() {
        eprintln!("netsec: no target: give HOST[:PORT] or -f FILE");
        return ExitCode::from(2);
    }
    let options = AuditOptions {
        timeout: Duration::from_secs_f64(args.timeout.clamp(0.1, 600.0)),
        sni: args.sni.clone(),
        starttls: args.starttls,
        ca_file: args.ca_file.clone(),
        warn_days: args.warn_days,
        enumerate: !args.no_enumerate,
        http: args.hsts.then_some(true),
    };
    let reports = audit_all(&targets, &options, args.concurrency);
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&reports) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("netsec: {e}");
                return ExitCode::from(2);
            }
        },
        Format::Text => {
            for r in &reports {
                print!("{}", text(r));
            }
        }
    }
    if reports.iter().any(|r| r.error.is_some()) {
        return ExitCode::from(2);
    }
    let failing = reports.iter().flat_map(|r| r.findings.iter()).any(|f| {
        f.severity >= args.fail_on
            || f.kind == "tls_certificate_expiring"
            || f.kind == "tls_certificate_expired"
    });
    ExitCode::from(u8::from(failing))
}

fn text(r: &HostReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let addr = r.address.map(|a| a.to_string()).unwrap_or_default();
    let _ = writeln!(s, "{} ({addr}) name {}", r.target, r.name);
    if let Some(e) = &r.error {
        let _ = writeln!(s, "  error: {e}\n");
        return s;
    }
    for v in &r.versions {
        let order = match v.server_order {
            Some(true) => ", server's order",
            Some(false) => ", client's order",
            None => "",
        };
        let _ = writeln!(
            s,
            "  {:<8} {}{order}",
            v.version,
            if v.supported {
                format!("yes, {} suite(s)", v.suites.len())
            } else {
                "no".to_string()
            }
        );
        for suite in &v.suites {
            let _ = writeln!(
                s,
                "           {:<48} {}",
                suite.name,
                suite
                    .weakness
                    .map(|w| format!("WEAK: {w}"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(c) = &r.chain {
        if let Some(leaf) = &c.leaf {
            let _ = writeln!(
                s,
                "  certificate  {} (issuer {})\n               {} {}-bit, {}, SANs {}",
                leaf.subject,
                leaf.issuer,
                leaf.public_key_algorithm,
                leaf.public_key_bits,
                leaf.signature_algorithm,
                leaf.alternative_names.join(" ")
            );
        }
        let _ = writeln!(
            s,
            "  chain        {} certificate(s), {}{}; name {}; {} day(s) left; OCSP {}",
            c.length,
            if c.valid { "valid" } else { "NOT VALID" },
            c.problem
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default(),
            if c.name_matches {
                "matches"
            } else {
                "DOES NOT MATCH"
            },
            c.days_remaining.map_or("?".into(), |d| d.to_string()),
            if c.ocsp_stapled {
                "stapled"
            } else {
                "not stapled"
            }
        );
    }
    if let Some(h) = &r.hsts {
        let _ = writeln!(s, "  HSTS         {h}");
    }
    for f in &r.findings {
        let _ = writeln!(s, "  [{}] {} — {}", f.severity, f.title, f.evidence.summary);
    }
    s.push('\n');
    s
}
