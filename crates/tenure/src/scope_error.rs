//! How a scope run by [`ExitStack::scope`](crate::ExitStack::scope) or [`AsyncExitStack::scope`](crate::AsyncExitStack::scope) failed (public as `tenure::stack::ScopeError`).

use std::error::Error as StdError;
use std::fmt;

use crate::error::{Error, Report};

/// How a scope run by [`ExitStack::scope`](crate::ExitStack::scope) failed. No error is lost: the body's error is
/// kept whole, with cleanup errors beside it.
///
/// ```
/// use tenure::{ExitStack, ScopeError};
/// let r: Result<(), _> = ExitStack::scope(|s| {
///     s.try_callback(|| Err(std::io::Error::other("flush failed")));
///     Ok::<_, std::io::Error>(())
/// });
/// let err = r.unwrap_err();
/// assert!(matches!(err, ScopeError::Cleanup(_)));
/// assert_eq!(err.cleanup().unwrap().kind(), tenure::ErrorKind::Callback);
/// ```
#[derive(Debug)]
pub enum ScopeError<E> {
    /// The body returned `error`; `cleanup` holds the cleanup errors, if any.
    Body {
        /// The body's error, the primary one.
        error: E,
        /// Cleanup errors that happened while unwinding, first one primary.
        cleanup: Option<Error>,
    },
    /// Cleanup failed, and the body succeeded or an exit callback explicitly suppressed
    /// its error (the cleanup error takes the suppressed one's place, as in Python).
    Cleanup(Error),
    /// The body returned this error and an exit callback explicitly suppressed it; the
    /// body produced no value.
    Suppressed(E),
}

impl<E> ScopeError<E> {
    /// The body's error, if the body failed (suppressed or not).
    ///
    /// ```
    /// let e = tenure::ScopeError::Suppressed(std::fmt::Error);
    /// assert!(e.body().is_some());
    /// ```
    pub fn body(&self) -> Option<&E> {
        match self {
            ScopeError::Body { error, .. } | ScopeError::Suppressed(error) => Some(error),
            ScopeError::Cleanup(_) => None,
        }
    }

    /// The cleanup errors, if any.
    ///
    /// ```
    /// let e: tenure::ScopeError<std::fmt::Error> = tenure::ScopeError::Cleanup(tenure::Error::closed("x"));
    /// assert_eq!(e.cleanup().unwrap().resource(), "x");
    /// ```
    pub fn cleanup(&self) -> Option<&Error> {
        match self {
            ScopeError::Body { cleanup, .. } => cleanup.as_ref(),
            ScopeError::Cleanup(e) => Some(e),
            ScopeError::Suppressed(_) => None,
        }
    }

    /// `true` when an exit callback suppressed the body's error.
    ///
    /// ```
    /// assert!(tenure::ScopeError::Suppressed(std::fmt::Error).is_suppressed());
    /// ```
    pub fn is_suppressed(&self) -> bool {
        matches!(self, ScopeError::Suppressed(_))
    }
}

impl<E: StdError + 'static> ScopeError<E> {
    /// Renders the error completely: the body's (or cleanup's) chain, each message once,
    /// then every cleanup error on a line of its own — what `Display` and `source()` alone
    /// cannot show, since cleanup errors ride *beside* the body's error, not in its chain.
    ///
    /// ```
    /// use tenure::ExitStack;
    /// let err = ExitStack::scope(|s| {
    ///     s.named("flush").try_callback(|| Err(std::io::Error::other("disk full")));
    ///     Err::<(), _>(std::io::Error::other("query failed"))
    /// }).unwrap_err();
    /// assert_eq!(err.to_string(), "query failed (+1 cleanup error)");
    /// assert_eq!(
    ///     err.report().to_string(),
    ///     "query failed (+1 cleanup error)\n  cleanup: cleanup callback failed: `flush`: disk full"
    /// );
    /// ```
    pub fn report(&self) -> Report<'_> {
        let cleanup = match self {
            ScopeError::Body { cleanup, .. } => cleanup.as_ref(),
            _ => None,
        };
        Report::new(self).with_cleanup(cleanup)
    }
}

/// Transparent over what it carries: a body error's message (plus the count of cleanup
/// errors beside it) or the cleanup error's; `source()` is then *that* error's source, so
/// a chain printed from a `ScopeError` shows each message once.
impl<E: fmt::Display> fmt::Display for ScopeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Body { error, cleanup } => {
                write!(f, "{error}")?;
                if let Some(c) = cleanup {
                    let n = 1 + c.suppressed().len();
                    write!(f, " (+{n} cleanup error{})", if n == 1 { "" } else { "s" })?;
                }
                Ok(())
            }
            ScopeError::Cleanup(e) => write!(f, "{e}"),
            ScopeError::Suppressed(e) => write!(f, "suppressed: {e}"),
        }
    }
}

impl<E: StdError + 'static> StdError for ScopeError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ScopeError::Body { error, .. } | ScopeError::Suppressed(error) => error.source(),
            ScopeError::Cleanup(e) => e.source(),
        }
    }
}
