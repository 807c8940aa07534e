//! The deterministic pool the pool's rule tests share: a `TestManager`, a manual clock, no
//! background driver, no validation, lifetime, idle timeout or leak threshold unless asked.
#![allow(dead_code)] // each test binary uses what it needs

use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::pool::{Pool, PoolConfig, Validation};
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::TestManager;

/// A deterministic pool: a manual clock, no background driver, no validation unless asked.
pub fn pool_with(config: PoolConfig) -> (Pool<TestManager>, TestManager, ManualClock) {
    let manager = TestManager::new();
    let time = ManualClock::new();
    let clock = time.clone();
    let pool = Pool::builder(manager.clone())
        .config(PoolConfig {
            maintenance_interval: None,
            ..config
        })
        .clock(clock)
        .build()
        .unwrap();
    (pool, manager, time)
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
