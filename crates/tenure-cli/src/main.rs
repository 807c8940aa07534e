//! `tenure`: resources under management from the command line.
//!
//! One module per verb; `main` only parses and dispatches. Verbs:
//! - `demo` ([`demo`]): the main job — files into SQLite through a pool, one transaction per
//!   file, a metered stream, and a ledger that proves nothing leaked.
//! - `meter` ([`meter`]): run a command as a managed resource and measure its output stream.
//!
//! Beside them: [`chart`], what both reports draw with; [`code`], the exit codes.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod chart;
mod code;
mod demo;
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
    Demo(demo::Args),
    Meter(meter::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.verb {
        Verb::Demo(args) => demo::run(args),
        Verb::Meter(args) => meter::run(args),
    };
    ExitCode::from(code)
}
