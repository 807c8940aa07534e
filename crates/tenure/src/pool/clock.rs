//! The pool's clock: the TSC through `quanta` in production (a few nanoseconds a reading,
//! read on every acquire and return), or a [`ManualClock`] that only moves when a test
//! moves it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A point in the pool's time.
pub(super) type Instant = quanta::Instant;

/// The clock a pool reads for lifetimes, idle times, validation windows, the create
/// backoff, hold and wait times and leak detection. [`Clock::system`] (the default) reads
/// the TSC through `quanta`; [`Clock::manual`] gives a clock that moves only when told, so
/// a test of a lifetime or an idle timeout needs no sleeping.
///
/// Waiting itself (`acquire_timeout`, `create_timeout`, `return_timeout`) is bounded by
/// tokio's timers for async callers and by the thread's own park timeout for blocking
/// ones: tests of those use tokio's paused time (`#[tokio::test(start_paused = true)]`).
///
/// ```
/// use std::time::Duration;
/// use tenure::pool::{Clock, Manager, Pool, PoolConfig, Work};
/// # struct Unit;
/// # impl Manager for Unit {
/// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
/// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
/// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
/// # }
/// let (clock, time) = Clock::manual();
/// let config = PoolConfig { idle_timeout: Some(Duration::from_secs(60)), ..PoolConfig::default() };
/// let pool = Pool::builder(Unit).config(config).clock(clock).build()?;
/// drop(pool.get_blocking()?);
/// time.advance(Duration::from_secs(61));
/// pool.maintain(std::time::Instant::now());
/// assert_eq!(pool.statistics().destroyed.idle, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Clock {
    inner: quanta::Clock,
}

/// The hand of a [`Clock::manual`] clock: moves it forward.
///
/// ```
/// let (_clock, time) = tenure::pool::Clock::manual();
/// time.advance(std::time::Duration::from_millis(5));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    mock: Arc<quanta::Mock>,
}

impl Clock {
    /// The production clock: the TSC where it is invariant, else the OS's monotonic clock.
    ///
    /// ```
    /// let _ = tenure::pool::Clock::system();
    /// ```
    pub fn system() -> Self {
        Clock {
            inner: quanta::Clock::new(),
        }
    }

    /// A clock that stands still until its [`ManualClock`] moves it.
    ///
    /// ```
    /// let (clock, time) = tenure::pool::Clock::manual();
    /// # let _ = (clock, time);
    /// ```
    pub fn manual() -> (Self, ManualClock) {
        let (inner, mock) = quanta::Clock::mock();
        // A start well above zero, so that times computed backwards stay representable.
        mock.increment(Duration::from_secs(1_000_000));
        (Clock { inner }, ManualClock { mock })
    }

    pub(super) fn now(&self) -> Instant {
        self.inner.now()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl ManualClock {
    /// Moves the clock forward by `by`.
    ///
    /// ```
    /// let (_clock, time) = tenure::pool::Clock::manual();
    /// time.advance(std::time::Duration::from_secs(1));
    /// ```
    pub fn advance(&self, by: Duration) {
        self.mock.increment(by);
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now_ns", &self.mock.value())
            .finish()
    }
}
