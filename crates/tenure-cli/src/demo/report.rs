//! The report: what the job did, the checks, the exit code; as a table or one JSON
//! document (the conventions of `tenure meter --json`: the library's field names, durations
//! as integer nanoseconds `…_ns`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use tenure::pool::{Durations, Statistics, Status};
use tenure::testing::{Event, Ledger};

use super::input::Spec;
use super::load::{FileLoad, Outcome, Rollback};
use super::query::Streamed;
use super::Args;
use crate::chart::{self, bytes, human, Bucket, Style};
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

/// The pool's wait times as chart buckets.
pub fn wait_buckets(d: &Durations) -> Vec<Bucket> {
    d.buckets()
        .into_iter()
        .map(|b| Bucket {
            low: b.low,
            high: b.high,
            count: b.count,
        })
        .collect()
}

fn spread(d: &Durations) -> String {
    format!(
        "{}: mean {}  p50 {}  p90 {}  p99 {}  max {}",
        d.count,
        human(d.mean()),
        human(d.p50()),
        human(d.quantile(0.9)),
        human(d.p99()),
        human(d.max)
    )
}

pub fn table(s: &Summary, style: Style) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{}", style.paint("1", &s.headline()));
    let row = |t: &mut String, k: &str, v: &str| {
        let _ = writeln!(t, "  {}{v}", style.paint("2", &format!("{k:<12}")));
    };
    match &s.end {
        End::Failed { phase, error } => row(&mut t, "failed", &format!("{phase}: {error}")),
        End::CouldNotRun(e) => row(&mut t, "error", e),
        End::Interrupted(sig) => row(
            &mut t,
            "interrupted",
            &format!("{sig}: open transactions rolled back, everything released"),
        ),
        End::Completed => {}
    }
    if let Some(p) = s.fail_at {
        row(&mut t, "injected", &format!("--fail-at {p}"));
    }
    if s.end != End::Completed {
        row(&mut t, "undone", &s.undone());
    }
    if let Some(dir) = &s.dir {
        let fate = match &s.dir_removed {
            Some(Ok(())) => "removed".to_string(),
            Some(Err(e)) => format!("NOT removed: {e}"),
            None => "kept".to_string(),
        };
        row(&mut t, "work dir", &format!("{} ({fate})", dir.display()));
    }
    let phases: Vec<String> = s
        .phases
        .iter()
        .map(|p| {
            let failed = if p.outcome == "success" {
                ""
            } else {
                " (failed)"
            };
            format!("{} {}{failed}", p.name, human(p.took))
        })
        .collect();
    if !phases.is_empty() {
        row(&mut t, "phases", &phases.join("  "));
    }
    row(
        &mut t,
        "job",
        &format!(
            "{} × {} rows; {} sharing the writer, one transaction per file",
            files(s.files),
            s.rows_per_file,
            workers(s.threads, s.tasks),
        ),
    );
    for (load, spec) in s.loads.iter().zip(&s.specs) {
        let what = match &load.outcome {
            Outcome::Committed { rows } => format!("committed    {rows} rows"),
            Outcome::RolledBack { why, .. } => format!("rolled back  {why}"),
            Outcome::NotLoaded { why } => format!("not loaded   {why}"),
        };
        let by = if load.worker == "-" {
            String::new()
        } else {
            format!("  [{}, {}]", load.worker, human(load.took))
        };
        let _ = writeln!(t, "    {}  {what}{by}", spec.name);
    }
    if let Some(db) = &s.database {
        let rolled: u64 = s
            .loads
            .iter()
            .zip(&s.specs)
            .filter(|(l, _)| matches!(l.outcome, Outcome::RolledBack { .. }))
            .map(|(_, spec)| spec.rows)
            .sum();
        row(
            &mut t,
            "rows",
            &format!(
                "{} committed ({} in the database); {rolled} in rolled-back files",
                s.committed_rows(),
                db.records
            ),
        );
    }
    for pool in &s.pools {
        let st = &pool.status;
        let head = match pool.name {
            "readers" => "reader pool".to_string(),
            name => format!("{name} pool"),
        };
        let now = format!("{st}; size {} (after the job)", st.size);
        let Some(stats) = &pool.statistics else {
            row(&mut t, &head, &now);
            continue;
        };
        let acquires = format!(
            "{} at once, {} waited, {} timed out, {} refused",
            stats.acquired_direct, stats.acquired_waited, stats.timeouts, stats.refused
        );
        let mut connections = format!(
            "{} created ({} failed), {} closed ({} close failures)",
            stats.created,
            stats.create_failures,
            stats.destroyed.total(),
            stats.close_failures,
        );
        // What a clean run never shows: said only when it happened.
        for (n, what) in [
            (stats.abandoned, "pool work abandoned past its bound"),
            (stats.detached, "detached"),
            (stats.leaks, "held past the leak threshold"),
        ] {
            if n > 0 {
                let _ = write!(connections, ", {n} {what}");
            }
        }
        if pool.name != "writer" {
            row(&mut t, &head, &format!("{now}; {acquires}; {connections}"));
            continue;
        }
        row(&mut t, &head, &now);
        row(&mut t, "acquires", &acquires);
        row(&mut t, "connections", &connections);
        row(&mut t, "hold", &spread(&stats.hold_time));
        row(&mut t, "wait", &spread(&stats.wait_time));
        let w = &stats.wait_time;
        for line in chart::histogram(&wait_buckets(w), w.min, w.max, style) {
            let _ = writeln!(t, "    {line}");
        }
    }
    if let Some(q) = &s.streamed {
        let m = &q.metrics;
        row(
            &mut t,
            "stream",
            &format!(
                "{}: {} rows, {} in {} (TTFB {}; {}/s)",
                m.status,
                m.chunks,
                bytes(m.bytes as f64),
                human(m.total),
                m.ttfb.map_or_else(|| "-".into(), human),
                bytes(m.throughput)
            ),
        );
        if let Some(l) = &m.inter_chunk {
            row(
                &mut t,
                "row gaps",
                &format!(
                    "p50 {}  p90 {}  p99 {}  max {}",
                    human(l.p50),
                    human(l.p90),
                    human(l.p99),
                    human(l.max)
                ),
            );
        }
        if let Some(export) = &q.export {
            let name = export.file_name().unwrap_or_default().to_string_lossy();
            row(&mut t, "export", &name);
        }
    }
    let kinds: Vec<String> = s
        .kinds
        .iter()
        .map(|(kind, k)| {
            let mut text = format!("{kind} {}/{} closed", k.closed, k.acquired);
            if k.close_failed > 0 {
                let _ = write!(text, " ({} close failed)", k.close_failed);
            }
            if k.dropped > 0 {
                let _ = write!(text, " ({} dropped unclosed)", k.dropped);
            }
            if k.live() > 0 {
                let _ = write!(text, " ({} LIVE)", k.live());
            }
            text
        })
        .collect();
    row(
        &mut t,
        "ledger",
        &format!(
            "{}; leaked: {}",
            if kinds.is_empty() {
                "nothing acquired".to_string()
            } else {
                kinds.join(", ")
            },
            s.leaked
        ),
    );
    for e in &s.close_errors {
        row(&mut t, "cleanup", e);
    }
    for (i, c) in s.checks.iter().enumerate() {
        let mark = if c.passed {
            style.paint("32", "ok")
        } else {
            style.paint("31", "FAILED")
        };
        let key = if i == 0 { "checks" } else { "" };
        row(&mut t, key, &format!("{mark}  {}: {}", c.name, c.detail));
    }
    t
}

fn workers(threads: usize, tasks: usize) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (threads, tasks) {
        (t, 0) => format!("{} (threads)", plural(t, "worker")),
        (0, k) => format!("{} (tasks)", plural(k, "worker")),
        (t, k) => format!(
            "{} ({}, {})",
            plural(t + k, "worker"),
            plural(k, "async task"),
            plural(t, "thread")
        ),
    }
}

fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Every field of the pool's `Status`, as it serializes.
pub fn status_json(st: &Status) -> Value {
    serde_json::to_value(st).expect("a Status serializes")
}

/// Every field of the pool's `Statistics`, as it serializes (durations as counts and
/// quantiles in nanoseconds), with `destroyed.total`.
pub fn statistics_json(s: &Statistics) -> Value {
    let mut v = serde_json::to_value(s).expect("Statistics serialize");
    v["destroyed"]["total"] = s.destroyed.total().into();
    v
}

pub fn json(s: &Summary) -> Value {
    let (status, error, phase) = match &s.end {
        End::Completed => ("completed", None, None),
        End::Failed { phase, error } => ("failed", Some(error.clone()), Some(*phase)),
        End::Interrupted(sig) => ("interrupted", Some(format!("interrupted by {sig}")), None),
        End::CouldNotRun(e) => ("could_not_run", Some(e.clone()), None),
    };
    let files: Vec<Value> = s
        .loads
        .iter()
        .zip(&s.specs)
        .map(|(l, spec)| {
            let (outcome, why, rows, cause) = match &l.outcome {
                Outcome::Committed { rows } => ("committed", None, *rows, None),
                Outcome::RolledBack { why, cause } => {
                    ("rolled_back", Some(why.clone()), 0, Some(cause.name()))
                }
                Outcome::NotLoaded { why } => ("not_loaded", Some(why.clone()), 0, None),
            };
            json!({
                "name": spec.name,
                "rows": spec.rows,
                "valid_rows": spec.valid_rows(),
                "bad_line": spec.bad_line,
                "outcome": outcome,
                "rollback": cause,
                "reason": why,
                "rows_committed": rows,
                "worker": l.worker,
                "duration_ns": ns(l.took),
            })
        })
        .collect();
    let stream = s.streamed.as_ref().map(|q| {
        let mut v = serde_json::to_value(&q.metrics).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "gaps".into(),
                serde_json::to_value(&q.gaps).unwrap_or(Value::Null),
            );
            obj.insert("rows".into(), json!(q.rows));
            obj.insert(
                "export".into(),
                json!(q.export.as_ref().map(|p| p.display().to_string())),
            );
        }
        v
    });
    let kinds: BTreeMap<&String, Value> = s
        .kinds
        .iter()
        .map(|(kind, k)| {
            (
                kind,
                json!({
                    "acquired": k.acquired,
                    "closed": k.closed,
                    "close_failed": k.close_failed,
                    "dropped": k.dropped,
                    "live": k.live(),
                }),
            )
        })
        .collect();
    json!({
        "status": status,
        "failed_phase": phase,
        "error": error,
        "fail_at": s.fail_at,
        "undone": (s.end != End::Completed).then(|| s.undone()),
        "exit_code": s.exit_code,
        "dir": s.dir.as_ref().map(|d| d.display().to_string()),
        "kept": s.kept,
        "dir_removed": s.dir_removed.as_ref().map(|r| r.is_ok()),
        "phases": s.phases.iter().map(|p| json!({
            "name": p.name,
            "duration_ns": ns(p.took),
            "outcome": p.outcome,
        })).collect::<Vec<_>>(),
        "files": files,
        "rows_committed": s.committed_rows(),
        "database": s.database.map(|db| json!({
            "records": db.records,
            "rolled_back_rows": db.rolled_back_rows,
            "loads": db.loads,
        })),
        "workers": { "threads": s.threads, "tasks": s.tasks },
        "pools": s.pools.iter().map(|p| (p.name, json!({
            "status": status_json(&p.status),
            "statistics": p.statistics.as_ref().map(statistics_json),
        }))).collect::<BTreeMap<_, _>>(),
        "stream": stream,
        "ledger": kinds,
        "leaked": s.leaked,
        "cleanup_errors": s.close_errors,
        "checks": s.checks.iter().map(|c| json!({
            "name": c.name,
            "passed": c.passed,
            "detail": c.detail,
        })).collect::<Vec<_>>(),
    })
}
