//! A small log-linear histogram of inter-chunk gaps.
//!
//! Why not `hdrhistogram`: at 3 significant digits over a useful range it allocates 36–264 KiB
//! per histogram, and a process may meter thousands of concurrent streams. Latency
//! percentiles need a few percent of relative precision, not three digits: here each power
//! of two is split into 32 linear buckets (values below 32 are exact), so a percentile is
//! within 1/64 (1.6 %) of a value that was recorded, and min and max are kept exactly. The
//! buckets grow on demand up to the largest gap seen: gaps up to ~1 s of TSC ticks need
//! ~900 buckets (7 KiB), sub-millisecond streams a few hundred. Recording is a
//! `leading_zeros`, two shifts and an increment — no allocation once the range is reached,
//! no atomics.

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;

#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Vec::new(),
            total: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

#[inline]
fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let mantissa = (v >> shift) - SUB; // 0..SUB
    (SUB + u64::from(shift) * SUB + mantissa) as usize
}

/// The middle of bucket `i`'s range.
fn value(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = (i - SUB) / SUB;
    let mantissa = (i - SUB) % SUB;
    let low = (SUB + mantissa) << shift;
    low + ((1u64 << shift) >> 1)
}

impl Histogram {
    #[inline]
    pub(crate) fn record(&mut self, v: u64) {
        let i = index(v);
        if i >= self.counts.len() {
            self.grow(i);
        }
        self.counts[i] += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.total += 1;
    }

    #[cold]
    fn grow(&mut self, i: usize) {
        // Grow by whole powers of two so a slowly rising gap does not reallocate each time.
        let want = (i + 1).next_multiple_of(SUB as usize).max(4 * SUB as usize);
        self.counts.resize(want, 0);
    }

    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    pub(crate) fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1): the smallest recorded bucket whose cumulative count
    /// reaches `ceil(q * count)`, clamped to the exact min and max.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Heap bytes held by the buckets.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_large_ones_within_two_percent() {
        for v in (0..10_000u64).chain((1..60).map(|s| (1u64 << s) + 12345 % (1u64 << s))) {
            let got = value(index(v));
            let err = got.abs_diff(v) as f64 / v.max(1) as f64;
            assert!(err <= 1.0 / 64.0 + 1e-9, "v={v} got={got}");
        }
        assert_eq!(index(u64::MAX), index(u64::MAX)); // no overflow at the top
    }

    #[test]
    fn quantiles_of_a_uniform_range() {
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!((h.min(), h.max()), (1000, 1_000_000));
        for (q, want) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.02, "q={q} got={got}");
        }
        assert_eq!(h.quantile(1.0), 1_000_000);
        assert!(h.heap_bytes() < 8 * 1024, "{}", h.heap_bytes());
    }
}
