//! [`Statistics`]: a pool's counters and durations; [`Retire`], why a resource was retired
//! (what [`Destroyed`] counts).

use std::time::Duration;

use crate::histogram::LogHistogram;

/// Why a resource is retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retire {
    Broken,
    Expired,
    IdleTimeout,
    Invalid,
    ResetFailed,
    Panicked,
    Resized,
    Closed,
    Discarded,
}

/// Counters and durations of a pool, since it was built.
///
/// ```
/// # use tenure::pool::{from_fn, Pool, PoolConfig};
/// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
/// let pool = Pool::new(manager, PoolConfig::default())?;
/// drop(pool.get_blocking()?);
/// let stats = pool.statistics();
/// assert_eq!((stats.created, stats.acquired_waited), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Statistics {
    /// Acquires served at once from an idle resource.
    pub acquired_direct: u64,
    /// Acquires that waited (for a create, a validation or a returned resource).
    pub acquired_waited: u64,
    /// Acquires that timed out.
    pub timeouts: u64,
    /// Acquires refused because `max_waiters` callers already waited.
    pub refused: u64,
    /// Resources created.
    pub created: u64,
    /// Creates that failed or timed out.
    pub create_failures: u64,
    /// Resources retired, by reason.
    pub destroyed: Destroyed,
    /// Closes of retired resources that failed (each also reported to the sink).
    pub close_failures: u64,
    /// Pieces of the pool's work abandoned past their bound — creates past
    /// `create_timeout`, validations past `check_timeout`, resets past `return_timeout`,
    /// closes past `close_timeout` — each freeing its slot and reported to the sink
    /// (blocking work keeps its thread until it ends on its own).
    pub abandoned: u64,
    /// Resources taken out with [`Lease::detach`](super::Lease::detach).
    pub detached: u64,
    /// Leases held longer than `leak_threshold` (each counted once, reported twice: while
    /// held and when back).
    pub leaks: u64,
    /// How long leases were held (each return).
    pub hold_time: Durations,
    /// How long the acquires that waited waited (from the call to the resource in hand);
    /// `count` is `acquired_waited`.
    pub wait_time: Durations,
}

/// Resources retired, by reason.
///
/// ```
/// assert_eq!(tenure::pool::Destroyed::default().expired, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destroyed {
    /// Reported broken on return.
    pub broken: u64,
    /// Past their lifetime.
    pub expired: u64,
    /// Idle past `idle_timeout`.
    pub idle: u64,
    /// Failed validation.
    pub invalid: u64,
    /// Failed their reset.
    pub reset_failed: u64,
    /// Returned while their thread panicked.
    pub panicked: u64,
    /// Extra after a `resize` down.
    pub resized: u64,
    /// Closed with the pool.
    pub closed: u64,
    /// Discarded by their holder (or by [`Pool::retain`](super::Pool::retain)).
    pub discarded: u64,
}

impl Destroyed {
    /// All of them.
    ///
    /// ```
    /// let d = tenure::pool::Destroyed::default();
    /// assert_eq!(d.total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        let Destroyed {
            broken,
            expired,
            idle,
            invalid,
            reset_failed,
            panicked,
            resized,
            closed,
            discarded,
        } = *self;
        broken + expired + idle + invalid + reset_failed + panicked + resized + closed + discarded
    }
}

/// Durations recorded by a pool: how many, their total, the longest, and percentiles (a
/// log-linear histogram, 64 buckets per power of two: a percentile is within 0.8 % of a
/// recorded duration; count, total and max are exact).
///
/// ```
/// let d = tenure::pool::Durations::default();
/// assert_eq!((d.count, d.p50(), d.p99()), (0, std::time::Duration::ZERO, std::time::Duration::ZERO));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Durations {
    /// How many were recorded.
    pub count: u64,
    /// Their sum.
    pub total: Duration,
    /// The longest.
    pub max: Duration,
    // In nanoseconds. The pool records here alone (the fields above are filled in from it
    // when it hands out a snapshot: recording stays a few instructions under its lock).
    histogram: LogHistogram<6>,
}

impl Default for Durations {
    fn default() -> Self {
        Durations {
            count: 0,
            total: Duration::ZERO,
            max: Duration::ZERO,
            // Room up to a second without growing: no allocation in a pool's steady state.
            histogram: LogHistogram::with_range(1_000_000_000),
        }
    }
}

impl Durations {
    #[inline]
    pub(crate) fn record(&mut self, d: Duration) {
        self.histogram
            .record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Fills in `count`, `total` and `max` from the histogram.
    /// Adds what `other` recorded.
    pub(crate) fn merge(&mut self, other: &Durations) {
        self.histogram.merge(&other.histogram);
    }

    pub(crate) fn settle(&mut self) {
        self.count = self.histogram.count();
        self.total = Duration::from_nanos(self.histogram.sum());
        self.max = Duration::from_nanos(self.histogram.max().unwrap_or(0));
    }

    /// The mean, or zero.
    ///
    /// ```
    /// assert_eq!(tenure::pool::Durations::default().mean(), std::time::Duration::ZERO);
    /// ```
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos((self.total.as_nanos() / u128::from(self.count)) as u64)
        }
    }

    /// The duration at quantile `q` (0.0 ..= 1.0; `0.99` is the 99th percentile), or zero
    /// when nothing was recorded.
    ///
    /// ```
    /// assert_eq!(tenure::pool::Durations::default().quantile(0.9), std::time::Duration::ZERO);
    /// ```
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_nanos(self.histogram.quantile(q).unwrap_or(0))
    }

    /// The median.
    ///
    /// ```
    /// assert_eq!(tenure::pool::Durations::default().p50(), std::time::Duration::ZERO);
    /// ```
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile.
    ///
    /// ```
    /// assert_eq!(tenure::pool::Durations::default().p99(), std::time::Duration::ZERO);
    /// ```
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

impl Statistics {
    /// A snapshot for the caller: the durations' figures filled in.
    pub(crate) fn snapshot(&self) -> Statistics {
        let mut s = self.clone();
        s.hold_time.settle();
        s.wait_time.settle();
        s
    }

    pub(crate) fn count_retired(&mut self, why: Retire) {
        let d = &mut self.destroyed;
        match why {
            Retire::Broken => d.broken += 1,
            Retire::Expired => d.expired += 1,
            Retire::IdleTimeout => d.idle += 1,
            Retire::Invalid => d.invalid += 1,
            Retire::ResetFailed => d.reset_failed += 1,
            Retire::Panicked => d.panicked += 1,
            Retire::Resized => d.resized += 1,
            Retire::Closed => d.closed += 1,
            Retire::Discarded => d.discarded += 1,
        }
    }
}
