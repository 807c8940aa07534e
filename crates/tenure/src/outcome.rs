//! How a scope ended: the value cleanup code receives.
//!
//! Python's `__exit__(exc_type, exc_val, exc_tb)` tells a context manager whether the body
//! raised. [`Outcome`] is the Rust counterpart: a scope ends in success, with an error (which
//! the cleanup can inspect, e.g. to decide whether to suppress it), with a panic, or — for
//! async scopes — cancelled because its future was dropped before it finished.
//!
//! ```
//! use tenure::Outcome;
//!
//! fn describe(outcome: &Outcome<'_>) -> String {
//!     match outcome {
//!         Outcome::Success => "committed".to_string(),
//!         Outcome::Error(e) => format!("rolled back: {e}"),
//!         Outcome::Panic(_) => format!("rolled back after panic: {}", outcome.panic_message().unwrap_or("?")),
//!         Outcome::Cancelled => "rolled back: cancelled".to_string(),
//!         _ => "unknown".to_string(),
//!     }
//! }
//!
//! let err = std::io::Error::other("disk full");
//! assert_eq!(describe(&Outcome::Success), "committed");
//! assert_eq!(describe(&Outcome::Error(&err)), "rolled back: disk full");
//! ```

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;

/// How a scope ended, as seen by its cleanup.
///
/// The error and panic variants borrow what ended the scope, so cleanup can inspect it
/// without taking ownership (the body's error stays the caller's primary error).
///
/// ```
/// use tenure::Outcome;
///
/// let err = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
/// let outcome = Outcome::Error(&err);
/// assert!(outcome.is_failure());
/// assert_eq!(outcome.name(), "error");
/// assert_eq!(outcome.error().unwrap().to_string(), err.to_string());
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// The scope finished normally.
    Success,
    /// The scope returned an error.
    Error(&'a (dyn StdError + 'static)),
    /// The scope panicked; the payload is what `panic!` was given.
    Panic(&'a (dyn Any + Send)),
    /// The scope's future was dropped before it finished (async scopes only).
    Cancelled,
}

impl<'a> Outcome<'a> {
    /// `true` for [`Outcome::Success`].
    ///
    /// ```
    /// assert!(tenure::Outcome::Success.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// `true` for every outcome except [`Outcome::Success`].
    ///
    /// ```
    /// assert!(tenure::Outcome::Cancelled.is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        !self.is_success()
    }

    /// `true` for [`Outcome::Panic`].
    ///
    /// ```
    /// let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
    /// assert!(tenure::Outcome::Panic(&*payload).is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, Outcome::Panic(_))
    }

    /// The error that ended the scope, if it ended with one.
    ///
    /// ```
    /// let e = std::fmt::Error;
    /// assert!(tenure::Outcome::Error(&e).error().is_some());
    /// assert!(tenure::Outcome::Success.error().is_none());
    /// ```
    pub fn error(&self) -> Option<&'a (dyn StdError + 'static)> {
        match self {
            Outcome::Error(e) => Some(*e),
            _ => None,
        }
    }

    /// The panic message, when the scope panicked with a string payload
    /// (what `panic!("...")` produces).
    ///
    /// ```
    /// let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("boom"));
    /// assert_eq!(tenure::Outcome::Panic(&*payload).panic_message(), Some("boom"));
    /// ```
    pub fn panic_message(&self) -> Option<&'a str> {
        match self {
            Outcome::Panic(p) => crate::error::panic_message(*p),
            _ => None,
        }
    }

    /// A short lowercase name: `"success"`, `"error"`, `"panic"` or `"cancelled"`, as used in
    /// `tracing` events.
    ///
    /// ```
    /// assert_eq!(tenure::Outcome::Cancelled.name(), "cancelled");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error(_) => "error",
            Outcome::Panic(_) => "panic",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The outcome of a `Result`: `Success` for `Ok`, `Error` for `Err`.
    ///
    /// ```
    /// let r: Result<(), std::fmt::Error> = Err(std::fmt::Error);
    /// assert_eq!(tenure::Outcome::of(&r).name(), "error");
    /// ```
    pub fn of<T, E: StdError + 'static>(result: &'a Result<T, E>) -> Self {
        match result {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Error(e),
        }
    }
}

impl fmt::Debug for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => f.write_str("Success"),
            Outcome::Error(e) => f
                .debug_tuple("Error")
                .field(&format_args!("{}", crate::error::chain(*e)))
                .finish(),
            Outcome::Panic(_) => f
                .debug_tuple("Panic")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            Outcome::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The whole chain and any suppressed errors: this is a reporter's line.
            Outcome::Error(e) => write!(f, "error: {}", crate::error::Report::new(*e)),
            Outcome::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "panic: {m}"),
                None => f.write_str("panic"),
            },
            other => f.write_str(other.name()),
        }
    }
}

/// What an exit callback decided about the error it saw.
///
/// ```
/// use tenure::{ExitStack, Exit, Outcome};
/// let mut stack = ExitStack::new();
/// stack.try_push_exit(|o: &Outcome<'_>| Ok::<_, std::convert::Infallible>(
///     if o.is_failure() { Exit::Suppress } else { Exit::Propagate }
/// ));
/// let err = std::io::Error::other("ignored");
/// assert_eq!(stack.unwind_with(Outcome::Error(&err))?, Exit::Suppress);
/// # Ok::<(), tenure::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Exit {
    /// Let the error continue (the default: nothing is suppressed unless asked).
    Propagate,
    /// Suppress the error the callback was shown. Panics and cancellation cannot be
    /// suppressed; for them this is the same as `Propagate`.
    Suppress,
}
