//! The `tx` conformance suite (`tenure::testing::tx::run_blocking` / `run_async`) on the
//! scripted connection, every case included; and the in-flight cases only a scripted
//! connection can stage exactly: `BEGIN` and `COMMIT` dropped after they reached the
//! server, a reply lost, a reset that cannot roll back — each time, the pool's next lease
//! is `Idle` and only what was committed is in the table.
#![cfg(all(feature = "testing", feature = "pool", feature = "tokio"))]

use tenure::pool::{Lease, Pool, PoolConfig};
use tenure::testing::tx::{
    run_async, run_blocking, AsyncHarness, CancelAfter, Harness, Rejection, ScriptedConnection,
    ScriptedError, ScriptedManager, Server,
};
use tenure::testing::{Fault, Faults, Op};
use tenure::tx::{transaction_async, Class, Session, State};

struct Scripted {
    server: Server,
}

impl Scripted {
    fn new() -> Self {
        Scripted {
            server: Server::new(),
        }
    }

    fn pool_of(&self, faults: Faults) -> Pool<ScriptedManager> {
        Pool::builder(ScriptedManager::with_faults(&self.server, faults))
            .config(PoolConfig {
                max_size: 1,
                ..PoolConfig::default()
            })
            .build()
            .unwrap()
    }

    fn conflict(conn: &mut ScriptedConnection) -> Option<ScriptedError> {
        conn.reject_next(Op::Statement, Rejection::new(Class::Serialization));
        Some(conn.insert(0).expect_err("rejected"))
    }

    fn lose_next_commit_reply(conn: &mut ScriptedConnection) -> bool {
        let n = conn.faults().count(Op::Commit, "conn");
        conn.faults().fail_nth(Op::Commit, "conn", n + 1);
        true
    }
}

impl Harness for Scripted {
    type Conn = ScriptedConnection;
    type Manager = ScriptedManager;

    fn connect(&self) -> ScriptedConnection {
        self.server.connect()
    }
    fn insert(&self, conn: &mut ScriptedConnection, value: i64) -> Result<(), ScriptedError> {
        conn.insert(value)
    }
    fn count(&self) -> usize {
        self.server.rows().len()
    }
    fn conflict(&self, conn: &mut ScriptedConnection) -> Option<ScriptedError> {
        Self::conflict(conn)
    }
    fn pool(&self) -> Pool<ScriptedManager> {
        self.pool_of(Faults::new())
    }
    fn lose_next_commit_reply(&self, conn: &mut ScriptedConnection) -> bool {
        Self::lose_next_commit_reply(conn)
    }
}

impl AsyncHarness for Scripted {
    type Conn = ScriptedConnection;
    type Manager = ScriptedManager;
    type Lent = Lease<ScriptedManager>;

    fn lend(lease: Lease<ScriptedManager>) -> Self::Lent {
        lease
    }

    async fn connect(&self) -> ScriptedConnection {
        self.server.connect()
    }
    async fn insert(&self, conn: &mut ScriptedConnection, value: i64) -> Result<(), ScriptedError> {
        conn.insert_async(value).await
    }
    async fn count(&self) -> usize {
        self.server.rows().len()
    }
    async fn conflict(&self, conn: &mut ScriptedConnection) -> Option<ScriptedError> {
        Self::conflict(conn)
    }
    fn pool(&self) -> Pool<ScriptedManager> {
        self.pool_of(Faults::new())
    }
    fn lose_next_commit_reply(&self, conn: &mut ScriptedConnection) -> bool {
        Self::lose_next_commit_reply(conn)
    }
}

#[test]
fn the_blocking_suite_passes_on_the_scripted_connection() {
    let summary = run_blocking(&Scripted::new());
    assert!(summary.skipped.is_empty(), "{summary}");
    assert_eq!(summary.passed.len(), 9, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_suite_passes_on_the_scripted_connection() {
    let summary = run_async(&Scripted::new()).await;
    assert!(summary.skipped.is_empty(), "{summary}");
    assert_eq!(summary.passed.len(), 10, "{summary}");
}

/// A harness whose pool never resets: a connection returned inside a transaction is lent
/// inside it. The suite must catch it.
#[test]
fn the_suite_fails_an_adapter_whose_pool_lends_an_open_transaction() {
    struct NoReset(Scripted);
    impl Harness for NoReset {
        type Conn = ScriptedConnection;
        type Manager = Forgetful;
        fn connect(&self) -> ScriptedConnection {
            self.0.server.connect()
        }
        fn insert(&self, c: &mut ScriptedConnection, v: i64) -> Result<(), ScriptedError> {
            c.insert(v)
        }
        fn count(&self) -> usize {
            self.0.server.rows().len()
        }
        fn conflict(&self, c: &mut ScriptedConnection) -> Option<ScriptedError> {
            Scripted::conflict(c)
        }
        fn pool(&self) -> Pool<Forgetful> {
            Pool::builder(Forgetful(ScriptedManager::new(&self.0.server)))
                .config(PoolConfig {
                    max_size: 1,
                    ..PoolConfig::default()
                })
                .build()
                .unwrap()
        }
    }
    /// A manager that never resets.
    struct Forgetful(ScriptedManager);
    impl tenure::pool::Manager for Forgetful {
        type Resource = ScriptedConnection;
        type Error = ScriptedError;
        const ASYNC: bool = false;
        fn create(&self) -> tenure::pool::Work<Result<ScriptedConnection, ScriptedError>> {
            self.0.create()
        }
        fn close(
            &self,
            c: ScriptedConnection,
        ) -> tenure::pool::Work<Result<(), tenure::error::BoxError>> {
            self.0.close(c)
        }
    }
    let failed = std::panic::catch_unwind(|| run_blocking(&NoReset(Scripted::new()))).unwrap_err();
    let msg = failed.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("tx conformance, pool return: returned in a transaction, next lease is in a transaction"),
        "{msg}"
    );
}

/// Drops a transaction of two inserts after `k` pending polls on a pooled connection;
/// returns the server's log at the drop, then checks the next lease.
async fn drop_after(k: usize) -> (Vec<String>, Server) {
    let h = Scripted::new();
    let pool = h.pool_of(Faults::new());
    let mut lease = pool.get().await.unwrap();
    let done = CancelAfter::new(
        transaction_async(&mut *lease, async |tx| {
            tx.insert_async(1).await?;
            tx.insert_async(2).await
        }),
        k,
    )
    .await;
    assert!(done.is_none());
    let log = h.server.log();
    drop(lease);
    let lease = pool.get().await.unwrap();
    assert_eq!(lease.state(), State::Idle);
    assert_eq!(h.server.open_transactions(), 0);
    (log, h.server.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_dropped_mid_reply_is_rolled_back_by_the_pool() {
    // Pending 1: BEGIN's request; 2: its reply (BEGIN reached the server).
    let (log, server) = drop_after(2).await;
    assert_eq!(log, ["BEGIN"]);
    assert_eq!(server.log(), ["BEGIN", "ROLLBACK"]);
    assert!(server.rows().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_dropped_before_it_was_sent_leaves_unknown_and_the_reset_finds_nothing() {
    let (log, server) = drop_after(1).await;
    assert!(log.is_empty());
    // The reset's ROLLBACK is answered "no transaction is active": fine, and Idle.
    assert_eq!(server.log(), ["ROLLBACK"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_dropped_mid_reply_committed_and_the_next_lease_is_idle() {
    // BEGIN 2, INSERT 2 + 2, COMMIT's request 7, its reply 8.
    let (log, server) = drop_after(8).await;
    assert_eq!(log, ["BEGIN", "INSERT 1", "INSERT 2", "COMMIT"]);
    assert_eq!(server.rows(), [1, 2]);
    assert_eq!(server.log().last().unwrap(), "ROLLBACK"); // answered: no transaction
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_dropped_before_it_was_sent_commits_nothing() {
    let (log, server) = drop_after(7).await;
    assert_eq!(log, ["BEGIN", "INSERT 1", "INSERT 2"]);
    assert!(server.rows().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_is_retired_and_a_failed_reset_too() {
    let h = Scripted::new();
    let faults = Faults::new();
    faults.fail_nth(Op::Commit, "conn", 1); // the COMMIT's reply is lost
    faults.inject(Op::Rollback, "conn", 1, Fault::Error); // the first reset's too
    let pool = h.pool_of(faults);

    let mut lease = pool.get().await.unwrap();
    let err = transaction_async(&mut *lease, async |tx| tx.insert_async(1).await)
        .await
        .unwrap_err();
    assert!(err.is_commit_unknown());
    drop(lease); // lost: broken, retired
    let mut lease = pool.get().await.unwrap();
    assert_eq!(lease.state(), State::Idle);
    assert_eq!(h.server.rows(), [1]);

    tenure::tx::AsyncTransactional::begin(&mut *lease, tenure::tx::Mode::Deferred)
        .await
        .unwrap();
    drop(lease); // its reset loses the connection: retired, not lent
    let lease = pool.get().await.unwrap();
    assert_eq!(lease.state(), State::Idle);
    assert_eq!(h.server.open_transactions(), 0);
    assert_eq!(pool.statistics().created, 3);
}
