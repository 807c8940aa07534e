//! `tenure demo`: the main job, on embedded SQLite — every part of tenure at work on real
//! resources, with nothing to install or start.
//!
//! - [`input`]: the generated CSV files (some with a malformed row), opened into the job's
//!   `ExitStack` and counted by the ledger.
//! - [`load`]: workers loading each file through the pool in one `tenure::tx` transaction.
//! - [`query`]: the records streamed back through a `stream::Meter` into an `Accumulator`.
//! - [`job`]: the phases in order, each timed, and what is released after them.
//! - [`report`]: the checks, the table and the JSON document; [`progress`]: what stderr shows
//!   meanwhile.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;

mod input;
mod job;
mod load;
mod progress;
mod query;
mod report;

use crate::code;

const ABOUT: &str = "Run the demo job: files into SQLite through a pool, transactions, \
a metered stream, and a ledger that proves nothing leaked";

const LONG_ABOUT: &str = "\
Run a real batch job on embedded SQLite, in a temporary directory that is removed on exit \
(unless --keep DIR), and report what every part of tenure did.

The job writes input files of generated records (every third one has a malformed row) and \
opens them all through an ExitStack; loads them into a SQLite database through a pool of \
tenure-sqlite connections — more workers than connections, so some wait — in one \
transaction per file: a file with a bad row rolls back as a whole, the others commit; then \
streams the committed records back through a stream Meter into an Accumulator and writes \
them to export.csv. Every phase is timed. A testing Ledger counts every file, connection \
and stream the job acquires, and the report ends with the checks: the rows committed equal \
the valid rows of the files that committed, the rows of rolled-back files are absent, \
nothing leaked, no close failed.

Progress goes to stderr (bars on a terminal, plain lines elsewhere); the report goes to \
stdout (--json: one JSON document). Ctrl-C stops the job: open transactions roll back, \
everything is released, and the report says so.

Exit code: 0 the job ran and every check passed; 1 the job failed (--fail-at, or a real \
error) and everything was rolled back and released; 3 something leaked or a check failed; \
2 usage; 125 the demo itself could not run (or panicked: still reported, everything \
released); 130 interrupted.";

const EXAMPLES: &str = "\
Examples:
  tenure demo
  tenure demo --fail-at load         # a file's COMMIT fails: it rolls back, the rest commit; exit 1
  tenure demo --json | jq .leaked
  tenure demo --keep demo-run && sqlite3 demo-run/demo.db 'SELECT * FROM loads'
  tenure demo --files 16 --rows 20000";

/// A phase `--fail-at` can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Opening the input files: one open is refused (the ledger's faults).
    Open,
    /// Loading: the `COMMIT` of a file mid-load fails (the SQLite manager's test hooks).
    Load,
    /// Streaming the query: a row of the stream fails.
    Query,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Open => "open",
            Phase::Load => "load",
            Phase::Query => "query",
        }
    }
}

/// `tenure demo [OPTIONS]`
#[derive(Debug, clap::Args)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_long_help = EXAMPLES)]
pub struct Args {
    /// Print the report as one JSON document on stdout: the library's field names, durations
    /// as integer nanoseconds (`…_ns`), every field of the pool's `Status` and
    /// `Statistics`, and `leaked`. Example: `tenure demo --json | jq .checks`.
    #[arg(long)]
    pub json: bool,

    /// Inject a failure into PHASE through `testing::Faults`: `open` (an input file cannot
    /// be opened), `load` (the `COMMIT` of a file mid-load fails: that file rolls back, the
    /// others commit), `query` (a row of the result stream fails). The job rolls back what
    /// the failure reached, releases everything and exits 1. Example:
    /// `tenure demo --fail-at load`.
    #[arg(long, value_name = "PHASE", value_enum)]
    pub fail_at: Option<Phase>,

    /// Work in DIR instead of a temporary directory, and keep it: the input files, the
    /// database `demo.db` and `export.csv`. DIR must not exist yet (its parent must).
    /// Example: `--keep demo-run`.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,

    /// How many input files. Example: `--files 16`.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub files: u16,

    /// Records per input file. Example: `--rows 100000` for a longer load.
    #[arg(long, value_name = "N", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub rows: u64,
}

/// Why the job halts: a signal, or a failure a worker met. Shared by the workers, the
/// transaction bodies (checked at every row) and the signal thread.
#[derive(Debug, Default)]
pub struct Stop {
    signal: AtomicI32,
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
}

impl Stop {
    /// Whether the job should stop (and its open transactions roll back).
    pub fn halted(&self) -> bool {
        self.signal.load(Ordering::Relaxed) != 0 || self.failed.load(Ordering::Relaxed)
    }

    /// A signal arrived (the first one counts).
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn interrupt(&self, signal: i32) {
        let _ = self
            .signal
            .compare_exchange(0, signal, Ordering::Relaxed, Ordering::Relaxed);
    }

    pub fn signal(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::Relaxed)).filter(|&s| s != 0)
    }

    /// A worker failed: the first failure is the job's.
    pub fn fail(&self, why: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(why);
        self.failed.store(true, Ordering::Relaxed);
    }

    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Creates the `--keep` directory: it must not exist, and its parent must be writable.
fn make_keep_dir(dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() {
        return Err(format!(
            "--keep {}: it already exists (give a new directory: the demo does not mix its files with others)",
            dir.display()
        ));
    }
    std::fs::create_dir(dir)
        .map_err(|e| format!("--keep {}: cannot create it: {e}", dir.display()))?;
    dir.canonicalize()
        .map_err(|e| format!("--keep {}: {e}", dir.display()))
}

/// Runs the verb; returns the exit code.
pub fn run(args: Args) -> u8 {
    let keep = match args.keep.as_deref().map(make_keep_dir).transpose() {
        Ok(keep) => keep,
        Err(message) => {
            eprintln!("tenure demo: {message}");
            return code::USAGE;
        }
    };
    job::run(&args, keep)
}
