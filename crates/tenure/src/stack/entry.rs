//! The entries of an [`ExitStack`] and the state one close threads through them.

use std::any::{type_name, Any};
use std::borrow::Cow;

use super::{Exit, ExitStack};
use crate::error::BoxError;
use crate::{Close, Error, Outcome};

/// The state one `close` threads through the entries it runs.
pub(super) struct Unwinding<'o> {
    pub(super) body: Outcome<'o>,
    pub(super) body_error_active: bool,
    pub(super) errors: Vec<Error>,
    pub(super) panic: Option<Box<dyn Any + Send>>,
}

impl Unwinding<'_> {
    /// Whether an exit callback suppressed the body's error.
    pub(super) fn body_suppressed(&self) -> bool {
        matches!(self.body, Outcome::Error(_)) && !self.body_error_active
    }

    /// What the next exit callback sees: a panic first, then the body's error while it is
    /// not suppressed, then the latest cleanup error.
    fn outcome(&self) -> Outcome<'_> {
        if self.body.is_panic() {
            return self.body;
        }
        if let Some(p) = &self.panic {
            return Outcome::Panic(&**p);
        }
        if self.body_error_active || matches!(self.body, Outcome::Cancelled) {
            return self.body;
        }
        match self.errors.last() {
            Some(e) => Outcome::Error(e),
            None => Outcome::Success,
        }
    }

    fn apply(&mut self, exit: Exit) {
        if exit != Exit::Suppress || self.body.is_panic() || self.panic.is_some() {
            return;
        }
        if self.body_error_active && matches!(self.body, Outcome::Error(_)) {
            self.body_error_active = false;
        } else if !matches!(self.body, Outcome::Cancelled) {
            if let Some(e) = self.errors.pop() {
                tracing::debug!(target: "tenure", "cleanup error suppressed by an exit callback: {e}");
            }
        }
    }
}

/// One entry of the stack; each kind knows how to run itself exactly once.
pub(super) trait Entry<'a> {
    fn run(self: Box<Self>, state: &mut Unwinding<'_>);
    fn resource(&mut self) -> Option<&mut dyn Any> {
        None
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        None
    }
}

pub(super) struct Callback<F>(pub(super) F);
impl<'a, F: FnOnce() + 'a> Entry<'a> for Callback<F> {
    #[inline]
    fn run(self: Box<Self>, _: &mut Unwinding<'_>) {
        (self.0)()
    }
}

pub(super) struct TryCallback<F> {
    pub(super) f: F,
    pub(super) name: Option<Cow<'static, str>>,
}
impl<'a, F, E> Entry<'a> for TryCallback<F>
where
    F: FnOnce() -> Result<(), E> + 'a,
    E: Into<BoxError>,
{
    fn run(self: Box<Self>, state: &mut Unwinding<'_>) {
        let TryCallback { f, name } = *self;
        if let Err(e) = f() {
            let name = name.unwrap_or(Cow::Borrowed(type_name::<F>()));
            state.errors.push(Error::callback(name, e));
        }
    }
}

pub(super) struct ExitCallback<F> {
    pub(super) f: F,
    pub(super) name: Option<Cow<'static, str>>,
}
impl<'a, F, E> Entry<'a> for ExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + 'a,
    E: Into<BoxError>,
{
    fn run(self: Box<Self>, state: &mut Unwinding<'_>) {
        let ExitCallback { f, name } = *self;
        match f(&state.outcome()) {
            Ok(exit) => state.apply(exit),
            Err(e) => {
                let name = name.unwrap_or(Cow::Borrowed(type_name::<F>()));
                state.errors.push(Error::callback(name, e));
            }
        }
    }
}

pub(super) struct Closed<R> {
    pub(super) resource: R,
    pub(super) name: Cow<'static, str>,
}
impl<'a, R: Close + 'static> Entry<'a> for Closed<R> {
    fn run(self: Box<Self>, state: &mut Unwinding<'_>) {
        let Closed { resource, name } = *self;
        if let Err(e) = resource.close() {
            state.errors.push(Error::close(name, e));
        }
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.resource)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.resource)
    }
}

pub(super) struct Dropped<R>(pub(super) R);
impl<'a, R: 'static> Entry<'a> for Dropped<R> {
    fn run(self: Box<Self>, _: &mut Unwinding<'_>) {
        drop(self.0)
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.0)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.0)
    }
}

/// A whole stack pushed as one entry: its entries run in place, seeing the outer outcome,
/// and their errors, suppressions and panics count as the outer stack's own.
pub(super) struct Nested<'a>(pub(super) ExitStack<'a>);
impl<'a> Entry<'a> for Nested<'a> {
    fn run(mut self: Box<Self>, state: &mut Unwinding<'_>) {
        let (errors, panic, suppressed) = {
            let done = self.0.unwind(state.outcome());
            let suppressed = done.body_suppressed();
            (done.errors, done.panic, suppressed)
        };
        state.errors.extend(errors);
        if suppressed {
            state.apply(Exit::Suppress);
        }
        if let Some(payload) = panic {
            // Caught by the outer unwinding loop, which records it like any entry's panic.
            std::panic::resume_unwind(payload);
        }
    }
}
