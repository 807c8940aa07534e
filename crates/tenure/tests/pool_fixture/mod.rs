//! The deterministic pool the pool's rule tests share: a `TestManager`, a manual clock, no
//! background driver, no validation, lifetime, idle timeout or leak threshold unless asked.
#![allow(dead_code)] // each test binary uses what it needs

use std::sync::Arc;
use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::pool::{Pool, PoolBuilder, PoolConfig, Validation};
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::TestManager;

/// A deterministic pool: a manual clock, no background driver, no validation unless asked.
pub fn pool_with(config: PoolConfig) -> (Pool<TestManager>, TestManager, ManualClock) {
    let (builder, manager, time) = deterministic(config);
    (builder.build().unwrap(), manager, time)
}

/// [`pool_with`], reporting to a sink of its own (room for 16 reports), returned last.
pub fn reporting_pool(
    config: PoolConfig,
) -> (
    Pool<TestManager>,
    TestManager,
    ManualClock,
    Arc<CollectingSink>,
) {
    let sink = Arc::new(CollectingSink::new(16));
    let (builder, manager, time) = deterministic(config);
    let pool = builder.sink(sink.clone()).build().unwrap();
    (pool, manager, time, sink)
}

/// The builder of [`pool_with`]'s pool, its manager and the clock's hand.
fn deterministic(config: PoolConfig) -> (PoolBuilder<TestManager>, TestManager, ManualClock) {
    let manager = TestManager::new();
    let time = ManualClock::new();
    let builder = Pool::builder(manager.clone())
        .config(PoolConfig {
            maintenance_interval: None,
            ..config
        })
        .clock(time.clone());
    (builder, manager, time)
}

pub fn base() -> PoolConfig {
    PoolConfig {
        max_size: 2,
        validation: Validation::Never,
        max_lifetime: None,
        idle_timeout: None,
        leak_threshold: None,
        ..PoolConfig::default()
    }
}

pub const MIN: Duration = Duration::from_secs(60);

/// The leak reports a sink collected: the line that took each lease, whether it had come
/// back, how long it was held.
pub fn leak_reports(sink: &CollectingSink) -> Vec<(u32, bool, Duration)> {
    sink.take()
        .into_iter()
        .map(|r| match r {
            DropReport::LeaseHeldTooLong {
                site,
                returned,
                held,
                ..
            } => (site.line(), returned, held),
            other => panic!("not a leak report: {other}"),
        })
        .collect()
}
