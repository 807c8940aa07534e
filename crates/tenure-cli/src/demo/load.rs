//! The load: a few workers take the open files one by one and load each into SQLite through
//! the pool, in one `tenure::tx` transaction per file — committed when every row parsed and
//! went in, rolled back whole at the first malformed row, when the transaction itself fails
//! (a statement, `COMMIT`: the other files go on, and the load fails once they are done), or
//! when the job halts (no connection to be had, Ctrl-C).
//!
//! Every worker runs the same [`load_file`] on a connection; how it gets one is the
//! worker's only difference: a thread through `get_blocking` ([`blocking_worker`]), a task
//! through `get().await` and `tenure_sqlite::run`, which runs `load_file` on a blocking
//! thread and gives the lease back ([`async_worker`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tenure::pool::{Pool, PoolError};
use tenure::tx::{Mode, Options, Tx, TxError};
use tenure_sqlite::{Connection, Manager};

use super::progress::Progress;
use super::Stop;

/// The database's tables: the records, and one row per committed file (written in the
/// file's own transaction, so it commits or rolls back with the records). Idempotent: the
/// pools' init hook runs it on every connection (on a reader it writes nothing).
pub const SCHEMA: &str = "\
    CREATE TABLE IF NOT EXISTS records (file TEXT NOT NULL, line INTEGER NOT NULL, \
        customer TEXT NOT NULL, amount_cents INTEGER NOT NULL, PRIMARY KEY (file, line)) \
        WITHOUT ROWID; \
    CREATE TABLE IF NOT EXISTS loads (file TEXT PRIMARY KEY, rows INTEGER NOT NULL, \
        worker TEXT NOT NULL);";

/// A file waiting to be loaded.
pub struct Job {
    pub index: usize,
    pub name: String,
    pub file: Arc<File>,
}

/// How a file's load ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its transaction committed these rows.
    Committed { rows: u64 },
    /// Its transaction rolled back: nothing of the file is in the database.
    RolledBack { why: String, cause: Rollback },
    /// No transaction was begun for it.
    NotLoaded { why: String },
}

/// Why a file's transaction rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollback {
    /// A malformed row: the file is refused as a whole, the job goes on (what it is for).
    BadRow,
    /// The job halted (Ctrl-C, or another worker's failure) while the file was loading.
    Halted,
    /// The transaction failed (a statement, the file's read, `BEGIN` or `COMMIT`; injected
    /// by `--fail-at load` or real): the job goes on with the other files, then fails.
    Failed,
}

impl Rollback {
    pub fn name(self) -> &'static str {
        match self {
            Rollback::BadRow => "bad_row",
            Rollback::Halted => "halted",
            Rollback::Failed => "failed",
        }
    }
}

/// One file's load.
#[derive(Debug, Clone)]
pub struct FileLoad {
    pub index: usize,
    pub outcome: Outcome,
    /// Which worker loaded it (`thread 1`, `task 2`).
    pub worker: String,
    pub took: Duration,
}

/// Why a file's transaction body gave up (its transaction then rolls back).
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("line {line} is not `customer,amount_cents` (whole cents): `{text}`")]
    Malformed { line: u64, text: String },
    #[error("could not read line {line}")]
    Read {
        line: u64,
        #[source]
        cause: io::Error,
    },
    #[error("could not insert line {line}")]
    Insert {
        line: u64,
        #[source]
        cause: rusqlite::Error,
    },
    #[error("the job was halted")]
    Halted,
}

/// What the workers share: the files left, the results, and why the job halts.
pub struct Shared {
    jobs: Mutex<VecDeque<Job>>,
    results: Mutex<Vec<FileLoad>>,
    /// The files whose transaction failed ([`Rollback::Failed`]), with why, in order.
    failed: Mutex<Vec<String>>,
    pub stop: Arc<Stop>,
    pub progress: Arc<Progress>,
}

impl Shared {
    pub fn new(jobs: Vec<Job>, stop: Arc<Stop>, progress: Arc<Progress>) -> Arc<Self> {
        Arc::new(Shared {
            jobs: Mutex::new(jobs.into()),
            results: Mutex::new(Vec::new()),
            failed: Mutex::new(Vec::new()),
            stop,
            progress,
        })
    }

    /// The next file, unless the job halts.
    fn next(&self) -> Option<Job> {
        if self.stop.halted() {
            return None;
        }
        lock(&self.jobs).pop_front()
    }

    fn record(&self, job: &Job, outcome: Outcome, worker: &str, took: Duration) {
        let line = match &outcome {
            Outcome::Committed { rows } => {
                format!("{} committed ({rows} rows, {worker})", job.name)
            }
            Outcome::RolledBack { why, cause } => {
                if *cause == Rollback::Failed {
                    lock(&self.failed).push(format!("{} rolled back: {why}", job.name));
                }
                format!("{} rolled back ({why}; {worker})", job.name)
            }
            Outcome::NotLoaded { why } => format!("{} not loaded ({why}; {worker})", job.name),
        };
        self.progress.note("load", &line);
        lock(&self.results).push(FileLoad {
            index: job.index,
            outcome,
            worker: worker.to_string(),
            took,
        });
    }

    /// A worker could not get a connection: the job fails, the others stop.
    fn fail(&self, job: &Job, worker: &str, error: &PoolError<tenure_sqlite::Error>) {
        let why = format!(
            "no connection: {}",
            tenure::error::Report::new(error as &dyn std::error::Error)
        );
        self.stop
            .fail(format!("{worker} could not load {}: {why}", job.name));
        self.record(job, Outcome::NotLoaded { why }, worker, Duration::ZERO);
    }

    /// The first file whose transaction failed, and why (the load then fails, after the
    /// other files are done).
    pub fn first_failure(&self) -> Option<String> {
        lock(&self.failed).first().cloned()
    }

    /// Every file's load, in file order; the files no worker took are `NotLoaded`.
    pub fn finish(&self) -> Vec<FileLoad> {
        let mut results = std::mem::take(&mut *lock(&self.results));
        for job in lock(&self.jobs).drain(..) {
            results.push(FileLoad {
                index: job.index,
                outcome: Outcome::NotLoaded {
                    why: "the job halted first".into(),
                },
                worker: "-".into(),
                took: Duration::ZERO,
            });
        }
        results.sort_by_key(|r| r.index);
        results
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Loads one file on `conn` in one transaction (`BEGIN IMMEDIATE`: it writes).
pub fn load_file(conn: &mut Connection, job: &Job, worker: &str, shared: &Shared) -> Outcome {
    let tx = Options {
        mode: Mode::Immediate,
        ..Options::default()
    };
    match tx.run(conn, |tx| insert_rows(tx, job, worker, shared)) {
        Ok(rows) => Outcome::Committed { rows },
        Err(e) => rolled_back(&e),
    }
}

fn rolled_back(e: &TxError<RowError, tenure_sqlite::Error>) -> Outcome {
    let cause = match e.body() {
        Some(RowError::Malformed { .. }) => Rollback::BadRow,
        Some(RowError::Halted) => Rollback::Halted,
        _ => Rollback::Failed,
    };
    Outcome::RolledBack {
        why: e.report().to_string(),
        cause,
    }
}

/// The transaction's body: every row of the file, then the file's row in `loads`.
fn insert_rows(
    tx: &mut Tx<'_, Connection>,
    job: &Job,
    worker: &str,
    shared: &Shared,
) -> Result<u64, RowError> {
    let mut file = &*job.file;
    file.rewind()
        .map_err(|cause| RowError::Read { line: 1, cause })?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO records (file, line, customer, amount_cents) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(|cause| RowError::Insert { line: 1, cause })?;
    let mut rows = 0;
    let mut pending = 0;
    for (read, line) in BufReader::new(file).lines().zip(1u64..) {
        let text = read.map_err(|cause| RowError::Read { line, cause })?;
        if line == 1 {
            continue; // the header
        }
        if shared.stop.halted() {
            return Err(RowError::Halted);
        }
        let parsed = text
            .split_once(',')
            .and_then(|(customer, cents)| Some((customer, cents.parse::<i64>().ok()?)));
        let Some((customer, cents)) = parsed else {
            return Err(RowError::Malformed { line, text });
        };
        insert
            .execute(rusqlite::params![job.name, line as i64, customer, cents])
            .map_err(|cause| RowError::Insert { line, cause })?;
        rows += 1;
        pending += 1;
        if pending == 256 {
            shared.progress.rows(pending);
            pending = 0;
        }
    }
    shared.progress.rows(pending);
    drop(insert);
    tx.execute(
        "INSERT INTO loads (file, rows, worker) VALUES (?1, ?2, ?3)",
        rusqlite::params![job.name, rows as i64, worker],
    )
    .map_err(|cause| RowError::Insert { line: 0, cause })?;
    Ok(rows)
}

/// A blocking worker: `get_blocking` on its own thread, then [`load_file`] in place.
pub fn blocking_worker(pool: &Pool<Manager>, shared: &Shared, worker: &str) {
    while let Some(job) = shared.next() {
        let started = Instant::now();
        match pool.get_blocking() {
            // The job halted while this worker waited: no transaction for this file.
            Ok(_) if shared.stop.halted() => shared.record(
                &job,
                Outcome::NotLoaded {
                    why: "the job halted first".into(),
                },
                worker,
                started.elapsed(),
            ),
            Ok(mut conn) => {
                let outcome = load_file(&mut conn, &job, worker, shared);
                drop(conn);
                shared.record(&job, outcome, worker, started.elapsed());
            }
            Err(e) => shared.fail(&job, worker, &e),
        }
    }
}

/// An async worker: `get().await`, then [`load_file`] through `tenure_sqlite::run`, on a
/// blocking thread (a lease derefs to the connection: a statement run in the task itself
/// would block the runtime's worker).
pub async fn async_worker(pool: Pool<Manager>, shared: Arc<Shared>, worker: String) {
    while let Some(job) = shared.next() {
        let started = Instant::now();
        match pool.get().await {
            Ok(_) if shared.stop.halted() => shared.record(
                &job,
                Outcome::NotLoaded {
                    why: "the job halted first".into(),
                },
                &worker,
                started.elapsed(),
            ),
            Ok(conn) => {
                let (on, name) = (shared.clone(), worker.clone());
                let (conn, (job, outcome)) = tenure_sqlite::run(conn, move |conn| {
                    let outcome = load_file(conn, &job, &name, &on);
                    (job, outcome)
                })
                .await;
                drop(conn);
                shared.record(&job, outcome, &worker, started.elapsed());
            }
            Err(e) => shared.fail(&job, &worker, &e),
        }
    }
}
