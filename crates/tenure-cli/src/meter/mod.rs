//! `tenure meter -- CMD`: runs CMD with its output passed through, meters the stream with
//! [`tenure::stream::Meter`], and treats the child as a resource released on every path.
//!
//! - [`child`]: spawning CMD in its own process group, on a pipe or a pseudo-terminal, with
//!   the stdin policy.
//! - [`procs`]: the one reaper of all our children, the process tree, stopping a group.
//! - [`pump`]: copying the metered stream through and feeding the meter (chunks or lines).
//! - [`report`]: the table with its gap histogram, and the JSON object.
//! - [`run`](mod@run): the run itself: what ends it, how everything is released, the exit code.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(unix)]
mod child;
#[cfg(unix)]
mod procs;
#[cfg(unix)]
pub(crate) use procs::signal_name;
#[cfg(unix)]
mod pump;
#[cfg(unix)]
mod report;
#[cfg(unix)]
mod run;

pub(crate) use crate::code;

const ABOUT: &str = "Run a command, pass its output through, and meter the stream";

const LONG_ABOUT: &str = "\
Run CMD, copy its stdout through as it arrives, and meter the stream: time to first byte \
(TTFB), total time, chunks (reads, or lines with --lines), bytes, throughput, and the gaps \
between chunks (p50 / p90 / p99 / max and a small histogram). The report goes to stderr once \
CMD's output has ended (or to --report PATH).

CMD runs in its own process group and is released on every path: on --timeout, on Ctrl-C or \
SIGTERM to tenure, when our own stdout closes (`tenure meter -- yes | head`), and on any \
error, the whole group is sent SIGTERM, then SIGKILL after --grace, and reaped; what CMD \
leaves running after it exits is stopped the same way. On Linux tenure is a child subreaper, \
so descendants that left the group (setsid, double fork) are found, stopped and reaped too. \
Only a SIGKILL to tenure itself leaves them behind.

Stdin: CMD reads tenure's stdin when that is not a terminal (a pipe, a file); when it is a \
terminal, CMD gets /dev/null (a background process group that reads the terminal would stop \
on SIGTTIN).

Pipes and buffering: without --pty, CMD's stdout is a pipe, and most programs (C stdio, \
Python) block-buffer a pipe: TTFB and the gaps then measure buffer flushes, not the \
program. --pty gives CMD a pseudo-terminal instead, so it writes as it would to a terminal.

Exit code: CMD's own (128 + N when it died of signal N); 124 on timeout; 126 when CMD is not \
executable, 127 when it is not found; 130 when interrupted; 141 when our output closed; \
125 when tenure itself failed; 2 for usage errors.";

const EXAMPLES: &str = "\
Examples:
  tenure meter -- sh -c 'for i in 1 2 3; do echo $i; sleep 0.2; done'
  tenure meter --pty --lines -- python3 -c 'import time; [print(i) or time.sleep(0.1) for i in range(5)]'
  tenure meter --quiet --json --timeout 1m -- cargo build --color=always
  tenure meter --stderr --report build.metrics -- make";

/// `tenure meter [OPTIONS] -- CMD [ARGS]...`
#[derive(Debug, clap::Args)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub struct Args {
    /// Drop CMD's metered output instead of passing it through (it is still read and
    /// metered). Example: `tenure meter -q -- cat big.log`.
    #[arg(short, long)]
    pub quiet: bool,

    /// Print the report as one JSON object: the library's field names and units (integer
    /// nanoseconds: `ttfb_ns`, `total_ns`, …), plus `exit_status`, `exit_code` and the end
    /// reason in `status`. Example: `tenure meter --json -- ls | jq .`.
    #[arg(long)]
    pub json: bool,

    /// Write the report to PATH instead of stderr, so it never interleaves with CMD's own
    /// stderr. Example: `--report metrics.txt`.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Count and time lines instead of reads: bytes still pass through as they arrive; a
    /// line is counted when its newline arrives (a last line without one, at the end).
    /// Example: a token-per-line LLM CLI, `tenure meter --lines -- llm 'hi'`.
    #[arg(long)]
    pub lines: bool,

    /// Meter CMD's stderr instead; its stdout then passes through unmetered.
    /// Example: `tenure meter --stderr -- cargo build`.
    #[arg(long)]
    pub stderr: bool,

    /// Run CMD with the metered stream on a pseudo-terminal, so that it does not
    /// block-buffer as most programs do on a pipe (no `\n` → `\r\n` translation).
    /// Example: `tenure meter --pty -- python3 slow_printer.py`.
    #[arg(long)]
    pub pty: bool,

    /// Stop CMD (and everything it started) after D: `500ms`, `2s`, `1m`; exit 124.
    /// Example: `--timeout 30s`.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,

    /// How long CMD's processes get between SIGTERM and SIGKILL when they are stopped (a
    /// second Ctrl-C skips the rest). Example: `--grace 10s` for a server that drains.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration, default_value = "2s")]
    pub grace: Duration,

    /// The command to run and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub cmd: Vec<OsString>,
}

/// Runs the verb; returns the exit code.
pub fn run(args: Args) -> u8 {
    #[cfg(unix)]
    {
        run::run(args)
    }
    #[cfg(not(unix))]
    {
        let _ = args;
        eprintln!("tenure meter: unsupported on this platform (Unix only)");
        code::FAILED
    }
}
