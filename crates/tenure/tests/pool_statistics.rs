//! What a pool counts: hold and wait times with percentiles, acquires direct or waited,
//! leases on every thread's shard, retirements by reason.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::Arc;
use std::time::Duration;
use tenure::pool::PoolConfig;

mod pool_fixture;
use pool_fixture::{base, leak_reports, pool_with, reporting_pool};

#[test]
fn hold_and_wait_times_have_percentiles() {
    let (pool, _, time) = pool_with(base());
    for _ in 0..99 {
        let lease = pool.get_blocking().unwrap();
        time.advance(Duration::from_millis(10));
        drop(lease);
    }
    let lease = pool.get_blocking().unwrap();
    time.advance(Duration::from_secs(1));
    drop(lease);
    let hold = pool.statistics().hold_time;
    assert_eq!(hold.count, 100);
    assert_eq!(hold.max, Duration::from_secs(1));
    let near = |d: Duration, want: Duration| d.abs_diff(want) <= want / 100;
    assert!(
        near(hold.p50(), Duration::from_millis(10)),
        "{:?}",
        hold.p50()
    );
    assert!(
        near(hold.p99(), Duration::from_millis(10)),
        "{:?}",
        hold.p99()
    );
    assert!(near(hold.quantile(1.0), Duration::from_secs(1)));
    assert_eq!(hold.mean(), Duration::from_micros(19_900));
}

/// An acquire served from the idle set counts as direct; one that waited for a create
/// (or a return) as waited.
#[test]
fn acquires_are_counted_as_direct_or_waited() {
    let (pool, _m, _) = pool_with(base());
    drop(pool.get_blocking().unwrap()); // nothing idle: waits for its create
    drop(pool.get_blocking().unwrap()); // the idle one
    drop(pool.get_blocking().unwrap());
    let s = pool.statistics();
    assert_eq!(
        (s.acquired_direct, s.acquired_waited, s.created),
        (2, 1, 1),
        "{s:?}"
    );
}

/// Leases taken and returned on several threads (each thread lends from and takes back
/// into a shard of its own) are all counted: status, statistics, leak reports; and a
/// resource cached by one thread serves another instead of a new one being created.
#[test]
fn leases_on_many_threads_are_all_counted_and_shared() {
    const THREADS: usize = 4;
    let (pool, counts, time, sink) = reporting_pool(PoolConfig {
        max_size: THREADS,
        leak_threshold: Some(Duration::from_secs(30)),
        ..base()
    });
    let held = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let go = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (pool, held, go) = (pool.clone(), held.clone(), go.clone());
            std::thread::spawn(move || {
                let lease = pool.get_blocking().unwrap();
                held.wait();
                go.wait();
                drop(lease); // into this thread's shard
                drop(pool.get_blocking().unwrap()); // again, from there
            })
        })
        .collect();
    held.wait();
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.idle),
        (THREADS, THREADS, 0)
    );
    time.advance(Duration::from_secs(31));
    pool.maintain(); // every shard's leases are looked at
    assert_eq!(leak_reports(&sink).len(), THREADS);
    go.wait();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        leak_reports(&sink).len(),
        THREADS,
        "reported again on return"
    );
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.idle),
        (THREADS, 0, THREADS)
    );
    let stats = pool.statistics();
    // The first get of each thread waited for its create; the second was direct.
    assert_eq!(stats.acquired_direct, THREADS as u64);
    assert_eq!(stats.acquired_waited, THREADS as u64);
    assert_eq!(stats.hold_time.count, 2 * THREADS as u64);
    assert_eq!(stats.hold_time.max, Duration::from_secs(31));
    assert_eq!(stats.leaks, THREADS as u64, "each lease counted once");

    // This thread takes every resource, wherever it is cached: none is created.
    let all: Vec<_> = (0..THREADS).map(|_| pool.get_blocking().unwrap()).collect();
    let mut got: Vec<u32> = all.iter().map(|l| **l).collect();
    got.sort_unstable();
    assert_eq!(got, (1..=THREADS as u32).collect::<Vec<_>>());
    assert_eq!(pool.statistics().created, THREADS as u64);
    // And a waiter is served by a return on another thread.
    let waiter = {
        let pool = pool.clone();
        std::thread::spawn(move || *pool.get_blocking().unwrap())
    };
    while pool.status().waiting == 0 {
        std::thread::yield_now();
    }
    let first = *all[0];
    drop(all);
    assert_eq!(
        waiter.join().unwrap(),
        first,
        "the first one back, handed over"
    );

    // Closing closes what every shard holds, once each.
    drop(pool);
    let mut closed = counts.closed();
    closed.sort_unstable();
    assert_eq!(closed, (1..=THREADS as u32).collect::<Vec<_>>());
}

#[test]
fn destroyed_total_sums_every_reason() {
    let mut d = tenure::pool::Destroyed::default();
    d.broken = 1;
    d.expired = 2;
    d.idle = 4;
    d.invalid = 8;
    d.reset_failed = 16;
    d.panicked = 32;
    d.resized = 64;
    d.closed = 128;
    d.discarded = 256;
    assert_eq!(d.total(), 511);
}
