//! `netsec scan`: parse the options, run netsec-scan, print. The scanning,
//! matching, output formats and history all live in the netsec-scan crate.
//!
//! Exit codes: 0 done (and, with `--diff-last` or `scan diff`, nothing
//! changed); 1 the diff found changes; 2 bad arguments or a failure;
//! 130 interrupted (partial results printed and saved).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args, Subcommand, ValueEnum};
use netsec_scan::history::{Change, History};
use netsec_scan::raw::Discovery;
use netsec_scan::service::probes::ProbeTable;
use netsec_scan::targets::{
    expand_targets, parse_ports, read_target_list, top_ports, top_udp_ports,
};
use netsec_scan::timing::Timing;
use netsec_scan::{exposure_findings, scan, PortState, Protocol, ScanConfig, ScanReport, TcpScan};

/// Where Debian's nmap-common installs nmap's service probes.
const NMAP_SERVICE_PROBES: &str = "/usr/share/nmap/nmap-service-probes";

/// Scan hosts you are allowed to scan (nmap-style options); `scan history`
/// and `scan diff` read the saved scans.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    action: Option<HistoryAction>,
    /// Scan history database (default: $XDG_DATA_HOME/netsec/scans.db or ~/.local/share/netsec/scans.db).
    #[arg(long, global = true, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Targets: addresses, CIDR blocks, ranges (10.0.0.1-50), hostnames, IPv6.
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,
    /// Read targets from a file (`-iL`; whitespace or comma separated, `#` comments).
    #[arg(
        long = "input-list",
        visible_alias = "iL",
        short = 'i',
        value_name = "FILE"
    )]
    input_list: Option<PathBuf>,
    /// Leave these targets out (comma-separated, any target form).
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Leave out the targets listed in this file.
    #[arg(long, value_name = "FILE")]
    exclude_file: Option<PathBuf>,
    /// Ports: `22,80,8000-8100`, `-` for all; `T:` and `U:` prefixes pick the protocol (`T:22,U:53,161`).
    #[arg(short = 'p', long)]
    ports: Option<String>,
    /// The N most common ports (default 1000 TCP; with -sU also UDP).
    #[arg(long, value_name = "N")]
    top_ports: Option<usize>,
    /// Fast: the 100 most common ports.
    #[arg(short = 'F')]
    fast: bool,
    /// Scan types, nmap-style: -sS SYN with raw packets (the default as root), -sT connect (the default otherwise), -sU UDP, -sV versions (default on), -sn discovery only.
    #[arg(short = 's', value_name = "TYPE", action = ArgAction::Append)]
    scan_types: Vec<String>,
    /// Host discovery, nmap-style (repeatable): -Pn none (all up), -PR ARP, -PE ICMP echo, -PP ICMP timestamp, -PS[ports] TCP SYN, -PA[ports] TCP ACK. Default as root: ARP on the local segment, else -PE -PS443 -PA80 -PP; unprivileged: TCP connect to 80 and 443 (or the -PS/-PA ports).
    #[arg(short = 'P', value_name = "TYPE", action = ArgAction::Append)]
    ping: Vec<String>,
    /// Timing profile 0 (paranoid) … 5 (insane), like nmap's -T.
    #[arg(short = 'T', value_name = "0-5", value_parser = clap::value_parser!(u8).range(0..=5))]
    timing: Option<u8>,
    /// Most probes (packets, for raw scans) per second; masscan's --rate, nmap's --max-rate. Raw scans without it: T3 51,200/s, T4 204,800/s, T5 409,600/s.
    #[arg(long, visible_alias = "max-rate", value_name = "N")]
    rate: Option<f64>,
    /// Retries for probes that got no answer.
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// Probes in flight at once.
    #[arg(long, value_name = "N")]
    parallelism: Option<usize>,
    /// First timeout before any round trip is measured, milliseconds.
    #[arg(long, value_name = "MS")]
    initial_rtt_timeout: Option<u64>,
    /// Floor of the adaptive timeout, milliseconds.
    #[arg(long, value_name = "MS")]
    min_rtt_timeout: Option<u64>,
    /// Ceiling of the adaptive timeout, milliseconds.
    #[arg(long, value_name = "MS")]
    max_rtt_timeout: Option<u64>,
    /// Least time between probes, milliseconds.
    #[arg(long, value_name = "MS")]
    scan_delay: Option<u64>,
    /// Probe ports in order instead of shuffled (nmap's -r).
    #[arg(short = 'r', long = "no-randomize")]
    no_randomize: bool,
    /// Source port for probes.
    #[arg(short = 'g', long = "source-port", value_name = "PORT")]
    source_port: Option<u16>,
    /// Skip service detection.
    #[arg(long)]
    no_service: bool,
    /// Probes rarer than this are not sent (1–9, default 7).
    #[arg(long, value_name = "N")]
    version_intensity: Option<u8>,
    /// Probe/match rules in nmap-service-probes format, ahead of the bundled
    /// table. Default: nmap's own file when nmap is installed
    /// (/usr/share/nmap/nmap-service-probes), so identification is nmap's
    /// wherever the user has nmap; the bundled table is the fallback.
    #[arg(long, value_name = "FILE")]
    service_probes: Option<PathBuf>,
    /// Do not load nmap's nmap-service-probes by default: the bundled table
    /// (and --service-probes) only.
    #[arg(long)]
    no_nmap_probes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    format: ScanFormat,
    /// Also write nmap XML to this file (nmap's -oX).
    #[arg(long = "xml-out", visible_alias = "oX", value_name = "FILE")]
    xml_out: Option<PathBuf>,
    /// Do not save this scan in the history.
    #[arg(long)]
    no_save: bool,
    /// After the scan, show what changed since the previous scan of the same targets (exit 1 on change).
    #[arg(long)]
    diff_last: bool,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, Subcommand)]
enum HistoryAction {
    /// List saved scans.
    History {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// What changed between two saved scans (exit 0 none, 1 changes, 2 error).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScanFormat {
    Table,
    Json,
    Csv,
    /// nmap's XML format.
    Xml,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("netsec scan: {msg}");
    ExitCode::from(2)
}

fn print_changes(changes: &[Change], json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(changes).unwrap_or_default()
        );
    } else if changes.is_empty() {
        println!("no changes");
    } else {
        for c in changes {
            println!("{c}");
        }
    }
    ExitCode::from(u8::from(!changes.is_empty()))
}

fn history_command(action: HistoryAction, db: &Path) -> ExitCode {
    let history = match History::open(db) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    match action {
        HistoryAction::History { json } => match history.list() {
            Ok(scans) if json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&scans).unwrap_or_default()
                );
                ExitCode::SUCCESS
            }
            Ok(scans) => {
                println!("{:>5}  {:<22} {:>5}  TARGETS", "ID", "STARTED", "OPEN");
                for s in scans {
                    println!(
                        "{:>5}  {:<22} {:>5}  {}",
                        s.id, s.started, s.open_ports, s.targets
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        HistoryAction::Diff { a, b, last, json } => {
            let ids = match (a, b, last) {
                (Some(a), Some(b), false) => Ok((a, b)),
                (None, None, true) => history.last_two(),
                _ => return fail("give two scan ids, or --last"),
            };
            match ids.and_then(|(a, b)| history.diff(a, b)) {
                Ok(changes) => print_changes(&changes, json),
                Err(e) => fail(e),
            }
        }
    }
}

/// What the `-P` options ask for.
#[derive(Debug, PartialEq)]
enum Ping {
    /// No -P option: nmap's default set.
    Default,
    /// -Pn.
    Skip,
    /// The probes named.
    Probes(Discovery),
}

/// Parse `-Pn`, `-PR`, `-PE`, `-PP`, `-PS[ports]`, `-PA[ports]` (as clap
/// hands them: without the `P`). -PS and -PA without ports use port 80, as
/// nmap does.
fn parse_ping(opts: &[String]) -> Result<Ping, String> {
    if opts.is_empty() {
        return Ok(Ping::Default);
    }
    if opts.iter().any(|o| o == "n") {
        return Ok(Ping::Skip);
    }
    let mut d = Discovery::none();
    for o in opts {
        let (kind, rest) = o.split_at(o.chars().next().map_or(0, char::len_utf8));
        let ports = || -> Result<Vec<u16>, String> {
            if rest.is_empty() {
                Ok(vec![80])
            } else {
                parse_ports(rest).map_err(|e| format!("-P{o}: {e}"))
            }
        };
        match kind {
            "R" if rest.is_empty() => d.arp = true,
            "E" if rest.is_empty() => d.echo = true,
            "P" if rest.is_empty() => d.timestamp = true,
            "S" => d.syn_ports.extend(ports()?),
            "A" => d.ack_ports.extend(ports()?),
            _ => {
                return Err(format!(
                    "unknown discovery option -P{o} (n, R, E, P, S[ports], A[ports])"
                ))
            }
        }
    }
    Ok(Ping::Probes(d))
}

/// Split `T:22,80,U:53,161` into TCP and UDP specs (no prefix: TCP).
fn split_protocols(spec: &str) -> (String, String) {
    let (mut tcp, mut udp) = (Vec::new(), Vec::new());
    let mut udp_mode = false;
    for part in spec.split(',') {
        let part = if let Some(p) = part.strip_prefix("U:") {
            udp_mode = true;
            p
        } else if let Some(p) = part.strip_prefix("T:") {
            udp_mode = false;
            p
        } else {
            part
        };
        if udp_mode { &mut udp } else { &mut tcp }.push(part.to_string());
    }
    (tcp.join(","), udp.join(","))
}

fn timing_from(args: &ScanArgs) -> Timing {
    let mut t = Timing::profile(args.timing.unwrap_or(3));
    let ms = Duration::from_millis;
    if let Some(v) = args.max_retries {
        t.max_retries = v;
    }
    if let Some(v) = args.parallelism {
        t.parallelism = v.max(1);
    }
    if let Some(v) = args.initial_rtt_timeout {
        t.initial_rtt_timeout = ms(v.max(1));
    }
    if let Some(v) = args.min_rtt_timeout {
        t.min_rtt_timeout = ms(v.max(1));
    }
    if let Some(v) = args.max_rtt_timeout {
        t.max_rtt_timeout = ms(v.max(1));
    }
    if let Some(v) = args.scan_delay {
        t.scan_delay = ms(v);
    }
    t
}

fn print_table(report: &ScanReport, findings: &[netsec_model::Finding]) {
    for h in &report.hosts {
        if !h.up {
            continue;
        }
        let rtt = h
            .srtt_us
            .map(|us| format!(", {:.2} ms", us as f64 / 1000.0))
            .unwrap_or_default();
        println!("\nnetsec scan report for {} (up: {}{rtt})", h.ip, h.reason);
        let listed: Vec<_> = report.results.iter().filter(|r| r.ip == h.ip).collect();
        for (proto, counts) in [(Protocol::Tcp, &h.tcp), (Protocol::Udp, &h.udp)] {
            for state in [
                PortState::Closed,
                PortState::Filtered,
                PortState::OpenFiltered,
            ] {
                let shown = listed
                    .iter()
                    .filter(|r| r.protocol == proto && r.state == state)
                    .count() as u64;
                let hidden = counts.get(state).saturating_sub(shown);
                if hidden > 0 {
                    println!("Not shown: {hidden} {state} {proto} ports");
                }
            }
        }
        if listed.is_empty() {
            continue;
        }
        println!("{:<11} {:<14} {:<16} VERSION", "PORT", "STATE", "SERVICE");
        for r in listed {
            let (svc, ver) = match &r.service {
                Some(s) if s.method == "table" => (format!("{}?", s.name), String::new()),
                Some(s) => (s.display_name(), s.version_line()),
                None => (String::new(), String::new()),
            };
            println!(
                "{:<11} {:<14} {:<16} {}",
                format!("{}/{}", r.port, r.protocol),
                r.state.as_str(),
                svc,
                ver
            );
            if let Some(s) = &r.service {
                if let Some(t) = &s.http_title {
                    println!("|_http-title: {t}");
                }
                if let Some(t) = &s.tls {
                    println!(
                        "|_ssl-cert: {} (issuer {}), {}, {}, valid until Unix time {}",
                        t.subject, t.issuer, t.key, t.signature_algorithm, t.not_after
                    );
                }
            }
        }
    }
    let up = report.hosts.iter().filter(|h| h.up).count();
    println!(
        "\n{} hosts ({up} up), {} TCP and {} UDP ports each; scanned in {:.2} s{}",
        report.hosts_scanned,
        report.ports_scanned,
        report.udp_ports_scanned,
        report.elapsed_s,
        if report.complete {
            ""
        } else {
            " (interrupted: partial results)"
        }
    );
    for f in findings {
        println!("[{}] {}", f.severity, f.evidence.summary);
    }
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
        match read_target_list(file) {
            Ok(t) => tokens.extend(t),
            Err(e) => return fail(e),
        }
    }
    let mut exclude = args.exclude.clone();
    if let Some(file) = &args.exclude_file {
        match read_target_list(file) {
            Ok(t) => exclude.extend(t),
            Err(e) => return fail(e),
        }
    }
    if tokens.is_empty() {
        return fail("no targets (give addresses, ranges, CIDR blocks, hostnames or -iL FILE)");
    }
    let targets = match expand_targets(&tokens, &exclude) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let types: String = args.scan_types.concat();
    for t in types.chars() {
        if !"TSUVn".contains(t) {
            return fail(format!("unknown scan type -s{t} (T, S, U, V, n)"));
        }
    }
    // Raw packets (SYN scan, privileged discovery) when the system allows:
    // root or CAP_NET_RAW, as nmap decides.
    let raw = netsec_scan::raw::available();
    let syn_wanted = types.contains('S') || !types.contains('T');
    // What runs unprivileged instead, said once on stderr.
    let mut fallbacks = Vec::new();
    let tcp_scan = match (&raw, syn_wanted) {
        (Ok(()), true) => TcpScan::Syn,
        (Err(_), true) if !types.contains('n') => {
            fallbacks.push("a TCP connect scan (-sT) instead of a SYN scan");
            TcpScan::Connect
        }
        _ => TcpScan::Connect,
    };
    let ping = match parse_ping(&args.ping) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let udp_wanted = types.contains('U');
    let tcp_wanted = !udp_wanted || types.contains('S') || types.contains('T');
    let discovery_only = types.contains('n');
    let top = if args.fast { Some(100) } else { args.top_ports };
    let (mut tcp_ports, mut udp_ports) = (Vec::new(), Vec::new());
    match &args.ports {
        Some(spec) => {
            let (t, u) = split_protocols(spec);
            for (text, out) in [(t, &mut tcp_ports), (u, &mut udp_ports)] {
                if text.is_empty() {
                    continue;
                }
                match parse_ports(&text) {
                    Ok(p) => *out = p,
                    Err(e) => return fail(e),
                }
            }
            // `-sU -p 53,161` means UDP ports, as in nmap.
            if udp_wanted && !tcp_wanted && udp_ports.is_empty() {
                udp_ports = std::mem::take(&mut tcp_ports);
            }
            if !tcp_wanted {
                tcp_ports.clear();
            }
            if !udp_wanted {
                udp_ports.clear();
            }
        }
        None => {
            if tcp_wanted {
                tcp_ports = top_ports(top.unwrap_or(1000));
            }
            if udp_wanted {
                // nmap's default is 1000 UDP ports; without ICMP feedback on
                // silent ports that is slow, so the default here is 100.
                udp_ports = top_udp_ports(top.unwrap_or(100));
            }
        }
    }
    if discovery_only {
        tcp_ports.clear();
        udp_ports.clear();
    }
    let mut table = ProbeTable::bundled();
    let nmap_probes = PathBuf::from(NMAP_SERVICE_PROBES);
    let probe_file = args.service_probes.clone().or_else(|| {
        (!args.no_nmap_probes && !args.no_service && nmap_probes.is_file()).then_some(nmap_probes)
    });
    if let Some(file) = &probe_file {
        let text = match std::fs::read(file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return fail(format!("{}: {e}", file.display())),
        };
        match ProbeTable::parse(&text, &file.display().to_string()) {
            Ok(extra) => {
                let (rules, backtracking) = (extra.rules, extra.backtracking_rules);
                let skipped = match extra.skipped.len() {
                    0 => String::new(),
                    n => {
                        let why: Vec<String> = extra
                            .skipped
                            .iter()
                            .take(3)
                            .map(|s| format!("line {}: {}", s.line, s.reason))
                            .collect();
                        format!(
                            ", {n} lines skipped ({}{})",
                            why.join("; "),
                            if n > 3 { "; …" } else { "" }
                        )
                    }
                };
                eprintln!(
                    "netsec scan: {}: {} probes, {rules} rules loaded ({backtracking} with look-around or backreferences run on the backtracking engine){skipped}",
                    file.display(),
                    extra.probes.len()
                );
                table.merge(extra);
            }
            Err(e) => return fail(e),
        }
    }
    let (raw_discovery, ping_ports) = match (ping, &raw) {
        (Ping::Skip, _) => (None, Vec::new()),
        (Ping::Probes(d), Ok(())) => (Some(d), Vec::new()),
        (Ping::Probes(d), Err(_)) => {
            let mut ports: Vec<u16> = d.syn_ports.iter().chain(&d.ack_ports).copied().collect();
            ports.dedup();
            if ports.is_empty() || d.arp || d.echo || d.timestamp {
                fallbacks.push("host discovery by TCP connect to ports 80 and 443");
                ports = vec![80, 443];
            }
            (None, ports)
        }
        (Ping::Default, Ok(())) => (Some(Discovery::default()), Vec::new()),
        (Ping::Default, Err(_)) => (None, vec![80, 443]),
    };
    if let (Err(e), false) = (&raw, fallbacks.is_empty()) {
        eprintln!("netsec scan: {e}; running {}", fallbacks.join(" and "));
    }
    let config = ScanConfig {
        timing: timing_from(&args),
        rate: args.rate.unwrap_or(0.0),
        randomize: !args.no_randomize,
        source_port: args.source_port,
        skip_discovery: raw_discovery.is_none() && ping_ports.is_empty(),
        tcp_scan,
        raw_discovery,
        ping_ports,
        service_detection: !args.no_service,
        detect: netsec_scan::service::DetectConfig {
            intensity: args.version_intensity.unwrap_or(7),
            ..Default::default()
        },
        probes: Arc::new(table),
        ..ScanConfig::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let progress = config.progress.clone();
    let show_bar = !args.no_progress && std::io::stderr().is_terminal();
    let report = runtime.block_on(async {
        let stopper = progress.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nnetsec scan: interrupted; finishing probes in flight, then printing and saving partial results");
                stopper.cancel();
            }
        });
        let bar = if show_bar {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} probes, {per_sec}, eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            Some(bar)
        } else {
            None
        };
        let ticker = bar.clone().map(|bar| {
            let progress = progress.clone();
            tokio::spawn(async move {
                loop {
                    bar.set_length(progress.total());
                    bar.set_position(progress.done());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        let report = scan(&targets, &tcp_ports, &udp_ports, &config).await;
        if let Some(t) = ticker {
            t.abort();
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        report
    });
    let mut report = report;
    let limit_hits = config.probes.backtrack_limit_hits();
    if limit_hits > 0 {
        report.notes.push(format!(
            "{limit_hits} answer(s) made a look-around or backreference pattern reach its backtracking limit ({} steps); taken as no match",
            netsec_scan::service::probes::BACKTRACK_LIMIT
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let now_ts = netsec_model::Timestamp::from_secs_nanos(now.as_secs() as i64, 0);
    let findings = exposure_findings(&report, now_ts);
    let mut saved_id = None;
    if !args.no_save {
        let saved = History::open(&db)
            .and_then(|mut h| h.save(&now_ts.to_string(), &tokens.join(" "), &report));
        match saved {
            Ok(id) => {
                eprintln!("netsec scan: saved as scan {id} in {}", db.display());
                saved_id = Some(id);
            }
            Err(e) => eprintln!("netsec scan: warning: not saved: {e}"),
        }
    }
    let command_line = format!(
        "netsec scan {}",
        std::env::args().skip(2).collect::<Vec<_>>().join(" ")
    );
    if let Some(path) = &args.xml_out {
        if let Err(e) = std::fs::write(path, netsec_scan::output::nmap_xml(&report, &command_line))
        {
            return fail(format!("{}: {e}", path.display()));
        }
    }
    for n in &report.notes {
        eprintln!("netsec scan: note: {n}");
    }
    match args.format {
        ScanFormat::Xml => print!("{}", netsec_scan::output::nmap_xml(&report, &command_line)),
        ScanFormat::Csv => print!("{}", netsec_scan::output::csv(&report)),
        ScanFormat::Json => {
            let doc = serde_json::json!({ "report": report, "findings": findings });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        ScanFormat::Table => print_table(&report, &findings),
    }
    let mut code = if report.complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(130)
    };
    if args.diff_last {
        let Some(id) = saved_id else {
            return fail("--diff-last needs the scan saved (drop --no-save)");
        };
        let diff = History::open(&db).and_then(|h| {
            let prev = h.previous(id)?;
            Ok((prev, h.diff(prev, id)?))
        });
        match diff {
            Ok((prev, changes)) => {
                eprintln!("netsec scan: changes since scan {prev}:");
                let json = args.format == ScanFormat::Json;
                code = print_changes(&changes, json);
            }
            Err(e) => return fail(e),
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ping_options_follow_nmap() {
        assert_eq!(parse_ping(&[]), Ok(Ping::Default));
        assert_eq!(parse_ping(&opts(&["E", "n"])), Ok(Ping::Skip));
        let Ok(Ping::Probes(d)) = parse_ping(&opts(&["E", "P", "S22,443", "A", "R"])) else {
            panic!("parse failed")
        };
        assert!(d.echo && d.timestamp && d.arp);
        assert_eq!(d.syn_ports, [22, 443]);
        // -PA without ports: port 80, as nmap.
        assert_eq!(d.ack_ports, [80]);
        for bad in ["X", "Ex", "S99999", ""] {
            assert!(parse_ping(&opts(&[bad])).is_err(), "{bad}");
        }
    }
}
