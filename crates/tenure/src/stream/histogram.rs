//! The stream meter's histogram of inter-chunk gaps ([`crate::histogram::LogHistogram`]
//! with 32 buckets per power of two: a percentile within 1/64, 1.6 %, of a recorded gap; gaps
//! up to ~1 s of TSC ticks need ~900 buckets, 7 KiB) and its public view, [`Gaps`].

use std::time::Duration;

/// Buckets per power of two: `2^SUB_BITS`.
const SUB_BITS: u32 = 5;

pub(crate) type Histogram = crate::histogram::LogHistogram<SUB_BITS>;

#[cfg(test)]
fn index(v: u64) -> usize {
    Histogram::index(v)
}

#[cfg(test)]
fn bounds(i: usize) -> (u64, u64) {
    Histogram::bounds(i)
}

impl Histogram {
    /// The public view, with every tick value converted by `to_nanos` (linear, so bucket
    /// bounds convert as values do).
    pub(crate) fn view(&self, to_nanos: impl Fn(u64) -> u64) -> Gaps {
        let ns = |t: u64| Duration::from_nanos(to_nanos(t));
        let (Some(min), Some(max)) = (self.min(), self.max()) else {
            return Gaps::default();
        };
        let buckets = self
            .buckets()
            .map(|(low, high, count)| GapBucket {
                low: ns(low),
                high: ns(high),
                count,
            })
            .collect();
        Gaps {
            count: self.count(),
            min: ns(min),
            max: ns(max),
            buckets,
        }
    }

    /// Heap bytes held by the buckets.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets_capacity() * std::mem::size_of::<u64>()
    }
}

/// The distribution of a stream's inter-chunk gaps, bucket by bucket: what
/// [`Latency`](super::Latency)'s percentiles are read from, for a picture of the
/// distribution (a text histogram, a heatmap) or percentiles of your own. Read it from
/// [`Meter::gaps`](super::Meter::gaps) at any moment.
///
/// Each power of two is split into 32 equal buckets (gaps under 32 clock ticks are exact),
/// so a bucket is at most 1/32 of its lower bound wide; only buckets that hold a gap are
/// listed, in ascending order. [`min`](Self::min) and [`max`](Self::max) are exact.
///
/// ```
/// use std::time::Duration;
/// use tenure::clock::ManualClock;
/// use tenure::stream::Meter;
///
/// let clock = ManualClock::new();
/// let mut m = Meter::with_clock(["a", "b", "c", "d"].into_iter(), clock.clone());
/// for gap_ms in [0, 10, 10, 40] {
///     clock.advance(Duration::from_millis(gap_ms));
///     m.next();
/// }
/// let gaps = m.gaps();
/// assert_eq!((gaps.count(), gaps.max()), (3, Duration::from_millis(40)));
/// let counts: Vec<u64> = gaps.buckets().iter().map(|b| b.count).collect();
/// assert_eq!(counts, [2, 1]); // the two 10 ms gaps share a bucket
/// assert!(gaps.buckets()[0].contains(Duration::from_millis(10)));
/// assert_eq!(gaps.quantile(0.5), m.metrics().inter_chunk.unwrap().p50);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Gaps {
    count: u64,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "min_ns", with = "super::metrics::nanos")
    )]
    min: Duration,
    #[cfg_attr(
        feature = "serde",
        serde(rename = "max_ns", with = "super::metrics::nanos")
    )]
    max: Duration,
    buckets: Vec<GapBucket>,
}

/// One bucket of [`Gaps`]: `count` gaps were at least `low` and less than `high`.
///
/// ```
/// use std::time::Duration;
/// use tenure::stream::GapBucket;
///
/// let b = GapBucket { low: Duration::from_millis(10), high: Duration::from_millis(11), count: 2 };
/// assert!(b.contains(Duration::from_millis(10)) && !b.contains(Duration::from_millis(11)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GapBucket {
    /// The smallest gap that falls in this bucket.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "low_ns", with = "super::metrics::nanos")
    )]
    pub low: Duration,
    /// The end of the bucket's range (exclusive).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "high_ns", with = "super::metrics::nanos")
    )]
    pub high: Duration,
    /// Gaps recorded in the range.
    pub count: u64,
}

impl GapBucket {
    /// Whether `gap` falls in `[low, high)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = tenure::stream::GapBucket { low: Duration::ZERO, high: Duration::from_nanos(1), count: 1 };
    /// assert!(b.contains(Duration::ZERO));
    /// ```
    pub fn contains(&self, gap: Duration) -> bool {
        self.low <= gap && gap < self.high
    }

    /// The middle of the range: the value a percentile that lands here reads as.
    fn middle(&self) -> Duration {
        self.low + (self.high - self.low) / 2
    }
}

impl Gaps {
    /// Number of gaps (chunks − 1, or 0).
    ///
    /// ```
    /// assert_eq!(tenure::stream::Meter::new(["a"].into_iter()).gaps().count(), 0);
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no gap was recorded (fewer than two chunks).
    ///
    /// ```
    /// assert!(tenure::stream::Gaps::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The shortest gap, exactly (zero when there is none).
    ///
    /// ```
    /// assert_eq!(tenure::stream::Gaps::default().min(), std::time::Duration::ZERO);
    /// ```
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest gap, exactly (zero when there is none).
    ///
    /// ```
    /// assert_eq!(tenure::stream::Gaps::default().max(), std::time::Duration::ZERO);
    /// ```
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The buckets that hold at least one gap, in ascending order; their counts add up to
    /// [`count`](Self::count).
    ///
    /// ```
    /// assert!(tenure::stream::Gaps::default().buckets().is_empty());
    /// ```
    pub fn buckets(&self) -> &[GapBucket] {
        &self.buckets
    }

    /// The gap at quantile `q` (0..=1, clamped): the middle of the first bucket whose
    /// cumulative count reaches `ceil(q * count)`, clamped to the exact min and max — within
    /// 1.6 % of a recorded gap. Zero when there is no gap. [`Latency`](super::Latency)'s
    /// percentiles are this function's values.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tenure::clock::ManualClock;
    /// use tenure::stream::Meter;
    ///
    /// let clock = ManualClock::new();
    /// let mut m = Meter::with_clock(std::iter::repeat("x").take(101), clock.clone());
    /// for i in 0..=100u64 {
    ///     clock.advance(Duration::from_micros(i));
    ///     m.next();
    /// }
    /// let p90 = m.gaps().quantile(0.9).as_secs_f64();
    /// assert!((p90 - 90e-6).abs() / 90e-6 < 0.016);
    /// ```
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for b in &self.buckets {
            seen += b.count;
            if seen >= rank {
                return b.middle().clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The middle of bucket `i`, in ticks.
    fn middle(i: usize) -> u64 {
        let (low, high) = bounds(i);
        low + (high - low) / 2
    }

    #[test]
    fn small_values_are_exact_and_large_ones_within_two_percent() {
        for v in (0..10_000u64).chain((1..60).map(|s| (1u64 << s) + 12345 % (1u64 << s))) {
            let got = middle(index(v));
            let err = got.abs_diff(v) as f64 / v.max(1) as f64;
            assert!(err <= 1.0 / 64.0 + 1e-9, "v={v} got={got}");
        }
        assert_eq!(index(u64::MAX), index(u64::MAX)); // no overflow at the top
        assert_eq!(bounds(index(u64::MAX)).1, u64::MAX);
    }

    #[test]
    fn every_value_lies_in_its_bucket_and_buckets_tile_the_line() {
        for v in
            (0..5_000u64).chain((5..64).flat_map(|s| [(1u64 << s) - 1, 1u64 << s, (1u64 << s) + 7]))
        {
            let (low, high) = bounds(index(v));
            assert!(
                low <= v && (v < high || high == u64::MAX),
                "v={v} in [{low}, {high})"
            );
        }
        for i in 0..index(u64::MAX) {
            assert_eq!(
                bounds(i).1,
                bounds(i + 1).0,
                "bucket {i} ends where {} starts",
                i + 1
            );
        }
    }

    #[test]
    fn quantiles_of_a_uniform_range() {
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let g = h.view(|t| t);
        assert_eq!(g.count(), 1000);
        assert_eq!(
            (g.min(), g.max()),
            (Duration::from_micros(1), Duration::from_millis(1))
        );
        for (q, want) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = g.quantile(q).as_nanos() as f64;
            assert!((got - want).abs() / want < 0.02, "q={q} got={got}");
        }
        assert_eq!(g.quantile(1.0), Duration::from_millis(1));
        assert_eq!(g.quantile(f64::NAN), g.quantile(0.0));
        assert!(h.heap_bytes() < 8 * 1024, "{}", h.heap_bytes());
    }

    #[test]
    fn the_view_lists_only_filled_buckets_and_converts_bounds() {
        let mut h = Histogram::default();
        for v in [3, 3, 100, 5000] {
            h.record(v);
        }
        // Ticks of 10 ns each.
        let g = h.view(|t| t * 10);
        assert_eq!(g.buckets().iter().map(|b| b.count).sum::<u64>(), 4);
        let b = g.buckets();
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].low, b[0].high, b[0].count),
            (Duration::from_nanos(30), Duration::from_nanos(40), 2)
        );
        assert!(b[1].contains(Duration::from_nanos(1000)));
        assert!(b[2].contains(Duration::from_nanos(50_000)));
        assert!(b.windows(2).all(|w| w[0].high <= w[1].low));
        assert_eq!(
            (g.min(), g.max()),
            (Duration::from_nanos(30), Duration::from_nanos(50_000))
        );
        assert!(Histogram::default().view(|t| t).is_empty());
    }
}
