//! Building a pool (bad configurations and runtimes refused) and what its types show:
//! `Debug` without internals, a small `Unpin` acquire future.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::clock::ManualClock;
use tenure::pool::{BuildError, Pool, PoolConfig};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with};

#[test]
fn bad_configurations_and_runtimes_are_refused_at_build_time() {
    let m = || TestManager::new();
    for (config, what) in [
        (
            PoolConfig {
                max_size: 0,
                ..base()
            },
            "max_size",
        ),
        (
            PoolConfig {
                leak_threshold: Some(Duration::ZERO),
                ..base()
            },
            "leak_threshold",
        ),
        (
            PoolConfig {
                maintenance_interval: Some(Duration::ZERO),
                ..base()
            },
            "maintenance_interval",
        ),
    ] {
        let e = Pool::new(m(), config).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
    }
    let no_timers = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let e = Pool::builder(m())
        .runtime(no_timers.handle().clone())
        .build()
        .unwrap_err();
    assert_eq!(e, BuildError::NoTimers);
}

#[test]
fn a_lease_debugs_as_its_resource_and_site() {
    let (pool, _, _) = pool_with(base());
    let lease = pool.get_blocking().unwrap();
    let text = format!("{lease:?}");
    assert!(
        text.starts_with("Lease { resource: Some(1), site: "),
        "{text}"
    );
    assert!(text.contains("pool_build_and_debug.rs"), "{text}");
}

#[test]
fn acquire_is_unpin_and_small() {
    fn unpin<T: Unpin>() {}
    unpin::<tenure::pool::Acquire<TestManager>>();
    assert!(std::mem::size_of::<tenure::pool::Acquire<TestManager>>() <= 96);
}

#[test]
fn clocks_debug_without_their_internals() {
    // The pool reads `tenure::clock`'s clocks (there is no `pool::Clock` of its own any
    // more): the builder names the one it holds, the manual clock shows only its time.
    let time = ManualClock::new();
    let builder = Pool::builder(TestManager::new());
    assert!(format!("{builder:?}").contains("clock: TscClock"));
    let builder = builder.clock(time.clone());
    assert!(format!("{builder:?}").contains("clock: a given Clock"));
    assert!(format!("{time:?}").starts_with("ManualClock { now_ns: "));
}

#[test]
fn debug_output_names_what_it_shows() {
    let (pool, _m, _time) = pool_with(base());
    let shown = format!("{pool:?}");
    assert!(
        shown.starts_with("Pool") && shown.contains("max_size"),
        "{shown}"
    );
    let acquire = pool.get();
    let shown = format!("{acquire:?}");
    assert!(
        shown.contains("not polled yet") && shown.contains("site"),
        "{shown}"
    );
    let builder = Pool::builder(TestManager::new());
    let shown = format!("{builder:?}");
    assert!(
        shown.starts_with("PoolBuilder") && shown.contains("runtime"),
        "{shown}"
    );
}
