//! `tenure::tx` on real SQLite files, each outcome read back from a second connection:
//! commit, rollback on error and on panic, nesting as savepoints (ported from rusqlite's
//! and sqlx-sqlite's transaction tests), retry on a real `SQLITE_BUSY_SNAPSHOT`,
//! `BEGIN IMMEDIATE` writers that wait through the busy timeout, and a transaction SQLite
//! ended on its own (an interrupted write) with no spurious cleanup error.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::tx::{transaction, Class, Failure, Mode, Options, Retry, Session, State, Tx};
use tenure_sqlite::{Connection, Error, Manager};

fn insert(conn: &rusqlite::Connection, x: i64) -> Result<(), Error> {
    conn.execute("INSERT INTO t VALUES (?1)", [x])?;
    Ok(())
}

#[test]
fn ok_commits() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    transaction(&mut conn, |tx| {
        insert(tx, 1)?;
        insert(tx, 2)
    })
    .unwrap();
    assert_eq!(common::rows(&path), [1, 2]);
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn err_rolls_back_and_the_body_error_comes_back() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let err = transaction(&mut conn, |tx| {
        insert(tx, 1)?;
        tx.execute("INSERT INTO nowhere VALUES (2)", [])?;
        Ok::<_, Error>(())
    })
    .unwrap_err();
    assert!(err.cleanup().is_none());
    let body = err.body().expect("the body's error");
    assert!(
        body.as_sqlite()
            .unwrap()
            .to_string()
            .contains("no such table"),
        "{body}"
    );
    assert!(common::rows(&path).is_empty());
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_panic_rolls_back_and_resumes() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        transaction(&mut conn, |tx| {
            insert(tx, 1)?;
            panic!("the body fails");
            #[allow(unreachable_code)]
            Ok::<_, Error>(())
        })
    }));
    assert!(panicked.is_err());
    assert!(common::rows(&path).is_empty());
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_failing_nested_transaction_rolls_back_to_its_savepoint_and_the_outer_commits() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    transaction(&mut conn, |tx| {
        insert(tx, 1)?;
        let inner = transaction(tx, |inner| {
            insert(inner, 2)?;
            assert_eq!(inner.state(), State::Open { depth: 2 });
            Err::<(), _>(Error::from(rusqlite::Error::InvalidQuery))
        });
        assert!(inner.is_err());
        assert_eq!(tx.state(), State::Open { depth: 1 });
        transaction(tx, |inner| insert(inner, 3)).unwrap(); // a nested one that commits
        insert(tx, 4)
    })
    .unwrap();
    assert_eq!(common::rows(&path), [1, 3, 4]);
}

#[test]
fn nested_three_deep_with_the_middle_one_rolled_back() {
    // rusqlite's test_nested_transactions / sqlx's it_can_nest: the innermost work goes
    // with the middle savepoint.
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    transaction(&mut conn, |tx| {
        insert(tx, 1)?;
        let middle = transaction(tx, |mid| {
            insert(mid, 2)?;
            transaction(mid, |innermost| insert(innermost, 4)).unwrap();
            Err::<(), _>(Error::from(rusqlite::Error::InvalidQuery))
        });
        assert!(middle.is_err());
        Ok::<_, Error>(())
    })
    .unwrap();
    assert_eq!(common::rows(&path), [1]);
}

#[test]
fn a_pooled_lease_runs_a_transaction_and_goes_back_clean() {
    let (_dir, path, manager) = common::table_t();
    let pool = common::pool_of(manager, 1);
    let mut lease = pool.get_blocking().unwrap();
    transaction(&mut *lease, |tx| insert(tx, 1)).unwrap();
    let failed = transaction(&mut *lease, |tx| {
        insert(tx, 2)?;
        Err::<(), _>(Error::from(rusqlite::Error::InvalidQuery))
    });
    assert!(failed.is_err());
    drop(lease);
    assert_eq!(common::rows(&path), [1]);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(lease.state(), State::Idle);
}

#[test]
fn a_connection_left_open_by_hand_is_refused_not_rolled_back() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    conn.execute_batch("BEGIN; INSERT INTO t VALUES (1)")
        .unwrap();
    let err = transaction(&mut conn, |tx| insert(tx, 2)).unwrap_err();
    assert!(matches!(err.failure(), Failure::NotReady { .. }), "{err}");
    conn.execute_batch("COMMIT").unwrap(); // the caller's own transaction was untouched
    assert_eq!(common::rows(&path), [1]);
}

#[test]
fn a_busy_snapshot_is_retried_and_the_attempts_counted() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    insert(&conn, 0).unwrap();
    let other = common::reader(&path);
    let opts = Options {
        mode: Mode::Deferred,
        retry: Some(Retry {
            backoff: Duration::from_millis(1),
            ..Retry::default()
        }),
    };
    let mut classes = Vec::new();
    let attempts = opts
        .run(&mut conn, |tx| {
            // Read: the transaction now has a snapshot.
            let n: i64 = tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
            if Tx::attempt(tx) == 1 {
                // Another connection commits a write after the snapshot was taken.
                other.execute("INSERT INTO t VALUES (100)", []).unwrap();
            }
            // Then write: the stale snapshot cannot be upgraded.
            let wrote = tx.execute("INSERT INTO t VALUES (?1)", [n]);
            if let Err(rusqlite::Error::SqliteFailure(f, _)) = &wrote {
                classes.push(f.extended_code);
            }
            wrote?;
            Ok::<_, Error>(Tx::attempt(tx))
        })
        .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(classes, [rusqlite::ffi::SQLITE_BUSY_SNAPSHOT]);
    assert_eq!(common::rows(&path), [0, 100, 2]);
}

#[test]
fn without_retry_a_busy_snapshot_comes_back_classified() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let other = common::reader(&path);
    let err = transaction(&mut conn, |tx| {
        tx.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?;
        other.execute("INSERT INTO t VALUES (100)", []).unwrap();
        insert(tx, 1)
    })
    .unwrap_err();
    let body = err.body().unwrap();
    assert!(body.is_busy_snapshot());
    assert_eq!(conn.classify(body), Class::BusySnapshot);
    assert_eq!((err.attempts(), err.cleanup().is_none()), (1, true));
    assert_eq!(common::rows(&path), [100]);
}

#[test]
fn immediate_writers_wait_through_the_busy_timeout_instead_of_failing() {
    let (_dir, path, _manager) = common::table_t();
    let pool = common::pool(
        Manager::file(&path).init(|c| {
            c.execute_batch("CREATE TABLE IF NOT EXISTS counter (n INTEGER); INSERT INTO counter SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM counter)")
        }),
        4,
    );
    let opts = Options {
        mode: Mode::Immediate,
        retry: None,
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let mut conn = pool.get_blocking().unwrap();
                    // Read, then write: deferred, this would fail with SQLITE_BUSY at once.
                    opts.run(&mut *conn, |tx| {
                        let n: i64 = tx.query_row("SELECT n FROM counter", [], |r| r.get(0))?;
                        std::thread::yield_now();
                        tx.execute("UPDATE counter SET n = ?1", [n + 1])?;
                        Ok::<_, Error>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n: i64 = common::reader(&path)
        .query_row("SELECT n FROM counter", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 100); // no lost update, no error
}

#[test]
fn an_interrupted_write_ends_the_transaction_without_a_spurious_cleanup_error() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    insert(&conn, 1).unwrap();
    let interrupt = conn.get_interrupt_handle();
    let running = Arc::new(AtomicBool::new(false));
    let flag = running.clone();
    conn.progress_handler(
        1000,
        Some(move || {
            flag.store(true, Ordering::Release);
            false
        }),
    )
    .unwrap();
    let interrupter = std::thread::spawn(move || {
        while !running.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        interrupt.interrupt();
    });
    let err = transaction(&mut conn, |tx: &mut Tx<'_, Connection>| {
        insert(tx, 2)?;
        // A write that would run for minutes.
        let wrote = tx.execute(
            "INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000000000) SELECT x FROM c",
            [],
        );
        // SQLite rolled the whole transaction back on its own: the ROLLBACK that follows
        // answers "no transaction is active", which is no cleanup failure.
        assert!(tx.is_autocommit());
        wrote?;
        Ok::<_, Error>(())
    })
    .unwrap_err();
    interrupter.join().unwrap();
    conn.progress_handler(0, None::<fn() -> bool>).unwrap();
    let body = err.body().unwrap();
    assert_eq!(body.code(), Some(rusqlite::ErrorCode::OperationInterrupted));
    assert!(
        err.cleanup().is_none(),
        "spurious cleanup error: {}",
        err.report()
    );
    assert_eq!(conn.state(), State::Idle);
    assert_eq!(common::rows(&path), [1]);
}
