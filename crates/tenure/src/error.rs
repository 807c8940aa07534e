//! The error model: what went wrong while releasing, which resource, and everything else
//! that also went wrong.
//!
//! A cleanup error names the resource and the operation and keeps its cause as
//! [`source`](std::error::Error::source). When several cleanups fail, the first one (in the
//! order they ran) is the *primary* error and the others ride along, in order, as
//! [`suppressed`](Error::suppressed) — Java's `addSuppressed` model. Nothing is dropped.
//!
//! ```
//! use tenure::{Error, ErrorKind};
//!
//! let first = Error::close("db connection", std::io::Error::other("socket reset"));
//! let second = Error::callback("remove temp file", std::io::Error::other("permission denied"));
//! let all = Error::from_errors([first, second]).unwrap();
//!
//! assert_eq!(all.kind(), ErrorKind::Close);
//! assert_eq!(all.resource(), "db connection");
//! assert_eq!(all.suppressed().len(), 1);
//! // `Display` says what this layer did; the cause is its `source()` (Rust's convention, so
//! // anyhow's `{:#}` or `std::error::Report` print each message once) ...
//! assert_eq!(all.to_string(), "failed to close `db connection` (+1 suppressed cleanup error)");
//! // ... and `report()` renders everything: the chain and every suppressed member.
//! assert_eq!(
//!     all.report().to_string(),
//!     "failed to close `db connection` (+1 suppressed cleanup error): socket reset\n\
//!      \x20 suppressed: cleanup callback failed: `remove temp file`: permission denied"
//! );
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

pub use crate::dyn_error::DynError;

/// A boxed error that can cross threads; the cause carried by an [`Error`].
///
/// ```
/// let cause: tenure::error::BoxError = "socket reset".into();
/// let e = tenure::Error::close("conn", cause);
/// assert_eq!(e.report().to_string(), "failed to close `conn`: socket reset");
/// ```
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Which cleanup operation failed.
///
/// ```
/// let e = tenure::Error::panicked("flush", Box::new("boom"));
/// assert_eq!(e.kind(), tenure::ErrorKind::Panic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Releasing a resource (its [`Close`](crate::Close) implementation) failed.
    Close,
    /// A cleanup callback returned an error.
    Callback,
    /// A cleanup panicked. Where the panic could not simply resume (async cleanup, or a
    /// cleanup running while the thread already unwinds), it is reported as this error.
    Panic,
    /// An async cleanup did not finish within its deadline.
    Timeout,
    /// An orphaned async cleanup was given up mid-way because the runtime it was running
    /// on shut down: what it awaited (a timer, a socket of that runtime) can never complete.
    Abandoned,
    /// The resource was already released (for resources that cannot prevent this in types).
    Closed,
}

impl ErrorKind {
    fn verb(self) -> &'static str {
        match self {
            ErrorKind::Close => "failed to close",
            ErrorKind::Callback => "cleanup callback failed:",
            ErrorKind::Panic => "cleanup panicked in",
            ErrorKind::Timeout => "cleanup timed out in",
            ErrorKind::Abandoned => "cleanup abandoned in",
            ErrorKind::Closed => "already closed:",
        }
    }
}

/// A failure while releasing a resource or running a cleanup callback, with every other
/// cleanup failure of the same scope attached as [`suppressed`](Error::suppressed).
///
/// ```
/// use std::error::Error as _;
///
/// let e = tenure::Error::close("temp file /tmp/x", std::io::Error::other("busy"));
/// assert_eq!(e.resource(), "temp file /tmp/x");
/// assert_eq!(e.source().unwrap().to_string(), "busy");
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    resource: Cow<'static, str>,
    source: Option<BoxError>,
    detail: Option<String>,
    suppressed: Vec<Error>,
}

impl Error {
    /// A new error of `kind` for `resource`, caused by `source`.
    ///
    /// ```
    /// use tenure::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Close, "socket", std::io::Error::other("reset"));
    /// assert_eq!(e.to_string(), "failed to close `socket`");
    /// assert_eq!(e.report().to_string(), "failed to close `socket`: reset");
    /// ```
    pub fn new(
        kind: ErrorKind,
        resource: impl Into<Cow<'static, str>>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::build(kind, resource.into(), Some(source.into()), None)
    }

    fn build(
        kind: ErrorKind,
        resource: Cow<'static, str>,
        source: Option<BoxError>,
        detail: Option<String>,
    ) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                resource,
                source,
                detail,
                suppressed: Vec::new(),
            }),
        }
    }

    /// Releasing `resource` failed with `source`.
    ///
    /// ```
    /// let e = tenure::Error::close("file", std::io::Error::other("EIO"));
    /// assert_eq!(e.kind(), tenure::ErrorKind::Close);
    /// ```
    pub fn close(resource: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Close, resource, source)
    }

    /// The cleanup callback `name` failed with `source`.
    ///
    /// ```
    /// let e = tenure::Error::callback("unlink", std::io::Error::other("EPERM"));
    /// assert_eq!(e.to_string(), "cleanup callback failed: `unlink`");
    /// assert_eq!(e.report().to_string(), "cleanup callback failed: `unlink`: EPERM");
    /// ```
    pub fn callback(name: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Callback, name, source)
    }

    /// The cleanup `name` panicked with `payload` (the message is kept when it is a string).
    ///
    /// ```
    /// let e = tenure::Error::panicked("close conn", Box::new("boom"));
    /// assert_eq!(e.to_string(), "cleanup panicked in `close conn`: boom");
    /// ```
    pub fn panicked(name: impl Into<Cow<'static, str>>, payload: Box<dyn Any + Send>) -> Self {
        let msg = panic_message(&*payload)
            .unwrap_or("<non-string panic payload>")
            .to_string();
        Self::build(ErrorKind::Panic, name.into(), None, Some(msg))
    }

    /// The async cleanup `name` did not finish within `deadline`.
    ///
    /// ```
    /// let e = tenure::Error::timed_out("close conn", std::time::Duration::from_secs(5));
    /// assert_eq!(e.to_string(), "cleanup timed out in `close conn`: not finished after 5s");
    /// ```
    pub fn timed_out(name: impl Into<Cow<'static, str>>, deadline: Duration) -> Self {
        Self::build(
            ErrorKind::Timeout,
            name.into(),
            None,
            Some(format!("not finished after {deadline:?}")),
        )
    }

    /// The work `name` ran past its bound `deadline` (and was given up on), then ended with
    /// `source`: what a pool reports of abandoned blocking work that failed later.
    #[cfg(feature = "pool")]
    pub(crate) fn failed_past(
        name: impl Into<Cow<'static, str>>,
        deadline: Duration,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::build(
            ErrorKind::Timeout,
            name.into(),
            Some(source.into()),
            Some(format!("not finished after {deadline:?}, failed later")),
        )
    }

    /// The orphaned async cleanup `name` was given up mid-way: its runtime shut down.
    ///
    /// ```
    /// let e = tenure::Error::abandoned("close conn");
    /// assert_eq!(e.kind(), tenure::ErrorKind::Abandoned);
    /// assert_eq!(e.to_string(), "cleanup abandoned in `close conn`: its runtime shut down while it ran");
    /// ```
    pub fn abandoned(name: impl Into<Cow<'static, str>>) -> Self {
        Self::build(
            ErrorKind::Abandoned,
            name.into(),
            None,
            Some("its runtime shut down while it ran".to_string()),
        )
    }

    /// `resource` was used or released after it had already been released.
    ///
    /// ```
    /// let e = tenure::Error::closed("accumulator");
    /// assert_eq!(e.to_string(), "already closed: `accumulator`");
    /// ```
    pub fn closed(resource: impl Into<Cow<'static, str>>) -> Self {
        Self::build(ErrorKind::Closed, resource.into(), None, None)
    }

    /// One error from several: the first is primary, the rest become its suppressed
    /// errors in order. `None` when there are none.
    ///
    /// ```
    /// let errs = (0..3).map(|i| tenure::Error::callback(format!("cb{i}"), std::fmt::Error));
    /// let e = tenure::Error::from_errors(errs).unwrap();
    /// assert_eq!(e.resource(), "cb0");
    /// let rest: Vec<_> = e.suppressed().iter().map(|s| s.resource().to_string()).collect();
    /// assert_eq!(rest, ["cb1", "cb2"]);
    /// ```
    pub fn from_errors(errors: impl IntoIterator<Item = Error>) -> Option<Error> {
        let mut iter = errors.into_iter();
        let mut primary = iter.next()?;
        primary.inner.suppressed.extend(iter);
        Some(primary)
    }

    /// Which operation failed.
    ///
    /// ```
    /// assert_eq!(tenure::Error::closed("x").kind(), tenure::ErrorKind::Closed);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The resource or callback that failed.
    ///
    /// ```
    /// assert_eq!(tenure::Error::closed("pool").resource(), "pool");
    /// ```
    pub fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// The panic message or timeout detail, for [`ErrorKind::Panic`] and
    /// [`ErrorKind::Timeout`].
    ///
    /// ```
    /// let e = tenure::Error::panicked("x", Box::new(String::from("bad state")));
    /// assert_eq!(e.detail(), Some("bad state"));
    /// ```
    pub fn detail(&self) -> Option<&str> {
        self.inner.detail.as_deref()
    }

    /// The other cleanup errors of the same scope, in the order they happened.
    ///
    /// ```
    /// let mut e = tenure::Error::closed("a");
    /// e.add_suppressed(tenure::Error::closed("b"));
    /// assert_eq!(e.suppressed()[0].resource(), "b");
    /// ```
    pub fn suppressed(&self) -> &[Error] {
        &self.inner.suppressed
    }

    /// Attaches another cleanup error that happened after this one.
    ///
    /// ```
    /// let mut e = tenure::Error::closed("a");
    /// e.add_suppressed(tenure::Error::closed("b"));
    /// assert_eq!(e.suppressed().len(), 1);
    /// ```
    pub fn add_suppressed(&mut self, other: Error) {
        self.inner.suppressed.push(other);
    }

    /// Takes the suppressed errors out, leaving none.
    ///
    /// ```
    /// let mut e = tenure::Error::from_errors([tenure::Error::closed("a"), tenure::Error::closed("b")]).unwrap();
    /// assert_eq!(e.take_suppressed().len(), 1);
    /// assert!(e.suppressed().is_empty());
    /// ```
    pub fn take_suppressed(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.inner.suppressed)
    }

    /// This error and all its suppressed errors (recursively), primary first.
    ///
    /// ```
    /// let e = tenure::Error::from_errors([tenure::Error::closed("a"), tenure::Error::closed("b")]).unwrap();
    /// let names: Vec<_> = e.iter().map(|e| e.resource()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Error> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            stack.extend(next.suppressed().iter().rev());
            Some(next)
        })
    }

    /// The cause, downcast to `T`, if it is one.
    ///
    /// ```
    /// let e = tenure::Error::close("f", std::io::Error::from(std::io::ErrorKind::BrokenPipe));
    /// assert_eq!(e.cause::<std::io::Error>().unwrap().kind(), std::io::ErrorKind::BrokenPipe);
    /// ```
    pub fn cause<T: StdError + 'static>(&self) -> Option<&T> {
        self.inner.source.as_deref()?.downcast_ref::<T>()
    }

    /// Renders this error completely: its [`source`](StdError::source) chain on one line
    /// (`": "` between links, as anyhow's `{:#}` does), then every suppressed error — of
    /// this error and of any `tenure::Error` in its chain (a nested stack's) — on a line
    /// of its own, indented by depth. `Display` alone says only what this layer did; this
    /// is what tenure's own reporters print.
    ///
    /// ```
    /// let inner = tenure::Error::from_errors([
    ///     tenure::Error::callback("flush", std::io::Error::other("disk full")),
    ///     tenure::Error::close("socket", std::io::Error::other("reset")),
    /// ]).unwrap();
    /// let outer = tenure::Error::close("inner stack", inner);
    /// assert_eq!(
    ///     outer.report().to_string(),
    ///     "failed to close `inner stack`: cleanup callback failed: `flush` \
    ///      (+1 suppressed cleanup error): disk full\n\
    ///      \x20   suppressed: failed to close `socket`: reset"
    /// );
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report::new(self)
    }
}

/// Renders an error completely: its `source()` chain, each message once, and every error
/// suppressed along it (made by [`Error::report`], [`ScopeError::report`](crate::ScopeError::report)
/// or [`Report::new`] for any error).
///
/// ```
/// use tenure::error::Report;
/// let e = tenure::Error::close("file", std::io::Error::other("EIO"));
/// let wrapped = std::io::Error::other(e); // any error whose chain holds a tenure::Error
/// assert_eq!(Report::new(&wrapped).to_string(), "failed to close `file`: EIO");
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a> {
    error: &'a (dyn StdError + 'static),
    cleanup: Option<&'a Error>,
}

impl<'a> Report<'a> {
    /// A report of `error` and everything reachable from it.
    ///
    /// ```
    /// let e = std::io::Error::other("plain");
    /// assert_eq!(tenure::error::Report::new(&e).to_string(), "plain");
    /// ```
    pub fn new(error: &'a (dyn StdError + 'static)) -> Self {
        Report {
            error,
            cleanup: None,
        }
    }

    /// Adds cleanup errors that ride beside `error` but are not on its chain (a scope's).
    pub(crate) fn with_cleanup(mut self, cleanup: Option<&'a Error>) -> Self {
        self.cleanup = cleanup;
        self
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_report(f, self.error, 0)?;
        if let Some(cleanup) = self.cleanup {
            f.write_str("\n  cleanup: ")?;
            write_report(f, cleanup, 1)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The chain of `error` on one line, then the suppressed errors of every `tenure::Error`
/// in it, each rendered the same way one level deeper.
fn write_report(
    f: &mut fmt::Formatter<'_>,
    error: &(dyn StdError + 'static),
    depth: usize,
) -> fmt::Result {
    write!(f, "{error}")?;
    let mut next = error.source();
    while let Some(e) = next {
        write!(f, ": {e}")?;
        next = e.source();
    }
    // Members of a group that is a cause (a nested stack's errors) sit inside that link:
    // one level deeper per link; then this error's own suppressed ones, as its siblings.
    let mut link = error.source();
    let mut inner_depth = depth + 2;
    while let Some(e) = link {
        if let Some(group) = e.downcast_ref::<Error>() {
            for member in group.suppressed() {
                write!(f, "\n{:width$}suppressed: ", "", width = 2 * inner_depth)?;
                write_report(f, member, inner_depth)?;
            }
        }
        link = e.source();
        inner_depth += 1;
    }
    if let Some(group) = error.downcast_ref::<Error>() {
        for member in group.suppressed() {
            write!(f, "\n{:width$}suppressed: ", "", width = 2 * (depth + 1))?;
            write_report(f, member, depth + 1)?;
        }
    }
    Ok(())
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.inner.kind.verb(), self.inner.resource)?;
        // The cause is `source()`'s, never repeated here; a panic message or a timeout's
        // detail has no error of its own, so it is this layer's to say.
        if let Some(detail) = &self.inner.detail {
            write!(f, ": {detail}")?;
        }
        match self.inner.suppressed.len() {
            0 => Ok(()),
            1 => f.write_str(" (+1 suppressed cleanup error)"),
            n => write!(f, " (+{n} suppressed cleanup errors)"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("resource", &self.inner.resource);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        if let Some(detail) = &self.inner.detail {
            d.field("detail", detail);
        }
        if !self.inner.suppressed.is_empty() {
            d.field("suppressed", &self.inner.suppressed);
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// `error` and its whole `source()` chain on one line, each message once (no suppressed
/// members: reporters that list those list them one by one).
pub(crate) fn chain<'a>(error: &'a (dyn StdError + 'static)) -> impl fmt::Display + 'a {
    struct Chain<'a>(&'a (dyn StdError + 'static));
    impl fmt::Display for Chain<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.0)?;
            let mut next = self.0.source();
            while let Some(e) = next {
                write!(f, ": {e}")?;
                next = e.source();
            }
            Ok(())
        }
    }
    Chain(error)
}

/// A per-link predicate: does this one error (not its chain) match a rule?
pub(crate) type LinkMatch<'p> = &'p dyn Fn(&(dyn StdError + 'static)) -> bool;

impl Error {
    /// Removes exactly the members that `matches` — the primary and/or suppressed ones —
    /// keeping the rest in their original order (the first remaining becomes primary).
    /// A member matches if `matches` holds for a link of its chain before any nested group
    /// (a `tenure::Error` as its direct cause, a nested stack's close error), which is
    /// reduced in place; a member whose nested group is emptied is removed too. `None` when
    /// every member matched.
    pub(crate) fn reduce(mut self, matches: LinkMatch<'_>) -> Option<Error> {
        let suppressed = self.take_suppressed();
        let kept = std::iter::once(self)
            .chain(suppressed)
            .filter_map(|member| member.reduce_member(matches));
        Error::from_errors(kept.collect::<Vec<_>>())
    }

    /// One member (its own suppressed ones already taken apart): `None` if it matches.
    fn reduce_member(mut self, matches: LinkMatch<'_>) -> Option<Error> {
        if !self.inner.suppressed.is_empty() {
            // A member that is itself a group (made with `add_suppressed`): reduce it.
            return self.reduce(matches);
        }
        if matches(&self) {
            return None;
        }
        let nested = self
            .inner
            .source
            .as_deref()
            .is_some_and(|s| s.is::<Error>());
        if nested {
            let source = self.inner.source.take().expect("checked above");
            let group = *source.downcast::<Error>().expect("checked above");
            let rest = group.reduce(matches)?;
            self.inner.source = Some(Box::new(rest));
            return Some(self);
        }
        let mut next = StdError::source(&self);
        while let Some(link) = next {
            if matches(link) {
                return None;
            }
            next = link.source();
        }
        Some(self)
    }

    /// Whether [`reduce`](Self::reduce) would remove every member (without changing
    /// anything: for errors that are only borrowed).
    pub(crate) fn fully_matches(&self, matches: LinkMatch<'_>) -> bool {
        self.member_matches(matches) && self.suppressed().iter().all(|m| m.fully_matches(matches))
    }

    /// Whether this error as one member (its suppressed ones aside) matches, as
    /// `reduce_member` decides it.
    fn member_matches(&self, matches: LinkMatch<'_>) -> bool {
        if matches(self) {
            return true;
        }
        if let Some(group) = self.cause::<Error>() {
            return group.fully_matches(matches);
        }
        let mut next = StdError::source(self);
        while let Some(link) = next {
            if matches(link) {
                return true;
            }
            next = link.source();
        }
        false
    }
}

/// The message of a panic payload, when it is a `&str` or a `String`.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}
