//! `AsyncExitStack`: a dynamic LIFO stack of async resources and async cleanup callbacks,
//! the Rust counterpart of Python's `contextlib.AsyncExitStack` — whose pending cleanup
//! still runs when the future that owns it is dropped.
//!
//! It does everything [`ExitStack`](crate::ExitStack) does, with the same model (last in,
//! first out; exactly once; the first cleanup error primary and the rest
//! [suppressed](crate::Error::suppressed) in order; exit callbacks that see the
//! [`Outcome`] and may [`Exit::Suppress`]; [`pop_all`](AsyncExitStack::pop_all); reuse after
//! close; [`Handle`]s), plus [`AsyncClose`] resources and async callbacks.
//! [`async_scope`] runs a body and closes the stack with the body's outcome.
//!
//! **Cancellation.** If the stack, or the scope future that owns it, or a `close()` future
//! is dropped with cleanup pending, that cleanup is not lost: it is handed to the current
//! tokio runtime as one task (or, with no runtime, run on a helper thread) that runs it in
//! the same LIFO order with [`Outcome::Cancelled`], each cleanup bounded by the stack's
//! [deadline](AsyncExitStack::with_deadline). See [`crate::orphan`] for the details.
//!
//! Because pending cleanup may outlive the future that pushed it, entries are `Send +
//! 'static`: they own what they release (the sync [`ExitStack`](crate::ExitStack) can
//! borrow; an async stack that must survive cancellation cannot).
//!
//! ```
//! use tenure::{async_scope, async_close_with, ScopeError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ScopeError<std::io::Error>> {
//! let hosts = ["db-1", "db-2", "db-3"];
//! let replies = async_scope(async |s| {
//!     let mut conns = Vec::new();
//!     for host in hosts {
//!         // connect(host).await? ...
//!         conns.push(s.enter(async_close_with(host, |h| async move {
//!             println!("closing {h}");
//!             Ok::<_, std::io::Error>(())
//!         })));
//!     }
//!     Ok::<_, std::io::Error>(conns.iter().map(|c| format!("hello from {}", *s[*c])).collect::<Vec<_>>())
//! })
//! .await?; // closed db-3, db-2, db-1 — also if this future had been dropped half-way
//! assert_eq!(replies[0], "hello from db-1");
//! # Ok(()) }
//! ```

use std::any::{type_name, Any};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::error::Error as StdError;
use std::fmt;
use std::future::{poll_fn, Future};
use std::ops::{Index, IndexMut};
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::{report_dropped, BoxError};
use crate::orphan::{self, CatchUnwind, Job, Orphans};
use crate::stack::next_id;
use crate::{AsyncClose, Close, Error, Exit, Handle, Outcome, ScopeError};

type EntryFuture = Pin<Box<dyn Future<Output = Result<Exit, Error>> + Send>>;

/// What ended the scope, in a form that can be held across `.await` in a `Send` future.
enum Body<'o> {
    Success,
    Error(&'o (dyn StdError + Send + Sync + 'static)),
    Panic(Box<dyn Any + Send>),
}

/// Either kind of body end: [`Body`] (sendable) or a caller's [`Outcome`].
trait Ended {
    fn outcome(&self) -> Outcome<'_>;
}

impl Ended for Body<'_> {
    fn outcome(&self) -> Outcome<'_> {
        match self {
            Body::Success => Outcome::Success,
            Body::Error(e) => Outcome::Error(*e),
            Body::Panic(p) => Outcome::Panic(&**p),
        }
    }
}

impl Ended for Outcome<'_> {
    fn outcome(&self) -> Outcome<'_> {
        *self
    }
}

/// The state one `close` threads through the entries it runs (as in `ExitStack`).
struct Unwinding<B> {
    body: B,
    body_error_active: bool,
    errors: Vec<Error>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<B: Ended> Unwinding<B> {
    fn new(body: B) -> Self {
        let body_error_active = matches!(body.outcome(), Outcome::Error(_));
        Unwinding {
            body,
            body_error_active,
            errors: Vec::new(),
            panic: None,
        }
    }

    fn body_suppressed(&self) -> bool {
        matches!(self.body.outcome(), Outcome::Error(_)) && !self.body_error_active
    }

    /// What the next exit callback sees: a panic first, then the body's error while it is
    /// not suppressed, then the latest cleanup error.
    fn outcome(&self) -> Outcome<'_> {
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

    fn record(&mut self, result: Result<Exit, Error>) {
        match result {
            Ok(exit) => self.apply(exit),
            Err(e) => self.errors.push(e),
        }
    }

    fn record_panic(&mut self, name: Cow<'static, str>, payload: Box<dyn Any + Send>) {
        if self.panic.is_none() && !self.body.outcome().is_panic() {
            self.panic = Some(payload);
        } else {
            self.errors.push(Error::panicked(name, payload));
        }
    }

    #[inline]
    fn apply(&mut self, exit: Exit) {
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
                tracing::debug!(target: "tenure", "cleanup error suppressed by an exit callback: {e}");
            }
        }
    }
}

/// How an entry starts: done at once (sync cleanup), or a future to await (with the name
/// to report it under if it panics or, orphaned, times out).
enum Started {
    Done(Result<Exit, Error>),
    Running(Cow<'static, str>, EntryFuture),
}

/// What an async callback is reported as if it panics or times out (it carries no name, to
/// keep an entry as small as in a hand-written `Vec<Pin<Box<dyn Future>>>`).
const ASYNC_CALLBACK: &str = "AsyncExitStack async callback";

/// An entry that needs the outcome, holds a resource, or is synchronous.
trait AsyncEntry: Send {
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
enum Entry {
    /// An infallible async callback: no result to record.
    Callback(Pin<Box<dyn Future<Output = ()> + Send>>),
    Future(EntryFuture),
    Dyn(Box<dyn AsyncEntry>),
}

impl Entry {
    /// The entry as an orphaned job that runs it with `outcome` when its turn comes.
    fn into_job(self, panicking: bool) -> Job {
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

struct Callback<F>(F);
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
fn named<F>(name: &Option<Cow<'static, str>>) -> Cow<'static, str> {
    name.clone().unwrap_or(Cow::Borrowed(type_name::<F>()))
}

struct TryCallback<F> {
    f: F,
    name: Option<Cow<'static, str>>,
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

struct TryAsyncCallback<F> {
    f: F,
    name: Cow<'static, str>,
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
        let fut = f();
        Started::Running(
            name.clone(),
            Box::pin(async move {
                fut.await
                    .map(|()| Exit::Propagate)
                    .map_err(|e| Error::callback(name, e))
            }),
        )
    }
}

struct ExitCallback<F> {
    f: F,
    name: Option<Cow<'static, str>>,
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

struct AsyncExitCallback<F> {
    f: F,
    name: Option<Cow<'static, str>>,
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

struct Closed<R> {
    resource: R,
    name: Cow<'static, str>,
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

struct SyncClosed<R> {
    resource: R,
    name: Cow<'static, str>,
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

struct Dropped<R>(R);
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

/// Entries a `close` has taken but not finished. If the `close` future is dropped, they are
/// orphaned from here, the one in flight first: each still runs exactly once.
struct Pending {
    entries: Vec<Entry>,
    current: Option<(Cow<'static, str>, EntryFuture)>,
    deadline: Duration,
    orphans: Option<Orphans>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.current.is_none() && self.entries.is_empty() {
            return;
        }
        let panicking = std::thread::panicking();
        let mut jobs = VecDeque::with_capacity(self.entries.len() + 1);
        if let Some((name, fut)) = self.current.take() {
            jobs.push_back(Job::new(name, Box::pin(async move { fut.await.map(drop) })));
        }
        jobs.extend(self.entries.drain(..).rev().map(|e| e.into_job(panicking)));
        orphan::adopt(
            &orphans_or_global(&self.orphans),
            self.deadline,
            jobs,
            "AsyncExitStack::close (cancelled)",
        );
    }
}

impl Pending {
    /// Runs entries until all ran or one is pending. One `catch_unwind` per panic, not per
    /// entry: after a panic the loop resumes with the next entry (the one that panicked was
    /// taken out before it ran, so it never runs twice).
    fn drive<B: Ended>(&mut self, state: &mut Unwinding<B>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match panic::catch_unwind(AssertUnwindSafe(|| self.run(state, cx))) {
                Ok(poll) => return poll,
                Err(payload) => {
                    let name = match self.current.take() {
                        Some((name, _)) => name,
                        None => Cow::Borrowed("AsyncExitStack entry"),
                    };
                    state.record_panic(name, payload);
                }
            }
        }
    }

    #[inline]
    fn run<B: Ended>(&mut self, state: &mut Unwinding<B>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if let Some((_, fut)) = &mut self.current {
                let Poll::Ready(result) = fut.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                self.current = None;
                state.record(result);
            }
            match self.entries.pop() {
                None => return Poll::Ready(()),
                Some(Entry::Callback(mut fut)) => {
                    if fut.as_mut().poll(cx).is_pending() {
                        let fut: EntryFuture = Box::pin(async move {
                            fut.await;
                            Ok(Exit::Propagate)
                        });
                        self.current = Some((Cow::Borrowed(ASYNC_CALLBACK), fut));
                        return Poll::Pending;
                    }
                }
                Some(Entry::Future(mut fut)) => match fut.as_mut().poll(cx) {
                    // Most callbacks finish on their first poll: skip the slot.
                    Poll::Ready(result) => state.record(result),
                    Poll::Pending => {
                        self.current = Some((Cow::Borrowed(ASYNC_CALLBACK), fut));
                        return Poll::Pending;
                    }
                },
                Some(Entry::Dyn(entry)) => match entry.start(&state.outcome()) {
                    Started::Done(result) => state.record(result),
                    Started::Running(name, fut) => self.current = Some((name, fut)),
                },
            }
        }
    }
}

fn orphans_or_global(o: &Option<Orphans>) -> Orphans {
    o.clone().unwrap_or_else(orphan::orphans)
}

/// A dynamic stack of async resources and cleanup callbacks, released last-in first-out,
/// whose pending cleanup survives cancellation.
///
/// Reusable after [`close`](Self::close). Dropped with entries pending, it hands them to
/// the runtime (see the [module docs](self)).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenure::Error> {
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let mut stack = tenure::AsyncExitStack::new();
/// for i in 0..3 {
///     let log = log.clone();
///     stack.async_callback(move || async move { log.lock().unwrap().push(i) });
/// }
/// stack.close().await?;
/// assert_eq!(*log.lock().unwrap(), [2, 1, 0]);
/// # Ok(()) }
/// ```
pub struct AsyncExitStack {
    entries: Vec<Entry>,
    /// 0 until a handle is issued; then the id those handles carry.
    id: u64,
    deadline: Duration,
    /// `None`: the global tracker (kept lazy so that `new` costs nothing).
    orphans: Option<Orphans>,
}

impl Default for AsyncExitStack {
    fn default() -> Self {
        Self::new()
    }
}

impl AsyncExitStack {
    /// An empty stack, with the default deadline ([`orphan::DEFAULT_DEADLINE`]) and the
    /// global [`orphans()`](crate::orphans) tracker.
    ///
    /// ```
    /// assert!(tenure::AsyncExitStack::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty stack with room for `capacity` entries.
    ///
    /// ```
    /// assert_eq!(tenure::AsyncExitStack::with_capacity(1000).len(), 0);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        AsyncExitStack {
            entries: Vec::with_capacity(capacity),
            id: 0,
            deadline: orphan::DEFAULT_DEADLINE,
            orphans: None,
        }
    }

    /// Sets how long each cleanup may run when it runs orphaned (after the stack or its
    /// scope was dropped); a late one is abandoned and reported as
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout). An explicit `close().await` is not
    /// bounded: wrap it in a timeout if needed (what it leaves is then orphaned).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = tenure::AsyncExitStack::new().with_deadline(Duration::from_secs(5));
    /// assert_eq!(s.deadline(), Duration::from_secs(5));
    /// ```
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The deadline of each orphaned cleanup.
    ///
    /// ```
    /// assert_eq!(tenure::AsyncExitStack::new().deadline(), tenure::orphan::DEFAULT_DEADLINE);
    /// ```
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Reports orphaned cleanup to `orphans` instead of the global tracker.
    ///
    /// ```
    /// let orphans = tenure::orphan::Orphans::new();
    /// let s = tenure::AsyncExitStack::new().with_orphans(orphans.clone());
    /// drop(s);
    /// assert_eq!(orphans.stats().batches, 0); // nothing was pending
    /// ```
    pub fn with_orphans(mut self, orphans: Orphans) -> Self {
        self.orphans = Some(orphans);
        self
    }

    /// How many entries are waiting to run.
    ///
    /// ```
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.callback(|| {});
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when nothing is waiting to run.
    ///
    /// ```
    /// assert!(tenure::AsyncExitStack::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pushes a synchronous callback that cannot fail.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.callback(|| println!("bye"));
    /// s.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn callback<F: FnOnce() + Send + 'static>(&mut self, f: F) {
        self.entries.push(Entry::Dyn(Box::new(Callback(f))));
    }

    /// Pushes a synchronous callback that can fail; its error is collected by `close`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.try_callback(|| std::fs::remove_file("/definitely/not/here"));
    /// assert_eq!(s.close().await.unwrap_err().kind(), tenure::ErrorKind::Callback);
    /// # }
    /// ```
    pub fn try_callback<F, E>(&mut self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
        E: Into<BoxError>,
    {
        self.entries
            .push(Entry::Dyn(Box::new(TryCallback { f, name: None })));
    }

    /// Pushes an async callback (Python's `push_async_callback`). Nothing runs until its
    /// turn comes in `close`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.async_callback(|| async { tokio::task::yield_now().await; println!("flushed") });
    /// s.close().await?;
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn async_callback<F, Fut>(&mut self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.entries
            .push(Entry::Callback(Box::pin(async move { f().await })));
    }

    /// Pushes an async callback that can fail; its error is collected by `close`, named
    /// after the closure's type.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.try_async_callback(|| async { Err(std::io::Error::other("flush failed")) });
    /// assert!(s.close().await.unwrap_err().to_string().contains("flush failed"));
    /// # }
    /// ```
    pub fn try_async_callback<F, Fut, E>(&mut self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.entries.push(Entry::Future(Box::pin(async move {
            f().await
                .map(|()| Exit::Propagate)
                .map_err(|e| Error::callback(type_name::<F>(), e))
        })));
    }

    /// Pushes a synchronous exit callback (Python's `push`): it sees how the scope ended —
    /// the body's outcome, or the latest cleanup error if the body succeeded — and may
    /// suppress that error by returning [`Exit::Suppress`].
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.push_exit(|o: &Outcome<'_>| {
    ///     println!("scope ended: {o}");
    ///     Ok::<_, std::io::Error>(Exit::Propagate)
    /// });
    /// assert_eq!(s.close_with(Outcome::Success).await?, Exit::Propagate);
    /// # Ok(()) }
    /// ```
    pub fn push_exit<F, E>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + Send + 'static,
        E: Into<BoxError>,
    {
        self.entries
            .push(Entry::Dyn(Box::new(ExitCallback { f, name: None })));
    }

    /// Pushes an async exit callback (Python's `push_async_exit`). The closure is called
    /// with the outcome when its turn comes and returns the future to await: take from the
    /// outcome what the future needs (the outcome borrows the body's error, which cannot
    /// travel into a future that may have to run as a task of its own).
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.push_async_exit(|o: &Outcome<'_>| {
    ///     let failed = o.is_failure();
    ///     async move {
    ///         if failed { /* roll back: tx.rollback().await */ }
    ///         Ok::<_, std::io::Error>(if failed { Exit::Suppress } else { Exit::Propagate })
    ///     }
    /// });
    /// let err = std::io::Error::other("body failed");
    /// assert_eq!(s.close_with(Outcome::Error(&err)).await?, Exit::Suppress);
    /// # Ok(()) }
    /// ```
    pub fn push_async_exit<F, Fut, E>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Exit, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.entries
            .push(Entry::Dyn(Box::new(AsyncExitCallback { f, name: None })));
    }

    /// Like [`try_callback`](Self::try_callback), naming the callback in its error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.try_callback_named("remove lock file", || std::fs::remove_file("/definitely/not/here"));
    /// assert_eq!(s.close().await.unwrap_err().resource(), "remove lock file");
    /// # }
    /// ```
    pub fn try_callback_named<F, E>(&mut self, name: impl Into<Cow<'static, str>>, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = Some(name.into());
        self.entries
            .push(Entry::Dyn(Box::new(TryCallback { f, name })));
    }

    /// Like [`try_async_callback`](Self::try_async_callback), naming the callback in its
    /// error — and in the report if it panics or, orphaned, misses its deadline.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.try_async_callback_named("flush audit log", || async { Err(std::io::Error::other("disk full")) });
    /// assert_eq!(s.close().await.unwrap_err().resource(), "flush audit log");
    /// # }
    /// ```
    pub fn try_async_callback_named<F, Fut, E>(&mut self, name: impl Into<Cow<'static, str>>, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = name.into();
        self.entries
            .push(Entry::Dyn(Box::new(TryAsyncCallback { f, name })));
    }

    /// Like [`push_exit`](Self::push_exit), naming the callback in its error.
    ///
    /// ```
    /// use tenure::{Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.push_exit_named("commit", |_: &Outcome<'_>| Err::<Exit, _>(std::io::Error::other("conflict")));
    /// assert_eq!(s.close().await.unwrap_err().resource(), "commit");
    /// # }
    /// ```
    pub fn push_exit_named<F, E>(&mut self, name: impl Into<Cow<'static, str>>, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = Some(name.into());
        self.entries
            .push(Entry::Dyn(Box::new(ExitCallback { f, name })));
    }

    /// Like [`push_async_exit`](Self::push_async_exit), naming the callback in its error
    /// and reports.
    ///
    /// ```
    /// use tenure::{Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.push_async_exit_named("rollback", |_: &Outcome<'_>| async { Err::<Exit, _>(std::io::Error::other("gone")) });
    /// assert_eq!(s.close().await.unwrap_err().resource(), "rollback");
    /// # }
    /// ```
    pub fn push_async_exit_named<F, Fut, E>(&mut self, name: impl Into<Cow<'static, str>>, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Exit, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = Some(name.into());
        self.entries
            .push(Entry::Dyn(Box::new(AsyncExitCallback { f, name })));
    }

    /// Moves a whole stack's entries onto this one, in order (Python's
    /// `enter_async_context(other_stack)`): they run in their turn, LIFO, see this stack's
    /// outcome — so an inner exit callback can suppress the body's error — and their errors
    /// are this stack's own, flat, in order. The inner stack's handles, deadline and
    /// tracker are left behind (to close it as one resource instead, [`enter`](Self::enter)
    /// it).
    ///
    /// ```
    /// use tenure::{suppress, AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut inner = AsyncExitStack::new();
    /// inner.suppress(suppress::error_type::<std::fmt::Error>());
    /// let mut outer = AsyncExitStack::new();
    /// outer.enter_stack(inner);
    /// assert_eq!(outer.close_with(Outcome::Error(&std::fmt::Error)).await?, Exit::Suppress);
    /// # Ok(()) }
    /// ```
    pub fn enter_stack(&mut self, mut inner: AsyncExitStack) {
        self.entries.append(&mut inner.entries);
        inner.id = 0;
    }

    /// Pushes an explicit, narrow suppression (see [`crate::suppress`]).
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tenure::{suppress, AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    /// let pipe = std::io::Error::from(ErrorKind::BrokenPipe);
    /// assert_eq!(s.close_with(Outcome::Error(&pipe)).await?, Exit::Suppress);
    /// # Ok(()) }
    /// ```
    pub fn suppress<P>(&mut self, suppressor: crate::suppress::Suppress<P>)
    where
        P: Fn(&(dyn StdError + 'static)) -> bool + Send + 'static,
    {
        self.push_exit(move |o: &Outcome<'_>| {
            Ok::<_, std::convert::Infallible>(suppressor.decide(o))
        });
    }

    /// Takes ownership of `resource`; it is released with [`AsyncClose::close`] when the
    /// stack closes (Python's `enter_async_context` of an entered resource). A failure is
    /// reported under the resource's type name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let conn = s.enter(tenure::async_close_with(vec![1], |_| async { Ok::<_, std::io::Error>(()) }));
    /// s[conn].push(2);
    /// s.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn enter<R: AsyncClose + Send + 'static>(&mut self, resource: R) -> Handle<R> {
        self.enter_named(type_name::<R>(), resource)
    }

    /// Like [`enter`](Self::enter), reporting a failure under `name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.enter_named("db-1", tenure::async_close_with((), |()| async { Err(std::io::Error::other("reset")) }));
    /// assert_eq!(s.close().await.unwrap_err().to_string(), "failed to close `db-1`: reset");
    /// # }
    /// ```
    pub fn enter_named<R: AsyncClose + Send + 'static>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        resource: R,
    ) -> Handle<R> {
        self.entries.push(Entry::Dyn(Box::new(Closed {
            resource,
            name: name.into(),
        })));
        self.handle()
    }

    /// Takes ownership of a resource with a synchronous [`Close`]; it is closed in its turn.
    ///
    /// ```
    /// use std::io::Write;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let w = s.enter_sync(std::io::BufWriter::new(Vec::new()));
    /// s[w].write_all(b"data")?;
    /// s.close().await?; // flushed
    /// # Ok(()) }
    /// ```
    pub fn enter_sync<R: Close + Send + 'static>(&mut self, resource: R) -> Handle<R> {
        self.entries.push(Entry::Dyn(Box::new(SyncClosed {
            resource,
            name: type_name::<R>().into(),
        })));
        self.handle()
    }

    /// Takes ownership of a resource that is released by `Drop` alone; it is dropped in its
    /// turn.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let v = s.hold(vec![1, 2, 3]);
    /// assert_eq!(s[v].len(), 3);
    /// s.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn hold<R: Send + 'static>(&mut self, resource: R) -> Handle<R> {
        self.entries.push(Entry::Dyn(Box::new(Dropped(resource))));
        self.handle()
    }

    fn handle<R>(&mut self) -> Handle<R> {
        if self.id == 0 {
            self.id = next_id();
        }
        Handle::new(self.id, self.entries.len() - 1)
    }

    fn entry_resource(&self, stack: u64, index: usize) -> Option<&dyn Any> {
        if stack != self.id {
            return None;
        }
        match self.entries.get(index)? {
            Entry::Dyn(e) => e.resource_ref(),
            Entry::Callback(..) | Entry::Future(..) => None,
        }
    }

    /// The resource behind `handle`, or an [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// error if the stack was closed (or emptied by [`pop_all`](Self::pop_all)) since.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let h = s.hold(7_u32);
    /// assert_eq!(*s.get(h)?, 7);
    /// s.close().await?;
    /// assert!(s.get(h).is_err());
    /// # Ok(()) }
    /// ```
    pub fn get<R: 'static>(&self, handle: Handle<R>) -> Result<&R, Error> {
        let (stack, index) = handle.parts();
        self.entry_resource(stack, index)
            .and_then(|any| any.downcast_ref::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }

    /// The resource behind `handle`, mutably; an error once the stack was closed.
    ///
    /// ```
    /// let mut s = tenure::AsyncExitStack::new();
    /// let h = s.hold(vec![1]);
    /// s.get_mut(h)?.push(2);
    /// assert_eq!(s[h], [1, 2]);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get_mut<R: 'static>(&mut self, handle: Handle<R>) -> Result<&mut R, Error> {
        let (stack, index) = handle.parts();
        let found = if stack == self.id {
            match self.entries.get_mut(index) {
                Some(Entry::Dyn(e)) => e.resource(),
                _ => None,
            }
        } else {
            None
        };
        found
            .and_then(|any| any.downcast_mut::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }

    /// Moves every entry into a new stack (with the same deadline and tracker) and leaves
    /// this one empty (Python's `pop_all`). Handles keep working with the new stack.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut setup = tenure::AsyncExitStack::new();
    /// let conn = setup.hold(String::from("conn"));
    /// let mut kept = setup.pop_all(); // setup succeeded: nothing closes when `setup` drops
    /// drop(setup);
    /// assert_eq!(kept[conn], "conn");
    /// kept.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn pop_all(&mut self) -> AsyncExitStack {
        AsyncExitStack {
            entries: std::mem::take(&mut self.entries),
            id: std::mem::take(&mut self.id),
            deadline: self.deadline,
            orphans: self.orphans.clone(),
        }
    }

    /// Releases everything, last first, and returns every cleanup error: the first as
    /// primary, the rest as its [`suppressed`](Error::suppressed) errors, in order. Every
    /// entry runs exactly once even if others fail or panic; a panic resumes after all have
    /// run. The stack is empty and reusable afterwards.
    ///
    /// If this future is dropped before it finishes, what it had not finished is orphaned
    /// (run as a task, see the [module docs](self)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.try_async_callback(|| async { Err(std::io::Error::other("registered first, runs last")) });
    /// s.try_async_callback(|| async { Err(std::io::Error::other("runs first")) });
    /// let err = s.close().await.unwrap_err();
    /// assert!(err.to_string().contains("runs first"));
    /// assert!(err.suppressed()[0].to_string().contains("runs last"));
    /// # }
    /// ```
    pub async fn close(&mut self) -> Result<(), Error> {
        let done = self.unwind(Body::Success).await;
        finish(done, "AsyncExitStack::close (resuming a cleanup panic)").map(drop)
    }

    /// Releases everything as [`close`](Self::close) does, showing exit callbacks how the
    /// scope ended. Returns [`Exit::Suppress`] when an exit callback suppressed the body's
    /// error. (The future borrows the outcome, so it is not `Send`; inside a spawned task
    /// use [`run`](Self::run) or [`async_scope`], whose futures are.)
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.push_exit(|o: &Outcome<'_>| { assert_eq!(o.name(), "error"); Ok::<_, std::fmt::Error>(Exit::Propagate) });
    /// assert_eq!(s.close_with(Outcome::Error(&std::fmt::Error)).await?, Exit::Propagate);
    /// # Ok(()) }
    /// ```
    pub async fn close_with(&mut self, outcome: Outcome<'_>) -> Result<Exit, Error> {
        let done = self.unwind(outcome).await;
        finish(
            done,
            "AsyncExitStack::close_with (resuming a cleanup panic)",
        )
    }

    /// Runs every entry, LIFO, exactly once, catching panics so that none is skipped.
    async fn unwind<B: Ended>(&mut self, body: B) -> Unwinding<B> {
        let mut pending = Pending {
            entries: std::mem::take(&mut self.entries),
            current: None,
            deadline: self.deadline,
            orphans: self.orphans.clone(),
        };
        self.id = 0;
        let mut state = Unwinding::new(body);
        poll_fn(|cx| pending.drive(&mut state, cx)).await;
        // Keep the allocation for reuse.
        self.entries = std::mem::take(&mut pending.entries);
        state
    }

    /// Runs `body` with a fresh stack, then closes the stack with the body's outcome; the
    /// async counterpart of [`ExitStack::scope`](crate::ExitStack::scope), with the same
    /// results. If the returned future is dropped before it finishes — in the body or in
    /// cleanup — everything pending is orphaned with [`Outcome::Cancelled`] and still runs.
    ///
    /// ```
    /// use tenure::{AsyncExitStack, ScopeError};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let r = AsyncExitStack::scope(async |s| {
    ///     s.try_async_callback(|| async { Err(std::io::Error::other("cleanup failed")) });
    ///     Err::<(), _>(std::io::Error::other("body failed"))
    /// })
    /// .await;
    /// match r {
    ///     Err(ScopeError::Body { error, cleanup }) => {
    ///         assert_eq!(error.to_string(), "body failed");
    ///         assert!(cleanup.unwrap().to_string().contains("cleanup failed"));
    ///     }
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// # }
    /// ```
    pub async fn scope<T, E, F>(body: F) -> Result<T, ScopeError<E>>
    where
        F: AsyncFnOnce(&mut AsyncExitStack) -> Result<T, E>,
        E: StdError + Send + Sync + 'static,
    {
        AsyncExitStack::new().run(body).await
    }

    /// Runs `body` with this stack's entries, deadline and tracker, then closes with the
    /// body's outcome; see [`scope`](Self::scope). Entries pushed before the call are closed
    /// too. If the returned future is dropped, everything pending is orphaned at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::ScopeError<std::io::Error>> {
    /// let mut s = tenure::AsyncExitStack::new().with_deadline(Duration::from_secs(2));
    /// s.callback(|| println!("pushed before"));
    /// let v = s.run(async |s| { s.callback(|| println!("pushed inside")); Ok::<_, std::io::Error>(5) }).await?;
    /// assert_eq!(v, 5);
    /// # Ok(()) }
    /// ```
    pub async fn run<T, E, F>(&mut self, body: F) -> Result<T, ScopeError<E>>
    where
        F: AsyncFnOnce(&mut AsyncExitStack) -> Result<T, E>,
        E: StdError + Send + Sync + 'static,
    {
        // The body works on a stack owned by this future, so that dropping the future
        // orphans what it pushed right away (not whenever `self` is dropped).
        let mut inner = self.pop_all();
        let result = {
            let fut = pin!(body(&mut inner));
            CatchUnwind(fut).await
        };
        let scoped = match result {
            Err(payload) => {
                let done = inner.unwind(Body::Panic(payload)).await;
                if let Some(e) = Error::from_errors(done.errors) {
                    report_dropped(&e, "async scope (resuming the body's panic)");
                }
                match done.body {
                    Body::Panic(payload) => panic::resume_unwind(payload),
                    _ => unreachable!("the body's panic is kept by its unwinding"),
                }
            }
            Ok(Ok(value)) => {
                let done = inner.unwind(Body::Success).await;
                finish(done, "async scope (resuming a cleanup panic)")
                    .map(|_| value)
                    .map_err(ScopeError::Cleanup)
            }
            Ok(Err(error)) => {
                let done = inner.unwind(Body::Error(&error)).await;
                if done.panic.is_some() {
                    // A cleanup panic resumes out of `finish`; the body's error must not
                    // vanish with it.
                    tracing::warn!(target: "tenure", "body error lost to a cleanup panic: {error}");
                }
                match finish(done, "async scope (resuming a cleanup panic)") {
                    Ok(Exit::Propagate) => Err(ScopeError::Body {
                        error,
                        cleanup: None,
                    }),
                    Ok(Exit::Suppress) => Err(ScopeError::Suppressed(error)),
                    Err(cleanup) => Err(ScopeError::Body {
                        error,
                        cleanup: Some(cleanup),
                    }),
                }
            }
        };
        // Hand the (empty) allocation back for reuse.
        std::mem::swap(&mut self.entries, &mut inner.entries);
        scoped
    }
}

/// Turns a finished unwinding into `close`'s result, resuming a cleanup panic.
fn finish<B: Ended>(done: Unwinding<B>, context: &'static str) -> Result<Exit, Error> {
    let suppressed = done.body_suppressed();
    if let Some(payload) = done.panic {
        if let Some(e) = Error::from_errors(done.errors) {
            report_dropped(&e, context);
        }
        panic::resume_unwind(payload);
    }
    match Error::from_errors(done.errors) {
        Some(e) => Err(e),
        None if suppressed => Ok(Exit::Suppress),
        None => Ok(Exit::Propagate),
    }
}

/// Runs `body` with a fresh [`AsyncExitStack`], then closes it with the body's outcome —
/// or, if the returned future is dropped first, hands everything pending to the runtime to
/// run with [`Outcome::Cancelled`]. Same as [`AsyncExitStack::scope`].
///
/// ```
/// use std::time::Duration;
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let closed = Arc::new(AtomicBool::new(false));
/// let flag = closed.clone();
/// let timed_out = tokio::time::timeout(Duration::from_millis(10), tenure::async_scope(async move |s| {
///     s.async_callback(move || async move { flag.store(true, Ordering::SeqCst) });
///     std::future::pending::<()>().await; // never finishes: the timeout drops the scope
///     Ok::<_, std::io::Error>(())
/// }))
/// .await;
/// assert!(timed_out.is_err());
/// tenure::orphans().join().await;
/// assert!(closed.load(Ordering::SeqCst)); // the cleanup ran after cancellation
/// # }
/// ```
pub async fn async_scope<T, E, F>(body: F) -> Result<T, ScopeError<E>>
where
    F: AsyncFnOnce(&mut AsyncExitStack) -> Result<T, E>,
    E: StdError + Send + Sync + 'static,
{
    AsyncExitStack::new().run(body).await
}

impl<R: 'static> Index<Handle<R>> for AsyncExitStack {
    type Output = R;
    /// # Panics
    /// If the stack was closed since the handle was made; use [`AsyncExitStack::get`] to get
    /// an error instead.
    fn index(&self, handle: Handle<R>) -> &R {
        match self.get(handle) {
            Ok(r) => r,
            Err(_) => {
                panic!("{handle:?} used after its AsyncExitStack was closed or emptied by pop_all")
            }
        }
    }
}

impl<R: 'static> IndexMut<Handle<R>> for AsyncExitStack {
    /// # Panics
    /// If the stack was closed since the handle was made; use [`AsyncExitStack::get_mut`] to
    /// get an error instead.
    fn index_mut(&mut self, handle: Handle<R>) -> &mut R {
        match self.get_mut(handle) {
            Ok(r) => r,
            Err(_) => {
                panic!("{handle:?} used after its AsyncExitStack was closed or emptied by pop_all")
            }
        }
    }
}

/// Hands whatever is left to the runtime (or the helper thread), LIFO, with
/// [`Outcome::Cancelled`]: see the [module docs](self).
impl Drop for AsyncExitStack {
    fn drop(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let panicking = std::thread::panicking();
        let jobs = self
            .entries
            .drain(..)
            .rev()
            .map(|e| e.into_job(panicking))
            .collect();
        orphan::adopt(
            &orphans_or_global(&self.orphans),
            self.deadline,
            jobs,
            "AsyncExitStack::drop",
        );
    }
}

/// A stack is itself an async resource: closing it closes everything it holds, so stacks
/// nest.
///
/// ```
/// use tenure::{AsyncClose, AsyncExitStack};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenure::Error> {
/// let mut inner = AsyncExitStack::new();
/// inner.callback(|| println!("inner"));
/// let mut outer = AsyncExitStack::new();
/// outer.enter(inner);
/// outer.close().await?;
/// # Ok(()) }
/// ```
impl AsyncClose for AsyncExitStack {
    type Error = Error;
    async fn close(mut self) -> Result<(), Error> {
        AsyncExitStack::close(&mut self).await
    }
}

impl fmt::Debug for AsyncExitStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncExitStack")
            .field("entries", &self.entries.len())
            .field("deadline", &self.deadline)
            .finish()
    }
}
