//! A resource's lifetime and idle time, on a manual clock: past `max_lifetime` (jittered)
//! or `idle_timeout` it is retired — at checkout, at return, by maintenance, from whichever
//! thread's shard holds it; `maintain()` reads the pool's own (manual) clock.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::pool::PoolConfig;

mod pool_fixture;
use pool_fixture::{base, pool_with, MIN};

#[test]
fn an_expired_resource_is_retired_at_checkout_at_return_and_by_maintenance() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_lifetime: Some(10 * MIN),
        ..base()
    });
    // At checkout: an idle resource past its lifetime is closed, a new one lent.
    drop(pool.get_blocking().unwrap()); // #1
    time.advance(10 * MIN);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 2);
    assert_eq!(m.closed(), [1]);
    // At return: a lease whose resource expired while out is closed, not made idle.
    time.advance(10 * MIN);
    drop(lease);
    assert_eq!(m.closed(), [1, 2]);
    assert_eq!(pool.status().idle, 0);
    // By maintenance: an idle one past its lifetime.
    drop(pool.get_blocking().unwrap()); // #3
    pool.maintain();
    assert_eq!(pool.status().idle, 1, "not expired yet");
    time.advance(10 * MIN);
    pool.maintain();
    assert_eq!(m.closed(), [1, 2, 3]);
    assert_eq!(pool.statistics().destroyed.expired, 3);
    assert_eq!(pool.status().size, 0);
}

#[test]
fn lifetimes_are_jittered_by_at_most_two_and_a_half_percent() {
    let life = Duration::from_secs(1000);
    let (pool, m, time) = pool_with(PoolConfig {
        max_size: 40,
        max_lifetime: Some(life),
        ..base()
    });
    let leases: Vec<_> = (0..40).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    // Nothing expires before 97.5 % of the lifetime...
    time.advance(life * 975 / 1000 - Duration::from_millis(1));
    pool.maintain();
    assert!(m.closed().is_empty(), "expired early: {:?}", m.closed());
    // ...some (not all) expire within the jitter window, all of them at 100 %.
    time.advance(life * 15 / 1000);
    pool.maintain();
    let some = m.closed().len();
    assert!(
        some > 0 && some < 40,
        "{some} of 40 expired in the middle of the window"
    );
    time.advance(life);
    pool.maintain();
    assert_eq!(m.closed().len(), 40);
}

#[test]
fn an_idle_timeout_retires_idle_resources_but_keeps_min_idle() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_size: 3,
        min_idle: 1,
        idle_timeout: Some(MIN),
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    assert_eq!(pool.status().idle, 3);
    time.advance(MIN - Duration::from_millis(1));
    pool.maintain();
    assert_eq!(pool.status().idle, 3, "not idle long enough yet");
    time.advance(Duration::from_millis(1));
    pool.maintain();
    assert_eq!(pool.status().idle, 1, "min_idle is kept");
    assert_eq!(m.closed().len(), 2);
    assert_eq!(pool.statistics().destroyed.idle, 2);
    // At checkout, a resource idle too long is not lent (min_idle has no say there), and
    // min_idle is made up again by the next maintenance.
    time.advance(MIN);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 4, "the stale one was retired, a new one created");
    assert_eq!(m.closed().len(), 3);
    pool.maintain();
    assert_eq!(pool.status().idle, 1, "min_idle made up");
}

/// A resource resting in one thread's shard is checked like any other: past its lifetime
/// another thread's acquire retires it rather than lending it.
#[test]
fn an_expired_resource_cached_by_another_thread_is_retired_not_lent() {
    let (pool, counts, time) = pool_with(PoolConfig {
        max_size: 1,
        max_lifetime: Some(MIN),
        ..base()
    });
    {
        let pool = pool.clone();
        std::thread::spawn(move || drop(pool.get_blocking().unwrap()))
            .join()
            .unwrap();
    }
    time.advance(2 * MIN);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 2, "a new one");
    assert_eq!(counts.closed(), [1]);
    assert_eq!(pool.statistics().destroyed.expired, 1);
}

/// `maintain()` reads the pool's own clock: moved past the lifetime, one round retires.
#[test]
fn maintain_reads_the_pools_own_clock() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_lifetime: Some(30 * MIN),
        maintenance_interval: None,
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    time.advance(29 * MIN);
    pool.maintain();
    assert!(m.closed().is_empty(), "not expired at 29 min");
    time.advance(2 * MIN);
    pool.maintain();
    assert_eq!(m.closed(), [1], "expired at 31 min");
}
