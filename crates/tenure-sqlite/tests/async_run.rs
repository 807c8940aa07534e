//! `run` from async code: a dropped future interrupts the statement running for it (a
//! query that would run for minutes ends with `SQLITE_INTERRUPT`) and never one of the
//! next holder's; a panic resumes in the awaiting task and the connection's thread lives
//! on; a transaction left open by a dropped `run` is rolled back before the next holder.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tenure::pool::{Pool, PoolConfig};
use tenure_sqlite::{run, AsyncConnection, Manager};

/// Counts to ten billion: minutes of work unless interrupted.
const FOREVER: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000000000) SELECT count(*) FROM c";

fn pool(name: &str, max_size: usize) -> Pool<Manager> {
    Pool::builder(Manager::memory(name).build().unwrap())
        .config(PoolConfig {
            max_size,
            maintenance_interval: None,
            ..tenure_sqlite::pool_config()
        })
        .build()
        .unwrap()
}

/// Waits for `flag` without blocking the runtime.
async fn until(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_run_interrupts_a_long_query_and_the_connection_serves_the_next_holder() {
    let pool = pool("run-interrupt", 1);
    let running = Arc::new(AtomicBool::new(false));
    let (result_tx, result_rx) = mpsc::channel();
    let lease = pool.get().await.unwrap();
    let flag = running.clone();
    let query = run(lease, move |conn| {
        // Raised from inside the query's own steps: it is running when the test drops it.
        conn.progress_handler(
            1000,
            Some(move || {
                flag.store(true, Ordering::Release);
                false
            }),
        )
        .unwrap();
        let r = conn.query_row(FOREVER, [], |r| r.get::<_, i64>(0));
        conn.progress_handler(0, None::<fn() -> bool>).unwrap();
        result_tx
            .send(r.map_err(|e| e.sqlite_error_code()))
            .unwrap();
    });
    tokio::select! {
        _ = query => panic!("the query finished"),
        _ = until(&running) => {} // `query` is dropped here, mid-statement
    }
    let ended =
        tokio::task::spawn_blocking(move || result_rx.recv_timeout(Duration::from_secs(60)))
            .await
            .unwrap()
            .expect("the interrupted query ended");
    assert_eq!(ended, Err(Some(rusqlite::ErrorCode::OperationInterrupted)));

    // The same connection (the pool has one) serves its next holder.
    let lease = pool.get().await.unwrap();
    let (_lease, one) = run(lease, |c| {
        c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
    })
    .await;
    assert_eq!(one.unwrap(), 1);
    assert_eq!(pool.statistics().created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_statement_of_the_next_holder_is_ever_interrupted() {
    let pool = pool("run-handover", 1);
    let lease = pool.get().await.unwrap();
    let (lease, created) = run(lease, |c| c.execute_batch("CREATE TABLE t (x)")).await;
    created.unwrap();
    drop(lease);
    let interrupted = Arc::new(AtomicUsize::new(0));
    for round in 0..300u64 {
        // A holder that is dropped after a varying moment: before, during or after its
        // statements.
        let lease = pool.get().await.unwrap();
        let seen = interrupted.clone();
        let holder = run(lease, move |c| {
            for _ in 0..20 {
                if let Err(e) = c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)) {
                    assert_eq!(
                        e.sqlite_error_code(),
                        Some(rusqlite::ErrorCode::OperationInterrupted)
                    );
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let _ = tokio::time::timeout(Duration::from_micros(round % 40), holder).await;

        // The next holder's statements all succeed.
        let lease = pool.get().await.unwrap();
        let (_lease, results) = run(lease, move |c| {
            (0..20)
                .map(|i| c.execute("INSERT INTO t VALUES (?1)", [i]).map(|_| ()))
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        results.unwrap_or_else(|e| panic!("round {round}: the next holder was hit: {e}"));
    }
    let lease = pool.get().await.unwrap();
    assert_eq!(common::count(&lease, "t"), 300 * 20);
    eprintln!(
        "holders interrupted mid-statement: {}",
        interrupted.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_resumes_in_the_awaiting_task_and_a_clean_connection_is_kept() {
    let pool = pool("run-panic", 1);
    let p = pool.clone();
    let joined = tokio::spawn(async move {
        let lease = p.get().await.unwrap();
        let _ = run(lease, |_| -> () { panic!("the closure fails") }).await;
    })
    .await;
    let payload = joined.unwrap_err().into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the closure fails"));
    // Kept (autocommit), and its thread still runs closures.
    let lease = pool.get().await.unwrap();
    let (_lease, one) = run(lease, |c| {
        c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
    })
    .await;
    assert_eq!(one.unwrap(), 1);
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.panicked), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_a_transaction_retires_the_connection() {
    let pool = pool("run-panic-tx", 1);
    let p = pool.clone();
    let joined = tokio::spawn(async move {
        let lease = p.get().await.unwrap();
        let _ = run(lease, |c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS t (x); BEGIN; INSERT INTO t VALUES (1)")
                .unwrap();
            panic!("the closure fails mid-transaction")
        })
        .await;
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let lease = pool.get().await.unwrap();
    assert!(lease.is_autocommit());
    assert_eq!(common::count(&lease, "t"), 0);
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.panicked), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_dropped_between_two_statements_of_a_transaction_is_rolled_back() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(
        Manager::file(&path).init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x)")),
        1,
    );
    let (began_tx, began_rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let lease = pool.get().await.unwrap();
    let body = run(lease, move |c| {
        c.execute_batch("BEGIN; INSERT INTO t VALUES (1)").unwrap();
        began_tx.send(()).unwrap();
        go_rx.recv().unwrap(); // the future is dropped meanwhile
        c.execute("INSERT INTO t VALUES (2)", []).unwrap(); // between statements: not interrupted
    });
    tokio::select! {
        _ = body => panic!("finished"),
        _ = began_rx => {}
    }
    go_tx.send(()).unwrap();
    let lease = pool.get().await.unwrap(); // waits for the closure, then the reset
    assert!(lease.is_autocommit());
    assert_eq!(common::count(&lease, "t"), 0);
    assert_eq!(common::count(&common::reader(&path), "t"), 0);
    assert_eq!(pool.statistics().created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_connection_whose_step_was_dropped_says_so() {
    use tenure::tx::{Session, State};
    let pool = pool("run-async-conn", 1);
    let mut conn = AsyncConnection::new(pool.get().await.unwrap());
    let running = Arc::new(AtomicBool::new(false));
    let flag = running.clone();
    tokio::select! {
        _ = conn.run(move |c| {
            c.progress_handler(1000, Some(move || { flag.store(true, Ordering::Release); false })).unwrap();
            c.query_row(FOREVER, [], |r| r.get::<_, i64>(0))
        }) => panic!("finished"),
        _ = until(&running) => {}
    }
    assert_eq!(conn.state(), State::Unknown);
    let err = conn.run(|c| c.execute_batch("SELECT 1")).await.unwrap_err();
    assert!(
        std::error::Error::source(&err)
            .unwrap()
            .to_string()
            .contains("dropped"),
        "{err}"
    );
    assert!(conn.into_lease().is_none());
    // The lease went back to the pool from its thread.
    let lease = pool.get().await.unwrap();
    lease.progress_handler(0, None::<fn() -> bool>).unwrap();
    assert_eq!(pool.statistics().created, 1);
}
