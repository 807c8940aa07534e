//! Orphaned async cleanup: cleanup whose owner was dropped before it could await it.
//!
//! Rust has no async drop. When an [`AsyncExitStack`](crate::AsyncExitStack), an async
//! scope or an [`AsyncGuard`](crate::async_guard::AsyncGuard) is dropped with cleanup still pending (its
//! future was cancelled by a `select!`, a timeout, a client disconnect), that cleanup is
//! *orphaned*: handed, as one batch that still runs last-in first-out, to
//!
//! - the current tokio runtime as a task (feature `tokio`, on by default), when there is one;
//! - otherwise a small executor on a helper thread, which the dropping thread waits for.
//!
//! Each cleanup in a batch is bounded by a deadline (default [`DEFAULT_DEADLINE`]); one that
//! is late is abandoned and reported as [`ErrorKind::Timeout`](crate::error::ErrorKind::Timeout),
//! one that panics is reported as [`ErrorKind::Panic`](crate::error::ErrorKind::Panic), and the
//! next one runs. Errors are logged through `tracing` and kept by the [`Orphans`] tracker
//! that counted the batch, which also lets a program wait until no cleanup is in flight:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut stack = tenure::AsyncExitStack::new();
//! stack.async_callback(|| async { println!("closed after all") });
//! drop(stack); // no one awaited the cleanup: it runs as a task
//! tenure::orphan::orphans().join().await; // resolves once no orphaned cleanup is in flight
//! # }
//! ```
//!
//! Without the `tokio` feature every batch runs on the helper thread, bounded by the same
//! deadline, without timers of any runtime.
//!
//! **Runtime shutdown.** If a runtime shuts down while an orphaned batch runs on it, the
//! cleanup in flight is given up at once and reported as
//! [`ErrorKind::Abandoned`](crate::error::ErrorKind::Abandoned): what it awaits (that
//! runtime's timer or socket) can never complete, and waiting for its deadline would hold
//! the shutdown. The batch's cleanups that had not started run on the helper thread, so a
//! batch always completes. The thread that waits for the helper (the one dropping the
//! runtime, or an owner dropped outside any runtime) is held for at most the sum of those
//! cleanups' deadlines; after a second on one cleanup it logs a warning naming it.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

mod batch;

#[cfg(loom)]
use batch::Batch;
pub(crate) use batch::{CatchUnwind, InFlight, Orphaning};

use crate::error::Error;
use crate::sink::{CollectingSink, DropReport, SharedSink, Sink};
use crate::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How long one orphaned cleanup may run before it is abandoned and reported, unless
/// configured otherwise (e.g. [`AsyncExitStack::with_deadline`](crate::AsyncExitStack::with_deadline)).
///
/// ```
/// assert_eq!(tenure::orphan::DEFAULT_DEADLINE.as_secs(), 30);
/// ```
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// How long the helper thread runs one orphaned cleanup before it warns that the thread
/// waiting for it (the one that dropped the owner) is still held.
pub(crate) const HELPER_PATIENCE: Duration = Duration::from_secs(1);

/// How many orphaned cleanup errors a tracker keeps for [`Orphans::take_errors`]; older
/// ones are dropped (they were logged and counted).
const KEPT_ERRORS: usize = 256;

/// A cleanup future that returns its own error, already named.
pub(crate) type CleanupFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// One orphaned cleanup: what to report it as, and the work.
pub(crate) struct Job {
    name: Cow<'static, str>,
    fut: CleanupFuture,
}

impl Job {
    pub(crate) fn new(name: impl Into<Cow<'static, str>>, fut: CleanupFuture) -> Self {
        Job {
            name: name.into(),
            fut,
        }
    }
}

/// Figures of an [`Orphans`] tracker, since it was created.
///
/// ```
/// let stats = tenure::orphan::Orphans::new().stats();
/// assert_eq!(stats.batches, 0);
/// assert_eq!(stats.failed, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrphanStats {
    /// Batches of cleanup handed over by dropped owners.
    pub batches: u64,
    /// Batches that have finished (every cleanup in them ran, failed, panicked or timed out).
    pub finished: u64,
    /// Cleanups that ran to completion without error.
    pub succeeded: u64,
    /// Cleanups that returned an error.
    pub failed: u64,
    /// Cleanups that panicked.
    pub panicked: u64,
    /// Cleanups abandoned at their deadline.
    pub timed_out: u64,
    /// Cleanups given up mid-way because their runtime shut down (see
    /// [`ErrorKind::Abandoned`](crate::ErrorKind::Abandoned)).
    pub abandoned: u64,
}

#[derive(Default)]
struct State {
    pending: usize,
    wakers: Vec<Waker>,
    stats: OrphanStats,
}

struct Tracker {
    state: Mutex<State>,
    idle: Condvar,
    /// Where its reports go; `None`: the process default sink, else `kept` (and `tracing`).
    /// Configuration, not part of the tracking protocol: a std lock even under loom, so the
    /// loom model explores only the tracker's own state.
    sink: std::sync::RwLock<Option<SharedSink>>,
    /// What [`Orphans::take_errors`] returns: reports no other sink took.
    kept: CollectingSink,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts orphaned cleanup batches in flight, keeps their errors, and lets a program wait
/// for them. Cloning shares the tracker. [`orphans()`] is the global one every stack and
/// guard uses unless given another (useful to isolate tests).
///
/// ```
/// use tenure::{AsyncExitStack, orphan::Orphans};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let orphans = Orphans::new();
/// let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
/// stack.try_async_callback(|| async { Err(std::io::Error::other("socket reset")) });
/// drop(stack);
/// orphans.join().await;
/// let errors = orphans.take_errors();
/// assert!(errors[0].report().to_string().ends_with(": socket reset"));
/// assert_eq!(orphans.stats().failed, 1);
/// # }
/// ```
#[derive(Clone)]
pub struct Orphans {
    inner: Arc<Tracker>,
}

impl Default for Orphans {
    fn default() -> Self {
        Self::new()
    }
}

/// The global tracker: the one stacks, scopes and guards report to unless told otherwise.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// tenure::orphan::orphans().join().await; // nothing in flight: resolves at once
/// # }
/// ```
pub fn orphans() -> Orphans {
    static GLOBAL: OnceLock<Orphans> = OnceLock::new();
    GLOBAL.get_or_init(Orphans::new).clone()
}

impl Orphans {
    /// A new tracker with nothing in flight.
    ///
    /// ```
    /// assert_eq!(tenure::orphan::Orphans::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Orphans {
            inner: Arc::new(Tracker {
                state: Mutex::new(State::default()),
                idle: Condvar::new(),
                sink: std::sync::RwLock::new(None),
                kept: CollectingSink::new(KEPT_ERRORS),
            }),
        }
    }

    /// Sends this tracker's reports — orphaned cleanups that failed, panicked or missed their
    /// deadline, and what async stacks, scopes and guards counted by it could not return —
    /// to `sink` (see [`crate::sink`]) instead of the process-wide default;
    /// [`take_errors`](Self::take_errors) then has nothing to give. Clones of a tracker are
    /// the same tracker: the sink is theirs too (set it before handing the tracker out).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tenure::sink::CollectingSink;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let sink = Arc::new(CollectingSink::new(8));
    /// let orphans = tenure::orphan::Orphans::new().with_sink(sink.clone());
    /// let mut s = tenure::AsyncExitStack::new().with_orphans(orphans.clone());
    /// s.try_async_callback(|| async { Err(std::io::Error::other("reset")) });
    /// drop(s);
    /// orphans.join().await;
    /// assert_eq!(sink.take().len(), 1);
    /// # }
    /// ```
    pub fn with_sink(self, sink: SharedSink) -> Self {
        let mut slot = self
            .inner
            .sink
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(sink);
        drop(slot);
        self
    }

    /// Reports `report` where this tracker's reports go: its sink, else the process
    /// default, else `tracing` and the errors [`take_errors`](Self::take_errors) returns.
    pub(crate) fn report(&self, report: DropReport) {
        let sink = self
            .inner
            .sink
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(report) = crate::sink::offer(sink.as_ref(), report) {
            crate::sink::trace(&report);
            self.inner.kept.report(report);
        }
    }

    /// How many batches of orphaned cleanup are still running.
    ///
    /// ```
    /// assert_eq!(tenure::orphan::Orphans::new().pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        lock(&self.inner.state).pending
    }

    /// The tracker's figures so far.
    ///
    /// ```
    /// assert_eq!(tenure::orphan::Orphans::new().stats().batches, 0);
    /// ```
    pub fn stats(&self) -> OrphanStats {
        lock(&self.inner.state).stats
    }

    /// Takes the errors of orphaned cleanups reported so far (the first 256 not yet taken;
    /// later ones are counted in [`stats`](Self::stats) and logged), oldest
    /// first. Each was also logged through `tracing` when it happened.
    ///
    /// ```
    /// assert!(tenure::orphan::Orphans::new().take_errors().is_empty());
    /// ```
    pub fn take_errors(&self) -> Vec<Error> {
        self.inner.kept.take_errors()
    }

    /// A future that resolves when no orphaned cleanup tracked here is in flight. Await it
    /// before a program (or a test) ends.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let orphans = tenure::orphan::Orphans::new();
    /// orphans.join().await;
    /// # }
    /// ```
    pub fn join(&self) -> Join {
        Join {
            orphans: self.clone(),
        }
    }

    /// Blocks the thread until no orphaned cleanup tracked here is in flight, or `timeout`
    /// passed; `true` when none is. Do not call it on a runtime thread whose tasks the
    /// cleanup needs (use [`join`](Self::join) there).
    ///
    /// ```
    /// assert!(tenure::orphan::orphans().join_timeout(std::time::Duration::from_secs(1)));
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        // An explicit loop rather than `wait_timeout_while`, which loom does not model.
        let end = Instant::now().checked_add(timeout);
        let mut st = lock(&self.inner.state);
        while st.pending > 0 {
            let left = end.map_or(Duration::MAX, |end| {
                end.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return false;
            }
            st = match self.inner.idle.wait_timeout(st, left) {
                Ok((st, _)) => st,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    fn adopted(&self) {
        let mut st = lock(&self.inner.state);
        st.pending += 1;
        st.stats.batches += 1;
    }

    fn finished(&self) {
        let wakers = {
            let mut st = lock(&self.inner.state);
            st.pending -= 1;
            st.stats.finished += 1;
            if st.pending > 0 {
                return;
            }
            std::mem::take(&mut st.wakers)
        };
        self.inner.idle.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }

    fn record(&self, name: &str, result: Ran, deadline: Duration, context: &'static str) {
        let error = match result {
            Ran::Done(Ok(())) => {
                lock(&self.inner.state).stats.succeeded += 1;
                return;
            }
            Ran::Done(Err(e)) => e,
            Ran::Panicked(payload) => Error::panicked(name.to_string(), payload),
            Ran::TimedOut => Error::timed_out(name.to_string(), deadline),
            Ran::Abandoned => Error::abandoned(name.to_string()),
        };
        {
            let mut st = lock(&self.inner.state);
            match error.kind() {
                crate::error::ErrorKind::Panic => st.stats.panicked += 1,
                crate::error::ErrorKind::Timeout => st.stats.timed_out += 1,
                crate::error::ErrorKind::Abandoned => st.stats.abandoned += 1,
                _ => st.stats.failed += 1,
            }
        }
        self.report(DropReport::Cleanup { context, error });
    }
}

impl fmt::Debug for Orphans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.inner.state);
        f.debug_struct("Orphans")
            .field("pending", &st.pending)
            .field("stats", &st.stats)
            .finish()
    }
}

/// Hooks for the loom model (`tests/loom_orphans.rs`): the tracker's side of a batch's
/// life without a runtime or helper thread to run it, which loom cannot model.
#[cfg(loom)]
#[doc(hidden)]
pub mod model {
    use super::{Batch, Orphans, Ran};
    use crate::error::Error;

    /// A batch handed to `orphans` as [`adopt`](super::adopt) hands one over (counted on the
    /// calling thread, before it is spawned), with its jobs already run: dropping it
    /// finishes it, as a batch finishes on whichever thread ran it.
    pub struct ModelBatch(Batch);

    /// Counts a batch in, as `adopt` does.
    pub fn adopt(orphans: &Orphans) -> ModelBatch {
        orphans.adopted();
        ModelBatch(Batch {
            jobs: Default::default(),
            deadline: super::DEFAULT_DEADLINE,
            orphans: orphans.clone(),
            context: "loom model",
            counted: true,
            on_helper: false,
            front_started: false,
            current: None,
        })
    }

    impl ModelBatch {
        /// Records one of its cleanups as failed, as `Batch::finish_front` does.
        pub fn fail(&self, name: &'static str) {
            let error = Error::callback(name, std::io::Error::other("model failure"));
            self.0
                .orphans
                .record(name, Ran::Done(Err(error)), self.0.deadline, self.0.context);
        }

        /// Records one of its cleanups as succeeded.
        pub fn succeed(&self) {
            self.0
                .orphans
                .record("ok", Ran::Done(Ok(())), self.0.deadline, self.0.context);
        }
    }
}

/// Resolves when no orphaned cleanup of its tracker is in flight. Made by [`Orphans::join`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let join: tenure::orphan::Join = tenure::orphan::orphans().join();
/// join.await;
/// # }
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Join {
    orphans: Orphans,
}

impl Future for Join {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = lock(&self.orphans.inner.state);
        if st.pending == 0 {
            return Poll::Ready(());
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// How one cleanup ended.
enum Ran {
    Done(Result<(), Error>),
    Panicked(Box<dyn Any + Send>),
    TimedOut,
    /// Started on a runtime that then shut down.
    Abandoned,
}
