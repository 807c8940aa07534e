//! The applicable cases of rusqlite's (`src/transaction.rs`) and sqlx's (`tests/postgres`,
//! `tests/sqlite`: `it_can_work_with_transactions`, `..._nested_transactions`,
//! `..._failed_transactions`, `it_can_drop_multiple_transactions`) transaction tests, in
//! `tenure::tx`'s terms, on the scripted connection. Their explicit `commit()` /
//! `rollback()` / drop behaviours become a body's `Ok` / `Err` / a dropped future.
#![cfg(all(feature = "testing", feature = "pool", feature = "tokio"))]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tenure::error::BoxError;
use tenure::pool::{Pool, PoolConfig};
use tenure::testing::tx::{Rejection, ScriptedError, ScriptedManager, Server};
use tenure::testing::Op;
use tenure::tx::{
    transaction, transaction_async, transaction_dyn, Class, Failure, Mode, Session, State,
    Transactional,
};

fn refused() -> BoxError {
    "rolled back on purpose".into()
}

/// rusqlite `test_drop` / sqlx `it_can_work_with_transactions`: rolled back, committed.
#[test]
fn rollback_then_commit() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction_dyn(&mut conn, |tx| {
        tx.insert(1)?;
        Err::<(), _>(refused())
    })
    .unwrap_err();
    assert!(server.rows().is_empty());
    transaction(&mut conn, |tx| tx.insert(2)).unwrap();
    assert_eq!(server.rows(), [2]);
}

/// rusqlite `test_unchecked_nesting`: beginning a transaction on the connection itself
/// (not on the transaction's handle) inside a transaction fails, and does not disturb the
/// transaction under way.
#[test]
fn a_top_level_transaction_inside_one_is_refused_and_the_outer_goes_on() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        tx.insert(1)?;
        let conn = &mut **tx; // the raw connection, not the handle
        let err = transaction(conn, |c| c.insert(99)).unwrap_err();
        assert!(matches!(
            err.failure(),
            Failure::NotReady {
                expected: State::Idle,
                ..
            }
        ));
        tx.insert(1)
    })
    .unwrap();
    assert_eq!(server.rows(), [1, 1]);
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "INSERT 1", "COMMIT"]);
}

/// rusqlite `test_explicit_rollback_commit`: a savepoint rolled back, another one
/// committed, the transaction committed, then another: 2 + 4.
#[test]
fn a_savepoint_rolled_back_then_another_committed() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        transaction_dyn(tx, |sp| {
            sp.insert(1)?;
            Err::<(), _>(refused())
        })
        .unwrap_err();
        transaction(tx, |sp| sp.insert(2))
            .map_err(|e| e.into_failure())
            .unwrap();
        Ok::<_, ScriptedError>(())
    })
    .unwrap();
    transaction(&mut conn, |tx| tx.insert(4)).unwrap();
    assert_eq!(server.rows().iter().sum::<i64>(), 6);
}

/// rusqlite `test_savepoint`: a committed inner savepoint is undone by its enclosing
/// savepoint's rollback.
#[test]
fn a_released_savepoint_is_undone_by_its_parents_rollback() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        tx.insert(1)?;
        transaction_dyn(tx, |sp1| {
            sp1.insert(2)?;
            transaction_dyn(sp1, |sp2| {
                sp2.insert(4)?;
                transaction(sp2, |sp3| sp3.insert(8))
                    .map_err(|e| e.into_failure())
                    .ok();
                Err::<(), _>(refused()) // rolls back sp2, and sp3 with it
            })
            .unwrap_err();
            Err::<(), _>(refused())
        })
        .unwrap_err();
        Ok::<_, ScriptedError>(())
    })
    .unwrap();
    assert_eq!(server.rows(), [1]);
}

/// rusqlite `test_savepoint_names`: savepoints named by hand pass through the handle to
/// the connection; a repeated name means the most recent.
#[test]
fn savepoints_named_by_hand_pass_through_and_repeated_names_mean_the_latest() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        tx.savepoint("my_sp")?;
        tx.insert(1)?;
        tx.savepoint("my_sp")?;
        tx.insert(2)?;
        tx.rollback_to_savepoint("my_sp")?; // the inner one: 2 undone
        tx.insert(4)?;
        tx.release_savepoint("my_sp") // the outer one: 1 and 4 kept
    })
    .unwrap();
    assert_eq!(server.rows(), [1, 4]);
}

/// rusqlite `test_savepoint_release_error`: a savepoint whose release fails is rolled back
/// and the transaction goes on.
#[test]
fn a_failed_release_rolls_the_savepoint_back_and_the_outer_goes_on() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        tx.insert(1)?;
        tx.reject_next(Op::ReleaseSavepoint, Rejection::new(Class::Other));
        let err = transaction(tx, |sp| sp.insert(2)).unwrap_err();
        assert!(matches!(err.failure(), Failure::Commit(_)), "{err:?}");
        assert!(err.cleanup().is_none());
        assert_eq!(tx.state(), State::Open { depth: 1 });
        tx.insert(3)
    })
    .unwrap();
    assert_eq!(server.rows(), [1, 3]);
}

/// sqlx `it_can_work_with_failed_transactions`: a statement fails inside the transaction
/// (PostgreSQL then refuses everything but ROLLBACK); the rollback makes the connection
/// usable again.
#[test]
fn a_failed_statement_rolls_back_and_the_connection_is_usable() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.reject_next(Op::Statement, Rejection::new(Class::Other));
    let err = transaction(&mut conn, |tx| tx.insert(1)).unwrap_err();
    assert!(matches!(err.failure(), Failure::Body(_)));
    assert_eq!(conn.state(), State::Idle);
    conn.insert(2).unwrap();
    assert_eq!(server.rows(), [2]);
}

/// sqlx `it_can_work_with_nested_transactions`: after the savepoint's rollback the outer
/// is still in its transaction, then commits; one row.
#[test]
fn after_a_nested_rollback_the_outer_is_still_in_its_transaction() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        tx.insert(50)?;
        transaction_dyn(tx, |tx2| {
            assert_eq!(tx2.state(), State::Open { depth: 2 });
            tx2.insert(10)?;
            Err::<(), _>(refused())
        })
        .unwrap_err();
        assert_eq!(tx.state(), State::Open { depth: 1 });
        Ok::<_, ScriptedError>(())
    })
    .unwrap();
    assert_eq!(conn.state(), State::Idle);
    assert_eq!(server.rows(), [50]);
}

struct DropAfter<F>(Pin<Box<F>>, usize);

impl<F: Future> Future for DropAfter<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.0.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if self.1 <= 1 => Poll::Ready(None),
            Poll::Pending => {
                self.1 -= 1;
                Poll::Pending
            }
        }
    }
}

/// sqlx `it_can_work_with_transactions` (begin .. drop) and `it_can_drop_multiple_transactions`:
/// a transaction dropped after its insert, twice in a row on the same pooled connection —
/// nothing committed, and the connection comes back clean each time (sqlx before 0.9.1
/// could hand such a connection out inside the transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_dropped_repeatedly_commit_nothing_and_come_back_clean() {
    let server = Server::new();
    let pool = Pool::builder(ScriptedManager::new(&server))
        .config(PoolConfig {
            max_size: 1,
            ..PoolConfig::default()
        })
        .build()
        .unwrap();
    for _ in 0..2 {
        let mut lease = pool.get().await.unwrap();
        let dropped = DropAfter(
            Box::pin(transaction_async(&mut *lease, async |tx| {
                tx.insert_async(20).await?;
                loop {
                    tokio::task::yield_now().await; // still working when dropped
                }
                #[allow(unreachable_code)]
                Ok::<_, ScriptedError>(())
            })),
            6, // BEGIN (2 pending polls), INSERT (2), then the body's work
        )
        .await;
        assert!(dropped.is_none());
        assert_eq!(lease.state(), State::Open { depth: 1 });
        drop(lease);
        let lease = pool.get().await.unwrap();
        assert_eq!(lease.state(), State::Idle);
        assert!(server.rows().is_empty());
    }
    assert_eq!(
        server.log(),
        [
            "BEGIN",
            "INSERT 20",
            "ROLLBACK",
            "BEGIN",
            "INSERT 20",
            "ROLLBACK"
        ]
    );
}

/// rusqlite `TransactionBehavior` / sqlx's `begin_with`: the mode reaches the server.
#[test]
fn the_begin_mode_reaches_the_server() {
    let server = Server::new();
    let mut conn = server.connect();
    Transactional::begin(&mut conn, Mode::Immediate).unwrap();
    Transactional::commit(&mut conn).unwrap();
    assert_eq!(server.log(), ["BEGIN IMMEDIATE", "COMMIT"]);
}
