//! Feature `metrics`: a pool's figures through the `metrics` facade, labelled
//! `pool = <PoolConfig::name>`.
//!
//! | name | kind | what |
//! |---|---|---|
//! | `tenure_pool_size`, `_idle`, `_in_use`, `_waiting`, `_max_size` | gauge | [`Status`](super::Status), at every maintenance round |
//! | `tenure_pool_acquired_total` | counter | acquires served (direct and waited) |
//! | `tenure_pool_timeouts_total`, `_refused_total`, `_created_total`, `_create_failures_total`, `_destroyed_total`, `_close_failures_total`, `_abandoned_total`, `_leaks_total` | counter | [`Statistics`](super::Statistics), at every maintenance round |
//! | `tenure_pool_wait_seconds` | histogram | each waited acquire's wait |
//! | `tenure_pool_hold_seconds` | histogram | each lease's hold time |
//!
//! Handles are taken from the recorder installed when the pool is built: install the
//! exporter first.

use std::time::Duration;

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

use super::error::Status;
use super::stats::Statistics;

pub(super) struct Handles {
    size: Gauge,
    idle: Gauge,
    in_use: Gauge,
    waiting: Gauge,
    max_size: Gauge,
    acquired: Counter,
    timeouts: Counter,
    refused: Counter,
    created: Counter,
    create_failures: Counter,
    destroyed: Counter,
    close_failures: Counter,
    abandoned: Counter,
    leaks: Counter,
    wait: Histogram,
    hold: Histogram,
}

impl Handles {
    pub(super) fn new(name: &str) -> Self {
        let name = || name.to_owned();
        Handles {
            size: gauge!("tenure_pool_size", "pool" => name()),
            idle: gauge!("tenure_pool_idle", "pool" => name()),
            in_use: gauge!("tenure_pool_in_use", "pool" => name()),
            waiting: gauge!("tenure_pool_waiting", "pool" => name()),
            max_size: gauge!("tenure_pool_max_size", "pool" => name()),
            acquired: counter!("tenure_pool_acquired_total", "pool" => name()),
            timeouts: counter!("tenure_pool_timeouts_total", "pool" => name()),
            refused: counter!("tenure_pool_refused_total", "pool" => name()),
            created: counter!("tenure_pool_created_total", "pool" => name()),
            create_failures: counter!("tenure_pool_create_failures_total", "pool" => name()),
            destroyed: counter!("tenure_pool_destroyed_total", "pool" => name()),
            close_failures: counter!("tenure_pool_close_failures_total", "pool" => name()),
            abandoned: counter!("tenure_pool_abandoned_total", "pool" => name()),
            leaks: counter!("tenure_pool_leaks_total", "pool" => name()),
            wait: histogram!("tenure_pool_wait_seconds", "pool" => name()),
            hold: histogram!("tenure_pool_hold_seconds", "pool" => name()),
        }
    }

    pub(super) fn wait(&self, d: Duration) {
        self.wait.record(d.as_secs_f64());
    }

    pub(super) fn hold(&self, d: Duration) {
        self.hold.record(d.as_secs_f64());
    }

    /// Publishes the gauges and the counters' totals.
    pub(super) fn publish(&self, status: &Status, stats: &Statistics) {
        self.size.set(status.size as f64);
        self.idle.set(status.idle as f64);
        self.in_use.set(status.in_use as f64);
        self.waiting.set(status.waiting as f64);
        self.max_size.set(status.max_size as f64);
        self.acquired
            .absolute(stats.acquired_direct + stats.acquired_waited);
        self.timeouts.absolute(stats.timeouts);
        self.refused.absolute(stats.refused);
        self.created.absolute(stats.created);
        self.create_failures.absolute(stats.create_failures);
        self.destroyed.absolute(stats.destroyed.total());
        self.close_failures.absolute(stats.close_failures);
        self.abandoned.absolute(stats.abandoned);
        self.leaks.absolute(stats.leaks);
    }
}
