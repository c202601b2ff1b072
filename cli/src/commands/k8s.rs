//! `netsec k8s`: Kubernetes NetworkPolicy reachability.
//!
//! `list DIR` prints every allowed connection (netpol-analyzer's format by
//! default); `diff DIR1 DIR2` prints connections added, removed and changed
//! and exits 1 when there are any (for CI review); `audit DIR` prints
//! findings; `check DIR CAPTURE` sets observed flows against the policies
//! and `suggest DIR CAPTURE` writes least-privilege policies from them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use netsec_capture::CaptureReader;
use netsec_contain::k8s::layout::connlist_text;
use netsec_contain::k8s::traffic::{
    to_yaml, violation_finding, AddressMap, PolicyChecker, PolicySuggester, Verdict,
};
use netsec_contain::k8s::{connections, diff_connections, load_paths, Cluster, Connection};
use netsec_model::FlowRecord;
use netsec_proto::{Engine, EngineConfig, EngineSink};

/// Kubernetes network-policy analysis.
#[derive(Debug, Args)]
pub struct K8sArgs {
    #[command(subcommand)]
    command: K8sCommand,
}

#[derive(Debug, Subcommand)]
enum K8sCommand {
    /// Every allowed connection between workloads and external ranges.
    List {
        /// Manifest files or directories (YAML or JSON); `-` reads standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = ListFormat::Text)]
        output: ListFormat,
        /// Only connections from or to this workload (`ns/name` or `name`).
        #[arg(long)]
        focus_workload: Option<String>,
    },
    /// Findings: missing default-deny, exposure to any address, unrestricted
    /// egress, sensitive ports across namespaces, policies that do nothing.
    Audit {
        /// Manifest files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print findings as JSON lines (ECS) instead of text.
        #[arg(long)]
        json: bool,
        /// Exit 1 if any finding is at or above this severity.
        #[arg(long)]
        fail_on: Option<netsec_model::Severity>,
    },
    /// Observed flows of a capture against the policies: which were allowed,
    /// and which flowed although the policies deny them (exit 1 if any).
    Check {
        /// Manifest file or directory (pod IPs from `status.podIP`, Service cluster IPs).
        manifests: PathBuf,
        /// Capture file (pcap/pcapng, optionally gzip/zstd; `-` for standard input).
        capture: PathBuf,
        /// Address mapping file: `ADDRESS ns/name[Kind]` or `ADDRESS service:ns/name` lines.
        #[arg(long)]
        map: Option<PathBuf>,
        /// Print policy violations as JSON lines (ECS findings) instead of text.
        #[arg(long)]
        json: bool,
        /// Also print allowed and unanswered flows.
        #[arg(long)]
        all: bool,
    },
    /// Least-privilege NetworkPolicies allowing exactly the answered flows of a capture.
    Suggest {
        /// Manifest file or directory (workloads, pod IPs, Services).
        manifests: PathBuf,
        /// Capture file.
        capture: PathBuf,
        /// Address mapping file (as for `check`).
        #[arg(long)]
        map: Option<PathBuf>,
        /// Write the manifests here instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Connections added, removed or changed between two versions of a cluster.
    Diff {
        /// The old manifests.
        old: PathBuf,
        /// The new manifests.
        new: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Text,
    Json,
    Csv,
    Md,
    Dot,
}

fn load(paths: &[PathBuf]) -> Result<Cluster, String> {
    let merged = load_paths(paths).map_err(|e| e.to_string())?;
    for w in &merged.warnings {
        eprintln!("netsec: warning: {w}");
    }
    Ok(merged)
}

/// Every flow of a capture, handed to `on_flow` as the flow table ends it.
fn read_flows(capture: &Path, on_flow: &mut dyn FnMut(FlowRecord)) -> Result<(), String> {
    struct FlowSink<'a>(&'a mut dyn FnMut(FlowRecord));
    impl EngineSink for FlowSink<'_> {
        fn flow_end(&mut self, flow: FlowRecord) {
            (self.0)(flow);
        }
    }
    let mut reader =
        CaptureReader::open(capture).map_err(|e| format!("{}: {e}", capture.display()))?;
    let mut engine = Engine::new(EngineConfig::default());
    let mut sink = FlowSink(on_flow);
    loop {
        match reader.next_packet() {
            Ok(Some(raw)) => engine.process(&raw, &mut sink),
            Ok(None) => break,
            Err(e) => {
                // A truncated capture keeps the flows read so far.
                eprintln!("netsec: warning: {}: {e}", capture.display());
                break;
            }
        }
    }
    engine.finish(&mut sink);
    Ok(())
}

fn address_map(cluster: &Cluster, map: Option<&Path>) -> Result<AddressMap, String> {
    let mut addresses = AddressMap::from_cluster(cluster);
    if let Some(path) = map {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for w in addresses.add_mapping_text(&text, &path.display().to_string()) {
            eprintln!("netsec: warning: {w}");
        }
    }
    if addresses.is_empty() {
        eprintln!("netsec: warning: no pod or Service addresses in the manifests; give --map");
    }
    Ok(addresses)
}

fn check(
    manifests: PathBuf,
    capture: &Path,
    map: Option<&Path>,
    json: bool,
    all: bool,
) -> Result<ExitCode, String> {
    let cluster = load(&[manifests])?;
    let addresses = address_map(&cluster, map)?;
    let mut checker = PolicyChecker::new(&cluster, &addresses);
    let mut violations = 0u64;
    read_flows(capture, &mut |flow| {
        for v in checker.check(&flow) {
            if let Some(f) = violation_finding(&cluster, &v) {
                violations += 1;
                if json {
                    match serde_json::to_string(&netsec_model::ecs::FindingDocument(&f)) {
                        Ok(line) => println!("{line}"),
                        Err(e) => eprintln!("netsec: {e}"),
                    }
                } else {
                    println!("VIOLATION {}", f.evidence.summary);
                }
            } else if all && !json {
                let c = &v.connection;
                let what = match v.verdict {
                    Verdict::Allowed => "allowed",
                    _ => "denied (unanswered)",
                };
                println!("{what} {} => {} : {} {}", c.src, c.dst, c.protocol, c.port);
            }
        }
    })?;
    let s = checker.stats();
    eprintln!(
        "netsec: {} flows, {} checked: {} allowed, {} denied but answered, {} denied and unanswered; skipped {} outside the cluster, {} not TCP/UDP/SCTP, {} external IPv6, {} unresolved Service addresses",
        s.flows, s.checked, s.allowed, s.denied_answered, s.denied_unanswered, s.outside_cluster, s.not_transport, s.external_ipv6, s.unknown_service
    );
    Ok(ExitCode::from(u8::from(violations > 0)))
}

fn suggest(
    manifests: PathBuf,
    capture: &Path,
    map: Option<&Path>,
    output: Option<&Path>,
) -> Result<ExitCode, String> {
    let cluster = load(&[manifests])?;
    let addresses = address_map(&cluster, map)?;
    let mut suggester = PolicySuggester::new(&cluster, &addresses);
    read_flows(capture, &mut |flow| suggester.observe(&flow))?;
    let yaml = to_yaml(&suggester.suggest());
    eprintln!(
        "netsec: {} distinct connections observed; skipped {} flows that did not work (unanswered, refused, half-open) and {} outside the cluster or not TCP/UDP/SCTP{}",
        suggester.observed().len(),
        suggester.unanswered(),
        suggester.unresolved(),
        if suggester.dropped() > 0 {
            format!("; {} connections past capacity NOT included", suggester.dropped())
        } else {
            String::new()
        }
    );
    match output {
        Some(path) => std::fs::write(path, yaml).map_err(|e| format!("{}: {e}", path.display()))?,
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn focus(conns: Vec<Connection>, workload: Option<&str>) -> Vec<Connection> {
    let Some(w) = workload else { return conns };
    conns.into_iter().filter(|c| c.involves(w)).collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn render(cluster: &Cluster, conns: &[Connection], format: ListFormat) -> String {
    let mut out = String::new();
    match format {
        ListFormat::Text => out.push_str(&connlist_text(cluster, conns)),
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = conns
                .iter()
                .map(|c| {
                    serde_json::json!({"src": c.src.to_string(), "dst": c.dst.to_string(), "conn": c.conns.to_string(), "network": c.network})
                })
                .collect();
            out = serde_json::to_string_pretty(&v).unwrap_or_default();
            out.push('\n');
        }
        ListFormat::Csv => {
            out.push_str("src,dst,conn\n");
            for c in conns {
                out.push_str(&format!(
                    "{},{},{}\n",
                    csv_field(&c.src.to_string()),
                    csv_field(&c.dst.to_string()),
                    csv_field(&c.conns.to_string())
                ));
            }
        }
        ListFormat::Md => {
            out.push_str("| src | dst | conn |\n|-----|-----|------|\n");
            for c in conns {
                out.push_str(&format!("| {} | {} | {} |\n", c.src, c.dst, c.conns));
            }
        }
        ListFormat::Dot => {
            out.push_str("digraph {\n");
            for c in conns {
                out.push_str(&format!(
                    "\t\"{}\" -> \"{}\" [label=\"{}\"]\n",
                    c.src.to_string().replace('"', "\\\""),
                    c.dst.to_string().replace('"', "\\\""),
                    c.conns
                ));
            }
            out.push_str("}\n");
        }
    }
    out
}

/// Run `netsec k8s`.
pub fn run(args: K8sArgs) -> ExitCode {
    match args.command {
        K8sCommand::List {
            paths,
            output,
            focus_workload,
        } => match load(&paths) {
            Ok(cluster) => {
                let conns = focus(connections(&cluster), focus_workload.as_deref());
                print!("{}", render(&cluster, &conns, output));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("netsec: {e}");
                ExitCode::from(2)
            }
        },
        K8sCommand::Audit {
            paths,
            json,
            fail_on,
        } => {
            let cluster = match load(&paths) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("netsec: {e}");
                    return ExitCode::from(2);
                }
            };
            let findings = netsec_contain::k8s::audit(&cluster);
            for f in &findings {
                if json {
                    match serde_json::to_string(&netsec_model::ecs::FindingDocument(f)) {
                        Ok(line) => println!("{line}"),
                        Err(e) => eprintln!("netsec: {e}"),
                    }
                } else {
                    println!("[{:<6}] {} — {}", f.severity, f.title, f.evidence.summary);
                }
            }
            let worst = findings.iter().map(|f| f.severity).max();
            match (fail_on, worst) {
                (Some(t), Some(w)) if w >= t => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            }
        }
        K8sCommand::Check {
            manifests,
            capture,
            map,
            json,
            all,
        } => check(manifests, &capture, map.as_deref(), json, all).unwrap_or_else(|e| {
            eprintln!("netsec: {e}");
            ExitCode::from(2)
        }),
        K8sCommand::Suggest {
            manifests,
            capture,
            map,
            output,
        } => suggest(manifests, &capture, map.as_deref(), output.as_deref()).unwrap_or_else(|e| {
            eprintln!("netsec: {e}");
            ExitCode::from(2)
        }),
        K8sCommand::Diff { old, new } => {
            let (a, b) = match (load(&[old]), load(&[new])) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("netsec: {e}");
                    return ExitCode::from(2);
                }
            };
            let changes = diff_connections(&connections(&a), &connections(&b));
            for c in &changes {
                println!("{c}");
            }
            ExitCode::from(u8::from(!changes.is_empty()))
        }
    }
}
