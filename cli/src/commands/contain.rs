//! `netsec contain`: the smallest set of block rules that contains the
//! incidents a capture shows, with their risk, rendered for a firewall.
//! netsec-contain decides; this module runs the analysis that feeds it and
//! prints.
//!
//! Exit codes: 0 the plan stops every malicious conversation (or there is
//! nothing to contain), 1 some malicious conversation is not stopped (its
//! only hostile address is on --never-block), 2 usage or input error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, PoisonError};

use clap::{Args, ValueEnum};
use ipnet::IpNet;
use netsec_analyze::{expand_paths, Analysis, Input};
use netsec_contain::firewall::{
    plan, render, verify, Assets, Conversations, Plan, PlanConfig, RenderOptions, Rendered, Target,
    Verification,
};
use netsec_model::{Severity, SharedAnalyzer, Timestamp};
use serde::Serialize;

use super::detectors::DetectorArgs;

const EXIT_CLEAN: u8 = 0;
const EXIT_UNCONTAINED: u8 = 1;
const EXIT_INPUT_ERROR: u8 = 2;

/// Output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The rules on stdout (or -o), the report on stderr (or stdout with -o).
    Text,
    /// One JSON document: plan, rendered rules, rollback, verification.
    Json,
}

/// Contain an incident: block rules from a capture's findings.
#[derive(Debug, Args)]
pub struct ContainArgs {
    /// Capture files or directories (the flows the rules are weighed against).
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,

    /// Findings to contain, from a saved run (`findings.jsonl` of
    /// `netsec analyze --out`); without it the detectors run on the capture.
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,

    /// Assets not to cut off (TOML: name, addresses, services, owner,
    /// criticality); rules that would cut a high or critical one are flagged
    /// with a narrower alternative.
    #[arg(long, value_name = "FILE")]
    pub assets: Option<PathBuf>,

    /// What to render for: nftables, iptables, ip6tables, pf, cisco-asa,
    /// cisco-ios, juniper-srx, aws-sg, azure-nsg, windows-firewall,
    /// suricata, rpz, or k8s (NetworkPolicies isolating the compromised
    /// workloads; needs --cluster).
    #[arg(long, default_value = "nftables", value_parser = parse_target)]
    pub target: Rendering,

    /// With --target k8s: the cluster's manifests (files or directories),
    /// whose pods' status.podIP place the capture's addresses.
    #[arg(long, value_name = "PATH")]
    pub cluster: Vec<PathBuf>,

    /// With --target k8s: more addresses, lines `ADDRESS ns/name[Kind]` or
    /// `ADDRESS service:ns/name`.
    #[arg(long, value_name = "FILE")]
    pub address_map: Option<PathBuf>,

    /// Write the rules here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the rollback commands here.
    #[arg(long, value_name = "FILE")]
    pub rollback: Option<PathBuf>,

    /// Replay the capture's conversations through the rules and report
    /// malicious and benign conversations blocked.
    #[arg(long)]
    pub verify: bool,

    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// How long the rules live: seconds, or with s, m, h or d (0: until
    /// rolled back).
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub ttl: u64,

    /// Findings below this severity are not contained.
    #[arg(long, default_value = "medium")]
    pub min_severity: Severity,

    /// Findings below this confidence are not contained.
    #[arg(long, default_value_t = 0.5)]
    pub min_confidence: f64,

    /// What blocking one benign flow costs, in rules (higher: narrower rules).
    #[arg(long, default_value_t = 1.0)]
    pub benign_weight: f64,

    /// Never block these addresses or networks (repeatable).
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    pub never_block: Vec<IpNet>,

    /// Threads for the analysis (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub detectors: DetectorArgs,
}

/// A firewall, or the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// Block rules for a firewall.
    Firewall(Target),
    /// NetworkPolicies isolating compromised workloads.
    K8s,
}

fn parse_target(s: &str) -> Result<Rendering, String> {
    if s.trim().eq_ignore_ascii_case("k8s") {
        return Ok(Rendering::K8s);
    }
    s.parse()
        .map(Rendering::Firewall)
        .map_err(|e: netsec_contain::firewall::TargetParseError| e.to_string())
}

fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("not an address or CIDR: {s:?}"))
}

/// `90`, `30m`, `24h`, `7d`: seconds.
fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (90, 30m, 24h, 7d)"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown duration unit {other:?} (s, m, h, d)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{s:?} is too long"))
}

#[derive(Serialize)]
struct Report<'a> {
    plan: &'a Plan,
    rendered: &'a Rendered,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a Verification>,
}

/// Run `netsec contain`.
pub fn run(args: ContainArgs) -> ExitCode {
    match contain(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("netsec: {e}");
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

fn contain(args: &ContainArgs) -> Result<u8, String> {
    let assets = match &args.assets {
        Some(p) => Assets::load(p).map_err(|e| e.to_string())?,
        None => Assets::default(),
    };
    let detectors = args.detectors.load()?;
    let saved = args
        .findings
        .as_ref()
        .map(|p| netsec_ioc::read_findings(p).map_err(|e| e.to_string()))
        .transpose()?;
    let paths = expand_paths(&args.inputs);
    if paths.is_empty() {
        return Err("no capture files found in the given paths".into());
    }
    let (collector, table) = SharedAnalyzer::new(Conversations::default());
    let mut analysis = Analysis::new()
        .inputs(paths.into_iter().map(Input::Path).collect::<Vec<_>>())
        .threads(args.threads.unwrap_or(0))
        .event_enricher(Arc::new(netsec_tls::enrich))
        .analyzer(Box::new(collector));
    if saved.is_none() {
        analysis = detectors.add_to(analysis);
    }
    let (summary, found) = analysis.run_with_findings().map_err(|e| e.to_string())?;
    for input in &summary.inputs {
        if let Some(e) = &input.error {
            return Err(e.to_string());
        }
    }
    let findings = saved.unwrap_or(found);
    let mut table: Conversations =
        std::mem::take(&mut *table.lock().unwrap_or_else(PoisonError::into_inner));

    let mut config = PlanConfig {
        benign_weight: args.benign_weight,
        ttl_secs: args.ttl,
        ..PlanConfig::default()
    };
    config.threats.min_severity = args.min_severity;
    config.threats.min_confidence = args.min_confidence;
    config.threats.never_block = args.never_block.clone();
    config.threats.home = detectors
        .detect
        .network
        .home
        .iter()
        .filter_map(|c| c.to_string().parse().ok())
        .collect();
    let plan = plan(&findings, &mut table, &assets, &config);
    let options = RenderOptions {
        now: now(),
        ..RenderOptions::default()
    };
    let rendered = match args.target {
        Rendering::Firewall(target) => render(&plan, target, &options),
        Rendering::K8s => isolate_in_cluster(args, &plan, &table)?,
    };
    let verification = args.verify.then(|| verify(&plan, &table));

    if let Some(path) = &args.rollback {
        std::fs::write(path, &rendered.rollback).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    match args.format {
        ReportFormat::Json => {
            let doc = serde_json::to_string_pretty(&Report {
                plan: &plan,
                rendered: &rendered,
                verification: verification.as_ref(),
            })
            .map_err(|e| e.to_string())?;
            if let Some(path) = &args.output {
                std::fs::write(path, &rendered.config)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            println!("{doc}");
        }
        ReportFormat::Text => {
            let report = report_text(&plan, &rendered, verification.as_ref());
            match &args.output {
                Some(path) => {
                    std::fs::write(path, &rendered.config)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    print!("{report}");
                }
                None => {
                    eprint!("{report}");
                    print!("{}", rendered.config);
                }
            }
        }
    }
    Ok(if plan.uncovered.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_UNCONTAINED
    })
}

/// `--target k8s`: NetworkPolicies isolating the compromised workloads,
/// checked against the cluster with them added.
fn isolate_in_cluster(
    args: &ContainArgs,
    plan: &Plan,
    table: &Conversations,
) -> Result<Rendered, String> {
    use netsec_contain::k8s::{isolate::isolate, load_paths, traffic::AddressMap};
    if args.cluster.is_empty() {
        return Err("--target k8s needs --cluster MANIFESTS".into());
    }
    let cluster = load_paths(&args.cluster).map_err(|e| e.to_string())?;
    let mut map = AddressMap::from_cluster(&cluster);
    if let Some(path) = &args.address_map {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for w in map.add_mapping_text(&text, &path.display().to_string()) {
            eprintln!("netsec: warning: {w}");
        }
    }
    let iso = isolate(plan, table, &cluster, &map);
    let mut notes = Vec::new();
    if iso.compromised.is_empty() {
        notes.push("no compromised address belongs to a workload of the cluster".to_string());
    }
    for (w, findings) in &iso.compromised {
        notes.push(format!("isolates {w} for {}", findings.join(", ")));
    }
    notes.push(format!(
        "keeps {} needed connection(s); denies {} malicious one(s)",
        iso.kept.len(),
        iso.cut.len()
    ));
    for c in &iso.still_allowed {
        notes.push(format!(
            "STILL ALLOWED: {} -> {} {}/{} (another policy allows it)",
            c.src, c.dst, c.protocol, c.port
        ));
    }
    for c in &iso.lost {
        notes.push(format!(
            "CUT: needed {} -> {} {}/{}",
            c.src, c.dst, c.protocol, c.port
        ));
    }
    Ok(Rendered {
        target: "k8s".to_string(),
        config: iso.yaml(),
        rollback: "kubectl delete networkpolicy -A -l app.kubernetes.io/managed-by=netsec,netsec/purpose=isolate\n".to_string(),
        notes,
    })
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_secs_nanos(since.as_secs() as i64, 0)
}

/// How many conversations a list shows before "… and N more".
const SHOWN: usize = 5;

fn report_text(plan: &Plan, rendered: &Rendered, verification: Option<&Verification>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let t = &plan.totals;
    let _ = writeln!(
        s,
        "netsec contain: {} finding(s) to contain, {} passed over; {} conversations weighed ({} malicious, {} flows; {} benign, {} flows)",
        plan.threats.len(),
        plan.skipped.len(),
        t.conversations,
        t.malicious_conversations,
        t.malicious_flows,
        t.benign_conversations,
        t.benign_flows
    );
    if plan.is_empty() {
        let _ = writeln!(s, "nothing to block");
    }
    let method = match plan.method {
        netsec_contain::firewall::cover::CoverMethod::Exact => "exact minimum".to_string(),
        netsec_contain::firewall::cover::CoverMethod::Greedy { bound } => {
            format!("greedy, within {bound:.2}x of the minimum")
        }
        netsec_contain::firewall::cover::CoverMethod::Trivial => "nothing to cover".to_string(),
    };
    let _ = writeln!(s, "{} rule(s), {method}", plan.rules.len());
    for r in &plan.rules {
        let flows: u64 = r.stops.iter().map(|c| c.flows).sum();
        let _ = writeln!(
            s,
            "\n{}  {}\n  for: {}",
            r.id,
            r.matcher,
            r.findings.join(", ")
        );
        let _ = writeln!(
            s,
            "  stops {} malicious conversation(s), {flows} flow(s):",
            r.stops.len()
        );
        for c in r.stops.iter().take(SHOWN) {
            let _ = writeln!(s, "    {} ({} flows, {})", c.key, c.flows, c.time.start);
        }
        if r.stops.len() > SHOWN {
            let _ = writeln!(s, "    … and {} more", r.stops.len() - SHOWN);
        }
        if r.also_stops.is_empty() {
            let _ = writeln!(s, "  stops no benign conversation");
        } else {
            let _ = writeln!(
                s,
                "  also stops {} benign conversation(s), {} flow(s), {} bytes, of {} host(s):",
                r.also_stops.len(),
                r.risk.benign_flows,
                r.risk.benign_bytes,
                r.risk.benign_hosts
            );
            for c in r.also_stops.iter().take(SHOWN) {
                let _ = writeln!(s, "    {} ({} flows)", c.key, c.flows);
            }
            if r.also_stops.len() > SHOWN {
                let _ = writeln!(s, "    … and {} more", r.also_stops.len() - SHOWN);
            }
        }
        for a in &r.risk.assets {
            let _ = writeln!(
                s,
                "  asset {} ({:?}, owner {}): {} benign flow(s){}",
                a.name,
                a.criticality,
                if a.owner.is_empty() {
                    "unknown"
                } else {
                    &a.owner
                },
                a.flows,
                if a.blocks_asset_address {
                    "; the rule blocks the asset's own address"
                } else {
                    ""
                }
            );
        }
        if r.risk.cuts_critical {
            let _ = writeln!(
                s,
                "  RISK: cuts a high or critical asset; review before applying"
            );
            if let Some(alt) = &r.risk.alternative {
                let _ = writeln!(
                    s,
                    "  narrower alternative ({} benign flow(s){}):",
                    alt.benign_flows,
                    if alt.cuts_critical {
                        ", still touches a critical asset"
                    } else {
                        ""
                    }
                );
                for m in &alt.rules {
                    let _ = writeln!(s, "    {m}");
                }
            }
        }
    }
    for d in &plan.domains {
        let _ = writeln!(s, "\ndomain {}  for: {}", d.domain, d.findings.join(", "));
    }
    for m in &plan.macs {
        let _ = writeln!(s, "\nMAC {}  for: {}", m.mac, m.findings.join(", "));
    }
    for k in &plan.uncovered {
        let _ = writeln!(
            s,
            "\nNOT CONTAINED: {k} (its hostile side is on --never-block)"
        );
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(s, "\npassed over:");
        for f in &plan.skipped {
            let _ = writeln!(s, "  {}: {}", f.finding, f.reason);
        }
    }
    for n in &rendered.notes {
        let _ = writeln!(s, "note ({}): {n}", rendered.target);
    }
    if let Some(v) = verification {
        let _ = writeln!(
            s,
            "\nverify: malicious blocked {} conversation(s) / {} flow(s), passed {}; benign blocked {} / {} flow(s), passed {} / {} flow(s)",
            v.malicious_blocked.0,
            v.malicious_blocked.1,
            v.malicious_passed.len(),
            v.benign_blocked.0,
            v.benign_blocked.1,
            v.benign_passed.0,
            v.benign_passed.1
        );
    }
    let _ = writeln!(s, "rollback:\n{}", rendered.rollback.trim_end());
    s
}
