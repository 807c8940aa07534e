//! Checks before reuse: validation never, always or after an idle window; a resource that
//! fails validation or its reset is closed and replaced, never lent.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::pool::{Pool, PoolConfig, Validation};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with};

#[test]
fn validation_never_always_and_only_after_the_idle_window() {
    let (pool, m, _) = pool_with(PoolConfig {
        validation: Validation::Never,
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    assert_eq!(m.validated(), 0);

    let (pool, m, _) = pool_with(PoolConfig {
        validation: Validation::Always,
        ..base()
    });
    drop(pool.get_blocking().unwrap()); // created: not validated
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    assert_eq!(m.validated(), 2);

    let window = Duration::from_millis(500);
    let (pool, m, time) = pool_with(PoolConfig {
        validation: Validation::IdleLongerThan(window),
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    time.advance(window);
    drop(pool.get_blocking().unwrap());
    assert_eq!(m.validated(), 0, "idle exactly the window");
    time.advance(window + Duration::from_millis(1));
    drop(pool.get_blocking().unwrap());
    assert_eq!(m.validated(), 1, "idle past the window");
}

#[test]
fn a_resource_that_fails_validation_is_closed_and_replaced() {
    let (pool, m, _) = pool_with(PoolConfig {
        validation: Validation::Always,
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    m.fail_validations(true);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 2, "the invalid one was replaced by a new one");
    assert_eq!(m.closed(), [1]);
    assert_eq!(pool.statistics().destroyed.invalid, 1);
}

/// A manager whose resets all fail: every returned resource is retired as `reset_failed`
/// and closed, never reused.
#[test]
fn a_failed_reset_retires_and_closes_the_resource() {
    let m = TestManager::new();
    m.fail_resets(true);
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            maintenance_interval: None,
            ..PoolConfig::default()
        },
    )
    .unwrap();
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    let s = pool.statistics();
    assert_eq!(
        (s.created, s.destroyed.reset_failed, s.destroyed.total()),
        (2, 2, 2)
    );
    assert_eq!(m.closed(), [1, 2], "each closed, none reused");
    assert_eq!(pool.status().size, 0);
}
