//! [`Statistics`]: a pool's counters and durations; [`Retire`], why a resource was retired
//! (what [`Destroyed`] counts).

use std::fmt;
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

/// Counters and durations of a pool, since it was built. `Debug` shows the counters and
/// each [`Durations`]' counts and quantiles (not its buckets); with feature `serde` it is
/// `Serialize`, every field by its name (the durations as [`Durations`] serializes them).
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    /// (blocking work keeps its thread until it ends on its own). Each is counted once,
    /// when its bound passes: what blocking work hands back later is not counted again —
    /// a resource is closed (a close of it past `close_timeout` counts as one more), and a
    /// failure it ends with (a create's error, a validation's or reset's failing verdict,
    /// a close's error) is reported to the sink, with the work, its bound and the site of
    /// the caller it was for.
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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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

/// Durations recorded by a pool: how many, their total, the shortest and the longest, and
/// percentiles and [buckets](Self::buckets) (a log-linear histogram, 64 buckets per power of
/// two: a percentile is within 0.8 % of a recorded duration; count, total, min and max are
/// exact).
///
/// `Debug` (and, with feature `serde`, `Serialize`: `count`, then each duration in
/// nanoseconds as `total_ns`, `min_ns`, `max_ns`, `mean_ns`, `p50_ns`, `p90_ns`, `p99_ns`)
/// shows the counts and quantiles, not the buckets.
///
/// ```
/// let d = tenure::pool::Durations::default();
/// assert_eq!((d.count, d.p50(), d.p99()), (0, std::time::Duration::ZERO, std::time::Duration::ZERO));
/// assert_eq!(
///     format!("{d:?}"),
///     "Durations { count: 0, total: 0ns, min: 0ns, max: 0ns, mean: 0ns, p50: 0ns, p90: 0ns, p99: 0ns }"
/// );
/// ```
#[derive(Clone, PartialEq)]
pub struct Durations {
    /// How many were recorded.
    pub count: u64,
    /// Their sum.
    pub total: Duration,
    /// The shortest (zero when none was recorded).
    pub min: Duration,
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
            min: Duration::ZERO,
            max: Duration::ZERO,
            // Room up to a second without growing: no allocation in a pool's steady state.
            histogram: LogHistogram::with_range(1_000_000_000),
        }
    }
}

/// Counts and quantiles; the buckets are [`Durations::buckets`]'s to show.
impl fmt::Debug for Durations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Durations")
            .field("count", &self.count)
            .field("total", &self.total)
            .field("min", &self.min)
            .field("max", &self.max)
            .field("mean", &self.mean())
            .field("p50", &self.p50())
            .field("p90", &self.quantile(0.9))
            .field("p99", &self.p99())
            .finish()
    }
}

/// `count` and each duration in nanoseconds: `total_ns`, `min_ns`, `max_ns`, `mean_ns`,
/// `p50_ns`, `p90_ns`, `p99_ns` (what `Debug` shows; not the buckets).
#[cfg(feature = "serde")]
impl serde::Serialize for Durations {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut st = s.serialize_struct("Durations", 8)?;
        st.serialize_field("count", &self.count)?;
        st.serialize_field("total_ns", &ns(self.total))?;
        st.serialize_field("min_ns", &ns(self.min))?;
        st.serialize_field("max_ns", &ns(self.max))?;
        st.serialize_field("mean_ns", &ns(self.mean()))?;
        st.serialize_field("p50_ns", &ns(self.p50()))?;
        st.serialize_field("p90_ns", &ns(self.quantile(0.9)))?;
        st.serialize_field("p99_ns", &ns(self.p99()))?;
        st.end()
    }
}

/// One bucket of [`Durations::buckets`]: `count` durations were at least `low` and less
/// than `high`.
///
/// ```
/// use std::time::Duration;
/// use tenure::pool::DurationBucket;
///
/// let b = DurationBucket { low: Duration::from_millis(10), high: Duration::from_micros(10_160), count: 2 };
/// assert!(b.contains(Duration::from_millis(10)) && !b.contains(Duration::from_millis(11)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DurationBucket {
    /// The shortest duration that falls in this bucket.
    #[cfg_attr(feature = "serde", serde(rename = "low_ns", serialize_with = "nanos"))]
    pub low: Duration,
    /// The end of the bucket's range (exclusive).
    #[cfg_attr(feature = "serde", serde(rename = "high_ns", serialize_with = "nanos"))]
    pub high: Duration,
    /// Durations recorded in the range.
    pub count: u64,
}

#[cfg(feature = "serde")]
fn nanos<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl DurationBucket {
    /// Whether `d` falls in `[low, high)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = tenure::pool::DurationBucket { low: Duration::ZERO, high: Duration::from_nanos(1), count: 1 };
    /// assert!(b.contains(Duration::ZERO));
    /// ```
    pub fn contains(&self, d: Duration) -> bool {
        self.low <= d && d < self.high
    }
}

impl Durations {
    #[inline]
    pub(crate) fn record(&mut self, d: Duration) {
        self.record_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    #[inline]
    pub(crate) fn record_nanos(&mut self, ns: u64) {
        self.histogram.record(ns);
    }

    /// Adds what `other` recorded.
    pub(crate) fn merge(&mut self, other: &Durations) {
        self.histogram.merge(&other.histogram);
    }

    /// Fills in `count`, `total`, `min` and `max` from the histogram.
    pub(crate) fn settle(&mut self) {
        self.count = self.histogram.count();
        self.total = Duration::from_nanos(self.histogram.sum());
        self.min = Duration::from_nanos(self.histogram.min().unwrap_or(0));
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

    /// The duration at quantile `q` (0.0 ..= 1.0, clamped; `0.99` is the 99th percentile):
    /// the middle of the first [bucket](Self::buckets) whose cumulative count reaches
    /// `ceil(q * count)`, clamped to the exact `min` and `max`. Zero when nothing was
    /// recorded.
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

    /// The distribution, bucket by bucket (as [`stream::Gaps::buckets`] has it for a
    /// stream's gaps): for a picture of the distribution (a text histogram, a heatmap) or
    /// percentiles of your own. Each power of two is split into 64 equal buckets (durations
    /// under 64 ns are exact), so a bucket is at most 1/64 of its lower bound wide; only
    /// buckets that hold a duration are listed, in ascending order, and their counts add up
    /// to [`count`](Self::count).
    ///
    /// [`stream::Gaps::buckets`]: crate::stream::Gaps::buckets
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool};
    /// use std::time::Duration;
    /// use tenure::clock::ManualClock;
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let time = ManualClock::new();
    /// let pool = Pool::builder(manager).clock(time.clone()).build()?;
    /// for held_ms in [10, 10, 40] {
    ///     let lease = pool.get_blocking()?;
    ///     time.advance(Duration::from_millis(held_ms));
    ///     drop(lease);
    /// }
    /// let held = pool.statistics().hold_time;
    /// let buckets = held.buckets();
    /// let counts: Vec<u64> = buckets.iter().map(|b| b.count).collect();
    /// assert_eq!(counts, [2, 1]); // the two 10 ms holds share a bucket
    /// assert!(buckets[0].contains(Duration::from_millis(10)));
    /// assert!(buckets[1].contains(held.max));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn buckets(&self) -> Vec<DurationBucket> {
        self.histogram
            .buckets()
            .map(|(low, high, count)| DurationBucket {
                low: Duration::from_nanos(low),
                high: Duration::from_nanos(high),
                count,
            })
            .collect()
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

/// What [`Pool::retain`](super::Pool::retain) shows of each idle resource, as of the pool's
/// clock.
///
/// ```
/// use std::time::Duration;
/// let m = tenure::pool::ResourceMetrics::default();
/// assert_eq!((m.age, m.idle, m.lent), (Duration::ZERO, Duration::ZERO, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceMetrics {
    /// Since it was created.
    pub age: Duration,
    /// Since it last came back (or was created, if never lent).
    pub idle: Duration,
    /// How many times it was lent.
    pub lent: u64,
}

/// What [`Pool::retain`](super::Pool::retain) did: how many idle resources it kept and
/// how many it retired.
///
/// ```
/// let r = tenure::pool::Retained::default();
/// assert_eq!((r.kept, r.retired), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retained {
    /// Idle resources kept.
    pub kept: usize,
    /// Idle resources retired (each closed by the pool, counted in `Destroyed::discarded`).
    pub retired: usize,
}
