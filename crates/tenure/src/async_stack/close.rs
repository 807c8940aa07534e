//! Closing: `close` and `close_with` drive an unwinding over every entry, last first; a
//! stack dropped with entries left hands them to the orphan tracker instead.

use std::future::poll_fn;
use std::task::Poll;

use super::unwind::{Body, InProgress, Pending};
use super::AsyncExitStack;
use crate::async_close::AsyncClose;
use crate::error::Error;
use crate::exit_rules::{finish, Ended, Unwinding};
use crate::outcome::{Exit, Outcome};

impl AsyncExitStack {
    /// Releases everything, last first, and returns every cleanup error: the first as
    /// primary, the rest as its [`suppressed`](Error::suppressed) errors, in order. Every
    /// entry runs exactly once even if others fail or panic; a panic resumes after all have
    /// run. The same as [`AsyncClose::close`]; to keep the stack for reuse,
    /// [`unwind`](Self::unwind) it instead.
    ///
    /// If this future is dropped before it finishes, what it had not finished is orphaned
    /// (run as a task, see the [module docs](super)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.named("registered first, runs last").try_async_callback(|| async { Err(std::io::Error::other("a")) });
    /// s.named("runs first").try_async_callback(|| async { Err(std::io::Error::other("b")) });
    /// let err = s.close().await.unwrap_err();
    /// assert_eq!(err.resource(), "runs first");
    /// assert_eq!(err.suppressed()[0].resource(), "registered first, runs last");
    /// # }
    /// ```
    pub async fn close(mut self) -> Result<(), Error> {
        self.unwind().await
    }

    /// Releases everything now, as [`close`](Self::close) does, and leaves the stack empty
    /// and reusable (Python's `aclose()`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.async_callback(|| async { println!("first use") });
    /// s.unwind().await?;
    /// s.async_callback(|| async { println!("second use") });
    /// s.unwind().await?;
    /// # Ok(()) }
    /// ```
    pub async fn unwind(&mut self) -> Result<(), Error> {
        let done = self
            .run_entries(Body::Success, "AsyncExitStack::unwind (cancelled)", false)
            .await;
        finish(
            done,
            &|r| self.to.report(r),
            "AsyncExitStack::unwind (resuming a cleanup panic)",
        )
        .map(drop)
    }

    /// Releases everything as [`unwind`](Self::unwind) does, showing exit callbacks how the
    /// scope ended. Returns [`Exit::Suppress`] when an exit callback suppressed the body's
    /// error. (The future borrows the outcome, so it is not `Send`; inside a spawned task
    /// use [`run`](Self::run) or [`scope`](Self::scope), whose futures are.)
    ///
    /// ```
    /// use tenure::{AsyncExitStack, Exit, Outcome};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = AsyncExitStack::new();
    /// s.push_exit(|o| { assert_eq!(o.name(), "error"); Exit::Propagate });
    /// assert_eq!(s.unwind_with(Outcome::Error(&std::fmt::Error)).await?, Exit::Propagate);
    /// # Ok(()) }
    /// ```
    pub async fn unwind_with(&mut self, outcome: Outcome<'_>) -> Result<Exit, Error> {
        let done = self
            .run_entries(outcome, "AsyncExitStack::unwind_with (cancelled)", false)
            .await;
        finish(
            done,
            &|r| self.to.report(r),
            "AsyncExitStack::unwind_with (resuming a cleanup panic)",
        )
    }

    /// Runs every entry, LIFO, exactly once, catching panics so that none is skipped.
    ///
    /// If this future is dropped first, the rest is orphaned and what was collected is
    /// logged under `context` (with the body's outcome when the scope `owns_body`).
    pub(super) async fn run_entries<B: Ended>(
        &mut self,
        body: B,
        context: &'static str,
        owns_body: bool,
    ) -> Unwinding<B> {
        let mut pending = Pending {
            entries: self.entries.take_to_run(),
            current: None,
            to: self.to.clone(),
        };
        // Dropped before `pending` if this future is: logs what was collected so far.
        let mut in_progress = InProgress {
            state: Some(Unwinding::new(body)),
            context,
            owns_body,
            to: self.to.clone(),
        };
        poll_fn(|cx| match in_progress.state.as_mut() {
            Some(state) => pending.drive(state, cx),
            None => Poll::Ready(()),
        })
        .await;
        // Keep the allocation for reuse.
        self.entries.restore(std::mem::take(&mut pending.entries));
        in_progress
            .state
            .take()
            .expect("the unwinding is only taken here")
    }
}

/// Hands whatever is left to the runtime (or the helper thread), LIFO, with
/// [`Outcome::Cancelled`]: see the [module docs](super).
impl Drop for AsyncExitStack {
    fn drop(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let panicking = std::thread::panicking();
        let jobs = self
            .entries
            .take_to_run()
            .into_iter()
            .rev()
            .filter_map(|e| e.into_job(panicking))
            .collect();
        self.to.adopt(jobs, "AsyncExitStack::drop");
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
///
/// AsyncClose::close(vec![AsyncExitStack::new(), AsyncExitStack::new()]).await?;
/// # Ok(()) }
/// ```
impl AsyncClose for AsyncExitStack {
    type Error = Error;
    async fn close(self) -> Result<(), Error> {
        AsyncExitStack::close(self).await
    }
}
