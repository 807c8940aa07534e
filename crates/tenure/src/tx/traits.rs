//! The traits an adapter implements: [`Session`] (state and error classification, shared),
//! [`Transactional`] (blocking control statements) and [`AsyncTransactional`] (the same,
//! async).

use std::future::Future;

use super::{Class, Mode, State};

/// What the blocking and the async form share: the adapter's error type, where the
/// connection stands ([`state`](Session::state)) and what an error means to a transaction
/// ([`classify`](Session::classify)). One trait for both, so a connection that implements
/// both forms has one `state()`, not two.
///
/// The contract an adapter keeps (it is what makes a dropped transaction safe):
/// - `state()` is cheap and does no I/O (a pool's `needs_reset` calls it inline on return);
/// - each control statement sets [`State::Unknown`] **before** it is sent and the
///   definitive state once the reply is in — also when the reply is an error (a failed
///   `COMMIT` that ended the transaction: `Idle`; a failed `RELEASE`: still `Open`). A reply
///   that never came (the future was dropped, the connection was lost) leaves `Unknown`;
/// - statements the adapter sends on the user's behalf that end a transaction by
///   themselves, and errors after which the database ended it (SQLite rolls back on
///   `SQLITE_FULL`, `SQLITE_IOERR`...), are reflected in `state()` when the adapter can see
///   them (SQLite: `is_autocommit()`); transaction functions read `state()` again after
///   every error.
///
/// ```
/// use tenure::tx::{Class, Session, State};
///
/// /// A connection that only knows its state, and whose errors are `std::io::Error`s.
/// struct Conn { state: State }
///
/// impl Session for Conn {
///     type Error = std::io::Error;
///     fn state(&self) -> State { self.state }
///     fn classify(&self, error: &std::io::Error) -> Class {
///         match error.kind() {
///             std::io::ErrorKind::ConnectionReset => Class::ConnectionLost,
///             _ => Class::Other,
///         }
///     }
/// }
/// let conn = Conn { state: State::Idle };
/// assert_eq!(conn.classify(&std::io::ErrorKind::ConnectionReset.into()), Class::ConnectionLost);
/// ```
pub trait Session {
    /// What the adapter's statements fail with.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Where the connection stands; no I/O.
    fn state(&self) -> State;

    /// What `error` means to a transaction (retryable, already ended, connection lost...).
    fn classify(&self, error: &Self::Error) -> Class;

    /// What an error that is not the adapter's own means to a transaction, or `None` when
    /// the adapter does not know it (the default: `None` for everything).
    ///
    /// Retry reads the body's error along its `source()` chain (and inside a
    /// [`DynError`](crate::error::DynError)): at each link, the adapter's own
    /// [`Error`](Session::Error) is classified by [`classify`](Session::classify), and any
    /// other error is offered here; the first link answered decides, and a chain with no
    /// answer is [`Class::Other`] (not retried). An adapter answers for its driver's error
    /// type, so that a body returning the driver's error wrapped — in an `anyhow::Error`, a
    /// `Box<dyn Error>`, an error enum of the application's — is retried like one returning
    /// the adapter's error.
    ///
    /// ```
    /// use std::error::Error;
    /// use tenure::tx::{Class, Session, State};
    ///
    /// /// The driver's error, which the adapter wraps in its own.
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("could not serialize access")]
    /// struct DriverError;
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("statement failed")]
    /// struct AdapterError(#[source] DriverError);
    ///
    /// struct Conn;
    /// impl Session for Conn {
    ///     type Error = AdapterError;
    ///     fn state(&self) -> State { State::Idle }
    ///     fn classify(&self, e: &AdapterError) -> Class {
    ///         self.classify_source(&e.0).unwrap_or(Class::Other)
    ///     }
    ///     fn classify_source(&self, e: &(dyn Error + 'static)) -> Option<Class> {
    ///         e.downcast_ref::<DriverError>().map(|_| Class::Serialization)
    ///     }
    /// }
    /// let wrapped: Box<dyn Error + Send + Sync> = Box::new(DriverError);
    /// assert_eq!(Conn.classify_source(&*wrapped), Some(Class::Serialization));
    /// assert_eq!(Conn.classify_source(&std::fmt::Error), None);
    /// ```
    fn classify_source(&self, error: &(dyn std::error::Error + 'static)) -> Option<Class> {
        let _ = error;
        None
    }

    /// The state a transaction run on this connection begins from, and goes back to when it
    /// ends: [`State::Idle`] — the default, which adapters keep. A transaction's handle
    /// ([`Tx`](super::Tx)) answers the state its own transaction is in, because a
    /// transaction run on it is a savepoint inside that one. A transaction refuses to begin
    /// on a connection whose [`state`](Session::state) differs
    /// ([`Failure::NotReady`](super::Failure::NotReady)).
    ///
    /// ```
    /// use tenure::tx::{Session, State};
    /// let conn = tenure::testing::tx::Server::new().connect();
    /// assert_eq!(conn.begins_from(), State::Idle);
    /// ```
    fn begins_from(&self) -> State {
        State::Idle
    }
}

/// A blocking connection that can run transactions: six control statements over
/// [`Session`]. Every method keeps the `Unknown`-before-send contract of [`Session`].
///
/// Savepoints are a stack: [`savepoint`](Transactional::savepoint) pushes `name`,
/// [`release_savepoint`](Transactional::release_savepoint) pops it keeping its work, and
/// [`rollback_to_savepoint`](Transactional::rollback_to_savepoint) pops it discarding its
/// work (SQL's `ROLLBACK TO SAVEPOINT name` followed by `RELEASE SAVEPOINT name`, so the
/// depth goes back to what it was before `savepoint`). Names may repeat; the most recent
/// one with that name is meant, as in SQLite and PostgreSQL.
///
/// ```
/// use tenure::tx::{Class, Mode, Session, State, Transactional};
///
/// /// Sends statements to a log standing in for the server.
/// struct Conn { state: State, sent: Vec<String> }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("{0}")]
/// struct DbError(String);
///
/// impl Conn {
///     /// The discipline: `Unknown` before sending, the definitive state after the reply.
///     fn control(&mut self, sql: String, then: State) -> Result<(), DbError> {
///         self.state = State::Unknown;
///         self.sent.push(sql); // (a real adapter sends it and waits for the reply here)
///         self.state = then;
///         Ok(())
///     }
///     fn depth(&self) -> u32 {
///         match self.state { State::Open { depth } => depth, _ => 0 }
///     }
/// }
///
/// impl Session for Conn {
///     type Error = DbError;
///     fn state(&self) -> State { self.state }
///     fn classify(&self, e: &DbError) -> Class {
///         if e.0.contains("no transaction is active") { Class::NoTransaction } else { Class::Other }
///     }
/// }
///
/// impl Transactional for Conn {
///     fn begin(&mut self, mode: Mode) -> Result<(), DbError> {
///         let sql = match mode { Mode::Immediate => "BEGIN IMMEDIATE", _ => "BEGIN" };
///         self.control(sql.into(), State::Open { depth: 1 })
///     }
///     fn commit(&mut self) -> Result<(), DbError> {
///         self.control("COMMIT".into(), State::Idle)
///     }
///     fn rollback(&mut self) -> Result<(), DbError> {
///         self.control("ROLLBACK".into(), State::Idle)
///     }
///     fn savepoint(&mut self, name: &str) -> Result<(), DbError> {
///         let depth = self.depth() + 1;
///         self.control(format!("SAVEPOINT {name}"), State::Open { depth })
///     }
///     fn release_savepoint(&mut self, name: &str) -> Result<(), DbError> {
///         let depth = self.depth() - 1;
///         self.control(format!("RELEASE {name}"), State::Open { depth })
///     }
///     fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), DbError> {
///         let depth = self.depth() - 1;
///         self.control(format!("ROLLBACK TO {name}; RELEASE {name}"), State::Open { depth })
///     }
/// }
///
/// let mut conn = Conn { state: State::Idle, sent: vec![] };
/// conn.begin(Mode::Immediate)?;
/// conn.savepoint("a")?;
/// assert_eq!(conn.state(), State::Open { depth: 2 });
/// conn.rollback_to_savepoint("a")?;
/// conn.commit()?;
/// assert_eq!(conn.sent, ["BEGIN IMMEDIATE", "SAVEPOINT a", "ROLLBACK TO a; RELEASE a", "COMMIT"]);
/// assert_eq!(conn.state(), State::Idle);
/// # Ok::<(), DbError>(())
/// ```
pub trait Transactional: Session {
    /// Begins a transaction in `mode` (`BEGIN`, `BEGIN IMMEDIATE`, `BEGIN READ ONLY`).
    fn begin(&mut self, mode: Mode) -> Result<(), Self::Error>;

    /// Commits the open transaction (`COMMIT`).
    fn commit(&mut self) -> Result<(), Self::Error>;

    /// Rolls the open transaction back (`ROLLBACK`).
    fn rollback(&mut self) -> Result<(), Self::Error>;

    /// Pushes a savepoint named `name` (`SAVEPOINT name`).
    fn savepoint(&mut self, name: &str) -> Result<(), Self::Error>;

    /// Pops the savepoint `name`, keeping its work (`RELEASE SAVEPOINT name`).
    fn release_savepoint(&mut self, name: &str) -> Result<(), Self::Error>;

    /// Pops the savepoint `name`, discarding its work (`ROLLBACK TO SAVEPOINT name` then
    /// `RELEASE SAVEPOINT name`).
    fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), Self::Error>;
}

/// [`Transactional`], async: each control statement is a `Send` future, so a transaction
/// can run inside `tokio::spawn`. The same contract, with one more case it exists for: a
/// future dropped before its reply came leaves [`State::Unknown`] (set before the
/// statement was sent), so the connection is reset or retired, never lent as clean.
///
/// ```
/// use std::future::Future;
/// use tenure::tx::{AsyncTransactional, Class, Mode, Session, State};
///
/// /// A connection whose statements are futures (here, ready at once).
/// struct Conn { state: State }
///
/// impl Conn {
///     async fn control(&mut self, _sql: &str, then: State) -> Result<(), std::io::Error> {
///         self.state = State::Unknown;        // before sending
///         std::future::ready(()).await;       // (a real adapter awaits the reply here)
///         self.state = then;                  // the reply is in
///         Ok(())
///     }
///     fn depth(&self) -> u32 {
///         match self.state { State::Open { depth } => depth, _ => 0 }
///     }
/// }
///
/// impl Session for Conn {
///     type Error = std::io::Error;
///     fn state(&self) -> State { self.state }
///     fn classify(&self, _: &std::io::Error) -> Class { Class::Other }
/// }
///
/// impl AsyncTransactional for Conn {
///     fn begin(&mut self, _mode: Mode) -> impl Future<Output = Result<(), Self::Error>> + Send {
///         self.control("BEGIN", State::Open { depth: 1 })
///     }
///     fn commit(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
///         self.control("COMMIT", State::Idle)
///     }
///     fn rollback(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
///         self.control("ROLLBACK", State::Idle)
///     }
///     fn savepoint(&mut self, _name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
///         let depth = self.depth() + 1;
///         self.control("SAVEPOINT", State::Open { depth })
///     }
///     fn release_savepoint(&mut self, _name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
///         let depth = self.depth() - 1;
///         self.control("RELEASE", State::Open { depth })
///     }
///     fn rollback_to_savepoint(&mut self, _name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
///         let depth = self.depth() - 1;
///         self.control("ROLLBACK TO", State::Open { depth })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), std::io::Error> {
/// let mut conn = Conn { state: State::Idle };
/// conn.begin(Mode::Deferred).await?;
/// drop(conn.commit()); // dropped before it was even sent: not sent, state unchanged
/// assert_eq!(conn.state(), State::Open { depth: 1 });
/// conn.commit().await?;
/// assert_eq!(conn.state(), State::Idle);
/// # Ok(())
/// # }
/// ```
pub trait AsyncTransactional: Session + Send {
    /// Begins a transaction in `mode`.
    fn begin(&mut self, mode: Mode) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Commits the open transaction.
    fn commit(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Rolls the open transaction back.
    fn rollback(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Pushes a savepoint named `name`.
    fn savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Pops the savepoint `name`, keeping its work.
    fn release_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Pops the savepoint `name`, discarding its work.
    fn rollback_to_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
