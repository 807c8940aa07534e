//! A transaction's rules, in one place for the blocking driver (`run.rs`) and the async one
//! (`run_async.rs`): when a connection is ready, what the body's result decides, what a
//! failed `BEGIN`, `COMMIT` or rollback becomes, and whether a failed attempt is run again.
//! The drivers only do the I/O: `BEGIN`, the body, `COMMIT`, the rollback, the backoff; the
//! loop of attempts ([`retrying`]) is written here once for both, the blocking driver's
//! steps being ready at once ([`now`]).
//!
//! - A transaction begins only from [`Session::begins_from`]; else [`Failure::NotReady`],
//!   nothing sent.
//! - The body's `Ok` commits only if the connection is still in the state `BEGIN` left it
//!   in (else [`Failure::StateChanged`], rolled back); its `Err` rolls back.
//! - A failed `COMMIT` is rolled back, unless the connection was lost or reads
//!   [`State::Unknown`]: then its outcome is unknown ([`Failure::CommitUnknown`]), final.
//! - What is left of a failed transaction is rolled back only if the connection is neither
//!   back where it began nor idle (the database ended it); a rollback answered "no
//!   transaction is active" is no failure.
//! - A rollback's failure while the body panicked goes to the report sink (nothing can
//!   return it), and the panic resumes.
//! - A failed attempt is run again only under a [`Retry`] with attempts left, when its
//!   rollback was confirmed and its error is of a class the policy retries.

use std::any::Any;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Class, Failure, Retry, Session, State, TxError};
use crate::error::{BoxError, DynError, Error};

/// Where a rollback failure goes when the body panicked.
const PANIC_CONTEXT: &str = "tx::transaction (the body panicked)";

/// The state a transaction on `conn` begins from, or the error refusing it.
pub(crate) fn ready<C: Session, E>(conn: &C) -> Result<State, TxError<E, C::Error>> {
    let from = conn.begins_from();
    let found = conn.state();
    if found == from {
        Ok(from)
    } else {
        Err(TxError::new(Failure::NotReady {
            expected: from,
            found,
        }))
    }
}

/// `BEGIN` failed with `e`.
pub(crate) fn begin_failed<E, D>(e: D) -> TxError<E, D> {
    TxError::new(Failure::Begin(e))
}

/// What the body's result decides: `Ok(value)` to commit, or the error to roll back with
/// (`opened`: the state right after `BEGIN`).
pub(crate) fn decide<C: Session, T, E, E2>(
    conn: &C,
    opened: State,
    result: Result<T, E>,
    wrap: fn(E) -> E2,
) -> Result<T, TxError<E2, C::Error>> {
    match result {
        Err(e) => Err(TxError::new(Failure::Body(wrap(e)))),
        Ok(value) => {
            let found = conn.state();
            if found == opened {
                Ok(value)
            } else {
                Err(TxError::new(Failure::StateChanged {
                    expected: opened,
                    found,
                }))
            }
        }
    }
}

/// `COMMIT` failed with `e`: `Ok` with the error to roll back with when the database
/// answered (nothing was committed), `Err` with the final unknown-outcome error when the
/// connection was lost or the reply never came.
pub(crate) fn commit_failed<C: Session, E>(
    conn: &C,
    e: C::Error,
) -> Result<TxError<E, C::Error>, TxError<E, C::Error>> {
    if conn.classify(&e) == Class::ConnectionLost || conn.state() == State::Unknown {
        Err(TxError::commit_unknown(e))
    } else {
        Ok(TxError::new(Failure::Commit(e)))
    }
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

/// The rollback run while the body panicked ended so (`Err`: it panicked too): a failure
/// goes to the report sink.
pub(crate) fn rolled_back_in_panic(cleanup: Result<Option<Error>, Box<dyn Any + Send>>) {
    match cleanup {
        Ok(Some(error)) => crate::sink::report_dropped(None, error, PANIC_CONTEXT),
        Ok(None) => {}
        Err(second) => {
            crate::sink::report_dropped(None, Error::panicked("transaction", second), PANIC_CONTEXT)
        }
    }
}

/// One driver's steps of a transaction run with `Options`, as [`retrying`] runs them: an
/// attempt (`BEGIN`, the body, `COMMIT` or the rollback) and the wait before the next.
pub(crate) trait Attempts<C: Session, T, E> {
    /// Attempt `n` on `conn`.
    fn attempt(
        &mut self,
        conn: &mut C,
        n: u32,
    ) -> impl Future<Output = Result<T, TxError<E, C::Error>>>;
    /// Waits `wait` before the next attempt.
    fn sleep(&self, wait: Duration) -> impl Future<Output = ()>;
}

/// The blocking driver's steps: its attempt (`FnMut(conn, n)`), then a thread sleep, each
/// done before the future it returns is polled.
pub(crate) struct Blocking<A>(pub(crate) A);

impl<C, T, E, A> Attempts<C, T, E> for Blocking<A>
where
    C: Session,
    A: FnMut(&mut C, u32) -> Result<T, TxError<E, C::Error>>,
{
    fn attempt(
        &mut self,
        conn: &mut C,
        n: u32,
    ) -> impl Future<Output = Result<T, TxError<E, C::Error>>> {
        std::future::ready((self.0)(conn, n))
    }

    fn sleep(&self, wait: Duration) -> impl Future<Output = ()> {
        std::thread::sleep(wait);
        std::future::ready(())
    }
}

/// Runs attempts 1, 2, … on `conn` until one ends in what the transaction returns
/// ([`after_attempt`]), waiting each backoff in between: the loop of both drivers'
/// `Options::run*`. The async driver awaits it; the blocking one's steps are ready at once
/// (a blocking attempt, a thread sleep) and it takes the result [`now`].
pub(crate) async fn retrying<C, T, E>(
    retry: Option<&Retry>,
    conn: &mut C,
    mut steps: impl Attempts<C, T, E>,
) -> Result<T, TxError<E, C::Error>>
where
    C: Session,
    E: StdError + 'static,
{
    let mut n = 1;
    loop {
        let result = steps.attempt(conn, n).await;
        match after_attempt(retry, conn, result, n) {
            Ok(done) => return done,
            Err(wait) => steps.sleep(wait).await,
        }
        n += 1;
    }
}

/// The output of `fut`, every step of which is ready at once (the blocking driver's
/// [`retrying`]): polled once, on the caller's thread.
pub(crate) fn now<F: Future>(fut: F) -> F::Output {
    match pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("a blocking transaction's step waited"),
    }
}

/// Attempt `n` ended with `result`: `Ok` with what the transaction returns, or `Err` with
/// the wait before the next attempt (see [`retry_after`]).
fn after_attempt<C: Session, T, E: StdError + 'static>(
    retry: Option<&Retry>,
    conn: &C,
    result: Result<T, TxError<E, C::Error>>,
    n: u32,
) -> Result<Result<T, TxError<E, C::Error>>, Duration> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(mut e) => {
            e.set_attempts(n);
            match retry_after(retry, conn, &e, n) {
                Some(wait) => Err(wait),
                None => Ok(Err(e)),
            }
        }
    }
}

/// How long to wait before the next attempt, or `None` when `e` (of attempt `n`) is not
/// retried: no retry policy, attempts used up, a class it does not retry, or the failed
/// attempt's rollback not confirmed (the connection is not back where it began).
fn retry_after<C: Session, E: StdError + 'static>(
    retry: Option<&Retry>,
    conn: &C,
    e: &TxError<E, C::Error>,
    n: u32,
) -> Option<Duration> {
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
fn classify_chain<C: Session>(conn: &C, error: &(dyn StdError + 'static)) -> Class {
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
