//! [`Meter`]: wraps an `Iterator`, a `Read` (and, with features, an async `Stream` or
//! `AsyncRead`), passes every item through unchanged, and records [`StreamMetrics`] — the
//! seed's `stream_with_metrics`, pattern 8.
//!
//! The hot path is one clock read per chunk, stored in a small buffer; every 32 chunks the
//! readings become gaps in a per-stream histogram in one batch. No atomics, no locks, no
//! registry and no `tracing` call until the stream ends. Gaps between reads saturate at zero (a TSC read on another core may be
//! slightly behind).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

use super::histogram::{Gaps, Histogram};
use super::metrics::{per_sec, Latency, StreamMetrics, StreamStatus};
use crate::clock::{Clock, TscClock};

/// How a stream item is measured: its size in bytes, or the error that ended the stream.
///
/// Implemented for the usual chunk types (`str`, `String`, `[u8]`, `Vec<u8>`, `Cow`, byte
/// arrays, `bytes::Bytes` with the `bytes` feature), references and boxes of them, and
/// `Result<T: Measure, E: Display>` (an `Err` marks the stream failed).
///
/// ```
/// use tenure::stream::Measure;
///
/// assert_eq!("héllo".measure().ok(), Some(6));
/// let failed: Result<String, std::io::Error> = Err(std::io::Error::other("reset"));
/// assert_eq!(failed.measure().unwrap_err().to_string(), "reset");
/// ```
pub trait Measure {
    /// The item's size in bytes, or the error it carries.
    fn measure(&self) -> Result<usize, &dyn fmt::Display>;
}

macro_rules! measure_by_len {
    ($($(#[$m:meta])* [$($g:tt)*] $t:ty),* $(,)?) => {$(
        $(#[$m])*
        impl<$($g)*> Measure for $t {
            #[inline]
            fn measure(&self) -> Result<usize, &dyn fmt::Display> {
                Ok(self.len())
            }
        }
    )*};
}

measure_by_len! {
    [] str,
    [] String,
    [] [u8],
    [] Vec<u8>,
    ['a] Cow<'a, str>,
    ['a] Cow<'a, [u8]>,
    [const N: usize] [u8; N],
    #[cfg(feature = "bytes")]
    [] bytes::Bytes,
}

impl<T: Measure + ?Sized> Measure for &T {
    #[inline]
    fn measure(&self) -> Result<usize, &dyn fmt::Display> {
        (**self).measure()
    }
}

impl<T: Measure + ?Sized> Measure for Box<T> {
    #[inline]
    fn measure(&self) -> Result<usize, &dyn fmt::Display> {
        (**self).measure()
    }
}

impl<T: Measure, E: fmt::Display> Measure for Result<T, E> {
    #[inline]
    fn measure(&self) -> Result<usize, &dyn fmt::Display> {
        match self {
            Ok(t) => t.measure(),
            Err(e) => Err(e),
        }
    }
}

type OnEnd = Box<dyn FnOnce(&StreamMetrics) + Send>;

/// Timestamps recorded per chunk before they are turned into gaps, in one batch.
const BATCH: usize = 32;

/// What the timestamps of the chunks so far add up to.
#[derive(Debug, Clone, Default)]
struct Timeline {
    first: u64,
    last: u64,
    chunks: u64,
    gaps: Histogram,
}

impl Timeline {
    /// Takes in the next timestamps, in order.
    fn absorb(&mut self, stamps: &[u64]) {
        for &t in stamps {
            if self.chunks == 0 {
                self.first = t;
            } else {
                self.gaps.record(t.saturating_sub(self.last));
            }
            self.last = t;
            self.chunks += 1;
        }
    }
}

/// The recording state of one stream. Reports exactly once when the stream ends — or, if it
/// never does, when it is dropped (as `DroppedEarly`).
///
/// Per chunk it only reads the clock, stores the reading and adds the byte count; every
/// [`BATCH`] chunks the readings become gaps in the histogram, in one tight loop.
pub(crate) struct Recorder<C: Clock> {
    clock: C,
    start: u64,
    end: u64,
    bytes: u64,
    stamps: [u64; BATCH],
    pending: usize,
    timeline: Timeline,
    status: StreamStatus,
    name: Cow<'static, str>,
    on_end: Option<OnEnd>,
}

impl<C: Clock> Recorder<C> {
    fn new(clock: C) -> Self {
        let start = clock.now();
        Recorder {
            clock,
            start,
            end: start,
            bytes: 0,
            stamps: [0; BATCH],
            pending: 0,
            timeline: Timeline::default(),
            status: StreamStatus::InProgress,
            name: Cow::Borrowed("stream"),
            on_end: None,
        }
    }

    /// One chunk of `len` bytes arrived: the only per-chunk work. Ignored once the stream
    /// has ended (a consumer may read on past an error): the metrics stay those reported.
    #[inline]
    pub(crate) fn chunk(&mut self, len: usize) {
        if self.status.is_ended() {
            return;
        }
        let now = self.clock.now();
        self.stamps[self.pending % BATCH] = now;
        self.pending += 1;
        self.bytes += len as u64;
        if self.pending == BATCH {
            self.flush();
        }
    }

    #[inline(never)]
    fn flush(&mut self) {
        self.timeline.absorb(&self.stamps[..self.pending]);
        self.pending = 0;
    }

    #[inline]
    pub(crate) fn item<T: Measure + ?Sized>(&mut self, item: &T) {
        match item.measure() {
            Ok(len) => self.chunk(len),
            Err(e) => self.fail(e),
        }
    }

    #[cold]
    pub(crate) fn complete(&mut self) {
        self.end_with(StreamStatus::Completed);
    }

    #[cold]
    pub(crate) fn fail(&mut self, error: &dyn fmt::Display) {
        if !self.status.is_ended() {
            self.end_with(StreamStatus::Failed {
                error: error.to_string(),
            });
        }
    }

    fn end_with(&mut self, status: StreamStatus) {
        if self.status.is_ended() {
            return;
        }
        self.end = self.clock.now();
        self.status = status;
        self.flush();
        let traced = tracing::enabled!(target: "tenure::stream", tracing::Level::INFO);
        if !traced && self.on_end.is_none() {
            return; // nobody listens: skip the percentiles
        }
        let metrics = self.metrics();
        if traced {
            report(&self.name, &metrics);
        }
        if let Some(f) = self.on_end.take() {
            f(&metrics);
        }
    }

    fn nanos(&self, ticks: u64) -> Duration {
        Duration::from_nanos(self.clock.ticks_to_nanos(ticks))
    }

    /// The timeline with the readings not yet absorbed counted in (mid-batch: on a copy).
    fn timeline(&self) -> Cow<'_, Timeline> {
        if self.pending == 0 {
            Cow::Borrowed(&self.timeline)
        } else {
            let mut t = self.timeline.clone();
            t.absorb(&self.stamps[..self.pending]);
            Cow::Owned(t)
        }
    }

    pub(crate) fn gaps(&self) -> Gaps {
        self.timeline()
            .gaps
            .view(|ticks| self.clock.ticks_to_nanos(ticks))
    }

    /// Ends the stream with `status`, unless it has ended already.
    pub(crate) fn stop(&mut self, status: StreamStatus) {
        assert!(
            status.is_ended(),
            "Meter::stop: `InProgress` is not a way for a stream to end"
        );
        self.end_with(status);
    }

    pub(crate) fn metrics(&self) -> StreamMetrics {
        let end = if self.status.is_ended() {
            self.end
        } else {
            self.clock.now()
        };
        let total = self.nanos(end.saturating_sub(self.start));
        let t = self.timeline();
        let gaps = t.gaps.view(|ticks| self.clock.ticks_to_nanos(ticks));
        let inter_chunk = (!gaps.is_empty()).then(|| Latency {
            count: gaps.count(),
            min: gaps.min(),
            p50: gaps.quantile(0.50),
            p90: gaps.quantile(0.90),
            p99: gaps.quantile(0.99),
            max: gaps.max(),
        });
        StreamMetrics {
            status: self.status.clone(),
            ttfb: (t.chunks > 0).then(|| self.nanos(t.first.saturating_sub(self.start))),
            total,
            chunks: t.chunks,
            bytes: self.bytes,
            throughput: per_sec(self.bytes, total),
            inter_chunk,
        }
    }
}

impl<C: Clock> Drop for Recorder<C> {
    fn drop(&mut self) {
        self.end_with(StreamStatus::DroppedEarly);
    }
}

/// The `tracing` event of a stream's end: `INFO` under target `tenure::stream`, the summary
/// as message, the figures as fields (durations in integer nanoseconds, as in `serde`).
fn report(name: &str, m: &StreamMetrics) {
    let ns = |d: Duration| d.as_nanos() as u64;
    let itl = m.inter_chunk.as_ref();
    let error = match &m.status {
        StreamStatus::Failed { error } => Some(error.as_str()),
        _ => None,
    };
    tracing::info!(
        target: "tenure::stream",
        stream = name,
        status = m.status.as_str(),
        error,
        ttfb_ns = m.ttfb.map(ns),
        total_ns = ns(m.total),
        chunks = m.chunks,
        bytes = m.bytes,
        throughput_bytes_per_sec = m.throughput.round(),
        itl_p50_ns = itl.map(|l| ns(l.p50)),
        itl_p99_ns = itl.map(|l| ns(l.p99)),
        itl_max_ns = itl.map(|l| ns(l.max)),
        "stream `{name}` {m}"
    );
}

pin_project_lite::pin_project! {
    /// Meters a stream: yields the same items and records [`StreamMetrics`] (TTFB, total time,
    /// chunks, bytes, throughput, inter-chunk latency, and whether it completed, failed or was
    /// dropped early).
    ///
    /// Time starts when the meter is made: make it right when the request goes out. The stream
    /// has *ended* when the inner stream returns its end (`None`, or a `read` of 0 bytes), its
    /// first error (`Err` item, I/O error other than `Interrupted`/`WouldBlock`), or — if
    /// neither happened — when the meter is dropped. At that moment, exactly once, a `tracing`
    /// event reports the metrics and the [`on_end`](Meter::on_end) callback receives them.
    /// [`metrics`](Meter::metrics) works at any moment before that, too; after it, the
    /// metrics stay those reported (a consumer reading on past an error adds nothing).
    ///
    /// Wrapping: `Iterator` (items implementing [`Measure`]), `std::io::Read`; with feature
    /// `futures`, `futures_core::Stream` and `futures_io::AsyncRead`; with feature `tokio`,
    /// `tokio::io::AsyncRead`. Async sources need not be `Unpin`: the meter pins its source in place
    /// (a pinned projection, `pin-project-lite`), so an `async_stream`-style or `async fn`-built
    /// stream is metered as it is.
    ///
    /// ```
    /// use tenure::stream::{Meter, StreamStatus};
    ///
    /// let response = vec!["Hello", ", ", "world"];
    /// let mut chunks = Meter::new(response.into_iter()).name("greeting");
    /// let text: String = chunks.by_ref().collect();
    /// let m = chunks.metrics();
    /// assert_eq!(text, "Hello, world");
    /// assert_eq!((m.status, m.chunks, m.bytes), (StreamStatus::Completed, 3, 12));
    /// println!("{}", chunks.metrics()); // completed: 3 chunks, 12 B in 1.2 µs (TTFB …)
    /// ```
    pub struct Meter<S, C: Clock = TscClock> {
        #[pin]
        pub(crate) inner: S,
        pub(crate) rec: Recorder<C>,
    }
}

impl<S> Meter<S> {
    /// Meters `inner` with the TSC clock; time starts now.
    ///
    /// ```
    /// let mut m = tenure::stream::Meter::new(["a"].into_iter());
    /// assert_eq!(m.next(), Some("a"));
    /// ```
    pub fn new(inner: S) -> Self {
        Self::with_clock(inner, TscClock::new())
    }
}

impl<S, C: Clock> Meter<S, C> {
    /// Meters `inner` with `clock` (e.g. a [`ManualClock`](crate::clock::ManualClock) in tests);
    /// time starts now.
    ///
    /// ```
    /// use tenure::clock::InstantClock;
    /// use tenure::stream::Meter;
    /// let m = Meter::with_clock(std::iter::empty::<&str>(), InstantClock::new());
    /// assert_eq!(m.metrics().chunks, 0);
    /// ```
    pub fn with_clock(inner: S, clock: C) -> Self {
        Meter {
            inner,
            rec: Recorder::new(clock),
        }
    }

    /// Names the stream in its `tracing` event (default `"stream"`).
    ///
    /// ```
    /// let m = tenure::stream::Meter::new(["a"].into_iter()).name("llm response");
    /// # drop(m);
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.rec.name = name.into();
        self
    }

    /// Calls `f` with the final metrics when the stream ends — completed, failed, or the
    /// meter dropped early — exactly once.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tenure::stream::{Meter, StreamStatus};
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let mut m = Meter::new(["a", "b", "c"].into_iter()).on_end(move |m| tx.send(m.clone()).unwrap());
    /// m.next();
    /// drop(m); // the reader gave up after one chunk
    /// let m = rx.recv().unwrap();
    /// assert_eq!((m.status, m.chunks), (StreamStatus::DroppedEarly, 1));
    /// ```
    pub fn on_end(mut self, f: impl FnOnce(&StreamMetrics) + Send + 'static) -> Self {
        self.rec.on_end = Some(Box::new(f));
        self
    }

    /// The metrics so far (or final, once the stream has ended). While in progress, `total`
    /// runs to now (this reads the clock).
    ///
    /// ```
    /// let mut m = tenure::stream::Meter::new(["ab", "c"].into_iter());
    /// m.next();
    /// let partial = m.metrics();
    /// assert_eq!((partial.chunks, partial.bytes), (1, 2));
    /// assert!(!partial.status.is_ended());
    /// ```
    pub fn metrics(&self) -> StreamMetrics {
        self.rec.metrics()
    }

    /// The distribution of the gaps between chunks so far, bucket by bucket (what
    /// [`Latency`]'s percentiles are read from): for a picture of the distribution, or
    /// percentiles of your own.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tenure::clock::ManualClock;
    /// use tenure::stream::Meter;
    ///
    /// let clock = ManualClock::new();
    /// let mut m = Meter::with_clock(["a", "b", "c"].into_iter(), clock.clone());
    /// for gap in [0, 5, 80] {
    ///     clock.advance(Duration::from_millis(gap));
    ///     m.next();
    /// }
    /// for b in m.gaps().buckets() {
    ///     println!("{:?}..{:?}: {}", b.low, b.high, b.count);
    /// }
    /// assert_eq!(m.gaps().max(), Duration::from_millis(80));
    /// ```
    pub fn gaps(&self) -> Gaps {
        self.rec.gaps()
    }

    /// Ends the stream now, with a reason the meter cannot see for itself: a deadline
    /// passed ([`StreamStatus::TimedOut`]), the reader was interrupted
    /// ([`Interrupted`](StreamStatus::Interrupted)), the output it was copied into went away
    /// ([`OutputClosed`](StreamStatus::OutputClosed)). The end is reported then (the
    /// `tracing` event, [`on_end`](Self::on_end)) and the metrics stay as they are; what is
    /// read through the meter afterwards passes unmetered. If the stream has already ended,
    /// this does nothing: the first end is the one reported.
    ///
    /// # Panics
    ///
    /// If `status` is [`StreamStatus::InProgress`], which is not an end.
    ///
    /// ```
    /// use tenure::stream::{Meter, StreamStatus};
    ///
    /// let mut m = Meter::new(["a", "b", "c"].into_iter());
    /// m.next();
    /// m.stop(StreamStatus::TimedOut); // the caller's deadline passed
    /// m.next();                       // passes through, not counted
    /// let metrics = m.metrics();
    /// assert_eq!((metrics.status, metrics.chunks), (StreamStatus::TimedOut, 1));
    /// m.stop(StreamStatus::Interrupted); // already ended: no change
    /// assert_eq!(m.metrics().status, StreamStatus::TimedOut);
    /// ```
    pub fn stop(&mut self, status: StreamStatus) {
        self.rec.stop(status);
    }

    /// The metered stream.
    ///
    /// ```
    /// let m = tenure::stream::Meter::new(vec![1u8].into_iter());
    /// assert_eq!(m.get_ref().len(), 1);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The metered stream, mutably (what is read through it is not metered).
    ///
    /// ```
    /// let mut m = tenure::stream::Meter::new(vec!["a"].into_iter());
    /// assert_eq!(m.get_mut().next(), Some("a"));
    /// assert_eq!(m.metrics().chunks, 0);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Stops metering: returns the stream and the metrics so far. If the stream had not
    /// ended, it is reported as dropped early (the meter is gone).
    ///
    /// ```
    /// let m = tenure::stream::Meter::new(["a"].into_iter());
    /// let (mut rest, metrics) = m.into_parts();
    /// assert_eq!(metrics.status.as_str(), "dropped_early");
    /// assert_eq!(rest.next(), Some("a"));
    /// ```
    pub fn into_parts(self) -> (S, StreamMetrics) {
        let Meter { inner, mut rec } = self;
        rec.end_with(StreamStatus::DroppedEarly);
        (inner, rec.metrics())
    }

    /// Accumulates the metered stream: `(accumulated, chunk)` per step, with the metrics at
    /// hand through [`Accumulate::get_ref`](super::Accumulate::get_ref).
    ///
    /// ```
    /// use tenure::stream::{Accumulator, Meter};
    ///
    /// let mut s = Meter::new(["a", "b"].into_iter()).accumulate(Accumulator::<str>::new());
    /// while let Some(step) = s.next_step() {
    ///     let (so_far, chunk) = step?;
    ///     println!("{chunk} -> {so_far}");
    ///     // the step's borrows end here; the metrics so far are readable again
    ///     println!("{} chunks so far", s.get_ref().metrics().chunks);
    /// }
    /// assert_eq!(s.finalize(), "ab");
    /// assert!(s.get_ref().metrics().status.is_ended());
    /// # Ok::<(), tenure::stream::StepError<std::convert::Infallible>>(())
    /// ```
    pub fn accumulate<A>(self, acc: A) -> super::Accumulate<Self, A> {
        super::Accumulate::from_stream(self, acc)
    }
}

impl<S: fmt::Debug, C: Clock> fmt::Debug for Meter<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter")
            .field("inner", &self.inner)
            .field("name", &self.rec.name)
            .field(
                "chunks",
                &(self.rec.timeline.chunks + self.rec.pending as u64),
            )
            .field("bytes", &self.rec.bytes)
            .field("status", &self.rec.status)
            .finish()
    }
}

impl<S, C> Iterator for Meter<S, C>
where
    S: Iterator,
    S::Item: Measure,
    C: Clock,
{
    type Item = S::Item;

    #[inline]
    fn next(&mut self) -> Option<S::Item> {
        match self.inner.next() {
            Some(item) => {
                self.rec.item(&item);
                Some(item)
            }
            None => {
                self.rec.complete();
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Whether an I/O error is a retry, not the end of the stream.
pub(crate) fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    )
}

impl<C: Clock> Recorder<C> {
    /// Records the result of a read into a buffer of `capacity` bytes.
    #[inline]
    pub(crate) fn read_result(&mut self, capacity: usize, result: Result<usize, &io::Error>) {
        match result {
            Ok(0) if capacity > 0 => self.complete(),
            Ok(0) => {}
            Ok(n) => self.chunk(n),
            Err(e) if is_transient(e) => {}
            Err(e) => self.fail(e),
        }
    }
}

impl<R: Read, C: Clock> Read for Meter<R, C> {
    /// Each successful non-empty read is a chunk; a read of 0 bytes into a non-empty buffer
    /// completes the stream; an error other than `Interrupted`/`WouldBlock` fails it.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        self.rec.read_result(buf.len(), result.as_ref().copied());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn meter_with_gaps(
        gaps_ms: &[u64],
    ) -> (
        Meter<std::vec::IntoIter<&'static str>, ManualClock>,
        ManualClock,
    ) {
        let clock = ManualClock::new();
        let items = vec!["x"; gaps_ms.len() + 1];
        let mut m = Meter::with_clock(items.into_iter(), clock.clone());
        m.next();
        for &g in gaps_ms {
            clock.advance(Duration::from_millis(g));
            m.next();
        }
        (m, clock)
    }

    #[test]
    fn stop_ends_the_stream_at_that_moment_and_later_reads_are_not_counted() {
        let (mut m, clock) = meter_with_gaps(&[10, 20]);
        clock.advance(Duration::from_millis(5));
        m.stop(StreamStatus::OutputClosed);
        clock.advance(Duration::from_millis(100));
        m.next();
        let got = m.metrics();
        assert_eq!(got.status, StreamStatus::OutputClosed);
        assert_eq!((got.chunks, got.total), (3, Duration::from_millis(35)));
        m.stop(StreamStatus::TimedOut);
        assert_eq!(
            m.metrics().status,
            StreamStatus::OutputClosed,
            "the first end wins"
        );
    }

    #[test]
    fn stop_after_the_stream_completed_changes_nothing() {
        let (mut m, _clock) = meter_with_gaps(&[1]);
        assert_eq!(m.next(), None);
        m.stop(StreamStatus::Interrupted);
        assert_eq!(m.metrics().status, StreamStatus::Completed);
    }

    #[test]
    fn stop_reports_once_to_on_end() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut m =
            Meter::new(["a", "b"].into_iter()).on_end(move |m| tx.send(m.status.clone()).unwrap());
        m.next();
        m.stop(StreamStatus::TimedOut);
        drop(m);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [StreamStatus::TimedOut]);
    }

    #[test]
    #[should_panic(expected = "not a way for a stream to end")]
    fn stop_in_progress_panics() {
        Meter::new(["a"].into_iter()).stop(StreamStatus::InProgress);
    }

    #[test]
    fn gaps_agree_with_latency_mid_batch_and_after_a_batch() {
        for n in [3usize, 40, 100] {
            let gaps_ms: Vec<u64> = (0..n as u64).map(|i| 1 + (i * 7) % 23).collect();
            let (m, _clock) = meter_with_gaps(&gaps_ms);
            let (gaps, itl) = (m.gaps(), m.metrics().inter_chunk.unwrap());
            assert_eq!(gaps.count(), n as u64);
            assert_eq!(
                gaps.buckets().iter().map(|b| b.count).sum::<u64>(),
                n as u64
            );
            assert_eq!((gaps.min(), gaps.max()), (itl.min, itl.max));
            assert_eq!(
                [gaps.quantile(0.5), gaps.quantile(0.9), gaps.quantile(0.99)],
                [itl.p50, itl.p90, itl.p99]
            );
            for &g in &gaps_ms {
                let g = Duration::from_millis(g);
                assert!(
                    gaps.buckets().iter().any(|b| b.contains(g)),
                    "{g:?} in no bucket"
                );
            }
        }
    }

    #[test]
    fn no_gaps_before_the_second_chunk() {
        let (m, _clock) = meter_with_gaps(&[]);
        assert!(m.gaps().is_empty());
        assert_eq!(m.gaps().quantile(0.5), Duration::ZERO);
    }
}
