//! `netsec analyze`: one pass over captures — decoded protocols, flows,
//! application logs, findings — with a ten-second summary. The work is
//! netsec-analyze's; this module turns arguments into an [`Analysis`] and
//! prints what it returns.
//!
//! Exit codes: 0 done (no finding at or above `--fail-on`), 1 a finding at or
//! above `--fail-on`, 2 usage or input error (a file missing, unreadable or
//! not a capture; the other inputs are still analysed).

mod text;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use netsec_analyze::{
    distinct_output_names, expand_paths, Analysis, AnalysisError, CancelToken, Input, Logs, Summary,
};
use netsec_capture::{Filter, LiveOptions};
use netsec_detect::signature::{CompiledRules, RuleConfig, RuleSet, SignatureInspector};
use netsec_detect::DetectConfig;
use netsec_model::{Inspector, Severity};

/// Exit code: analysis done, nothing at or above `--fail-on`.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: a finding at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_INPUT_ERROR: u8 = 2;

/// Output format of the summary on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// Human-readable summary.
    Text,
    /// One JSON document.
    Json,
}

/// Analyse captures: decode, build flows, log, detect, summarise.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap, pcapng; gzip or zstd compressed) or directories
    /// of them; `-` reads standard input.
    #[arg(required_unless_present = "interface", value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,

    /// Capture live from this interface instead of reading files (needs root
    /// or CAP_NET_RAW); stops after --duration seconds or --count packets.
    #[arg(short = 'i', long, value_name = "IFACE", conflicts_with = "inputs")]
    pub interface: Option<String>,

    /// Live capture: stop after this many seconds.
    #[arg(long, value_name = "SECONDS", requires = "interface")]
    pub duration: Option<f64>,

    /// Live capture: stop after this many packets.
    #[arg(short = 'c', long, value_name = "N", requires = "interface")]
    pub count: Option<u64>,

    /// Write JSON-lines logs (flows, dns, http, tls, ssh, smb, dhcp, ntp, arp,
    /// findings) in Elastic Common Schema form into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,

    /// Analyse each input separately (one summary and one log directory
    /// `DIR/NAME/` per input) instead of merging them into one analysis.
    #[arg(long)]
    pub each: bool,

    /// Exit with code 1 if any finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Only analyse packets matching this filter (tcpdump-like: host, net,
    /// port, portrange, tcp/udp/icmp/arp, src/dst, and/or/not, parentheses).
    #[arg(short = 'f', long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// Threads (default: all cores): with N > 1 on capture files, each of N
    /// threads reads the files and analyses the flows of its share of a
    /// symmetric address-pair hash; on standard input or an interface, one
    /// reads and N - 1 analyse. A detection stage sees every thread's
    /// records in capture order: results are identical for any number of
    /// threads.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// How many entries each "top" list shows.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,

    /// Most flows tracked at once, over all threads (each tracks its share;
    /// least recently seen are evicted past it).
    #[arg(long, value_name = "N")]
    pub max_flows: Option<usize>,

    /// Memory budget for the whole run: flow tables, stream and parser
    /// buffers, fragments and the detectors' state (bytes, or with a K, M or
    /// G suffix; default 640M). Over it the oldest buffered stream data
    /// becomes a counted gap and the least recently seen flows are evicted;
    /// the run never stops for memory.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub memory_limit: Option<usize>,

    /// Decode and build flows only: no TCP reassembly, no application
    /// protocol identification or parsing (no dns/http/tls/… logs).
    #[arg(long)]
    pub no_app_layer: bool,

    /// Detection configuration (TOML; `netsec config default` prints every
    /// key with its default): thresholds, home networks, allow-lists,
    /// detectors enabled.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override one configuration key, e.g. `--set portscan.min_ports=50`
    /// or `--set beacon.enabled=false` (repeatable; applied after --config).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,

    /// Report TLS sessions whose JA3/JA3S/JA4/JA4S or certificate SHA-1/
    /// SHA-256 is on this list (lines `ja3:HASH [NAME]`, `sha1:FP [NAME]`,
    /// or CSV `kind,value,name`; repeatable).
    #[arg(long, value_name = "FILE")]
    pub tls_blocklist: Vec<PathBuf>,

    /// Suricata / ET Open rules to run (a .rules file or a directory of
    /// them; repeatable). Alerts go to `alerts.jsonl` in --out, one per
    /// match; repeated alerts of a rule on a flow make one finding. Rules
    /// netsec cannot run are skipped whole (`netsec rules check` lists them).
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Set a rule variable, e.g. `HOME_NET=[10.0.0.0/8]` (repeatable;
    /// defaults: suricata.yaml's).
    #[arg(long = "rule-var", value_name = "NAME=VALUE")]
    pub rule_vars: Vec<String>,

    /// Run no detector: decode, flows and logs only.
    #[arg(long)]
    pub no_detect: bool,

    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `512M`, `2G`, `65536`: a size in bytes.
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], t[i..].trim_end_matches(['B', 'b', 'i'])),
        None => (t, ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 512M, 2G)"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        other => return Err(format!("unknown size unit {other:?} (K, M or G)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// One analysis over a group of inputs, as printed.
struct RunOutcome {
    summary: Option<Summary>,
    elapsed_s: f64,
    failed: bool,
}

/// The detection configuration the arguments describe.
fn detect_config(args: &AnalyzeArgs) -> Result<DetectConfig, String> {
    let mut config = match &args.config {
        Some(path) => DetectConfig::load(path).map_err(|e| e.to_string())?,
        None => DetectConfig::default(),
    };
    for setting in &args.settings {
        config.set(setting).map_err(|e| e.to_string())?;
    }
    Ok(config)
}

/// The DNS detectors' configuration: the `[dns]` section of --config.
fn dns_config(args: &AnalyzeArgs) -> Result<netsec_dns::DnsConfig, String> {
    let Some(path) = &args.config else {
        return Ok(netsec_dns::DnsConfig::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    netsec_dns::DnsConfig::from_netsec_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The TLS blocklists the arguments name.
fn tls_blocklist(args: &AnalyzeArgs) -> Result<netsec_tls::Blocklist, String> {
    let mut list = netsec_tls::Blocklist::default();
    for file in &args.tls_blocklist {
        list.load(file).map_err(|e| e.to_string())?;
    }
    Ok(list)
}

/// The rules of --rules, compiled once for every run (None without --rules).
fn signature_rules(args: &AnalyzeArgs) -> Result<Option<Arc<CompiledRules>>, String> {
    if args.rules.is_empty() {
        return Ok(None);
    }
    let mut config = RuleConfig::default();
    for var in &args.rule_vars {
        config.set_var(var).map_err(|e| e.to_string())?;
    }
    let mut set = RuleSet::new(config);
    for path in &args.rules {
        set.load_path(path);
    }
    if let Some(file) = set.files.iter().find(|f| f.read_error.is_some()) {
        return Err(format!(
            "{}: {}",
            file.path.display(),
            file.read_error.as_deref().unwrap_or_default()
        ));
    }
    if set.skipped() > 0 {
        eprintln!(
            "netsec: rules: {} loaded, {} skipped ({} unsupported; `netsec rules check` says which and why)",
            set.loaded(),
            set.skipped(),
            set.unsupported()
        );
    }
    Ok(Some(Arc::new(CompiledRules::new(&set))))
}

/// What the detectors are configured with.
type Configs<'a> = (
    &'a DetectConfig,
    &'a netsec_dns::DnsConfig,
    &'a netsec_tls::Blocklist,
    &'a Option<Arc<CompiledRules>>,
);

/// The analysis the arguments describe, over `inputs`.
fn analysis(
    args: &AnalyzeArgs,
    (detect, dns, blocklist, rules): Configs<'_>,
    inputs: Vec<Input>,
    out_dir: Option<&Path>,
) -> Analysis {
    let mut analysis = Analysis::new()
        .inputs(inputs)
        .threads(args.threads.unwrap_or(0))
        .app_layer(!args.no_app_layer)
        .event_enricher(Arc::new(netsec_tls::enrich))
        .top(args.top);
    if let Some(filter) = args.filter.as_deref().and_then(|e| Filter::parse(e).ok()) {
        analysis = analysis.filter(filter);
    }
    if let Some(n) = args.max_flows {
        analysis = analysis.max_flows(n);
    }
    if let Some(bytes) = args.memory_limit {
        analysis = analysis.memory_limit(bytes);
    }
    if let Some(dir) = out_dir {
        analysis = analysis.logs(Logs::EcsDir(dir.to_path_buf()));
    }
    if let Some(rules) = rules {
        let rules = Arc::clone(rules);
        analysis = analysis.inspectors(Arc::new(move || {
            vec![Box::new(SignatureInspector::new(Arc::clone(&rules))) as Box<dyn Inspector>]
        }));
    }
    if !args.no_detect {
        analysis = analysis
            .analyzers(netsec_detect::default_analyzers(detect))
            .analyzers(dns.analyzers())
            .analyzer(Box::new(
                netsec_tls::TlsAuditor::new(netsec_tls::TlsAuditConfig::default())
                    .with_blocklist(blocklist.clone()),
            ));
    }
    analysis
}

fn run_one(
    args: &AnalyzeArgs,
    config: Configs<'_>,
    inputs: Vec<Input>,
    out_dir: Option<&Path>,
) -> RunOutcome {
    let started = Instant::now();
    let total: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            Input::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            _ => None,
        })
        .sum();
    let bar = progress_bar(args.no_progress || args.interface.is_some(), total);
    let shown = bar.clone();
    let mut analysis = analysis(args, config, inputs, out_dir)
        .progress(Arc::new(move |p| shown.set_position(p.bytes_read)))
        .cancel(interrupt_token());
    if args.interface.is_some() {
        // Live: say what was found as it is found, once per activity.
        let said = std::sync::Mutex::new(std::collections::HashSet::new());
        analysis = analysis.on_finding(Arc::new(move |f| {
            if said.lock().is_ok_and(|mut s| s.insert(f.identity())) {
                eprintln!(
                    "netsec: [{}] {} — {}",
                    f.severity.name(),
                    f.title,
                    f.evidence.summary
                );
            }
        }));
    }
    let result = analysis.run();
    bar.finish_and_clear();
    let elapsed_s = started.elapsed().as_secs_f64();
    match result {
        Ok(summary) => {
            for input in &summary.inputs {
                if let Some(e) = &input.error {
                    eprintln!("netsec: {e}");
                }
                for w in &input.warnings {
                    eprintln!("netsec: warning: {w}");
                }
            }
            RunOutcome {
                failed: summary.input_failed(),
                summary: Some(summary),
                elapsed_s,
            }
        }
        Err(e) => {
            eprintln!("netsec: {e}");
            RunOutcome {
                summary: None,
                elapsed_s,
                failed: true,
            }
        }
    }
}

/// A token cancelled by the first Ctrl-C: the run then stops reading, ends
/// its flows and analysers as at the end of input, and prints what it found
/// (the summary says it was interrupted).
fn interrupt_token() -> CancelToken {
    static TOKEN: std::sync::OnceLock<CancelToken> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let token = CancelToken::new();
            let on_signal = token.clone();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                std::thread::spawn(move || {
                    if runtime.block_on(tokio::signal::ctrl_c()).is_ok() {
                        eprintln!("netsec: interrupted; finishing what was read");
                        on_signal.cancel();
                    }
                });
            }
            token
        })
        .clone()
}

fn progress_bar(disabled: bool, total: u64) -> ProgressBar {
    if disabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Run `netsec analyze`.
pub fn run(args: AnalyzeArgs) -> ExitCode {
    if let Some(expr) = &args.filter {
        if let Err(e) = Filter::parse(expr) {
            eprintln!("netsec: {}", AnalysisError::Filter(e.to_string()));
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    }
    let detect = match detect_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let blocklist = match tls_blocklist(&args) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let dns = match dns_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let rules = match signature_rules(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let config = (&detect, &dns, &blocklist, &rules);
    if let Some(interface) = args.interface.clone() {
        let input = Input::Interface {
            name: interface,
            duration: args
                .duration
                .map(|s| std::time::Duration::from_secs_f64(s.max(0.0))),
            count: args.count,
            options: LiveOptions::default(),
        };
        let outcome = run_one(&args, config, vec![input], args.out.as_deref());
        return finish_run(&args, vec![outcome]);
    }
    let paths = expand_paths(&args.inputs);
    if paths.is_empty() {
        eprintln!("netsec: no capture files found in the given directories");
        return ExitCode::from(EXIT_INPUT_ERROR);
    }
    let outcomes = if args.each {
        let names = distinct_output_names(&paths);
        paths
            .iter()
            .zip(names)
            .map(|(p, name)| {
                let out = args.out.as_ref().map(|d| d.join(name));
                run_one(&args, config, vec![Input::path(p)], out.as_deref())
            })
            .collect()
    } else {
        let inputs = paths.into_iter().map(Input::Path).collect();
        vec![run_one(&args, config, inputs, args.out.as_deref())]
    };
    finish_run(&args, outcomes)
}

/// Print the summaries and choose the exit code.
fn finish_run(args: &AnalyzeArgs, outcomes: Vec<RunOutcome>) -> ExitCode {
    let mut worst: Option<Severity> = None;
    let mut failed = false;
    let mut json_docs = Vec::new();
    for outcome in outcomes {
        failed |= outcome.failed;
        let Some(summary) = outcome.summary else {
            continue;
        };
        worst = worst.max(summary.max_severity());
        match args.format {
            SummaryFormat::Text => print!("{}", text::render(&summary, outcome.elapsed_s)),
            SummaryFormat::Json => json_docs.push(summary),
        }
    }
    if args.format == SummaryFormat::Json {
        let doc = if args.each {
            serde_json::to_string_pretty(&json_docs)
        } else {
            serde_json::to_string_pretty(&json_docs.first())
        };
        match doc {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("netsec: {e}");
                return ExitCode::from(EXIT_INPUT_ERROR);
            }
        }
    }
    if failed {
        return ExitCode::from(EXIT_INPUT_ERROR);
    }
    match (args.fail_on, worst) {
        (Some(threshold), Some(w)) if w >= threshold => ExitCode::from(EXIT_FINDINGS),
        _ => ExitCode::from(EXIT_CLEAN),
    }
}
