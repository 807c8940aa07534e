//! `ExitStack`: a dynamic LIFO stack of resources and cleanup callbacks, the Rust
//! counterpart of Python's `contextlib.ExitStack`.
//!
//! Push as many resources and callbacks as the program needs, decided at run time; they are
//! released in reverse order, each exactly once, whatever happens — an earlier release
//! failing or panicking included. [`ExitStack::close`] returns every cleanup error (the
//! first as primary, the rest [suppressed](crate::Error::suppressed)); dropping the stack
//! instead reports them through `tracing`. [`ExitStack::scope`] runs a body and closes the
//! stack with the body's [`Outcome`].
//!
//! ```
//! use tenure::{ExitStack, Dropping};
//! use std::io::Read;
//!
//! let dir = tempfile::tempdir()?;
//! let paths: Vec<_> = (0..3).map(|i| dir.path().join(format!("{i}.txt"))).collect();
//! for (i, p) in paths.iter().enumerate() { std::fs::write(p, format!("file {i}"))?; }
//!
//! let mut stack = ExitStack::new();
//! let files = paths
//!     .iter()
//!     .map(|p| Ok(stack.hold(std::fs::File::open(p)?)))
//!     .collect::<std::io::Result<Vec<_>>>()?;       // a failure here closes the opened ones
//! let mut contents = Vec::new();
//! for f in &files {
//!     let mut s = String::new();
//!     stack[*f].read_to_string(&mut s)?;               // resources stay usable
//!     contents.push(s);
//! }
//! stack.close()?;                                        // all closed, last first
//! assert_eq!(contents, ["file 0", "file 1", "file 2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

mod entry;
mod handle;
mod scope;
mod scope_error;

use entry::{Callback, Entry, ExitCallback, Nested, TryCallback, Unwinding};
pub(crate) use handle::next_id;
pub use handle::Handle;
pub use scope_error::ScopeError;

use crate::error::{report_dropped, BoxError};
use crate::{Close, Error, Outcome};

/// What an exit callback decided about the error it saw.
///
/// ```
/// use tenure::{ExitStack, Exit, Outcome};
/// let mut stack = ExitStack::new();
/// stack.push_exit(|o: &Outcome<'_>| Ok::<_, std::convert::Infallible>(
///     if o.is_failure() { Exit::Suppress } else { Exit::Propagate }
/// ));
/// let err = std::io::Error::other("ignored");
/// assert_eq!(stack.close_with(Outcome::Error(&err))?, Exit::Suppress);
/// # Ok::<(), tenure::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub enum Exit {
    /// Let the error continue (the default: nothing is suppressed unless asked).
    Propagate,
    /// Suppress the error the callback was shown. Panics and cancellation cannot be
    /// suppressed; for them this is the same as `Propagate`.
    Suppress,
}

/// A dynamic stack of resources and cleanup callbacks, released last-in first-out.
///
/// `'a` is how long the callbacks' borrows live; resources held for [`Handle`] access are
/// owned (`'static`). The stack is reusable after [`close`](Self::close).
///
/// ```
/// use std::cell::RefCell;
/// let log = RefCell::new(Vec::new());
/// let mut stack = tenure::ExitStack::new();
/// for i in 0..3 {
///     let log = &log;
///     stack.callback(move || log.borrow_mut().push(i));
/// }
/// stack.close()?;
/// assert_eq!(*log.borrow(), [2, 1, 0]);
/// # Ok::<(), tenure::Error>(())
/// ```
pub struct ExitStack<'a> {
    entries: Vec<Box<dyn Entry<'a> + 'a>>,
    /// 0 until a handle is issued; then the id those handles carry.
    id: u64,
}

impl Default for ExitStack<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> ExitStack<'a> {
    /// An empty stack.
    ///
    /// ```
    /// assert!(tenure::ExitStack::new().is_empty());
    /// ```
    pub fn new() -> Self {
        ExitStack {
            entries: Vec::new(),
            id: 0,
        }
    }

    /// An empty stack with room for `capacity` entries.
    ///
    /// ```
    /// let s = tenure::ExitStack::with_capacity(1000);
    /// assert_eq!(s.len(), 0);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        ExitStack {
            entries: Vec::with_capacity(capacity),
            id: 0,
        }
    }

    /// How many entries are waiting to run.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.callback(|| {});
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when nothing is waiting to run.
    ///
    /// ```
    /// assert!(tenure::ExitStack::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pushes a callback that cannot fail (Python's `ExitStack.callback`).
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.callback(|| println!("bye"));
    /// s.close()?;
    /// # Ok::<(), tenure::Error>(())
    /// ```
    #[inline]
    pub fn callback<F: FnOnce() + 'a>(&mut self, f: F) {
        self.entries.push(Box::new(Callback(f)));
    }

    /// Pushes a callback that can fail; its error is collected by `close`, named after
    /// the closure's type.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.try_callback(|| std::fs::remove_file("/definitely/not/here"));
    /// let err = s.close().unwrap_err();
    /// assert_eq!(err.kind(), tenure::ErrorKind::Callback);
    /// ```
    pub fn try_callback<F, E>(&mut self, f: F)
    where
        F: FnOnce() -> Result<(), E> + 'a,
        E: Into<BoxError>,
    {
        self.entries.push(Box::new(TryCallback { f, name: None }));
    }

    /// Pushes an exit callback (Python's `ExitStack.push`): it sees how the scope ended —
    /// the body's outcome, or the latest cleanup error if the body succeeded — and may
    /// suppress that error by returning [`Exit::Suppress`].
    ///
    /// ```
    /// use tenure::{Exit, ExitStack, Outcome};
    /// let mut s = ExitStack::new();
    /// s.push_exit(|o: &Outcome<'_>| {
    ///     println!("scope ended: {o}");
    ///     Ok::<_, std::io::Error>(Exit::Propagate)
    /// });
    /// assert_eq!(s.close_with(Outcome::Success)?, Exit::Propagate);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn push_exit<F, E>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + 'a,
        E: Into<BoxError>,
    {
        self.entries.push(Box::new(ExitCallback { f, name: None }));
    }

    /// Like [`try_callback`](Self::try_callback), naming the callback in its error
    /// (instead of the closure's type name).
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.try_callback_named("remove lock file", || std::fs::remove_file("/definitely/not/here"));
    /// assert_eq!(s.close().unwrap_err().resource(), "remove lock file");
    /// ```
    pub fn try_callback_named<F, E>(&mut self, name: impl Into<Cow<'static, str>>, f: F)
    where
        F: FnOnce() -> Result<(), E> + 'a,
        E: Into<BoxError>,
    {
        self.entries.push(Box::new(TryCallback {
            f,
            name: Some(name.into()),
        }));
    }

    /// Like [`push_exit`](Self::push_exit), naming the callback in its error.
    ///
    /// ```
    /// use tenure::{Exit, Outcome};
    /// let mut s = tenure::ExitStack::new();
    /// s.push_exit_named("commit", |_: &Outcome<'_>| Err::<Exit, _>(std::io::Error::other("conflict")));
    /// assert_eq!(s.close().unwrap_err().resource(), "commit");
    /// ```
    pub fn push_exit_named<F, E>(&mut self, name: impl Into<Cow<'static, str>>, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + 'a,
        E: Into<BoxError>,
    {
        self.entries.push(Box::new(ExitCallback {
            f,
            name: Some(name.into()),
        }));
    }

    /// Pushes a whole stack as one entry (Python's `enter_context(other_stack)`): when
    /// this stack closes, the inner stack's entries run in their turn, LIFO, and see this
    /// stack's outcome — so an inner exit callback can suppress the body's error — and
    /// their errors are reported as this stack's own, flat, in order.
    ///
    /// ```
    /// use tenure::{suppress, Exit, ExitStack, Outcome};
    /// let mut inner = ExitStack::new();
    /// inner.suppress(suppress::error_type::<std::fmt::Error>());
    /// let mut outer = ExitStack::new();
    /// outer.enter_stack(inner);
    /// assert_eq!(outer.close_with(Outcome::Error(&std::fmt::Error))?, Exit::Suppress);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn enter_stack(&mut self, inner: ExitStack<'a>) {
        self.entries.push(Box::new(Nested(inner)));
    }

    /// Pushes an explicit, narrow suppression (see [`crate::suppress`]): Python's
    /// `stack.enter_context(suppress(BrokenPipeError))`.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tenure::{suppress, Exit, ExitStack, Outcome};
    /// let mut s = ExitStack::new();
    /// s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    /// let pipe = std::io::Error::from(ErrorKind::BrokenPipe);
    /// assert_eq!(s.close_with(Outcome::Error(&pipe))?, Exit::Suppress);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn suppress<P>(&mut self, suppressor: crate::suppress::Suppress<P>)
    where
        P: Fn(&(dyn StdError + 'static)) -> bool + 'a,
    {
        self.push_exit(move |o: &Outcome<'_>| {
            Ok::<_, std::convert::Infallible>(suppressor.decide(o))
        });
    }

    /// Moves every entry into a new stack and leaves this one empty (Python's
    /// `pop_all`): the idiom for handing resources to the caller once setup succeeded.
    /// Handles keep working with the new stack.
    ///
    /// ```
    /// use std::cell::Cell;
    /// let closed = Cell::new(0);
    /// let mut kept = {
    ///     let mut setup = tenure::ExitStack::new();
    ///     setup.callback(|| closed.set(closed.get() + 1));
    ///     setup.pop_all() // success: nothing is closed when `setup` drops
    /// };
    /// assert_eq!(closed.get(), 0);
    /// kept.close()?;
    /// assert_eq!(closed.get(), 1);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn pop_all(&mut self) -> ExitStack<'a> {
        ExitStack {
            entries: std::mem::take(&mut self.entries),
            id: std::mem::take(&mut self.id),
        }
    }

    /// Releases everything, last first, and returns every cleanup error: the first as
    /// primary, the rest as its [`suppressed`](Error::suppressed) errors, in the order they
    /// happened. Every entry runs exactly once even if others fail or panic; a panic
    /// resumes after all have run. The stack is empty and reusable afterwards.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.try_callback(|| Err(std::io::Error::other("first registered, runs last")));
    /// s.try_callback(|| Err(std::io::Error::other("runs first")));
    /// let err = s.close().unwrap_err();
    /// assert!(err.to_string().contains("runs first"));
    /// assert!(err.suppressed()[0].to_string().contains("runs last"));
    /// ```
    pub fn close(&mut self) -> Result<(), Error> {
        self.close_with(Outcome::Success).map(|_| ())
    }

    /// Releases everything as [`close`](Self::close) does, showing exit callbacks how the
    /// scope ended. Returns [`Exit::Suppress`] when an exit callback suppressed the body's
    /// error. If cleanup fails, the cleanup error is returned (and takes the place of a
    /// suppressed body error, as in Python).
    ///
    /// ```
    /// use tenure::{ExitStack, Outcome, Exit};
    /// let mut s = ExitStack::new();
    /// s.push_exit(|o: &Outcome<'_>| { assert_eq!(o.name(), "error"); Ok::<_, std::fmt::Error>(Exit::Propagate) });
    /// assert_eq!(s.close_with(Outcome::Error(&std::fmt::Error))?, Exit::Propagate);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn close_with(&mut self, outcome: Outcome<'_>) -> Result<Exit, Error> {
        match self.settle(outcome) {
            (_, Some(e)) => Err(e),
            (exit, None) => Ok(exit),
        }
    }

    /// Runs every entry and resumes a cleanup panic; otherwise returns whether the body's
    /// error was suppressed and the cleanup errors, both (a suppressed body error and
    /// cleanup errors can happen together).
    fn settle(&mut self, outcome: Outcome<'_>) -> (Exit, Option<Error>) {
        let done = self.unwind(outcome);
        if let Some(payload) = done.panic {
            if let Some(e) = Error::from_errors(done.errors) {
                report_dropped(&e, "ExitStack::close (resuming a cleanup panic)");
            }
            panic::resume_unwind(payload);
        }
        let exit = if done.body_suppressed() {
            Exit::Suppress
        } else {
            Exit::Propagate
        };
        (exit, Error::from_errors(done.errors))
    }

    /// Runs every entry, LIFO, exactly once, catching panics so that none is skipped.
    fn unwind<'o>(&mut self, body: Outcome<'o>) -> Unwinding<'o> {
        let mut entries = std::mem::take(&mut self.entries);
        self.id = 0;
        let mut state = Unwinding {
            body,
            body_error_active: matches!(body, Outcome::Error(_)),
            errors: Vec::new(),
            panic: None,
        };
        while !entries.is_empty() {
            // One catch_unwind per panic, not per entry: the loop resumes after the entry
            // that panicked (it was popped before it ran, so it never runs twice).
            let run = panic::catch_unwind(AssertUnwindSafe(|| {
                while let Some(entry) = entries.pop() {
                    entry.run(&mut state);
                }
            }));
            if let Err(payload) = run {
                if state.panic.is_none() && !state.body.is_panic() {
                    state.panic = Some(payload);
                } else {
                    state
                        .errors
                        .push(Error::panicked("ExitStack entry", payload));
                }
            }
        }
        // Keep the allocation for reuse.
        self.entries = entries;
        state
    }
}

/// Runs whatever is left, reporting errors through `tracing`. A cleanup panic resumes after
/// all entries ran, unless the thread is already unwinding (then it is reported instead).
impl Drop for ExitStack<'_> {
    fn drop(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let unwinding = std::thread::panicking();
        let outcome = if unwinding {
            Outcome::Panic(&"ExitStack dropped while its thread was panicking")
        } else {
            Outcome::Success
        };
        let mut done = self.unwind(outcome);
        if let Some(payload) = done.panic.take() {
            if unwinding {
                done.errors
                    .push(Error::panicked("ExitStack entry", payload));
            } else {
                if let Some(e) = Error::from_errors(done.errors) {
                    report_dropped(&e, "ExitStack::drop (resuming a cleanup panic)");
                }
                panic::resume_unwind(payload);
            }
        }
        if let Some(e) = Error::from_errors(done.errors) {
            report_dropped(&e, "ExitStack::drop");
        }
    }
}

/// A stack is itself a resource: closing it closes everything it holds, so stacks nest.
///
/// ```
/// use tenure::ExitStack;
/// let mut inner = ExitStack::new();
/// inner.callback(|| println!("inner"));
/// let mut outer = ExitStack::new();
/// outer.enter(inner);
/// outer.close()?;
/// # Ok::<(), tenure::Error>(())
/// ```
///
/// Two things to know:
///
/// - A stack closed through `Close` has no outcome to show: its exit callbacks see
///   [`Outcome::Success`] even if the outer scope failed. To show them the outer outcome
///   (Python's `enter_context(inner_stack)`), nest with an exit callback instead; the inner
///   stack's decision to suppress becomes the callback's:
///
///   ```
///   use tenure::{Exit, ExitStack, Outcome, ScopeError};
///   let r = ExitStack::scope(|outer| {
///       let mut inner = ExitStack::new();
///       inner.push_exit(|o: &Outcome<'_>| Ok::<_, std::fmt::Error>(
///           if o.is_failure() { Exit::Suppress } else { Exit::Propagate }
///       ));
///       outer.push_exit(move |o| inner.close_with(*o));
///       Err::<(), _>(std::io::Error::other("body failed"))
///   });
///   assert!(matches!(r, Err(ScopeError::Suppressed(_))));
///   ```
///
/// - With `Close` in scope, `stack.close()` on an owned stack resolves to this by-value
///   method, which consumes the stack; on a `&mut ExitStack` (as in a scope's body) it is
///   the inherent, reusable [`ExitStack::close`]. Write `ExitStack::close(&mut stack)` to
///   keep using an owned stack.
impl Close for ExitStack<'_> {
    type Error = Error;
    fn close(mut self) -> Result<(), Error> {
        ExitStack::close(&mut self)
    }
}

impl fmt::Debug for ExitStack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitStack")
            .field("entries", &self.entries.len())
            .finish()
    }
}
