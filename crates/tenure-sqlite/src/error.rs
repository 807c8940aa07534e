//! [`Error`]: what this crate did to which database, with rusqlite's error as the cause.

use std::fmt;
use std::sync::Arc;

/// What the adapter was doing when SQLite (or an injected fault) said no.
///
/// ```
/// use tenure_sqlite::Operation;
/// assert_eq!(Operation::Pragma("journal_mode").to_string(), "set pragma journal_mode");
/// assert_eq!(Operation::Begin.to_string(), "begin a transaction");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening a connection (and reading the file's header: a file that is not a database
    /// fails here, not later).
    Open,
    /// Setting a pragma (`busy_timeout`, `foreign_keys`, `synchronous`, `journal_mode`).
    Pragma(&'static str),
    /// The user's init hook ([`Builder::init`](crate::Builder::init)).
    InitHook,
    /// The pool's check on checkout (`SELECT 1`).
    Validate,
    /// `BEGIN` (deferred, immediate or read-only).
    Begin,
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK` (the pool's reset of a connection returned inside a transaction, too).
    Rollback,
    /// `SAVEPOINT`.
    Savepoint,
    /// `RELEASE` of a savepoint.
    ReleaseSavepoint,
    /// `ROLLBACK TO` a savepoint.
    RollbackToSavepoint,
    /// Closing a connection.
    Close,
    /// A statement of the caller's (a transaction body's `?` on a `rusqlite::Error`
    /// converts into this, so that a retry can classify it).
    Statement,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Open => f.write_str("open"),
            Operation::Pragma(name) => write!(f, "set pragma {name}"),
            Operation::InitHook => f.write_str("run the init hook"),
            Operation::Validate => f.write_str("validate"),
            Operation::Begin => f.write_str("begin a transaction"),
            Operation::Commit => f.write_str("commit"),
            Operation::Rollback => f.write_str("roll back"),
            Operation::Savepoint => f.write_str("create a savepoint"),
            Operation::ReleaseSavepoint => f.write_str("release a savepoint"),
            Operation::RollbackToSavepoint => f.write_str("roll back to a savepoint"),
            Operation::Close => f.write_str("close"),
            Operation::Statement => f.write_str("run a statement"),
        }
    }
}

/// Why an operation failed, when it was not SQLite that said so.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Detail {
    /// A `ROLLBACK` that returned without error left the connection in a transaction.
    #[error("the connection is still inside a transaction after ROLLBACK")]
    StillInTransaction,
    /// `PRAGMA journal_mode=WAL` answered another mode (a read-only file, say).
    #[error("SQLite kept journal mode `{0}` instead of `wal`")]
    JournalMode(String),
    /// An [`AsyncConnection`](crate::AsyncConnection) step was dropped before it finished.
    #[error("an earlier step on this connection was dropped before it finished; its lease went back to the pool from there")]
    LeaseGone,
    /// A memory database name that does not fit in a URI unescaped.
    #[error("a memory database name is 1 to 200 ASCII letters, digits, `-`, `_` or `.`")]
    BadMemoryName,
}

#[derive(Debug)]
pub(crate) enum Cause {
    Sqlite(rusqlite::Error),
    Detail(Detail),
    #[cfg(feature = "testing")]
    Injected(tenure::testing::InjectedFault),
}

/// A failed operation on a SQLite database: which database (its path, or `memory:NAME`),
/// which [`Operation`], and the cause as [`source`](std::error::Error::source) (rusqlite's
/// error, or with feature `testing` an injected fault). [`is_busy`](Error::is_busy) and
/// [`is_busy_snapshot`](Error::is_busy_snapshot) classify it for retries.
///
/// ```
/// use tenure_sqlite::{Manager, Operation};
/// let dir = tempfile::tempdir()?;
/// let err = Manager::file(dir.path().join("missing/dir/app.db")).build().unwrap_err();
/// assert_eq!(err.operation(), Operation::Open);
/// assert!(err.to_string().starts_with("could not open SQLite database `"));
/// assert!(err.to_string().ends_with("missing/dir/app.db`"));
/// assert_eq!(err.code(), Some(rusqlite::ErrorCode::CannotOpen));
/// assert!(std::error::Error::source(&err).is_some()); // rusqlite's error
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Error(Box<Inner>);

/// Boxed: an `Error` is one pointer wide, so results (and transaction errors that carry
/// two of them) stay small.
#[derive(Debug)]
struct Inner {
    database: Arc<str>,
    op: Operation,
    cause: Cause,
}

impl Error {
    pub(crate) fn sqlite(database: &Arc<str>, op: Operation, cause: rusqlite::Error) -> Self {
        Error(Box::new(Inner {
            database: database.clone(),
            op,
            cause: Cause::Sqlite(cause),
        }))
    }

    pub(crate) fn detail(database: &Arc<str>, op: Operation, detail: Detail) -> Self {
        Error(Box::new(Inner {
            database: database.clone(),
            op,
            cause: Cause::Detail(detail),
        }))
    }

    #[cfg(feature = "testing")]
    pub(crate) fn injected(
        database: &Arc<str>,
        op: Operation,
        fault: tenure::testing::InjectedFault,
    ) -> Self {
        Error(Box::new(Inner {
            database: database.clone(),
            op,
            cause: Cause::Injected(fault),
        }))
    }

    /// The database: its path as given, or `memory:NAME` for a named in-memory one.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("no/such/dir.db")).build().unwrap_err();
    /// assert!(err.database().ends_with("no/such/dir.db"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn database(&self) -> &str {
        &self.0.database
    }

    /// What was being done.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("no/such/dir.db")).build().unwrap_err();
    /// assert_eq!(err.operation(), tenure_sqlite::Operation::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn operation(&self) -> Operation {
        self.0.op
    }

    /// rusqlite's error, when SQLite is what failed.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("no/such/dir.db")).build().unwrap_err();
    /// assert!(matches!(err.as_sqlite(), Some(rusqlite::Error::SqliteFailure(..))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_sqlite(&self) -> Option<&rusqlite::Error> {
        match &self.0.cause {
            Cause::Sqlite(e) => Some(e),
            _ => None,
        }
    }

    /// SQLite's primary result code, when SQLite is what failed.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("no/such/dir.db")).build().unwrap_err();
    /// assert_eq!(err.code(), Some(rusqlite::ErrorCode::CannotOpen));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn code(&self) -> Option<rusqlite::ErrorCode> {
        self.as_sqlite()
            .and_then(rusqlite::Error::sqlite_error_code)
    }

    /// Whether SQLite answered `SQLITE_BUSY` (any extended form): another connection held
    /// the lock past the busy timeout, or (`SQLITE_BUSY_SNAPSHOT`) a read transaction's
    /// snapshot went stale before it could write.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("no/such/dir.db")).build().unwrap_err();
    /// assert!(!err.is_busy());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_busy(&self) -> bool {
        self.as_sqlite().is_some_and(is_busy)
    }

    /// Whether SQLite answered `SQLITE_BUSY_SNAPSHOT`: a deferred transaction that read,
    /// then tried to write after another connection committed. Only a new transaction can
    /// succeed (waiting does not help); a retry runs the body again.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let err = tenure_sqlite::Manager::file(dir.path().join("no/such/dir.db")).build().unwrap_err();
    /// assert!(!err.is_busy_snapshot());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_busy_snapshot(&self) -> bool {
        self.as_sqlite().is_some_and(is_busy_snapshot)
    }
}

/// `SQLITE_BUSY`, any extended form.
pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// `SQLITE_BUSY_SNAPSHOT` (`SQLITE_BUSY | 2 << 8`).
pub(crate) fn is_busy_snapshot(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_BUSY_SNAPSHOT)
}

/// A statement's error, for a transaction body that returns this crate's [`Error`]: its
/// `?` converts rusqlite's, and [`Retry`](tenure::tx::Retry) can then classify it (a
/// `SQLITE_BUSY_SNAPSHOT` from the body is retried). The database is not known here: its
/// `database()` is empty.
///
/// ```
/// let e = tenure_sqlite::Error::from(rusqlite::Error::InvalidQuery);
/// assert_eq!(e.operation(), tenure_sqlite::Operation::Statement);
/// assert_eq!(e.to_string(), "could not run a statement on SQLite");
/// ```
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error(Box::new(Inner {
            database: Arc::from(""),
            op: Operation::Statement,
            cause: Cause::Sqlite(e),
        }))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.database.is_empty() {
            return write!(f, "could not {} on SQLite", self.0.op);
        }
        match self.0.op {
            Operation::Open => write!(f, "could not open SQLite database `{}`", self.0.database),
            op => write!(f, "could not {op} on SQLite database `{}`", self.0.database),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(match &self.0.cause {
            Cause::Sqlite(e) => e,
            Cause::Detail(d) => d,
            #[cfg(feature = "testing")]
            Cause::Injected(e) => e,
        })
    }
}
