//! Every bound on waiting: the acquire timeout (async on the pool's one timer, blocking on
//! the thread's park, without a runtime on the waiter's own timer), the create timeout and
//! the return timeout of a reset; each says how long it waited and frees what it held.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::Arc;
use std::time::Duration;
use tenure::pool::{Pool, PoolConfig, PoolError};
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with};

#[tokio::test(start_paused = true)]
async fn an_acquire_timeout_says_how_long_it_waited_and_who_holds_what() {
    let pool = Pool::new(
        TestManager::new_async(),
        PoolConfig {
            max_size: 1,
            acquire_timeout: Duration::from_secs(2),
            ..base()
        },
    )
    .unwrap();
    let _held = pool.get().await.unwrap();
    let started = tokio::time::Instant::now();
    let e = pool.get().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(
        e.to_string(),
        "timed out after 2s waiting for a resource (1 of 1 in use, 0 idle, 1 waiting)"
    );
    assert_eq!(pool.status().waiting, 0, "it left the line");
    assert_eq!(pool.statistics().timeouts, 1);
}

/// The pool's one timer serves waiters of different timeouts: a later waiter with a
/// shorter timeout gives up first, each exactly at its own deadline.
#[tokio::test(start_paused = true)]
async fn waiters_with_different_timeouts_each_give_up_at_their_own_deadline() {
    let pool = Pool::new(
        TestManager::new_async(),
        PoolConfig {
            max_size: 1,
            ..base()
        },
    )
    .unwrap();
    let _held = pool.get().await.unwrap();
    let started = tokio::time::Instant::now();
    let long = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let e = pool.get_timeout(Duration::from_secs(10)).await.unwrap_err();
            (started.elapsed(), e.to_string())
        })
    };
    tokio::task::yield_now().await;
    let short = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let e = pool.get_timeout(Duration::from_secs(1)).await.unwrap_err();
            (started.elapsed(), e.to_string())
        })
    };
    let (at, text) = short.await.unwrap();
    assert_eq!(at, Duration::from_secs(1));
    assert_eq!(
        text,
        "timed out after 1s waiting for a resource (1 of 1 in use, 0 idle, 2 waiting)"
    );
    let (at, text) = long.await.unwrap();
    assert_eq!(at, Duration::from_secs(10));
    assert!(text.starts_with("timed out after 10s"), "{text}");
    assert_eq!(pool.statistics().timeouts, 2);
    assert_eq!(pool.status().waiting, 0);
}

#[test]
fn a_blocking_acquire_times_out_counted_and_out_of_line() {
    let (pool, _m, _time) = pool_with(PoolConfig {
        max_size: 1,
        ..base()
    });
    let _held = pool.get_blocking().unwrap();
    let e = pool
        .get_blocking_timeout(Duration::from_millis(20))
        .unwrap_err();
    assert!(matches!(e, PoolError::Timeout { .. }), "{e}");
    assert_eq!(pool.status().waiting, 0, "it left the line");
    assert_eq!(pool.statistics().timeouts, 1);
}

/// A pool built outside any runtime has no timer task: an async waiter there bounds its
/// own wait.
#[test]
fn an_async_waiter_of_a_pool_without_a_runtime_still_times_out() {
    let (pool, _m, _time) = pool_with(PoolConfig {
        max_size: 1,
        ..base()
    });
    let _held = pool.get_blocking().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt
        .block_on(pool.get_timeout(Duration::from_millis(20)))
        .unwrap_err();
    assert!(matches!(e, PoolError::Timeout { .. }), "{e}");
    assert_eq!(pool.status().waiting, 0, "it left the line");
    assert_eq!(pool.statistics().timeouts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_create_past_create_timeout_fails_its_caller_and_frees_the_slot() {
    let m = TestManager::new_async();
    m.create_delay(Duration::from_millis(60_000));
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 1,
            create_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            ..base()
        },
    )
    .unwrap();
    let started = tokio::time::Instant::now();
    let e = pool.get().await.unwrap_err();
    assert!(
        matches!(e, PoolError::CreateTimedOut(d) if d == Duration::from_secs(5)),
        "{e}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(pool.status().size, 0, "the slot is free");
}

#[tokio::test(start_paused = true)]
async fn a_reset_past_return_timeout_is_abandoned_reported_and_its_slot_freed() {
    let m = TestManager::new_async();
    m.hang_resets(true);
    let sink = Arc::new(CollectingSink::new(16));
    let pool = Pool::builder(m.clone())
        .config(PoolConfig {
            max_size: 1,
            return_timeout: Duration::from_secs(5),
            ..base()
        })
        .sink(sink.clone())
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    assert_eq!(
        pool.status().size,
        1,
        "the slot stays taken while the reset runs"
    );
    // A waiter meanwhile gets the next resource only once the slot is free.
    let started = tokio::time::Instant::now();
    m.hang_resets(false);
    let lease = pool.get().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(
        *lease, 2,
        "a new resource: the hung one was dropped, not reused"
    );
    assert!(m.closed().is_empty(), "dropped with its work, not closed");
    assert_eq!(pool.statistics().abandoned, 1);
    let reports = sink.take();
    assert!(
        matches!(&reports[..], [DropReport::Cleanup { error, .. }] if error.kind() == tenure::ErrorKind::Timeout),
        "{reports:?}"
    );
}
