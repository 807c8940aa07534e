//! The conformance suite every [`Transactional`] / [`AsyncTransactional`] adapter runs: a
//! small harness trait the adapter implements ([`Harness`], [`AsyncHarness`]) and one entry
//! point per form ([`run_blocking`], [`run_async`]). The cases are written once
//! (`cases.rs`: each one's plan and expectations) and driven by a form (`forms.rs`:
//! blocking or async).

mod cases;
mod forms;

use std::fmt;
use std::future::Future;

use crate::pool::{Lease, Manager, Pool};
use crate::tx::{AsyncTransactional, Session, Transactional};

/// The adapter's error type of a harness's connection.
pub type ErrorOf<C> = <C as Session>::Error;

/// What a blocking adapter gives the suite ([`run_blocking`]): connections to a test
/// database with a table of rows, a way to write one and to count the committed ones, a
/// retryable conflict where the backend can make one, and a pool.
///
/// Rows are counted before and after each case, so the table need not start empty, but
/// nothing else may write to it while the suite runs.
pub trait Harness {
    /// The connection under test.
    type Conn: Transactional;
    /// The adapter's pool manager, whose resource is that connection.
    type Manager: Manager<Resource = Self::Conn>;

    /// A new connection to the test database.
    fn connect(&self) -> Self::Conn;

    /// Writes one row (`value`) through `conn` (inside the open transaction, if any).
    fn insert(&self, conn: &mut Self::Conn, value: i64) -> Result<(), ErrorOf<Self::Conn>>;

    /// How many rows are committed, read through a connection of its own.
    fn count(&self) -> usize;

    /// Called inside a transaction body on `conn`: makes the transaction fail with an error
    /// the adapter classifies as retryable ([`Class::Serialization`](crate::tx::Class::Serialization),
    /// `Deadlock` or `BusySnapshot`) and returns it — typically it reads, commits a
    /// conflicting write from another connection, then writes. The conflicting write must
    /// not change [`count`](Harness::count) (write it to another table). `None` when the
    /// backend cannot: the retry cases are then skipped (and listed as such).
    fn conflict(&self, conn: &mut Self::Conn) -> Option<ErrorOf<Self::Conn>>;

    /// A pool of this adapter's connections to the test database, at most one connection
    /// (so a lease returned in some state is the next one lent), built with
    /// [`Pool::builder`].
    fn pool(&self) -> Pool<Self::Manager>;

    /// Arranges for the next `COMMIT` on `conn` to reach the server and its reply to be
    /// lost (the connection dropped after sending it). `false` (the default) when the
    /// adapter cannot: the unknown-commit case is skipped.
    fn lose_next_commit_reply(&self, conn: &mut Self::Conn) -> bool {
        let _ = conn;
        false
    }
}

/// [`Harness`] for an async adapter ([`run_async`]).
///
/// An async adapter's connection is either the pool's resource itself (a PostgreSQL
/// client, the scripted connection: [`Lent`](AsyncHarness::Lent) is the
/// [`Lease`]) or a handle over a lease (SQLite's, which moves the lease to a blocking thread
/// for each statement): [`lend`](AsyncHarness::lend) turns a lease into what the suite
/// drives.
pub trait AsyncHarness: Sync {
    /// The connection under test.
    type Conn: AsyncTransactional;
    /// The adapter's pool manager.
    type Manager: Manager;
    /// A lease as the suite drives it: the [`Lease`] itself when the pool's resource is
    /// [`Conn`](AsyncHarness::Conn), else the adapter's handle over it.
    type Lent: Lent<Self::Conn>;

    /// Turns a lease of [`pool`](AsyncHarness::pool) into the connection the suite drives;
    /// dropping what it returns gives the lease back.
    fn lend(lease: Lease<Self::Manager>) -> Self::Lent;

    /// A new connection to the test database.
    fn connect(&self) -> impl Future<Output = Self::Conn> + Send;

    /// Writes one row (`value`) through `conn`.
    fn insert(
        &self,
        conn: &mut Self::Conn,
        value: i64,
    ) -> impl Future<Output = Result<(), ErrorOf<Self::Conn>>> + Send;

    /// How many rows are committed, read through a connection of its own.
    fn count(&self) -> impl Future<Output = usize> + Send;

    /// See [`Harness::conflict`].
    fn conflict(
        &self,
        conn: &mut Self::Conn,
    ) -> impl Future<Output = Option<ErrorOf<Self::Conn>>> + Send;

    /// See [`Harness::pool`].
    fn pool(&self) -> Pool<Self::Manager>;

    /// See [`Harness::lose_next_commit_reply`].
    fn lose_next_commit_reply(&self, conn: &mut Self::Conn) -> bool {
        let _ = conn;
        false
    }
}

/// A pooled connection as the suite drives it ([`AsyncHarness::Lent`]): a [`Lease`] of
/// the connection, or the connection itself (an adapter's handle that owns its lease).
///
/// ```
/// use tenure::testing::tx::{Lent, ScriptedConnection, Server};
/// let mut conn = Server::new().connect();
/// let _: &mut ScriptedConnection = Lent::conn(&mut conn);
/// ```
pub trait Lent<C>: Send {
    /// The connection.
    fn conn(&mut self) -> &mut C;
}

impl<M: Manager> Lent<M::Resource> for Lease<M>
where
    M::Resource: Send,
{
    fn conn(&mut self) -> &mut M::Resource {
        self
    }
}

impl<C: AsyncTransactional> Lent<C> for C {
    fn conn(&mut self) -> &mut C {
        self
    }
}

/// Which cases ran and which were skipped (the harness could not provoke what they need).
///
/// ```
/// let s = tenure::testing::tx::Summary::default();
/// assert_eq!(s.to_string(), "0 cases passed, 0 skipped");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The cases that ran and passed.
    pub passed: Vec<&'static str>,
    /// The cases skipped, with why.
    pub skipped: Vec<(&'static str, &'static str)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases passed, {} skipped",
            self.passed.len(),
            self.skipped.len()
        )?;
        for (case, why) in &self.skipped {
            write!(f, "\n  skipped {case}: {why}")?;
        }
        Ok(())
    }
}

/// The error a conformance body fails with on purpose.
#[derive(Debug, thiserror::Error)]
#[error("the conformance body failed on purpose")]
pub struct Refused;

/// Runs the conformance suite on a blocking adapter; panics, naming the case, at the first
/// failure. Cases: commit; rollback on error and on panic; nested transactions (a failed
/// one leaves the outer usable); a connection not idle refused; retry (a conflict retried,
/// then retries used up); an unknown commit; a pooled connection returned idle, in a
/// transaction, in a savepoint and mid-body: the next lease is `Idle` and nothing of it
/// was committed.
///
/// An adapter's test implements [`Harness`] and calls this; here on tenure's own scripted
/// connection (an adapter's `conflict` and `count` talk to its database instead):
///
/// ```
/// use tenure::pool::{Pool, PoolConfig};
/// use tenure::testing::tx::{run_blocking, Harness, Rejection, ScriptedConnection, ScriptedError, ScriptedManager, Server};
/// use tenure::testing::Op;
/// use tenure::tx::Class;
///
/// struct Scripted(Server);
///
/// impl Harness for Scripted {
///     type Conn = ScriptedConnection;
///     type Manager = ScriptedManager;
///     fn connect(&self) -> ScriptedConnection { self.0.connect() }
///     fn insert(&self, conn: &mut ScriptedConnection, v: i64) -> Result<(), ScriptedError> { conn.insert(v) }
///     fn count(&self) -> usize { self.0.rows().len() }
///     fn conflict(&self, conn: &mut ScriptedConnection) -> Option<ScriptedError> {
///         conn.reject_next(Op::Statement, Rejection::new(Class::Serialization));
///         conn.insert(0).err()
///     }
///     fn pool(&self) -> Pool<ScriptedManager> {
///         let config = PoolConfig { max_size: 1, ..PoolConfig::default() };
///         Pool::builder(ScriptedManager::new(&self.0)).config(config).build().unwrap()
///     }
/// }
///
/// let summary = run_blocking(&Scripted(Server::new()));
/// assert_eq!(summary.skipped, [("unknown commit", "the harness cannot lose a COMMIT's reply")]);
/// ```
pub fn run_blocking<H: Harness>(h: &H) -> Summary {
    let mut s = Summary::default();
    forms::block_on(cases::cases(&forms::Blocking::new(h), &mut s));
    s
}

/// [`run_blocking`] for an async adapter, plus cancellation: a transaction of two writes
/// dropped after each of its pending polls in turn, from the first until it completes,
/// through the pool — each time, the next lease is `Idle` and the writes are committed
/// both or neither. Run it inside a tokio runtime (the pool's work runs on it).
///
/// ```
/// use tenure::pool::{Lease, Pool, PoolConfig};
/// use tenure::testing::tx::{run_async, AsyncHarness, Rejection, ScriptedConnection, ScriptedError, ScriptedManager, Server};
/// use tenure::testing::Op;
/// use tenure::tx::Class;
///
/// struct Scripted(Server);
///
/// impl AsyncHarness for Scripted {
///     type Conn = ScriptedConnection;
///     type Manager = ScriptedManager;
///     type Lent = Lease<ScriptedManager>; // the pool's resource is the connection
///     fn lend(lease: Lease<ScriptedManager>) -> Self::Lent { lease }
///     async fn connect(&self) -> ScriptedConnection { self.0.connect() }
///     async fn insert(&self, conn: &mut ScriptedConnection, v: i64) -> Result<(), ScriptedError> {
///         conn.insert_async(v).await
///     }
///     async fn count(&self) -> usize { self.0.rows().len() }
///     async fn conflict(&self, conn: &mut ScriptedConnection) -> Option<ScriptedError> {
///         conn.reject_next(Op::Statement, Rejection::new(Class::Deadlock));
///         conn.insert_async(0).await.err()
///     }
///     fn pool(&self) -> Pool<ScriptedManager> {
///         let config = PoolConfig { max_size: 1, ..PoolConfig::default() };
///         Pool::builder(ScriptedManager::new(&self.0)).config(config).build().unwrap()
///     }
/// }
///
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() {
/// let summary = run_async(&Scripted(Server::new())).await;
/// assert!(summary.passed.contains(&"cancellation at every await point"), "{summary}");
/// # }
/// ```
pub async fn run_async<H: AsyncHarness>(h: &H) -> Summary {
    let mut s = Summary::default();
    let form = forms::Async::new(h);
    cases::cases(&form, &mut s).await;
    cases::cancellation(&form, &mut s).await;
    s
}
