//! `netsec`: the command-line front end. It parses arguments, wires the
//! library crates into a pipeline and prints; no analysis happens here.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// Fast, embeddable network-security toolkit.
#[derive(Debug, Parser)]
#[command(name = "netsec", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
