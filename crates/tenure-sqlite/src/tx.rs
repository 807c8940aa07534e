//! [`Session`] and [`Transactional`] for [`Connection`]: SQLite's control statements, its
//! transaction state read from `is_autocommit()`, and its errors classified for retry.
//!
//! The state is SQLite's own: [`State::Idle`] whenever the connection is in autocommit —
//! so a transaction SQLite ended by itself (after `SQLITE_INTERRUPT`, `SQLITE_FULL`,
//! `SQLITE_IOERR`, `SQLITE_NOMEM`, some `SQLITE_BUSY`) reads `Idle` at once, and one begun
//! with a raw `execute("BEGIN")` reads `Open`. [`State::Unknown`] is set before each
//! control statement and cleared when it returns, so only a statement that never returned
//! (its thread panicked in it) leaves it. The pool's `needs_reset` is
//! `state() != Idle`, the same test.

use tenure::tx::{Class, Mode, Session, State, Transactional};

use crate::connection::Connection;
use crate::error::Error;
use crate::hooks::Hook;

/// What a SQLite error means to a transaction.
pub(crate) fn classify(e: &rusqlite::Error) -> Class {
    if crate::error::is_busy_snapshot(e) {
        return Class::BusySnapshot;
    }
    if crate::error::is_busy(e) {
        return Class::Busy;
    }
    match e {
        // "cannot commit - no transaction is active", "cannot rollback - no transaction is
        // active", "no such savepoint: x": SQLite had already ended the transaction.
        rusqlite::Error::SqliteFailure(_, Some(msg))
            if msg.contains("no transaction is active") || msg.contains("no such savepoint") =>
        {
            Class::NoTransaction
        }
        _ => Class::Other,
    }
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Connection {
    /// Runs one control statement: the test hooks' fault for it first (if one is planned
    /// the statement is not sent), then `Unknown` before it, the definitive state after —
    /// also after an error (SQLite may have ended the transaction: `is_autocommit()` says).
    fn control(
        &mut self,
        sql: &str,
        hook: Hook,
        depth_after: impl FnOnce(u32) -> u32,
    ) -> Result<(), Error> {
        self.hooks.check(hook, Connection::database_arc(self))?;
        let before = if self.is_autocommit() {
            0
        } else {
            self.depth.max(1)
        };
        self.unknown = true;
        let result = self.execute_batch(sql);
        self.depth = if self.is_autocommit() {
            0
        } else if result.is_ok() {
            depth_after(before).max(1)
        } else {
            before.max(1)
        };
        self.unknown = false;
        result.map_err(|e| Error::sqlite(Connection::database_arc(self), hook.operation(), e))
    }
}

/// SQLite's transaction state and error classes.
///
/// ```
/// use tenure::tx::{Mode, Session, State, Transactional};
/// let mut conn = tenure_sqlite::Manager::memory("doc-session").build()?.open()?;
/// assert_eq!(conn.state(), State::Idle);
/// conn.execute("BEGIN", [])?; // a raw BEGIN counts too: the state is SQLite's
/// assert_eq!(conn.state(), State::Open { depth: 1 });
/// Transactional::rollback(&mut conn)?;
/// assert_eq!(conn.state(), State::Idle);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Session for Connection {
    type Error = Error;

    fn state(&self) -> State {
        if self.unknown {
            State::Unknown
        } else if self.is_autocommit() {
            State::Idle
        } else {
            State::Open {
                depth: self.depth.max(1),
            }
        }
    }

    fn classify(&self, error: &Error) -> Class {
        error.as_sqlite().map_or(Class::Other, classify)
    }

    /// rusqlite's error, found in a body's error chain (a `?` into an `anyhow::Error`, a
    /// `Box<dyn Error>` or an error enum of the application's): classified as this
    /// crate's [`Error`] wrapping it is.
    fn classify_source(&self, error: &(dyn std::error::Error + 'static)) -> Option<Class> {
        classify_source(error)
    }
}

/// [`Session::classify_source`] for both connections: rusqlite's error classified.
///
/// ```
/// use tenure::tx::{Class, Session};
/// let conn = tenure_sqlite::Manager::memory("doc-source").build()?.open()?;
/// let busy = rusqlite::Error::SqliteFailure(
///     rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY_SNAPSHOT), None);
/// let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(busy);
/// assert_eq!(conn.classify_source(&*boxed), Some(Class::BusySnapshot));
/// assert_eq!(conn.classify_source(&std::fmt::Error), None); // not rusqlite's
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub(crate) fn classify_source(error: &(dyn std::error::Error + 'static)) -> Option<Class> {
    error.downcast_ref::<rusqlite::Error>().map(classify)
}

/// `BEGIN DEFERRED` ([`Mode::Deferred`], [`Mode::ReadOnly`]) or `BEGIN IMMEDIATE`
/// ([`Mode::Immediate`]: take the write lock now, waiting through the busy timeout —
/// what a transaction that writes should use: a deferred one that reads, then writes, gets
/// `SQLITE_BUSY` or `SQLITE_BUSY_SNAPSHOT` at once, ignoring the busy timeout); `COMMIT`,
/// `ROLLBACK`; savepoints by quoted name.
///
/// ```
/// use tenure::tx::{Mode, Session, State, Transactional};
/// let mut conn = tenure_sqlite::Manager::memory("doc-tx").build()?.open()?;
/// conn.execute_batch("CREATE TABLE t (x)")?;
/// conn.begin(Mode::Immediate)?;
/// conn.execute("INSERT INTO t VALUES (1)", [])?;
/// conn.savepoint("inner")?;
/// conn.execute("INSERT INTO t VALUES (2)", [])?;
/// assert_eq!(conn.state(), State::Open { depth: 2 });
/// conn.rollback_to_savepoint("inner")?; // discards 2, keeps 1
/// Transactional::commit(&mut conn)?;
/// let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
/// assert_eq!((n, conn.state()), (1, State::Idle));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Transactional for Connection {
    fn begin(&mut self, mode: Mode) -> Result<(), Error> {
        let sql = match mode {
            Mode::Immediate => "BEGIN IMMEDIATE",
            _ => "BEGIN DEFERRED",
        };
        self.control(sql, Hook::Begin, |_| 1)
    }

    fn commit(&mut self) -> Result<(), Error> {
        self.control("COMMIT", Hook::Commit, |_| 0)
    }

    fn rollback(&mut self) -> Result<(), Error> {
        self.control("ROLLBACK", Hook::Rollback, |_| 0)
    }

    fn savepoint(&mut self, name: &str) -> Result<(), Error> {
        let sql = format!("SAVEPOINT {}", quoted(name));
        self.control(&sql, Hook::Savepoint, |d| d + 1)
    }

    fn release_savepoint(&mut self, name: &str) -> Result<(), Error> {
        let sql = format!("RELEASE SAVEPOINT {}", quoted(name));
        self.control(&sql, Hook::ReleaseSavepoint, |d| d.saturating_sub(1))
    }

    fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), Error> {
        let name = quoted(name);
        let sql = format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}");
        self.control(&sql, Hook::RollbackToSavepoint, |d| d.saturating_sub(1))
    }
}

impl Error {
    /// What this error means to a transaction ([`Class::BusySnapshot`], [`Class::Busy`],
    /// [`Class::NoTransaction`], or [`Class::Other`]): what a retry reads.
    ///
    /// ```
    /// use tenure::tx::Class;
    /// let e = tenure_sqlite::Error::from(rusqlite::Error::InvalidQuery);
    /// assert_eq!(e.class(), Class::Other);
    /// ```
    pub fn class(&self) -> Class {
        self.as_sqlite().map_or(Class::Other, classify)
    }
}
