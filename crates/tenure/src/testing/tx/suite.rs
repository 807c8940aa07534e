//! The conformance suite every [`Transactional`] / [`AsyncTransactional`] adapter runs: a
//! small harness trait the adapter implements ([`Harness`], [`AsyncHarness`]) and one entry
//! point per form ([`run_blocking`], [`run_async`]).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::pool::{Lease, Manager, Pool};
use crate::tx::{
    transaction, transaction_async, AsyncTransactional, Failure, Mode, Options, Retry, Session,
    State, Transactional, Tx,
};

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

fn retry_options(attempts: u32) -> Options {
    Options {
        mode: Mode::Deferred,
        retry: Some(Retry {
            attempts,
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            on_busy: false,
        }),
    }
}

macro_rules! check {
    ($case:expr, $cond:expr, $($msg:tt)+) => {
        assert!($cond, "tx conformance, {}: {}", $case, format!($($msg)+))
    };
}

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
    let mut conn = h.connect();

    // commit
    let before = h.count();
    let r = transaction(&mut conn, |tx| {
        h.insert(tx, 1)?;
        h.insert(tx, 2)?;
        Ok::<_, ErrorOf<H::Conn>>(7)
    });
    check!("commit", matches!(r, Ok(7)), "{:?}", r.err());
    check!("commit", h.count() == before + 2, "2 rows committed");
    check!(
        "commit",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("commit");

    // rollback on error
    let before = h.count();
    let r = transaction(&mut conn, |tx| {
        h.insert(tx, 1).map_err(|_| Refused)?;
        Err::<(), _>(Refused)
    });
    let ok = matches!(&r, Err(e) if matches!(e.failure(), Failure::Body(Refused)) && e.cleanup().is_none());
    check!("rollback on error", ok, "{:?}", r);
    check!(
        "rollback on error",
        h.count() == before,
        "nothing committed"
    );
    check!(
        "rollback on error",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("rollback on error");

    // rollback on panic
    let before = h.count();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = transaction(&mut conn, |tx| {
            h.insert(tx, 1)?;
            if Tx::attempt(tx) > 0 {
                panic!("conformance panic");
            }
            Ok::<_, ErrorOf<H::Conn>>(())
        });
    }));
    let resumed =
        caught.err().and_then(|p| p.downcast_ref::<&str>().copied()) == Some("conformance panic");
    check!("rollback on panic", resumed, "the body's panic resumed");
    check!(
        "rollback on panic",
        h.count() == before,
        "nothing committed"
    );
    check!(
        "rollback on panic",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("rollback on panic");

    // savepoints
    let before = h.count();
    let r = transaction(&mut conn, |tx| {
        h.insert(tx, 1)?;
        let outer = tx.state();
        let inner = transaction(tx, |inner| {
            h.insert(inner, 2).map_err(|_| Refused)?;
            Err::<(), _>(Refused)
        });
        check!("savepoints", inner.is_err(), "the inner body failed");
        check!(
            "savepoints",
            tx.state() == outer,
            "back to {outer} after the inner rollback, not {}",
            tx.state()
        );
        transaction(tx, |inner| {
            h.insert(inner, 3)?;
            transaction(inner, |deepest| h.insert(deepest, 4))
                .map_err(|e| e.into_failure())
                .ok();
            Ok::<_, ErrorOf<H::Conn>>(())
        })
        .ok();
        h.insert(tx, 5)
    });
    check!("savepoints", r.is_ok(), "{:?}", r.err());
    check!(
        "savepoints",
        h.count() == before + 4,
        "rows 1, 3, 4, 5 committed, 2 not: {} new",
        h.count() - before
    );
    s.passed.push("savepoints");

    // a connection not idle
    let before = h.count();
    check!(
        "not idle",
        Transactional::begin(&mut conn, Mode::Deferred).is_ok(),
        "BEGIN by hand"
    );
    let r = transaction(&mut conn, |tx| h.insert(tx, 1));
    let refused = matches!(&r, Err(e) if matches!(e.failure(), Failure::NotReady { expected: State::Idle, .. }));
    check!("not idle", refused, "{:?}", r.err());
    check!(
        "not idle",
        Transactional::rollback(&mut conn).is_ok(),
        "ROLLBACK by hand"
    );
    check!(
        "not idle",
        h.count() == before && conn.state() == State::Idle,
        "nothing committed, idle"
    );
    s.passed.push("not idle");

    // retry
    let before = h.count();
    let mut provoked = true;
    let r = retry_options(3).run(&mut conn, |tx| {
        if Tx::attempt(tx) == 1 {
            match h.conflict(tx) {
                Some(e) => return Err(e),
                None => provoked = false,
            }
        }
        h.insert(tx, 1)?;
        Ok(Tx::attempt(tx))
    });
    if provoked {
        check!("retry", matches!(r, Ok(2)), "retried once: {:?}", r);
        check!(
            "retry",
            h.count() == before + 1,
            "one row, from the second attempt"
        );
        s.passed.push("retry");
        let before = h.count();
        let r = retry_options(3).run(&mut conn, |tx| match h.conflict(tx) {
            Some(e) => Err(e),
            None => Ok(()),
        });
        check!(
            "retries used up",
            matches!(&r, Err(e) if e.attempts() == 3),
            "{:?}",
            r
        );
        check!(
            "retries used up",
            h.count() == before && conn.state() == State::Idle,
            "nothing committed, idle"
        );
        s.passed.push("retries used up");
    } else {
        check!("retry", r.is_ok(), "{:?}", r.err());
        s.skipped
            .push(("retry", "the harness cannot provoke a retryable conflict"));
    }

    // unknown commit
    let mut lost = h.connect();
    if h.lose_next_commit_reply(&mut lost) {
        let r = retry_options(3).run(&mut lost, |tx| h.insert(tx, 1));
        check!(
            "unknown commit",
            matches!(&r, Err(e) if e.is_commit_unknown() && e.attempts() == 1),
            "{:?}",
            r
        );
        check!(
            "unknown commit",
            lost.state() != State::Idle,
            "not idle after a lost COMMIT reply"
        );
        s.passed.push("unknown commit");
    } else {
        s.skipped
            .push(("unknown commit", "the harness cannot lose a COMMIT's reply"));
    }
    drop(lost);

    // a return through the pool in every state
    let pool = h.pool();
    type Leave<H> = fn(&H, &mut <H as Harness>::Conn) -> bool;
    let states: [(&str, Leave<H>); 4] = [
        ("idle", |_, _| true),
        ("in a transaction", |_, c| {
            Transactional::begin(c, Mode::Deferred).is_ok()
        }),
        ("in a savepoint", |_, c| {
            Transactional::begin(c, Mode::Deferred).is_ok() && c.savepoint("conformance").is_ok()
        }),
        ("mid-body", |h, c| {
            Transactional::begin(c, Mode::Immediate).is_ok() && h.insert(c, 1).is_ok()
        }),
    ];
    for (name, leave) in states {
        let before = h.count();
        let mut lease = pool.get_blocking().expect("a lease");
        check!(
            "pool return",
            leave(h, &mut lease),
            "leaving the connection {name}"
        );
        drop(lease);
        let mut lease = pool.get_blocking().expect("the next lease");
        check!(
            "pool return",
            lease.state() == State::Idle,
            "returned {name}, next lease is {}",
            lease.state()
        );
        check!(
            "pool return",
            h.count() == before,
            "returned {name}: nothing committed"
        );
        let r = transaction(&mut *lease, |tx| h.insert(tx, 1));
        check!(
            "pool return",
            r.is_ok() && h.count() == before + 1,
            "the next lease works: {:?}",
            r.err()
        );
    }
    s.passed.push("pool return in every state");
    s
}

/// Polls the inner future; after its `n`th `Pending` gives up (`None`), dropping it.
struct CancelAfter<F> {
    inner: Pin<Box<F>>,
    pendings: usize,
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if self.pendings <= 1 => Poll::Ready(None),
            Poll::Pending => {
                self.pendings -= 1;
                Poll::Pending
            }
        }
    }
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
    let mut conn = h.connect().await;

    // commit
    let before = h.count().await;
    let r = transaction_async(&mut conn, async |tx| {
        h.insert(tx, 1).await?;
        h.insert(tx, 2).await?;
        Ok::<_, ErrorOf<H::Conn>>(7)
    })
    .await;
    check!("commit", matches!(r, Ok(7)), "{:?}", r.err());
    check!("commit", h.count().await == before + 2, "2 rows committed");
    check!(
        "commit",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("commit");

    // rollback on error
    let before = h.count().await;
    let r = transaction_async(&mut conn, async |tx| {
        h.insert(tx, 1).await.map_err(|_| Refused)?;
        Err::<(), _>(Refused)
    })
    .await;
    let ok = matches!(&r, Err(e) if matches!(e.failure(), Failure::Body(Refused)) && e.cleanup().is_none());
    check!("rollback on error", ok, "{:?}", r);
    check!(
        "rollback on error",
        h.count().await == before,
        "nothing committed"
    );
    check!(
        "rollback on error",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("rollback on error");

    // rollback on panic
    let before = h.count().await;
    let caught = CatchPanic(Box::pin(transaction_async(&mut conn, async |tx| {
        h.insert(tx, 1).await?;
        if Tx::attempt(tx) > 0 {
            panic!("conformance panic");
        }
        Ok::<_, ErrorOf<H::Conn>>(())
    })))
    .await;
    let resumed =
        caught.err().and_then(|p| p.downcast_ref::<&str>().copied()) == Some("conformance panic");
    check!("rollback on panic", resumed, "the body's panic resumed");
    check!(
        "rollback on panic",
        h.count().await == before,
        "nothing committed"
    );
    check!(
        "rollback on panic",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("rollback on panic");

    // savepoints
    let before = h.count().await;
    let r = transaction_async(&mut conn, async |tx| {
        h.insert(tx, 1).await?;
        let outer = tx.state();
        let inner = transaction_async(tx, async |inner| {
            h.insert(inner, 2).await.map_err(|_| Refused)?;
            Err::<(), _>(Refused)
        })
        .await;
        check!("savepoints", inner.is_err(), "the inner body failed");
        check!(
            "savepoints",
            tx.state() == outer,
            "back to {outer} after the inner rollback, not {}",
            tx.state()
        );
        let _ = transaction_async(tx, async |inner| {
            h.insert(inner, 3).await?;
            let _ = transaction_async(inner, async |deepest| h.insert(deepest, 4).await).await;
            Ok::<_, ErrorOf<H::Conn>>(())
        })
        .await;
        h.insert(tx, 5).await
    })
    .await;
    check!("savepoints", r.is_ok(), "{:?}", r.err());
    check!(
        "savepoints",
        h.count().await == before + 4,
        "rows 1, 3, 4, 5 committed, 2 not"
    );
    s.passed.push("savepoints");

    // a connection not idle
    let before = h.count().await;
    check!(
        "not idle",
        AsyncTransactional::begin(&mut conn, Mode::Deferred)
            .await
            .is_ok(),
        "BEGIN by hand"
    );
    let r = transaction_async(&mut conn, async |tx| h.insert(tx, 1).await).await;
    let refused = matches!(&r, Err(e) if matches!(e.failure(), Failure::NotReady { expected: State::Idle, .. }));
    check!("not idle", refused, "{:?}", r.err());
    check!(
        "not idle",
        AsyncTransactional::rollback(&mut conn).await.is_ok(),
        "ROLLBACK by hand"
    );
    check!(
        "not idle",
        h.count().await == before && conn.state() == State::Idle,
        "nothing committed, idle"
    );
    s.passed.push("not idle");

    // retry
    let before = h.count().await;
    let mut provoked = true;
    let r = retry_options(3)
        .run_async(&mut conn, async |tx| {
            if Tx::attempt(tx) == 1 {
                match h.conflict(tx).await {
                    Some(e) => return Err(e),
                    None => provoked = false,
                }
            }
            h.insert(tx, 1).await?;
            Ok(Tx::attempt(tx))
        })
        .await;
    if provoked {
        check!("retry", matches!(r, Ok(2)), "retried once: {:?}", r);
        check!(
            "retry",
            h.count().await == before + 1,
            "one row, from the second attempt"
        );
        s.passed.push("retry");
        let before = h.count().await;
        let r = retry_options(3)
            .run_async(&mut conn, async |tx| match h.conflict(tx).await {
                Some(e) => Err(e),
                None => Ok(()),
            })
            .await;
        check!(
            "retries used up",
            matches!(&r, Err(e) if e.attempts() == 3),
            "{:?}",
            r
        );
        check!(
            "retries used up",
            h.count().await == before && conn.state() == State::Idle,
            "nothing committed, idle"
        );
        s.passed.push("retries used up");
    } else {
        check!("retry", r.is_ok(), "{:?}", r.err());
        s.skipped
            .push(("retry", "the harness cannot provoke a retryable conflict"));
    }

    // unknown commit
    let mut lost = h.connect().await;
    if h.lose_next_commit_reply(&mut lost) {
        let r = retry_options(3)
            .run_async(&mut lost, async |tx| h.insert(tx, 1).await)
            .await;
        check!(
            "unknown commit",
            matches!(&r, Err(e) if e.is_commit_unknown() && e.attempts() == 1),
            "{:?}",
            r
        );
        check!(
            "unknown commit",
            lost.state() != State::Idle,
            "not idle after a lost COMMIT reply"
        );
        s.passed.push("unknown commit");
    } else {
        s.skipped
            .push(("unknown commit", "the harness cannot lose a COMMIT's reply"));
    }
    drop(lost);

    // a return through the pool in every state
    let pool = h.pool();
    for name in ["idle", "in a transaction", "in a savepoint", "mid-body"] {
        let before = h.count().await;
        let mut lent = H::lend(pool.get().await.expect("a lease"));
        let c: &mut H::Conn = lent.conn();
        let left = match name {
            "idle" => true,
            "in a transaction" => AsyncTransactional::begin(c, Mode::Deferred).await.is_ok(),
            "in a savepoint" => {
                AsyncTransactional::begin(c, Mode::Deferred).await.is_ok()
                    && c.savepoint("conformance").await.is_ok()
            }
            _ => {
                AsyncTransactional::begin(c, Mode::Immediate).await.is_ok()
                    && h.insert(c, 1).await.is_ok()
            }
        };
        check!("pool return", left, "leaving the connection {name}");
        drop(lent);
        let mut lent = H::lend(pool.get().await.expect("the next lease"));
        let state = lent.conn().state();
        check!(
            "pool return",
            state == State::Idle,
            "returned {name}, next lease is {state}"
        );
        check!(
            "pool return",
            h.count().await == before,
            "returned {name}: nothing committed"
        );
        let r = transaction_async(lent.conn(), async |tx| h.insert(tx, 1).await).await;
        check!(
            "pool return",
            r.is_ok(),
            "the next lease works: {:?}",
            r.err()
        );
        check!(
            "pool return",
            h.count().await == before + 1,
            "the next lease commits"
        );
    }
    s.passed.push("pool return in every state");

    // cancellation at every await point, through the pool
    let mut k = 1;
    loop {
        let before = h.count().await;
        let mut lent = H::lend(pool.get().await.expect("a lease"));
        let done = CancelAfter {
            inner: Box::pin(transaction_async(lent.conn(), async |tx| {
                h.insert(tx, 1).await?;
                h.insert(tx, 2).await?;
                Ok::<_, ErrorOf<H::Conn>>(())
            })),
            pendings: k,
        }
        .await;
        let completed = matches!(done, Some(Ok(())));
        check!(
            "cancellation",
            done.as_ref().is_none_or(Result::is_ok),
            "{:?}",
            done.and_then(Result::err)
        );
        if done.is_none() {
            check!("cancellation", lent.conn().state() != State::Idle || h.count().await != before,
                "dropped after {k} pending polls: idle, yet nothing committed: was the transaction ever begun?");
        }
        drop(lent);
        let mut lent = H::lend(pool.get().await.expect("the next lease"));
        let state = lent.conn().state();
        check!(
            "cancellation",
            state == State::Idle,
            "dropped after {k} pending polls: next lease is {state}"
        );
        let after = h.count().await;
        check!(
            "cancellation",
            after == before || after == before + 2,
            "dropped after {k} pending polls: {} rows committed (both or neither)",
            after - before
        );
        drop(lent);
        if completed {
            break;
        }
        k += 1;
        check!(
            "cancellation",
            k < 10_000,
            "the transaction never completed"
        );
    }
    s.passed.push("cancellation at every await point");
    s
}

/// Awaits the inner future, catching its panic.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}
