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
            ExitCode::SUCCESS
        }
        ConfigCommand::Check { file } => match DetectConfig::load(&file) {
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
