//! The stack rules, in one place for [`ExitStack`](crate::ExitStack) and
//! [`AsyncExitStack`](crate::AsyncExitStack): what an exit callback sees, what suppressing
//! does, how a panic is kept, and how a closed stack becomes `close`'s result or a
//! [`ScopeError`]. The stacks differ only in how they drive their entries.
//!
//! - An exit callback sees a panic first (the body's, else the first cleanup panic), then
//!   the body's error or cancellation while it is not suppressed, then the latest cleanup
//!   error, else success.
//! - [`Exit::Suppress`] suppresses what the callback saw: the body's error, or the latest
//!   cleanup error. Panics and cancellation cannot be suppressed.
//! - The first cleanup panic resumes after every entry ran (a later one, or any while the
//!   body panicked, becomes an [`ErrorKind::Panic`](crate::ErrorKind::Panic) error).
//! - A scope's result: the body's error stays primary with cleanup errors beside it; a
//!   cleanup error takes the place of a body error that was explicitly suppressed.

use std::any::Any;
use std::borrow::Cow;
use std::panic::{self, AssertUnwindSafe, Location};

use crate::error::Error;
use crate::sink::DropReport;

/// Where a stack's reports go: its sink (sync) or its orphan tracker's (async).
pub(crate) type Report<'r> = &'r dyn Fn(DropReport);
use crate::outcome::{Exit, Outcome};
use crate::scope_error::ScopeError;
use crate::suppress::Suppress;

/// How the body ended, in whatever form a stack keeps it (an [`Outcome`], or the async
/// stack's sendable form).
pub(crate) trait Ended {
    fn outcome(&self) -> Outcome<'_>;
}

impl Ended for Outcome<'_> {
    fn outcome(&self) -> Outcome<'_> {
        *self
    }
}

/// The state one `close` threads through the entries it runs (as in `ExitStack`).
pub(crate) struct Unwinding<B> {
    pub(crate) body: B,
    pub(crate) body_error_active: bool,
    pub(crate) errors: Vec<Error>,
    pub(crate) panic: Option<Box<dyn Any + Send>>,
}

impl<B: Ended> Unwinding<B> {
    pub(crate) fn new(body: B) -> Self {
        let body_error_active = matches!(body.outcome(), Outcome::Error(_));
        Unwinding {
            body,
            body_error_active,
            errors: Vec::new(),
            panic: None,
        }
    }

    pub(crate) fn body_suppressed(&self) -> bool {
        matches!(self.body.outcome(), Outcome::Error(_)) && !self.body_error_active
    }

    /// What the next exit callback sees: a panic first, then the body's error while it is
    /// not suppressed, then the latest cleanup error.
    pub(crate) fn outcome(&self) -> Outcome<'_> {
        let body = self.body.outcome();
        if body.is_panic() {
            return body;
        }
        if let Some(p) = &self.panic {
            return Outcome::Panic(&**p);
        }
        if self.body_error_active || matches!(body, Outcome::Cancelled) {
            return body;
        }
        match self.errors.last() {
            Some(e) => Outcome::Error(e),
            None => Outcome::Success,
        }
    }

    pub(crate) fn record(&mut self, result: Result<Exit, Error>) {
        match result {
            Ok(exit) => self.apply(exit),
            Err(e) => self.errors.push(e),
        }
    }

    /// Runs the synchronous part of the entry called `name`, `f`: a panic in it is recorded
    /// under that name (the loop that drives the entries only knows "an entry").
    pub(crate) fn run_named(&mut self, name: Name, f: impl FnOnce(&mut Self, &Name)) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(self, &name))) {
            self.record_panic(name.into_cow(), payload);
        }
    }

    pub(crate) fn record_panic(&mut self, name: Cow<'static, str>, payload: Box<dyn Any + Send>) {
        if self.panic.is_none() && !self.body.outcome().is_panic() {
            self.panic = Some(payload);
        } else {
            self.errors.push(Error::panicked(name, payload));
        }
    }

    /// Applies a narrow suppression rule: to the body's error while it is active (matched
    /// whole: it is the caller's, not the stack's to change), else to the cleanup errors so
    /// far — the members of the group `close` will return — removing exactly the members
    /// it matches, nested stacks' errors included (the rest stays, in order). Panics and
    /// cancellation are never touched.
    pub(crate) fn apply_rule<P>(&mut self, rule: &Suppress<P>)
    where
        P: Fn(&(dyn std::error::Error + 'static)) -> bool,
    {
        let body = self.body.outcome();
        if body.is_panic() || self.panic.is_some() || matches!(body, Outcome::Cancelled) {
            return;
        }
        if self.body_error_active {
            let decided = rule.decide(&body);
            self.apply(decided);
            return;
        }
        // Every cleanup error so far is a member of the group `close` will return: the rule
        // treats them as it treats that group, wherever it is applied.
        let errors = std::mem::take(&mut self.errors);
        self.errors = errors.into_iter().filter_map(|e| rule.reduce(e)).collect();
    }

    #[inline]
    pub(crate) fn apply(&mut self, exit: Exit) {
        if exit != Exit::Suppress {
            return;
        }
        let body = self.body.outcome();
        if body.is_panic() || self.panic.is_some() {
            return;
        }
        if self.body_error_active && matches!(body, Outcome::Error(_)) {
            self.body_error_active = false;
        } else if !matches!(body, Outcome::Cancelled) {
            if let Some(e) = self.errors.pop() {
                tracing::debug!(target: "tenure", "cleanup error suppressed by an exit callback: {}", e.report());
            }
        }
    }
}

/// Turns a finished unwinding into `close`'s result, resuming a cleanup panic.
pub(crate) fn finish<B: Ended>(
    done: Unwinding<B>,
    report: Report<'_>,
    context: &'static str,
) -> Result<Exit, Error> {
    let suppressed = done.body_suppressed();
    if let Some(payload) = done.panic {
        if let Some(error) = Error::from_errors(done.errors) {
            report(DropReport::Cleanup { context, error });
        }
        panic::resume_unwind(payload);
    }
    match Error::from_errors(done.errors) {
        Some(e) => Err(e),
        None if suppressed => Ok(Exit::Suppress),
        None => Ok(Exit::Propagate),
    }
}

/// How a failed body's stack closed, once the unwinding (which borrows the body's error) is
/// done with: [`scope_error`](BodySettled::scope_error) then takes the error by value.
pub(crate) enum BodySettled {
    /// The body's error stays primary, with these cleanup errors beside it.
    Kept(Option<Error>),
    /// An exit callback suppressed the body's error; cleanup succeeded.
    Suppressed,
    /// An exit callback suppressed the body's error and cleanup then failed: as in Python,
    /// the cleanup error takes the suppressed one's place.
    Replaced(Error),
}

/// Settles a scope whose body failed with `error` and whose stack then closed as `done`
/// says. A cleanup panic resumes (after reporting the body error it displaces).
pub(crate) fn settle_body_error<B: Ended>(
    done: Unwinding<B>,
    error: &dyn std::fmt::Display,
    report: Report<'_>,
    context: &'static str,
) -> BodySettled {
    let suppressed = done.body_suppressed();
    if let Some(payload) = done.panic {
        // The panic resumes; what it displaces must not vanish with it: the cleanup errors,
        // then the body's error.
        if let Some(error) = Error::from_errors(done.errors) {
            report(DropReport::Cleanup { context, error });
        }
        let message = error.to_string();
        report(DropReport::BodyErrorLost { context, message });
        panic::resume_unwind(payload);
    }
    match finish(done, report, context) {
        Ok(Exit::Suppress) => BodySettled::Suppressed,
        Ok(_) => BodySettled::Kept(None),
        Err(cleanup) if suppressed => BodySettled::Replaced(cleanup),
        Err(cleanup) => BodySettled::Kept(Some(cleanup)),
    }
}

impl BodySettled {
    /// The scope's result for the body's `error`.
    pub(crate) fn scope_error<T, E>(self, error: E) -> Result<T, ScopeError<E>> {
        Err(match self {
            BodySettled::Kept(cleanup) => ScopeError::Body { error, cleanup },
            BodySettled::Suppressed => ScopeError::Suppressed(error),
            BodySettled::Replaced(cleanup) => ScopeError::Cleanup(cleanup),
        })
    }
}

/// What a stack entry is called in its errors: the name given with `named`, else something
/// a person can act on — a resource's type, when it says more than `{{closure}}`, else the
/// place it was pushed (`src/report.rs:12:9`, recorded by `#[track_caller]`).
#[derive(Debug, Clone)]
pub(crate) enum Name {
    Given(Cow<'static, str>),
    Pushed {
        ty: Option<&'static str>,
        at: &'static Location<'static>,
    },
}

impl Name {
    pub(crate) fn new(
        given: Option<Cow<'static, str>>,
        ty: Option<&'static str>,
        at: &'static Location<'static>,
    ) -> Self {
        match given {
            Some(name) => Name::Given(name),
            None => Name::Pushed { ty, at },
        }
    }

    pub(crate) fn into_cow(self) -> Cow<'static, str> {
        match self {
            Name::Given(name) => name,
            Name::Pushed { ty: Some(ty), .. } if !ty.contains("{{closure}}") => Cow::Borrowed(ty),
            Name::Pushed { at, .. } => {
                Cow::Owned(format!("{}:{}:{}", at.file(), at.line(), at.column()))
            }
        }
    }
}
