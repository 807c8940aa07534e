//! [`Manager`]: what an adapter writes — how to create, check, reset and close one kind of
//! resource — and [`Work`], the unit of work the pool drives for it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::error::BoxError;

/// A piece of work the pool runs to completion on an adapter's behalf: blocking code (run
/// on a blocking thread, never on a runtime worker) or a future (run on the pool's runtime).
/// The work owns what it works on (`Send + 'static`), so a create or a validation under way
/// when its caller gives up still finishes — into the pool, not to the floor.
///
/// ```
/// use tenure::pool::Work;
/// let blocking: Work<u32> = Work::blocking(|| 7);            // a SQLite open, say
/// let future: Work<u32> = Work::future(async { 7 });          // a network connect
/// let ready: Work<u32> = Work::ready(7);                      // nothing to do
/// assert!(blocking.is_blocking() && !future.is_blocking() && !ready.is_blocking());
/// ```
pub enum Work<T> {
    /// Already done: the pool takes the value inline.
    Ready(T),
    /// Blocking code: the pool runs it on a worker thread of its own (reused, never the
    /// runtime's `spawn_blocking` pool, whose shutdown would wait for a hung job).
    Blocking(Box<dyn FnOnce() -> T + Send + 'static>),
    /// A future: the pool runs it on its runtime.
    Future(Pin<Box<dyn Future<Output = T> + Send + 'static>>),
}

impl<T> Work<T> {
    /// Blocking work.
    ///
    /// ```
    /// let w = tenure::pool::Work::blocking(|| std::fs::metadata("."));
    /// assert!(w.is_blocking());
    /// ```
    pub fn blocking(f: impl FnOnce() -> T + Send + 'static) -> Self {
        Work::Blocking(Box::new(f))
    }

    /// Async work.
    ///
    /// ```
    /// let w = tenure::pool::Work::future(async { 1 + 1 });
    /// assert!(!w.is_blocking());
    /// ```
    pub fn future(f: impl Future<Output = T> + Send + 'static) -> Self {
        Work::Future(Box::pin(f))
    }

    /// Work that is already done (a check that needs nothing): taken inline, no thread or
    /// task involved.
    ///
    /// ```
    /// assert!(matches!(tenure::pool::Work::ready(()), tenure::pool::Work::Ready(())));
    /// ```
    pub fn ready(value: T) -> Self {
        Work::Ready(value)
    }

    /// Whether this is blocking work.
    ///
    /// ```
    /// assert!(tenure::pool::Work::blocking(|| ()).is_blocking());
    /// ```
    pub fn is_blocking(&self) -> bool {
        matches!(self, Work::Blocking(_))
    }
}

impl<T> fmt::Debug for Work<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Work::Ready(_) => "Work::Ready",
            Work::Blocking(_) => "Work::Blocking",
            Work::Future(_) => "Work::Future",
        })
    }
}

/// The work of a check ([`Manager::validate`], [`Manager::reset`]): the resource back,
/// with the verdict.
pub type Checked<M> = Work<(<M as Manager>::Resource, Result<(), <M as Manager>::Error>)>;

/// What an adapter writes for one kind of resource: create it and close it; optionally
/// check it on checkout ([`validate`](Manager::validate)), cheaply on return
/// ([`is_broken`](Manager::is_broken)), and reset it before reuse
/// ([`needs_reset`](Manager::needs_reset) / [`reset`](Manager::reset)).
///
/// Each method returns [`Work`], blocking or async, so one impl serves both async
/// (`get().await`) and blocking (`get_blocking()`) callers, and a blocking adapter writes no
/// async code. Set [`ASYNC`](Manager::ASYNC) if any of its work is a future: a pool of such
/// a manager needs a tokio runtime to run it on (given when it is built).
///
/// ```
/// use tenure::pool::{Manager, Work};
/// use tenure::error::BoxError;
///
/// /// Pretend connections: numbered, closed by dropping.
/// struct Conns(std::sync::atomic::AtomicU32);
///
/// impl Manager for Conns {
///     type Resource = u32;
///     type Error = std::io::Error;
///     const ASYNC: bool = false;
///     fn create(&self) -> Work<Result<u32, std::io::Error>> {
///         let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         Work::blocking(move || Ok(n)) // e.g. rusqlite::Connection::open(path)
///     }
///     fn close(&self, _conn: u32) -> Work<Result<(), BoxError>> {
///         Work::ready(Ok(()))
///     }
/// }
/// ```
pub trait Manager: Send + Sync + 'static {
    /// The pooled resource.
    type Resource: Send + 'static;
    /// What creating (or validating, or resetting) it fails with.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Whether any of this manager's [`Work`] is a future (it then needs a runtime, and
    /// the pool refuses to build without one). A future from a manager that says `false`
    /// still runs: on the pool's runtime if it has one, else on a thread of its own with a
    /// runtime of its own — correct, but a thread and a runtime per piece of work; say
    /// `true` instead.
    const ASYNC: bool;

    /// Creates a resource; bounded by the pool's `create_timeout`.
    fn create(&self) -> Work<Result<Self::Resource, Self::Error>>;

    /// Releases a resource the pool retires (expired, broken, failed validation, resized
    /// away, pool closed): its `Close` or `AsyncClose`, typically. A failure is reported
    /// through the pool's report sink and counted; nothing returns it. Bounded by the pool's
    /// `close_timeout` (past it the slot is freed; blocking work keeps its thread).
    fn close(&self, resource: Self::Resource) -> Work<Result<(), BoxError>>;

    /// Checks a resource on checkout (when the pool's [`Validation`](super::Validation)
    /// policy says so), taking it and giving it back with the verdict. The default accepts
    /// every resource. Bounded by the pool's `check_timeout`: past it the slot is freed,
    /// the resource dropped with a future, or closed when blocking work hands it back.
    fn validate(&self, resource: Self::Resource) -> Checked<Self> {
        Work::ready((resource, Ok(())))
    }

    /// A cheap check on return, run inline where the lease is dropped (it must not block):
    /// `true` retires the resource (e.g. "the socket is closed"). The default: `false`.
    fn is_broken(&self, _resource: &mut Self::Resource) -> bool {
        false
    }

    /// Whether a returned resource needs [`reset`](Manager::reset) before reuse (a
    /// transaction left open, a session to reset). Inline, must not block. Default `false`.
    fn needs_reset(&self, _resource: &Self::Resource) -> bool {
        false
    }

    /// Work that makes a returned resource reusable; bounded by the pool's
    /// `return_timeout` (past it the slot is freed: a future is dropped with its resource;
    /// blocking work keeps its thread, and the resource it hands back later is closed). An
    /// error retires the resource. The default does nothing.
    fn reset(&self, resource: Self::Resource) -> Checked<Self> {
        Work::ready((resource, Ok(())))
    }

    /// Whether a resource whose lease was dropped while its thread panicked may be reused;
    /// the default `false` retires it (its state is unknown).
    fn reuse_after_panic(&self, _resource: &Self::Resource) -> bool {
        false
    }
}
