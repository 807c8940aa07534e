//! [`AsyncConnection`]: a lease used from async code, step by step through [`run`], with
//! [`AsyncTransactional`] so that [`tenure::tx::transaction_async`] runs on it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tenure::pool::Lease;
use tenure::tx::{AsyncTransactional, Class, Mode, Session, State, Transactional};

use crate::connection::Connection;
use crate::error::{Detail, Error, Operation};
use crate::run::run;
use crate::Manager;

/// A pooled connection for async code: each [`run`](AsyncConnection::run) moves the lease
/// to a blocking thread and back. If a step's future is dropped, the lease finishes that
/// step on its thread and goes back to the pool from there (rolled back if it was inside a
/// transaction); this handle then reads [`State::Unknown`] and every later step fails with
/// an error saying so.
///
/// Each step is one hop. A transaction body with several statements costs a hop per
/// statement (and one per `BEGIN` / `COMMIT`); when the body needs nothing async between
/// statements, the whole blocking [`transaction`](tenure::tx::transaction) inside one
/// [`run`] costs one.
///
/// ```
/// use tenure::pool::Pool;
/// use tenure_sqlite::AsyncConnection;
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::builder(tenure_sqlite::Manager::memory("doc-async").build()?)
///     .config(tenure_sqlite::pool_config())
///     .build()?;
/// let mut conn = AsyncConnection::new(pool.get().await?);
/// conn.run(|c| c.execute_batch("CREATE TABLE t (x)")).await?;
/// use tenure::tx::{AsyncTransactional, Mode};
/// conn.begin(Mode::Immediate).await?;
/// conn.run(|c| c.execute("INSERT INTO t VALUES (1)", [])).await?;
/// conn.run(|c| c.execute("INSERT INTO t VALUES (2)", [])).await?;
/// conn.commit().await?;
/// let n = conn.run(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))).await?;
/// assert_eq!(n, 2);
/// # Ok(()) }
/// ```
pub struct AsyncConnection {
    lease: Option<Lease<Manager>>,
    database: Arc<str>,
}

impl AsyncConnection {
    /// Wraps a lease.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = tenure::pool::Pool::builder(tenure_sqlite::Manager::memory("doc-new").build()?).build()?;
    /// let conn = tenure_sqlite::AsyncConnection::new(pool.get().await?);
    /// # drop(conn); Ok(()) }
    /// ```
    pub fn new(lease: Lease<Manager>) -> Self {
        let database = Connection::database_arc(&lease).clone();
        AsyncConnection {
            lease: Some(lease),
            database,
        }
    }

    /// The lease back, unless a dropped step kept it (it went back to the pool).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = tenure::pool::Pool::builder(tenure_sqlite::Manager::memory("doc-into").build()?).build()?;
    /// let conn = tenure_sqlite::AsyncConnection::new(pool.get().await?);
    /// let lease = conn.into_lease().expect("no step was dropped");
    /// # drop(lease); Ok(()) }
    /// ```
    pub fn into_lease(self) -> Option<Lease<Manager>> {
        self.lease
    }

    /// Runs `f` on the connection on a blocking thread ([`run`]); its rusqlite error comes
    /// back as an [`Error`] naming the database (operation [`Operation::Statement`]).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = tenure::pool::Pool::builder(tenure_sqlite::Manager::memory("doc-step").build()?).build()?;
    /// let mut conn = tenure_sqlite::AsyncConnection::new(pool.get().await?);
    /// let one: i64 = conn.run(|c| c.query_row("SELECT 1", [], |r| r.get(0))).await?;
    /// assert_eq!(one, 1);
    /// let err = conn.run(|c| c.execute_batch("NOT SQL")).await.unwrap_err();
    /// assert_eq!(err.to_string(), "could not run a statement on SQLite database `memory:doc-step`");
    /// # Ok(()) }
    /// ```
    pub async fn run<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let database = self.database.clone();
        self.step(move |c| f(c).map_err(|e| Error::sqlite(&database, Operation::Statement, e)))
            .await
    }

    async fn step<T, F>(&mut self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let lease = self.lease.take().ok_or_else(|| {
            Error::detail(&self.database, Operation::Statement, Detail::LeaseGone)
        })?;
        let (lease, out) = run(lease, f).await;
        self.lease = Some(lease);
        out
    }
}

/// SQLite's state while the lease is here; [`State::Unknown`] while a step has it, or
/// after a dropped step kept it.
impl Session for AsyncConnection {
    type Error = Error;

    fn state(&self) -> State {
        self.lease.as_ref().map_or(State::Unknown, |c| c.state())
    }

    fn classify(&self, error: &Error) -> Class {
        error.class()
    }

    fn classify_source(&self, error: &(dyn std::error::Error + 'static)) -> Option<Class> {
        crate::tx::classify_source(error)
    }
}

/// Each control statement is one [`run`] of [`Transactional`]'s.
impl AsyncTransactional for AsyncConnection {
    fn begin(&mut self, mode: Mode) -> impl Future<Output = Result<(), Error>> + Send {
        self.step(move |c| c.begin(mode))
    }

    fn commit(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        self.step(Transactional::commit)
    }

    fn rollback(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        self.step(Transactional::rollback)
    }

    fn savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), Error>> + Send {
        let name = name.to_owned();
        self.step(move |c| c.savepoint(&name))
    }

    fn release_savepoint(&mut self, name: &str) -> impl Future<Output = Result<(), Error>> + Send {
        let name = name.to_owned();
        self.step(move |c| c.release_savepoint(&name))
    }

    fn rollback_to_savepoint(
        &mut self,
        name: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let name = name.to_owned();
        self.step(move |c| c.rollback_to_savepoint(&name))
    }
}

impl fmt::Debug for AsyncConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncConnection")
            .field("database", &self.database)
            .field("state", &self.state())
            .finish()
    }
}
