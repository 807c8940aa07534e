//! The test hooks reach transactions: `Faults` planned for `Op::Begin`, `Op::Commit`,
//! `Op::Rollback` and the savepoint operations fail those control statements of real
//! connections before they are sent. A failed `COMMIT` leaves nothing committed and the
//! connection idle; a failed `BEGIN` runs nothing; a failed `ROLLBACK` is reported as the
//! transaction's cleanup error and the pool's reset still rolls the connection back. Read
//! back from a second connection.

mod common;

use tenure::testing::{Faults, Ledger, Op};
use tenure::tx::{transaction, transaction_async, Failure, Session, State};
use tenure_sqlite::hooks::KIND;
use tenure_sqlite::{AsyncConnection, Error, Manager, Operation};

fn setup(faults: &Faults, ledger: &Ledger) -> (tempfile::TempDir, std::path::PathBuf, Manager) {
    common::table_t_with(|builder| builder.hooks(faults.clone(), ledger.clone()))
}

fn insert(conn: &rusqlite::Connection, x: i64) -> Result<(), Error> {
    conn.execute("INSERT INTO t VALUES (?1)", [x])?;
    Ok(())
}

/// The injected fault behind an adapter error, as text.
fn injected(e: &Error) -> String {
    std::error::Error::source(e).unwrap().to_string()
}

#[test]
fn a_failed_commit_leaves_nothing_committed_and_the_connection_idle() {
    let (faults, ledger) = (Faults::new(), Ledger::new());
    faults.fail_nth(Op::Commit, KIND, 2);
    let (_dir, path, manager) = setup(&faults, &ledger);
    let mut conn = manager.open().unwrap();
    transaction(&mut conn, |tx| insert(tx, 1)).unwrap();
    let err = transaction(&mut conn, |tx| {
        insert(tx, 2)?;
        insert(tx, 3)
    })
    .unwrap_err();
    let Failure::Commit(cause) = err.failure() else {
        panic!("{:?}", err.failure())
    };
    assert_eq!(cause.operation(), Operation::Commit);
    assert_eq!(injected(cause), "injected fault: commit #2 of `sqlite`");
    assert!(err.cleanup().is_none(), "the rollback after it worked");
    assert_eq!(conn.state(), State::Idle);
    assert!(conn.is_autocommit());
    assert_eq!(common::rows(&path), [1]);
    // The connection is clean: the next transaction on it commits.
    transaction(&mut conn, |tx| insert(tx, 4)).unwrap();
    assert_eq!(common::rows(&path), [1, 4]);
    assert_eq!(faults.count(Op::Commit, KIND), 3);
    assert_eq!(faults.count(Op::Rollback, KIND), 1);
    tenure::Close::close(conn).unwrap();
    ledger.assert_all_closed();
}

#[test]
fn a_failed_begin_runs_nothing_and_leaves_the_connection_idle() {
    let (faults, ledger) = (Faults::new(), Ledger::new());
    faults.fail_nth(Op::Begin, KIND, 1);
    let (_dir, path, manager) = setup(&faults, &ledger);
    let mut conn = manager.open().unwrap();
    let mut ran = false;
    let err = transaction(&mut conn, |tx| {
        ran = true;
        insert(tx, 1)
    })
    .unwrap_err();
    let Failure::Begin(cause) = err.failure() else {
        panic!("{:?}", err.failure())
    };
    assert_eq!(cause.operation(), Operation::Begin);
    assert_eq!(injected(cause), "injected fault: begin #1 of `sqlite`");
    assert!(!ran, "the body must not run after a failed BEGIN");
    assert!(err.cleanup().is_none());
    assert_eq!(conn.state(), State::Idle);
    assert_eq!(faults.count(Op::Rollback, KIND), 0, "nothing to roll back");
    transaction(&mut conn, |tx| insert(tx, 2)).unwrap();
    assert_eq!(common::rows(&path), [2]);
    tenure::Close::close(conn).unwrap();
    ledger.assert_all_closed();
}

#[test]
fn a_failed_rollback_is_the_cleanup_error_and_the_pool_reset_rolls_back() {
    let (faults, ledger) = (Faults::new(), Ledger::new());
    faults.fail_nth(Op::Rollback, KIND, 1);
    let (_dir, path, manager) = setup(&faults, &ledger);
    let pool = common::pool_of(manager, 1);
    let mut lease = pool.get_blocking().unwrap();
    let err = transaction(&mut *lease, |tx| {
        insert(tx, 1)?;
        tx.execute("INSERT INTO nowhere VALUES (2)", [])?;
        Ok::<_, Error>(())
    })
    .unwrap_err();
    assert!(err.body().is_some());
    let cleanup = err.cleanup().expect("the injected rollback failure");
    assert!(
        format!("{}", tenure::error::Report::new(cleanup)).contains("injected fault: rollback #1"),
        "{cleanup}"
    );
    // The ROLLBACK was not sent: the transaction is still open, its row uncommitted.
    assert_eq!(lease.state(), State::Open { depth: 1 });
    assert!(common::rows(&path).is_empty());
    drop(lease); // the pool's reset (`Op::Reset`, not `Op::Rollback`) rolls it back
    let mut lease = pool.get_blocking().unwrap();
    assert_eq!(lease.state(), State::Idle);
    transaction(&mut *lease, |tx| insert(tx, 3)).unwrap();
    assert_eq!(common::rows(&path), [3]);
    assert_eq!(pool.statistics().destroyed.reset_failed, 0);
    drop(lease);
    assert!(pool.close_blocking(std::time::Duration::from_secs(10)));
    ledger.assert_all_closed();
}

#[test]
fn a_failed_savepoint_or_release_leaves_the_outer_transaction_usable() {
    let (faults, ledger) = (Faults::new(), Ledger::new());
    faults.fail_nth(Op::Savepoint, KIND, 1);
    faults.fail_nth(Op::ReleaseSavepoint, KIND, 1);
    let (_dir, path, manager) = setup(&faults, &ledger);
    let mut conn = manager.open().unwrap();
    transaction(&mut conn, |tx| {
        insert(tx, 1)?;
        let begin = transaction(tx, |inner| insert(inner, 2)).unwrap_err();
        assert!(
            matches!(begin.failure(), Failure::Begin(e) if e.operation() == Operation::Savepoint)
        );
        let release = transaction(tx, |inner| insert(inner, 3)).unwrap_err();
        let Failure::Commit(e) = release.failure() else {
            panic!("{:?}", release.failure())
        };
        assert_eq!(e.operation(), Operation::ReleaseSavepoint);
        assert_eq!(
            injected(e),
            "injected fault: release savepoint #1 of `sqlite`"
        );
        assert!(release.cleanup().is_none(), "rolled back to the savepoint");
        assert_eq!(tx.state(), State::Open { depth: 1 });
        transaction(tx, |inner| insert(inner, 4)).unwrap();
        Ok::<_, Error>(())
    })
    .unwrap();
    assert_eq!(common::rows(&path), [1, 4]);
    assert_eq!(faults.count(Op::RollbackToSavepoint, KIND), 1);
    tenure::Close::close(conn).unwrap();
    ledger.assert_all_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_through_the_async_connection_rolls_back_too() {
    let (faults, ledger) = (Faults::new(), Ledger::new());
    faults.fail_nth(Op::Commit, KIND, 1);
    let (_dir, path, manager) = setup(&faults, &ledger);
    let pool = common::pool_of(manager, 1);
    let mut conn = AsyncConnection::new(pool.get().await.unwrap());
    let err = transaction_async(&mut conn, async |tx| {
        tx.run(|c| c.execute("INSERT INTO t VALUES (1)", [])).await
    })
    .await
    .unwrap_err();
    let Failure::Commit(cause) = err.failure() else {
        panic!("{:?}", err.failure())
    };
    assert_eq!(injected(cause), "injected fault: commit #1 of `sqlite`");
    assert!(err.cleanup().is_none());
    assert_eq!(conn.state(), State::Idle);
    assert!(common::rows(&path).is_empty());
    transaction_async(&mut conn, async |tx| {
        tx.run(|c| c.execute("INSERT INTO t VALUES (2)", [])).await
    })
    .await
    .unwrap();
    assert_eq!(common::rows(&path), [2]);
    drop(conn);
    pool.close().await;
    ledger.assert_all_closed();
}
