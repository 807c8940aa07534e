//! Warm-up on a built pool: `warm_up().await` / `warm_up_blocking()` fill `min_idle` —
//! round after round, where one `maintain` round starts at most `max_concurrent_creates`
//! creates — and return the first create error, so a program can fail at start-up.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;

use tenure::pool::{Pool, PoolConfig, PoolError};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with};

fn five() -> PoolConfig {
    PoolConfig {
        max_size: 8,
        min_idle: 5,
        max_concurrent_creates: 2,
        ..base()
    }
}

#[test]
fn one_maintain_round_starts_at_most_max_concurrent_creates() {
    let (pool, manager, _) = pool_with(five());
    pool.maintain();
    assert_eq!((manager.created(), pool.status().idle), (2, 2));
    pool.maintain();
    pool.maintain();
    assert_eq!(pool.status().idle, 5);
}

#[test]
fn warm_up_blocking_fills_min_idle_at_once() {
    let (pool, manager, _) = pool_with(five());
    pool.warm_up_blocking().unwrap();
    assert_eq!((manager.created(), pool.status().idle), (5, 5));
    // Already warm: nothing more.
    pool.warm_up_blocking().unwrap();
    assert_eq!(manager.created(), 5);
}

#[test]
fn warm_up_blocking_returns_the_first_create_error() {
    let (pool, manager, _) = pool_with(five());
    manager.fail_creates(true);
    let e = pool.warm_up_blocking().unwrap_err();
    assert!(matches!(e, PoolError::Create(_)), "{e}");
    assert_eq!(
        e.report().to_string(),
        "creating a resource failed: connection refused"
    );
    assert_eq!(pool.status().idle, 0);
}

#[test]
fn a_pool_without_min_idle_is_warm_already() {
    let (pool, manager, _) = pool_with(base());
    pool.warm_up_blocking().unwrap();
    assert_eq!(manager.created(), 0);
}

#[test]
fn leases_out_count_toward_nothing_but_the_slots_they_take() {
    // Every slot lent: nothing more can be made, warm-up ends instead of waiting.
    let (pool, _, _) = pool_with(PoolConfig {
        max_size: 2,
        min_idle: 2,
        ..base()
    });
    let (_a, _b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    pool.warm_up_blocking().unwrap();
    assert_eq!(pool.status().in_use, 2);
}

#[test]
fn a_closed_pool_is_not_warmed() {
    let (pool, manager, _) = pool_with(five());
    drop(pool.close());
    assert!(matches!(pool.warm_up_blocking(), Err(PoolError::Closed)));
    assert_eq!(manager.created(), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn warm_up_awaits_async_creates() {
    let manager = TestManager::new_async();
    manager.create_delay(Duration::from_millis(50));
    let pool = Pool::new(
        manager.clone(),
        PoolConfig {
            maintenance_interval: None,
            ..five()
        },
    )
    .unwrap();
    pool.warm_up().await.unwrap();
    assert_eq!((manager.created(), pool.status().idle), (5, 5));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn warm_up_reports_a_create_past_its_bound() {
    let manager = TestManager::new_async();
    manager.create_delay(Duration::from_secs(60));
    let pool = Pool::new(
        manager.clone(),
        PoolConfig {
            maintenance_interval: None,
            create_timeout: Duration::from_secs(1),
            ..five()
        },
    )
    .unwrap();
    let e = pool.warm_up().await.unwrap_err();
    assert!(
        matches!(e, PoolError::CreateTimedOut(d) if d == Duration::from_secs(1)),
        "{e}"
    );
}

#[test]
fn warm_up_starts_no_create_once_one_failed() {
    // No backoff to hold the next round back: the failed round ends warm-up all the same.
    let (pool, manager, _) = pool_with(PoolConfig {
        max_concurrent_creates: 1,
        create_backoff: Duration::ZERO,
        max_create_backoff: Duration::ZERO,
        ..five()
    });
    manager.fail_creates(true);
    assert!(matches!(pool.warm_up_blocking(), Err(PoolError::Create(_))));
    assert_eq!(pool.statistics().create_failures, 1, "one create tried");
}
