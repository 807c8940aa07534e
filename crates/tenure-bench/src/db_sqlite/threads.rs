//! `db_sqlite`'s rows from threads: the blocking pools against `r2d2_sqlite`, the write
//! contention of 32 writer threads, and the floor (one raw connection). What each row
//! measures and how every side is configured: the parent module's documentation.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tenure::pool::Pool;

use super::{
    id, insert, insert_tx, point, tenure_builder, tenure_config, FLOOR, IMMEDIATE, PRAGMAS, SIZE,
    THREADS, WRITERS,
};
use crate::harness::{op, runs_reporting, Case, Harness};
use crate::pool::fixtures::{compare_threads, report_floor, threads_rep, timed_blocking, TIMEOUT};

pub(super) fn blocking_case(query: &str) -> Case {
    Case::new("db_sqlite", "r2d2_sqlite")
        .param("query", query)
        .param("threads", THREADS)
        .info("size", if query == "point" { SIZE } else { 1 })
        .target(1.0)
}

pub(super) fn contention_case() -> Case {
    Case::new("db_sqlite", "pool_of_8")
        .param("scenario", "write_contention")
        .param("writers", WRITERS)
        .info("size", 1)
        .info("peer_size", SIZE)
        .target(1.0)
        .p99_target(1.0)
}

fn r2d2_pool(path: &Path, size: u32) -> r2d2::Pool<r2d2_sqlite::SqliteConnectionManager> {
    let manager =
        r2d2_sqlite::SqliteConnectionManager::file(path).with_init(|c| c.execute_batch(PRAGMAS));
    r2d2::Pool::builder()
        .max_size(size)
        .test_on_check_out(false)
        .connection_timeout(TIMEOUT)
        .build(manager)
        .expect("r2d2_sqlite pool")
}

/// Takes every connection of a blocking tenure pool at once, then drops them.
fn prewarm(pool: &Pool<tenure_sqlite::Manager>, size: usize) {
    let held: Vec<_> = (0..size)
        .map(|_| pool.get_blocking().expect("tenure get"))
        .collect();
    drop(held);
}

/// The blocking rows: 16 threads, point query (pools of 8) and insert-in-transaction
/// (pools of 1), against r2d2_sqlite (whose `build` makes all its connections first).
pub(super) fn blocking_rows(h: &mut Harness, path: &Path) {
    if !h.would_run(&blocking_case("point")) && !h.would_run(&blocking_case("insert_tx")) {
        return;
    }
    let tenure = tenure_sqlite::Pools::new(tenure_builder(path), SIZE, tenure_config(SIZE))
        .expect("tenure pools");
    prewarm(&tenure.readers, SIZE);
    prewarm(&tenure.writer, 1);
    let r2d2 = r2d2_pool(path, SIZE as u32);
    let r2d2_writer = r2d2_pool(path, 1);

    let tenure_one = || {
        let (c, acquire) = timed_blocking("tenure get", || tenure.readers.get_blocking());
        black_box(point(&c, id()).expect("query"));
        acquire
    };
    let r2d2_one = || {
        let (c, acquire) = timed_blocking("r2d2 get", || r2d2.get());
        black_box(point(&c, id()).expect("query"));
        acquire
    };
    compare_threads(h, blocking_case("point"), THREADS, &tenure_one, &r2d2_one);
    let tenure_one = || {
        let (mut c, acquire) = timed_blocking("tenure get", || tenure.writer.get_blocking());
        let v = id();
        IMMEDIATE
            .run(&mut *c, |tx| insert(tx, v))
            .expect("transaction");
        acquire
    };
    let r2d2_one = || {
        let (mut c, acquire) = timed_blocking("r2d2 get", || r2d2_writer.get());
        insert_tx(&mut c, id()).expect("transaction");
        acquire
    };
    compare_threads(
        h,
        blocking_case("insert_tx"),
        THREADS,
        &tenure_one,
        &r2d2_one,
    );
}

/// Whether `e` or one of its sources is SQLite's `SQLITE_BUSY`.
fn is_busy(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(e) = e.downcast_ref::<rusqlite::Error>() {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// `scenario=write_contention`: 32 writer threads on the writer pool (1 connection)
/// against a pool of 8 that all write.
pub(super) fn write_contention(h: &mut Harness, path: &Path) {
    let case = contention_case();
    if !h.would_run(&case) {
        return;
    }
    let pools =
        tenure_sqlite::Pools::new(tenure_builder(path), 1, tenure_config(1)).expect("tenure pools");
    let eight = Pool::builder(tenure_builder(path).build().expect("tenure manager"))
        .config(tenure_config(SIZE))
        .build()
        .expect("tenure pool of 8");
    prewarm(&pools.writer, 1);
    prewarm(&eight, SIZE);
    let busy = [AtomicU64::new(0), AtomicU64::new(0)];
    let failed = [AtomicU64::new(0), AtomicU64::new(0)];
    // The latency recorded here is the whole write (get, transaction, drop): the writer
    // pool waits in `get`, the pool of 8 in SQLite's busy handler.
    let write = |pool: &Pool<tenure_sqlite::Manager>, side: usize| {
        let t0 = Instant::now();
        let mut c = pool.get_blocking().expect("tenure get");
        let v = id();
        if let Err(e) = IMMEDIATE.run(&mut *c, |tx| insert(tx, v)) {
            if is_busy(&e) {
                busy[side].fetch_add(1, Ordering::Relaxed);
            } else {
                failed[side].fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(c);
        t0.elapsed()
    };
    let writer_one = || write(&pools.writer, 0);
    let eight_one = || write(&eight, 1);
    let count =
        |key: &'static str, c: &AtomicU64| vec![(key, c.load(Ordering::Relaxed).to_string())];
    h.compare(
        runs_reporting(
            |ops| threads_rep(WRITERS, ops, &writer_one),
            || {
                let mut v = count("sqlite_busy", &busy[0]);
                v.extend(count("other_errors", &failed[0]));
                v
            },
        ),
        vec![(
            case,
            runs_reporting(
                |ops| threads_rep(WRITERS, ops, &eight_one),
                || {
                    let mut v = count("peer_sqlite_busy", &busy[1]);
                    v.extend(count("peer_other_errors", &failed[1]));
                    v
                },
            ),
        )],
    );
}

/// `scenario=floor`: tenure's pooled blocking point query beside the same query on one
/// raw connection, from one thread.
pub(super) fn floor(h: &mut Harness, path: &Path) {
    if !h.scenario_selected(FLOOR) {
        return;
    }
    let pool = Pool::builder(tenure_builder(path).build().expect("tenure manager"))
        .config(tenure_config(SIZE))
        .build()
        .expect("tenure pool");
    prewarm(&pool, SIZE);
    let raw = rusqlite::Connection::open(path).expect("open");
    raw.execute_batch(PRAGMAS).expect("pragma");
    let Some(m) = h.medians(
        FLOOR,
        vec![
            op(|| {
                let c = pool.get_blocking().expect("tenure get");
                point(&c, id()).expect("query")
            }),
            op(|| point(&raw, id()).expect("query")),
        ],
    ) else {
        return;
    };
    report_floor(
        h,
        FLOOR,
        "raw_connection",
        "ns per point query from one thread",
        (m[0], m[1]),
        0.9,
    );
}
