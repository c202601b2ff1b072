//! `netsec baseline learn`: per-host baselines from captures of ordinary
//! days, for `netsec analyze --baseline` (the statistics live in
//! netsec-detect's `baseline` module; this is wiring).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use netsec_analyze::{expand_paths, Analysis, Input};
use netsec_detect::baseline::BaselineLearner;
use netsec_detect::DetectConfig;
use netsec_model::SharedAnalyzer;

use super::analyze::EXIT_INPUT_ERROR;

/// Per-host baselines.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    command: BaselineCommand,
}

#[derive(Debug, Subcommand)]
enum BaselineCommand {
    /// Learn each home host's packets, bytes, fan-out and protocol mix per
    /// window (median and MAD) from captures of ordinary traffic.
    Learn(LearnArgs),
}

/// `netsec baseline learn`.
#[derive(Debug, Args)]
struct LearnArgs {
    /// Capture files or directories of them (ordinary days, in time order).
    #[arg(value_name = "CAPTURE", required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the baseline (versioned JSON).
    #[arg(short = 'o', long, value_name = "FILE")]
    out: PathBuf,
    /// Detection configuration: `[network] home` says which hosts are
    /// learned, `[baseline]` the window and limits.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override one configuration key, e.g. `--set baseline.window_secs=30`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// Run `netsec baseline`.
pub fn run(args: BaselineArgs) -> ExitCode {
    let BaselineCommand::Learn(args) = args.command;
    match learn(&args) {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netsec: {e}");
            ExitCode::from(EXIT_INPUT_ERROR)
        }
    }
}

fn learn(args: &LearnArgs) -> Result<String, String> {
    let mut config = match &args.config {
        Some(path) => DetectConfig::load(path).map_err(|e| e.to_string())?,
        None => DetectConfig::default(),
    };
    for setting in &args.settings {
        config.set(setting).map_err(|e| e.to_string())?;
    }
    let paths = expand_paths(&args.inputs);
    if paths.is_empty() {
        return Err("no capture files given or found".into());
    }
    let sources = paths
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
        })
        .collect();
    let learner =
        BaselineLearner::new(config.baseline.clone(), config.network.clone()).with_sources(sources);
    let (side, learner) = SharedAnalyzer::new(learner);
    let summary = Analysis::new()
        .inputs(paths.into_iter().map(Input::Path))
        .threads(args.threads.unwrap_or(0))
        .analyzer(Box::new(side))
        .run()
        .map_err(|e| e.to_string())?;
    let errors: Vec<String> = summary
        .inputs
        .iter()
        .filter_map(|i| i.error.clone())
        .collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let baseline = learner
        .lock()
        .map(|mut l| l.baseline())
        .map_err(|_| "the baseline learner failed during the run".to_string())?;
    baseline.save(&args.out).map_err(|e| e.to_string())?;
    Ok(format!(
        "netsec: baseline of {} hosts ({:.0}-s windows) written to {}{}",
        baseline.hosts.len(),
        baseline.window_secs,
        args.out.display(),
        if baseline.hosts_evicted > 0 {
            format!(
                " ({} hosts left out: the host table was full)",
                baseline.hosts_evicted
            )
        } else {
            String::new()
        }
    ))
}
