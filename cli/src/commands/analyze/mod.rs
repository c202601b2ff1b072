//! `netsec analyze`: one pass over captures — decoded protocols, flows,
//! application logs, findings — with a ten-second summary.
//!
//! Exit codes: 0 done (no finding at or above `--fail-on`), 1 a finding at or
//! above `--fail-on`, 2 usage or input error (a file missing, unreadable or
//! not a capture; the other inputs are still analysed).

mod logs;
mod pipeline;
mod summary;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use netsec_capture::{CaptureReader, Filter, LiveCapture, LiveOptions};
use netsec_model::Severity;
use netsec_proto::EngineConfig;

use pipeline::{PacketNumbering, Pipeline, PipelineOptions};
use summary::{DecodeReport, InputReport, Summary};

/// Exit code: analysis done, nothing at or above `--fail-on`.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: a finding at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_INPUT_ERROR: u8 = 2;

/// Capture file extensions picked up when a directory is given.
const CAPTURE_EXTENSIONS: [&str; 6] = ["pcap", "pcapng", "cap", "dmp", "gz", "zst"];

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
    /// reads and N - 1 analyse. Results are identical for any number of
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

    /// Decode and build flows only: no TCP reassembly, no application
    /// protocol identification or parsing (no dns/http/tls/… logs).
    #[arg(long)]
    pub no_app_layer: bool,

    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Expand directories into the capture files below them, sorted by path.
fn expand_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found = Vec::new();
            collect_captures(p, &mut found, 0);
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn collect_captures(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) {
    // Deep or cyclic trees (symlink loops) stop here rather than recursing forever.
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_captures(&path, found, depth + 1);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CAPTURE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
}

/// One analysis over a group of inputs.
struct RunOutcome {
    summary: Summary,
    elapsed_s: f64,
    input_error: bool,
}

/// Where one analysis reads its packets from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Capture files, in order.
    Files(&'a [PathBuf]),
    /// A live interface.
    Live(&'a str),
}

fn analyse_group(args: &AnalyzeArgs, inputs: &[PathBuf], out_dir: Option<&Path>) -> RunOutcome {
    analyse(args, Source::Files(inputs), out_dir)
}

fn analyse_live(args: &AnalyzeArgs, interface: &str) -> RunOutcome {
    analyse(args, Source::Live(interface), args.out.as_deref())
}

fn analyse(args: &AnalyzeArgs, source: Source<'_>, out_dir: Option<&Path>) -> RunOutcome {
    let started = Instant::now();
    let mut input_error = false;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let logs = match out_dir {
        Some(dir) => match logs::LogFiles::create(dir) {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("netsec: cannot write logs to {}: {e}", dir.display());
                input_error = true;
                None
            }
        },
        None => None,
    };
    let filter = args
        .filter
        .as_deref()
        .and_then(|expr| Filter::parse(expr).ok());
    let mut engine = EngineConfig::default();
    if let Some(n) = args.max_flows {
        engine.flow_capacity = n.max(1);
    }
    engine.flows.app_layer = !args.no_app_layer;
    let options = PipelineOptions {
        engine,
        filter,
        logs: logs.clone(),
        threads,
    };
    let (output, reports, bar, failed) = read_through_pipeline(args, source, options);
    input_error |= failed;
    bar.finish_and_clear();
    if let Some(l) = &logs {
        if let Ok(mut files) = l.lock() {
            if let Err(e) = files.finish() {
                eprintln!("netsec: {e}");
                input_error = true;
            }
        }
    }
    let decode = DecodeReport {
        errors: output.decode_errors.into_iter().collect(),
        counters: output.decode_counters.into_iter().collect(),
    };
    let summary = output.summary.build(args.top, reports, decode);
    if let Some(dir) = out_dir {
        let path = dir.join("summary.json");
        let written = serde_json::to_vec_pretty(&summary)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&path, bytes));
        if let Err(e) = written {
            eprintln!("netsec: writing {}: {e}", path.display());
            input_error = true;
        }
    }
    RunOutcome {
        summary,
        elapsed_s: started.elapsed().as_secs_f64(),
        input_error,
    }
}

/// Total size of the input files, for the progress bar.
fn total_input_size(inputs: &[PathBuf]) -> u64 {
    inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Read live or file input through one pipeline: on this thread, or
/// handed out in batches to sharded workers. The outputs, one report per
/// input, the progress bar, and whether an input failed.
fn read_through_pipeline(
    args: &AnalyzeArgs,
    source: Source<'_>,
    options: PipelineOptions,
) -> (pipeline::WorkerOutput, Vec<InputReport>, ProgressBar, bool) {
    let mut input_error = false;
    let mut reports = Vec::new();
    let inputs: &[PathBuf] = match source {
        Source::Files(inputs) => inputs,
        Source::Live(interface) => {
            let mut pipeline = Pipeline::new(options, &Vec::new);
            let mut report = InputReport::named(interface.to_string());
            report.format = "live".into();
            match LiveCapture::open(interface, &LiveOptions::default()) {
                Ok(mut live) => {
                    let deadline = args
                        .duration
                        .map(|s| Instant::now() + std::time::Duration::from_secs_f64(s.max(0.0)));
                    pipeline.read_live(&mut live, deadline, args.count, &mut report);
                }
                Err(e) => {
                    eprintln!("netsec: {e}");
                    report.error = Some(e.to_string());
                    input_error = true;
                }
            }
            reports.push(report);
            return (
                pipeline.finish(),
                reports,
                ProgressBar::hidden(),
                input_error,
            );
        }
    };
    let bar = progress_bar(args.no_progress, total_input_size(inputs));
    let threads = options.threads;
    if threads > 1 && inputs.iter().all(|p| p.as_os_str() != "-") {
        // Files: every thread reads them itself and analyses its share of
        // the flows (see `Pipeline::shard_of_files`).
        let outputs: Vec<(pipeline::WorkerOutput, Vec<InputReport>, bool)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|i| {
                        let mut own = Pipeline::shard_of_files(&options, i, threads, Vec::new());
                        let bar = &bar;
                        scope.spawn(move || {
                            // The first thread speaks for all: the others read
                            // the same files and meet the same errors.
                            let first = i == 0;
                            let (reports, failed) = read_files(&mut own, inputs, first, &|n| {
                                if first {
                                    bar.inc(n)
                                }
                            });
                            (own.finish(), reports, failed)
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
        if outputs.len() < threads {
            eprintln!("netsec: a worker thread failed; its share of the results is missing");
        }
        let mut merged: Option<pipeline::WorkerOutput> = None;
        for (i, (output, thread_reports, failed)) in outputs.into_iter().enumerate() {
            if i == 0 {
                reports.extend(thread_reports);
                input_error |= failed;
            }
            merged = Some(match merged {
                None => output,
                Some(m) => pipeline::merge_outputs(m, output),
            });
        }
        let output = merged.unwrap_or_else(pipeline::WorkerOutput::empty);
        return (output, reports, bar, input_error);
    }
    // Standard input can be read once: one reading thread, and workers.
    let mut pipeline = Pipeline::new(options, &Vec::new);
    let (file_reports, failed) = read_files(&mut pipeline, inputs, true, &|n| bar.inc(n));
    reports.extend(file_reports);
    input_error |= failed;
    let output = pipeline.finish();
    (output, reports, bar, input_error)
}

/// Read `inputs` in order into `pipeline`, packet numbers running on
/// across files; one report per input, and whether one failed. `loud`:
/// print errors and warnings.
fn read_files(
    pipeline: &mut Pipeline,
    inputs: &[PathBuf],
    loud: bool,
    progress: &dyn Fn(u64),
) -> (Vec<InputReport>, bool) {
    let mut numbering = PacketNumbering::new();
    let mut reports = Vec::new();
    let mut input_error = false;
    for path in inputs {
        let mut report = InputReport::named(path.display().to_string());
        match CaptureReader::open(path) {
            Ok(mut reader) => {
                pipeline.read(&mut reader, &mut numbering, &mut report, &mut |n| {
                    progress(n)
                });
                report.format = reader.format().to_string();
                report.warnings.extend(reader.stats().warnings());
            }
            Err(e) => {
                if loud {
                    eprintln!("netsec: {e}");
                }
                report.error = Some(e.to_string());
                input_error = true;
            }
        }
        if loud {
            for w in &report.warnings {
                eprintln!("netsec: warning: {w}");
            }
        }
        reports.push(report);
    }
    (reports, input_error)
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
            eprintln!("netsec: invalid --filter: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    }
    if let Some(interface) = args.interface.clone() {
        let outcome = analyse_live(&args, &interface);
        return finish_run(&args, vec![outcome]);
    }
    let inputs = expand_inputs(&args.inputs);
    if inputs.is_empty() {
        eprintln!("netsec: no capture files found in the given directories");
        return ExitCode::from(EXIT_INPUT_ERROR);
    }
    let groups: Vec<(Vec<PathBuf>, Option<PathBuf>)> = if args.each {
        inputs
            .iter()
            .map(|p| {
                let name = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "stdin".into());
                (vec![p.clone()], args.out.as_ref().map(|d| d.join(name)))
            })
            .collect()
    } else {
        vec![(inputs, args.out.clone())]
    };
    let outcomes = groups
        .iter()
        .map(|(group, out_dir)| analyse_group(&args, group, out_dir.as_deref()))
        .collect();
    finish_run(&args, outcomes)
}

/// Print the summaries and choose the exit code.
fn finish_run(args: &AnalyzeArgs, outcomes: Vec<RunOutcome>) -> ExitCode {
    let mut worst: Option<Severity> = None;
    let mut input_error = false;
    let mut json_docs = Vec::new();
    for outcome in outcomes {
        input_error |= outcome.input_error;
        worst = worst.max(outcome.summary.findings_max_severity());
        match args.format {
            SummaryFormat::Text => print!("{}", outcome.summary.to_text(outcome.elapsed_s)),
            SummaryFormat::Json => json_docs.push(outcome.summary),
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
    if input_error {
        return ExitCode::from(EXIT_INPUT_ERROR);
    }
    match (args.fail_on, worst) {
        (Some(threshold), Some(w)) if w >= threshold => ExitCode::from(EXIT_FINDINGS),
        _ => ExitCode::from(EXIT_CLEAN),
    }
}

impl Summary {
    fn findings_max_severity(&self) -> Option<Severity> {
        Severity::ALL.into_iter().rev().find(|s| {
            self.findings
                .by_severity
                .get(s.name())
                .copied()
                .unwrap_or(0)
                > 0
        })
    }
}
