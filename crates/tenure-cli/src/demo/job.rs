//! The job: its phases in order, each timed with `tenure::timed`, everything it acquires
//! released in reverse order on every path, then the checks and the report.
//!
//! What lives how long: the runtime outlives the pools (their work runs on it, and the
//! async workers run on it); the pools outlive the job's `ExitStack` of open files; the
//! manager the check reads the database with outlives the pools (it reads after they have
//! closed every connection); the work directory outlives them all.

use std::io::{self, IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tenure::pool::PoolConfig;
use tenure::testing::{Faults, Ledger, Op};
use tenure::{timed, Close, ExitStack, ScopeError};
use tenure_sqlite::{Manager, Pools, Synchronous};

use super::progress::Progress;
use super::report::{self, Database, End, PhaseTime, PoolFigures, Summary};
use super::{input, load, query, Args, Phase, Stop};

/// Read-only connections in the readers' pool (the writers' has one: SQLite lets one writer
/// in at a time, and the pool queues the others first come, first served).
pub const READERS: usize = 2;
/// Workers loading files at once, each on a thread of its own (`get_blocking`).
pub const THREADS: usize = 1;
/// Workers loading files at once as tasks on the runtime (`get().await`).
pub const TASKS: usize = 3;

/// Why the job's scope ended early.
#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("could not open the input files")]
    Open(#[source] input::FileError),
    #[error("{0}")]
    Load(String),
    #[error("the query did not finish")]
    Query(#[source] query::QueryError),
    #[error("interrupted")]
    Interrupted,
}

impl JobError {
    fn phase(&self) -> &'static str {
        match self {
            JobError::Open(_) => "open",
            JobError::Load(_) => "load",
            JobError::Query(_) => "query",
            JobError::Interrupted => "",
        }
    }
}

/// Runs a phase: progress lines, a `timed::block` whose `finish` gives the report its
/// duration, and the outcome.
fn phase<T, E>(
    s: &mut Summary,
    progress: &Progress,
    name: &'static str,
    rows: Option<u64>,
    f: impl FnOnce(&mut Summary) -> Result<T, E>,
) -> Result<T, E> {
    progress.started(name, rows);
    let mut timer = timed::block(format!("demo.{name}"));
    let result = timer.check(f(s));
    let outcome = timer.outcome();
    let took = timer.finish();
    progress.finished(name, took, outcome);
    s.phases.push(PhaseTime {
        name,
        took,
        outcome,
    });
    result
}

/// Where the job works: a temporary directory removed at the end, or `--keep`'s.
enum WorkDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl WorkDir {
    fn path(&self) -> &Path {
        match self {
            WorkDir::Temp(t) => t.path(),
            WorkDir::Kept(p) => p,
        }
    }
}

/// The whole run: the job (with the default [`Hooks`]), the release of its directory, the
/// checks, the report on stdout; returns the exit code. Ctrl-C, SIGTERM and SIGHUP halt
/// the job.
pub fn run(args: &Args, keep: Option<PathBuf>) -> u8 {
    let stop = Arc::new(Stop::default());
    #[cfg(unix)]
    let signals = on_signals(stop.clone()).map_err(|e| format!("cannot handle signals: {e}"));
    #[cfg(not(unix))]
    let signals = Ok(());
    let s = run_job(args, keep, &stop, signals, Hooks::default());
    let text = if args.json {
        let mut j = report::json(&s).to_string();
        j.push('\n');
        j
    } else {
        report::table(&s, crate::chart::Style::new(io::stdout().is_terminal()))
    };
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    s.exit_code
}

/// Where a caller of the job's core reaches into it: the ledger that counts every resource
/// (and the faults it and the SQLite manager consult), what runs between the load and the
/// query, and how long the release waits. `tenure demo` runs with the defaults; a test
/// keeps a connection past the job through `after_load` and reads the ledger afterwards.
pub struct Hooks<'a> {
    pub faults: Faults,
    /// Made with `faults` (`Ledger::with_faults`): a refused open is the ledger's fault.
    pub ledger: Ledger,
    /// Called with the pools once every file is loaded, before the query.
    pub after_load: Box<dyn FnOnce(&Pools) + 'a>,
    /// How long the release waits for the pools' connections to come back and close.
    pub release_bound: Duration,
}

impl Default for Hooks<'_> {
    fn default() -> Self {
        let faults = Faults::new();
        Hooks {
            ledger: Ledger::with_faults(faults.clone()),
            faults,
            after_load: Box::new(|_| {}),
            release_bound: Duration::from_secs(10),
        }
    }
}

/// The job's core: the work directory, the phases, the release of everything, the ledger's
/// counts and the checks — everything the report says, and the exit code. `signals` is
/// whether `stop` hears signals (the job does not run without).
pub fn run_job(
    args: &Args,
    keep: Option<PathBuf>,
    stop: &Arc<Stop>,
    signals: Result<(), String>,
    hooks: Hooks<'_>,
) -> Summary {
    let progress = Arc::new(Progress::new(io::stderr().is_terminal()));
    let mut s = Summary::new(args, THREADS, TASKS);
    if let Err(e) = signals {
        s.end = End::CouldNotRun(e);
    }
    let work = match keep {
        Some(dir) => Ok(WorkDir::Kept(dir)),
        None => tempfile::Builder::new()
            .prefix("tenure-demo-")
            .tempdir()
            .map(WorkDir::Temp),
    };
    let ledger = hooks.ledger.clone();
    match work {
        Ok(work) => {
            s.dir = Some(work.path().to_path_buf());
            if s.end == End::Completed {
                // A bug in the job (a panic) unwinds through it, releasing what it holds,
                // and ends here: a report and exit 125, not Rust's 101.
                let ran = panic::catch_unwind(AssertUnwindSafe(|| {
                    job(args, work.path(), hooks, stop, &progress, &mut s)
                }));
                if let Err(payload) = ran {
                    s.end = End::CouldNotRun(format!(
                        "the demo itself failed: it panicked: {}",
                        panic_message(&*payload)
                    ));
                }
            }
            s.dir_removed = match work {
                WorkDir::Temp(t) => Some(t.close().map_err(|e| e.to_string())),
                WorkDir::Kept(_) => None,
            };
        }
        Err(e) => s.end = End::CouldNotRun(format!("cannot create a temporary directory: {e}")),
    }
    if let Some(signal) = stop.signal() {
        s.end = End::Interrupted(signal_name(signal));
    }
    s.ledger(&ledger);
    s.check();
    progress.clear();
    s
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(unix)]
fn on_signals(stop: Arc<Stop>) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                stop.interrupt(signal);
            }
        })?;
    Ok(())
}

fn signal_name(signal: i32) -> String {
    #[cfg(unix)]
    {
        crate::meter::signal_name(signal)
    }
    #[cfg(not(unix))]
    {
        format!("signal {signal}")
    }
}

/// The phases; whatever ends the job early is recorded in `s.end`.
fn job(
    args: &Args,
    dir: &Path,
    hooks: Hooks<'_>,
    stop: &Arc<Stop>,
    progress: &Arc<Progress>,
    s: &mut Summary,
) {
    let (faults, ledger) = (&hooks.faults, &hooks.ledger);
    let files = usize::from(args.files);
    let written = phase(s, progress, "write", None, |_| {
        input::write(dir, files, args.rows, stop)
    });
    let specs = match written {
        Ok(specs) => specs,
        Err(e) => {
            s.end = End::CouldNotRun(format!("cannot write the input files: {e}"));
            return;
        }
    };
    s.specs = specs.clone();
    if stop.halted() {
        return;
    }
    if args.fail_at == Some(Phase::Open) {
        // The open of the file past the middle is refused: those before it are closed again.
        faults.fail_nth(Op::Acquire, input::FILE, (files / 2 + 1).min(files) as u64);
    }

    let setup = phase(s, progress, "setup", None, |_| setup(dir, ledger, faults));
    let (runtime, manager, pools) = match setup {
        Ok(parts) => parts,
        Err(e) => {
            s.end = End::CouldNotRun(e);
            return;
        }
    };
    if args.fail_at == Some(Phase::Load) {
        // The COMMIT of a file mid-load fails (the middle one of those that would commit,
        // whichever a worker gets to first): its transaction rolls back with all its rows
        // inserted, the other files go on, and the load fails once they are done.
        let good = specs.iter().filter(|f| f.bad_line.is_none()).count() as u64;
        faults.fail_nth(
            Op::Commit,
            tenure_sqlite::hooks::KIND,
            (good / 2 + 1).min(good),
        );
    }

    // A bug (a panic) in the phases is caught here, so that the pools are still released
    // and the database read back below, as after any failure.
    let scoped = panic::catch_unwind(AssertUnwindSafe(|| {
        ExitStack::scope(|stack| {
            let opened = phase(s, progress, "open", None, |_| {
                input::open_all(stack, &specs, ledger, stop)
            });
            let files = opened.map_err(JobError::Open)?;
            if stop.halted() {
                return Err(JobError::Interrupted);
            }

            let jobs = files
                .into_iter()
                .zip(&specs)
                .enumerate()
                .map(|(index, (file, spec))| load::Job {
                    index,
                    name: spec.name.clone(),
                    file,
                })
                .collect();
            let shared = load::Shared::new(jobs, stop.clone(), progress.clone());
            let total_rows = specs.iter().map(|f| f.rows).sum();
            let loaded = phase(s, progress, "load", Some(total_rows), |_| {
                let tasks: Vec<_> = (1..=TASKS)
                    .map(|k| {
                        let worker = load::async_worker(
                            pools.writer.clone(),
                            shared.clone(),
                            format!("task {k}"),
                        );
                        runtime.spawn(worker)
                    })
                    .collect();
                std::thread::scope(|threads| {
                    for w in 1..=THREADS {
                        let (writer, shared) = (&pools.writer, &shared);
                        threads.spawn(move || {
                            load::blocking_worker(writer, shared, &format!("thread {w}"))
                        });
                    }
                });
                for task in tasks {
                    if let Err(e) = runtime.block_on(task) {
                        // A worker that panicked: its transaction rolled back as it unwound.
                        stop.fail(format!("a worker task failed: {e}"));
                    }
                }
                match stop.failure().or_else(|| shared.first_failure()) {
                    Some(why) => Err(JobError::Load(why)),
                    None => Ok(()),
                }
            });
            s.loads = shared.finish();
            // The workers are done: the stack holds the only handles on the files again.
            drop(shared);
            loaded?;
            if stop.halted() {
                return Err(JobError::Interrupted);
            }
            (hooks.after_load)(&pools);

            let committed: u64 = s.committed_rows();
            if args.fail_at == Some(Phase::Query) {
                faults.fail_nth(Op::Statement, query::STREAM, committed / 2 + 1);
            }
            let mut streamed = None;
            let queried = phase(s, progress, "query", Some(committed), |_| {
                query::run(&pools.readers, dir, ledger, stop, progress, &mut streamed)
            });
            s.streamed = streamed;
            s.pools = figures(&pools);
            queried.map_err(|e| {
                if stop.signal().is_some() {
                    JobError::Interrupted
                } else {
                    JobError::Query(e)
                }
            })
        })
    }));
    let scoped = scoped.unwrap_or_else(|payload| {
        let why = format!(
            "the demo itself failed: it panicked: {}",
            panic_message(&*payload)
        );
        stop.fail(why.clone()); // the workers still running stop, and roll back
        s.end = End::CouldNotRun(why);
        Ok(())
    });
    match scoped {
        Ok(()) => {}
        Err(ScopeError::Body { error, cleanup }) => {
            if !matches!(error, JobError::Interrupted) {
                s.end = End::Failed {
                    phase: error.phase(),
                    error: tenure::error::Report::new(&error as &dyn std::error::Error).to_string(),
                };
            }
            if let Some(e) = cleanup {
                s.close_errors.push(e.report().to_string());
            }
        }
        Err(e) => s.close_errors.push(e.report().to_string()),
    }
    if s.pools.is_empty() {
        s.pools = figures(&pools);
    }

    let released = phase(s, progress, "release", None, |s| {
        let closed =
            [&pools.writer, &pools.readers].map(|pool| pool.close_blocking(hooks.release_bound));
        for (figures, pool) in s.pools.iter_mut().zip([&pools.writer, &pools.readers]) {
            figures.statistics = Some(pool.statistics());
        }
        drop(pools);
        runtime.shutdown_timeout(Duration::from_secs(10));
        if closed == [true, true] {
            Ok(())
        } else {
            Err(format!(
                "the pools' connections did not all come back and close within {}",
                crate::chart::human(hooks.release_bound)
            ))
        }
    });
    if let Err(e) = released {
        s.close_errors.push(e.to_string());
    }

    let checked = phase(s, progress, "check", None, |s| {
        read_back(&manager, s).map(|db| s.database = Some(db))
    });
    if let Err(e) = checked {
        s.close_errors
            .push(format!("could not read the database back: {e}"));
    }
    drop(manager);
}

type Setup = (tokio::runtime::Runtime, Manager, Pools);

/// The runtime; the database's writer and readers pools, built on the runtime, whose
/// connections report to the ledger and consult the faults (the writer's first connection
/// creates the schema); and a manager of the same database for the check.
fn setup(dir: &Path, ledger: &Ledger, faults: &Faults) -> Result<Setup, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tenure-demo")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let database = Manager::file(dir.join("demo.db"))
        .synchronous(Synchronous::Normal)
        .hooks(faults.clone(), ledger.clone());
    let pools = {
        let _on = runtime.enter();
        Pools::new(
            database
                .clone()
                .init(|conn| conn.execute_batch(load::SCHEMA)),
            READERS,
            PoolConfig {
                // The readers' first get opens both: the query and a spare.
                min_idle: 0,
                ..tenure_sqlite::pool_config()
            },
        )
        .map_err(|e| report_of(&e))?
    };
    let manager = database.build().map_err(|e| report_of(&e))?;
    Ok((runtime, manager, pools))
}

/// Each pool's status now (its statistics are taken once it has closed).
fn figures(pools: &Pools) -> Vec<PoolFigures> {
    [("writer", &pools.writer), ("readers", &pools.readers)]
        .into_iter()
        .map(|(name, pool)| PoolFigures {
            name,
            status: pool.status(),
            statistics: None,
        })
        .collect()
}

fn report_of(e: &(dyn std::error::Error + 'static)) -> String {
    tenure::error::Report::new(e).to_string()
}

/// Reads the database back on a connection of its own, after the pools have closed.
fn read_back(manager: &Manager, s: &Summary) -> Result<Database, String> {
    let conn = manager.open().map_err(|e| report_of(&e))?;
    let read = (|| {
        let count = |sql: &str, file: Option<&str>| -> rusqlite::Result<u64> {
            let n: i64 = match file {
                Some(f) => conn.query_row(sql, [f], |r| r.get(0))?,
                None => conn.query_row(sql, [], |r| r.get(0))?,
            };
            Ok(n.unsigned_abs())
        };
        let records = count("SELECT count(*) FROM records", None)?;
        let mut rolled_back_rows = 0u64;
        for (load, spec) in s.loads.iter().zip(&s.specs) {
            if !matches!(load.outcome, load::Outcome::Committed { .. }) {
                rolled_back_rows += count(
                    "SELECT count(*) FROM records WHERE file = ?1",
                    Some(&spec.name),
                )?;
            }
        }
        let loads = count("SELECT count(*) FROM loads", None)?;
        Ok::<_, rusqlite::Error>(Database {
            records,
            rolled_back_rows,
            loads,
        })
    })();
    conn.close().map_err(|e| report_of(&e))?;
    read.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code;
    use report::Kind;

    fn args(files: u16, rows: u64) -> Args {
        Args {
            json: false,
            fail_at: None,
            keep: None,
            files,
            rows,
        }
    }

    /// The only way for the job to leak from outside: keep one of its connections. The
    /// job runs to the end, the release gives up on that connection after its bound, the
    /// ledger reports it live — leaked: 1 — and the exit code is 3. Once it comes back,
    /// the closed pool closes it and the ledger is clean.
    #[test]
    fn a_connection_kept_past_the_job_is_reported_leaked_and_the_exit_code_is_3() {
        let mut kept = None;
        let hooks = Hooks {
            after_load: Box::new(|pools: &Pools| {
                kept = Some(pools.readers.get_blocking().expect("a reader connection"));
            }),
            // Ample for every other connection to close on a loaded machine; the kept one
            // never comes back within it.
            release_bound: Duration::from_secs(2),
            ..Hooks::default()
        };
        let ledger = hooks.ledger.clone();
        let s = run_job(&args(3, 50), None, &Arc::default(), Ok(()), hooks);

        assert_eq!(s.end, End::Completed, "the job itself ran to the end");
        assert_eq!((s.leaked, s.exit_code), (1, code::CHECK_FAILED));
        assert_eq!(
            s.kinds["sqlite"],
            Kind {
                // the schema's, the writer's, two readers (the query's, the one kept), the check's
                acquired: 5,
                closed: 4,
                close_failed: 0,
                dropped: 0,
            }
        );
        let failed: Vec<&str> = s
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(failed, ["leaked", "close failures"]);
        assert_eq!(
            s.close_errors,
            ["the pools' connections did not all come back and close within 2.00 s"]
        );
        let table = report::table(&s, crate::chart::Style::PLAIN);
        assert!(
            table.starts_with("tenure demo: completed — 3 files: 2 committed, 1 rolled back, 0 not loaded; A CHECK FAILED (exit 3)\n"),
            "{table}"
        );
        assert!(
            table.contains("sqlite 4/5 closed (1 LIVE); leaked: 1\n"),
            "{table}"
        );
        assert!(table.contains("FAILED  leaked: 1\n"), "{table}");
        let json = report::json(&s);
        assert_eq!(
            (json["leaked"].as_u64(), json["exit_code"].as_u64()),
            (Some(1), Some(3))
        );
        assert_eq!(json["ledger"]["sqlite"]["live"], 1);
        assert!(s.dir_removed.as_ref().is_some_and(Result::is_ok));

        // Back to the closed pool: closed now.
        assert_eq!(ledger.live_count(), 1);
        drop(kept);
        let deadline = std::time::Instant::now() + Duration::from_secs(30); // a safety net
        while ledger.live_count() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        ledger.assert_all_closed();
    }

    /// A bug in the job: it unwinds, what it holds is released on the way, and the run
    /// still ends with a report and exit 125 (the demo itself failed), not a bare panic.
    #[test]
    fn a_panic_in_the_job_is_exit_125_with_a_report_and_nothing_leaked() {
        let hooks = Hooks {
            after_load: Box::new(|_: &Pools| panic!("a bug between the load and the query")),
            ..Hooks::default()
        };
        let ledger = hooks.ledger.clone();
        let s = run_job(&args(3, 50), None, &Arc::default(), Ok(()), hooks);
        assert_eq!(
            s.end,
            End::CouldNotRun(
                "the demo itself failed: it panicked: a bug between the load and the query".into()
            )
        );
        assert_eq!(s.exit_code, code::FAILED, "{:?}", s.checks);
        assert_eq!(s.leaked, 0, "{:?}", s.kinds);
        ledger.assert_all_closed();
        assert!(s.dir_removed.as_ref().is_some_and(Result::is_ok));
        let table = report::table(&s, crate::chart::Style::PLAIN);
        assert!(
            table.starts_with("tenure demo: could not run — "),
            "{table}"
        );
    }

    #[test]
    fn the_default_hooks_leak_nothing_and_one_file_is_one_file() {
        let s = run_job(
            &args(1, 50),
            None,
            &Arc::default(),
            Ok(()),
            Hooks::default(),
        );
        assert_eq!((s.leaked, s.exit_code), (0, code::OK), "{:?}", s.checks);
        let table = report::table(&s, crate::chart::Style::PLAIN);
        assert!(
            table.starts_with("tenure demo: completed — 1 file: 1 committed, 0 rolled back, 0 not loaded; every check passed (exit 0)\n"),
            "{table}"
        );
        assert!(
            table.contains("the valid rows of the 1 file that committed\n"),
            "{table}"
        );
    }
}
