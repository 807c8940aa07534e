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
//! use tenure::ExitStack;
//! use tenure::close::Dropping;
//! use std::io::Read;
//!
//! let dir = tempfile::tempdir()?;
//! let paths: Vec<_> = (0..3).map(|i| dir.path().join(format!("{i}.txt"))).collect();
//! for (i, p) in paths.iter().enumerate() { std::fs::write(p, format!("file {i}"))?; }
//!
//! let mut stack = ExitStack::new();
//! let files = paths
//!     .iter()
//!     .map(|p| Ok(stack.enter(Dropping(std::fs::File::open(p)?))))
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
//!
//! # Closing: `close`, `unwind`, `unwind_with`
//!
//! [`close`](ExitStack::close) consumes the stack (it is the same as [`Close::close`], so a
//! stack is a resource like any other); [`unwind`](ExitStack::unwind) runs every entry now
//! and leaves the stack empty and reusable (Python's `close()`; what a scope's body, which
//! only borrows the stack, calls); [`unwind_with`](ExitStack::unwind_with) does the same
//! and shows exit callbacks how the scope ended.
//!
//! # Nesting stacks
//!
//! Three ways, which differ in what the inner entries see and in how their errors come out:
//!
//! | form | inner exit callbacks see | inner errors come out |
//! |---|---|---|
//! | [`outer.splice(inner)`](ExitStack::splice) | the outer outcome (they can suppress the body's error) | as the outer stack's own, flat, in order |
//! | [`outer.enter(inner)`](ExitStack::enter) (a stack is a [`Close`] resource) | [`Outcome::Success`] | as one error whose cause is the inner stack's error (with its suppressed ones) |
//! | `outer.try_push_exit(move \|o\| inner.unwind_with(*o))` | the outer outcome | as one error whose cause is the inner stack's error; the inner decision to suppress becomes the callback's |
//!
//! ```
//! use tenure::{suppress, ExitStack, Exit, Outcome};
//! let body_error = std::fmt::Error;
//!
//! // splice: the inner rule sees the outer body's error and suppresses it.
//! let mut inner = ExitStack::new();
//! inner.suppress(suppress::error_type::<std::fmt::Error>());
//! let mut outer = ExitStack::new();
//! outer.splice(inner);
//! assert_eq!(outer.unwind_with(Outcome::Error(&body_error))?, Exit::Suppress);
//!
//! // enter: the inner stack is closed as a resource and sees success.
//! let mut inner = ExitStack::new();
//! inner.push_exit(|o| { assert!(o.is_success()); Exit::Propagate });
//! let mut outer = ExitStack::new();
//! outer.enter(inner);
//! assert_eq!(outer.unwind_with(Outcome::Error(&body_error))?, Exit::Propagate);
//! # Ok::<(), tenure::Error>(())
//! ```
//!
//! # Entry names
//!
//! A cleanup error names its entry: the name given with [`named`](ExitStack::named), else a
//! resource's type name, else — for callbacks, and for resources whose type is a closure's
//! — the place it was pushed (`src/report.rs:12:9`).

use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::panic::{self, AssertUnwindSafe, Location};

mod entry;
mod handle;
mod scope;

pub use crate::handle::Handle;
pub use crate::scope_error::ScopeError;
use entry::{Callback, Entry, ExitCallback, Rule, State, TryCallback, TryExitCallback};
pub use scope::ScopeResultExt;

use crate::close::Close;
use crate::error::{BoxError, Error};
use crate::exit_rules::{finish, Name, Unwinding};
use crate::outcome::{Exit, Outcome};
use crate::sink::{emit, report_dropped, SharedSink};
use crate::stack_base::Entries;
use crate::suppress::Suppress;

/// A dynamic stack of resources and cleanup callbacks, released last-in first-out.
///
/// `'a` is how long the callbacks' borrows live; resources [entered](Self::enter) for
/// [`Handle`] access are owned (`'static`). The stack is reusable after
/// [`unwind`](Self::unwind).
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
    entries: Entries<Box<dyn Entry<'a> + 'a>>,
    /// Where drop-time reports go (see [`crate::sink`]); `None`: the process default.
    sink: Option<SharedSink>,
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
        Self::with_capacity(0)
    }

    /// An empty stack with room for `capacity` entries.
    ///
    /// ```
    /// let s = tenure::ExitStack::with_capacity(1000);
    /// assert_eq!(s.len(), 0);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        ExitStack {
            entries: Entries::with_capacity(capacity),
            sink: None,
        }
    }

    /// Sends what this stack reports where nothing can return it — its errors when it is
    /// dropped without `close`, or when a cleanup panic resumes — to `sink` instead of the
    /// process-wide default (see [`crate::sink`]). Stacks made by
    /// [`pop_all`](Self::pop_all) keep it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tenure::sink::CollectingSink;
    /// let sink = Arc::new(CollectingSink::new(8));
    /// let mut s = tenure::ExitStack::new().with_sink(sink.clone());
    /// s.try_callback(|| Err(std::io::Error::other("flush failed")));
    /// drop(s);
    /// assert_eq!(sink.take()[0].error().unwrap().kind(), tenure::ErrorKind::Callback);
    /// ```
    pub fn with_sink(mut self, sink: SharedSink) -> Self {
        self.sink = Some(sink);
        self
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
    /// let mut s = tenure::ExitStack::new();
    /// assert!(s.is_empty());
    /// s.callback(|| {});
    /// assert!(!s.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names the next entry pushed (of any kind), for its errors: a path, a URL, a pool
    /// key — whatever identifies it in a log. Unnamed, an entry is reported under a
    /// resource's type name or the place it was pushed (see the [module docs](self)).
    ///
    /// ```
    /// use tenure::close::close_with;
    /// let mut s = tenure::ExitStack::new();
    /// s.named("out.csv").enter(close_with((), |()| Err(std::io::Error::other("disk full"))));
    /// s.named("remove lock file").try_callback(|| std::fs::remove_file("/definitely/not/here"));
    /// let err = s.close().unwrap_err();
    /// assert_eq!(err.resource(), "remove lock file");
    /// assert_eq!(err.suppressed()[0].to_string(), "failed to close `out.csv`");
    /// ```
    #[must_use = "the name applies to the entry pushed next: `stack.named(..).enter(..)`"]
    pub fn named(&mut self, name: impl Into<Cow<'static, str>>) -> &mut Self {
        self.entries.name_next(name.into());
        self
    }

    /// Pushes a callback that cannot fail (Python's `ExitStack.callback`). Given a name
    /// with [`named`](Self::named), a panic in it is reported under that name.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.callback(|| println!("bye"));
    /// s.close()?;
    /// # Ok::<(), tenure::Error>(())
    /// ```
    #[inline]
    pub fn callback<F: FnOnce() + 'a>(&mut self, f: F) {
        match self.entries.take_given_name() {
            None => self.entries.push(Box::new(Callback(f))),
            Some(name) => {
                let name = Name::Given(name);
                let f = move || {
                    f();
                    Ok::<(), Infallible>(())
                };
                self.entries.push(Box::new(TryCallback { f, name }));
            }
        }
    }

    /// Pushes a callback that can fail; its error is collected by `close`, under the name
    /// given with [`named`](Self::named) or the place this was called.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.try_callback(|| std::fs::remove_file("/definitely/not/here"));
    /// let err = s.close().unwrap_err();
    /// assert_eq!(err.kind(), tenure::ErrorKind::Callback);
    /// assert!(err.resource().contains(".rs:"), "{}", err.resource()); // file:line:column where it was pushed
    /// ```
    #[track_caller]
    pub fn try_callback<F, E>(&mut self, f: F)
    where
        F: FnOnce() -> Result<(), E> + 'a,
        E: Into<BoxError>,
    {
        let name = self.entries.take_name(None, Location::caller());
        self.entries.push(Box::new(TryCallback { f, name }));
    }

    /// Pushes an exit callback (Python's `ExitStack.push`): it sees how the scope ended —
    /// the body's outcome, or the latest cleanup error if the body succeeded — and may
    /// suppress that error by returning [`Exit::Suppress`]. For one that can fail, see
    /// [`try_push_exit`](Self::try_push_exit). Given a name with [`named`](Self::named), a
    /// panic in it is reported under that name.
    ///
    /// ```
    /// use tenure::{Exit, ExitStack, Outcome};
    /// let mut s = ExitStack::new();
    /// s.push_exit(|o| if o.is_failure() { Exit::Suppress } else { Exit::Propagate });
    /// let err = std::io::Error::other("ignored");
    /// assert_eq!(s.unwind_with(Outcome::Error(&err))?, Exit::Suppress);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn push_exit<F>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Exit + 'a,
    {
        match self.entries.take_given_name() {
            None => self.entries.push(Box::new(ExitCallback(f))),
            Some(name) => {
                let name = Name::Given(name);
                let f = move |o: &Outcome<'_>| Ok::<_, Infallible>(f(o));
                self.entries.push(Box::new(TryExitCallback { f, name }));
            }
        }
    }

    /// [`push_exit`](Self::push_exit) for a callback that can fail; its error is collected
    /// under the name given with [`named`](Self::named) or the place this was called.
    ///
    /// ```
    /// use tenure::{Exit, ExitStack, Outcome};
    /// let mut s = ExitStack::new();
    /// s.named("commit").try_push_exit(|_: &Outcome<'_>| Err::<Exit, _>(std::io::Error::other("conflict")));
    /// assert_eq!(s.close().unwrap_err().resource(), "commit");
    /// ```
    #[track_caller]
    pub fn try_push_exit<F, E>(&mut self, f: F)
    where
        F: FnOnce(&Outcome<'_>) -> Result<Exit, E> + 'a,
        E: Into<BoxError>,
    {
        let name = self.entries.take_name(None, Location::caller());
        self.entries.push(Box::new(TryExitCallback { f, name }));
    }

    /// Moves a whole stack's entries onto this one, in order (Python's
    /// `enter_context(other_stack)`): they run in their turn, LIFO, see this stack's
    /// outcome — so an inner exit callback can suppress the body's error — and their errors
    /// are this stack's own, flat, in order. The inner stack's handles are left behind; to
    /// close it as one resource instead, [`enter`](Self::enter) it (see
    /// [Nesting stacks](self#nesting-stacks)).
    ///
    /// ```
    /// use tenure::{suppress, Exit, ExitStack, Outcome};
    /// let mut inner = ExitStack::new();
    /// inner.suppress(suppress::error_type::<std::fmt::Error>());
    /// let mut outer = ExitStack::new();
    /// outer.splice(inner);
    /// assert_eq!(outer.unwind_with(Outcome::Error(&std::fmt::Error))?, Exit::Suppress);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn splice(&mut self, mut inner: ExitStack<'a>) {
        self.entries.splice(&mut inner.entries);
    }

    /// Pushes an explicit, narrow suppression (see [`crate::suppress`]): Python's
    /// `stack.enter_context(suppress(BrokenPipeError))`. When its turn comes it sees what an
    /// exit callback would: the body's error, matched whole, else the latest cleanup error,
    /// from which it removes exactly the members it matches — the rest of a group (a nested
    /// stack's close error included) propagates, in order.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tenure::{suppress, Exit, ExitStack, Outcome};
    /// let mut s = ExitStack::new();
    /// s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    /// let pipe = std::io::Error::from(ErrorKind::BrokenPipe);
    /// assert_eq!(s.unwind_with(Outcome::Error(&pipe))?, Exit::Suppress);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn suppress<P>(&mut self, rule: Suppress<P>)
    where
        P: Fn(&(dyn StdError + 'static)) -> bool + 'a,
    {
        self.entries.push_unnamed(Box::new(Rule(rule)));
    }

    /// Moves every entry into a new stack and leaves this one empty (Python's
    /// `pop_all`): the idiom for handing resources to the caller once setup succeeded.
    /// Handles keep working with the new stack.
    ///
    /// ```
    /// use std::cell::Cell;
    /// let closed = Cell::new(0);
    /// let kept = {
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
            entries: self.entries.pop_all(),
            sink: self.sink.clone(),
        }
    }

    /// Releases everything, last first, and returns every cleanup error: the first as
    /// primary, the rest as its [`suppressed`](Error::suppressed) errors, in the order they
    /// happened. Every entry runs exactly once even if others fail or panic; a panic
    /// resumes after all have run. The same as [`Close::close`]; to keep the stack for
    /// reuse, [`unwind`](Self::unwind) it instead.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.named("registered first, runs last").try_callback(|| Err(std::io::Error::other("a")));
    /// s.named("runs first").try_callback(|| Err(std::io::Error::other("b")));
    /// let err = s.close().unwrap_err();
    /// assert_eq!(err.resource(), "runs first");
    /// assert_eq!(err.suppressed()[0].resource(), "registered first, runs last");
    /// ```
    pub fn close(mut self) -> Result<(), Error> {
        self.unwind()
    }

    /// Releases everything now, as [`close`](Self::close) does, and leaves the stack empty
    /// and reusable (Python's `ExitStack.close()`).
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.try_callback(|| Err(std::io::Error::other("first use")));
    /// assert!(s.unwind().is_err());
    /// s.callback(|| println!("second use"));
    /// s.unwind()?;
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn unwind(&mut self) -> Result<(), Error> {
        self.unwind_with(Outcome::Success).map(|_| ())
    }

    /// Releases everything as [`unwind`](Self::unwind) does, showing exit callbacks how the
    /// scope ended. Returns [`Exit::Suppress`] when an exit callback suppressed the body's
    /// error. If cleanup fails, the cleanup error is returned (and takes the place of a
    /// suppressed body error, as in Python).
    ///
    /// ```
    /// use tenure::{ExitStack, Outcome, Exit};
    /// let mut s = ExitStack::new();
    /// s.push_exit(|o| { assert_eq!(o.name(), "error"); Exit::Propagate });
    /// assert_eq!(s.unwind_with(Outcome::Error(&std::fmt::Error))?, Exit::Propagate);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn unwind_with(&mut self, outcome: Outcome<'_>) -> Result<Exit, Error> {
        let done = self.run_entries(outcome);
        finish(
            done,
            &|r| emit(self.sink.as_ref(), r),
            "ExitStack::unwind (resuming a cleanup panic)",
        )
    }

    /// Runs every entry, LIFO, exactly once, catching panics so that none is skipped.
    fn run_entries<'o>(&mut self, body: Outcome<'o>) -> State<'o> {
        let mut entries = self.entries.take_to_run();
        let mut state = Unwinding::new(body);
        while !entries.is_empty() {
            // One catch_unwind per panic, not per entry: the loop resumes after the entry
            // that panicked (it was popped before it ran, so it never runs twice).
            let run = panic::catch_unwind(AssertUnwindSafe(|| {
                while let Some(entry) = entries.pop() {
                    entry.run(&mut state);
                }
            }));
            if let Err(payload) = run {
                state.record_panic(Cow::Borrowed("ExitStack entry"), payload);
            }
        }
        // Keep the allocation for reuse.
        self.entries.restore(entries);
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
        let mut done = self.run_entries(outcome);
        if let Some(payload) = done.panic.take() {
            if unwinding {
                done.errors
                    .push(Error::panicked("ExitStack entry", payload));
            } else {
                if let Some(e) = Error::from_errors(done.errors) {
                    report_dropped(
                        self.sink.as_ref(),
                        e,
                        "ExitStack::drop (resuming a cleanup panic)",
                    );
                }
                panic::resume_unwind(payload);
            }
        }
        if let Some(e) = Error::from_errors(done.errors) {
            report_dropped(self.sink.as_ref(), e, "ExitStack::drop");
        }
    }
}

/// A stack is itself a resource: closing it closes everything it holds, so stacks nest
/// (see [Nesting stacks](self#nesting-stacks) for the other ways) and a `Vec` of stacks
/// closes them all.
///
/// ```
/// use tenure::{Close, ExitStack};
/// let mut inner = ExitStack::new();
/// inner.callback(|| println!("inner"));
/// let mut outer = ExitStack::new();
/// outer.enter(inner);
/// outer.close()?;
///
/// let stacks = vec![ExitStack::new(), ExitStack::new()];
/// Close::close(stacks)?;
/// # Ok::<(), tenure::Error>(())
/// ```
impl Close for ExitStack<'_> {
    type Error = Error;
    fn close(self) -> Result<(), Error> {
        ExitStack::close(self)
    }
}

impl fmt::Debug for ExitStack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitStack")
            .field("entries", &self.entries.len())
            .finish()
    }
}
