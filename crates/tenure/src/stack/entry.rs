//! The entries of an [`ExitStack`]: what each kind keeps and how it runs, exactly once,
//! under the stack rules of [`crate::exit_rules`].

use std::any::Any;

use crate::close::Close;
use crate::error::{BoxError, Error};
use crate::exit_rules::{Name, Unwinding};
use crate::outcome::{Exit, Outcome};
use crate::stack_base::Slot;
use crate::suppress::Suppress;

/// The unwinding state of a sync stack: the body's outcome as the caller gave it.
pub(super) type State<'o> = Unwinding<Outcome<'o>>;

/// One entry of the stack; each kind knows how to run itself exactly once.
pub(super) trait Entry<'a> {
    fn run(self: Box<Self>, state: &mut State<'_>);
    fn resource(&mut self) -> Option<&mut dyn Any> {
        None
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        None
    }
}

impl<'a> Slot for Box<dyn Entry<'a> + 'a> {
    fn resource_ref(&self) -> Option<&dyn Any> {
        (**self).resource_ref()
    }
    fn resource_mut(&mut self) -> Option<&mut dyn Any> {
        (**self).resource()
    }
}

pub(super) struct Callback<F>(pub(super) F);
impl<'a, F: FnOnce() + 'a> Entry<'a> for Callback<F> {
    #[inline]
    fn run(self: Box<Self>, _: &mut State<'_>) {
        (self.0)()
    }
}

pub(super) struct TryCallback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<'a, F, E> Entry<'a> for TryCallback<F>
where
    F: FnOnce() -> Result<(), E> + 'a,
    E: Into<BoxError>,
{
    fn run(self: Box<Self>, state: &mut State<'_>) {
        let TryCallback { f, name } = *self;
        state.run_named(name, |state, name| {
            if let Err(e) = f() {
                state
                    .errors
                    .push(Error::callback(name.clone().into_cow(), e));
            }
        });
    }
}

/// An exit callback that cannot fail.
pub(super) struct ExitCallback<F>(pub(super) F);
impl<'a, F> Entry<'a> for ExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Exit + 'a,
{
    fn run(self: Box<Self>, state: &mut State<'_>) {
        let exit = (self.0)(&state.outcome());
        state.apply(exit);
    }
}

pub(super) struct TryExitCallback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<'a, F, E> Entry<'a> for TryExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + 'a,
    E: Into<BoxError>,
{
    fn run(self: Box<Self>, state: &mut State<'_>) {
        let TryExitCallback { f, name } = *self;
        state.run_named(name, |state, name| {
            let result =
                f(&state.outcome()).map_err(|e| Error::callback(name.clone().into_cow(), e));
            state.record(result);
        });
    }
}

pub(super) struct Closed<R> {
    pub(super) resource: R,
    pub(super) name: Name,
}
impl<'a, R: Close + 'static> Entry<'a> for Closed<R> {
    fn run(self: Box<Self>, state: &mut State<'_>) {
        let Closed { resource, name } = *self;
        state.run_named(name, |state, name| {
            if let Err(e) = resource.close() {
                state.errors.push(Error::close(name.clone().into_cow(), e));
            }
        });
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.resource)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.resource)
    }
}

/// A narrow suppression rule (see [`Unwinding::apply_rule`](crate::exit_rules::Unwinding)).
pub(super) struct Rule<P>(pub(super) Suppress<P>);
impl<'a, P> Entry<'a> for Rule<P>
where
    P: Fn(&(dyn std::error::Error + 'static)) -> bool + 'a,
{
    fn run(self: Box<Self>, state: &mut State<'_>) {
        state.apply_rule(&self.0);
    }
}
