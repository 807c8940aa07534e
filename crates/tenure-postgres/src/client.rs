//! [`Client`]: an async connection — a `tokio_postgres::Client` and its connection task,
//! owned together — that records what the pool's return hooks need.

use std::sync::Arc;
use std::time::Duration;

use tenure::tx::State;
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::{BorrowToSql, ToSql, Type};
use tokio_postgres::{CancelToken, CopyInSink, CopyOutStream, Row, SimpleQueryMessage, Socket};
use tokio_postgres::{Config, Statement};

use crate::cache::StatementCache;
use crate::cancel::CancelStream;
use crate::error::{self, Cause, Error, Operation};
use crate::track::{AsStatement, Tracker};

/// How long [`close`](tenure::AsyncClose::close) waits for the connection task to say
/// goodbye to the server before aborting it.
const CLOSE_BOUND: Duration = Duration::from_secs(5);

/// One request, tracked: recorded as abandoned if its future is dropped before the reply,
/// the connection marked dead if the error says so. A macro rather than an `async fn`
/// taking the request's future: the request is awaited in the calling method's own state
/// instead of being moved into a second future and again into its await slot
/// (tokio-postgres's request futures are hundreds of bytes: each move was a `memcpy` per
/// query).
macro_rules! tracked {
    ($client:expr, $op:expr, $request:expr) => {{
        let client: &Client = $client;
        let guard = client.c.track.request();
        let result = $request.await;
        guard.done();
        result.map_err(|e| client.fail($op, e))
    }};
}

/// An async PostgreSQL connection: a `tokio_postgres::Client` and the task that drives its
/// connection, owned together — dropping the `Client` aborts the task, so nothing is left
/// behind (no socket, no task). It records what a pool's return hooks need: the
/// transaction [`State`] (set to `Unknown` before a control statement is sent, definitive
/// once the reply is in), a request abandoned before its reply (a query future dropped
/// mid-flight), and an error that showed the connection dead.
///
/// The methods mirror tokio-postgres's (`query`, `execute`, `batch_execute`, ...), with this
/// crate's [`Error`]; [`Client::raw`] reaches the client itself. Notifications (`LISTEN`)
/// are not delivered: the connection task drops them; use a dedicated
/// `tokio_postgres::Connection` for notifications.
///
/// ```no_run
/// # async fn run(config: tokio_postgres::Config) -> Result<(), tenure_postgres::Error> {
/// let client = tenure_postgres::Client::connect(&config, tokio_postgres::NoTls).await?;
/// let row = client.query_one("SELECT $1::int + 1", &[&41]).await?;
/// assert_eq!(row.get::<_, i32>(0), 42);
/// # Ok(()) }
/// ```
pub struct Client {
    /// Boxed: a pool moves its resource by value on every lend and return, and these parts
    /// are about 300 bytes (tokio-postgres's client keeps its socket configuration); behind
    /// the box each move is a pointer's.
    pub(crate) c: Box<Parts>,
}

pub(crate) struct Parts {
    inner: tokio_postgres::Client,
    task: Option<JoinHandle<()>>,
    pub(crate) track: Tracker,
    pub(crate) cache: StatementCache,
    pub(crate) target: Arc<str>,
    /// Where a cancel request goes: the server this connection reached.
    cancel_at: (Host, u16),
}

impl Client {
    /// Connects (within `config`'s `connect_timeout`, if any) and spawns the connection
    /// task on the current tokio runtime.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let config: tokio_postgres::Config = "host=localhost user=postgres".parse()?;
    /// let client = tenure_postgres::Client::connect(&config, tokio_postgres::NoTls).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect<T>(config: &Config, tls: T) -> Result<Client, Error>
    where
        T: MakeTlsConnect<Socket>,
        T::Stream: Send + 'static,
    {
        let target = error::target(config);
        let (inner, connection) = config
            .connect(tls)
            .await
            .map_err(|e| Error::postgres(&target, Operation::Connect, e))?;
        let track = Tracker::default();
        let dead = track.dead.clone();
        let task_target = target.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                dead.store(true, std::sync::atomic::Ordering::Release);
                tracing::debug!(target = %task_target, error = %e, "PostgreSQL connection ended");
            }
        });
        let cancel_at = (
            config
                .get_hosts()
                .first()
                .cloned()
                .unwrap_or_else(|| Host::Tcp("localhost".into())),
            config.get_ports().first().copied().unwrap_or(5432),
        );
        Ok(Client {
            c: Box::new(Parts {
                inner,
                cancel_at,
                task: Some(task),
                track,
                cache: StatementCache::default(),
                target,
            }),
        })
    }

    /// The client itself, for what this type does not mirror. The connection's state
    /// becomes [`State::Unknown`]: what is done through it is not tracked, so a pooled
    /// connection goes back through one confirmed `ROLLBACK`.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tokio_postgres::Error> {
    /// use tenure::tx::Session;
    /// tenure_postgres::Client::raw(&client).batch_execute("BEGIN").await?;
    /// assert_eq!(client.state(), tenure::tx::State::Unknown);
    /// # Ok(()) }
    /// ```
    pub fn raw(this: &Self) -> &tokio_postgres::Client {
        this.c.track.set_state(State::Unknown);
        &this.c.inner
    }

    /// Whether the connection is known to be gone: its socket closed, or an error said so
    /// (SQLSTATE class 08, 57P01–57P03; see [`is_dead`](crate::is_dead)).
    ///
    /// ```no_run
    /// # fn run(client: tenure_postgres::Client) {
    /// if client.is_broken() { /* reconnect */ }
    /// # }
    /// ```
    pub fn is_broken(&self) -> bool {
        self.c.track.is_dead() || self.c.inner.is_closed()
    }

    /// Whether a request was abandoned before its reply (its future dropped): the server
    /// may still be working on it. A pool's reset cancels it.
    ///
    /// ```no_run
    /// # fn run(client: tenure_postgres::Client) {
    /// assert!(!client.has_abandoned_request());
    /// # }
    /// ```
    pub fn has_abandoned_request(&self) -> bool {
        self.c.track.abandoned()
    }

    /// The number of statements [`prepare_cached`](Client::prepare_cached) holds.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// client.prepare_cached("SELECT 1").await?;
    /// assert_eq!(client.cached_statements(), 1);
    /// # Ok(()) }
    /// ```
    pub fn cached_statements(&self) -> usize {
        self.c.cache.len()
    }

    /// A token that cancels this connection's running query from elsewhere.
    ///
    /// ```no_run
    /// # fn run(client: tenure_postgres::Client) {
    /// let token = client.cancel_token();
    /// # drop(token); }
    /// ```
    pub fn cancel_token(&self) -> CancelToken {
        self.c.inner.cancel_token()
    }

    pub(crate) fn fail(&self, op: Operation, e: tokio_postgres::Error) -> Error {
        if error::is_dead(&e) {
            self.c.track.mark_dead();
        }
        Error::postgres(&self.c.target, op, e)
    }

    /// `query`: all rows.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let rows = client.query("SELECT generate_series(1, $1)", &[&3]).await?;
    /// assert_eq!(rows.len(), 3);
    /// # Ok(()) }
    /// ```
    pub async fn query<T>(
        &self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Query,
            self.c.inner.query(statement, params)
        )
    }

    /// `query_one`: exactly one row, else an error.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let n: i64 = client.query_one("SELECT count(*) FROM pg_class", &[]).await?.get(0);
    /// # Ok(()) }
    /// ```
    pub async fn query_one<T>(
        &self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Query,
            self.c.inner.query_one(statement, params)
        )
    }

    /// `query_opt`: zero or one row.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let none = client.query_opt("SELECT 1 WHERE false", &[]).await?;
    /// assert!(none.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn query_opt<T>(
        &self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Query,
            self.c.inner.query_opt(statement, params)
        )
    }

    /// `query_typed`: parameters with their types, no prepare round trip.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// use tokio_postgres::types::Type;
    /// let rows = client.query_typed("SELECT $1", &[(&7i32, Type::INT4)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn query_typed(
        &self,
        statement: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, Error> {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Query,
            self.c.inner.query_typed(statement, params)
        )
    }

    /// `query_raw`: rows as a stream (the request counts as answered once the stream is
    /// returned; drop the stream early and the rest is discarded by the connection).
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let rows = client.query_raw("SELECT 1", [] as [i32; 0]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn query_raw<T, P, I>(
        &self,
        statement: &T,
        params: I,
    ) -> Result<tokio_postgres::RowStream, Error>
    where
        T: ?Sized + AsStatement,
        P: BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
    {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Query,
            self.c.inner.query_raw(statement, params)
        )
    }

    /// `execute`: the number of rows affected.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let n = client.execute("UPDATE t SET x = x + 1", &[]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn execute<T>(
        &self,
        statement: &T,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Execute,
            self.c.inner.execute(statement, params)
        )
    }

    /// `execute_typed`: `execute` with typed parameters, no prepare round trip.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// use tokio_postgres::types::Type;
    /// client.execute_typed("INSERT INTO t VALUES ($1)", &[(&1i32, Type::INT4)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn execute_typed(
        &self,
        statement: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<u64, Error> {
        self.c.track.before_sending(statement);
        tracked!(
            self,
            Operation::Execute,
            self.c.inner.execute_typed(statement, params)
        )
    }

    /// `batch_execute`: statements separated by `;`, through the simple protocol.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// client.batch_execute("CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (1)").await?;
    /// # Ok(()) }
    /// ```
    pub async fn batch_execute(&self, statements: &str) -> Result<(), Error> {
        self.c.track.before_sending(statements);
        tracked!(
            self,
            Operation::Batch,
            self.c.inner.batch_execute(statements)
        )
    }

    /// `simple_query`: the simple protocol's rows, as text.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let messages = client.simple_query("SELECT 1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn simple_query(&self, statements: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        self.c.track.before_sending(statements);
        tracked!(
            self,
            Operation::Batch,
            self.c.inner.simple_query(statements)
        )
    }

    /// `prepare`: a statement prepared on this connection.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let statement = client.prepare("SELECT $1::int").await?;
    /// client.query_one(&statement, &[&1]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn prepare(&self, query: &str) -> Result<Statement, Error> {
        let statement = tracked!(self, Operation::Prepare, self.c.inner.prepare(query))?;
        self.c.track.remember_prepared(query);
        Ok(statement)
    }

    /// `prepare`, cached on this connection: the first call prepares, later ones reuse the
    /// statement; concurrent first calls wait on one `PREPARE`. The cache lives as long as
    /// the connection (a pool keeps it across leases), and is cleared by a reset whose
    /// statements deallocate (`DISCARD ALL`, `DEALLOCATE`).
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let a = client.prepare_cached("SELECT 1").await?;
    /// let b = client.prepare_cached("SELECT 1").await?;
    /// assert_eq!(client.cached_statements(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn prepare_cached(&self, query: &str) -> Result<Statement, Error> {
        match self.c.cache.lookup(query) {
            Ok(statement) => Ok(statement),
            Err(cell) => cell.get_or_try_init(|| self.prepare(query)).await.cloned(),
        }
    }

    /// `copy_in`: a sink for `COPY ... FROM STDIN` data; `finish` it to end the copy.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::SinkExt;
    /// let sink = client.copy_in::<_, bytes::Bytes>("COPY t FROM STDIN").await?;
    /// futures_util::pin_mut!(sink);
    /// sink.send(bytes::Bytes::from_static(b"1\n")).await?;
    /// let rows = sink.finish().await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_in<T, U>(&self, statement: &T) -> Result<CopyInSink<U>, Error>
    where
        T: ?Sized + AsStatement,
        U: bytes::Buf + 'static + Send,
    {
        self.c.track.before_sending(statement);
        tracked!(self, Operation::Copy, self.c.inner.copy_in(statement))
    }

    /// `copy_out`: a stream of `COPY ... TO STDOUT` data.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// let stream = client.copy_out("COPY t TO STDOUT").await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_out<T>(&self, statement: &T) -> Result<CopyOutStream, Error>
    where
        T: ?Sized + AsStatement,
    {
        self.c.track.before_sending(statement);
        tracked!(self, Operation::Copy, self.c.inner.copy_out(statement))
    }

    /// One round trip (`Sync`) to see that the server answers; what a pool's validation
    /// runs.
    ///
    /// ```no_run
    /// # async fn run(client: tenure_postgres::Client) -> Result<(), tenure_postgres::Error> {
    /// client.check_connection().await?;
    /// # Ok(()) }
    /// ```
    pub async fn check_connection(&self) -> Result<(), Error> {
        tracked!(self, Operation::Validate, self.c.inner.check_connection())
    }

    /// A control statement (`BEGIN`, `COMMIT`, ...): the state is `Unknown` from the first
    /// poll until the reply, then `then`; after an error reply, what the server did (see
    /// [`after_error`]).
    pub(crate) async fn control(
        &mut self,
        op: Operation,
        sql: &str,
        then: State,
    ) -> Result<(), Error> {
        let before = self.c.track.state();
        self.c.track.set_state(State::Unknown);
        let guard = self.c.track.request();
        let result = self.c.inner.batch_execute(sql).await;
        guard.done();
        match result {
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

    /// Statements of the return-time reset.
    pub(crate) async fn reset_statements(&self, sql: &str) -> Result<(), Error> {
        tracked!(self, Operation::Reset, self.c.inner.batch_execute(sql))
    }

    /// Sends a cancel request for whatever this connection is running, and returns once
    /// the server has acted on it (see [`CancelStream`]).
    pub(crate) async fn cancel<T: crate::Tls>(&self, mut tls: T) -> Result<(), Error> {
        let other = |e: Box<dyn std::error::Error + Send + Sync>| {
            Error::new(&self.c.target, Operation::Reset, Cause::Other(e))
        };
        let (host, port) = &self.c.cancel_at;
        let stream = CancelStream::connect(host, *port)
            .await
            .map_err(|e| other(e.into()))?;
        let domain = match host {
            Host::Tcp(h) => h.as_str(),
            Host::Unix(_) => "",
        };
        let connector = tls.make_tls_connect(domain).map_err(|e| other(e.into()))?;
        self.c
            .inner
            .cancel_token()
            .cancel_query_raw(stream, connector)
            .await
            .map_err(|e| Error::postgres(&self.c.target, Operation::Reset, e))
    }
}

/// The state after a control statement failed: the server answered, so what it did is
/// known — `COMMIT` and `ROLLBACK` end the transaction either way, a failed `BEGIN` or
/// savepoint statement leaves things as they were — unless the connection was lost, when
/// nothing is known.
pub(crate) fn after_error(op: Operation, e: &Error, before: State) -> State {
    if e.is_connection_lost() || e.code().is_none() {
        return State::Unknown;
    }
    match op {
        Operation::Commit | Operation::Rollback => State::Idle,
        _ => before,
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(task) = &self.c.task {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.c.target)
            .field("state", &self.c.track.state())
            .field("abandoned_request", &self.c.track.abandoned())
            .field("broken", &self.is_broken())
            .finish()
    }
}

/// Closing drops the client — the connection task then says goodbye to the server and
/// ends — and waits for the task, up to 5 s, then aborts it.
impl tenure::AsyncClose for Client {
    type Error = Error;

    async fn close(mut self) -> Result<(), Error> {
        let task = self.c.task.take();
        let target = self.c.target.clone();
        drop(self);
        let Some(mut task) = task else { return Ok(()) };
        match tokio::time::timeout(CLOSE_BOUND, &mut task).await {
            Ok(_) => Ok(()),
            Err(_) => {
                task.abort();
                Err(Error::new(
                    &target,
                    Operation::Close,
                    Cause::TimedOut(CLOSE_BOUND),
                ))
            }
        }
    }
}
