//! Timed blocks: a guard that reports a block's name, duration and outcome through
//! `tracing` when the block ends — the seed's `timed_block` context manager.
//!
//! The event is emitted at `INFO` level under the `tenure::timed` target with the fields
//! `name`, `duration_ms` (f64), `duration_ns` (u64) and `outcome` (`"success"`, `"error"`,
//! `"panic"` or, for [`future`], `"cancelled"`), on every path out of the block.
//!
//! A guard cannot tell a future that was dropped mid-await from one that finished; wrap
//! async work with [`future`] instead, which reports `outcome="cancelled"` when the
//! future is dropped before it completes.
//!
//! ```
//! use tenure::timed;
//!
//! fn process() -> Result<u64, std::io::Error> {
//!     let mut t = timed::block("data_processing");
//!     let rows = t.check(Ok::<u64, std::io::Error>(42))?; // an Err here would report outcome="error"
//!     Ok(rows)
//! } // event: name="data_processing" duration_ms=… outcome="success"
//!
//! assert_eq!(process()?, 42);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Starts timing a block called `name`; the event is emitted when the returned guard drops.
///
/// ```
/// {
///     let _t = tenure::timed::block("warm cache");
///     // ... work ...
/// } // reported here
/// ```
pub fn block(name: impl Into<Cow<'static, str>>) -> Timed {
    Timed {
        name: name.into(),
        start: Instant::now(),
        failed: false,
        cancelled: false,
        done: false,
    }
}

/// A running timer for one block; see [`block`].
///
/// ```
/// let t = tenure::timed::block("step");
/// let elapsed = t.finish();
/// assert!(elapsed >= std::time::Duration::ZERO);
/// ```
#[derive(Debug)]
#[must_use = "the block is timed until the guard drops; binding it to `_` ends it at once"]
pub struct Timed {
    name: Cow<'static, str>,
    start: Instant,
    failed: bool,
    cancelled: bool,
    done: bool,
}

impl Timed {
    /// The block's name.
    ///
    /// ```
    /// assert_eq!(tenure::timed::block("load").name(), "load");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Time since the block started.
    ///
    /// ```
    /// let t = tenure::timed::block("x");
    /// let a = t.elapsed();
    /// assert!(t.elapsed() >= a);
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Marks the block as failed; the event will say `outcome="error"`.
    ///
    /// ```
    /// let mut t = tenure::timed::block("x");
    /// t.fail();
    /// assert_eq!(t.outcome(), "error");
    /// ```
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// Marks the block failed if `result` is an error, and hands it back for `?`.
    ///
    /// ```
    /// let mut t = tenure::timed::block("parse");
    /// let n: Result<i32, _> = t.check("12".parse::<i32>());
    /// assert_eq!(n.unwrap(), 12);
    /// assert_eq!(t.outcome(), "success");
    /// ```
    pub fn check<T, E>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// The outcome the event would report if the block ended now.
    ///
    /// ```
    /// assert_eq!(tenure::timed::block("x").outcome(), "success");
    /// ```
    pub fn outcome(&self) -> &'static str {
        if std::thread::panicking() {
            "panic"
        } else if self.cancelled {
            "cancelled"
        } else if self.failed {
            "error"
        } else {
            "success"
        }
    }

    /// Ends the block now, emits the event, and returns the duration.
    ///
    /// ```
    /// let d = tenure::timed::block("x").finish();
    /// assert!(d < std::time::Duration::from_secs(60));
    /// ```
    pub fn finish(mut self) -> Duration {
        self.emit()
    }

    fn emit(&mut self) -> Duration {
        self.done = true;
        let elapsed = self.start.elapsed();
        let outcome = self.outcome();
        tracing::info!(
            target: "tenure::timed",
            name = %self.name,
            duration_ms = elapsed.as_secs_f64() * 1e3,
            duration_ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            outcome,
            "{} completed in {:.3} ms ({outcome})",
            self.name,
            elapsed.as_secs_f64() * 1e3,
        );
        elapsed
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        if !self.done {
            self.emit();
        }
    }
}

/// Times a future that returns a `Result`: the event is emitted when it completes
/// (`outcome="success"` or `"error"`), or when it is dropped before completing
/// (`outcome="cancelled"` — a timeout, a `select!` loser, a disconnected client).
///
/// ```
/// # futures_lite_block_on(async {
/// let rows = tenure::timed::future("load_users", async { Ok::<_, std::io::Error>(3) }).await?;
/// assert_eq!(rows, 3);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub fn future<F, T, E>(name: impl Into<Cow<'static, str>>, future: F) -> TimedFuture<F>
where
    F: Future<Output = Result<T, E>>,
{
    TimedFuture {
        future: Box::pin(future),
        timer: Some(block(name)),
    }
}

/// A future timed by [`future`].
///
/// ```
/// let f = tenure::timed::future("never polled", async { Ok::<(), std::fmt::Error>(()) });
/// drop(f); // reported with outcome="cancelled"
/// ```
#[must_use = "futures do nothing unless polled; dropping it reports a cancelled block"]
pub struct TimedFuture<F> {
    future: Pin<Box<F>>,
    timer: Option<Timed>,
}

impl<F, T, E> Future for TimedFuture<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = std::task::ready!(self.future.as_mut().poll(cx));
        if let Some(mut timer) = self.timer.take() {
            if result.is_err() {
                timer.fail();
            }
            timer.finish();
        }
        Poll::Ready(result)
    }
}

impl<F> Drop for TimedFuture<F> {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.as_mut() {
            timer.cancelled = true;
        }
    }
}

impl<F> std::fmt::Debug for TimedFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedFuture")
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}
