//! [`TxError`]: how a transaction failed, the body's error first and nothing lost.

use std::error::Error as StdError;
use std::fmt;

use super::State;
use crate::error::{Error, Report};

/// How a transaction failed: the body's error or the failed control statement
/// ([`failure`](TxError::failure)), with a rollback that failed as well attached beside it
/// ([`cleanup`](TxError::cleanup), the core's suppressed-error model: the first failure
/// stays primary), and how many attempts ran ([`attempts`](TxError::attempts)).
///
/// `E` is the body's error (a [`DynError`](crate::error::DynError) for the `_dyn` forms),
/// `D` the adapter's ([`Session::Error`](super::Session::Error)).
///
/// `Display` says what failed (transparent over a body error, as a scope's is: its message,
/// then `(+1 cleanup error)` and `(after N attempts)` where they apply); the cause is
/// `source()`; [`report`](TxError::report) renders everything.
///
/// ```
/// use tenure::tx::{Failure, TxError};
/// let e: TxError<std::io::Error, std::io::Error> =
///     TxError::commit_unknown(std::io::Error::other("connection reset"));
/// assert!(e.is_commit_unknown());
/// assert!(matches!(e.failure(), Failure::CommitUnknown(_)));
/// assert_eq!(e.report().to_string(),
///     "COMMIT was sent but no reply came: the transaction may or may not be committed: connection reset");
/// ```
pub struct TxError<E, D> {
    failure: Failure<E, D>,
    cleanup: Option<Error>,
    attempts: u32,
}

/// What failed in a transaction ([`TxError::failure`]).
///
/// ```
/// use tenure::tx::{Failure, State};
/// let f: Failure<std::io::Error, std::io::Error> =
///     Failure::NotReady { expected: State::Idle, found: State::Open { depth: 1 } };
/// assert!(matches!(f, Failure::NotReady { found: State::Open { .. }, .. }));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure<E, D> {
    /// The body returned this error; the transaction was rolled back (or the database had
    /// already ended it), unless [`TxError::cleanup`] says the rollback failed.
    Body(E),
    /// `BEGIN` (or, nested, `SAVEPOINT`) failed: the body did not run.
    Begin(D),
    /// `COMMIT` (or, nested, `RELEASE SAVEPOINT`) failed with a reply: nothing was
    /// committed, and what was left open was rolled back (unless [`TxError::cleanup`]
    /// says otherwise).
    Commit(D),
    /// `COMMIT` was sent and its reply never came (the connection was lost, or the adapter
    /// reads [`State::Unknown`] after it): the transaction may or may not be committed.
    /// Never retried; the connection is not rolled back (it cannot be reached).
    CommitUnknown(D),
    /// The connection was not in the state a transaction begins from
    /// ([`Session::begins_from`](super::Session::begins_from): [`Idle`](State::Idle) for a
    /// connection, the enclosing transaction's state for a nested one): nothing was sent.
    /// Nest through the transaction's handle ([`Tx`](super::Tx)); roll a connection left
    /// open back by hand (a pool's reset does it for pooled ones).
    NotReady {
        /// The state a transaction begins from.
        expected: State,
        /// The state the connection was in.
        found: State,
    },
    /// The body returned `Ok`, but the connection was no longer in the state `BEGIN` left
    /// it in (a nested transaction inside was dropped unfinished, or the database ended the
    /// transaction on its own): it was not committed, and was rolled back.
    StateChanged {
        /// The state right after `BEGIN`.
        expected: State,
        /// The state found when the body returned.
        found: State,
    },
}

impl<E, D> TxError<E, D> {
    pub(crate) fn new(failure: Failure<E, D>) -> Self {
        TxError {
            failure,
            cleanup: None,
            attempts: 1,
        }
    }

    /// A commit whose outcome is unknown, caused by `error` (for adapters and tests that
    /// build one; the transaction functions make it themselves).
    ///
    /// ```
    /// let e = tenure::tx::TxError::<std::fmt::Error, _>::commit_unknown(std::fmt::Error);
    /// assert_eq!(e.attempts(), 1);
    /// ```
    pub fn commit_unknown(error: D) -> Self {
        Self::new(Failure::CommitUnknown(error))
    }

    pub(crate) fn with_cleanup(mut self, cleanup: Option<Error>) -> Self {
        self.cleanup = cleanup;
        self
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        self.attempts = attempts;
    }

    /// What failed.
    ///
    /// ```
    /// use tenure::tx::{Failure, TxError};
    /// let e = TxError::<std::fmt::Error, _>::commit_unknown(std::fmt::Error);
    /// assert!(matches!(e.failure(), Failure::CommitUnknown(_)));
    /// ```
    pub fn failure(&self) -> &Failure<E, D> {
        &self.failure
    }

    /// What failed, by value (the cleanup error and the attempt count are dropped).
    ///
    /// ```
    /// use tenure::tx::{Failure, TxError};
    /// let e = TxError::<std::fmt::Error, _>::commit_unknown(std::io::Error::other("reset"));
    /// let Failure::CommitUnknown(io) = e.into_failure() else { unreachable!() };
    /// assert_eq!(io.to_string(), "reset");
    /// ```
    pub fn into_failure(self) -> Failure<E, D> {
        self.failure
    }

    /// The body's error, if the body failed.
    ///
    /// ```
    /// let e = tenure::tx::TxError::<std::fmt::Error, _>::commit_unknown(std::fmt::Error);
    /// assert!(e.body().is_none());
    /// ```
    pub fn body(&self) -> Option<&E> {
        match &self.failure {
            Failure::Body(e) => Some(e),
            _ => None,
        }
    }

    /// The rollback that failed too, if one did (its cause is the adapter's error).
    ///
    /// ```
    /// let e = tenure::tx::TxError::<std::fmt::Error, _>::commit_unknown(std::fmt::Error);
    /// assert!(e.cleanup().is_none()); // an unknown commit is not rolled back
    /// ```
    pub fn cleanup(&self) -> Option<&Error> {
        self.cleanup.as_ref()
    }

    /// How many attempts ran, this failed one included (1 without retry).
    ///
    /// ```
    /// let e = tenure::tx::TxError::<std::fmt::Error, _>::commit_unknown(std::fmt::Error);
    /// assert_eq!(e.attempts(), 1);
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// `true` when `COMMIT` was sent and its outcome is unknown ([`Failure::CommitUnknown`]).
    ///
    /// ```
    /// assert!(tenure::tx::TxError::<std::fmt::Error, _>::commit_unknown(std::fmt::Error).is_commit_unknown());
    /// ```
    pub fn is_commit_unknown(&self) -> bool {
        matches!(self.failure, Failure::CommitUnknown(_))
    }
}

impl<E: StdError + 'static, D: StdError + 'static> TxError<E, D> {
    /// Renders the error completely: the failure's chain, each message once, then the
    /// rollback failure (if any) on a line of its own.
    ///
    /// ```
    /// let e = tenure::tx::TxError::<std::fmt::Error, _>::commit_unknown(std::io::Error::other("EOF"));
    /// assert!(e.report().to_string().ends_with(": EOF"));
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report::new(self).with_cleanup(self.cleanup.as_ref())
    }
}

impl<E: fmt::Display, D> fmt::Display for TxError<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Failure::Body(e) => write!(f, "{e}")?,
            Failure::Begin(_) => f.write_str("could not begin the transaction")?,
            Failure::Commit(_) => f.write_str("could not commit the transaction")?,
            Failure::CommitUnknown(_) => f.write_str(
                "COMMIT was sent but no reply came: the transaction may or may not be committed",
            )?,
            Failure::NotReady { expected, found } => write!(
                f,
                "cannot begin a transaction: the connection is {found}, not {expected}; nothing was sent"
            )?,
            Failure::StateChanged { expected, found } => write!(
                f,
                "did not commit: the connection was {found}, not {expected} as the transaction began"
            )?,
        }
        if let Some(c) = &self.cleanup {
            let n = 1 + c.suppressed().len();
            write!(f, " (+{n} cleanup error{})", if n == 1 { "" } else { "s" })?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug, D: fmt::Debug> fmt::Debug for TxError<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TxError");
        d.field("failure", &self.failure);
        if let Some(c) = &self.cleanup {
            d.field("cleanup", c);
        }
        d.field("attempts", &self.attempts).finish()
    }
}

impl<E: StdError + 'static, D: StdError + 'static> StdError for TxError<E, D> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.failure {
            Failure::Body(e) => e.source(),
            Failure::Begin(d) | Failure::Commit(d) | Failure::CommitUnknown(d) => Some(d),
            Failure::NotReady { .. } | Failure::StateChanged { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    type E = TxError<io::Error, io::Error>;

    #[test]
    fn a_body_error_is_transparent_and_its_rollback_failure_rides_beside_it() {
        let cause = io::Error::other("constraint failed");
        let body = io::Error::new(io::ErrorKind::InvalidData, cause);
        let e = E::new(Failure::Body(body)).with_cleanup(Some(Error::close(
            "transaction",
            io::Error::other("locked"),
        )));
        assert_eq!(e.to_string(), "constraint failed (+1 cleanup error)");
        assert_eq!(
            e.report().to_string(),
            "constraint failed (+1 cleanup error)\n  cleanup: failed to close `transaction`: locked"
        );
        assert!(e.body().is_some());
        assert_eq!(e.cleanup().unwrap().resource(), "transaction");
    }

    #[test]
    fn control_failures_say_what_failed_and_keep_the_cause_as_source() {
        let mut e = E::new(Failure::Commit(io::Error::other("disk full")));
        e.set_attempts(3);
        assert_eq!(
            e.to_string(),
            "could not commit the transaction (after 3 attempts)"
        );
        assert_eq!(e.source().unwrap().to_string(), "disk full");
        assert_eq!(e.attempts(), 3);
        let b = E::new(Failure::Begin(io::Error::other("busy")));
        assert_eq!(
            b.report().to_string(),
            "could not begin the transaction: busy"
        );
        assert!(!b.is_commit_unknown() && b.body().is_none());
    }

    #[test]
    fn state_failures_name_the_states() {
        let e = E::new(Failure::NotReady {
            expected: State::Idle,
            found: State::Unknown,
        });
        assert_eq!(
            e.to_string(),
            "cannot begin a transaction: the connection is in an unknown transaction state, not idle; nothing was sent"
        );
        assert!(e.source().is_none());
        let s = E::new(Failure::StateChanged {
            expected: State::Open { depth: 1 },
            found: State::Open { depth: 2 },
        });
        assert_eq!(
            s.to_string(),
            "did not commit: the connection was in a transaction with 1 savepoint, not in a transaction as the transaction began"
        );
    }
}
