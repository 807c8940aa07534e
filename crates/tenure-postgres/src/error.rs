//! [`Error`]: what this crate did, to which server and database (never with a password),
//! with tokio-postgres's error as the cause; and what an error means for the connection
//! ([`is_dead`]) and for a transaction ([`classify`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::error::SqlState;

/// The operation that failed.
///
/// ```
/// assert_eq!(tenure_postgres::Operation::Connect.to_string(), "connect");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Connecting (and authenticating).
    Connect,
    /// The manager's init hook on a new connection.
    InitHook,
    /// A checkout check (`Sync` round trip, `is_valid`).
    Validate,
    /// The return-time reset (cancel, rollback, the reset policy's statements).
    Reset,
    /// A query (`query`, `query_one`, `query_opt`, `query_typed`...).
    Query,
    /// A statement run for its row count (`execute`, `execute_typed`).
    Execute,
    /// `batch_execute` or `simple_query`.
    Batch,
    /// Preparing a statement (`prepare`, `prepare_cached`).
    Prepare,
    /// `COPY ... FROM STDIN` or `COPY ... TO STDOUT`.
    Copy,
    /// `BEGIN`.
    Begin,
    /// `COMMIT`.
    Commit,
    /// `ROLLBACK`.
    Rollback,
    /// `SAVEPOINT`.
    Savepoint,
    /// `RELEASE SAVEPOINT`.
    ReleaseSavepoint,
    /// `ROLLBACK TO SAVEPOINT`.
    RollbackToSavepoint,
    /// Closing the connection.
    Close,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Connect => "connect",
            Operation::InitHook => "run the init hook",
            Operation::Validate => "validate the connection",
            Operation::Reset => "reset the connection",
            Operation::Query => "run a query",
            Operation::Execute => "execute a statement",
            Operation::Batch => "run a batch of statements",
            Operation::Prepare => "prepare a statement",
            Operation::Copy => "copy",
            Operation::Begin => "begin a transaction",
            Operation::Commit => "commit",
            Operation::Rollback => "roll back",
            Operation::Savepoint => "create a savepoint",
            Operation::ReleaseSavepoint => "release a savepoint",
            Operation::RollbackToSavepoint => "roll back to a savepoint",
            Operation::Close => "close the connection",
        })
    }
}

#[derive(Debug)]
pub(crate) enum Cause {
    Postgres(tokio_postgres::Error),
    TimedOut(Duration),
    /// An I/O or TLS error outside tokio-postgres (the reset's cancel request).
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// What failed: the [`Operation`], the server and database it was for (as
/// `user@host:port/dbname`, never a password), and why — tokio-postgres's error as
/// [`source()`](std::error::Error::source), or a bound this crate put on the work.
///
/// ```
/// use tenure_postgres::{Error, Operation};
/// let config: tokio_postgres::Config = "postgres://app:secret@db.internal:5433/orders".parse()?;
/// let e = Error::timed_out(&config, Operation::Validate, std::time::Duration::from_secs(5));
/// assert_eq!(e.to_string(),
///     "validate the connection on app@db.internal:5433/orders: no answer within 5s");
/// assert!(!format!("{e:?}").contains("secret"));
/// # Ok::<(), tokio_postgres::Error>(())
/// ```
pub struct Error {
    target: Arc<str>,
    op: Operation,
    cause: Cause,
}

impl Error {
    pub(crate) fn new(target: &Arc<str>, op: Operation, cause: Cause) -> Self {
        Error {
            target: target.clone(),
            op,
            cause,
        }
    }

    pub(crate) fn postgres(target: &Arc<str>, op: Operation, e: tokio_postgres::Error) -> Self {
        Error::new(target, op, Cause::Postgres(e))
    }

    /// An operation on the server `config` names that did not finish within `after`.
    ///
    /// ```
    /// let config = tokio_postgres::Config::new();
    /// let e = tenure_postgres::Error::timed_out(&config, tenure_postgres::Operation::Connect, std::time::Duration::from_secs(1));
    /// assert!(e.is_timeout());
    /// ```
    pub fn timed_out(config: &tokio_postgres::Config, op: Operation, after: Duration) -> Self {
        Error::new(&target(config), op, Cause::TimedOut(after))
    }

    /// What this crate was doing.
    ///
    /// ```
    /// let e = tenure_postgres::Error::timed_out(&Default::default(), tenure_postgres::Operation::Reset, Default::default());
    /// assert_eq!(e.operation(), tenure_postgres::Operation::Reset);
    /// ```
    pub fn operation(&self) -> Operation {
        self.op
    }

    /// The server and database, as `user@host:port/dbname` (no password).
    ///
    /// ```
    /// let config: tokio_postgres::Config = "host=/run/pg port=5432 user=me dbname=app password=pw".parse()?;
    /// let e = tenure_postgres::Error::timed_out(&config, tenure_postgres::Operation::Connect, Default::default());
    /// assert_eq!(e.target(), "me@/run/pg:5432/app");
    /// # Ok::<(), tokio_postgres::Error>(())
    /// ```
    pub fn target(&self) -> &str {
        &self.target
    }

    /// tokio-postgres's error, when the cause is one.
    ///
    /// ```
    /// let e = tenure_postgres::Error::timed_out(&Default::default(), tenure_postgres::Operation::Connect, Default::default());
    /// assert!(e.as_postgres().is_none());
    /// ```
    pub fn as_postgres(&self) -> Option<&tokio_postgres::Error> {
        match &self.cause {
            Cause::Postgres(e) => Some(e),
            _ => None,
        }
    }

    /// The server's SQLSTATE, when the server answered with an error.
    ///
    /// ```
    /// let e = tenure_postgres::Error::timed_out(&Default::default(), tenure_postgres::Operation::Query, Default::default());
    /// assert_eq!(e.code(), None);
    /// ```
    pub fn code(&self) -> Option<&SqlState> {
        self.as_postgres().and_then(tokio_postgres::Error::code)
    }

    /// Whether the work was abandoned at a bound of this crate's.
    ///
    /// ```
    /// let e = tenure_postgres::Error::timed_out(&Default::default(), tenure_postgres::Operation::Connect, Default::default());
    /// assert!(e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.cause, Cause::TimedOut(_))
    }

    /// Whether the error shows the connection is gone (see [`is_dead`]); a bound passed
    /// counts too, since the reply may never come.
    ///
    /// ```
    /// let e = tenure_postgres::Error::timed_out(&Default::default(), tenure_postgres::Operation::Validate, Default::default());
    /// assert!(e.is_connection_lost());
    /// ```
    pub fn is_connection_lost(&self) -> bool {
        match &self.cause {
            Cause::Postgres(e) => is_dead(e),
            Cause::TimedOut(_) => true,
            Cause::Other(_) => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.op, self.target)?;
        match &self.cause {
            Cause::Postgres(_) => f.write_str(" failed"),
            Cause::TimedOut(after) => write!(f, ": no answer within {after:?}"),
            Cause::Other(_) => f.write_str(" failed"),
        }
    }
}

// By hand: the derived form would print the cause's Debug, which is fine for
// tokio-postgres's errors (no password in them), but the target is what people read.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("operation", &self.op)
            .field("target", &self.target)
            .field("cause", &self.cause)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Postgres(e) => Some(e),
            Cause::Other(e) => Some(&**e),
            Cause::TimedOut(_) => None,
        }
    }
}

/// Whether `error` shows the connection can no longer be used: the socket is closed, or the
/// server said so — SQLSTATE class `08` (connection exception), `57P01` (admin shutdown),
/// `57P02` (crash shutdown) or `57P03` (cannot connect now).
///
/// ```
/// // An error tokio-postgres makes without a server: a malformed connection string.
/// let e = "port=notaport".parse::<tokio_postgres::Config>().unwrap_err();
/// assert!(!tenure_postgres::is_dead(&e));
/// ```
pub fn is_dead(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        // An I/O error under the protocol (a reset, a broken pipe) comes without a code.
        None => {
            use std::error::Error as _;
            let mut cause = error.source();
            while let Some(c) = cause {
                if c.is::<std::io::Error>() {
                    return true;
                }
                cause = c.source();
            }
            false
        }
    }
}

/// What an error means to a transaction: SQLSTATE `40001` (serialization failure) and
/// `40P01` (deadlock) may succeed when run again; a dead connection ([`is_dead`]) is
/// [`Class::ConnectionLost`](tenure::tx::Class::ConnectionLost) — a `COMMIT` that failed so
/// has an unknown outcome and is never retried; `25P01` (no active transaction) and
/// `3B001` (no such savepoint) mean the server had already ended it.
///
/// ```
/// use tenure::tx::Class;
/// let e = tenure_postgres::Error::timed_out(&Default::default(), tenure_postgres::Operation::Commit, Default::default());
/// assert_eq!(tenure_postgres::classify(&e), Class::ConnectionLost);
/// ```
pub fn classify(error: &Error) -> tenure::tx::Class {
    use tenure::tx::Class;
    if error.is_connection_lost() {
        return Class::ConnectionLost;
    }
    error.code().map_or(Class::Other, class_of)
}

/// What a SQLSTATE means to a transaction.
pub(crate) fn class_of(code: &SqlState) -> tenure::tx::Class {
    use tenure::tx::Class;
    match code {
        c if *c == SqlState::T_R_SERIALIZATION_FAILURE => Class::Serialization,
        c if *c == SqlState::T_R_DEADLOCK_DETECTED => Class::Deadlock,
        c if *c == SqlState::NO_ACTIVE_SQL_TRANSACTION => Class::NoTransaction,
        c if *c == SqlState::S_E_INVALID_SPECIFICATION => Class::NoTransaction,
        _ => Class::Other,
    }
}

/// `user@host:port/dbname` for messages: what a reader needs to know which server, and
/// nothing secret (the password is never read from `config`).
pub(crate) fn target(config: &tokio_postgres::Config) -> Arc<str> {
    use tokio_postgres::config::Host;
    let user = config.get_user().unwrap_or("");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    let at = if user.is_empty() { "" } else { "@" };
    format!("{user}{at}{host}:{port}/{db}").into()
}
