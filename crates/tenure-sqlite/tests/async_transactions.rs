//! `tenure::tx` from async code on SQLite, beyond the conformance suite (which runs
//! `transaction_async` on `AsyncConnection`: commit, rollback on error and panic,
//! savepoints, retry, a return through the pool in every state and cancellation at every
//! await point, in `tx_conformance.rs`): a whole blocking transaction inside one `run`, one
//! hop for all its statements.

mod common;

use tenure_sqlite::{run, Error, Manager};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_blocking_transaction_inside_one_run() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(
        Manager::file(&path).init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)")),
        1,
    );
    let lease = pool.get().await.unwrap();
    let (_lease, r) = run(lease, |c| {
        tenure::tx::transaction(c, |tx| {
            tx.execute("INSERT INTO t VALUES (1)", [])?;
            tx.execute("INSERT INTO t VALUES (2)", [])?;
            Ok::<_, Error>(())
        })
    })
    .await;
    r.unwrap();
    assert_eq!(common::rows(&path), [1, 2]);
}
