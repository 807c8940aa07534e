//! `retain` sees what a user decides by — each idle resource's age, idle time and times
//! lent, as of the pool's clock — and says how many it kept and retired.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;

use tenure::pool::{PoolConfig, ResourceMetrics, Retained};

mod pool_fixture;
use pool_fixture::{base, pool_with};

#[test]
fn retain_sees_age_idle_time_and_times_lent() {
    let (pool, _, time) = pool_with(PoolConfig {
        max_size: 2,
        ..base()
    });
    // Resource 1 and 2 made at 0 s; 1 lent three times, the last back at 10 s.
    let (one, two) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    assert_eq!((*one, *two), (1, 2));
    drop(two);
    for _ in 0..2 {
        drop(one_back(&pool));
    }
    time.advance(Duration::from_secs(10));
    drop(one);
    time.advance(Duration::from_secs(5));
    let mut seen = Vec::new();
    let tally = pool.retain(|&n, m| {
        seen.push((n, m));
        true
    });
    assert_eq!(tally, retained(2, 0));
    seen.sort_by_key(|&(n, _)| n);
    let metrics = |age: u64, idle: u64, lent: u64| {
        let mut m = ResourceMetrics::default();
        m.age = Duration::from_secs(age);
        m.idle = Duration::from_secs(idle);
        m.lent = lent;
        m
    };
    assert_eq!(seen, [(1, metrics(15, 5, 1)), (2, metrics(15, 15, 3))]);

    fn one_back(pool: &tenure::pool::Pool<tenure::testing::TestManager>) -> impl Drop {
        // The idle one (2) each time: 1 is still held.
        let lease = pool.get_blocking().unwrap();
        assert_eq!(*lease, 2);
        lease
    }
}

fn retained(kept: usize, retired: usize) -> Retained {
    let mut r = Retained::default();
    r.kept = kept;
    r.retired = retired;
    r
}

#[test]
fn retain_says_how_many_it_kept_and_retired() {
    let (pool, manager, _) = pool_with(PoolConfig {
        max_size: 3,
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    assert_eq!(pool.retain(|&n, _| n == 2), retained(1, 2));
    assert_eq!(pool.status().idle, 1);
    assert_eq!(pool.statistics().destroyed.discarded, 2);
    let mut closed = manager.closed();
    closed.sort();
    assert_eq!(closed, [1, 3]);
    // Nothing idle: nothing to judge.
    let _held = pool.get_blocking().unwrap();
    assert_eq!(pool.retain(|_, _| false), retained(0, 0));
}
