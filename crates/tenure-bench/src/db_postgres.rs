//! `db_postgres`: pooled queries and transactions on a real PostgreSQL server — tenure's
//! `tenure_postgres` pools against `deadpool-postgres`, `bb8-postgres` and (blocking)
//! `r2d2_postgres`.
//!
//! The server: `TENURE_PG_URL`, else the throwaway cluster of `tenure_postgres::testing`
//! (`initdb` on this machine); without either the rows are skipped, saying why, and the
//! rest of the harness runs.
//!
//! Every async side runs on one tokio multi-thread runtime with 2 workers; every pool has 8
//! connections, pre-warmed (8 leases taken at once, then dropped) so no row connects while
//! timed. One repetition spawns `T` tasks that each loop an operation; ns/op is the
//! repetition's wall time / operations, `p99_ns` the 99th percentile of one operation's
//! latency (acquire to release) over every operation.
//!
//! Peer settings (as `BENCHMARKS.md` says): no checkout check — tenure
//! `Validation::Never`, `deadpool-postgres` `RecyclingMethod::Fast`, `bb8-postgres` and
//! `r2d2_postgres` `test_on_check_out(false)`. Statements: tenure and deadpool-postgres
//! use their per-connection `prepare_cached` (one round trip per query once cached);
//! `bb8-postgres` and `r2d2_postgres` have no statement cache, so they run `query_typed` /
//! `execute_typed` (the unnamed statement: also one round trip). `sqlx` is not a peer here
//! yet (see the CHANGELOG).
//!
//! Rows:
//! - `db_postgres/query=select1,tasks=T`, T ∈ {16, 64}: `SELECT 1` through a lease;
//!   target ≥ 1.0 vs each peer.
//! - `db_postgres/query=insert_tx,tasks=T`, T ∈ {16, 64}: `BEGIN; INSERT; COMMIT` through
//!   a lease (tenure through `tenure::tx::transaction_async`); target ≥ 1.0.
//! - `db_postgres/query=select1,threads=16`: the blocking pool against `r2d2_postgres`.
//! - `db_postgres/scenario=floor`: one raw `tokio_postgres::Client` running a prepared
//!   `SELECT 1` from one task, against tenure's pooled `SELECT 1` from one task (ratio =
//!   floor / tenure; target ≥ 0.97).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenure::pool::{Pool, PoolConfig, Validation};
use tokio::runtime::Runtime;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;

use crate::harness::{runs, Case, Harness, Rep};

const SIZE: usize = 8;
const TASKS: [usize; 2] = [16, 64];
const SELECT: &str = "SELECT 1";
const INSERT: &str = "INSERT INTO bench_rows (v) VALUES ($1)";

fn tenure_config() -> PoolConfig {
    PoolConfig {
        max_size: SIZE,
        validation: Validation::Never,
        acquire_timeout: Duration::from_secs(30),
        maintenance_interval: None,
        ..PoolConfig::default()
    }
}

/// One repetition: `tasks` tasks each running `op` `ops / tasks` times, latencies recorded.
fn rep<F, Fut>(rt: &Runtime, tasks: usize, ops: u64, op: &F) -> Rep
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let per_task = ops.div_ceil(tasks as u64).max(1);
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let op = op.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_task as usize);
                    for _ in 0..per_task {
                        let t0 = Instant::now();
                        op().await;
                        latencies.push(t0.elapsed().as_nanos() as u64);
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for h in handles {
            latencies.extend(h.await.expect("a bench task does not panic"));
        }
        Rep {
            ops: per_task * tasks as u64,
            elapsed: start.elapsed(),
            latencies,
            allocs: None,
        }
    })
}

struct Pools {
    tenure: Pool<tenure_postgres::Manager>,
    deadpool: deadpool_postgres::Pool,
    bb8: bb8::Pool<bb8_postgres::PostgresConnectionManager<NoTls>>,
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
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .expect("deadpool-postgres pool");
        let bb8 = bb8::Pool::builder()
            .max_size(SIZE as u32)
            .test_on_check_out(false)
            .build(bb8_postgres::PostgresConnectionManager::new(
                config.clone(),
                NoTls,
            ))
            .await
            .expect("bb8-postgres pool");
        // Pre-warm: every connection made before anything is timed.
        let t: Vec<_> = futures_util::future::join_all((0..SIZE).map(|_| tenure.get()))
            .await
            .into_iter()
            .map(|r| r.expect("tenure get"))
            .collect();
        let d: Vec<_> = futures_util::future::join_all((0..SIZE).map(|_| deadpool.get()))
            .await
            .into_iter()
            .map(|r| r.expect("deadpool get"))
            .collect();
        let b: Vec<_> = futures_util::future::join_all((0..SIZE).map(|_| bb8.get()))
            .await
            .into_iter()
            .map(|r| r.expect("bb8 get"))
            .collect();
        drop((t, d, b));
        Pools {
            tenure,
            deadpool,
            bb8,
        }
    })
}

fn case(peer: &'static str, query: &str, tasks: usize) -> Case {
    Case::new("db_postgres", peer)
        .param("query", query)
        .param("tasks", tasks)
        .info("size", SIZE)
        .info("workers", 2)
        .target(1.0)
}

/// Runs the `db_postgres` comparisons.
pub fn run(h: &mut Harness) {
    let probe = [
        case("deadpool-postgres", "select1", 16),
        Case::new("db_postgres", "r2d2_postgres")
            .param("query", "select1")
            .param("threads", 16),
    ];
    if !probe.iter().any(|c| h.would_run(c)) && !h.scenario_selected("db_postgres/scenario=floor") {
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

    for tasks in TASKS {
        let p = pools.clone();
        let tenure_op = move || {
            let p = p.clone();
            async move {
                let c = p.tenure.get().await.expect("tenure get");
                let s = c.prepare_cached(SELECT).await.expect("prepare");
                let _: i32 = c.query_one(&s, &[]).await.expect("query").get(0);
            }
        };
        let p = pools.clone();
        let deadpool_op = move || {
            let p = p.clone();
            async move {
                let c = p.deadpool.get().await.expect("deadpool get");
                let s = c.prepare_cached(SELECT).await.expect("prepare");
                let _: i32 = c.query_one(&s, &[]).await.expect("query").get(0);
            }
        };
        let p = pools.clone();
        let bb8_op = move || {
            let p = p.clone();
            async move {
                let c = p.bb8.get().await.expect("bb8 get");
                let rows = c.query_typed(SELECT, &[]).await.expect("query");
                let _: i32 = rows[0].get(0);
            }
        };
        let rt = &rt;
        h.compare(
            runs(move |ops| rep(rt, tasks, ops, &tenure_op)),
            vec![
                (
                    case("deadpool-postgres", "select1", tasks),
                    runs(move |ops| rep(rt, tasks, ops, &deadpool_op)),
                ),
                (
                    case("bb8-postgres", "select1", tasks),
                    runs(move |ops| rep(rt, tasks, ops, &bb8_op)),
                ),
            ],
        );
    }

    for tasks in TASKS {
        let p = pools.clone();
        let tenure_op = move || {
            let p = p.clone();
            async move {
                let mut c = p.tenure.get().await.expect("tenure get");
                tenure::tx::transaction_async(&mut *c, async |tx| {
                    let s = tx.prepare_cached(INSERT).await?;
                    tx.execute(&s, &[&1i32]).await?;
                    Ok::<_, tenure_postgres::Error>(())
                })
                .await
                .expect("transaction");
            }
        };
        let p = pools.clone();
        let deadpool_op = move || {
            let p = p.clone();
            async move {
                let mut c = p.deadpool.get().await.expect("deadpool get");
                let tx = c.transaction().await.expect("begin");
                let s = tx.prepare_cached(INSERT).await.expect("prepare");
                tx.execute(&s, &[&1i32]).await.expect("insert");
                tx.commit().await.expect("commit");
            }
        };
        let p = pools.clone();
        let bb8_op = move || {
            let p = p.clone();
            async move {
                let mut c = p.bb8.get().await.expect("bb8 get");
                let tx = c.transaction().await.expect("begin");
                tx.execute_typed(INSERT, &[(&1i32, Type::INT4)])
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            }
        };
        let rt = &rt;
        h.compare(
            runs(move |ops| rep(rt, tasks, ops, &tenure_op)),
            vec![
                (
                    case("deadpool-postgres", "insert_tx", tasks),
                    runs(move |ops| rep(rt, tasks, ops, &deadpool_op)),
                ),
                (
                    case("bb8-postgres", "insert_tx", tasks),
                    runs(move |ops| rep(rt, tasks, ops, &bb8_op)),
                ),
            ],
        );
    }

    blocking(h, &config);
    floor(h, &rt, &pools, &config);
}

/// `db_postgres/query=select1,threads=16`: tenure's blocking pool against r2d2_postgres.
fn blocking(h: &mut Harness, config: &tokio_postgres::Config) {
    const THREADS: usize = 16;
    let case = Case::new("db_postgres", "r2d2_postgres")
        .param("query", "select1")
        .param("threads", THREADS)
        .info("size", SIZE)
        .target(1.0);
    if !h.would_run(&case) {
        return;
    }
    let tenure = Pool::builder(tenure_postgres::BlockingManager::new(config.clone()))
        .config(tenure_config())
        .build()
        .expect("tenure blocking pool");
    let r2d2 = r2d2::Pool::builder()
        .max_size(SIZE as u32)
        .test_on_check_out(false)
        .build(r2d2_postgres::PostgresConnectionManager::new(
            postgres::Config::from(config.clone()),
            postgres::NoTls,
        ))
        .expect("r2d2_postgres pool");
    let warm: Vec<_> = (0..SIZE)
        .map(|_| tenure.get_blocking().expect("get"))
        .collect();
    drop(warm);
    let threads_rep = |ops: u64, one: &(dyn Fn() + Sync)| {
        let per = ops.div_ceil(THREADS as u64).max(1);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| (0..per).for_each(|_| one()));
            }
        });
        Rep {
            ops: per * THREADS as u64,
            elapsed: start.elapsed(),
            latencies: Vec::new(),
            allocs: None,
        }
    };
    let tenure_one = || {
        let mut c = tenure.get_blocking().expect("tenure get");
        let s = c.prepare_cached(SELECT).expect("prepare");
        let _: i32 = c.query_one(&s, &[]).expect("query").get(0);
    };
    let r2d2_one = || {
        let mut c = r2d2.get().expect("r2d2 get");
        let rows = c.query_typed(SELECT, &[]).expect("query");
        let _: i32 = rows[0].get(0);
    };
    h.compare(
        runs(|ops| threads_rep(ops, &tenure_one)),
        vec![(case, runs(|ops| threads_rep(ops, &r2d2_one)))],
    );
}

/// `db_postgres/scenario=floor`: what a pooled `SELECT 1` from one task costs beside the
/// same query on one raw client.
fn floor(h: &mut Harness, rt: &Runtime, pools: &Arc<Pools>, config: &tokio_postgres::Config) {
    const NAME: &str = "db_postgres/scenario=floor";
    if !h.scenario_selected(NAME) {
        return;
    }
    let (raw, statement) = rt.block_on(async {
        let (client, connection) = config.connect(NoTls).await.expect("connect");
        tokio::spawn(connection);
        let statement = client.prepare(SELECT).await.expect("prepare");
        (Arc::new(client), statement)
    });
    let p = pools.clone();
    let tenure_op = move || {
        let p = p.clone();
        async move {
            let c = p.tenure.get().await.expect("tenure get");
            let s = c.prepare_cached(SELECT).await.expect("prepare");
            let _: i32 = c.query_one(&s, &[]).await.expect("query").get(0);
        }
    };
    let raw_op = move || {
        let (raw, statement) = (raw.clone(), statement.clone());
        async move {
            let _: i32 = raw.query_one(&statement, &[]).await.expect("query").get(0);
        }
    };
    let Some(m) = h.medians(
        NAME,
        vec![
            runs(|ops| rep(rt, 1, ops, &tenure_op)),
            runs(|ops| rep(rt, 1, ops, &raw_op)),
        ],
    ) else {
        return;
    };
    let (tenure_ns, floor_ns) = (m[0], m[1]);
    h.scenario(
        NAME,
        "raw_client",
        ("ns per SELECT 1 from one task", tenure_ns, floor_ns),
        vec![
            ("tenure_ns", Value::from(tenure_ns.round())),
            ("floor_ns", Value::from(floor_ns.round())),
            (
                "ratio",
                Value::from((floor_ns / tenure_ns * 1000.0).round() / 1000.0),
            ),
            ("target", Value::from(0.97)),
        ],
    );
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
            ["bb8-postgres", "deadpool-postgres", "r2d2_postgres"]
        );
        assert_eq!(rows.len(), 9);
        assert!(h
            .scenarios()
            .iter()
            .any(|s| s.bench == "db_postgres/scenario=floor" && s.tenure_ns > 0.0));
    }
}
