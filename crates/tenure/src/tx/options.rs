//! [`Options`]: how a transaction begins and whether it is retried ([`Retry`]).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::{Class, Mode};

/// How to run a transaction: a plain struct with defaults (deadpool style). The default is
/// a [`Mode::Deferred`] transaction, run once.
///
/// ```
/// use std::time::Duration;
/// use tenure::tx::{Mode, Options, Retry};
///
/// let opts = Options {
///     mode: Mode::Immediate,
///     retry: Some(Retry { attempts: 5, on_busy: true, ..Retry::default() }),
/// };
/// assert_eq!(opts.retry.unwrap().backoff, Duration::from_millis(10));
/// assert!(Options::default().retry.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// How the transaction begins.
    pub mode: Mode,
    /// Whether and how a retryable failure runs the whole body again; `None`: run once.
    pub retry: Option<Retry>,
}

/// Bounded retry: the whole body runs again after a retryable failure — a serialization
/// failure, a deadlock, SQLite's `BUSY_SNAPSHOT` (and `SQLITE_BUSY` when
/// [`on_busy`](Retry::on_busy)) — as the adapter [classifies](super::Session::classify) it,
/// whether it came from the body, `BEGIN` or `COMMIT`. A body's error is read along its
/// `source()` chain: the adapter's own error anywhere in it, or its driver's (say a
/// `rusqlite::Error` inside an `anyhow::Error`, [`Session::classify_source`](super::Session::classify_source)). The next attempt begins only after
/// the failed one's rollback was confirmed (the connection reads [`Idle`](super::State::Idle)
/// again); a failure that left it otherwise, a `COMMIT` whose outcome is unknown, and any
/// other class are returned at once.
///
/// Between attempts it waits a jittered exponential backoff ([`delay`](Retry::delay)).
///
/// ```
/// use std::time::Duration;
/// let r = tenure::tx::Retry::default();
/// assert_eq!((r.attempts, r.backoff, r.max_backoff, r.on_busy), (3, Duration::from_millis(10), Duration::from_secs(1), false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// How many attempts in all, the first one included (`1`: no retry; `0` is taken as 1).
    pub attempts: u32,
    /// The backoff before the second attempt; it doubles for each later one.
    pub backoff: Duration,
    /// The most any one backoff may grow to.
    pub max_backoff: Duration,
    /// Also retry [`Class::Busy`] (SQLite's `SQLITE_BUSY` after its busy timeout). Off by
    /// default: the busy timeout already waited, and a write transaction that must not fail
    /// so should begin with [`Mode::Immediate`] instead.
    pub on_busy: bool,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
            on_busy: false,
        }
    }
}

impl Retry {
    /// Whether an error of class `class` is retried under this policy.
    ///
    /// ```
    /// use tenure::tx::{Class, Retry};
    /// let busy = Retry { on_busy: true, ..Retry::default() };
    /// assert!(busy.retries(Class::Busy) && busy.retries(Class::Deadlock));
    /// assert!(!busy.retries(Class::Other) && !busy.retries(Class::NoTransaction));
    /// ```
    pub fn retries(&self, class: Class) -> bool {
        match class {
            Class::Serialization | Class::Deadlock | Class::BusySnapshot => true,
            Class::Busy => self.on_busy,
            Class::ConnectionLost | Class::NoTransaction | Class::Other => false,
        }
    }

    /// The wait after failed attempt number `failed` (from 1) and before the next: a random
    /// duration between half and all of `backoff × 2^(failed - 1)`, capped at
    /// `max_backoff` ("equal jitter": retries of racing transactions spread out, and none
    /// waits less than half its step).
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = tenure::tx::Retry { backoff: Duration::from_millis(8), max_backoff: Duration::from_millis(20), ..Default::default() };
    /// let first = r.delay(1);
    /// assert!(first >= Duration::from_millis(4) && first <= Duration::from_millis(8));
    /// let third = r.delay(3); // 8 × 4 = 32, capped at 20
    /// assert!(third >= Duration::from_millis(10) && third <= Duration::from_millis(20));
    /// ```
    pub fn delay(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        let step = self
            .backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff);
        let half = step / 2;
        let spread = (step - half).as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            random() % (spread + 1)
        };
        half + Duration::from_nanos(jitter)
    }

    /// `attempts`, with 0 taken as 1.
    pub(crate) fn max_attempts(&self) -> u32 {
        self.attempts.max(1)
    }
}

/// A random `u64` from std alone: each `RandomState` is freshly keyed.
fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_half_and_whole_of_each_step_and_stop_at_the_cap() {
        let r = Retry {
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            ..Retry::default()
        };
        for (failed, step) in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (40, 100)] {
            let step = Duration::from_millis(step);
            for _ in 0..50 {
                let d = r.delay(failed);
                assert!(
                    d >= step / 2 && d <= step,
                    "attempt {failed}: {d:?} vs {step:?}"
                );
            }
        }
    }

    #[test]
    fn delays_are_jittered() {
        let r = Retry::default();
        let seen: std::collections::HashSet<_> = (0..20).map(|_| r.delay(2)).collect();
        assert!(seen.len() > 1, "20 draws, all {seen:?}");
    }

    #[test]
    fn zero_backoff_waits_nothing_and_zero_attempts_means_one() {
        let r = Retry {
            attempts: 0,
            backoff: Duration::ZERO,
            ..Retry::default()
        };
        assert_eq!(r.delay(3), Duration::ZERO);
        assert_eq!(r.max_attempts(), 1);
    }

    #[test]
    fn which_classes_are_retried() {
        let off = Retry::default();
        let on = Retry {
            on_busy: true,
            ..off
        };
        for class in [Class::Serialization, Class::Deadlock, Class::BusySnapshot] {
            assert!(off.retries(class) && on.retries(class), "{class:?}");
        }
        assert!(!off.retries(Class::Busy) && on.retries(Class::Busy));
        for class in [Class::ConnectionLost, Class::NoTransaction, Class::Other] {
            assert!(!off.retries(class) && !on.retries(class), "{class:?}");
        }
    }
}
