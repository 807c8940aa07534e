//! The entries of an [`AsyncExitStack`](super::AsyncExitStack): what each kind of cleanup
//! keeps and how it starts when its turn comes.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;

use crate::async_close::AsyncClose;
use crate::close::Close;
use crate::error::{BoxError, Error};
use crate::exit_rules::Name;
use crate::orphan::Job;
use crate::outcome::{Exit, Outcome};
use crate::stack_base::Slot;
use crate::suppress::{BoxedPredicate, Suppress};

pub(super) type EntryFuture = Pin<Box<dyn Future<Output = Result<Exit, Error>> + Send>>;

/// How an entry starts: done at once (sync cleanup), or a future to await (with the name
/// to report it under if it panics or, orphaned, times out).
pub(super) enum Started {
    Done(Result<Exit, Error>),
    Running(Name, EntryFuture),
    /// The entry's synchronous part panicked: the panic is the entry's, kept with its name
    /// (the loop that drives the entries only knows "an entry").
    Panicked(Name, Box<dyn Any + Send>),
}

/// Runs an entry's synchronous part, catching its panic for [`Started::Panicked`].
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Box<dyn Any + Send>> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// An entry that needs the outcome, holds a resource, is named or is synchronous.
pub(super) trait AsyncEntry: Send {
    fn name(&self) -> Name;
    fn start(self: Box<Self>, outcome: &Outcome<'_>) -> Started;
    fn resource(&mut self) -> Option<&mut dyn Any> {
        None
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        None
    }
}

/// One entry. Unnamed async callbacks are a lazy boxed future and the place they were
/// pushed (one allocation, as in a hand-written `Vec<Pin<Box<dyn Future>>>`, started when
/// their turn comes); everything else goes through [`AsyncEntry`].
pub(super) enum Entry {
    /// An infallible async callback: no result to record.
    Callback(Pin<Box<dyn Located<Output = ()>>>),
    Future(Pin<Box<dyn Located<Output = Result<Exit, Error>>>>),
    Dyn(Box<dyn AsyncEntry>),
    /// A narrow suppression rule, applied to the unwinding's state when its turn comes
    /// (boxed: an entry stays two words and a tag, as small as the common kinds).
    Rule(Box<Suppress<BoxedPredicate>>),
}

impl Slot for Entry {
    fn resource_ref(&self) -> Option<&dyn Any> {
        match self {
            Entry::Dyn(e) => e.resource_ref(),
            Entry::Callback(..) | Entry::Future(..) | Entry::Rule(_) => None,
        }
    }
    fn resource_mut(&mut self) -> Option<&mut dyn Any> {
        match self {
            Entry::Dyn(e) => e.resource(),
            Entry::Callback(..) | Entry::Future(..) | Entry::Rule(_) => None,
        }
    }
}

/// An unnamed async callback's future, which knows where it was pushed: the location
/// lives in the one allocation the future already needs, not in every entry.
pub(super) trait Located: Future + Send {
    fn at(&self) -> &'static Location<'static>;
}

pin_project_lite::pin_project! {
    /// A future and the place it was pushed.
    pub(super) struct At<F> {
        pub(super) at: &'static Location<'static>,
        #[pin]
        pub(super) fut: F,
    }
}

impl<F: Future> Future for At<F> {
    type Output = F::Output;
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        self.project().fut.poll(cx)
    }
}

impl<F: Future + Send> Located for At<F> {
    fn at(&self) -> &'static Location<'static> {
        self.at
    }
}

/// The name of an unnamed async callback pushed at `at`.
pub(super) fn pushed_at(at: &'static Location<'static>) -> Name {
    Name::new(None, None, at)
}

impl Entry {
    /// The entry as an orphaned job that runs it with `outcome` when its turn comes; `None`
    /// for a rule (orphaned cleanup runs with a panic or cancellation, which no rule can
    /// suppress).
    pub(super) fn into_job(self, panicking: bool) -> Option<Job> {
        Some(match self {
            Entry::Rule(_) => return None,
            Entry::Callback(fut) => Job::new(
                pushed_at(fut.at()).into_cow(),
                Box::pin(async move {
                    fut.await;
                    Ok(())
                }),
            ),
            Entry::Future(fut) => Job::new(
                pushed_at(fut.at()).into_cow(),
                Box::pin(async move { fut.await.map(drop) }),
            ),
            Entry::Dyn(entry) => Job::new(
                entry.name().into_cow(),
                Box::pin(async move {
                    let started = if panicking {
                        entry.start(&Outcome::Panic(
                            &"AsyncExitStack dropped while its thread was panicking",
                        ))
                    } else {
                        entry.start(&Outcome::Cancelled)
                    };
                    match started {
                        Started::Done(r) => r.map(drop),
                        Started::Running(_, fut) => fut.await.map(drop),
                        Started::Panicked(_, payload) => panic::resume_unwind(payload),
                    }
                }),
            ),
        })
    }
}

pub(super) struct Callback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<F: FnOnce() + Send + 'static> AsyncEntry for Callback<F> {
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let Callback { f, name } = *self;
        match catch(f) {
            Ok(()) => Started::Done(Ok(Exit::Propagate)),
            Err(payload) => Started::Panicked(name, payload),
        }
    }
}

pub(super) struct TryCallback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<F, E> AsyncEntry for TryCallback<F>
where
    F: FnOnce() -> Result<(), E> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let TryCallback { f, name } = *self;
        match catch(f) {
            Ok(result) => Started::Done(
                result
                    .map(|()| Exit::Propagate)
                    .map_err(|e| Error::callback(name.into_cow(), e)),
            ),
            Err(payload) => Started::Panicked(name, payload),
        }
    }
}

/// A named async callback, fallible or not (`E` is `Infallible` for the infallible kind).
pub(super) struct AsyncCallback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<F, Fut, E> AsyncEntry for AsyncCallback<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let AsyncCallback { f, name } = *self;
        let reported = name.clone();
        // `f` runs inside the future, so that a panic in it is reported under the name too.
        Started::Running(
            name,
            Box::pin(async move {
                f().await
                    .map(|()| Exit::Propagate)
                    .map_err(|e| Error::callback(reported.into_cow(), e))
            }),
        )
    }
}

/// A sync exit callback, fallible or not.
pub(super) struct ExitCallback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<F, E> AsyncEntry for ExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, outcome: &Outcome<'_>) -> Started {
        let ExitCallback { f, name } = *self;
        match catch(|| f(outcome)) {
            Ok(result) => Started::Done(result.map_err(|e| Error::callback(name.into_cow(), e))),
            Err(payload) => Started::Panicked(name, payload),
        }
    }
}

/// An async exit callback, fallible or not.
pub(super) struct AsyncExitCallback<F> {
    pub(super) f: F,
    pub(super) name: Name,
}
impl<F, Fut, E> AsyncEntry for AsyncExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Exit, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, outcome: &Outcome<'_>) -> Started {
        let AsyncExitCallback { f, name } = *self;
        let fut = match catch(|| f(outcome)) {
            Ok(fut) => fut,
            Err(payload) => return Started::Panicked(name, payload),
        };
        let reported = name.clone();
        Started::Running(
            name,
            Box::pin(async move {
                fut.await
                    .map_err(|e| Error::callback(reported.into_cow(), e))
            }),
        )
    }
}

pub(super) struct Closed<R> {
    pub(super) resource: R,
    pub(super) name: Name,
}
impl<R: AsyncClose + Send + 'static> AsyncEntry for Closed<R> {
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let Closed { resource, name } = *self;
        let reported = name.clone();
        Started::Running(
            name,
            Box::pin(async move {
                match resource.close().await {
                    Ok(()) => Ok(Exit::Propagate),
                    Err(e) => Err(Error::close(reported.into_cow(), e)),
                }
            }),
        )
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.resource)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.resource)
    }
}

pub(super) struct SyncClosed<R> {
    pub(super) resource: R,
    pub(super) name: Name,
}
impl<R: Close + Send + 'static> AsyncEntry for SyncClosed<R> {
    fn name(&self) -> Name {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let SyncClosed { resource, name } = *self;
        match catch(|| resource.close()) {
            Ok(result) => Started::Done(
                result
                    .map(|()| Exit::Propagate)
                    .map_err(|e| Error::close(name.into_cow(), e)),
            ),
            Err(payload) => Started::Panicked(name, payload),
        }
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.resource)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.resource)
    }
}
