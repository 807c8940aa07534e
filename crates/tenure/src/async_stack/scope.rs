//! Scopes: run a body with a stack, then close it with the body's outcome.

use std::error::Error as StdError;
use std::fmt;
use std::panic;
use std::pin::pin;

use super::unwind::Body;
use super::AsyncExitStack;
use crate::error::{BoxError, DynError, Error};
use crate::exit_rules::{finish, settle_body_error};
use crate::orphan::CatchUnwind;
use crate::scope_error::ScopeError;
use crate::sink::DropReport;

/// What a scope's cancelled cleanup logs as its context.
const CANCELLED: &str = "async scope (cancelled in cleanup)";
/// What a scope's cleanup panic logs as its context.
const RESUMING: &str = "async scope (resuming a cleanup panic)";

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
    ///         assert!(cleanup.unwrap().report().to_string().ends_with(": cleanup failed"));
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
                let done = inner
                    .run_entries(Body::Panic(payload), CANCELLED, true)
                    .await;
                if let Some(error) = Error::from_errors(done.errors) {
                    let context = "async scope (resuming the body's panic)";
                    inner.to.report(DropReport::Cleanup { context, error });
                }
                match done.body {
                    Body::Panic(payload) => panic::resume_unwind(payload),
                    _ => unreachable!("the body's panic is kept by its unwinding"),
                }
            }
            Ok(Ok(value)) => {
                let done = inner.run_entries(Body::Success, CANCELLED, true).await;
                finish(done, &|r| inner.to.report(r), RESUMING)
                    .map(|_| value)
                    .map_err(ScopeError::Cleanup)
            }
            Ok(Err(error)) => {
                let done = inner
                    .run_entries(Body::Error(view(&error)), CANCELLED, true)
                    .await;
                settle_body_error(done, &error, &|r| inner.to.report(r), RESUMING)
                    .scope_error(error)
            }
        };
        // Hand the (empty) allocation back for reuse.
        self.entries.restore(inner.entries.take_to_run());
        scoped
    }
}
