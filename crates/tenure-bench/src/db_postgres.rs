//! `db_postgres`: pooled queries and transactions on a real PostgreSQL server — tenure's
//! `tenure_postgres` pools against `deadpool-postgres` 0.14.2, `bb8-postgres` 0.9.0,
//! `sqlx` 0.9.1's `PgPool` and (blocking) `r2d2_postgres` 0.18.2.
//!
//! The server: `TENURE_PG_URL`, else the throwaway cluster of `tenure_postgres::testing`
//! (`initdb` on this machine); without either the rows are skipped, saying why, and the
//! rest of the harness runs.
//!
//! Every async side runs on one tokio multi-thread runtime with 2 workers; every pool has 8
//! connections, pre-warmed (8 leases taken at once, then dropped) so no row connects while
//! timed, and a 30 s acquire timeout. One repetition spawns `T` tasks (threads for the
//! blocking rows) that each loop an operation; ns/op is the repetition's wall time /
//! operations, `p99_ns` the 99th percentile of the acquire latency (the call to get to the
//! lease in hand; sqlx: `acquire`) over every operation.
//!
//! Peer settings (as `BENCHMARKS.md` says): no checkout check — tenure
//! `Validation::Never`, `deadpool-postgres` `RecyclingMethod::Fast`, `bb8-postgres` and
//! `r2d2_postgres` `test_on_check_out(false)`, `sqlx` `test_before_acquire(false)`.
//! Statements, one round trip per query on every side: tenure and deadpool-postgres use
//! their per-connection `prepare_cached`; sqlx its per-connection statement cache
//! (persistent statements, capacity 100, its default); `bb8-postgres` and `r2d2_postgres`
//! have no statement cache, so they run `query_typed` / `execute_typed` (the unnamed
//! statement). sqlx connects without TLS (`PgSslMode::Disable`: a local server, and the
//! bench builds sqlx without a TLS backend), like every other side (`NoTls`).
//!
//! Rows:
//! - `db_postgres/query=select1,tasks=T`, T ∈ {16, 64}: `SELECT 1` through a lease;
//!   target ≥ 1.0 vs each peer; at 64 tasks on 8 connections tenure's acquire p99 at most
//!   bb8-postgres's (`p99_target` 1.0: first come, first served).
//! - `db_postgres/query=insert_tx,tasks=T`, T ∈ {16, 64}: `BEGIN; INSERT; COMMIT` through
//!   a lease (tenure through `tenure::tx::transaction_async`; sqlx through its
//!   `Connection::begin`); target ≥ 1.0, the same p99 target vs bb8 at 64. What each side's
//!   client does per transaction at 64 tasks, counted (2026-12-07, `--profile SIDE` at N
//!   and 2N against a server outside the process, per transaction): callgrind over the
//!   tasks' code, tenure 14 304 instructions vs deadpool-postgres 15 759 (at 16 tasks 13 853
//!   vs 15 276), over the whole program (connection tasks and runtime included) 23 035 vs
//!   25 084; with the cache and branch simulation, tenure fewer data reads (4 019 vs 4 334),
//!   writes (3 321 vs 3 634), D1 write misses (87 vs 141) and indirect branches (133 vs 169);
//!   17.4 `malloc` calls vs 19.5, 9 vs 32 `memcpy`; 10.9 task schedules and 5.1 wakes vs
//!   9.9 and 4.1 (tenure's one more of each: the relay of the hand-over, see
//!   `tenure::pool`'s docs; a one-off build without relays read 1.068, 1.063, 1.092
//!   against deadpool-postgres in three processes, alternating with 1.002, 1.092, 1.175
//!   with them: no difference to see). `perf stat`, three pairs of processes: context
//!   switches 1.40–1.51 vs 1.25–1.64, `futex` calls 0.23–0.32 vs 0.24–0.45, client CPU
//!   40–47 µs vs 39–46 µs. So tenure's client path costs less than deadpool-postgres's by
//!   every count; the row's wall-clock ratio is the server's round trips and the
//!   machine's load (seven processes at load 4–6: 0.918, 1.005, 1.047, 1.064, 1.002,
//!   1.092, 1.175).
//! - `db_postgres/query=select1,threads=T`, T ∈ {8, 16}: the blocking pool against
//!   `r2d2_postgres`. At 8 threads nobody waits for a connection; at 16 every get waits
//!   for a return, and there the two pools differ by design: tenure hands a returned
//!   connection to the oldest waiter (waking a parked thread), r2d2 lets the returning
//!   thread take it again at once (see `pool_blocking`'s docs and `db_sqlite`'s, which
//!   count what each costs). `p99_ns` / `peer_p99_ns` and `params.max_ns` /
//!   `params.peer_max_ns`: the 99th percentile and the largest acquire latency of each
//!   side, what barging costs r2d2's waiters.
//! - `db_postgres/scenario=floor`: one raw `tokio_postgres::Client` running a prepared
//!   `SELECT 1` from one task, against tenure's pooled `SELECT 1` from one task, by the
//!   client's CPU time per query on a current-thread runtime, the measuring thread and
//!   every server backend it talks to on one CPU (see [`floor`](floor::floor) for why);
//!   ratio = floor / tenure, target ≥ 0.97.

mod floor;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tenure::pool::{Pool, PoolConfig, Validation};
use tokio::runtime::Runtime;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

use crate::harness::{runs, Case, Harness};
use crate::pool::fixtures::{compare_threads, on, tasks_rep, timed, timed_blocking, TIMEOUT};

const SIZE: usize = 8;
const TASKS: [usize; 2] = [16, 64];
/// Threads of the blocking rows: as many as connections (nobody waits for one), and twice
/// as many (every get waits for a return).
const THREADS: [usize; 2] = [8, 16];
const SELECT: &str = "SELECT 1";
const INSERT: &str = "INSERT INTO bench_rows (v) VALUES ($1)";

fn tenure_config() -> PoolConfig {
    PoolConfig {
        max_size: SIZE,
        validation: Validation::Never,
        acquire_timeout: TIMEOUT,
        maintenance_interval: None,
        ..PoolConfig::default()
    }
}

struct Pools {
    tenure: Pool<tenure_postgres::Manager>,
    deadpool: deadpool_postgres::Pool,
    bb8: bb8::Pool<bb8_postgres::PostgresConnectionManager<NoTls>>,
    sqlx: sqlx::PgPool,
}

/// sqlx's options for the server `config` names (host or socket, port, user, password,
/// database), without TLS (a local server; sqlx is built without a TLS backend here).
fn sqlx_options(config: &tokio_postgres::Config) -> sqlx::postgres::PgConnectOptions {
    let mut options = sqlx::postgres::PgConnectOptions::new_without_pgpass()
        .ssl_mode(sqlx::postgres::PgSslMode::Disable);
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => options = options.host(host),
        Some(tokio_postgres::config::Host::Unix(dir)) => options = options.socket(dir),
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        options = options.port(*port);
    }
    if let Some(user) = config.get_user() {
        options = options.username(user);
    }
    if let Some(password) = config.get_password() {
        options = options.password(&String::from_utf8_lossy(password));
    }
    if let Some(dbname) = config.get_dbname() {
        options = options.database(dbname);
    }
    options
}

fn build(rt: &Runtime, config: &tokio_postgres::Config) -> Pools {
    rt.block_on(async {
        let tenure = Pool::builder(tenure_postgres::Manager::new(config.clone()))
            .config(tenure_config())
            .build()
            .expect("tenure pool");
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let deadpool = deadpool_postgres::Pool::builder(manager)
            .max_size(SIZE)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .expect("deadpool-postgres pool");
        let bb8 = bb8::Pool::builder()
            .max_size(SIZE as u32)
            .test_on_check_out(false)
            .connection_timeout(TIMEOUT)
            .build(bb8_postgres::PostgresConnectionManager::new(
                config.clone(),
                NoTls,
            ))
            .await
            .expect("bb8-postgres pool");
        let sqlx = sqlx::postgres::PgPoolOptions::new()
            .max_connections(SIZE as u32)
            .min_connections(SIZE as u32)
            .test_before_acquire(false)
            .acquire_timeout(TIMEOUT)
            .connect_with(sqlx_options(config))
            .await
            .expect("sqlx pool");
        // Pre-warm: every connection made before anything is timed.
        let t = futures_util::future::join_all((0..SIZE).map(|_| tenure.get())).await;
        let d = futures_util::future::join_all((0..SIZE).map(|_| deadpool.get())).await;
        let b = futures_util::future::join_all((0..SIZE).map(|_| bb8.get())).await;
        let s = futures_util::future::join_all((0..SIZE).map(|_| sqlx.acquire())).await;
        assert!(t.iter().all(Result::is_ok), "tenure pre-warm");
        assert!(d.iter().all(Result::is_ok), "deadpool pre-warm");
        assert!(b.iter().all(Result::is_ok), "bb8 pre-warm");
        assert!(s.iter().all(Result::is_ok), "sqlx pre-warm");
        drop((t, d, b, s));
        Pools {
            tenure,
            deadpool,
            bb8,
            sqlx,
        }
    })
}

fn case(peer: &'static str, query: &str, tasks: usize) -> Case {
    let case = Case::new("db_postgres", peer)
        .param("query", query)
        .param("tasks", tasks)
        .info("size", SIZE)
        .info("workers", 2)
        .target(1.0);
    // First come, first served: at 64 tasks on 8 connections tenure's acquire p99 should
    // be at most bb8's.
    if peer == "bb8-postgres" && tasks == 64 {
        case.p99_target(1.0)
    } else {
        case
    }
}

/// The peers of an async row, each with its operation.
fn peers<'r, A, B, C, FA, FB, FC>(
    rt: &'r Runtime,
    query: &str,
    tasks: usize,
    deadpool: A,
    bb8: B,
    sqlx: C,
) -> Vec<(Case, Box<dyn crate::harness::Side + 'r>)>
where
    A: Fn() -> FA + Clone + Send + 'static,
    FA: Future<Output = Duration> + Send + 'static,
    B: Fn() -> FB + Clone + Send + 'static,
    FB: Future<Output = Duration> + Send + 'static,
    C: Fn() -> FC + Clone + Send + 'static,
    FC: Future<Output = Duration> + Send + 'static,
{
    vec![
        (
            case("deadpool-postgres", query, tasks),
            runs(move |ops| tasks_rep(rt, tasks, ops, &deadpool)),
        ),
        (
            case("bb8-postgres", query, tasks),
            runs(move |ops| tasks_rep(rt, tasks, ops, &bb8)),
        ),
        (
            case("sqlx", query, tasks),
            runs(move |ops| tasks_rep(rt, tasks, ops, &sqlx)),
        ),
    ]
}

/// Runs the `db_postgres` comparisons.
pub fn run(h: &mut Harness) {
    // Every row's case (one peer stands for its row: a filter selects rows by name).
    let probe: Vec<Case> = ["select1", "insert_tx"]
        .into_iter()
        .flat_map(|q| TASKS.map(|t| case("deadpool-postgres", q, t)))
        .chain(THREADS.map(blocking_case))
        .collect();
    if !probe.iter().any(|c| h.would_run(c))
        && !h.scenario_selected(floor::NAME)
        && !h.scenario_profiled(floor::NAME)
    {
        return;
    }
    let Some(db) = tenure_postgres::testing::database() else {
        eprintln!("db_postgres: skipped, no PostgreSQL server (the line above says why)");
        return;
    };
    let config = db.config();
    let Some(rt) = crate::pool::fixtures::runtime() else {
        return;
    };
    rt.block_on(async {
        let c = tenure_postgres::Client::connect(&config, NoTls)
            .await
            .expect("connect");
        c.batch_execute("CREATE TABLE IF NOT EXISTS bench_rows (v int)")
            .await
            .expect("create table");
    });
    let pools = Arc::new(build(&rt, &config));
    let rt = &rt;

    for tasks in TASKS {
        let tenure = on(&pools, |p| async move {
            let (c, acquire) = timed("tenure get", p.tenure.get()).await;
            let s = c.prepare_cached(SELECT).await.expect("prepare");
            let _: i32 = c.query_one(&s, &[]).await.expect("query").get(0);
            acquire
        });
        let deadpool = on(&pools, |p| async move {
            let (c, acquire) = timed("deadpool get", p.deadpool.get()).await;
            let s = c.prepare_cached(SELECT).await.expect("prepare");
            let _: i32 = c.query_one(&s, &[]).await.expect("query").get(0);
            acquire
        });
        let bb8 = on(&pools, |p| async move {
            let (c, acquire) = timed("bb8 get", p.bb8.get()).await;
            let rows = c.query_typed(SELECT, &[]).await.expect("query");
            let _: i32 = rows[0].get(0);
            acquire
        });
        let sqlx = on(&pools, |p| async move {
            let (mut c, acquire) = timed("sqlx acquire", p.sqlx.acquire()).await;
            let one: i32 = sqlx::query_scalar(SELECT)
                .fetch_one(&mut *c)
                .await
                .expect("query");
            std::hint::black_box(one);
            acquire
        });
        h.compare(
            runs(move |ops| tasks_rep(rt, tasks, ops, &tenure)),
            peers(rt, "select1", tasks, deadpool, bb8, sqlx),
        );
    }

    for tasks in TASKS {
        let tenure = on(&pools, |p| async move {
            let (mut c, acquire) = timed("tenure get", p.tenure.get()).await;
            tenure::tx::transaction_async(&mut *c, async |tx| {
                let s = tx.prepare_cached(INSERT).await?;
                tx.execute(&s, &[&1i32]).await?;
                Ok::<_, tenure_postgres::Error>(())
            })
            .await
            .expect("transaction");
            acquire
        });
        let deadpool = on(&pools, |p| async move {
            let (mut c, acquire) = timed("deadpool get", p.deadpool.get()).await;
            let tx = c.transaction().await.expect("begin");
            let s = tx.prepare_cached(INSERT).await.expect("prepare");
            tx.execute(&s, &[&1i32]).await.expect("insert");
            tx.commit().await.expect("commit");
            acquire
        });
        let bb8 = on(&pools, |p| async move {
            let (mut c, acquire) = timed("bb8 get", p.bb8.get()).await;
            let tx = c.transaction().await.expect("begin");
            tx.execute_typed(INSERT, &[(&1i32, Type::INT4)])
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
            acquire
        });
        let sqlx = on(&pools, |p| async move {
            let (mut c, acquire) = timed("sqlx acquire", p.sqlx.acquire()).await;
            let mut tx = sqlx::Connection::begin(&mut *c).await.expect("begin");
            sqlx::query(INSERT)
                .bind(1i32)
                .execute(&mut *tx)
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
            acquire
        });
        h.compare(
            runs(move |ops| tasks_rep(rt, tasks, ops, &tenure)),
            peers(rt, "insert_tx", tasks, deadpool, bb8, sqlx),
        );
    }

    blocking(h, &config);
    floor::floor(h, &config);
    // sqlx's pool closes inside the runtime.
    rt.block_on(pools.sqlx.close());
}

fn blocking_case(threads: usize) -> Case {
    Case::new("db_postgres", "r2d2_postgres")
        .param("query", "select1")
        .param("threads", threads)
        .info("size", SIZE)
        .target(1.0)
}

/// `db_postgres/query=select1,threads=T`: tenure's blocking pool against r2d2_postgres.
fn blocking(h: &mut Harness, config: &tokio_postgres::Config) {
    if !THREADS.iter().any(|&t| h.would_run(&blocking_case(t))) {
        return;
    }
    let tenure = Pool::builder(tenure_postgres::BlockingManager::new(config.clone()))
        .config(tenure_config())
        .build()
        .expect("tenure blocking pool");
    let r2d2 = r2d2::Pool::builder()
        .max_size(SIZE as u32)
        .test_on_check_out(false)
        .connection_timeout(TIMEOUT)
        .build(r2d2_postgres::PostgresConnectionManager::new(
            postgres::Config::from(config.clone()),
            postgres::NoTls,
        ))
        .expect("r2d2_postgres pool");
    let warm: Vec<_> = (0..SIZE)
        .map(|_| tenure.get_blocking().expect("get"))
        .collect();
    drop(warm);
    let tenure_one = || {
        let (mut c, acquire) = timed_blocking("tenure get", || tenure.get_blocking());
        let s = c.prepare_cached(SELECT).expect("prepare");
        let _: i32 = c.query_one(&s, &[]).expect("query").get(0);
        acquire
    };
    let r2d2_one = || {
        let (mut c, acquire) = timed_blocking("r2d2 get", || r2d2.get());
        let rows = c.query_typed(SELECT, &[]).expect("query");
        let _: i32 = rows[0].get(0);
        acquire
    };
    for threads in THREADS {
        compare_threads(h, blocking_case(threads), threads, &tenure_one, &r2d2_one);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_runs_against_a_real_server() {
        if tenure_postgres::testing::find_bindir().is_none()
            && std::env::var_os("TENURE_PG_URL").is_none()
            && !tenure_postgres::testing::required()
        {
            eprintln!("db_postgres smoke test skipped: no PostgreSQL server");
            return;
        }
        let mut h = Harness::smoke();
        run(&mut h);
        let rows = h.rows().to_vec();
        for r in &rows {
            assert!(r.bench.starts_with("db_postgres/"), "{}", r.bench);
            assert!(
                r.tenure_ns > 0.0 && r.peer_ns > 0.0 && r.ratio > 0.0,
                "{r:?}"
            );
        }
        let peers: std::collections::BTreeSet<_> = rows.iter().map(|r| r.peer.as_str()).collect();
        assert_eq!(
            peers.into_iter().collect::<Vec<_>>(),
            ["bb8-postgres", "deadpool-postgres", "r2d2_postgres", "sqlx"]
        );
        assert_eq!(rows.len(), 14);
        assert!(h
            .scenarios()
            .iter()
            .any(|s| s.bench == "db_postgres/scenario=floor" && s.tenure_ns > 0.0));
    }
}
