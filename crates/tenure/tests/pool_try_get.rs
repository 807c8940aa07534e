//! `try_get` never waits: an idle resource that needs no check under the validation
//! policy, at once, or `PoolError::WouldWait` at once — it starts no create and no check,
//! and does not pass callers already in line.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;

use tenure::pool::{PoolConfig, PoolError, Validation};

mod pool_fixture;
use pool_fixture::{base, pool_with};

fn would_wait<T>(r: Result<T, PoolError<std::io::Error>>) -> tenure::pool::Status {
    match r {
        Err(PoolError::WouldWait { status }) => status,
        Err(e) => panic!("not WouldWait: {e}"),
        Ok(_) => panic!("lent"),
    }
}

#[test]
fn an_empty_pool_says_so_at_once_and_creates_nothing() {
    let (pool, manager, _) = pool_with(base());
    let status = would_wait(pool.try_get());
    assert_eq!((status.size, status.creating), (0, 0));
    pool.maintain();
    assert_eq!(manager.created(), 0, "no create was started for it");
    assert_eq!(pool.status().size, 0);
    assert_eq!(
        would_wait(pool.try_get()).to_string(),
        "0 of 2 in use, 0 idle, 0 waiting"
    );
}

#[test]
fn an_idle_resource_that_needs_no_check_is_lent_at_once() {
    let (pool, manager, _) = pool_with(base());
    drop(pool.get_blocking().unwrap());
    let lease = pool.try_get().unwrap();
    assert_eq!(*lease, 1);
    assert_eq!(pool.status().in_use, 1);
    // The other slot is free but nothing idle: no create for a try.
    would_wait(pool.try_get());
    assert_eq!(manager.created(), 1);
    drop(lease);
    assert_eq!(pool.statistics().acquired_direct, 1);
}

#[test]
fn an_idle_resource_the_policy_would_check_is_not_checked_nor_lent() {
    let (pool, manager, time) = pool_with(PoolConfig {
        validation: Validation::IdleLongerThan(Duration::from_secs(1)),
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    time.advance(Duration::from_secs(2));
    let status = would_wait(pool.try_get());
    assert_eq!((status.idle, status.checking), (1, 0));
    assert_eq!(manager.validated(), 0, "no check was started");
    assert_eq!(pool.status().idle, 1, "still idle, for a get to check");
    // A get checks it and lends it; back at once, it needs no check for a while.
    drop(pool.get_blocking().unwrap());
    assert_eq!(manager.validated(), 1);
    assert_eq!(*pool.try_get().unwrap(), 1);
    assert_eq!(manager.validated(), 1);
}

#[test]
fn validation_always_means_try_get_never_lends() {
    let (pool, manager, _) = pool_with(PoolConfig {
        validation: Validation::Always,
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    would_wait(pool.try_get());
    assert_eq!(manager.validated(), 0);
}

#[test]
fn expired_idle_resources_are_retired_on_the_way_and_nothing_is_created() {
    let (pool, manager, time) = pool_with(PoolConfig {
        idle_timeout: Some(Duration::from_secs(60)),
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    time.advance(Duration::from_secs(61));
    would_wait(pool.try_get());
    assert_eq!(pool.statistics().destroyed.idle, 1);
    assert_eq!(manager.created(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn callers_in_line_come_first() {
    let (pool, _, _) = pool_with(PoolConfig {
        max_size: 1,
        ..base()
    });
    let held = pool.get().await.unwrap();
    let mut waiting = Box::pin(pool.get());
    assert!(futures::poll!(waiting.as_mut()).is_pending());
    assert_eq!(would_wait(pool.try_get()).waiting, 1);
    drop(held); // handed to the caller in line, not left for a try
    would_wait(pool.try_get());
    assert_eq!(*waiting.await.unwrap(), 1);
}

#[test]
fn a_closed_pool_says_closed() {
    let (pool, _, _) = pool_with(base());
    drop(pool.get_blocking().unwrap());
    drop(pool.close()); // closed at the call
    assert!(matches!(pool.try_get(), Err(PoolError::Closed)));
}
