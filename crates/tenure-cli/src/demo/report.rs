//! The report: what the job did, the checks, the exit code; as a table or one JSON
//! document (the conventions of `tenure meter --json`: the library's field names, durations
//! as integer nanoseconds `…_ns`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tenure::pool::{Statistics, Status};
use tenure::testing::{Event, Ledger};

use super::input::Spec;
use super::load::{FileLoad, Outcome, Rollback};
use super::query::Streamed;
use super::Args;
use crate::code;

/// How the job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Completed,
    /// A phase failed (`--fail-at` or a real error); what it had begun was rolled back.
    Failed {
        phase: &'static str,
        error: String,
    },
    /// By this signal.
    Interrupted(String),
    /// The demo itself could not run (no temporary directory, no runtime, no database).
    CouldNotRun(String),
}

/// A phase's duration (from `Timed::finish`) and outcome (`success`, `error`).
#[derive(Debug, Clone)]
pub struct PhaseTime {
    pub name: &'static str,
    pub took: Duration,
    pub outcome: &'static str,
}

/// The database as read back after the job, on a connection of its own.
#[derive(Debug, Clone, Copy)]
pub struct Database {
    /// Rows in `records`.
    pub records: u64,
    /// Rows in `records` that belong to files whose load did not commit.
    pub rolled_back_rows: u64,
    /// Rows in `loads` (one per committed file).
    pub loads: u64,
}

/// Resources of one kind, as the ledger counted them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kind {
    pub acquired: u64,
    pub closed: u64,
    pub close_failed: u64,
    /// Dropped without a close.
    pub dropped: u64,
}

impl Kind {
    fn live(&self) -> u64 {
        self.acquired - self.closed - self.close_failed - self.dropped
    }
}

/// A pool's figures: its status after the job, its statistics once closed.
#[derive(Debug, Clone)]
pub struct PoolFigures {
    /// `writer` or `readers`.
    pub name: &'static str,
    pub status: Status,
    pub statistics: Option<Statistics>,
}

/// One check of the report.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Everything the report says.
pub struct Summary {
    pub files: usize,
    pub rows_per_file: u64,
    pub fail_at: Option<&'static str>,
    /// Workers on threads (`get_blocking`) and on tasks (`get().await`).
    pub threads: usize,
    pub tasks: usize,
    pub dir: Option<PathBuf>,
    pub kept: bool,
    /// Whether the temporary directory was removed (`None` when kept, or never made).
    pub dir_removed: Option<Result<(), String>>,
    pub end: End,
    pub phases: Vec<PhaseTime>,
    pub specs: Vec<Spec>,
    pub loads: Vec<FileLoad>,
    /// The writers' pool, then the readers'.
    pub pools: Vec<PoolFigures>,
    pub streamed: Option<Streamed>,
    pub database: Option<Database>,
    pub kinds: BTreeMap<String, Kind>,
    pub leaked: u64,
    /// Cleanup that failed: the stack's closes, the pool's close, the read-back.
    pub close_errors: Vec<String>,
    pub checks: Vec<Check>,
    pub exit_code: u8,
}

impl Summary {
    pub fn new(args: &Args, threads: usize, tasks: usize) -> Self {
        Summary {
            files: usize::from(args.files),
            rows_per_file: args.rows,
            fail_at: args.fail_at.map(|p| p.name()),
            threads,
            tasks,
            dir: None,
            kept: args.keep.is_some(),
            dir_removed: None,
            end: End::Completed,
            phases: Vec::new(),
            specs: Vec::new(),
            loads: Vec::new(),
            pools: Vec::new(),
            streamed: None,
            database: None,
            kinds: BTreeMap::new(),
            leaked: 0,
            close_errors: Vec::new(),
            checks: Vec::new(),
            exit_code: code::FAILED,
        }
    }

    /// Rows the committed loads reported.
    pub fn committed_rows(&self) -> u64 {
        self.loads
            .iter()
            .map(|l| match l.outcome {
                Outcome::Committed { rows } => rows,
                _ => 0,
            })
            .sum()
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.loads.iter().filter(|l| f(&l.outcome)).count()
    }

    /// Takes the ledger's counts, per kind.
    pub fn ledger(&mut self, ledger: &Ledger) {
        for event in ledger.events() {
            let (kind, field): (_, fn(&mut Kind) -> &mut u64) = match &event {
                Event::Acquired { kind, .. } => (kind, |k| &mut k.acquired),
                Event::Released { kind, .. } => (kind, |k| &mut k.closed),
                Event::CloseFailed { kind, .. } => (kind, |k| &mut k.close_failed),
                Event::Dropped { kind, .. } => (kind, |k| &mut k.dropped),
                _ => continue,
            };
            *field(self.kinds.entry(kind.to_string()).or_default()) += 1;
        }
        self.leaked = ledger.live_count() as u64;
    }

    /// The checks, then the exit code.
    pub fn check(&mut self) {
        let mut checks = Vec::new();
        if let Some(db) = self.database {
            let expected: u64 = self
                .loads
                .iter()
                .zip(&self.specs)
                .filter(|(l, _)| matches!(l.outcome, Outcome::Committed { .. }))
                .map(|(_, spec)| spec.valid_rows())
                .sum();
            checks.push(Check {
                name: "rows committed",
                passed: db.records == expected && db.loads as usize == self.count(committed),
                detail: format!(
                    "{} in the database = {expected}, the valid rows of the {} that committed",
                    db.records,
                    files(self.count(committed))
                ),
            });
            checks.push(Check {
                name: "rolled back",
                passed: db.rolled_back_rows == 0,
                detail: format!(
                    "{} rows in the database from the {} that did not commit",
                    db.rolled_back_rows,
                    files(self.loads.len() - self.count(committed))
                ),
            });
        } else if self.end == End::Completed || !self.loads.is_empty() {
            checks.push(Check {
                name: "rows committed",
                passed: false,
                detail: "the database could not be read back".into(),
            });
        }
        checks.push(Check {
            name: "leaked",
            passed: self.leaked == 0,
            detail: self.leaked.to_string(),
        });
        let close_failures = self.kinds.values().map(|k| k.close_failed).sum::<u64>()
            + self
                .pools
                .iter()
                .filter_map(|p| p.statistics.as_ref())
                .map(|s| s.close_failures)
                .sum::<u64>()
            + self.close_errors.len() as u64;
        checks.push(Check {
            name: "close failures",
            passed: close_failures == 0,
            detail: close_failures.to_string(),
        });
        self.checks = checks;
        self.exit_code = if self.checks.iter().any(|c| !c.passed) {
            code::CHECK_FAILED
        } else {
            match self.end {
                End::Completed => code::OK,
                End::Failed { .. } => code::JOB_FAILED,
                End::Interrupted(_) => code::INTERRUPTED,
                End::CouldNotRun(_) => code::FAILED,
            }
        };
    }

    /// What a job that ended early took back: the transactions the failure (or the
    /// signal) rolled back — not those of files refused for a malformed row, which roll
    /// back on every run — its files closed, its export never written.
    pub fn undone(&self) -> String {
        let rolled: Vec<&str> = self
            .loads
            .iter()
            .zip(&self.specs)
            .filter(|(l, _)| {
                matches!(&l.outcome, Outcome::RolledBack { cause, .. } if *cause != Rollback::BadRow)
            })
            .map(|(_, spec)| spec.name.as_str())
            .collect();
        let transactions = match rolled.len() {
            0 => "no transaction was open".to_string(),
            1 => format!("1 transaction rolled back ({})", rolled[0]),
            n => format!("{n} transactions rolled back ({})", rolled.join(", ")),
        };
        let files = self.kinds.get(super::input::FILE).map_or(0, |k| k.closed);
        let export = match self.streamed.as_ref().and_then(|q| q.export.as_ref()) {
            Some(_) => "the export was written",
            None => "no export written",
        };
        format!("{transactions}; {files} open input files closed; {export}")
    }

    fn headline(&self) -> String {
        let passed = self.checks.iter().all(|c| c.passed);
        let what = match &self.end {
            End::Completed => "completed".to_string(),
            End::Failed { phase, .. } => format!("failed in {phase}"),
            End::Interrupted(signal) => format!("interrupted by {signal}"),
            End::CouldNotRun(_) => "could not run".to_string(),
        };
        let files = format!(
            "{}: {} committed, {} rolled back, {} not loaded",
            files(self.files),
            self.count(committed),
            self.count(|o| matches!(o, Outcome::RolledBack { .. })),
            self.files
                - self.count(committed)
                - self.count(|o| matches!(o, Outcome::RolledBack { .. })),
        );
        let checks = if passed {
            "every check passed"
        } else {
            "A CHECK FAILED"
        };
        format!(
            "tenure demo: {what} — {files}; {checks} (exit {})",
            self.exit_code
        )
    }
}

/// `1 file`, `8 files`.
fn files(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

fn committed(o: &Outcome) -> bool {
    matches!(o, Outcome::Committed { .. })
}

mod json;
mod table;

pub use json::json;
pub use table::table;
