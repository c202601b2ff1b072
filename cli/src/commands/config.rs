//! `netsec config`: the detection configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use netsec_detect::DetectConfig;

/// Print or check the detection configuration (TOML).
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the default configuration, every threshold with a comment on
    /// where its value comes from (start a config file from it).
    Default,
    /// Check a configuration file: exit 0 if it loads, else say which key
    /// on which line is wrong and exit 2.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// Run `netsec config`.
pub fn run(args: ConfigArgs) -> ExitCode {
    match args.command {
        ConfigCommand::Default => {
            print!("{}", DetectConfig::default_toml());
            println!(
                "\n# DNS threat lists, tunnel, DGA and spoofing detectors (netsec-dns; docs/DNS.md)"
            );
            print!("{}", netsec_dns::DnsConfig::default_netsec_toml());
            ExitCode::SUCCESS
        }
        ConfigCommand::Check { file } => match DetectConfig::load(&file)
            .map_err(|e| e.to_string())
            .and_then(|_| {
                let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
                let dns = netsec_dns::DnsConfig::from_netsec_toml(&text)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                // The threat lists of `dns.intel` must load too.
                dns.load_intel(&mut netsec_dns::IntelLists::default(), Some((&file, &text)))
                    .map_err(|e| format!("{}: {e}", file.display()))
            }) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("netsec: {e}");
                ExitCode::from(super::analyze::EXIT_INPUT_ERROR)
            }
        },
    }
}
