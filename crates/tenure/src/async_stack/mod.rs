//! `AsyncExitStack`: a dynamic LIFO stack of async resources and async cleanup callbacks,
//! the Rust counterpart of Python's `contextlib.AsyncExitStack` — whose pending cleanup
//! still runs when the future that owns it is dropped.
//!
//! It does everything [`ExitStack`](crate::ExitStack) does, with the same model (last in,
//! first out; exactly once; the first cleanup error primary and the rest
//! [suppressed](crate::Error::suppressed) in order; exit callbacks that see the
//! [`Outcome`] and may [`Exit::Suppress`]; [`pop_all`](AsyncExitStack::pop_all); reuse after
//! close; [`Handle`](crate::stack::Handle)s), plus [`AsyncClose`](crate::AsyncClose) resources and async callbacks.
//! [`AsyncExitStack::scope`] runs a body and closes the stack with the body's outcome.
//!
//! **Cancellation.** If the stack, or the scope future that owns it, or a `close()` future
//! is dropped with cleanup pending, that cleanup is not lost: it is handed to the current
//! tokio runtime as one task (or, with no runtime, run on a helper thread) that runs it in
//! the same LIFO order with [`Outcome::Cancelled`], each cleanup bounded by the stack's
//! [deadline](AsyncExitStack::with_deadline). See [`crate::orphan`] for the details.
//! What a cancelled `close` (or a scope cancelled in its cleanup) had already collected —
//! cleanup errors, a cleanup panic waiting to resume, the body's panic — cannot be returned
//! any more, so it is logged through `tracing` with its message instead of being lost.
//!
//! Because pending cleanup may outlive the future that pushed it, entries are `Send +
//! 'static`: they own what they release (the sync [`ExitStack`](crate::ExitStack) can
//! borrow; an async stack that must survive cancellation cannot).
//!
//! ```
//! use tenure::{AsyncExitStack, ScopeError};
//! use tenure::async_close::async_close_with;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ScopeError<std::io::Error>> {
//! let hosts = ["db-1", "db-2", "db-3"];
//! let replies = AsyncExitStack::scope(async |s| {
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

use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::time::Duration;

mod close;
mod entry;
mod resources;
mod scope;
mod unwind;

use entry::{AsyncCallback, AsyncExitCallback, At, Callback, Entry, ExitCallback, TryCallback};

use crate::error::{BoxError, Error};
use crate::exit_rules::Name;
use crate::orphan::{Orphaning, Orphans};
use crate::outcome::{Exit, Outcome};
use crate::stack_base::Entries;
use crate::suppress::Suppress;

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
    entries: Entries<Entry>,
    /// Deadline and tracker of what runs orphaned (the global tracker unless set: resolved
    /// lazily, so that `new` costs nothing).
    to: Orphaning,
}

impl Default for AsyncExitStack {
    fn default() -> Self {
        Self::new()
    }
}

impl AsyncExitStack {
    /// An empty stack, with the default deadline ([`orphan::DEFAULT_DEADLINE`](crate::orphan::DEFAULT_DEADLINE)) and the
    /// global [`orphans()`](crate::orphan::orphans) tracker.
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
            entries: Entries::with_capacity(capacity),
            to: Orphaning::default(),
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
        self.to.deadline = deadline;
        self
    }

    /// The deadline of each orphaned cleanup.
    ///
    /// ```
    /// assert_eq!(tenure::AsyncExitStack::new().deadline(), tenure::orphan::DEFAULT_DEADLINE);
    /// ```
    pub fn deadline(&self) -> Duration {
        self.to.deadline
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
        self.to.orphans = Some(orphans);
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

    /// Names the next entry pushed (of any kind), for its errors and reports; see
    /// [`ExitStack::named`](crate::ExitStack::named). Unnamed, an entry is reported under a
    /// resource's type name or the place it was pushed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.named("flush log").try_async_callback(|| async { Err(std::io::Error::other("disk full")) });
    /// assert_eq!(s.close().await.unwrap_err().resource(), "flush log");
    /// # }
    /// ```
    #[must_use = "the name applies to the entry pushed next: `stack.named(..).enter(..)`"]
    pub fn named(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self {
        self.entries.name_next(name.into());
        self
    }

    fn push_dyn(&mut self, entry: impl entry::AsyncEntry + 'static) {
        self.entries.push(Entry::Dyn(Box::new(entry)));
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
    #[track_caller]
    pub fn callback<F: FnOnce() + Send + 'static>(&mut self, f: F) {
        let name = self.entries.take_name(None, Location::caller());
        self.push_dyn(Callback { f, name });
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
    #[track_caller]
    pub fn try_callback<F, E>(&mut self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = self.entries.take_name(None, Location::caller());
        self.push_dyn(TryCallback { f, name });
    }

    /// Pushes an async callback (Python's `push_async_callback`). Nothing runs until its
    /// turn comes in `close`. A panic or a missed deadline is reported under the name given
    /// with [`named`](Self::named), else the place this was called.
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
    #[track_caller]
    pub fn async_callback<F, Fut>(&mut self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let at = Location::caller();
        match self.entries.take_given_name() {
            None => self.entries.push(Entry::Callback(Box::pin(At {
                at,
                fut: async move { f().await },
            }))),
            given => {
                let name = Name::new(given, None, at);
                let f = move || async move {
                    f().await;
                    Ok::<(), Infallible>(())
                };
                self.push_dyn(AsyncCallback { f, name });
            }
        }
    }

    /// Pushes an async callback that can fail; its error is collected by `close`, under the
    /// name given with [`named`](Self::named), else the place this was called.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.try_async_callback(|| async { Err(std::io::Error::other("flush failed")) });
    /// let err = s.close().await.unwrap_err();
    /// assert_eq!(err.report().to_string().rsplit(": ").next(), Some("flush failed"));
    /// # }
    /// ```
    #[track_caller]
    pub fn try_async_callback<F, Fut, E>(&mut self, f: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let at = Location::caller();
        match self.entries.take_given_name() {
            None => self.entries.push(Entry::Future(Box::pin(At {
                at,
                fut: async move {
                    f().await
                        .map(|()| Exit::Propagate)
                        .map_err(|e| Error::callback(entry::pushed_at(at).into_cow(), e))
                },
            }))),
            given => {
                let name = Name::new(given, None, at);
                self.push_dyn(AsyncCallback { f, name });
            }
        }
    }

    /// Pushes a synchronous exit callback (Python's `push`): it sees how the scope ended —
    /// the body's outcome, or the latest cleanup error if the body succeeded — and may
    /// suppress that error by returning [`Exit::Suppress`]. For one that can fail, see
    /// [`try_push_exit`](Self::try_push_exit).
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.push_exit(|o| { println!("scope ended: {o}"); Exit::Propagate });
    /// assert_eq!(s.unwind_with(Outcome::Success).await?, Exit::Propagate);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn push_exit<F>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Exit + Send + 'static,
    {
        self.try_push_exit(move |o: &Outcome<'_>| Ok::<_, Infallible>(f(o)));
    }

    /// [`push_exit`](Self::push_exit) for a callback that can fail; its error is collected
    /// under the name given with [`named`](Self::named), else the place this was called.
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = AsyncExitStack::new();
    /// s.named("commit").try_push_exit(|_: &Outcome<'_>| Err::<Exit, _>(std::io::Error::other("conflict")));
    /// assert_eq!(s.close().await.unwrap_err().resource(), "commit");
    /// # }
    /// ```
    #[track_caller]
    pub fn try_push_exit<F, E>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = self.entries.take_name(None, Location::caller());
        self.push_dyn(ExitCallback { f, name });
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
    ///         if failed { Exit::Suppress } else { Exit::Propagate }
    ///     }
    /// });
    /// let err = std::io::Error::other("body failed");
    /// assert_eq!(s.unwind_with(Outcome::Error(&err)).await?, Exit::Suppress);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn push_async_exit<F, Fut>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Fut + Send + 'static,
        Fut: Future<Output = Exit> + Send + 'static,
    {
        self.try_push_async_exit(move |o: &Outcome<'_>| {
            let fut = f(o);
            async move { Ok::<_, Infallible>(fut.await) }
        });
    }

    /// [`push_async_exit`](Self::push_async_exit) for a callback that can fail; its error
    /// is collected under the name given with [`named`](Self::named), else the place this
    /// was called.
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = AsyncExitStack::new();
    /// s.named("rollback").try_push_async_exit(|_: &Outcome<'_>| async {
    ///     Err::<Exit, _>(std::io::Error::other("connection lost"))
    /// });
    /// assert_eq!(s.close().await.unwrap_err().resource(), "rollback");
    /// # }
    /// ```
    #[track_caller]
    pub fn try_push_async_exit<F, Fut, E>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Exit, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let name = self.entries.take_name(None, Location::caller());
        self.push_dyn(AsyncExitCallback { f, name });
    }

    /// Moves a whole stack's entries onto this one, in order (Python's
    /// `enter_async_context(other_stack)`): they run in their turn, LIFO, see this stack's
    /// outcome — so an inner exit callback can suppress the body's error — and their errors
    /// are this stack's own, flat, in order. The inner stack's handles, deadline and
    /// tracker are left behind; to close it as one resource instead, [`enter`](Self::enter)
    /// it (see [Nesting stacks](crate::stack#nesting-stacks): the same three forms).
    ///
    /// ```
    /// use tenure::{suppress, AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut inner = AsyncExitStack::new();
    /// inner.suppress(suppress::error_type::<std::fmt::Error>());
    /// let mut outer = AsyncExitStack::new();
    /// outer.splice(inner);
    /// assert_eq!(outer.unwind_with(Outcome::Error(&std::fmt::Error)).await?, Exit::Suppress);
    /// # Ok(()) }
    /// ```
    pub fn splice(&mut self, mut inner: AsyncExitStack) {
        self.entries.splice(&mut inner.entries);
    }

    /// Pushes an explicit, narrow suppression (see [`crate::suppress`]); the same rules as
    /// [`ExitStack::suppress`](crate::ExitStack::suppress): a group loses exactly the members
    /// the rule matches.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tenure::{suppress, AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    /// let pipe = std::io::Error::from(ErrorKind::BrokenPipe);
    /// assert_eq!(s.unwind_with(Outcome::Error(&pipe)).await?, Exit::Suppress);
    /// # Ok(()) }
    /// ```
    pub fn suppress<P>(&mut self, rule: Suppress<P>)
    where
        P: Fn(&(dyn StdError + 'static)) -> bool + Send + 'static,
    {
        self.entries
            .push_unnamed(Entry::Rule(Box::new(rule.boxed())));
    }

    /// Moves every entry into a new stack (with the same deadline and tracker) and leaves
    /// this one empty (Python's `pop_all`). Handles keep working with the new stack.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut setup = tenure::AsyncExitStack::new();
    /// let conn = setup.enter(tenure::close::Dropping(String::from("conn")));
    /// let mut kept = setup.pop_all(); // setup succeeded: nothing closes when `setup` drops
    /// drop(setup);
    /// assert_eq!(*kept[conn], "conn");
    /// kept.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn pop_all(&mut self) -> AsyncExitStack {
        AsyncExitStack {
            entries: self.entries.pop_all(),
            to: self.to.clone(),
        }
    }
}

impl fmt::Debug for AsyncExitStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncExitStack")
            .field("entries", &self.entries.len())
            .field("deadline", &self.to.deadline)
            .finish()
    }
}
