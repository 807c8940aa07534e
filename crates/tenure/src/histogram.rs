//! A small log-linear histogram: the stream meter's inter-chunk gaps and the pool's wait and
//! hold times.
//!
//! Why not `hdrhistogram`: at 3 significant digits over a useful range it allocates 36–264 KiB
//! per histogram, and a process may meter thousands of concurrent streams; and on the pool's
//! return path its `record` (bounds checks, saturating counts, min/max tracking) cost 8–9 ns
//! of a ~100 ns get + drop here, against ~2 ns for this one. Percentiles need a few percent
//! of relative precision, not three digits: each power of two is split into `2^SUB_BITS`
//! linear buckets (values below that are exact), so the middle of a value's bucket is within
//! `2^-(SUB_BITS+1)` of it, and min, max, count and sum are kept exactly. The buckets grow on
//! demand up to the largest value seen (at most `(65 - SUB_BITS) * 2^SUB_BITS` of them).
//! Recording is a `leading_zeros`, two shifts and an increment — no allocation once the
//! range is reached, no atomics.

/// A log-linear histogram of `u64` values with `2^SUB_BITS` buckets per power of two.
#[derive(Debug, Clone)]
pub(crate) struct LogHistogram<const SUB_BITS: u32> {
    counts: Vec<u64>,
    count: u64,
    sum: u64,
    min: u64,
    max: u64,
}

impl<const SUB_BITS: u32> Default for LogHistogram<SUB_BITS> {
    fn default() -> Self {
        LogHistogram {
            counts: Vec::new(),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

/// Equal when they hold the same values (however far each one's buckets have grown).
impl<const SUB_BITS: u32> PartialEq for LogHistogram<SUB_BITS> {
    fn eq(&self, other: &Self) -> bool {
        fn used(c: &[u64]) -> &[u64] {
            let end = c.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
            &c[..end]
        }
        (self.count, self.sum, self.min, self.max) == (other.count, other.sum, other.min, other.max)
            && used(&self.counts) == used(&other.counts)
    }
}

impl<const SUB_BITS: u32> LogHistogram<SUB_BITS> {
    const SUB: u64 = 1 << SUB_BITS;

    #[cfg_attr(not(feature = "pool"), allow(dead_code))] // one feature's use
    /// An empty histogram with room for values up to `upto` without growing.
    pub(crate) fn with_range(upto: u64) -> Self {
        let mut h = Self::default();
        h.counts.resize(Self::index(upto) + 1, 0);
        h
    }

    /// The bucket of `v`.
    #[inline]
    pub(crate) fn index(v: u64) -> usize {
        if v < Self::SUB {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros(); // >= SUB_BITS
        let shift = exp - SUB_BITS;
        let mantissa = (v >> shift) - Self::SUB; // 0..SUB
        (Self::SUB + u64::from(shift) * Self::SUB + mantissa) as usize
    }

    /// The half-open range `[low, high)` of values that land in bucket `i` (`high`
    /// saturates at `u64::MAX` for the top bucket).
    pub(crate) fn bounds(i: usize) -> (u64, u64) {
        let i = i as u64;
        if i < Self::SUB {
            return (i, i + 1);
        }
        let shift = (i - Self::SUB) / Self::SUB;
        let mantissa = (i - Self::SUB) % Self::SUB;
        let low = (Self::SUB + mantissa) << shift;
        (low, low.saturating_add(1u64 << shift))
    }

    #[inline]
    pub(crate) fn record(&mut self, v: u64) {
        let i = Self::index(v);
        if i >= self.counts.len() {
            self.grow(i);
        }
        self.counts[i] += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.count += 1;
        self.sum = self.sum.saturating_add(v);
    }

    #[cold]
    fn grow(&mut self, i: usize) {
        // Grow by whole powers of two so a slowly rising value does not reallocate each time.
        let sub = Self::SUB as usize;
        let want = (i + 1).next_multiple_of(sub).max(4 * sub);
        self.counts.resize(want, 0);
    }

    #[cfg_attr(not(feature = "pool"), allow(dead_code))] // one feature's use
    /// Adds every value `other` holds (the pool's per-shard hold times, merged for a
    /// snapshot).
    pub(crate) fn merge(&mut self, other: &Self) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
    }

    /// How many values were recorded.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    #[cfg_attr(not(feature = "pool"), allow(dead_code))] // one feature's use
    /// Their sum (saturating).
    pub(crate) fn sum(&self) -> u64 {
        self.sum
    }

    /// The smallest, or `None` when empty.
    pub(crate) fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest, or `None` when empty.
    pub(crate) fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// Buckets allocated.
    #[cfg(test)]
    pub(crate) fn buckets_capacity(&self) -> usize {
        self.counts.capacity()
    }

    /// The buckets that hold a value, ascending: `(low, high, count)`.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let (low, high) = Self::bounds(i);
                (low, high, c)
            })
    }

    #[cfg_attr(not(feature = "pool"), allow(dead_code))] // one feature's use
    /// The value at quantile `q` (0..=1, clamped; NaN reads as 0): the middle of the first
    /// bucket whose cumulative count reaches `ceil(q * count)`, clamped to the exact min and
    /// max. `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (low, high, c) in self.buckets() {
            seen += c;
            if seen >= rank {
                return Some((low + (high - low) / 2).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    type H = super::LogHistogram<6>;

    #[test]
    fn quantiles_are_within_a_bucket_of_the_truth() {
        let mut h = H::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        for (q, want) in [(0.5, 5_000_000.0), (0.99, 9_900_000.0), (1.0, 10_000_000.0)] {
            let got = h.quantile(q).unwrap() as f64;
            assert!(
                (got - want).abs() / want <= 1.0 / 128.0 + 1e-4,
                "{q}: {got}"
            );
        }
        assert_eq!(h.quantile(0.0), Some(1004), "the middle of [1000, 1008)");
        assert_eq!(
            (h.count(), h.min(), h.max()),
            (10_000, Some(1000), Some(10_000_000))
        );
        assert_eq!(h.sum(), 1000 * 10_000 * 10_001 / 2);
    }

    #[test]
    fn a_merge_holds_what_both_held() {
        let (mut a, mut b, mut both) = (H::default(), H::with_range(1 << 40), H::default());
        for v in [3, 700, 90_000] {
            a.record(v);
            both.record(v);
        }
        for v in [1, 700, 5_000_000_000] {
            b.record(v);
            both.record(v);
        }
        let mut merged = a.clone();
        merged.merge(&b); // the other one's buckets reach further
        assert_eq!(merged, both);
        assert_eq!((merged.min(), merged.max()), (Some(1), Some(5_000_000_000)));
        let mut back = b.clone();
        back.merge(&a);
        assert_eq!(back, both);
        let mut empty = H::default();
        empty.merge(&H::default());
        assert_eq!((empty.count(), empty.min()), (0, None));
    }

    #[test]
    fn empty_and_equality_ignore_growth() {
        let mut a = H::default();
        let mut b = H::with_range(1 << 40);
        assert_eq!(a, b);
        assert_eq!((a.quantile(0.5), a.min(), a.max()), (None, None, None));
        a.record(7);
        assert_ne!(a, b);
        b.record(7);
        assert_eq!(a, b);
        b.record(8);
        assert_ne!(a, b);
        // Same count, sum, min and max; different values in between.
        let (mut c, mut d) = (H::default(), H::with_range(1 << 40));
        for v in [1, 4, 6, 9] {
            c.record(v);
        }
        for v in [1, 5, 5, 9] {
            d.record(v);
        }
        assert_ne!(c, d);
        assert_eq!(c, c.clone());
    }

    #[test]
    fn with_range_does_not_grow_within_its_range() {
        let mut h = H::with_range(3_600_000_000_000);
        let len = h.counts.len();
        h.record(3_600_000_000_000);
        assert_eq!(h.counts.len(), len);
        h.record(u64::MAX);
        assert!(h.counts.len() > len);
        assert_eq!(h.sum(), u64::MAX, "the sum saturates");
    }
}
