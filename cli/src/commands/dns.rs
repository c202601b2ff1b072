//! `netsec dns`: a DNS-focused report of captures — passive DNS (queries
//! matched to responses, latency, unanswered), top domains, per-client
//! profiles and NXDOMAIN rates, resolvers, and the DNS findings (tunnels,
//! DGAs, spoofing, threat lists) with their reasons.
//!
//! Exit codes: 0 done, 1 a DNS finding at or above `--fail-on`, 2 input error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use netsec_analyze::{expand_paths, Analysis, Input};
use netsec_dns::{DnsReport, PassiveDns};
use netsec_model::{Finding, Severity, SharedAnalyzer};
use serde::Serialize;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// A DNS report of captures.
#[derive(Debug, Args)]
pub struct DnsArgs {
    /// Capture files or directories.
    #[arg(required = true, value_name = "CAPTURE")]
    inputs: Vec<PathBuf>,

    /// Entries per table.
    #[arg(long, default_value_t = 10)]
    top: usize,

    /// Detection configuration (its `[dns]` section).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Threat lists (repeatable; see `netsec analyze --dns-intel`), with
    /// those of the configuration's `dns.intel`.
    #[arg(long, value_name = "FILE")]
    dns_intel: Vec<PathBuf>,

    /// Exit 1 when a DNS finding is at or above this severity.
    #[arg(long)]
    fail_on: Option<Severity>,

    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Serialize)]
struct Output<'a> {
    report: &'a DnsReport,
    findings: &'a [Finding],
}

/// Run `netsec dns`.
pub fn run(args: DnsArgs) -> ExitCode {
    match report(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("netsec: {e}");
            ExitCode::from(2)
        }
    }
}

fn report(args: &DnsArgs) -> Result<u8, String> {
    let mut intel = netsec_dns::IntelLists::default();
    let config = match &args.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let config = netsec_dns::DnsConfig::from_netsec_toml(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            config
                .load_intel(&mut intel, Some((path, &text)))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            config
        }
        None => netsec_dns::DnsConfig::default(),
    };
    for f in &args.dns_intel {
        intel.load(f).map_err(|e| e.to_string())?;
    }
    let paths = expand_paths(&args.inputs);
    if paths.is_empty() {
        return Err("no capture files found in the given paths".into());
    }
    let (passive, handle) = SharedAnalyzer::new(PassiveDns::new());
    let mut analysis = Analysis::new()
        .inputs(paths.into_iter().map(Input::Path).collect::<Vec<_>>())
        .threads(args.threads.unwrap_or(0))
        .analyzer(Box::new(passive))
        .analyzers(config.analyzers());
    if !intel.is_empty() {
        analysis = analysis.analyzer(Box::new(netsec_dns::DnsIntelMatcher::new(intel)));
    }
    let (summary, mut findings) = analysis.run_with_findings().map_err(|e| e.to_string())?;
    for input in &summary.inputs {
        if let Some(e) = &input.error {
            return Err(e.to_string());
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.time.start.cmp(&b.time.start))
    });
    let report = handle
        .lock()
        .map_err(|_| "the passive DNS collector failed".to_string())?
        .report(args.top);
    match args.format {
        Format::Json => {
            let doc = serde_json::to_string_pretty(&Output {
                report: &report,
                findings: &findings,
            })
            .map_err(|e| e.to_string())?;
            println!("{doc}");
        }
        Format::Text => print!("{}", text(&report, &findings)),
    }
    let failing = args
        .fail_on
        .is_some_and(|t| findings.iter().any(|f| f.severity >= t));
    Ok(u8::from(failing))
}

fn text(r: &DnsReport, findings: &[Finding]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "DNS: {} queries, {} responses ({} matched), {} unanswered, {} unsolicited",
        r.queries, r.responses, r.matched, r.unanswered, r.unsolicited
    );
    if let Some((p50, p90, p99)) = r.latency_ms {
        let _ = writeln!(
            s,
            "latency: p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms (within a factor of 2)"
        );
    }
    let join = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "response codes: {}", join(&r.rcodes));
    let _ = writeln!(s, "query types: {}", join(&r.qtypes));
    let _ = writeln!(
        s,
        "\ntop domains                          queries  nxdomain  clients"
    );
    for d in &r.top_domains {
        let _ = writeln!(
            s,
            "  {:<34} {:>7} {:>9} {:>8}",
            d.domain, d.queries, d.nxdomain, d.clients
        );
    }
    let _ = writeln!(
        s,
        "\nclients                  queries  domains  nxdomain rate  unanswered"
    );
    for c in &r.clients {
        let ip = c.client.map(|i| i.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:<22} {:>7} {:>8} {:>13.2} {:>11}",
            ip,
            c.queries,
            c.distinct_domains,
            c.nxdomain_rate(),
            c.unanswered
        );
    }
    let _ = writeln!(s, "\nresolvers                queries  answered  median ms");
    for v in &r.servers {
        let ip = v.server.map(|i| i.to_string()).unwrap_or_default();
        let ms = v
            .median_latency_ms
            .map_or("-".to_string(), |m| format!("{m:.2}"));
        let _ = writeln!(
            s,
            "  {:<22} {:>7} {:>9} {:>10}",
            ip, v.queries, v.answered, ms
        );
    }
    let _ = writeln!(s, "\nsuspicious ({}):", findings.len());
    for f in findings {
        let _ = writeln!(s, "  [{}] {} — {}", f.severity, f.title, f.evidence.summary);
    }
    s
}
