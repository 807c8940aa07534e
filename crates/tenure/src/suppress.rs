//! Explicit, narrow error suppression: by predicate, by `io::ErrorKind`, by error type.
//!
//! Nothing in tenure suppresses an error unless one of these is written at the call site.
//! A [`Suppress`] can be pushed on an [`ExitStack`](crate::ExitStack) as an exit callback
//! (Python's `stack.enter_context(suppress(BrokenPipeError))`, or the seed's `StreamWriter`
//! returning `True` from `__exit__` for `BrokenPipeError`), or applied to a single `Result`
//! with [`Suppress::on`]. A match is looked for in the error and along its
//! [`source`](std::error::Error::source) chain, so a broken pipe wrapped by a close error
//! still matches. Every suppression is logged at `debug` level under the `tenure` target.
//!
//! ```
//! use std::io::{self, ErrorKind, Write};
//! use tenure::suppress;
//!
//! struct ClosedPipe;
//! impl Write for ClosedPipe {
//!     fn write(&mut self, _: &[u8]) -> io::Result<usize> { Err(ErrorKind::BrokenPipe.into()) }
//!     fn flush(&mut self) -> io::Result<()> { Ok(()) }
//! }
//!
//! // The client went away: expected, not an error.
//! let r = suppress::io_kind(ErrorKind::BrokenPipe).on(ClosedPipe.write_all(b"hi"));
//! assert_eq!(r.unwrap(), None);
//!
//! // Any other error still propagates.
//! let r = suppress::io_kind(ErrorKind::BrokenPipe).on(Err::<(), _>(io::Error::other("disk full")));
//! assert!(r.is_err());
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use crate::error::Error;

use crate::outcome::{Exit, Outcome};

/// A narrow rule saying which errors to suppress; made by [`when`], [`io_kind`] or
/// [`error_type`], combined with [`or`](Suppress::or). A rule is `Clone` (when its
/// predicate is), so one rule can be pushed onto several stacks.
///
/// ```
/// let s = tenure::suppress::io_kind(std::io::ErrorKind::NotFound);
/// assert!(s.matches(&std::io::Error::from(std::io::ErrorKind::NotFound)));
/// assert_eq!(s.describe(), "io::ErrorKind::NotFound");
/// ```
#[derive(Clone)]
pub struct Suppress<P> {
    predicate: P,
    what: Cow<'static, str>,
}

/// Suppress errors for which `predicate` returns `true`; `what` names the rule in logs.
///
/// ```
/// use tenure::suppress;
/// let s = suppress::when("timeouts", |e| e.to_string().contains("timed out"));
/// assert!(s.on(Err::<(), _>(std::io::Error::other("read timed out"))).is_ok());
/// ```
pub fn when<P>(what: impl Into<Cow<'static, str>>, predicate: P) -> Suppress<P>
where
    P: Fn(&(dyn StdError + 'static)) -> bool,
{
    Suppress {
        predicate,
        what: what.into(),
    }
}

/// Suppress `std::io::Error`s of one kind, such as `BrokenPipe` when a client disconnects.
///
/// ```
/// use std::io::ErrorKind;
/// let s = tenure::suppress::io_kind(ErrorKind::BrokenPipe);
/// assert!(s.matches(&std::io::Error::from(ErrorKind::BrokenPipe)));
/// assert!(!s.matches(&std::io::Error::from(ErrorKind::NotFound)));
/// ```
pub fn io_kind(
    kind: std::io::ErrorKind,
) -> Suppress<impl Fn(&(dyn StdError + 'static)) -> bool + Clone + Send + Sync> {
    when(format!("io::ErrorKind::{kind:?}"), move |e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

/// Suppress errors of type `E`.
///
/// ```
/// let s = tenure::suppress::error_type::<std::fmt::Error>();
/// assert!(s.matches(&std::fmt::Error));
/// assert!(!s.matches(&std::io::Error::other("x")));
/// ```
pub fn error_type<E: StdError + 'static>(
) -> Suppress<impl Fn(&(dyn StdError + 'static)) -> bool + Clone + Send + Sync> {
    when(std::any::type_name::<E>(), |e| e.is::<E>())
}

impl<P> Suppress<P>
where
    P: Fn(&(dyn StdError + 'static)) -> bool,
{
    /// Whether this rule suppresses `error` *whole*: the error or a link of its
    /// [`source`](std::error::Error::source) chain matches — and, for a group (a
    /// [`tenure::Error`](crate::Error) with suppressed members, such as a stack's `close`
    /// error, also when it is the cause of another error), *every* member does. A group of
    /// which only some members match is not suppressed whole: [`on`](Self::on) and a rule
    /// pushed on a stack remove exactly those members and let the rest propagate.
    ///
    /// ```
    /// use std::io::{self, ErrorKind};
    /// use tenure::{suppress, Error};
    /// let rule = suppress::io_kind(ErrorKind::BrokenPipe);
    /// let wrapped = Error::close("socket", io::Error::from(ErrorKind::BrokenPipe));
    /// assert!(rule.matches(&wrapped));
    /// let mixed = Error::from_errors([
    ///     Error::close("socket", io::Error::from(ErrorKind::BrokenPipe)),
    ///     Error::close("file", io::Error::other("disk full")),
    /// ]).unwrap();
    /// assert!(!rule.matches(&mixed)); // the full disk is not a broken pipe
    /// ```
    pub fn matches(&self, error: &(dyn StdError + 'static)) -> bool {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(group) = e.downcast_ref::<Error>() {
                return group.fully_matches(&self.predicate);
            }
            if (self.predicate)(e) {
                return true;
            }
            next = e.source();
        }
        false
    }

    /// Applies the rule to an owned cleanup error: removes exactly the members it matches
    /// (see [`on`](Self::on)); `None` when every member matched. Logs what it removed.
    pub(crate) fn reduce(&self, error: Error) -> Option<Error> {
        let before = tracing::enabled!(target: "tenure", tracing::Level::DEBUG)
            .then(|| (error.iter().count(), error.report().to_string()));
        let rest = error.reduce(&self.predicate);
        if let Some((n, report)) = before {
            let left = rest.as_ref().map_or(0, |e| e.iter().count());
            if left < n {
                tracing::debug!(
                    target: "tenure",
                    rule = %self.what,
                    removed = n - left,
                    kept = left,
                    "cleanup errors suppressed from: {report}"
                );
            }
        }
        rest
    }

    /// A rule that suppresses what either rule does: "this or that", named after both.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tenure::suppress;
    /// let gone = suppress::io_kind(ErrorKind::BrokenPipe).or(suppress::io_kind(ErrorKind::ConnectionReset));
    /// assert!(gone.matches(&std::io::Error::from(ErrorKind::ConnectionReset)));
    /// assert!(!gone.matches(&std::io::Error::from(ErrorKind::NotFound)));
    /// assert_eq!(gone.describe(), "io::ErrorKind::BrokenPipe or io::ErrorKind::ConnectionReset");
    /// ```
    pub fn or<Q>(
        self,
        other: Suppress<Q>,
    ) -> Suppress<impl Fn(&(dyn StdError + 'static)) -> bool + Clone>
    where
        P: Clone,
        Q: Fn(&(dyn StdError + 'static)) -> bool + Clone,
    {
        let (p, q) = (self.predicate, other.predicate);
        Suppress {
            what: format!("{} or {}", self.what, other.what).into(),
            predicate: move |e: &(dyn StdError + 'static)| p(e) || q(e),
        }
    }

    /// The rule's name, as it appears in logs.
    ///
    /// ```
    /// assert_eq!(tenure::suppress::when("mine", |_| true).describe(), "mine");
    /// ```
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// The decision for an exit callback: [`Exit::Suppress`] for an error outcome this rule
    /// matches, [`Exit::Propagate`] for everything else (panics and cancellation included).
    ///
    /// ```
    /// use tenure::{Exit, Outcome};
    /// let s = tenure::suppress::error_type::<std::fmt::Error>();
    /// assert_eq!(s.decide(&Outcome::Error(&std::fmt::Error)), Exit::Suppress);
    /// assert_eq!(s.decide(&Outcome::Success), Exit::Propagate);
    /// ```
    pub fn decide(&self, outcome: &Outcome<'_>) -> Exit {
        match outcome.error() {
            Some(e) if self.matches(e) => {
                tracing::debug!(target: "tenure", rule = %self.what, "error suppressed: {}", crate::error::Report::new(e));
                Exit::Suppress
            }
            _ => Exit::Propagate,
        }
    }

    /// Applies the rule to one result: `Ok(Some(v))` for success, `Ok(None)` for a
    /// suppressed error, `Err(e)` for any other error. When the error is a group (a
    /// [`tenure::Error`](crate::Error) with suppressed members, as a stack's `close`
    /// returns), the rule removes exactly the members it matches — the primary and/or
    /// suppressed ones, and inside a nested stack's error — and the rest come back as a
    /// group in their original order (the first remaining becomes primary); a group in which
    /// every member matches is suppressed whole. Any other error is matched as a whole.
    ///
    /// ```
    /// use std::io::{self, ErrorKind};
    /// use tenure::{suppress, ExitStack};
    /// let s = suppress::error_type::<std::fmt::Error>();
    /// assert_eq!(s.on(Ok::<_, std::fmt::Error>(3)).unwrap(), Some(3));
    /// assert_eq!(s.on(Err::<i32, _>(std::fmt::Error)).unwrap(), None);
    ///
    /// let mut stack = ExitStack::new();
    /// stack.named("log").try_callback(|| Err(io::Error::other("disk full")));
    /// stack.named("socket").try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    /// let rest = suppress::io_kind(ErrorKind::BrokenPipe).on(stack.close()).unwrap_err();
    /// assert_eq!(rest.resource(), "log"); // the broken pipe is gone, the full disk is not
    /// assert!(rest.suppressed().is_empty());
    /// ```
    pub fn on<T, E: StdError + 'static>(&self, result: Result<T, E>) -> Result<Option<T>, E> {
        let e = match result {
            Ok(v) => return Ok(Some(v)),
            Err(e) => e,
        };
        let mut slot = Some(e);
        if let Some(group) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Error>>() {
            let error = group.take().expect("just filled");
            return match self.reduce(error) {
                None => Ok(None),
                Some(rest) => {
                    *group = Some(rest);
                    Err(slot.expect("refilled above"))
                }
            };
        }
        let e = slot.expect("still there");
        if self.decide(&Outcome::Error(&e)) == Exit::Suppress {
            Ok(None)
        } else {
            Err(e)
        }
    }

    /// The rule with its predicate boxed, so rules of any type fit one entry kind.
    pub(crate) fn boxed(self) -> Suppress<BoxedPredicate>
    where
        P: Send + 'static,
    {
        Suppress {
            predicate: Box::new(self.predicate),
            what: self.what,
        }
    }
}

/// A rule's predicate, boxed (see [`Suppress::boxed`]).
pub(crate) type BoxedPredicate = Box<dyn Fn(&(dyn StdError + 'static)) -> bool + Send>;

impl<P> fmt::Debug for Suppress<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Suppress").field(&self.what).finish()
    }
}
