//! The entries of an [`AsyncExitStack`](super::AsyncExitStack): what each kind of cleanup
//! keeps and how it starts when its turn comes.

use std::any::{type_name, Any};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use crate::error::BoxError;
use crate::orphan::Job;
use crate::{AsyncClose, Close, Error, Exit, Outcome};

pub(super) type EntryFuture = Pin<Box<dyn Future<Output = Result<Exit, Error>> + Send>>;

/// How an entry starts: done at once (sync cleanup), or a future to await (with the name
/// to report it under if it panics or, orphaned, times out).
pub(super) enum Started {
    Done(Result<Exit, Error>),
    Running(Cow<'static, str>, EntryFuture),
}

/// What an unnamed async callback is reported as if it panics or times out (it carries no
/// name, to keep an entry as small as in a hand-written `Vec<Pin<Box<dyn Future>>>`; the
/// `_named` pushes carry one).
pub(super) const ASYNC_CALLBACK: &str = "AsyncExitStack async callback";

/// An entry that needs the outcome, holds a resource, or is synchronous.
pub(super) trait AsyncEntry: Send {
    fn name(&self) -> Cow<'static, str>;
    fn start(self: Box<Self>, outcome: &Outcome<'_>) -> Started;
    fn resource(&mut self) -> Option<&mut dyn Any> {
        None
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        None
    }
}

/// One entry. Async callbacks are a lazy boxed future (one allocation, started when their
/// turn comes); everything else goes through [`AsyncEntry`].
pub(super) enum Entry {
    /// An infallible async callback: no result to record.
    Callback(Pin<Box<dyn Future<Output = ()> + Send>>),
    Future(EntryFuture),
    Dyn(Box<dyn AsyncEntry>),
}

impl Entry {
    /// The entry as an orphaned job that runs it with `outcome` when its turn comes.
    pub(super) fn into_job(self, panicking: bool) -> Job {
        match self {
            Entry::Callback(fut) => Job::new(
                ASYNC_CALLBACK,
                Box::pin(async move {
                    fut.await;
                    Ok(())
                }),
            ),
            Entry::Future(fut) => {
                Job::new(ASYNC_CALLBACK, Box::pin(async move { fut.await.map(drop) }))
            }
            Entry::Dyn(entry) => Job::new(
                entry.name(),
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
                    }
                }),
            ),
        }
    }
}

pub(super) struct Callback<F>(pub(super) F);
impl<F: FnOnce() + Send + 'static> AsyncEntry for Callback<F> {
    fn name(&self) -> Cow<'static, str> {
        type_name::<F>().into()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        (self.0)();
        Started::Done(Ok(Exit::Propagate))
    }
}

/// A callback's name: the one given, or the closure's type name.
pub(super) fn named<F>(name: &Option<Cow<'static, str>>) -> Cow<'static, str> {
    name.clone().unwrap_or(Cow::Borrowed(type_name::<F>()))
}

pub(super) struct TryCallback<F> {
    pub(super) f: F,
    pub(super) name: Option<Cow<'static, str>>,
}
impl<F, E> AsyncEntry for TryCallback<F>
where
    F: FnOnce() -> Result<(), E> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Cow<'static, str> {
        named::<F>(&self.name)
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let TryCallback { f, name } = *self;
        Started::Done(
            f().map(|()| Exit::Propagate)
                .map_err(|e| Error::callback(name.unwrap_or(Cow::Borrowed(type_name::<F>())), e)),
        )
    }
}

pub(super) struct TryAsyncCallback<F> {
    pub(super) f: F,
    pub(super) name: Cow<'static, str>,
}
impl<F, Fut, E> AsyncEntry for TryAsyncCallback<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Cow<'static, str> {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let TryAsyncCallback { f, name } = *self;
        // `f` runs inside the future, so that a panic in it is reported under the name too.
        Started::Running(
            name.clone(),
            Box::pin(async move {
                f().await
                    .map(|()| Exit::Propagate)
                    .map_err(|e| Error::callback(name, e))
            }),
        )
    }
}

/// An infallible async callback with a name to report it under if it panics or, orphaned,
/// misses its deadline (the unnamed kind is an [`Entry::Callback`], without one).
pub(super) struct AsyncCallback<F> {
    pub(super) f: F,
    pub(super) name: Cow<'static, str>,
}
impl<F, Fut> AsyncEntry for AsyncCallback<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn name(&self) -> Cow<'static, str> {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let AsyncCallback { f, name } = *self;
        Started::Running(
            name,
            Box::pin(async move {
                f().await;
                Ok(Exit::Propagate)
            }),
        )
    }
}

pub(super) struct ExitCallback<F> {
    pub(super) f: F,
    pub(super) name: Option<Cow<'static, str>>,
}
impl<F, E> AsyncEntry for ExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Cow<'static, str> {
        named::<F>(&self.name)
    }
    fn start(self: Box<Self>, outcome: &Outcome<'_>) -> Started {
        let ExitCallback { f, name } = *self;
        Started::Done(
            f(outcome)
                .map_err(|e| Error::callback(name.unwrap_or(Cow::Borrowed(type_name::<F>())), e)),
        )
    }
}

pub(super) struct AsyncExitCallback<F> {
    pub(super) f: F,
    pub(super) name: Option<Cow<'static, str>>,
}
impl<F, Fut, E> AsyncEntry for AsyncExitCallback<F>
where
    F: FnOnce(&Outcome<'_>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Exit, E>> + Send + 'static,
    E: Into<BoxError>,
{
    fn name(&self) -> Cow<'static, str> {
        named::<F>(&self.name)
    }
    fn start(self: Box<Self>, outcome: &Outcome<'_>) -> Started {
        let name = named::<F>(&self.name);
        let fut = (self.f)(outcome);
        Started::Running(
            name.clone(),
            Box::pin(async move { fut.await.map_err(|e| Error::callback(name, e)) }),
        )
    }
}

pub(super) struct Closed<R> {
    pub(super) resource: R,
    pub(super) name: Cow<'static, str>,
}
impl<R: AsyncClose + Send + 'static> AsyncEntry for Closed<R> {
    fn name(&self) -> Cow<'static, str> {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let Closed { resource, name } = *self;
        Started::Running(
            name.clone(),
            Box::pin(async move {
                match resource.close().await {
                    Ok(()) => Ok(Exit::Propagate),
                    Err(e) => Err(Error::close(name, e)),
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
    pub(super) name: Cow<'static, str>,
}
impl<R: Close + Send + 'static> AsyncEntry for SyncClosed<R> {
    fn name(&self) -> Cow<'static, str> {
        self.name.clone()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        let SyncClosed { resource, name } = *self;
        Started::Done(
            resource
                .close()
                .map(|()| Exit::Propagate)
                .map_err(|e| Error::close(name, e)),
        )
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.resource)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.resource)
    }
}

pub(super) struct Dropped<R>(pub(super) R);
impl<R: Send + 'static> AsyncEntry for Dropped<R> {
    fn name(&self) -> Cow<'static, str> {
        type_name::<R>().into()
    }
    fn start(self: Box<Self>, _: &Outcome<'_>) -> Started {
        drop(self.0);
        Started::Done(Ok(Exit::Propagate))
    }
    fn resource(&mut self) -> Option<&mut dyn Any> {
        Some(&mut self.0)
    }
    fn resource_ref(&self) -> Option<&dyn Any> {
        Some(&self.0)
    }
}
