//! Running a transaction, blocking: [`transaction`], [`transaction_dyn`] and the
//! [`Options`] forms with retry; and what both forms share — how a failure is classified
//! and when it is retried.

use std::error::Error as StdError;
use std::panic::{self, AssertUnwindSafe};

use super::{Class, Failure, Mode, Options, Retry, Session, State, Transactional, Tx, TxError};
use crate::error::{BoxError, DynError, Error};

/// Runs `body` in a transaction on `conn`: `BEGIN`, the body, then `COMMIT` if it returned
/// `Ok`, else `ROLLBACK`. A panic in the body rolls back too, then resumes (a rollback
/// failure during it goes to the report [sink](crate::sink), as nothing can return it).
///
/// On a transaction's handle ([`Tx`]) it is a nested transaction: a savepoint, released
/// on `Ok` and rolled back to on `Err`, leaving the outer transaction usable.
///
/// After any error the connection's [`state`](Session::state) is read again: a
/// transaction the database already ended on its own is not rolled back again, and a
/// rollback answered "no transaction is active" ([`Class::NoTransaction`]) is not a cleanup
/// failure. A connection that is not [`Idle`](State::Idle) — left open by hand, or by a
/// cancelled async transaction — is refused ([`Failure::NotReady`]), never rolled back
/// silently (it might be someone's open transaction); a pool's reset cleans pooled ones.
///
/// ```
/// use tenure::testing::tx::{Rejection, Server};
/// use tenure::testing::Op;
/// use tenure::tx::{transaction, Class};
///
/// let server = Server::new();
/// let mut conn = server.connect();
/// transaction(&mut conn, |tx| {
///     tx.insert(1)?;
///     tx.insert(2)
/// })?;
/// let failed = transaction(&mut conn, |tx| {
///     tx.insert(3)?;
///     tx.reject_next(Op::Statement, Rejection::new(Class::Other)); // the server refuses the next
///     tx.insert(4)
/// });
/// assert_eq!(failed.unwrap_err().to_string(), "`INSERT 4` failed: rejected");
/// assert_eq!(server.rows(), [1, 2]); // the second transaction was rolled back
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn transaction<C, T, E, F>(conn: &mut C, body: F) -> Result<T, TxError<E, C::Error>>
where
    C: Transactional,
    F: FnOnce(&mut Tx<'_, C>) -> Result<T, E>,
    E: StdError + 'static,
{
    attempt(conn, Mode::Deferred, 1, body, |e| e)
}

/// [`transaction`] for a body whose error is not an `Error` (`anyhow::Error`,
/// `Box<dyn Error + Send + Sync>`, a `String`): the body's error comes back as a
/// [`DynError`].
///
/// For [retry](Options::run_dyn), the adapter's error — or its driver's, which the
/// adapter answers for in [`Session::classify_source`] — is looked for inside the wrapped
/// error and along its `source()` chain. An `anyhow::Error` converted the usual way hides
/// the type of the error it was made from; with tenure's `anyhow` feature it is converted
/// so that it stays visible (without anyhow's backtrace).
///
/// ```
/// use tenure::testing::tx::Server;
/// let server = Server::new();
/// let mut conn = server.connect();
/// let r = tenure::tx::transaction_dyn(&mut conn, |tx| {
///     tx.insert(1)?;
///     Err::<(), _>(anyhow::anyhow!("rejected"))
/// });
/// assert_eq!(r.unwrap_err().body().unwrap().to_string(), "rejected");
/// assert!(server.rows().is_empty());
/// ```
pub fn transaction_dyn<C, T, E, F>(conn: &mut C, body: F) -> Result<T, TxError<DynError, C::Error>>
where
    C: Transactional,
    F: FnOnce(&mut Tx<'_, C>) -> Result<T, E>,
    E: Into<BoxError> + 'static,
{
    attempt(conn, Mode::Deferred, 1, body, dyn_error)
}

impl Options {
    /// Runs `body` in a transaction begun in [`mode`](Options::mode), as [`transaction`]
    /// does, and — with [`retry`](Options::retry) — runs it again, whole, after a retryable
    /// failure (see [`Retry`]), sleeping the thread for the backoff in between. The body
    /// reads the attempt number with [`Tx::attempt`]; the error says how many ran.
    ///
    /// ```
    /// use tenure::testing::tx::{Rejection, Server};
    /// use tenure::tx::{Class, Options, Retry, Tx};
    /// use tenure::testing::Op;
    ///
    /// let server = Server::new();
    /// let mut conn = server.connect();
    /// conn.reject_next(Op::Commit, Rejection::new(Class::Serialization)); // the first COMMIT loses a race
    /// let opts = Options { retry: Some(Retry::default()), ..Options::default() };
    /// let attempts = opts.run(&mut conn, |tx| {
    ///     tx.insert(7)?;
    ///     Ok::<_, tenure::testing::tx::ScriptedError>(Tx::attempt(tx))
    /// })?;
    /// assert_eq!(attempts, 2);
    /// assert_eq!(server.rows(), [7]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<C, T, E, F>(&self, conn: &mut C, body: F) -> Result<T, TxError<E, C::Error>>
    where
        C: Transactional,
        F: FnMut(&mut Tx<'_, C>) -> Result<T, E>,
        E: StdError + 'static,
    {
        self.run_with(conn, body, |e| e)
    }

    /// [`run`](Options::run) for a body whose error is not an `Error`; see
    /// [`transaction_dyn`].
    ///
    /// ```
    /// use tenure::tx::{Mode, Options};
    /// let server = tenure::testing::tx::Server::new();
    /// let mut conn = server.connect();
    /// let opts = Options { mode: Mode::Immediate, ..Options::default() };
    /// opts.run_dyn(&mut conn, |tx| tx.insert(1).map_err(anyhow::Error::from))?;
    /// assert_eq!(server.log()[0], "BEGIN IMMEDIATE");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_dyn<C, T, E, F>(
        &self,
        conn: &mut C,
        body: F,
    ) -> Result<T, TxError<DynError, C::Error>>
    where
        C: Transactional,
        F: FnMut(&mut Tx<'_, C>) -> Result<T, E>,
        E: Into<BoxError> + 'static,
    {
        self.run_with(conn, body, dyn_error)
    }

    fn run_with<C, T, E, E2, F>(
        &self,
        conn: &mut C,
        mut body: F,
        wrap: fn(E) -> E2,
    ) -> Result<T, TxError<E2, C::Error>>
    where
        C: Transactional,
        F: FnMut(&mut Tx<'_, C>) -> Result<T, E>,
        E2: StdError + 'static,
    {
        let mut n = 1;
        loop {
            match attempt(conn, self.mode, n, &mut body, wrap) {
                Ok(v) => return Ok(v),
                Err(mut e) => {
                    e.set_attempts(n);
                    match retry_after(self.retry.as_ref(), conn, &e, n) {
                        Some(wait) => std::thread::sleep(wait),
                        None => return Err(e),
                    }
                    n += 1;
                }
            }
        }
    }
}

/// One attempt: begin, run the body, commit or roll back.
fn attempt<C, T, E, E2, F>(
    conn: &mut C,
    mode: Mode,
    attempt: u32,
    body: F,
    wrap: fn(E) -> E2,
) -> Result<T, TxError<E2, C::Error>>
where
    C: Transactional,
    F: FnOnce(&mut Tx<'_, C>) -> Result<T, E>,
{
    let from = conn.begins_from();
    let found = conn.state();
    if found != from {
        return Err(TxError::new(Failure::NotReady {
            expected: from,
            found,
        }));
    }
    if let Err(e) = conn.begin(mode) {
        let cleanup = rollback(conn, from);
        return Err(TxError::new(Failure::Begin(e)).with_cleanup(cleanup));
    }
    let mut tx = Tx::new(conn, attempt);
    let result = panic::catch_unwind(AssertUnwindSafe(|| body(&mut tx)));
    let (conn, opened) = tx.into_parts();
    match result {
        Err(payload) => {
            let cleanup = panic::catch_unwind(AssertUnwindSafe(|| rollback(conn, from)));
            match cleanup {
                Ok(Some(error)) => crate::sink::report_dropped(None, error, PANIC_CONTEXT),
                Ok(None) => {}
                Err(second) => crate::sink::report_dropped(
                    None,
                    Error::panicked("transaction", second),
                    PANIC_CONTEXT,
                ),
            }
            panic::resume_unwind(payload)
        }
        Ok(Err(e)) => Err(TxError::new(Failure::Body(wrap(e))).with_cleanup(rollback(conn, from))),
        Ok(Ok(value)) => {
            let found = conn.state();
            if found != opened {
                let cleanup = rollback(conn, from);
                return Err(TxError::new(Failure::StateChanged {
                    expected: opened,
                    found,
                })
                .with_cleanup(cleanup));
            }
            match conn.commit() {
                Ok(()) => Ok(value),
                Err(e) => Err(match commit_failed(conn, e) {
                    Ok(e) => TxError::new(Failure::Commit(e)).with_cleanup(rollback(conn, from)),
                    Err(unknown) => unknown,
                }),
            }
        }
    }
}

/// Where a rollback failure goes when the body panicked.
pub(crate) const PANIC_CONTEXT: &str = "tx::transaction (the body panicked)";

/// Rolls back what is left of a failed transaction that began from `from`: nothing if the
/// connection is back there already (or idle: the database ended it), and a rollback
/// answered "no transaction is active" is no failure.
fn rollback<C: Transactional>(conn: &mut C, from: State) -> Option<Error> {
    if !needs_rollback(conn, from) {
        return None;
    }
    conn.rollback().err().and_then(|e| rollback_failed(conn, e))
}

/// Whether a failed transaction that began from `from` still needs rolling back.
pub(crate) fn needs_rollback<C: Session>(conn: &C, from: State) -> bool {
    let now = conn.state();
    now != from && now != State::Idle
}

/// A rollback's error as a cleanup error, unless it says the transaction had already ended.
pub(crate) fn rollback_failed<C: Session>(conn: &C, e: C::Error) -> Option<Error> {
    match conn.classify(&e) {
        Class::NoTransaction => None,
        _ => Some(Error::close("transaction", e)),
    }
}

/// A failed commit: `Ok(e)` when the database answered (nothing was committed), `Err` with
/// the unknown-outcome error when the connection was lost or the reply never came.
pub(crate) fn commit_failed<C: Session, E>(
    conn: &C,
    e: C::Error,
) -> Result<C::Error, TxError<E, C::Error>> {
    if conn.classify(&e) == Class::ConnectionLost || conn.state() == State::Unknown {
        Err(TxError::commit_unknown(e))
    } else {
        Ok(e)
    }
}

/// How long to wait before the next attempt, or `None` when `e` (of attempt `n`) is not
/// retried: no retry policy, attempts used up, a class it does not retry, or the failed
/// attempt's rollback not confirmed (the connection is not back where it began).
pub(crate) fn retry_after<C: Session, E: StdError + 'static>(
    retry: Option<&Retry>,
    conn: &C,
    e: &TxError<E, C::Error>,
    n: u32,
) -> Option<std::time::Duration> {
    let retry = retry?;
    if n >= retry.max_attempts() || e.cleanup().is_some() || conn.state() != conn.begins_from() {
        return None;
    }
    let class = match e.failure() {
        Failure::Body(b) => classify_chain(conn, b),
        Failure::Begin(d) | Failure::Commit(d) => conn.classify(d),
        _ => Class::Other,
    };
    retry.retries(class).then(|| retry.delay(n))
}

/// The class of the first error along `error`'s chain (through a [`DynError`]'s wrapped
/// error too) that the adapter answers for: its own error by [`Session::classify`], any
/// other by [`Session::classify_source`]; [`Class::Other`] if none is.
pub(crate) fn classify_chain<C: Session>(conn: &C, error: &(dyn StdError + 'static)) -> Class {
    let mut link = Some(error);
    while let Some(e) = link {
        if let Some(own) = e.downcast_ref::<C::Error>() {
            return conn.classify(own);
        }
        if let Some(class) = conn.classify_source(e) {
            return class;
        }
        link = match e.downcast_ref::<DynError>() {
            Some(d) => Some(d.get_ref()),
            None => e.source(),
        };
    }
    Class::Other
}

/// A dyn body's error as a [`DynError`]; with the `anyhow` feature, an `anyhow::Error`
/// keeps the error it was made from downcastable (anyhow's `Into<Box<dyn Error>>` hides
/// it behind a private wrapper, so retry could not classify it).
pub(crate) fn dyn_error<E: Into<BoxError> + 'static>(e: E) -> DynError {
    #[cfg(feature = "anyhow")]
    {
        let any: Box<dyn std::any::Any> = Box::new(e);
        match any.downcast::<anyhow::Error>() {
            Ok(a) => DynError::new(a.reallocate_into_boxed_dyn_error_without_backtrace()),
            Err(other) => DynError::new(*other.downcast::<E>().expect("the type it was made of")),
        }
    }
    #[cfg(not(feature = "anyhow"))]
    DynError::new(e)
}
