//! Transactions: [`Transactional`] (blocking) and [`AsyncTransactional`], the traits a
//! database adapter implements; the vocabulary they speak — [`State`], [`Mode`], [`Class`];
//! and how a transaction is run: [`Options`] with its [`Retry`] policy, failing with a
//! [`TxError`].
//!
//! # The state an adapter reports, and why `Unknown` comes first
//!
//! [`Session::state`] says where the connection stands: [`State::Idle`] (no transaction),
//! [`State::Open`] (a transaction, `depth` 1, plus one per open savepoint) or
//! [`State::Unknown`]. An adapter sets `Unknown` **before** it sends a control statement
//! (`BEGIN`, `COMMIT`, `ROLLBACK`, a savepoint's) and the definitive state once the reply is
//! in. So a connection whose future was dropped while `BEGIN` or `COMMIT` was in flight, or
//! whose reply never came (the connection was lost), never reads as clean: an adapter's
//! [`Manager::needs_reset`](crate::pool::Manager::needs_reset) returns
//! `state() != State::Idle`, and the pool rolls the connection back (or retires it, when the
//! rollback cannot be confirmed) while it still holds its slot, before anyone else can lease
//! it.
//!
//! ```
//! use tenure::tx::{Mode, State};
//!
//! assert_eq!(State::default(), State::Idle);
//! assert!(State::Open { depth: 2 }.in_transaction());
//! assert!(!State::Unknown.is_idle()); // not known to be clean: reset before reuse
//! assert_eq!(Mode::default(), Mode::Deferred);
//! ```
//!
//! # What an adapter writes
//!
//! [`Session`] (the error type, [`state`](Session::state) and
//! [`classify`](Session::classify): what both forms share), then [`Transactional`] for a
//! blocking connection or [`AsyncTransactional`] for an async one — six control statements.
//! The example on [`Transactional`] is a complete one.
//!
//! # Cancellation: the contract with adapters
//!
//! When a transaction's future is dropped — at any await point: in `BEGIN`, in the body, in
//! `COMMIT` or in a rollback — nothing can be awaited any more, so nothing is sent: the
//! connection keeps the state its adapter last set, [`State::Unknown`] if a control
//! statement was in flight (set before it was sent), else `Open`. It is never `Idle` while
//! a transaction may be open on the server. A pooled connection is then rolled back by the
//! pool's reset (the adapter's `Manager::needs_reset` returns `state() != State::Idle`;
//! its `reset` rolls back and confirms, or fails and the connection is retired) while the
//! pool still holds its slot, so no one else ever leases it inside a transaction. A bare
//! connection is refused by the next transaction ([`Failure::NotReady`]) until its owner
//! rolls it back.
//!
//! An adapter's `reset` therefore: if `state()` is not `Idle`, sends `ROLLBACK` and takes
//! an answer of [`Class::NoTransaction`] as success (a `COMMIT` whose reply was lost may
//! have landed; the database may have ended the transaction itself); it succeeds only if
//! `state()` then reads `Idle`.
//!
//! # Errors: the body's first, never a cleanup error lost
//!
//! [`TxError`] keeps the body's error primary and a rollback failure attached beside it (the
//! core's suppressed-error model: [`body`](TxError::body), [`cleanup`](TxError::cleanup),
//! [`report`](TxError::report)); it tells a failed `BEGIN` from a failed `COMMIT` and from a
//! `COMMIT` whose outcome is unknown (the connection was lost with the statement in flight:
//! [`Failure::CommitUnknown`], never retried), and says how many attempts ran.

mod error;
mod handle;
mod options;
mod rules;
mod run;
pub(crate) mod run_async;
mod traits;

pub use error::{Failure, TxError};
pub use handle::Tx;
pub use options::{Options, Retry};
pub use run::{transaction, transaction_dyn};
pub use run_async::{transaction_async, transaction_async_dyn};
pub use traits::{AsyncTransactional, Session, Transactional};

use std::fmt;

/// Where a connection stands, as its adapter last knew it (see the [module
/// docs](self#the-state-an-adapter-reports-and-why-unknown-comes-first)).
///
/// ```
/// use tenure::tx::State;
/// let s = State::Open { depth: 1 };
/// assert!(s.in_transaction() && !s.is_idle());
/// assert_eq!(s.to_string(), "in a transaction");
/// assert_eq!(State::Open { depth: 3 }.to_string(), "in a transaction with 2 savepoints");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum State {
    /// No transaction: the connection may be lent to anyone.
    #[default]
    Idle,
    /// A transaction is open: `depth` is 1 for the transaction itself, plus one per open
    /// savepoint.
    Open {
        /// 1 + the number of open savepoints.
        depth: u32,
    },
    /// A control statement was sent and its reply has not come back (it is in flight, its
    /// future was dropped, or the connection was lost): the server may or may not have acted
    /// on it. Only a confirmed rollback, or retiring the connection, makes it clean.
    Unknown,
}

impl State {
    /// `true` for [`State::Idle`]: no transaction, known for sure.
    ///
    /// ```
    /// assert!(tenure::tx::State::Idle.is_idle());
    /// assert!(!tenure::tx::State::Unknown.is_idle());
    /// ```
    pub fn is_idle(self) -> bool {
        self == State::Idle
    }

    /// `true` for [`State::Open`] (at any depth).
    ///
    /// ```
    /// assert!(tenure::tx::State::Open { depth: 1 }.in_transaction());
    /// assert!(!tenure::tx::State::Unknown.in_transaction());
    /// ```
    pub fn in_transaction(self) -> bool {
        matches!(self, State::Open { .. })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            State::Idle => f.write_str("idle"),
            State::Open { depth: 0 | 1 } => f.write_str("in a transaction"),
            State::Open { depth: 2 } => f.write_str("in a transaction with 1 savepoint"),
            State::Open { depth } => {
                write!(f, "in a transaction with {} savepoints", depth - 1)
            }
            State::Unknown => f.write_str("in an unknown transaction state"),
        }
    }
}

/// How a transaction begins.
///
/// ```
/// use tenure::tx::{Mode, Options};
/// let opts = Options { mode: Mode::Immediate, ..Options::default() };
/// assert_eq!(opts.mode, Mode::Immediate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// The backend's default `BEGIN`: SQLite takes its locks at the first read or write
    /// (`BEGIN DEFERRED`); PostgreSQL's `BEGIN` at the session's isolation level.
    #[default]
    Deferred,
    /// Take the write lock now: SQLite's `BEGIN IMMEDIATE` (a deferred transaction that
    /// reads, then writes, gets `SQLITE_BUSY` at once, ignoring the busy timeout). An
    /// adapter whose backend has no such thing begins as [`Mode::Deferred`].
    Immediate,
    /// Only reads: PostgreSQL's `BEGIN READ ONLY`; SQLite's deferred `BEGIN` (on a read-only
    /// connection, if the adapter has one).
    ReadOnly,
}

/// What an adapter's error means to a transaction, as [`Session::classify`] tells it: whether
/// a retry may help, whether the database had already ended the transaction, whether the
/// connection is gone.
///
/// ```
/// use tenure::tx::{Class, Retry};
/// let retry = Retry::default(); // on_busy: false
/// assert!(retry.retries(Class::Serialization));
/// assert!(retry.retries(Class::BusySnapshot));
/// assert!(!retry.retries(Class::Busy));
/// assert!(!retry.retries(Class::ConnectionLost)); // never: a COMMIT may have landed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Class {
    /// A serialization failure (PostgreSQL SQLSTATE `40001`): the transaction lost a race
    /// and may succeed if run again. Retried when retry is on.
    Serialization,
    /// A deadlock was detected and this transaction was chosen to fail (PostgreSQL `40P01`).
    /// Retried when retry is on.
    Deadlock,
    /// The database is locked by another connection (SQLite `SQLITE_BUSY`, after the busy
    /// timeout). Retried only when [`Retry::on_busy`] says so: waiting longer may or may not
    /// help, and the busy timeout already waited.
    Busy,
    /// SQLite's `SQLITE_BUSY_SNAPSHOT`: a read transaction's snapshot went stale before it
    /// could write; waiting cannot help, running again can. Retried when retry is on.
    BusySnapshot,
    /// The connection is gone (or its reply never came): a `COMMIT` that fails so has an
    /// unknown outcome ([`Failure::CommitUnknown`]) and is never retried.
    ConnectionLost,
    /// "No transaction is active" or "no such savepoint": the database had already ended the
    /// transaction on its own (SQLite rolls back on `SQLITE_FULL`, `SQLITE_IOERR`,
    /// `SQLITE_INTERRUPT`...). A rollback failing so is not a cleanup failure.
    NoTransaction,
    /// Anything else: not retried.
    Other,
}
