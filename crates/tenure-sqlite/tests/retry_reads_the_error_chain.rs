//! Retry classifies rusqlite's error wherever it sits in a body's error chain, not only
//! inside this crate's `Error`: a real `SQLITE_BUSY_SNAPSHOT` returned from the body as a
//! `Box<dyn Error>`, an `anyhow::Error` or an application's error enum (rusqlite's error its
//! `source()`) runs the body again; an error that is not retryable, wrapped the same way,
//! runs it once. Every outcome read back from a second connection.

mod common;

use std::error::Error as StdError;
use std::path::Path;
use std::time::Duration;

use tenure::tx::{Failure, Mode, Options, Retry, Session, State, Tx};
use tenure_sqlite::AsyncConnection;

fn retrying() -> Options {
    Options {
        mode: Mode::Deferred,
        retry: Some(Retry {
            backoff: Duration::from_millis(1),
            ..Retry::default()
        }),
    }
}

/// Reads (the deferred transaction takes its snapshot); on the first attempt `other`
/// commits a write after that; then writes 1: `SQLITE_BUSY_SNAPSHOT` on the first
/// attempt, success on the next.
fn stale_write(c: &rusqlite::Connection, other: &Path, attempt: u32) -> rusqlite::Result<()> {
    c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?;
    if attempt == 1 {
        common::reader(other)
            .execute("INSERT INTO t VALUES (100)", [])
            .unwrap();
    }
    c.execute("INSERT INTO t VALUES (1)", []).map(drop)
}

fn is_busy_snapshot(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_BUSY_SNAPSHOT)
}

#[test]
fn a_busy_snapshot_in_a_box_dyn_error_is_retried() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let mut seen = Vec::new();
    let attempts = retrying()
        .run_dyn(&mut conn, |tx| {
            let n = Tx::attempt(tx);
            let wrote = stale_write(tx, &path, n);
            seen.push(wrote.as_ref().err().is_some_and(is_busy_snapshot));
            wrote?; // rusqlite's error, boxed
            Ok::<_, Box<dyn StdError + Send + Sync>>(n)
        })
        .unwrap();
    assert_eq!((attempts, seen), (2, vec![true, false]));
    assert_eq!(common::rows(&path), [100, 1]);
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_busy_snapshot_in_an_anyhow_error_is_retried() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let attempts = retrying()
        .run_dyn(&mut conn, |tx| {
            let n = Tx::attempt(tx);
            stale_write(tx, &path, n).map_err(|e| anyhow::Error::new(e).context("storing"))?;
            Ok::<_, anyhow::Error>(n)
        })
        .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(common::rows(&path), [100, 1]);
}

/// An application's error: rusqlite's is its `source()`, not the error itself.
#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error("could not store the order")]
    Store(#[source] rusqlite::Error),
}

#[test]
fn a_busy_snapshot_as_the_source_of_an_application_error_is_retried() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let attempts = retrying()
        .run(&mut conn, |tx| {
            let n = Tx::attempt(tx);
            stale_write(tx, &path, n).map_err(AppError::Store)?;
            Ok::<_, AppError>(n)
        })
        .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(common::rows(&path), [100, 1]);
}

#[test]
fn a_wrapped_error_that_is_not_retryable_runs_once() {
    let (_dir, path, manager) = common::table_t();
    let mut conn = manager.open().unwrap();
    let mut runs = 0;
    let err = retrying()
        .run(&mut conn, |tx| {
            runs += 1;
            tx.execute("INSERT INTO t VALUES (1)", [])
                .map_err(AppError::Store)?;
            tx.execute("INSERT INTO nowhere VALUES (2)", [])
                .map_err(AppError::Store)?;
            Ok::<_, AppError>(())
        })
        .unwrap_err();
    assert_eq!((runs, err.attempts()), (1, 1));
    assert!(matches!(err.failure(), Failure::Body(AppError::Store(_))));
    assert!(common::rows(&path).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_a_busy_snapshot_in_a_box_dyn_error_is_retried() {
    let (_dir, path, manager) = common::table_t();
    let pool = common::pool_of(manager, 1);
    let mut conn = AsyncConnection::new(pool.get().await.unwrap());
    let attempts = retrying()
        .run_async_dyn(&mut conn, async |tx| {
            let n = Tx::attempt(tx);
            let other = path.clone();
            // The step's own result is this crate's error; the statement's, rusqlite's.
            let wrote = tx.run(move |c| Ok(stale_write(c, &other, n))).await?;
            wrote?; // rusqlite's error, boxed
            Ok::<_, Box<dyn StdError + Send + Sync>>(n)
        })
        .await
        .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(common::rows(&path), [100, 1]);
    assert_eq!(conn.state(), State::Idle);
}
