//! One writer, many readers: writers queue in the writer pool instead of meeting in
//! SQLite's busy handler — with no busy timeout at all, 8 threads of read-then-write
//! transactions never see `SQLITE_BUSY` and lose no update — while readers read alongside
//! and cannot write.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::tx::transaction;
use tenure_sqlite::{Error, Manager, Pools};

#[test]
fn writers_queue_in_the_pool_and_never_see_busy() {
    let (_dir, path) = common::db_path();
    let pools = Pools::new(
        Manager::file(&path)
            .busy_timeout(Duration::ZERO) // any lock conflict would be SQLITE_BUSY at once
            .init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS counter (n INTEGER)")),
        4,
        common::config(1),
    )
    .unwrap();
    pools
        .writer
        .get_blocking()
        .unwrap()
        .execute("INSERT INTO counter VALUES (0)", [])
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, stop, reads) = (pools.readers.clone(), stop.clone(), reads.clone());
            std::thread::spawn(move || {
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    let conn = pool.get_blocking().unwrap();
                    let n: i64 = conn
                        .query_row("SELECT n FROM counter", [], |r| r.get(0))
                        .unwrap();
                    assert!(n >= last, "a reader saw the counter go back");
                    last = n;
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let pool = pools.writer.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let mut conn = pool.get_blocking().unwrap();
                    // Deferred, read then write: with two writer connections this is the
                    // shape that fails with SQLITE_BUSY regardless of any busy timeout.
                    transaction(&mut *conn, |tx| {
                        let n: i64 = tx.query_row("SELECT n FROM counter", [], |r| r.get(0))?;
                        tx.execute("UPDATE counter SET n = ?1", [n + 1])?;
                        Ok::<_, Error>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let conn = pools.readers.get_blocking().unwrap();
    let n: i64 = conn
        .query_row("SELECT n FROM counter", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 400);
    assert!(reads.load(Ordering::Relaxed) > 0);
    assert_eq!(pools.writer.statistics().created, 1);
}

#[test]
fn readers_cannot_write() {
    let (_dir, path) = common::db_path();
    let pools = Pools::new(
        Manager::file(&path).init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x)")),
        2,
        common::config(1),
    )
    .unwrap();
    let err = pools
        .readers
        .get_blocking()
        .unwrap()
        .execute("INSERT INTO t VALUES (1)", [])
        .unwrap_err();
    assert_eq!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::ReadOnly));
}
