//! [`StreamMetrics`]: what a metered stream did, as a plain struct — readable at any
//! moment, and on every way a stream ends.
//!
//! The figures are named as the industry names them:
//!
//! | here | vLLM's serving benchmark | curl `-w` |
//! |---|---|---|
//! | [`ttfb`](StreamMetrics::ttfb): start → first chunk | TTFT (time to first token) | `time_starttransfer` |
//! | [`total`](StreamMetrics::total): start → end | E2E latency | `time_total` |
//! | [`inter_chunk`](StreamMetrics::inter_chunk): gaps between consecutive chunks | ITL (inter-token latency) | — |
//! | [`throughput`](StreamMetrics::throughput): bytes / total | output throughput | `speed_download` |
//! | [`chunks`](StreamMetrics::chunks), [`bytes`](StreamMetrics::bytes) | output tokens | `size_download` |
//!
//! With the `serde` feature, durations serialise as integer nanoseconds (`ttfb_ns`,
//! `total_ns`, `p50_ns`, …) so that no precision is lost and no unit is guessed.

use std::fmt;
use std::time::Duration;

/// How a metered stream stands or ended.
///
/// ```
/// use tenure::stream::StreamStatus;
///
/// let s = StreamStatus::Failed { error: "connection reset".into() };
/// assert_eq!(s.as_str(), "failed");
/// assert_eq!(s.to_string(), "failed (connection reset)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "status", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum StreamStatus {
    /// Still being read.
    InProgress,
    /// Read to its end.
    Completed,
    /// Ended by an error (its message; the error itself went to the reader).
    Failed {
        /// The error's `Display`.
        error: String,
    },
    /// The meter was dropped before the stream ended (the reader stopped early or was
    /// cancelled).
    DroppedEarly,
    /// Stopped because a deadline passed before the stream ended (set with
    /// [`Meter::stop`](super::Meter::stop)).
    TimedOut,
    /// Stopped because the reader was interrupted (Ctrl-C, a termination signal, a
    /// shutdown; set with [`Meter::stop`](super::Meter::stop)).
    Interrupted,
    /// Stopped because what the stream was copied into went away (a closed pipe, a
    /// disconnected client; set with [`Meter::stop`](super::Meter::stop)).
    OutputClosed,
}

impl StreamStatus {
    /// A short, stable name: `in_progress`, `completed`, `failed`, `dropped_early`,
    /// `timed_out`, `interrupted`, `output_closed` (the `serde` tag, too).
    ///
    /// ```
    /// use tenure::stream::StreamStatus;
    /// assert_eq!(StreamStatus::DroppedEarly.as_str(), "dropped_early");
    /// assert_eq!(StreamStatus::OutputClosed.as_str(), "output_closed");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            StreamStatus::InProgress => "in_progress",
            StreamStatus::Completed => "completed",
            StreamStatus::Failed { .. } => "failed",
            StreamStatus::DroppedEarly => "dropped_early",
            StreamStatus::TimedOut => "timed_out",
            StreamStatus::Interrupted => "interrupted",
            StreamStatus::OutputClosed => "output_closed",
        }
    }

    /// Whether the stream has ended, one way or another.
    ///
    /// ```
    /// assert!(!tenure::stream::StreamStatus::InProgress.is_ended());
    /// ```
    pub fn is_ended(&self) -> bool {
        !matches!(self, StreamStatus::InProgress)
    }
}

impl fmt::Display for StreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamStatus::Failed { error } => write!(f, "failed ({error})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The distribution of gaps between consecutive chunks (ITL). Percentiles come from a
/// log-linear histogram and are within 1.6 % of a recorded gap; min and max are exact.
///
/// ```
/// # use std::time::Duration;
/// # use tenure::clock::ManualClock;
/// # use tenure::stream::Meter;
/// let clock = ManualClock::new();
/// let mut m = Meter::with_clock(["a", "b", "c"].into_iter(), clock.clone());
/// while m.next().is_some() { clock.advance(Duration::from_millis(10)); }
/// let itl = m.metrics().inter_chunk.unwrap();
/// assert_eq!((itl.count, itl.min, itl.max), (2, Duration::from_millis(10), Duration::from_millis(10)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Latency {
    /// Number of gaps (chunks − 1).
    pub count: u64,
    /// Shortest gap.
    #[cfg_attr(feature = "serde", serde(rename = "min_ns", with = "nanos"))]
    pub min: Duration,
    /// Median gap.
    #[cfg_attr(feature = "serde", serde(rename = "p50_ns", with = "nanos"))]
    pub p50: Duration,
    /// 90th percentile.
    #[cfg_attr(feature = "serde", serde(rename = "p90_ns", with = "nanos"))]
    pub p90: Duration,
    /// 99th percentile.
    #[cfg_attr(feature = "serde", serde(rename = "p99_ns", with = "nanos"))]
    pub p99: Duration,
    /// Longest gap.
    #[cfg_attr(feature = "serde", serde(rename = "max_ns", with = "nanos"))]
    pub max: Duration,
}

/// What a metered stream did: time to first chunk, total time, chunks, bytes, throughput,
/// the inter-chunk latency distribution, and how it ended. Read it at any time from
/// [`Meter::metrics`](super::Meter::metrics) — partial figures are the point when a stream
/// breaks — or receive the final figures with [`Meter::on_end`](super::Meter::on_end).
///
/// `Display` is a one-line summary:
///
/// ```
/// use std::time::Duration;
/// use tenure::clock::ManualClock;
/// use tenure::stream::Meter;
///
/// let clock = ManualClock::new();
/// let mut m = Meter::with_clock(["hello ", "world"].into_iter(), clock.clone());
/// clock.advance(Duration::from_millis(120));
/// m.next();
/// clock.advance(Duration::from_millis(30));
/// m.next();
/// m.next(); // end of stream
/// assert_eq!(
///     m.metrics().to_string(),
///     "completed: 2 chunks, 11 B in 150.0 ms (TTFB 120.0 ms, 73.3 B/s); inter-chunk min 30.0 ms p50 30.0 ms p90 30.0 ms p99 30.0 ms max 30.0 ms"
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct StreamMetrics {
    /// How the stream stands or ended.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub status: StreamStatus,
    /// Start to first chunk (TTFB / TTFT / curl's `time_starttransfer`); `None` before it.
    #[cfg_attr(feature = "serde", serde(rename = "ttfb_ns", with = "nanos_opt"))]
    pub ttfb: Option<Duration>,
    /// Start to end (E2E / curl's `time_total`); while in progress, start to now.
    #[cfg_attr(feature = "serde", serde(rename = "total_ns", with = "nanos"))]
    pub total: Duration,
    /// Chunks received (items of an iterator or stream; successful non-empty reads).
    pub chunks: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Bytes per second over [`total`](Self::total) (0 when no time has passed).
    #[cfg_attr(feature = "serde", serde(rename = "throughput_bytes_per_sec"))]
    pub throughput: f64,
    /// Gaps between consecutive chunks (ITL); `None` with fewer than two chunks.
    pub inter_chunk: Option<Latency>,
}

impl StreamMetrics {
    /// Chunks per second over [`total`](Self::total).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tenure::clock::ManualClock;
    /// # use tenure::stream::Meter;
    /// let clock = ManualClock::new();
    /// let mut m = Meter::with_clock(["a", "b"].into_iter(), clock.clone());
    /// m.next(); m.next();
    /// clock.advance(Duration::from_millis(500));
    /// assert_eq!(m.metrics().chunks_per_sec(), 4.0);
    /// ```
    pub fn chunks_per_sec(&self) -> f64 {
        per_sec(self.chunks, self.total)
    }
}

pub(crate) fn per_sec(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

/// A duration with three or four significant digits and a unit.
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns < 1_000 {
            write!(f, "{ns} ns")
        } else if ns < 1_000_000 {
            write!(f, "{:.1} µs", ns as f64 / 1e3)
        } else if ns < 1_000_000_000 {
            write!(f, "{:.1} ms", ns as f64 / 1e6)
        } else {
            write!(f, "{:.2} s", ns as f64 / 1e9)
        }
    }
}

struct Bytes(f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b < 1024.0 {
            if b.fract() == 0.0 {
                write!(f, "{b} B")
            } else {
                write!(f, "{b:.1} B")
            }
        } else if b < 1024.0 * 1024.0 {
            write!(f, "{:.1} KiB", b / 1024.0)
        } else if b < 1024.0 * 1024.0 * 1024.0 {
            write!(f, "{:.1} MiB", b / (1024.0 * 1024.0))
        } else {
            write!(f, "{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
        }
    }
}

impl fmt::Display for StreamMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} chunks, {} in {} (TTFB ",
            self.status,
            self.chunks,
            Bytes(self.bytes as f64),
            Human(self.total)
        )?;
        match self.ttfb {
            Some(t) => write!(f, "{}", Human(t))?,
            None => f.write_str("-")?,
        }
        write!(f, ", {}/s)", Bytes(self.throughput))?;
        if let Some(l) = &self.inter_chunk {
            write!(
                f,
                "; inter-chunk min {} p50 {} p90 {} p99 {} max {}",
                Human(l.min),
                Human(l.p50),
                Human(l.p90),
                Human(l.p99),
                Human(l.max)
            )?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
pub(crate) mod nanos {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_nanos() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_nanos)
    }
}

#[cfg(feature = "serde")]
mod nanos_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_nanos() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_reasons_are_ended_and_named() {
        for (s, name) in [
            (StreamStatus::TimedOut, "timed_out"),
            (StreamStatus::Interrupted, "interrupted"),
            (StreamStatus::OutputClosed, "output_closed"),
        ] {
            assert!(s.is_ended());
            assert_eq!((s.as_str(), s.to_string()), (name, name.to_string()));
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn the_stop_reasons_serialise_under_the_status_tag() {
        for s in [
            StreamStatus::TimedOut,
            StreamStatus::Interrupted,
            StreamStatus::OutputClosed,
        ] {
            let json = serde_json::to_value(&s).unwrap();
            assert_eq!(json, serde_json::json!({ "status": s.as_str() }));
            assert_eq!(serde_json::from_value::<StreamStatus>(json).unwrap(), s);
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn gaps_serialise_in_integer_nanoseconds() {
        use crate::clock::ManualClock;
        use crate::stream::Meter;
        let clock = ManualClock::new();
        let mut m = Meter::with_clock(["a", "b"].into_iter(), clock.clone());
        m.next();
        clock.advance(Duration::from_nanos(20));
        m.next();
        let json = serde_json::to_value(m.gaps()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "count": 1, "min_ns": 20, "max_ns": 20,
                "buckets": [{ "low_ns": 20, "high_ns": 21, "count": 1 }]
            })
        );
        assert_eq!(
            serde_json::from_value::<crate::stream::Gaps>(json).unwrap(),
            m.gaps()
        );
    }
}
