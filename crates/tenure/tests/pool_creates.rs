//! Failed creates: a growing, jittered backoff on the pool's own clock; waiters failed with
//! the cause when nothing else can serve them, kept waiting while a create is under way;
//! no more creates at once than `max_concurrent_creates`.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::clock::ManualClock;
use tenure::pool::{Lease, Pool, PoolConfig, PoolError};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with};

#[test]
fn a_failed_create_holds_the_next_one_back_by_a_growing_backoff() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_size: 1,
        create_backoff: Duration::from_millis(100),
        max_create_backoff: Duration::from_millis(400),
        acquire_timeout: Duration::from_millis(1),
        ..base()
    });
    m.fail_creates(true);
    let creates = || pool.statistics().create_failures;
    assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
    assert_eq!(creates(), 1);
    // Within the backoff: no new create, a prompt typed error with the cause.
    match pool.get_blocking() {
        Err(PoolError::Unavailable { cause, retry_in }) => {
            assert_eq!(cause.to_string(), "connection refused");
            assert!(retry_in <= Duration::from_millis(100), "{retry_in:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(creates(), 1, "held back");
    // Past it (100 ms less up to 25 % jitter): one more try, which fails; the next wait
    // is longer (200 ms less jitter).
    time.advance(Duration::from_millis(100));
    assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
    assert_eq!(creates(), 2);
    time.advance(Duration::from_millis(100));
    assert!(matches!(
        pool.get_blocking(),
        Err(PoolError::Unavailable { .. })
    ));
    assert_eq!(creates(), 2, "the second wait is longer than the first");
    time.advance(Duration::from_millis(100));
    assert!(pool.get_blocking().is_err());
    assert_eq!(creates(), 3);
    // Capped at max_create_backoff: after a long outage, tries come every <= 400 ms.
    for _ in 0..5 {
        time.advance(Duration::from_millis(400));
        assert!(pool.get_blocking().is_err());
    }
    assert_eq!(creates(), 8);
    // The backend is back: the next try succeeds and the backoff resets.
    m.fail_creates(false);
    time.advance(Duration::from_millis(400));
    assert_eq!(*pool.get_blocking().unwrap(), 1);
}

/// The backoff after a failed create is spread per pool history (up to 25 % less than the
/// base), so that pools that failed together do not retry together.
#[test]
fn the_create_backoff_is_jittered_within_a_quarter() {
    let mut waits = Vec::new();
    for created in 0..8 {
        let (pool, m, _time) = pool_with(PoolConfig {
            max_size: 10,
            create_backoff: Duration::from_millis(100),
            acquire_timeout: Duration::from_millis(1),
            ..base()
        });
        // Created, then taken out of the pool: its history differs, nothing is left in it.
        for _ in 0..created {
            Lease::detach(pool.get_blocking().unwrap());
        }
        m.fail_creates(true);
        assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
        match pool.get_blocking() {
            Err(PoolError::Unavailable { retry_in, .. }) => waits.push(retry_in),
            other => panic!("{other:?}"),
        }
    }
    for w in &waits {
        assert!(
            (Duration::from_millis(75)..=Duration::from_millis(100)).contains(w),
            "{waits:?}"
        );
    }
    let mut distinct = waits.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 3, "spread: {waits:?}");
}

/// The retry after a failed create runs by the pool's clock: when that clock (here a
/// manual one) has not reached the end of the backoff when tokio's timer fires, the retry
/// waits again instead of being dropped, and a waiter still in line is served by it.
#[tokio::test(start_paused = true)]
async fn a_create_retry_waits_for_the_pools_own_clock() {
    let m = TestManager::new_async();
    let time = ManualClock::new();
    let clock = time.clone();
    let pool = Pool::builder(m.clone())
        .config(PoolConfig {
            max_size: 2,
            max_concurrent_creates: 1,
            create_backoff: Duration::from_millis(100),
            acquire_timeout: Duration::from_secs(60),
            maintenance_interval: None,
            ..base()
        })
        .clock(clock)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap(); // something is lent: waiters keep waiting
    m.fail_creates(true);
    let spawn_get = || {
        let p = pool.clone();
        tokio::spawn(async move { p.get().await.map(|l| *l) })
    };
    let (first, second) = (spawn_get(), spawn_get());
    assert!(matches!(first.await.unwrap(), Err(PoolError::Create(_))));
    assert_eq!(pool.status().waiting, 1, "the second still waits");
    m.fail_creates(false);
    // tokio's timer passes the backoff, the pool's clock does not: no create yet.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(m.created(), 1);
    // Now the pool's clock passes it too: the retry, armed again, creates.
    time.advance(Duration::from_millis(150));
    let got = tokio::time::timeout(Duration::from_secs(1), second)
        .await
        .expect("the retry was dropped")
        .unwrap();
    assert_eq!(got.unwrap(), 2, "served by the retried create");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_backend_goes_down_every_waiter_fails_at_once_with_the_cause() {
    let m = TestManager::new_async();
    m.fail_creates(true);
    m.create_delay(Duration::from_millis(50));
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 1,
            max_concurrent_creates: 1,
            acquire_timeout: Duration::from_secs(600),
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.get().await.map(drop) })
        })
        .collect();
    let mut kinds = Vec::new();
    for w in waiters {
        let r = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a waiter was not woken when the create failed");
        kinds.push(match r.unwrap() {
            Err(PoolError::Create(e)) | Err(PoolError::Unavailable { cause: e, .. }) => {
                e.to_string()
            }
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(kinds, ["connection refused"; 3]);
    assert_eq!(
        pool.statistics().create_failures,
        1,
        "one create for three callers"
    );
}

/// A failed create fails its waiter, but the next waiter keeps waiting while another create
/// is still under way — and is served by it — instead of failing as "unavailable".
#[tokio::test(start_paused = true)]
async fn a_create_still_under_way_keeps_the_next_waiter_waiting_after_another_fails() {
    let m = TestManager::new_async();
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 2,
            max_concurrent_creates: 2,
            create_backoff: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(60),
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    // The first create fails after 10 ms; the second succeeds after 100 ms.
    m.fail_creates(true);
    m.create_delay(Duration::from_millis(10));
    let p = pool.clone();
    let first = tokio::spawn(async move { p.get().await.map(|l| *l) });
    tokio::task::yield_now().await;
    m.fail_creates(false);
    m.create_delay(Duration::from_millis(100));
    let p = pool.clone();
    let second = tokio::spawn(async move { p.get().await.map(|l| *l) });
    tokio::task::yield_now().await;
    assert_eq!(pool.status().waiting, 2);
    assert!(matches!(first.await.unwrap(), Err(PoolError::Create(_))));
    // Within the backoff, with the second create still coming: a newcomer waits too.
    let p = pool.clone();
    let third = tokio::spawn(async move { p.get_timeout(Duration::from_secs(1)).await.map(drop) });
    tokio::task::yield_now().await;
    assert_eq!(
        second.await.unwrap().unwrap(),
        1,
        "served by the create under way"
    );
    assert!(
        third.await.unwrap().is_ok(),
        "served when the second returned"
    );
    assert_eq!(pool.statistics().create_failures, 1);
}

/// Demand beyond `max_concurrent_creates` waits for a create to finish before the next
/// one starts, even with room in `max_size`.
#[tokio::test(start_paused = true)]
async fn no_more_creates_run_at_once_than_max_concurrent_creates() {
    let m = TestManager::new_async();
    m.create_delay(Duration::from_millis(100));
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 4,
            max_concurrent_creates: 2,
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let p = pool.clone();
            tokio::spawn(async move { p.get().await })
        })
        .collect();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(m.created(), 2, "two creates at once");
    assert_eq!(pool.status().waiting, 4);
    tokio::time::sleep(Duration::from_millis(101)).await;
    assert_eq!(m.created(), 4, "two more once those finished");
    let mut leases = Vec::new();
    for w in waiters {
        leases.push(w.await.unwrap().unwrap());
    }
    let mut got: Vec<u32> = leases.iter().map(|l| **l).collect();
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4]);
}
