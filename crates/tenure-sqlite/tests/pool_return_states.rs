//! A connection comes back from its holder in every transaction state, and the next holder
//! always gets it in autocommit: the pool rolls back what was left open (counted by the
//! test hooks' reset calls), keeps a connection that panicked in autocommit and retires
//! one that panicked inside a transaction.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use tenure::testing::{Faults, Ledger, Op};
use tenure_sqlite::hooks::KIND;
use tenure_sqlite::Manager;

fn setup(
    max_size: usize,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    tenure::pool::Pool<Manager>,
    Faults,
    Ledger,
) {
    let (dir, path) = common::db_path();
    let faults = Faults::new();
    let ledger = Ledger::new();
    let pool = common::pool(
        Manager::file(&path)
            .hooks(faults.clone(), ledger.clone())
            .init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x)")),
        max_size,
    );
    (dir, path, pool, faults, ledger)
}

#[test]
fn a_raw_begin_left_open_is_rolled_back_before_the_next_holder() {
    let (_dir, path, pool, faults, _ledger) = setup(1);
    let conn = pool.get_blocking().unwrap();
    conn.execute("BEGIN", []).unwrap();
    conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
    drop(conn);
    let conn = pool.get_blocking().unwrap();
    assert!(conn.is_autocommit());
    assert_eq!(common::count(&conn, "t"), 0);
    assert_eq!(common::count(&common::reader(&path), "t"), 0);
    assert_eq!(faults.count(Op::Reset, KIND), 1);
    assert_eq!(pool.statistics().created, 1); // the same connection, reset, not replaced
}

#[test]
fn a_transaction_with_drop_behavior_ignore_is_rolled_back() {
    let (_dir, path, pool, faults, _ledger) = setup(1);
    let mut conn = pool.get_blocking().unwrap();
    let mut tx = conn.transaction().unwrap();
    tx.set_drop_behavior(rusqlite::DropBehavior::Ignore);
    tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
    drop(tx); // leaves the transaction open
    assert!(!conn.is_autocommit());
    drop(conn);
    let conn = pool.get_blocking().unwrap();
    assert!(conn.is_autocommit());
    assert_eq!(common::count(&common::reader(&path), "t"), 0);
    assert_eq!(faults.count(Op::Reset, KIND), 1);
}

#[test]
fn an_open_savepoint_is_rolled_back_whole() {
    let (_dir, path, pool, faults, _ledger) = setup(1);
    let conn = pool.get_blocking().unwrap();
    conn.execute_batch(
        "SAVEPOINT a; INSERT INTO t VALUES (1); SAVEPOINT b; INSERT INTO t VALUES (2)",
    )
    .unwrap();
    drop(conn);
    let conn = pool.get_blocking().unwrap();
    assert!(conn.is_autocommit());
    assert_eq!(common::count(&common::reader(&path), "t"), 0);
    assert_eq!(faults.count(Op::Reset, KIND), 1);
}

#[test]
fn a_clean_return_is_not_reset() {
    let (_dir, path, pool, faults, _ledger) = setup(1);
    let mut conn = pool.get_blocking().unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
    tx.commit().unwrap();
    drop(conn);
    drop(pool.get_blocking().unwrap());
    assert_eq!(common::count(&common::reader(&path), "t"), 1);
    assert_eq!(faults.count(Op::Reset, KIND), 0);
}

#[test]
fn a_panic_in_autocommit_keeps_the_connection() {
    let (_dir, _path, pool, _faults, _ledger) = setup(1);
    let p = pool.clone();
    let panicked = catch_unwind(AssertUnwindSafe(move || {
        let mut conn = p.get_blocking().unwrap();
        let tx = conn.transaction().unwrap(); // rolls back while unwinding
        tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
        panic!("the holder fails");
    }));
    assert!(panicked.is_err());
    let conn = pool.get_blocking().unwrap();
    assert_eq!(common::count(&conn, "t"), 0);
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.panicked), (1, 0));
}

#[test]
fn a_panic_inside_a_transaction_retires_the_connection() {
    let (_dir, path, pool, _faults, ledger) = setup(1);
    let p = pool.clone();
    let panicked = catch_unwind(AssertUnwindSafe(move || {
        let conn = p.get_blocking().unwrap();
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (1)")
            .unwrap();
        panic!("the holder fails mid-transaction");
    }));
    assert!(panicked.is_err());
    let conn = pool.get_blocking().unwrap();
    assert!(conn.is_autocommit());
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.panicked), (2, 1));
    drop(conn);
    assert_eq!(common::count(&common::reader(&path), "t"), 0);
    assert!(common::eventually(|| ledger.live_count() == 1)); // the retired one was closed
}

#[test]
fn a_failed_reset_retires_and_closes_the_connection() {
    let (_dir, path, pool, faults, ledger) = setup(1);
    faults.fail_nth(Op::Reset, KIND, 1);
    let conn = pool.get_blocking().unwrap();
    conn.execute_batch("BEGIN; INSERT INTO t VALUES (1)")
        .unwrap();
    drop(conn);
    let conn = pool.get_blocking().unwrap();
    assert!(conn.is_autocommit());
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.reset_failed), (2, 1));
    drop(conn);
    // Closing a connection inside a transaction rolls it back.
    assert_eq!(common::count(&common::reader(&path), "t"), 0);
    assert!(common::eventually(|| ledger.live_count() == 1));
}
