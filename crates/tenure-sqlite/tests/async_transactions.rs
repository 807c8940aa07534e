//! `tenure::tx::transaction_async` on SQLite through `AsyncConnection` (each statement one
//! `run`), read back from a second connection: commit, rollback on error and panic, and a
//! transaction future dropped at every point — the connection's next holder always finds
//! it in autocommit, and the rows are all there or none.

mod common;

use std::path::Path;
use std::pin::pin;

use tenure::tx::{transaction_async, Session, State};
use tenure_sqlite::{run, AsyncConnection, Error, Manager};

fn setup() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    tenure::pool::Pool<Manager>,
) {
    let (dir, path) = common::db_path();
    let pool = common::pool(
        Manager::file(&path).init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)")),
        1,
    );
    (dir, path, pool)
}

fn rows(path: &Path) -> Vec<i64> {
    let conn = common::reader(path);
    let mut stmt = conn.prepare("SELECT x FROM t ORDER BY rowid").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_commits_and_err_rolls_back() {
    let (_dir, path, pool) = setup();
    let mut conn = AsyncConnection::new(pool.get().await.unwrap());
    transaction_async(&mut conn, async |tx| {
        tx.run(|c| c.execute("INSERT INTO t VALUES (1)", []))
            .await?;
        tx.run(|c| c.execute("INSERT INTO t VALUES (2)", [])).await
    })
    .await
    .unwrap();
    let err = transaction_async(&mut conn, async |tx| {
        tx.run(|c| c.execute("INSERT INTO t VALUES (3)", []))
            .await?;
        tx.run(|c| c.execute("INSERT INTO nowhere VALUES (4)", []))
            .await
    })
    .await
    .unwrap_err();
    assert!(err.cleanup().is_none());
    assert!(err.body().unwrap().to_string().contains("run a statement"));
    assert_eq!(conn.state(), State::Idle);
    assert_eq!(rows(&path), [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_body_rolls_back_and_resumes() {
    let (_dir, path, pool) = setup();
    let p = pool.clone();
    let joined = tokio::spawn(async move {
        let mut conn = AsyncConnection::new(p.get().await.unwrap());
        let _ = transaction_async(&mut conn, async |tx| {
            tx.run(|c| c.execute("INSERT INTO t VALUES (1)", []))
                .await?;
            if tx.state() != State::Idle {
                panic!("the body fails");
            }
            Ok::<_, Error>(())
        })
        .await;
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let lease = pool.get().await.unwrap();
    assert_eq!(lease.state(), State::Idle);
    assert!(rows(&path).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_at_any_point_leaves_all_or_nothing_and_a_clean_connection() {
    let (_dir, path, pool) = setup();
    let mut committed = 0;
    for round in 0..80usize {
        // Half the rounds yield between polls (the hops get further), half do not.
        let (polls, yielding) = (round / 2, round % 2 == 0);
        let mut conn = AsyncConnection::new(pool.get().await.unwrap());
        let value = round as i64 + 1;
        let mut done = false;
        {
            let mut fut = pin!(transaction_async(&mut conn, async move |tx| {
                tx.run(move |c| c.execute("INSERT INTO t VALUES (?1)", [value]))
                    .await?;
                tx.run(move |c| c.execute("INSERT INTO t VALUES (?1)", [-value]))
                    .await
            }));
            for _ in 0..polls {
                if let std::task::Poll::Ready(r) = futures::poll!(fut.as_mut()) {
                    r.unwrap();
                    done = true;
                    break;
                }
                if yielding {
                    tokio::task::yield_now().await;
                }
            }
        } // dropped here, wherever it was
        drop(conn);
        // The next holder (the same connection: the pool has one) is in autocommit.
        let lease = pool.get().await.unwrap();
        assert_eq!(lease.state(), State::Idle, "round {round}");
        drop(lease);
        let now = rows(&path);
        let pairs = now.iter().filter(|x| **x == value).count();
        let negs = now.iter().filter(|x| **x == -value).count();
        assert_eq!(pairs, negs, "round {round}: half a transaction: {now:?}");
        if done {
            assert_eq!(pairs, 1);
        }
        committed += pairs;
    }
    assert_eq!(pool.statistics().created, 1);
    eprintln!("80 transactions dropped at varying points, {committed} committed before the drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_blocking_transaction_inside_one_run() {
    let (_dir, path, pool) = setup();
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
    assert_eq!(rows(&path), [1, 2]);
}
