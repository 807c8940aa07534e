//! The pool's time: readings of a [`Clock`] in nanoseconds. The TSC by default, read
//! without a virtual call (every acquire and return reads it); any other clock — a
//! [`ManualClock`](crate::clock::ManualClock) in tests — through the builder.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, TscClock};

/// A point in the pool's time: nanoseconds on its clock. Arithmetic saturates (a clock
/// that starts at zero or goes backwards never panics the pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Instant(u64);

impl Instant {
    pub(super) fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos_since(earlier))
    }

    /// Nanoseconds from `earlier` to this instant (0 if `earlier` is later).
    #[inline]
    pub(super) fn nanos_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }
}

impl std::ops::Sub for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// The clock a pool reads: the TSC unless a clock was given.
#[derive(Clone, Default)]
pub(super) struct PoolClock {
    tsc: TscClock,
    given: Option<Arc<dyn Clock + Send + Sync>>,
}

impl PoolClock {
    pub(super) fn given(clock: impl Clock + Send + Sync + 'static) -> Self {
        PoolClock {
            tsc: TscClock::new(),
            given: Some(Arc::new(clock)),
        }
    }

    /// Now. The TSC is read inline; a given clock (tests) through its virtual call, out of
    /// the line.
    #[inline]
    pub(super) fn now(&self) -> Instant {
        match &self.given {
            None => Instant(self.tsc.ticks_to_nanos(self.tsc.now())),
            Some(c) => Self::given_now(&**c),
        }
    }

    #[cold]
    #[inline(never)]
    fn given_now(c: &(dyn Clock + Send + Sync)) -> Instant {
        Instant(c.ticks_to_nanos(c.now()))
    }
}

impl std::fmt::Debug for PoolClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.given {
            None => "TscClock",
            Some(_) => "a given Clock",
        })
    }
}
