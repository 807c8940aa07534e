//! The test hooks (feature `testing`): a manager built with
//! [`Builder::hooks`](crate::Builder::hooks) consults a [`Faults`](tenure::testing::Faults)
//! before it opens, validates, resets and closes a connection, and before each transaction
//! control statement its connections run through
//! [`Transactional`](tenure::tx::Transactional) (`Op::Begin`, `Op::Commit`, `Op::Rollback`,
//! `Op::Savepoint`, `Op::ReleaseSavepoint`, `Op::RollbackToSavepoint`); it records every
//! connection it opens in a [`Ledger`](tenure::testing::Ledger) under the kind [`KIND`] — so
//! a test (or `tenure demo --fail-at`) injects failures into real pool operations and real
//! transactions on a real file, and the ledger counts real connections. Without the
//! feature the hooks are a zero-sized no-op.
//!
//! A transaction fault is applied before its statement is sent: an injected `COMMIT`
//! failure leaves the transaction open and uncommitted, as a `COMMIT` SQLite refused does,
//! so [`tenure::tx::transaction`] rolls it back; an injected `BEGIN` failure leaves the
//! connection idle.
//!
//! ```
//! use tenure::testing::{Faults, Ledger, Op};
//! use tenure::tx::{transaction, Failure, Session, State};
//! let faults = Faults::new();
//! faults.fail_nth(Op::Commit, tenure_sqlite::hooks::KIND, 1);
//! let manager = tenure_sqlite::Manager::memory("doc-tx-hooks").hooks(faults, Ledger::new()).build()?;
//! let mut conn = manager.open()?;
//! conn.execute_batch("CREATE TABLE t (x)")?;
//! let failed = transaction(&mut conn, |tx| tx.execute("INSERT INTO t VALUES (1)", []));
//! let err = failed.unwrap_err();
//! assert!(matches!(err.failure(), Failure::Commit(_))); // injected; the insert rolled back
//! assert_eq!(conn.state(), State::Idle);
//! let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
//! assert_eq!(n, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;

use crate::error::{Error, Operation};

/// The [`Ledger`](tenure::testing::Ledger) kind of a SQLite connection, and the kind
/// [`Faults`](tenure::testing::Faults) are planned for.
///
/// ```
/// assert_eq!(tenure_sqlite::hooks::KIND, "sqlite");
/// ```
pub const KIND: &str = "sqlite";

/// An operation a fault can be injected into. Its two names — the [`Operation`] its
/// error names and the `Op` its faults are planned under — are one table:
/// [`Hook::names`].
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) enum Hook {
    /// `Op::Acquire`: a pool's create (or [`Manager::open`](crate::Manager::open)).
    Create,
    /// `Op::Validate`.
    Validate,
    /// `Op::Reset`: the rollback of a connection returned inside a transaction.
    Reset,
    /// `Op::Close`.
    Close,
    /// `Op::Begin`: [`Transactional::begin`](tenure::tx::Transactional::begin).
    Begin,
    /// `Op::Commit`.
    Commit,
    /// `Op::Rollback`: [`Transactional::rollback`](tenure::tx::Transactional::rollback)
    /// (the pool's reset is [`Hook::Reset`]).
    Rollback,
    /// `Op::Savepoint`.
    Savepoint,
    /// `Op::ReleaseSavepoint`.
    ReleaseSavepoint,
    /// `Op::RollbackToSavepoint`.
    RollbackToSavepoint,
}

/// The `Op` a fault is planned under (feature `testing`; else nothing).
#[cfg(feature = "testing")]
type FaultOp = tenure::testing::Op;
#[cfg(not(feature = "testing"))]
type FaultOp = ();

/// `Op::$name` (feature `testing`; else `()`).
#[cfg(feature = "testing")]
macro_rules! fault_op {
    ($name:ident) => {
        tenure::testing::Op::$name
    };
}
#[cfg(not(feature = "testing"))]
macro_rules! fault_op {
    ($name:ident) => {
        ()
    };
}

impl Hook {
    /// The operation an error of this hook names, and the `Op` its faults are planned
    /// under: the one mapping between the two lists.
    fn names(self) -> (Operation, FaultOp) {
        match self {
            Hook::Create => (Operation::Open, fault_op!(Acquire)),
            Hook::Validate => (Operation::Validate, fault_op!(Validate)),
            Hook::Reset => (Operation::Rollback, fault_op!(Reset)),
            Hook::Close => (Operation::Close, fault_op!(Close)),
            Hook::Begin => (Operation::Begin, fault_op!(Begin)),
            Hook::Commit => (Operation::Commit, fault_op!(Commit)),
            Hook::Rollback => (Operation::Rollback, fault_op!(Rollback)),
            Hook::Savepoint => (Operation::Savepoint, fault_op!(Savepoint)),
            Hook::ReleaseSavepoint => (Operation::ReleaseSavepoint, fault_op!(ReleaseSavepoint)),
            Hook::RollbackToSavepoint => (
                Operation::RollbackToSavepoint,
                fault_op!(RollbackToSavepoint),
            ),
        }
    }

    /// The operation an error of this hook names.
    pub(crate) fn operation(self) -> Operation {
        self.names().0
    }

    /// Applies the fault `faults` plan for this call of the hook, if any, as an error of
    /// `database`.
    #[cfg(feature = "testing")]
    fn apply(self, faults: &tenure::testing::Faults, database: &Arc<str>) -> Result<(), Error> {
        let (operation, op) = self.names();
        faults
            .check(op, KIND)
            .map_err(|f| Error::injected(database, operation, f))
    }
}

/// What a manager consults.
#[cfg(feature = "testing")]
#[derive(Clone, Default)]
pub(crate) struct Hooks(Option<(tenure::testing::Faults, tenure::testing::Ledger)>);

#[cfg(not(feature = "testing"))]
#[derive(Clone, Default)]
pub(crate) struct Hooks;

/// What a connection carries: the faults, and its ledger entry.
#[cfg(feature = "testing")]
#[derive(Default)]
pub(crate) struct ConnHooks(Option<(tenure::testing::Faults, tenure::testing::Token)>);

#[cfg(not(feature = "testing"))]
#[derive(Default)]
pub(crate) struct ConnHooks;

#[cfg(feature = "testing")]
impl Hooks {
    pub(crate) fn new(faults: tenure::testing::Faults, ledger: tenure::testing::Ledger) -> Self {
        Hooks(Some((faults, ledger)))
    }

    /// Applies the fault planned for this call of `hook`, if any.
    pub(crate) fn check(&self, hook: Hook, database: &Arc<str>) -> Result<(), Error> {
        match &self.0 {
            Some((faults, _)) => hook.apply(faults, database),
            None => Ok(()),
        }
    }

    /// The hooks a newly opened connection carries (it is now live in the ledger).
    #[track_caller]
    pub(crate) fn opened(&self) -> ConnHooks {
        ConnHooks(
            self.0
                .as_ref()
                .map(|(faults, ledger)| (faults.clone(), ledger.track(KIND))),
        )
    }
}

#[cfg(feature = "testing")]
impl ConnHooks {
    /// Applies the fault planned for this call of `hook`, if any.
    pub(crate) fn check(&self, hook: Hook, database: &Arc<str>) -> Result<(), Error> {
        match &self.0 {
            Some((faults, _)) => hook.apply(faults, database),
            None => Ok(()),
        }
    }

    /// After the real connection is closed: records the release, then applies the close
    /// fault planned for this call, if any (the connection is gone either way).
    pub(crate) fn closed(self, database: &Arc<str>) -> Result<(), Error> {
        match self.0 {
            Some((faults, token)) => {
                token.release();
                Hook::Close.apply(&faults, database)
            }
            None => Ok(()),
        }
    }
}

#[cfg(not(feature = "testing"))]
impl Hooks {
    #[inline]
    pub(crate) fn check(&self, _: Hook, _: &Arc<str>) -> Result<(), Error> {
        Ok(())
    }

    #[inline]
    pub(crate) fn opened(&self) -> ConnHooks {
        ConnHooks
    }
}

#[cfg(not(feature = "testing"))]
impl ConnHooks {
    #[inline]
    pub(crate) fn check(&self, _: Hook, _: &Arc<str>) -> Result<(), Error> {
        Ok(())
    }

    #[inline]
    pub(crate) fn closed(self, _: &Arc<str>) -> Result<(), Error> {
        Ok(())
    }
}
