//! Running a transaction, async: [`transaction_async`], [`transaction_async_dyn`] and the
//! [`Options`] forms with retry. The rules are `rules.rs`'s, as for the blocking driver;
//! this one awaits the I/O. Their cancellation contract with adapters is in [the module
//! docs](crate::tx#cancellation-the-contract-with-adapters).

use std::any::Any;
use std::error::Error as StdError;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::rules::{self, dyn_error};
use super::{AsyncTransactional, Mode, Options, State, Tx, TxError};
use crate::error::{BoxError, DynError, Error};

/// [`transaction`](super::transaction), async: runs the async closure `body` in a
/// transaction on `conn`; commits on `Ok`, rolls back on `Err` and on a panic (then
/// resumes it). If this future is dropped, nothing more is sent and the connection stays
/// not `Idle` (see [the module docs](crate::tx#cancellation-the-contract-with-adapters)).
///
/// The future is `Send` when the body's is (the body is a concrete closure, so the
/// compiler sees its future's type), so it can be `tokio::spawn`ed.
///
/// ```
/// use tenure::testing::tx::Server;
/// use tenure::tx::transaction_async;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = Server::new();
/// let mut conn = server.connect();
/// transaction_async(&mut conn, async |tx| {
///     tx.insert_async(1).await?;
///     tx.insert_async(2).await
/// })
/// .await?;
/// assert_eq!(server.rows(), [1, 2]);
/// # Ok(())
/// # }
/// ```
pub async fn transaction_async<C, T, E, F>(conn: &mut C, body: F) -> Result<T, TxError<E, C::Error>>
where
    C: AsyncTransactional,
    F: AsyncFnOnce(&mut Tx<'_, C>) -> Result<T, E>,
    E: StdError + 'static,
{
    attempt(conn, Mode::Deferred, 1, body, |e| e).await
}

/// [`transaction_async`] for a body whose error is not an `Error`; see
/// [`transaction_dyn`](super::transaction_dyn).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = tenure::testing::tx::Server::new();
/// let mut conn = server.connect();
/// let r = tenure::tx::transaction_async_dyn(&mut conn, async |tx| {
///     tx.insert_async(1).await?;
///     Err::<(), anyhow::Error>(anyhow::anyhow!("rejected"))
/// })
/// .await;
/// assert_eq!(r.unwrap_err().to_string(), "rejected");
/// assert!(server.rows().is_empty());
/// # }
/// ```
pub async fn transaction_async_dyn<C, T, E, F>(
    conn: &mut C,
    body: F,
) -> Result<T, TxError<DynError, C::Error>>
where
    C: AsyncTransactional,
    F: AsyncFnOnce(&mut Tx<'_, C>) -> Result<T, E>,
    E: Into<BoxError> + 'static,
{
    attempt(conn, Mode::Deferred, 1, body, dyn_error).await
}

impl Options {
    /// [`run`](Options::run), async: the body is an async closure run again, whole, after
    /// a retryable failure. The backoff between attempts awaits a tokio timer when this
    /// runs on a tokio runtime with timers (feature `tokio`), else a thread that sleeps and
    /// wakes the task (no runtime is needed, at the cost of a thread per wait).
    ///
    /// ```
    /// use tenure::testing::tx::{Rejection, Server};
    /// use tenure::testing::Op;
    /// use tenure::tx::{Class, Options, Retry, Tx};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = Server::new();
    /// let mut conn = server.connect();
    /// conn.reject_next(Op::Commit, Rejection::new(Class::Deadlock));
    /// let opts = Options { retry: Some(Retry::default()), ..Options::default() };
    /// let n = opts
    ///     .run_async(&mut conn, async |tx| {
    ///         tx.insert_async(1).await?;
    ///         Ok::<_, tenure::testing::tx::ScriptedError>(Tx::attempt(tx))
    ///     })
    ///     .await?;
    /// assert_eq!((n, server.rows()), (2, vec![1]));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_async<C, T, E, F>(
        &self,
        conn: &mut C,
        body: F,
    ) -> Result<T, TxError<E, C::Error>>
    where
        C: AsyncTransactional,
        F: AsyncFnMut(&mut Tx<'_, C>) -> Result<T, E>,
        E: StdError + 'static,
    {
        self.run_async_with(conn, body, |e| e).await
    }

    /// [`run_async`](Options::run_async) for a body whose error is not an `Error`; see
    /// [`transaction_dyn`](super::transaction_dyn).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = tenure::testing::tx::Server::new();
    /// let mut conn = server.connect();
    /// let opts = tenure::tx::Options { mode: tenure::tx::Mode::ReadOnly, ..Default::default() };
    /// opts.run_async_dyn(&mut conn, async |_tx| Ok::<_, anyhow::Error>(())).await?;
    /// assert_eq!(server.log(), ["BEGIN READ ONLY", "COMMIT"]);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_async_dyn<C, T, E, F>(
        &self,
        conn: &mut C,
        body: F,
    ) -> Result<T, TxError<DynError, C::Error>>
    where
        C: AsyncTransactional,
        F: AsyncFnMut(&mut Tx<'_, C>) -> Result<T, E>,
        E: Into<BoxError> + 'static,
    {
        self.run_async_with(conn, body, dyn_error).await
    }

    async fn run_async_with<C, T, E, E2, F>(
        &self,
        conn: &mut C,
        mut body: F,
        wrap: fn(E) -> E2,
    ) -> Result<T, TxError<E2, C::Error>>
    where
        C: AsyncTransactional,
        F: AsyncFnMut(&mut Tx<'_, C>) -> Result<T, E>,
        E2: StdError + 'static,
    {
        let steps = Awaited {
            mode: self.mode,
            body: &mut body,
            wrap,
        };
        rules::retrying(self.retry.as_ref(), conn, steps).await
    }
}

/// The async driver's steps for [`rules::retrying`]: an attempt awaited, a timer. (A
/// struct, not an async closure: the future of an async closure lent `&mut C` is not
/// provably `Send` to rustc — "not general enough" — and `tokio::spawn` needs it.)
struct Awaited<'b, F, E, E2> {
    mode: Mode,
    body: &'b mut F,
    wrap: fn(E) -> E2,
}

impl<C, T, E, E2, F> rules::Attempts<C, T, E2> for Awaited<'_, F, E, E2>
where
    C: AsyncTransactional,
    F: AsyncFnMut(&mut Tx<'_, C>) -> Result<T, E>,
{
    async fn attempt(&mut self, conn: &mut C, n: u32) -> Result<T, TxError<E2, C::Error>> {
        attempt(conn, self.mode, n, &mut *self.body, self.wrap).await
    }

    async fn sleep(&self, wait: Duration) {
        sleep(wait).await
    }
}

/// One attempt, async: the blocking driver's steps (`run.rs`), awaited.
async fn attempt<C, T, E, E2, F>(
    conn: &mut C,
    mode: Mode,
    attempt: u32,
    body: F,
    wrap: fn(E) -> E2,
) -> Result<T, TxError<E2, C::Error>>
where
    C: AsyncTransactional,
    F: AsyncFnOnce(&mut Tx<'_, C>) -> Result<T, E>,
{
    let from = rules::ready(conn)?;
    if let Err(e) = conn.begin(mode).await {
        let cleanup = rollback(conn, from).await;
        return Err(rules::begin_failed(e).with_cleanup(cleanup));
    }
    let mut tx = Tx::new(conn, attempt);
    let result = catch_unwind(body(&mut tx)).await;
    let (conn, opened) = tx.into_parts();
    let result = match result {
        Ok(result) => result,
        Err(payload) => {
            rules::rolled_back_in_panic(catch_unwind(rollback(conn, from)).await);
            panic::resume_unwind(payload)
        }
    };
    let failed = match rules::decide(conn, opened, result, wrap) {
        Ok(value) => match conn.commit().await {
            Ok(()) => return Ok(value),
            Err(e) => rules::commit_failed(conn, e)?,
        },
        Err(failed) => failed,
    };
    let cleanup = rollback(conn, from).await;
    Err(failed.with_cleanup(cleanup))
}

/// The blocking driver's rollback of what is left (`run.rs`), awaited.
async fn rollback<C: AsyncTransactional>(conn: &mut C, from: State) -> Option<Error> {
    if !rules::needs_rollback(conn, from) {
        return None;
    }
    match conn.rollback().await {
        Ok(()) => None,
        Err(e) => rules::rollback_failed(conn, e),
    }
}

/// Polls `fut`, catching a panic from it as `Err(payload)`.
pub(crate) async fn catch_unwind<F: Future>(fut: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut fut = pin!(fut);
    std::future::poll_fn(move |cx| {
        match panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await
}

/// Waits `d` between attempts: a tokio timer on a runtime that has them, else a thread.
async fn sleep(d: Duration) {
    #[cfg(feature = "tokio")]
    if let crate::runtime::Runner::Tokio(_) = crate::runtime::runner(None) {
        return tokio::time::sleep(d).await;
    }
    // (done, the task to wake): shared with the sleeping thread.
    let shared = std::sync::Arc::new(std::sync::Mutex::new((false, None::<std::task::Waker>)));
    let theirs = shared.clone();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let mut guard = theirs.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 = true;
        if let Some(w) = guard.1.take() {
            w.wake();
        }
    });
    std::future::poll_fn(move |cx| {
        let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
        if guard.0 {
            Poll::Ready(())
        } else {
            guard.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    })
    .await
}
