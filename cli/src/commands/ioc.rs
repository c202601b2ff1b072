//! `netsec ioc`: indicators of compromise from captures (or saved
//! findings) as STIX 2.1, CSV, MISP or JSON. `netsec timeline` shares the
//! run: [`run_capture`] analyses captures with every detector, the IoC
//! collector and the timeline's traffic recorder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use netsec_analyze::{expand_paths, Analysis, Input};
use netsec_detect::timeline::{TrafficConfig, TrafficRecorder};
use netsec_detect::{Cidr, DetectConfig};
use netsec_ioc::{IocCollector, IocConfig, SharedAnalyzer, StixOptions};
use netsec_model::Finding;

use super::detectors::DetectorArgs;

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IocFormat {
    /// STIX 2.1 bundle.
    Stix,
    /// One indicator per row.
    Csv,
    /// The indicators with their context.
    Json,
    /// A MISP event.
    Misp,
}

/// What the capture-reading commands share: inputs and detection settings.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Capture files or directories of them.
    #[arg(value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,
    /// Read findings saved by `netsec analyze --out DIR` (DIR/findings.jsonl)
    /// instead of analysing captures.
    #[arg(long, value_name = "FINDINGS", conflicts_with = "inputs")]
    pub from: Option<PathBuf>,
    /// Threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The detectors, as `netsec analyze` runs them; the configuration's
    /// `[network] home` networks are also the IoC home networks.
    #[command(flatten)]
    pub detectors: DetectorArgs,
}

/// Export indicators of compromise.
#[derive(Debug, Args)]
pub struct IocArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = IocFormat::Json)]
    pub format: IocFormat,
    /// Write here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also leave out names under this domain (repeatable).
    #[arg(long, value_name = "DOMAIN")]
    pub allow_domain: Vec<String>,
    /// Also leave out this well-known infrastructure (an address or CIDR;
    /// repeatable), besides the public resolvers left out by default.
    #[arg(long, value_name = "CIDR")]
    pub infrastructure: Vec<Cidr>,
    /// Export only indicators some finding names or points to.
    #[arg(long)]
    pub require_finding: bool,
    /// Take the SHA-256 and MD5 of every file carried over HTTP, internal
    /// servers and names included (by default, as for URLs, only transfers
    /// with an outside server or Host name).
    #[arg(long)]
    pub all_files: bool,
}

/// What a run of captures (or a findings file) gave.
pub struct CaptureRun {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// The IoC collector, findings added.
    pub collector: IocCollector,
    /// The timeline's traffic (none from a findings file).
    pub traffic: Option<TrafficRecorder>,
    /// The detection configuration used.
    pub detect: DetectConfig,
    /// Name of what was read, for titles.
    pub source: String,
}

fn ioc_config(detect: &DetectConfig) -> IocConfig {
    let home: Vec<Cidr> = detect.network.home.clone();
    IocConfig::default().with_home(home)
}

/// Analyse the captures (or read the findings file) the arguments name.
pub fn run_capture(args: &CaptureArgs, ioc: IocConfig) -> Result<CaptureRun, String> {
    let detectors = args.detectors.load()?;
    let detect = detectors.detect.clone();
    let ioc = IocConfig {
        home: ioc_config(&detect).home,
        ..ioc
    };
    if let Some(path) = &args.from {
        let findings = netsec_ioc::read_findings(path).map_err(|e| e.to_string())?;
        let mut collector = IocCollector::new(ioc);
        collector.add_findings(&findings);
        return Ok(CaptureRun {
            findings,
            collector,
            traffic: None,
            detect,
            source: display_name(path),
        });
    }
    let paths = expand_paths(&args.inputs);
    if paths.is_empty() {
        return Err("no capture files given or found".into());
    }
    let source = paths
        .iter()
        .map(|p| display_name(p))
        .collect::<Vec<_>>()
        .join(", ");
    let (collector_side, collector) = SharedAnalyzer::new(IocCollector::new(ioc));
    let traffic_config = TrafficConfig {
        network: detect.network.clone(),
        ..TrafficConfig::default()
    };
    let (traffic_side, traffic) = SharedAnalyzer::new(TrafficRecorder::new(traffic_config));
    let analysis = Analysis::new()
        .inputs(paths.into_iter().map(Input::Path))
        .threads(args.threads.unwrap_or(0))
        .event_enricher(Arc::new(netsec_tls::enrich));
    let (summary, findings) = detectors
        .add_to(analysis)
        .analyzer(Box::new(collector_side))
        .analyzer(Box::new(traffic_side))
        .run_with_findings()
        .map_err(|e| e.to_string())?;
    for input in &summary.inputs {
        for w in &input.warnings {
            eprintln!("netsec: warning: {w}");
        }
    }
    if summary.input_failed() {
        let errors: Vec<String> = summary
            .inputs
            .iter()
            .filter_map(|i| i.error.clone())
            .collect();
        return Err(errors.join("; "));
    }
    let mut collector = Arc::try_unwrap(collector)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or("the IoC collector is still shared after the run")?;
    let traffic = Arc::try_unwrap(traffic)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or("the traffic recorder is still shared after the run")?;
    collector.add_findings(&findings);
    Ok(CaptureRun {
        findings,
        collector,
        traffic: Some(traffic),
        detect,
        source,
    })
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Write `text` to `output` or standard output.
pub fn write_output(output: Option<&Path>, text: &str) -> Result<(), String> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Run `netsec ioc`.
pub fn run(args: IocArgs) -> ExitCode {
    let mut config = IocConfig {
        require_finding: args.require_finding,
        all_files: args.all_files,
        ..IocConfig::default()
    };
    config
        .allowed_domains
        .extend(args.allow_domain.iter().cloned());
    let run = match run_capture(&args.capture, config) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(2);
        }
    };
    let set = run.collector.indicators();
    let text = match args.format {
        IocFormat::Stix => netsec_ioc::to_stix_json(
            &set,
            &StixOptions {
                producer: "netsec".into(),
                source: run.source.clone(),
            },
        ),
        IocFormat::Csv => Ok(netsec_ioc::to_csv(&set)),
        IocFormat::Json => set.to_json(),
        IocFormat::Misp => {
            netsec_ioc::to_misp(&set, &format!("netsec: indicators from {}", run.source))
        }
    };
    let written = text
        .map_err(|e| e.to_string())
        .and_then(|t| write_output(args.output.as_deref(), &t));
    match written {
        Ok(()) => {
            eprintln!(
                "netsec: {} indicators from {} findings",
                set.indicators.len(),
                run.findings.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("netsec: {e}");
            ExitCode::from(2)
        }
    }
}
