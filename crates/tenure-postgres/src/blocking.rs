//! [`BlockingClient`]: a `postgres::Client` that records its transaction state and whether
//! an error showed it dead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{CancelToken, Row, SimpleQueryMessage, Statement};
use tenure::tx::State;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::Socket;

use crate::client::after_error;
use crate::error::{self, Error, Operation};
use crate::track::{AsStatement, Tracker};

/// A blocking PostgreSQL connection: a `postgres::Client`, with the transaction
/// [`State`] and the dead-connection flag a pool's return hooks read.
///
/// A `postgres::Client` drives a runtime of its own and panics on a tokio runtime's worker
/// thread: use it on plain threads or inside `spawn_blocking` (a pool's own blocking work,
/// connecting and closing included, already runs there).
///
/// ```no_run
/// # fn run(config: tokio_postgres::Config) -> Result<(), tenure_postgres::Error> {
/// let mut client = tenure_postgres::BlockingClient::connect(&config, postgres::NoTls)?;
/// let row = client.query_one("SELECT $1::int + 1", &[&41])?;
/// assert_eq!(row.get::<_, i32>(0), 42);
/// # Ok(()) }
/// ```
pub struct BlockingClient {
    /// Boxed, as [`Client`](crate::Client)'s parts: a pool moves its resource by value on
    /// every lend and return, and these parts (a `postgres::Client`,
    /// its runtime included) are about 380 bytes.
    pub(crate) c: Box<BlockingParts>,
}

pub(crate) struct BlockingParts {
    inner: postgres::Client,
    pub(crate) track: Tracker,
    cache: HashMap<String, Statement>,
    pub(crate) target: Arc<str>,
}

impl BlockingClient {
    /// Connects (within `config`'s `connect_timeout`, if any).
    ///
    /// ```no_run
    /// let config: tokio_postgres::Config = "host=localhost user=postgres".parse()?;
    /// let client = tenure_postgres::BlockingClient::connect(&config, postgres::NoTls)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect<T>(config: &tokio_postgres::Config, tls: T) -> Result<BlockingClient, Error>
    where
        T: MakeTlsConnect<Socket> + 'static + Send,
        T::TlsConnect: Send,
        T::Stream: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let target = error::target(config);
        let inner = postgres::Config::from(config.clone())
            .connect(tls)
            .map_err(|e| Error::postgres(&target, Operation::Connect, e))?;
        Ok(BlockingClient {
            c: Box::new(BlockingParts {
                inner,
                track: Tracker::default(),
                cache: HashMap::new(),
                target,
            }),
        })
    }

    /// The client itself, for what this type does not mirror. The state becomes
    /// [`State::Unknown`]: what is done through it is not tracked.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), postgres::Error> {
    /// tenure_postgres::BlockingClient::raw(&mut client).batch_execute("SET search_path = app")?;
    /// # Ok(()) }
    /// ```
    pub fn raw(this: &mut Self) -> &mut postgres::Client {
        this.c.track.set_state(State::Unknown);
        &mut this.c.inner
    }

    /// Whether the connection is known to be gone (socket closed, or an error said so).
    ///
    /// ```no_run
    /// # fn run(client: tenure_postgres::BlockingClient) {
    /// assert!(!client.is_broken());
    /// # }
    /// ```
    pub fn is_broken(&self) -> bool {
        self.c.track.is_dead() || self.c.inner.is_closed()
    }

    /// A token that cancels this connection's running query from another thread.
    ///
    /// ```no_run
    /// # fn run(client: tenure_postgres::BlockingClient) {
    /// let token = client.cancel_token();
    /// # drop(token); }
    /// ```
    pub fn cancel_token(&self) -> CancelToken {
        self.c.inner.cancel_token()
    }

    /// The number of statements [`prepare_cached`](BlockingClient::prepare_cached) holds.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// client.prepare_cached("SELECT 1")?;
    /// assert_eq!(client.cached_statements(), 1);
    /// # Ok(()) }
    /// ```
    pub fn cached_statements(&self) -> usize {
        self.c.cache.len()
    }

    fn fail(&self, op: Operation, e: postgres::Error) -> Error {
        if error::is_dead(&e) {
            self.c.track.mark_dead();
        }
        Error::postgres(&self.c.target, op, e)
    }

    /// `query`: all rows.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// let rows = client.query("SELECT generate_series(1, $1)", &[&3])?;
    /// assert_eq!(rows.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn query<T>(
        &mut self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        let r = self.c.inner.query(statement, params);
        r.map_err(|e| self.fail(Operation::Query, e))
    }

    /// `query_one`: exactly one row, else an error.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// let n: i64 = client.query_one("SELECT count(*) FROM pg_class", &[])?.get(0);
    /// # Ok(()) }
    /// ```
    pub fn query_one<T>(
        &mut self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        let r = self.c.inner.query_one(statement, params);
        r.map_err(|e| self.fail(Operation::Query, e))
    }

    /// `query_opt`: zero or one row.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// assert!(client.query_opt("SELECT 1 WHERE false", &[])?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn query_opt<T>(
        &mut self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        let r = self.c.inner.query_opt(statement, params);
        r.map_err(|e| self.fail(Operation::Query, e))
    }

    /// `query_typed`: parameters with their types, no prepare round trip.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// use postgres::types::Type;
    /// let rows = client.query_typed("SELECT $1", &[(&7i32, Type::INT4)])?;
    /// # Ok(()) }
    /// ```
    pub fn query_typed(
        &mut self,
        statement: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        self.c.track.before_sending(statement);
        let r = self.c.inner.query_typed(statement, params);
        r.map_err(|e| self.fail(Operation::Query, e))
    }

    /// `execute`: the number of rows affected.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// let n = client.execute("UPDATE t SET x = x + 1", &[])?;
    /// # Ok(()) }
    /// ```
    pub fn execute<T>(
        &mut self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        let r = self.c.inner.execute(statement, params);
        r.map_err(|e| self.fail(Operation::Execute, e))
    }

    /// `execute_typed`: `execute` with typed parameters.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// use postgres::types::Type;
    /// client.execute_typed("INSERT INTO t VALUES ($1)", &[(&1i32, Type::INT4)])?;
    /// # Ok(()) }
    /// ```
    pub fn execute_typed(
        &mut self,
        statement: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<u64, Error> {
        self.c.track.before_sending(statement);
        let r = self.c.inner.execute_typed(statement, params);
        r.map_err(|e| self.fail(Operation::Execute, e))
    }

    /// `batch_execute`: statements separated by `;`, through the simple protocol.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// client.batch_execute("CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (1)")?;
    /// # Ok(()) }
    /// ```
    pub fn batch_execute(&mut self, statements: &str) -> Result<(), Error> {
        self.c.track.before_sending(statements);
        let r = self.c.inner.batch_execute(statements);
        r.map_err(|e| self.fail(Operation::Batch, e))
    }

    /// `simple_query`: the simple protocol's rows, as text.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// let messages = client.simple_query("SELECT 1")?;
    /// # Ok(()) }
    /// ```
    pub fn simple_query(&mut self, statements: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        self.c.track.before_sending(statements);
        let r = self.c.inner.simple_query(statements);
        r.map_err(|e| self.fail(Operation::Batch, e))
    }

    /// `prepare`: a statement prepared on this connection.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// let statement = client.prepare("SELECT $1::int")?;
    /// client.query_one(&statement, &[&1])?;
    /// # Ok(()) }
    /// ```
    pub fn prepare(&mut self, query: &str) -> Result<Statement, Error> {
        let r = self.c.inner.prepare(query);
        let statement = r.map_err(|e| self.fail(Operation::Prepare, e))?;
        self.c.track.remember_prepared(query);
        Ok(statement)
    }

    /// `prepare`, cached on this connection for as long as it lives.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// let a = client.prepare_cached("SELECT 1")?;
    /// let b = client.prepare_cached("SELECT 1")?;
    /// assert_eq!(client.cached_statements(), 1);
    /// # Ok(()) }
    /// ```
    pub fn prepare_cached(&mut self, query: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.c.cache.get(query) {
            return Ok(statement.clone());
        }
        let statement = self.prepare(query)?;
        self.c.cache.insert(query.to_owned(), statement.clone());
        Ok(statement)
    }

    /// `copy_in`: a writer for `COPY ... FROM STDIN` data; `finish` it to end the copy.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Write;
    /// let mut writer = client.copy_in("COPY t FROM STDIN")?;
    /// writer.write_all(b"1\n")?;
    /// writer.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn copy_in<T>(&mut self, statement: &T) -> Result<postgres::CopyInWriter<'_>, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        let target = self.c.target.clone();
        let track = &self.c.track;
        self.c.inner.copy_in(statement).map_err(|e| {
            if error::is_dead(&e) {
                track.mark_dead();
            }
            Error::postgres(&target, Operation::Copy, e)
        })
    }

    /// `copy_out`: a reader of `COPY ... TO STDOUT` data.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut out = String::new();
    /// std::io::Read::read_to_string(&mut client.copy_out("COPY t TO STDOUT")?, &mut out)?;
    /// # Ok(()) }
    /// ```
    pub fn copy_out<T>(&mut self, statement: &T) -> Result<postgres::CopyOutReader<'_>, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        let target = self.c.target.clone();
        let track = &self.c.track;
        self.c.inner.copy_out(statement).map_err(|e| {
            if error::is_dead(&e) {
                track.mark_dead();
            }
            Error::postgres(&target, Operation::Copy, e)
        })
    }

    /// `is_valid`: one round trip within `timeout`; what a pool's validation runs.
    ///
    /// ```no_run
    /// # fn run(mut client: tenure_postgres::BlockingClient) -> Result<(), tenure_postgres::Error> {
    /// client.is_valid(std::time::Duration::from_secs(5))?;
    /// # Ok(()) }
    /// ```
    pub fn is_valid(&mut self, timeout: Duration) -> Result<(), Error> {
        let r = self.c.inner.is_valid(timeout);
        r.map_err(|e| self.fail(Operation::Validate, e))
    }

    /// One round trip (an empty query) to see that the server answers, with no bound of
    /// its own: what the blocking manager's validation runs, bounded by the pool's
    /// `check_timeout`.
    pub(crate) fn check_connection(&mut self) -> Result<(), Error> {
        let r = self.c.inner.batch_execute("");
        r.map_err(|e| self.fail(Operation::Validate, e))
    }

    /// The reset policy's statements.
    pub(crate) fn reset_statements(&mut self, sql: &str) -> Result<(), Error> {
        let r = self.c.inner.batch_execute(sql);
        r.map_err(|e| self.fail(Operation::Reset, e))?;
        if crate::Reset::deallocates(sql) {
            self.c.cache.clear();
        }
        Ok(())
    }

    pub(crate) fn control(&mut self, op: Operation, sql: &str, then: State) -> Result<(), Error> {
        let before = self.c.track.state();
        self.c.track.set_state(State::Unknown);
        match self.c.inner.batch_execute(sql) {
            Ok(()) => {
                self.c.track.set_state(then);
                Ok(())
            }
            Err(e) => {
                let e = self.fail(op, e);
                self.c.track.set_state(after_error(op, &e, before));
                Err(e)
            }
        }
    }
}

impl std::fmt::Debug for BlockingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingClient")
            .field("target", &self.c.target)
            .field("state", &self.c.track.state())
            .field("broken", &self.is_broken())
            .finish()
    }
}

/// `postgres::Client::close()`: says goodbye to the server and reports what went wrong.
/// Not on a runtime worker thread (see [`BlockingClient`]).
impl tenure::Close for BlockingClient {
    type Error = Error;

    fn close(self) -> Result<(), Error> {
        let BlockingParts { inner, target, .. } = *self.c;
        inner
            .close()
            .map_err(|e| Error::postgres(&target, Operation::Close, e))
    }
}
