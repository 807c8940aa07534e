//! Scope guards: run a closure when a scope ends — always, only on success, or only on
//! failure — and defuse it on the commit path.
//!
//! This is the `try: yield finally: cleanup()` of Python's `@contextmanager`, as a value.
//! The *strategy* (when to run) is a type parameter, as in `scopeguard`, so a guard costs
//! nothing but the closure call.
//!
//! "Failure" means the scope is left by a panic, or the guard was told the scope failed:
//! pass results through [`Guard::check`] (which hands them back for `?`) or call
//! [`Guard::fail`].
//!
//! A guard is a plain `Drop`: if its closure panics while the thread is already unwinding
//! from another panic, the process aborts (as with `scopeguard`). Cleanup that may panic
//! belongs on an [`ExitStack`](crate::ExitStack), which catches it, runs the rest, and
//! resumes.
//!
//! ```
//! use tenure::guard::{on_failure, Guard};
//!
//! fn transfer(log: &mut Vec<&'static str>, fail: bool) -> Result<(), std::fmt::Error> {
//!     // Roll back unless we reach the commit.
//!     let mut tx = on_failure(log, |log| log.push("rollback"));
//!     tx.push("debit");
//!     Guard::check(&mut tx, if fail { Err(std::fmt::Error) } else { Ok(()) })?;
//!     tx.push("credit");
//!     Guard::into_inner(tx).push("commit"); // defused: the rollback will not run
//!     Ok(())
//! }
//!
//! let mut log = Vec::new();
//! transfer(&mut log, false).unwrap();
//! assert_eq!(log, ["debit", "credit", "commit"]);
//!
//! let mut log = Vec::new();
//! assert!(transfer(&mut log, true).is_err());
//! assert_eq!(log, ["debit", "rollback"]);
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// When a guard's closure runs. Implemented by [`Always`], [`OnSuccess`] and [`OnFailure`].
///
/// ```
/// use tenure::guard::{Strategy, OnFailure};
/// assert!(OnFailure::should_run(true));
/// ```
pub trait Strategy {
    /// Whether to run the closure on drop, given whether the guard was marked failed.
    /// Implementations may also look at [`std::thread::panicking`].
    fn should_run(marked_failed: bool) -> bool;
}

/// Run on every exit: success, early return, error, panic.
///
/// ```
/// use tenure::guard::{Strategy, Always};
/// assert!(Always::should_run(false));
/// ```
#[derive(Debug)]
pub enum Always {}

/// Run only when the scope succeeded: not panicking and not marked failed.
///
/// ```
/// use tenure::guard::{Strategy, OnSuccess};
/// assert!(OnSuccess::should_run(false));
/// assert!(!OnSuccess::should_run(true));
/// ```
#[derive(Debug)]
pub enum OnSuccess {}

/// Run only when the scope failed: panicking, or marked failed with [`Guard::fail`] or
/// [`Guard::check`].
///
/// ```
/// use tenure::guard::{Strategy, OnFailure};
/// assert!(!OnFailure::should_run(false));
/// ```
#[derive(Debug)]
pub enum OnFailure {}

impl Strategy for Always {
    #[inline(always)]
    fn should_run(_: bool) -> bool {
        true
    }
}

impl Strategy for OnSuccess {
    #[inline]
    fn should_run(marked_failed: bool) -> bool {
        !marked_failed && !std::thread::panicking()
    }
}

impl Strategy for OnFailure {
    #[inline]
    fn should_run(marked_failed: bool) -> bool {
        marked_failed || std::thread::panicking()
    }
}

/// A value with a closure that receives it when the guard is dropped, if strategy `S` says
/// so. Derefs to the value.
///
/// ```
/// use std::cell::Cell;
/// let closed = Cell::new(false);
/// {
///     let conn = tenure::guard::always("conn", |_| closed.set(true));
///     assert_eq!(*conn, "conn");
/// }
/// assert!(closed.get());
/// ```
#[must_use = "a guard runs its closure when dropped; binding it to `_` drops it at once"]
pub struct Guard<T, F, S = Always>
where
    F: FnOnce(T),
    S: Strategy,
{
    inner: Option<(T, F)>,
    failed: bool,
    strategy: PhantomData<fn(S)>,
}

/// A guard that always runs `dropfn(value)` when it goes out of scope.
///
/// ```
/// let mut log = Vec::new();
/// {
///     let mut g = tenure::guard::always(&mut log, |log| log.push("cleanup"));
///     g.push("work");
/// }
/// assert_eq!(log, ["work", "cleanup"]);
/// ```
#[inline]
pub fn always<T, F: FnOnce(T)>(value: T, dropfn: F) -> Guard<T, F, Always> {
    Guard::with_strategy(value, dropfn)
}

/// A guard that runs `dropfn(value)` only if the scope succeeded (no panic, not marked
/// failed).
///
/// ```
/// use tenure::guard::{on_success, Guard};
/// let mut log = Vec::new();
/// {
///     let mut g = on_success(&mut log, |log| log.push("commit"));
///     Guard::fail(&mut g);
/// }
/// assert!(log.is_empty());
/// ```
#[inline]
pub fn on_success<T, F: FnOnce(T)>(value: T, dropfn: F) -> Guard<T, F, OnSuccess> {
    Guard::with_strategy(value, dropfn)
}

/// A guard that runs `dropfn(value)` only if the scope failed (a panic, or marked failed).
///
/// ```
/// use tenure::guard::on_failure;
/// let mut log = Vec::new();
/// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     let _g = on_failure(&mut log, |log| log.push("rollback"));
///     panic!("boom");
/// }));
/// assert!(r.is_err());
/// assert_eq!(log, ["rollback"]);
/// ```
#[inline]
pub fn on_failure<T, F: FnOnce(T)>(value: T, dropfn: F) -> Guard<T, F, OnFailure> {
    Guard::with_strategy(value, dropfn)
}

impl<T, F, S> Guard<T, F, S>
where
    F: FnOnce(T),
    S: Strategy,
{
    /// A guard with the strategy given as a type parameter.
    ///
    /// ```
    /// use tenure::guard::{Guard, OnSuccess};
    /// let g: Guard<_, _, OnSuccess> = Guard::with_strategy(1, |_| {});
    /// assert_eq!(*g, 1);
    /// ```
    #[inline]
    pub fn with_strategy(value: T, dropfn: F) -> Self {
        Guard {
            inner: Some((value, dropfn)),
            failed: false,
            strategy: PhantomData,
        }
    }

    /// Defuses the guard and returns the value; the closure never runs. This is the
    /// commit path. (An associated function, so it cannot clash with the value's methods.)
    ///
    /// ```
    /// let g = tenure::guard::always(vec![1], |_| unreachable!());
    /// let v = tenure::guard::Guard::into_inner(g);
    /// assert_eq!(v, [1]);
    /// ```
    #[inline]
    pub fn into_inner(mut guard: Self) -> T {
        match guard.inner.take() {
            Some((value, _)) => value,
            None => unreachable!("a guard holds its value until consumed"),
        }
    }

    /// Defuses the guard and drops the value normally; the closure never runs.
    ///
    /// ```
    /// let g = tenure::guard::always((), |_| unreachable!());
    /// tenure::guard::Guard::dismiss(g);
    /// ```
    #[inline]
    pub fn dismiss(guard: Self) {
        drop(Self::into_inner(guard));
    }

    /// Marks the scope as failed: an [`OnFailure`] guard will run, an [`OnSuccess`] one
    /// will not.
    ///
    /// ```
    /// use tenure::guard::{on_failure, Guard};
    /// let mut ran = false;
    /// {
    ///     let mut g = on_failure(&mut ran, |r| *r = true);
    ///     Guard::fail(&mut g);
    /// }
    /// assert!(ran);
    /// ```
    #[inline]
    pub fn fail(guard: &mut Self) {
        guard.failed = true;
    }

    /// Marks the scope failed if `result` is an error, and hands the result back so `?`
    /// can follow.
    ///
    /// ```
    /// use tenure::guard::{on_failure, Guard};
    /// fn step(ok: bool, undo: &mut Vec<&str>) -> Result<(), String> {
    ///     let mut g = on_failure(undo, |u| u.push("undo"));
    ///     Guard::check(&mut g, if ok { Ok(()) } else { Err("nope".to_string()) })?;
    ///     Guard::dismiss(g);
    ///     Ok(())
    /// }
    /// let mut undo = Vec::new();
    /// assert!(step(false, &mut undo).is_err());
    /// assert_eq!(undo, ["undo"]);
    /// ```
    #[inline]
    pub fn check<R, E>(guard: &mut Self, result: Result<R, E>) -> Result<R, E> {
        if result.is_err() {
            guard.failed = true;
        }
        result
    }

    /// Whether the guard was marked failed.
    ///
    /// ```
    /// let mut g = tenure::guard::always((), |_| {});
    /// tenure::guard::Guard::fail(&mut g);
    /// assert!(tenure::guard::Guard::is_failed(&g));
    /// ```
    #[inline]
    pub fn is_failed(guard: &Self) -> bool {
        guard.failed
    }
}

impl<T, F, S> Deref for Guard<T, F, S>
where
    F: FnOnce(T),
    S: Strategy,
{
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match &self.inner {
            Some((value, _)) => value,
            None => unreachable!("a guard holds its value until consumed"),
        }
    }
}

impl<T, F, S> DerefMut for Guard<T, F, S>
where
    F: FnOnce(T),
    S: Strategy,
{
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.inner {
            Some((value, _)) => value,
            None => unreachable!("a guard holds its value until consumed"),
        }
    }
}

impl<T, F, S> Drop for Guard<T, F, S>
where
    F: FnOnce(T),
    S: Strategy,
{
    #[inline]
    fn drop(&mut self) {
        if let Some((value, dropfn)) = self.inner.take() {
            if S::should_run(self.failed) {
                dropfn(value);
            }
        }
    }
}

impl<T: fmt::Debug, F, S> fmt::Debug for Guard<T, F, S>
where
    F: FnOnce(T),
    S: Strategy,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("value", &**self)
            .field("failed", &self.failed)
            .finish()
    }
}

/// Runs the block when the enclosing scope ends, on every path (Go's `defer`).
///
/// ```
/// let mut log = Vec::new();
/// {
///     let log = std::cell::RefCell::new(&mut log);
///     tenure::defer! { log.borrow_mut().push("second"); }
///     log.borrow_mut().push("first");
/// }
/// assert_eq!(log, ["first", "second"]);
/// ```
#[macro_export]
macro_rules! defer {
    ($($body:tt)*) => {
        let _tenure_defer_guard = $crate::guard::always((), |()| { $($body)* });
    };
}
