//! `netsec k8s`: Kubernetes NetworkPolicy reachability.
//!
//! `list DIR` prints every allowed connection (netpol-analyzer's format by
//! default); `diff DIR1 DIR2` prints connections added, removed and changed
//! and exits 1 when there are any (for CI review).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use netsec_contain::k8s::{connections, diff_connections, load_paths, Cluster, Connection};

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

fn focus(conns: Vec<Connection>, workload: Option<&str>) -> Vec<Connection> {
    let Some(w) = workload else { return conns };
    let hit = |peer: &netsec_contain::k8s::Peer| {
        let s = peer.to_string();
        let bare = s.split('[').next().unwrap_or("");
        bare == w || bare.rsplit('/').next() == Some(w)
    };
    conns
        .into_iter()
        .filter(|c| hit(&c.src) || hit(&c.dst))
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn render(conns: &[Connection], format: ListFormat) -> String {
    let mut out = String::new();
    match format {
        ListFormat::Text => {
            for c in conns {
                out.push_str(&format!("{c}\n"));
            }
        }
        ListFormat::Json => {
            let v: Vec<serde_json::Value> = conns
                .iter()
                .map(|c| {
                    serde_json::json!({"src": c.src.to_string(), "dst": c.dst.to_string(), "conn": c.conns.to_string()})
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
                print!("{}", render(&conns, output));
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
