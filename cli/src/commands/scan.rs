//! `netsec scan`: TCP connect scan with service detection.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use netsec_scan::targets::{expand_targets, parse_ports, top_ports};
use netsec_scan::{exposure_findings, scan, ScanConfig};

/// Scan hosts you are allowed to scan; `scan history` and `scan diff` read
/// the saved scans.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    action: Option<HistoryAction>,
    /// Scan history database (default: $XDG_DATA_HOME/netsec/scans.db).
    #[arg(long, global = true, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Do not save this scan in the history.
    #[arg(long)]
    no_save: bool,
    /// Targets: addresses, CIDR blocks, ranges (10.0.0.1-50), hostnames, IPv6.
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,
    /// Read more targets from a file (one or more per line; `#` comments).
    #[arg(long = "input-list", short = 'L', value_name = "FILE")]
    input_list: Option<PathBuf>,
    /// Leave these targets out (same syntax, comma-separated).
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Ports: `22,80,8000-8100`, `-` for all.
    #[arg(short = 'p', long)]
    ports: Option<String>,
    /// The N most common TCP ports (default 1000 when -p is not given).
    #[arg(long, value_name = "N")]
    top_ports: Option<usize>,
    /// Sockets in flight at once.
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// Connect timeout, milliseconds.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Retries for ports that do not answer.
    #[arg(long, default_value_t = 1)]
    max_retries: u32,
    /// Skip service detection.
    #[arg(long)]
    no_service: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    format: ScanFormat,
    /// Also write nmap XML to this file (like nmap's -oX).
    #[arg(long = "xml-out", value_name = "FILE")]
    xml_out: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum HistoryAction {
    /// List saved scans.
    History,
    /// What changed between two saved scans (exit 1 when anything did).
    Diff {
        /// Older scan id.
        a: Option<i64>,
        /// Newer scan id.
        b: Option<i64>,
        /// Compare the last two scans.
        #[arg(long)]
        last: bool,
        /// JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}

fn history_command(action: HistoryAction, db: &std::path::Path) -> ExitCode {
    let history = match netsec_scan::history::History::open(db) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(2);
        }
    };
    match action {
        HistoryAction::History => match history.list() {
            Ok(scans) => {
                println!("{:>5}  {:<28} {:>5}  TARGETS", "ID", "STARTED", "OPEN");
                for s in scans {
                    println!(
                        "{:>5}  {:<28} {:>5}  {}",
                        s.id, s.started, s.open_ports, s.targets
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("netsec: {e}");
                ExitCode::from(2)
            }
        },
        HistoryAction::Diff { a, b, last, json } => {
            let ids = match (a, b, last) {
                (Some(a), Some(b), _) => Ok((a, b)),
                (None, None, true) => history.last_two(),
                _ => {
                    eprintln!("netsec: give two scan ids, or --last");
                    return ExitCode::from(2);
                }
            };
            let changes = ids.and_then(|(a, b)| history.diff(a, b));
            match changes {
                Ok(changes) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&changes).unwrap_or_default()
                        );
                    } else {
                        for c in &changes {
                            println!("{c}");
                        }
                    }
                    ExitCode::from(u8::from(!changes.is_empty()))
                }
                Err(e) => {
                    eprintln!("netsec: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    Table,
    Json,
    Csv,
    /// nmap's XML format.
    Xml,
}

/// Run `netsec scan`.
pub fn run(args: ScanArgs) -> ExitCode {
    let db = args
        .db
        .clone()
        .unwrap_or_else(netsec_scan::history::default_path);
    if let Some(action) = args.action {
        return history_command(action, &db);
    }
    let mut tokens = args.targets.clone();
    if let Some(file) = &args.input_list {
        match std::fs::read_to_string(file) {
            Ok(text) => tokens.extend(
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim())
                    .flat_map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>()),
            ),
            Err(e) => {
                eprintln!("netsec: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    }
    if tokens.is_empty() {
        eprintln!("netsec: no targets");
        return ExitCode::from(2);
    }
    let targets = match expand_targets(&tokens, &args.exclude) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(2);
        }
    };
    let ports = match (&args.ports, args.top_ports) {
        (Some(spec), _) => match parse_ports(spec) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("netsec: {e}");
                return ExitCode::from(2);
            }
        },
        (None, n) => top_ports(n.unwrap_or(1000)),
    };
    let config = ScanConfig {
        concurrency: args.concurrency.max(1),
        connect_timeout: Duration::from_millis(args.timeout_ms.max(1)),
        max_retries: args.max_retries,
        service_detection: !args.no_service,
        ..ScanConfig::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netsec: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(scan(&targets, &ports, &config));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let findings = exposure_findings(
        &report,
        netsec_model::Timestamp::from_secs_nanos(now.as_secs() as i64, now.subsec_nanos()),
    );
    if !args.no_save {
        let started = netsec_model::Timestamp::from_secs_nanos(now.as_secs() as i64, 0).to_string();
        let saved = netsec_scan::history::History::open(&db)
            .and_then(|mut h| h.save(&started, &tokens.join(" "), &report));
        match saved {
            Ok(id) => eprintln!("netsec: saved as scan {id} in {}", db.display()),
            Err(e) => eprintln!("netsec: warning: {e}"),
        }
    }
    let command_line = format!(
        "netsec scan {}",
        std::env::args().skip(2).collect::<Vec<_>>().join(" ")
    );
    if let Some(path) = &args.xml_out {
        let xml = netsec_scan::output::nmap_xml(&report, now.as_secs(), &command_line);
        if let Err(e) = std::fs::write(path, xml) {
            eprintln!("netsec: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    match args.format {
        ScanFormat::Xml => print!(
            "{}",
            netsec_scan::output::nmap_xml(&report, now.as_secs(), &command_line)
        ),
        ScanFormat::Csv => print!("{}", netsec_scan::output::csv(&report)),
        ScanFormat::Json => {
            let doc = serde_json::json!({ "report": report, "findings": findings });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        ScanFormat::Table => {
            // Like nmap, list open ports and count the rest.
            let closed = report
                .results
                .iter()
                .filter(|r| r.state != netsec_scan::PortState::Open)
                .count();
            let mut host = None;
            for r in report
                .results
                .iter()
                .filter(|r| r.state == netsec_scan::PortState::Open)
            {
                if host != Some(r.ip) {
                    println!("\nnetsec scan report for {}", r.ip);
                    println!("{:<10} {:<8} {:<12} VERSION", "PORT", "STATE", "SERVICE");
                    host = Some(r.ip);
                }
                let (svc, ver) = match &r.service {
                    Some(s) => (
                        s.name.clone(),
                        [s.product.clone(), s.version.clone(), s.info.clone()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    None => ("unknown".into(), String::new()),
                };
                println!(
                    "{:<10} {:<8} {:<12} {}",
                    format!("{}/tcp", r.port),
                    r.state,
                    svc,
                    ver
                );
            }
            println!(
                "\n{} hosts, {} ports each; not shown: {} closed, {} filtered; scanned in {:.2} s",
                report.hosts_scanned,
                report.ports_scanned,
                closed,
                report.filtered,
                report.elapsed_s
            );
            for f in &findings {
                println!("[{}] {}", f.severity, f.title);
            }
        }
    }
    ExitCode::SUCCESS
}
