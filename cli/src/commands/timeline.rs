//! `netsec timeline`: the incidents of captures (or saved findings) in the
//! terminal, as JSON, or as a self-contained HTML report.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use netsec_detect::timeline::{TimelineBuilder, TimelineConfig};
use netsec_ioc::IocConfig;

use super::ioc::{run_capture, write_output, CaptureArgs};

/// Terminal output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// The incidents and their narratives.
    Text,
    /// The whole timeline as one JSON document.
    Json,
}

/// Correlate findings into incidents.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value_t = TimelineFormat::Text)]
    pub format: TimelineFormat,
    /// Also write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Run `netsec timeline`.
pub fn run(args: TimelineArgs) -> ExitCode {
    let run = match run_capture(&args.capture, IocConfig::default()) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(2);
        }
    };
    let config = TimelineConfig {
        network: run.detect.network.clone(),
        ..TimelineConfig::default()
    };
    let mut builder = TimelineBuilder::new(config).findings(run.findings.iter().cloned());
    if let Some(traffic) = run.traffic {
        builder = builder.traffic(traffic);
    }
    let timeline = builder.build();
    if let Some(path) = &args.html {
        let indicators = run.collector.indicators();
        let page = netsec_ioc::html_report(
            &timeline,
            &indicators,
            &format!("netsec timeline: {}", run.source),
        );
        if let Err(e) = write_output(Some(path), &page) {
            eprintln!("netsec: {e}");
            return ExitCode::from(2);
        }
    }
    let text = match args.format {
        TimelineFormat::Json => serde_json::to_string_pretty(&timeline)
            .map(|t| t + "\n")
            .map_err(|e| e.to_string()),
        TimelineFormat::Text => Ok(netsec_detect::timeline::render_text(&timeline)),
    };
    match text.and_then(|t| write_output(None, &t)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netsec: {e}");
            ExitCode::from(2)
        }
    }
}
