//! `netsec rules`: load Suricata / ET Open rules and say what loaded.
//!
//! The loading and its report are netsec-detect's ([`RuleSet`]); this module
//! prints them. Exit codes: 0 every rule loaded or skipped as unsupported,
//! 2 a file unreadable or a rule malformed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use netsec_detect::signature::{RuleConfig, RuleSet, SkipReason};

use super::analyze::EXIT_INPUT_ERROR;

/// Check or list signature rules (Suricata syntax).
#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

/// How rules are read: shared by `check` and `list`.
#[derive(Debug, Args)]
pub struct RuleSource {
    /// Rule files or directories of `*.rules` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A classification.config to add to the built-in one (ET Open's).
    #[arg(long, value_name = "FILE")]
    pub classification: Option<PathBuf>,
    /// Set a rule variable, e.g. `HOME_NET=[10.0.0.0/8]` or `HTTP_PORTS=[80,8080]`
    /// (defaults: suricata.yaml's). Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

impl RuleSource {
    /// Load every path with these settings.
    pub fn load(&self) -> Result<RuleSet, String> {
        let mut config = RuleConfig::default();
        for var in &self.vars {
            config.set_var(var).map_err(|e| e.to_string())?;
        }
        if let Some(path) = &self.classification {
            config
                .load_classification(path)
                .map_err(|e| e.to_string())?;
        }
        let mut set = RuleSet::new(config);
        for path in &self.paths {
            set.load_path(path);
        }
        Ok(set)
    }
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Load rules and report, per file, what loaded and what was skipped and why.
    Check {
        #[command(flatten)]
        source: RuleSource,
        /// Only the per-file counts and the totals, not every skipped rule.
        #[arg(long)]
        summary: bool,
    },
    /// List the loaded rules: gid:sid:rev, classtype, priority, message.
    List {
        #[command(flatten)]
        source: RuleSource,
    },
}

/// Run `netsec rules`.
pub fn run(args: RulesArgs) -> ExitCode {
    let (source, summary, list) = match &args.command {
        RulesCommand::Check { source, summary } => (source, *summary, false),
        RulesCommand::List { source } => (source, true, true),
    };
    let set = match source.load() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("netsec: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    // a closed pipe (`| head`) ends the output quietly
    let mut stdout = std::io::stdout().lock();
    if list {
        for loaded in &set.rules {
            let rule = &loaded.rule;
            let _ = writeln!(
                stdout,
                "{}\t{}\t{}\t{}",
                rule.signature_id(),
                rule.classtype.as_deref().unwrap_or("-"),
                rule.priority.map_or("-".to_string(), |p| p.to_string()),
                rule.msg
            );
        }
    } else {
        let _ = print_report(&mut stdout, &set, summary);
    }
    let broken = set.files.iter().any(|f| {
        f.read_error.is_some()
            || f.skipped
                .iter()
                .any(|s| matches!(s.reason, SkipReason::Invalid(_)))
    });
    if broken {
        ExitCode::from(EXIT_INPUT_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_report(out: &mut impl Write, set: &RuleSet, summary: bool) -> std::io::Result<()> {
    for file in &set.files {
        if let Some(e) = &file.read_error {
            writeln!(out, "{}: cannot read: {e}", file.path.display())?;
            continue;
        }
        let unsupported = file.unsupported();
        writeln!(
            out,
            "{}: {} loaded, {} skipped ({} unsupported, {} invalid or duplicate), {} disabled",
            file.path.display(),
            file.loaded,
            file.skipped.len(),
            unsupported,
            file.skipped.len() - unsupported,
            file.disabled
        )?;
        if !summary {
            for skipped in &file.skipped {
                writeln!(out, "  {skipped}")?;
            }
        }
    }
    let total = set.loaded() + set.skipped();
    let percent = if total == 0 {
        100.0
    } else {
        set.loaded() as f64 * 100.0 / total as f64
    };
    writeln!(
            out,
        "total: {} of {} rules loaded ({percent:.2} %), {} skipped ({} unsupported, {} invalid or duplicate)",
        set.loaded(),
        total,
        set.skipped(),
        set.unsupported(),
        set.skipped() - set.unsupported()
    )?;
    let keywords = set.unsupported_keywords();
    if !keywords.is_empty() {
        let list: Vec<String> = keywords.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(out, "unsupported: {}", list.join(", "))?;
    }
    Ok(())
}
