//! [`PoolError`]: why an acquire failed, saying how long it waited and why.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A pool's figures at one moment. Every slot is accounted for: `size` is the sum of
/// `idle`, `in_use`, `creating`, `checking` and `closing`. `Display` shows the slots at
/// work only when there are some. With feature `serde` it is `Serialize`, every field by its
/// name.
///
/// ```
/// use tenure::pool::Status;
/// let s = Status { size: 8, idle: 0, in_use: 8, waiting: 3, max_size: 8, ..Status::default() };
/// assert_eq!(s.to_string(), "8 of 8 in use, 0 idle, 3 waiting");
/// let s = Status { size: 1, checking: 1, waiting: 1, max_size: 1, ..Status::default() };
/// assert_eq!(s.to_string(), "0 of 1 in use, 0 idle, 1 checking, 1 waiting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Status {
    /// Resources that exist: the sum of the five below.
    pub size: usize,
    /// Idle resources.
    pub idle: usize,
    /// Resources lent out (or handed to a waiter that has not picked its up yet).
    pub in_use: usize,
    /// Resources being created.
    pub creating: usize,
    /// Resources being validated or reset (on a caller's behalf, or on their return).
    pub checking: usize,
    /// Retired resources being closed.
    pub closing: usize,
    /// Callers waiting.
    pub waiting: usize,
    /// The size limit.
    pub max_size: usize,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} in use, {} idle",
            self.in_use, self.max_size, self.idle
        )?;
        for (n, what) in [
            (self.creating, "creating"),
            (self.checking, "checking"),
            (self.closing, "closing"),
        ] {
            if n > 0 {
                write!(f, ", {n} {what}")?;
            }
        }
        write!(f, ", {} waiting", self.waiting)
    }
}

/// Why `get` failed. The cause of a create failure is shared (`Arc`): one failure can
/// explain several callers' errors.
///
/// ```
/// use std::time::Duration;
/// use tenure::pool::{PoolError, Status};
/// let e: PoolError<std::io::Error> = PoolError::Timeout {
///     waited: Duration::from_secs(2),
///     status: Status { size: 8, idle: 0, in_use: 8, waiting: 3, max_size: 8, ..Status::default() },
///     last_create_error: None,
/// };
/// assert_eq!(e.to_string(), "timed out after 2s waiting for a resource (8 of 8 in use, 0 idle, 3 waiting)");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PoolError<E> {
    /// No resource came within the acquire timeout.
    Timeout {
        /// How long the caller waited: its acquire timeout, for `get` and `get_blocking`
        /// alike (the timer that ends a wait fires at the deadline or a little after, by
        /// however much the scheduler chose; that lateness is not reported).
        waited: Duration,
        /// The pool when it gave up.
        status: Status,
        /// The last create failure, if creating failed meanwhile (also `source()`).
        last_create_error: Option<Arc<E>>,
    },
    /// Creating the resource this caller waited for failed.
    Create(Arc<E>),
    /// Creating the resource this caller waited for took longer than `create_timeout`.
    CreateTimedOut(Duration),
    /// The backend is down: nothing idle, nothing lent out that could come back, and the
    /// next create is held back by the backoff after this failure.
    Unavailable {
        /// The last create failure.
        cause: Arc<E>,
        /// When the next create may be tried.
        retry_in: Duration,
    },
    /// The pool is closed.
    Closed,
    /// `max_waiters` callers already wait: this one is refused at once.
    Saturated {
        /// The limit.
        max_waiters: usize,
    },
    /// `get_blocking` on a thread that drives a current-thread tokio runtime: waiting
    /// there would stop the runtime the pool may need. Use `get().await`.
    WouldBlockRuntime,
    /// [`Pool::try_get`](super::Pool::try_get) found no idle resource it could lend
    /// without a check: a `get` would have waited (for a create, a check, or a return).
    WouldWait {
        /// The pool when it looked.
        status: Status,
    },
}

impl<E: std::error::Error> fmt::Display for PoolError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout { waited, status, .. } => write!(
                f,
                "timed out after {waited:?} waiting for a resource ({status})"
            ),
            PoolError::Create(_) => f.write_str("creating a resource failed"),
            PoolError::CreateTimedOut(after) => {
                write!(f, "creating a resource did not finish within {after:?}")
            }
            PoolError::Unavailable { retry_in, .. } => write!(
                f,
                "no resource available: creating one keeps failing (next try in {retry_in:?})"
            ),
            PoolError::Closed => f.write_str("the pool is closed"),
            PoolError::Saturated { max_waiters } => write!(
                f,
                "too many callers waiting for a resource (the limit is {max_waiters})"
            ),
            PoolError::WouldWait { status } => write!(
                f,
                "no idle resource ready to lend without waiting ({status})"
            ),
            PoolError::WouldBlockRuntime => f.write_str(
                "get_blocking was called on a current-thread tokio runtime's own thread; \
                 use get().await there",
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for PoolError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PoolError::Timeout {
                last_create_error: Some(e),
                ..
            }
            | PoolError::Create(e)
            | PoolError::Unavailable { cause: e, .. } => Some(&**e),
            _ => None,
        }
    }
}

impl<E: std::error::Error + 'static> PoolError<E> {
    /// Renders the error completely, as [`Error::report`](crate::Error::report) does: this
    /// layer's message, then each cause in the chain (the create failure), each once.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tenure::pool::PoolError;
    /// let e = PoolError::Create(Arc::new(std::io::Error::other("connection refused")));
    /// assert_eq!(e.report().to_string(), "creating a resource failed: connection refused");
    /// ```
    pub fn report(&self) -> crate::error::Report<'_> {
        crate::error::Report::new(self)
    }
}

/// Why a pool could not be built.
///
/// ```
/// let e = tenure::pool::BuildError::NoRuntime;
/// assert!(e.to_string().contains("runtime"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The manager's work is async and no tokio runtime was given or current.
    #[error("the manager's work is async, and the pool was built outside a tokio runtime without one given (`PoolBuilder::runtime`)")]
    NoRuntime,
    /// The tokio runtime was built without its time driver; the pool bounds waits with
    /// tokio timers.
    #[error(
        "the pool's tokio runtime has no timers: build it with `enable_time()` (or `enable_all()`)"
    )]
    NoTimers,
    /// A configuration value is out of range.
    #[error("invalid pool configuration: {0}")]
    Config(&'static str),
}
