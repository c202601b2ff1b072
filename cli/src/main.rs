//! `netsec`: the command-line front end. It parses arguments, wires the
//! library crates into a pipeline and prints; no analysis happens here.
//!
//! Each subcommand lives in its own module under `commands/`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// The binary's allocator: mimalloc. A run makes and frees small objects
/// per packet and per record (events, names, log buffers); glibc's malloc
/// spent 12–20 % of a one-thread `analyze` in malloc, free and its
/// consolidation (perf, dns and short shapes). The libraries leave the
/// choice to whoever embeds them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Fast, embeddable network-security toolkit.
#[derive(Debug, Parser)]
#[command(name = "netsec", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // One variant per subcommand module; keep one line each.
    /// Analyse captures: protocols, flows, logs, findings, summary.
    Analyze(Box<commands::analyze::AnalyzeArgs>),
    /// Per-host baselines: learn them from ordinary days (`--baseline` scores).
    Baseline(commands::baseline::BaselineArgs),
    /// The detection configuration: print the defaults, check a file.
    Config(commands::config::ConfigArgs),
    /// Block rules that contain the incidents a capture shows, for a firewall.
    Contain(Box<commands::contain::ContainArgs>),
    /// A DNS report: passive DNS, top domains, clients, resolvers, DNS findings.
    Dns(commands::dns::DnsArgs),
    /// Indicators of compromise as STIX 2.1, CSV, MISP or JSON.
    Ioc(Box<commands::ioc::IocArgs>),
    /// Kubernetes NetworkPolicy reachability: list and diff connections.
    K8s(commands::k8s::K8sArgs),
    /// Signature rules (Suricata / ET Open): check what loads, list them.
    Rules(commands::rules::RulesArgs),
    /// Active TCP scan with service detection (only hosts you may scan).
    Scan(Box<commands::scan::ScanArgs>),
    /// Findings correlated into incidents: terminal, JSON or HTML report.
    Timeline(Box<commands::timeline::TimelineArgs>),
    /// TLS tools: audit servers (chain, versions, suites, HSTS).
    Tls(commands::tls::TlsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // One arm per subcommand; each returns an ExitCode.
        Command::Analyze(args) => commands::analyze::run(*args),
        Command::Baseline(args) => commands::baseline::run(args),
        Command::Config(args) => commands::config::run(args),
        Command::Contain(args) => commands::contain::run(*args),
        Command::Dns(args) => commands::dns::run(args),
        Command::Ioc(args) => commands::ioc::run(*args),
        Command::K8s(args) => commands::k8s::run(args),
        Command::Rules(args) => commands::rules::run(args),
        Command::Scan(args) => commands::scan::run(*args),
        Command::Timeline(args) => commands::timeline::run(*args),
        Command::Tls(args) => commands::tls::run(args),
    }
}
