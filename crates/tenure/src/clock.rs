//! The one clock of tenure: what a stream [`Meter`](crate::stream::Meter) reads once per
//! chunk and a [`Pool`](crate::pool::Pool) reads on every acquire and return (lifetimes, idle
//! times, validation windows, the create backoff, hold and wait times, leak detection). A
//! reading is in raw ticks, converted to nanoseconds only when a duration is needed.
//!
//! | you have | use |
//! |---|---|
//! | production code | [`TscClock`] (the default of both): the CPU's time-stamp counter through `quanta`, a few nanoseconds a read; `quanta` falls back to the OS monotonic clock where the TSC is not invariant |
//! | a platform without a usable TSC, or a wish for `std` only | [`InstantClock`]: `std::time::Instant` |
//! | a test of timing (a lifetime, an idle timeout, a stream's gaps) | [`ManualClock`]: moves only when the test moves it; clones share its time |
//!
//! ```
//! use std::time::Duration;
//! use tenure::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let t0 = clock.now();
//! clock.advance(Duration::from_millis(5));
//! assert_eq!(clock.ticks_to_nanos(clock.now() - t0), 5_000_000);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A monotonic clock read in raw ticks. Differences of two reads are converted with
/// [`ticks_to_nanos`](Clock::ticks_to_nanos); the conversion must be linear in the difference
/// (so histograms can be kept in ticks and converted at the end).
///
/// ```
/// use tenure::clock::{Clock, InstantClock};
///
/// let clock = InstantClock::new();
/// let (a, b) = (clock.now(), clock.now());
/// assert!(b >= a); // monotonic
/// let elapsed_ns = clock.ticks_to_nanos(b - a);
/// # let _ = elapsed_ns;
/// ```
pub trait Clock {
    /// The current reading, in ticks.
    fn now(&self) -> u64;
    /// Nanoseconds in `ticks` ticks (a difference of two readings).
    fn ticks_to_nanos(&self, ticks: u64) -> u64;
}

/// The CPU's time-stamp counter via `quanta`: the cheapest read there is (one `rdtsc`),
/// calibrated against the OS clock once per process; falls back to the OS monotonic clock
/// where the counter is not reliable.
///
/// ```
/// use tenure::clock::{Clock, TscClock};
///
/// let clock = TscClock::new();
/// let t0 = clock.now();
/// std::thread::sleep(std::time::Duration::from_millis(2));
/// // At least the 2 ms slept, give or take the calibration's fraction of a percent.
/// assert!(clock.ticks_to_nanos(clock.now().saturating_sub(t0)) >= 1_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct TscClock(quanta::Clock);

impl TscClock {
    /// The process's TSC clock (calibrated on first use, ~tens of milliseconds once).
    ///
    /// ```
    /// let _clock = tenure::clock::TscClock::new();
    /// ```
    pub fn new() -> Self {
        TscClock(quanta::Clock::new())
    }
}

impl Default for TscClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TscClock {
    #[inline]
    fn now(&self) -> u64 {
        self.0.raw()
    }
    #[inline]
    fn ticks_to_nanos(&self, ticks: u64) -> u64 {
        self.0.delta_as_nanos(0, ticks)
    }
}

/// `std::time::Instant`, in nanoseconds since the clock was made: the portable fallback.
///
/// ```
/// use tenure::clock::{Clock, InstantClock};
///
/// let clock = InstantClock::new();
/// assert_eq!(clock.ticks_to_nanos(1_000), 1_000); // ticks are nanoseconds
/// ```
#[derive(Debug, Clone, Copy)]
pub struct InstantClock {
    origin: Instant,
}

impl InstantClock {
    /// A clock whose zero is now.
    ///
    /// ```
    /// let _clock = tenure::clock::InstantClock::new();
    /// ```
    pub fn new() -> Self {
        InstantClock {
            origin: Instant::now(),
        }
    }
}

impl Default for InstantClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for InstantClock {
    #[inline]
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
    #[inline]
    fn ticks_to_nanos(&self, ticks: u64) -> u64 {
        ticks
    }
}

/// A clock that moves only when told to, for deterministic tests. Clones share the same
/// time, so a test keeps one handle and gives another to the meter.
///
/// ```
/// use std::time::Duration;
/// use tenure::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let handle = clock.clone();
/// handle.advance(Duration::from_micros(3));
/// assert_eq!(clock.now(), 3_000);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock at zero.
    ///
    /// ```
    /// use tenure::clock::Clock;
    /// assert_eq!(tenure::clock::ManualClock::new().now(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    ///
    /// ```
    /// use tenure::clock::Clock;
    /// let clock = tenure::clock::ManualClock::new();
    /// clock.advance(std::time::Duration::from_nanos(7));
    /// assert_eq!(clock.now(), 7);
    /// ```
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Sets the clock to `to` (it may go backwards, to test saturating gaps).
    ///
    /// ```
    /// use tenure::clock::Clock;
    /// let clock = tenure::clock::ManualClock::new();
    /// clock.set(std::time::Duration::from_secs(1));
    /// assert_eq!(clock.now(), 1_000_000_000);
    /// ```
    pub fn set(&self, to: Duration) {
        self.0.store(to.as_nanos() as u64, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    #[inline]
    fn ticks_to_nanos(&self, ticks: u64) -> u64 {
        ticks
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock")
            .field("now_ns", &self.now())
            .finish()
    }
}
