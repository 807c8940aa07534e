//! Scopes: run a body with a stack, then close it with the body's outcome.

use std::error::Error as StdError;
use std::fmt;
use std::panic;
use std::pin::pin;

use super::unwind::{finish, Body};
use super::AsyncExitStack;
use crate::error::report_dropped;
use crate::orphan::CatchUnwind;
use crate::{BoxError, DynError, Error, Exit, ScopeError};

/// What a scope's cancelled cleanup logs as its context.
const CANCELLED: &str = "async scope (cancelled in cleanup)";

impl AsyncExitStack {
    /// Runs `body` with a fresh stack, then closes the stack with the body's outcome; the
    /// async counterpart of [`ExitStack::scope`](crate::ExitStack::scope), with the same
    /// results. If the returned future is dropped before it finishes — in the body or in
    /// cleanup — everything pending is orphaned with [`Outcome::Cancelled`](crate::Outcome::Cancelled) and still runs.
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
        self.run_as(body, |e| e).await
    }

    /// [`scope`](Self::scope) for a body whose error type is not an
    /// [`std::error::Error`] — `Box<dyn Error + Send + Sync>`, `anyhow::Error`, a `String`:
    /// anything `Into<`[`BoxError`]`>`; the async
    /// [`ExitStack::scope_dyn`](crate::ExitStack::scope_dyn), with the same rules.
    ///
    /// ```
    /// use tenure::AsyncExitStack;
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    ///
    /// async fn handler(id: u32) -> Result<String, BoxError> {
    ///     let reply = AsyncExitStack::scope_dyn(async move |s| {
    ///         s.async_callback(|| async { println!("connection returned") });
    ///         if id == 0 {
    ///             return Err("no such user".into());
    ///         }
    ///         Ok::<_, BoxError>(format!("user {id}"))
    ///     })
    ///     .await?; // ScopeError<DynError> -> Box<dyn Error>
    ///     Ok(reply)
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(handler(7).await.unwrap(), "user 7");
    /// assert_eq!(handler(0).await.unwrap_err().to_string(), "no such user");
    /// # }
    /// ```
    #[doc(alias = "anyhow")]
    pub async fn scope_dyn<T, E, F>(body: F) -> Result<T, ScopeError<DynError>>
    where
        F: AsyncFnOnce(&mut AsyncExitStack) -> Result<T, E>,
        E: Into<BoxError>,
    {
        AsyncExitStack::new().run_dyn(body).await
    }

    /// [`run`](Self::run) for a body whose error type is not an `Error`; see
    /// [`scope_dyn`](Self::scope_dyn).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let err = s.run_dyn(async |_| Err::<(), _>("refused")).await.unwrap_err();
    /// assert_eq!(err.body().unwrap().to_string(), "refused");
    /// # }
    /// ```
    pub async fn run_dyn<T, E, F>(&mut self, body: F) -> Result<T, ScopeError<DynError>>
    where
        F: AsyncFnOnce(&mut AsyncExitStack) -> Result<T, E>,
        E: Into<BoxError>,
    {
        self.run_as(
            async move |s: &mut AsyncExitStack| body(s).await.map_err(DynError::new),
            |e| e.get_ref(),
        )
        .await
    }

    /// [`run`](Self::run), with `view` giving what exit callbacks see of the body's error.
    async fn run_as<T, E, F>(
        &mut self,
        body: F,
        view: impl FnOnce(&E) -> &(dyn StdError + Send + Sync + 'static),
    ) -> Result<T, ScopeError<E>>
    where
        F: AsyncFnOnce(&mut AsyncExitStack) -> Result<T, E>,
        E: fmt::Display,
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
                let done = inner.unwind(Body::Panic(payload), CANCELLED, true).await;
                if let Some(e) = Error::from_errors(done.errors) {
                    report_dropped(&e, "async scope (resuming the body's panic)");
                }
                match done.body {
                    Body::Panic(payload) => panic::resume_unwind(payload),
                    _ => unreachable!("the body's panic is kept by its unwinding"),
                }
            }
            Ok(Ok(value)) => {
                let done = inner.unwind(Body::Success, CANCELLED, true).await;
                finish(done, "async scope (resuming a cleanup panic)")
                    .map(|_| value)
                    .map_err(ScopeError::Cleanup)
            }
            Ok(Err(error)) => {
                let done = inner
                    .unwind(Body::Error(view(&error)), CANCELLED, true)
                    .await;
                let suppressed = done.body_suppressed();
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
                    // As in `ExitStack::run` (and Python): the cleanup error takes the place
                    // of a body error that an exit callback explicitly suppressed.
                    Err(cleanup) if suppressed => Err(ScopeError::Cleanup(cleanup)),
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

/// Runs `body` with a fresh [`AsyncExitStack`], then closes it with the body's outcome —
/// or, if the returned future is dropped first, hands everything pending to the runtime to
/// run with [`Outcome::Cancelled`](crate::Outcome::Cancelled). Same as [`AsyncExitStack::scope`].
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
