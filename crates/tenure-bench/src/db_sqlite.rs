//! `db_sqlite`: pooled queries and transactions on a SQLite file in WAL mode — tenure's
//! `tenure_sqlite` pools against `deadpool-sqlite` 0.14 and `sqlx` 0.9.1's `SqlitePool`
//! (async), `r2d2_sqlite` 0.35 (blocking), a pool of 8 writers (write contention), and one
//! raw `rusqlite::Connection` (the floor). Every side links the same SQLite
//! (`libsqlite3-sys` 0.38.2, bundled SQLite 3.53).
//!
//! The database: one file in a temp dir, WAL (set once by tenure's manager, stored in the
//! file, so every peer's connections run in WAL too), a table `items` of 1,000 rows
//! (`id INTEGER PRIMARY KEY, v TEXT`) and an empty table `log` the inserts go to. Every
//! connection of every side runs `PRAGMA synchronous = NORMAL` (WAL's usual setting: a
//! commit writes the log without a sync) and keeps SQLite's 5 s busy timeout.
//!
//! The async rows run on one tokio multi-thread runtime with 2 workers; one repetition
//! spawns `T` tasks that each loop the operation, the blocking rows `T` threads; ns/op is
//! the repetition's wall time / operations, `p99_ns` the 99th percentile of the acquire
//! latency (the call to get to the lease in hand; sqlx: `acquire`) over every operation
//! (the write-contention row: of the whole write), and `params.max_ns` /
//! `params.peer_max_ns` the largest of those latencies. Every pool is pre-warmed (all
//! its connections taken at once, then dropped).
//!
//! Peer settings (as `docs/BENCHMARKS.md` says): no checkout check where the peer allows
//! it — tenure `Validation::Never` (`tenure_sqlite::pool_config()`), `r2d2_sqlite`
//! `test_on_check_out(false)`, `sqlx` `test_before_acquire(false)`; `deadpool-sqlite`
//! runs `SELECT $1` through `interact` (a `spawn_blocking` round trip) in `recycle` on
//! every checkout and has no switch to turn it off. Every side prepares through its
//! per-connection statement cache (rusqlite's `prepare_cached`, capacity 16, for tenure,
//! deadpool-sqlite and r2d2_sqlite; sqlx's persistent statements, capacity 100). 30 s
//! acquire timeouts everywhere.
//! How each side runs a statement from async code: tenure moves the lease to the
//! connection's own thread with `tenure_sqlite::run` (one hop per operation, the whole
//! transaction included); deadpool-sqlite's `interact` (a `spawn_blocking` hop, plus the
//! one of its recycle check); sqlx sends each statement to the connection's worker thread
//! (one round trip per statement: `BEGIN`, `INSERT` and `COMMIT` are three).
//!
//! Rows (ratio = peer time / tenure time; targets from the issue):
//! - `db_sqlite/query=point,tasks=T`, T ∈ {16, 64}, pools of 8: `SELECT v FROM items
//!   WHERE id = ?` (a random id) through a lease; tenure's reader pool of
//!   `tenure_sqlite::Pools`; target ≥ 1.5 vs `deadpool-sqlite`, ≥ 1.0 vs `sqlx`.
//! - `db_sqlite/query=insert_tx,tasks=T`, T ∈ {16, 64}: `BEGIN IMMEDIATE; INSERT INTO
//!   log; COMMIT` through a lease, on pools of **one** connection on every side (SQLite
//!   lets one writer in at a time; with more, the row would time SQLite's busy-handler
//!   sleeps — `scenario=write_contention` shows them); tenure's writer pool of
//!   `tenure_sqlite::Pools`, the transaction through `tenure::tx` (`Mode::Immediate`)
//!   inside one `run`; target ≥ 1.0 vs each peer.
//! - `db_sqlite/query=point,threads=16` and `db_sqlite/query=insert_tx,threads=16`:
//!   the blocking pools (8 and 1 connections) against `r2d2_sqlite`; target ≥ 1.0. The
//!   two pools differ here by design. With more threads than connections, tenure hands a
//!   returned connection to the oldest waiter: the returning thread parks on its next get
//!   and the waiter is woken, and once a queue has formed it stays (each returner joins
//!   its back) — a park and an unpark per operation, about 2 futex calls and 1–2 context
//!   switches (`perf stat`, insert_tx: 2.0 and 1.8–2.1 per operation; r2d2_sqlite 0.2–0.4
//!   and 0.1–0.3). r2d2 lets the returning thread take its connection straight back (the
//!   waiter its `Condvar` woke mostly finds none and sleeps again), so one thread runs many
//!   operations per time slice while the others wait. What that costs the waiters shows
//!   in the acquire latencies: `p99_ns` against `peer_p99_ns`, `max_ns` against
//!   `peer_max_ns`. Without a queue the pools are level: the point row with as many
//!   threads as connections (8 and 8, a one-off build) read 1.056 and 1.013 in two
//!   processes, while `insert_tx` at 8 threads on its pool of 1 (a queue again) read
//!   0.53 and 0.60. First come, first served is the pool's promise and is not traded for
//!   these rows: their ratio is the honest price of it.
//! - `db_sqlite/scenario=write_contention,writers=32`, peer `pool_of_8`: 32 threads each
//!   looping a write transaction (as `insert_tx`), on tenure's writer pool (one
//!   connection: writers queue first come, first served in the pool) against a tenure
//!   pool of 8 connections that all write (they meet in SQLite's busy handler, which
//!   sleeps 1, 2, 5, … 100 ms between tries). ratio = throughput of the writer pool /
//!   the pool of 8 (target ≥ 1.0), `p99_target` 1.0 (the writer pool's p99 lower);
//!   `sqlite_busy` / `peer_sqlite_busy`: the `SQLITE_BUSY` errors each side got over the
//!   comparison (target 0 for the writer pool).
//! - `db_sqlite/scenario=floor`: one raw `rusqlite::Connection` running the same point
//!   query through `prepare_cached`, against tenure's pooled blocking point query, from
//!   one thread (ratio = floor / tenure; target ≥ 0.9: the pool's get and drop are small
//!   beside a query).

mod threads;

use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::TransactionBehavior;
use tenure::pool::PoolConfig;
use tenure::tx::{Mode, Options};
use tokio::runtime::Runtime;

use crate::harness::{Case, Harness};
use crate::pool::fixtures::{on, tasks_side, timed, TIMEOUT};
use sqlx::Connection as _;

const SIZE: usize = 8;
const TASKS: [usize; 2] = [16, 64];
const THREADS: usize = 16;
const WRITERS: usize = 32;
const ROWS: i64 = 1_000;
const POINT: &str = "SELECT v FROM items WHERE id = ?1";
const INSERT: &str = "INSERT INTO log (v) VALUES (?1)";
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);";
const PRAGMAS: &str = "PRAGMA synchronous = NORMAL";
const FLOOR: &str = "db_sqlite/scenario=floor";
/// tenure's write transactions: `BEGIN IMMEDIATE`, no retry.
const IMMEDIATE: Options = Options {
    mode: Mode::Immediate,
    retry: None,
};

/// The point query on any rusqlite connection: every side's statement.
fn point(c: &rusqlite::Connection, id: i64) -> rusqlite::Result<String> {
    c.prepare_cached(POINT)?.query_row([id], |r| r.get(0))
}

/// The insert of a write transaction.
fn insert(c: &rusqlite::Connection, v: i64) -> rusqlite::Result<usize> {
    c.prepare_cached(INSERT)?.execute([v])
}

/// The insert-in-transaction of the rusqlite peers.
fn insert_tx(c: &mut rusqlite::Connection, v: i64) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    insert(&tx, v)?;
    tx.commit()
}

fn id() -> i64 {
    fastrand::i64(1..=ROWS)
}

/// tenure's manager on the bench file (WAL set when built, the schema by the init hook).
fn tenure_builder(path: &Path) -> tenure_sqlite::Builder {
    tenure_sqlite::Manager::file(path)
        .synchronous(tenure_sqlite::Synchronous::Normal)
        .init(|c| c.execute_batch(SCHEMA))
}

fn tenure_config(max_size: usize) -> PoolConfig {
    PoolConfig {
        max_size,
        acquire_timeout: TIMEOUT,
        maintenance_interval: None,
        ..tenure_sqlite::pool_config()
    }
}

/// The file's content: `items` filled once.
fn fill(path: &Path) {
    let mut c = rusqlite::Connection::open(path).expect("open the bench file");
    c.execute_batch(SCHEMA).expect("schema");
    let tx = c.transaction().expect("begin");
    for id in 1..=ROWS {
        tx.execute(
            "INSERT OR IGNORE INTO items (id, v) VALUES (?1, ?2)",
            rusqlite::params![id, format!("item {id}")],
        )
        .expect("fill");
    }
    tx.commit().expect("commit");
}

/// Every pool of the async rows, built inside the runtime and pre-warmed.
struct AsyncPools {
    tenure: tenure_sqlite::Pools,
    deadpool: deadpool_sqlite::Pool,
    deadpool_writer: deadpool_sqlite::Pool,
    sqlx: sqlx::SqlitePool,
    sqlx_writer: sqlx::SqlitePool,
}

fn deadpool_pool(path: &Path, size: usize) -> deadpool_sqlite::Pool {
    deadpool_sqlite::Config::new(path)
        .builder(deadpool_sqlite::Runtime::Tokio1)
        .expect("deadpool-sqlite config")
        .max_size(size)
        .wait_timeout(Some(TIMEOUT))
        .create_timeout(Some(TIMEOUT))
        .build()
        .expect("deadpool-sqlite pool")
}

async fn sqlx_pool(path: &Path, size: u32) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .test_before_acquire(false)
        .acquire_timeout(TIMEOUT)
        .connect_with(options)
        .await
        .expect("sqlx pool")
}

impl AsyncPools {
    fn new(rt: &Runtime, path: &Path) -> Self {
        rt.block_on(async {
            let tenure = tenure_sqlite::Pools::new(tenure_builder(path), SIZE, tenure_config(SIZE))
                .expect("tenure pools");
            let deadpool = deadpool_pool(path, SIZE);
            let deadpool_writer = deadpool_pool(path, 1);
            let sqlx = sqlx_pool(path, SIZE as u32).await;
            let sqlx_writer = sqlx_pool(path, 1).await;
            // Pre-warm: every connection made (and given its pragma) before anything is
            // timed.
            let mut held = Vec::new();
            for _ in 0..SIZE {
                held.push(tenure.readers.get().await.expect("tenure get"));
            }
            held.push(tenure.writer.get().await.expect("tenure get"));
            drop(held);
            for (pool, size) in [(&deadpool, SIZE), (&deadpool_writer, 1)] {
                let mut held = Vec::new();
                for _ in 0..size {
                    let c = pool.get().await.expect("deadpool get");
                    c.interact(|c| c.execute_batch(PRAGMAS))
                        .await
                        .expect("interact")
                        .expect("pragma");
                    held.push(c);
                }
            }
            for (pool, size) in [(&sqlx, SIZE), (&sqlx_writer, 1)] {
                let mut held = Vec::new();
                for _ in 0..size {
                    held.push(pool.acquire().await.expect("sqlx acquire"));
                }
            }
            AsyncPools {
                tenure,
                deadpool,
                deadpool_writer,
                sqlx,
                sqlx_writer,
            }
        })
    }
}

fn async_case(peer: &'static str, query: &str, tasks: usize, target: f64) -> Case {
    Case::new("db_sqlite", peer)
        .param("query", query)
        .param("tasks", tasks)
        .info("size", if query == "point" { SIZE } else { 1 })
        .info("workers", 2)
        .target(target)
}

/// One async comparison, `row` = (query, tasks, target vs deadpool-sqlite): tenure's op
/// against deadpool-sqlite's and sqlx's (target 1.0), `tasks` tasks each.
fn compare_tasks<A, B, C, FA, FB, FC>(
    h: &mut Harness,
    rt: &Runtime,
    (query, tasks, deadpool_target): (&str, usize, f64),
    (tenure, deadpool, sqlx): (A, B, C),
) where
    A: Fn() -> FA + Clone + Send + 'static,
    B: Fn() -> FB + Clone + Send + 'static,
    C: Fn() -> FC + Clone + Send + 'static,
    FA: Future<Output = Duration> + Send + 'static,
    FB: Future<Output = Duration> + Send + 'static,
    FC: Future<Output = Duration> + Send + 'static,
{
    let deadpool_case = async_case("deadpool-sqlite", query, tasks, deadpool_target);
    h.compare(
        tasks_side(rt, tasks, tenure),
        vec![
            (deadpool_case, tasks_side(rt, tasks, deadpool)),
            (
                async_case("sqlx", query, tasks, 1.0),
                tasks_side(rt, tasks, sqlx),
            ),
        ],
    );
}

/// Runs the `db_sqlite` comparisons.
pub fn run(h: &mut Harness) {
    let queries = ["point", "insert_tx"];
    let wanted = TASKS
        .iter()
        .flat_map(|&t| queries.map(|q| [("deadpool-sqlite", q, t), ("sqlx", q, t)]))
        .flatten()
        .map(|(peer, q, t)| async_case(peer, q, t, 1.0))
        .chain(queries.map(threads::blocking_case))
        .chain([threads::contention_case()]);
    if !wanted.into_iter().any(|c| h.would_run(&c)) && !h.scenario_selected(FLOOR) {
        return;
    }
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("db_sqlite: skipped, no temp dir: {e}");
            return;
        }
    };
    let path = dir.path().join("bench.db");
    // WAL first (tenure's manager sets it once), then the rows.
    drop(tenure_builder(&path).build().expect("tenure manager"));
    fill(&path);
    let Some(rt) = crate::pool::fixtures::runtime() else {
        return;
    };
    async_rows(h, &rt, &path);
    threads::blocking_rows(h, &path);
    threads::write_contention(h, &path);
    threads::floor(h, &path);
}

/// The async rows: point query and insert-in-transaction at 16 and 64 tasks.
fn async_rows(h: &mut Harness, rt: &Runtime, path: &Path) {
    let any = TASKS.iter().any(|&t| {
        ["point", "insert_tx"].iter().any(|q| {
            h.would_run(&async_case("deadpool-sqlite", q, t, 1.0))
                || h.would_run(&async_case("sqlx", q, t, 1.0))
        })
    });
    if !any {
        return;
    }
    let pools = Arc::new(AsyncPools::new(rt, path));
    for tasks in TASKS {
        let tenure_op = on(&pools, |p| async move {
            let (lease, acquire) = timed("tenure get", p.tenure.readers.get()).await;
            let id = id();
            let (_lease, v) = tenure_sqlite::run(lease, move |c| point(c, id)).await;
            black_box(v.expect("query"));
            acquire
        });
        let deadpool_op = on(&pools, |p| async move {
            let (c, acquire) = timed("deadpool get", p.deadpool.get()).await;
            let id = id();
            let v = c.interact(move |c| point(c, id)).await.expect("interact");
            black_box(v.expect("query"));
            acquire
        });
        let sqlx_op = on(&pools, |p| async move {
            let (mut c, acquire) = timed("sqlx acquire", p.sqlx.acquire()).await;
            let v: String = sqlx::query_scalar(POINT)
                .bind(id())
                .fetch_one(&mut *c)
                .await
                .expect("query");
            black_box(v);
            acquire
        });
        let row = ("point", tasks, 1.5);
        compare_tasks(h, rt, row, (tenure_op, deadpool_op, sqlx_op));
    }
    for tasks in TASKS {
        let tenure_op = on(&pools, |p| async move {
            let (lease, acquire) = timed("tenure get", p.tenure.writer.get()).await;
            let v = id();
            let (_lease, done) =
                tenure_sqlite::run(lease, move |c| IMMEDIATE.run(c, |tx| insert(tx, v))).await;
            done.expect("transaction");
            acquire
        });
        let deadpool_op = on(&pools, |p| async move {
            let (c, acquire) = timed("deadpool get", p.deadpool_writer.get()).await;
            let v = id();
            let done = c.interact(move |c| insert_tx(c, v)).await;
            done.expect("interact").expect("transaction");
            acquire
        });
        let sqlx_op = on(&pools, |p| async move {
            let (mut c, acquire) = timed("sqlx acquire", p.sqlx_writer.acquire()).await;
            let mut tx = c.begin_with("BEGIN IMMEDIATE").await.expect("begin");
            sqlx::query(INSERT)
                .bind(id())
                .execute(&mut *tx)
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
            acquire
        });
        let row = ("insert_tx", tasks, 1.0);
        compare_tasks(h, rt, row, (tenure_op, deadpool_op, sqlx_op));
    }
    // The pools close inside the runtime: sqlx's close is async, and deadpool-sqlite's
    // connections close through `spawn_blocking`.
    let pools = Arc::into_inner(pools).expect("no task holds the pools");
    rt.block_on(async {
        pools.sqlx.close().await;
        pools.sqlx_writer.close().await;
        drop(pools);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_runs_on_a_real_file() {
        let rows = Harness::smoke_rows(
            run,
            "db_sqlite/",
            &["deadpool-sqlite", "sqlx", "r2d2_sqlite", "pool_of_8"],
        );
        let names: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.bench.clone(), r.peer.clone()))
            .collect();
        assert_eq!(rows.len(), 11, "{names:?}");
        let contention = rows
            .iter()
            .find(|r| r.peer == "pool_of_8")
            .expect("the write-contention row");
        assert_eq!(
            contention.bench,
            "db_sqlite/scenario=write_contention,writers=32"
        );
        for key in ["sqlite_busy", "peer_sqlite_busy"] {
            assert!(contention.params[key].is_u64(), "{key}: {contention:?}");
        }
        assert!(contention.p99_ns.is_some() && contention.peer_p99_ns.is_some());
    }

    #[test]
    fn the_floor_is_reported() {
        let mut h = Harness::new(
            crate::harness::Mode::Smoke,
            crate::harness::Output::Silent,
            Some(FLOOR.to_string()),
        );
        run(&mut h);
        let s = &h.scenarios()[0];
        assert_eq!(
            (s.bench.as_str(), s.peer.as_str()),
            (FLOOR, "raw_connection")
        );
        assert!(s.tenure_ns > 0.0 && s.peer_ns > 0.0);
    }
}
