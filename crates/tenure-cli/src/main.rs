//! `tenure`: resources under management from the command line.
//!
//! One module per verb; `main` only parses and dispatches. Verbs so far:
//! - `meter` ([`meter`]): run a command as a managed resource and measure its output stream.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod meter;

/// Deterministic resource management, from the command line.
#[derive(Debug, Parser)]
#[command(name = "tenure", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    Meter(meter::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.verb {
        Verb::Meter(args) => meter::run(args),
    };
    ExitCode::from(code)
}
