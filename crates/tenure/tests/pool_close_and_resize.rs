//! The end of resources and of the pool: close (waiters woken, a timeout that says whether
//! all were closed, failed closes reported), the last handle closing it, shrinking, a
//! resource still closing, a panicking `retain`.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::pool::{Lease, Pool, PoolConfig, PoolError};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with, reporting_pool};

#[test]
fn the_last_handle_dropped_closes_idle_resources_now_and_lent_ones_on_return() {
    let (pool, m, _) = pool_with(base());
    let a = pool.get_blocking().unwrap();
    drop(pool.get_blocking().unwrap());
    let other = pool.clone();
    drop(pool);
    assert!(m.closed().is_empty(), "another handle is alive");
    drop(other);
    assert_eq!(m.closed(), [2], "the idle one at once");
    drop(a);
    assert_eq!(m.closed(), [2, 1], "the lent one when it came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_woken_with_closed_when_the_pool_closes() {
    let (pool, _, _) = pool_with(PoolConfig {
        max_size: 1,
        acquire_timeout: Duration::from_secs(600),
        ..base()
    });
    let held = pool.get().await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.get().await.map(drop) })
        })
        .collect();
    while pool.status().waiting < 3 {
        tokio::task::yield_now().await;
    }
    let closing = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.close().await })
    };
    for w in waiters {
        // Woken at once (bounded here so that a lost wake-up fails instead of hanging).
        let r = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a waiter was not woken by the close");
        assert!(matches!(r.unwrap(), Err(PoolError::Closed)));
    }
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .expect("close resolves once the lease is back")
        .unwrap();
}

#[tokio::test]
async fn close_timeout_says_whether_everything_was_closed() {
    let pool = Pool::new(
        TestManager::new_async(),
        PoolConfig {
            max_size: 2,
            ..base()
        },
    )
    .unwrap();
    let held = pool.get().await.unwrap();
    drop(pool.get().await.unwrap());
    assert!(
        !pool.close_timeout(Duration::from_millis(20)).await,
        "a lease is still out"
    );
    drop(held);
    assert!(
        pool.close_timeout(Duration::from_secs(5)).await,
        "all closed"
    );
}

/// A failed close is reported to the sink with what was being closed: a resource retired
/// while the pool runs, or one closed because the pool closed.
#[test]
fn a_failed_close_is_reported_saying_why_the_resource_was_closed() {
    let (pool, manager, _, sink) = reporting_pool(base());
    manager.fail_closes(true);
    let (a, b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    Lease::discard(a);
    drop(b);
    assert!(pool.close_blocking(Duration::from_secs(1)));
    let contexts: Vec<String> = sink
        .take()
        .iter()
        .map(|r| {
            let cause = std::error::Error::source(r.error().unwrap()).unwrap();
            format!("{} | {cause}", r.context())
        })
        .collect();
    assert_eq!(
        contexts,
        [
            "pool: closing a retired resource | socket already reset",
            "pool: closing a resource (pool closed) | socket already reset",
        ]
    );
    assert_eq!(pool.statistics().close_failures, 2);
    assert_eq!(manager.closed(), [1, 2]);
}

#[test]
fn shrinking_retires_idle_extras_at_once_and_lent_ones_on_return() {
    let (pool, m, _time) = pool_with(PoolConfig {
        max_size: 3,
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    let mut leases = leases.into_iter();
    drop(leases.next()); // idle: retired at once by the resize below
    pool.resize(1).unwrap();
    assert_eq!(pool.statistics().destroyed.resized, 1);
    drop(leases.next()); // comes back over the new size: retired, not reused
    let s = pool.statistics();
    assert_eq!((s.destroyed.resized, s.destroyed.total()), (2, 2));
    assert_eq!(m.closed().len(), 2);
    drop(leases);
    assert_eq!(pool.status().size, 1, "the one within the new size stays");
    assert_eq!(pool.status().idle, 1);
}

/// A resource still being closed counts in `size` until its close ends, but does not make
/// a returned resource look like an extra beyond `max_size`.
#[tokio::test(start_paused = true)]
async fn a_resource_still_closing_does_not_push_a_returned_one_out() {
    let m = TestManager::new_async();
    m.close_delay(Duration::from_millis(100));
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 2,
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    Lease::discard(a);
    tokio::task::yield_now().await;
    assert_eq!(pool.status().size, 2, "its close has not ended");
    drop(b);
    let status = pool.status();
    assert_eq!((status.idle, status.size), (1, 2), "{status:?}");
    assert_eq!(pool.statistics().destroyed.resized, 0);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let status = pool.status();
    assert_eq!((status.idle, status.size), (1, 1), "{status:?}");
    assert_eq!(*pool.get().await.unwrap(), 2, "the returned one is reused");
}

#[test]
fn a_panicking_retain_predicate_loses_no_resource() {
    let (pool, m, _time) = pool_with(PoolConfig {
        max_size: 3,
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    let mut seen = 0;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.retain(|_, _| {
            seen += 1;
            match seen {
                1 => false, // retired
                2 => panic!("a predicate that panics"),
                _ => true,
            }
        })
    }));
    assert!(panicked.is_err(), "the panic reaches the caller");
    let s = pool.status();
    assert_eq!((s.size, s.idle), (2, 2), "the unjudged ones stay idle");
    assert_eq!(pool.statistics().destroyed.discarded, 1);
    assert_eq!(m.closed().len(), 1);
    assert!(pool.close_blocking(Duration::from_secs(5)));
    assert_eq!(m.closed().len(), 3, "every resource closed once");
}
