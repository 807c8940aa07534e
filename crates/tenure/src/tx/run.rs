//! Running a transaction, blocking: [`transaction`], [`transaction_dyn`] and the
//! [`Options`] forms with retry. The rules (when to commit, what a failure becomes,
//! whether to retry) are `rules.rs`'s; this driver does the I/O.

use std::error::Error as StdError;
use std::panic::{self, AssertUnwindSafe};

use super::rules::{self, dyn_error};
use super::{Mode, Options, State, Transactional, Tx, TxError};
use crate::error::{BoxError, DynError, Error};

/// Runs `body` in a transaction on `conn`: `BEGIN`, the body, then `COMMIT` if it returned
/// `Ok`, else `ROLLBACK`. A panic in the body rolls back too, then resumes (a rollback
/// failure during it goes to the report [sink](crate::sink), as nothing can return it).
///
/// On a transaction's handle ([`Tx`]) it is a nested transaction: a savepoint, released
/// on `Ok` and rolled back to on `Err`, leaving the outer transaction usable.
///
/// After any error the connection's [`state`](super::Session::state) is read again: a
/// transaction the database already ended on its own is not rolled back again, and a
/// rollback answered "no transaction is active" ([`Class::NoTransaction`](super::Class::NoTransaction)) is not a cleanup
/// failure. A connection that is not [`Idle`](State::Idle) — left open by hand, or by a
/// cancelled async transaction — is refused ([`Failure::NotReady`](super::Failure::NotReady)), never rolled back
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
/// adapter answers for in [`Session::classify_source`](super::Session::classify_source) — is looked for inside the wrapped
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
    /// failure (see [`Retry`](super::Retry)), sleeping the thread for the backoff in between. The body
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
        let attempt = |conn: &mut C, n| attempt(conn, self.mode, n, &mut body, wrap);
        rules::now(rules::retrying(
            self.retry.as_ref(),
            conn,
            rules::Blocking(attempt),
        ))
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
    let from = rules::ready(conn)?;
    if let Err(e) = conn.begin(mode) {
        let cleanup = rollback(conn, from);
        return Err(rules::begin_failed(e).with_cleanup(cleanup));
    }
    let mut tx = Tx::new(conn, attempt);
    let result = panic::catch_unwind(AssertUnwindSafe(|| body(&mut tx)));
    let (conn, opened) = tx.into_parts();
    let result = result.unwrap_or_else(|payload| {
        rules::rolled_back_in_panic(panic::catch_unwind(AssertUnwindSafe(|| {
            rollback(conn, from)
        })));
        panic::resume_unwind(payload)
    });
    let failed = match rules::decide(conn, opened, result, wrap) {
        Ok(value) => match conn.commit() {
            Ok(()) => return Ok(value),
            Err(e) => rules::commit_failed(conn, e)?,
        },
        Err(failed) => failed,
    };
    Err(failed.with_cleanup(rollback(conn, from)))
}

/// Rolls back what is left of a failed transaction that began from `from`, if anything
/// is ([`rules::needs_rollback`]); its failure, unless it says the transaction had ended.
fn rollback<C: Transactional>(conn: &mut C, from: State) -> Option<Error> {
    if !rules::needs_rollback(conn, from) {
        return None;
    }
    conn.rollback()
        .err()
        .and_then(|e| rules::rollback_failed(conn, e))
}
