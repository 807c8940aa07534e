//! `tenure::testing::tx`'s conformance suite on SQLite, both forms, every outcome read back
//! from a second connection: the blocking form on [`Connection`], the async form on
//! [`AsyncConnection`] (each statement one `run`; the suite lends it a lease of the pool).
//! The retry cases run on a real `SQLITE_BUSY_SNAPSHOT`.
//!
//! One case cannot apply to SQLite and is skipped, in both forms: "unknown commit" needs a
//! `COMMIT` that reached the database and whose reply was lost. SQLite is a library in this
//! process, not a server at the end of a connection: `COMMIT` runs to completion on the
//! calling thread and returns its result, so there is no reply to lose (a step whose future
//! is dropped finishes on its thread, and the pool's reset then cleans the connection —
//! the suite's cancellation case covers that).

mod common;

use std::path::PathBuf;
use std::sync::Mutex;

use tenure::pool::{Lease, Pool};
use tenure::testing::tx::{run_async, run_blocking, AsyncHarness, Harness, Summary};
use tenure_sqlite::{AsyncConnection, Connection, Error, Manager};

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
    manager: Manager,
    /// Commits the conflicting writes (to another table: the count does not change).
    other: Mutex<rusqlite::Connection>,
}

impl Sqlite {
    fn new() -> Self {
        let (dir, path) = common::db_path();
        let manager = Manager::file(&path)
            .init(|c| {
                c.execute_batch(
                    "CREATE TABLE IF NOT EXISTS t (x INTEGER);
                     CREATE TABLE IF NOT EXISTS other (x INTEGER);",
                )
            })
            .build()
            .unwrap();
        drop(manager.open().unwrap()); // the schema
        let other = Mutex::new(common::reader(&path));
        Sqlite {
            _dir: dir,
            path,
            manager,
            other,
        }
    }

    fn count(&self) -> usize {
        common::count(&common::reader(&self.path), "t") as usize
    }

    /// Commits a write from another connection, so that a deferred transaction that has
    /// read and then writes gets `SQLITE_BUSY_SNAPSHOT`.
    fn commit_elsewhere(&self) {
        self.other
            .lock()
            .unwrap()
            .execute("INSERT INTO other VALUES (1)", [])
            .unwrap();
    }

    fn pool(&self) -> Pool<Manager> {
        common::pool_of(self.manager.clone(), 1)
    }
}

const READ: &str = "SELECT count(*) FROM t";

fn read(c: &rusqlite::Connection) -> rusqlite::Result<i64> {
    c.query_row(READ, [], |r| r.get(0))
}

fn insert(c: &rusqlite::Connection, value: i64) -> rusqlite::Result<()> {
    c.execute("INSERT INTO t VALUES (?1)", [value]).map(drop)
}

fn busy_snapshot(err: Error) -> Option<Error> {
    assert!(err.is_busy_snapshot(), "{err:?}");
    Some(err)
}

impl Harness for Sqlite {
    type Conn = Connection;
    type Manager = Manager;

    fn connect(&self) -> Connection {
        self.manager.open().unwrap()
    }

    fn insert(&self, conn: &mut Connection, value: i64) -> Result<(), Error> {
        Ok(insert(conn, value)?)
    }

    fn count(&self) -> usize {
        self.count()
    }

    fn conflict(&self, conn: &mut Connection) -> Option<Error> {
        // Read (the deferred transaction takes its snapshot), let another connection
        // commit, then write.
        read(conn).unwrap();
        self.commit_elsewhere();
        busy_snapshot(Error::from(insert(conn, 0).unwrap_err()))
    }

    fn pool(&self) -> Pool<Manager> {
        self.pool()
    }
}

/// The async form: its connections are `AsyncConnection`s over leases of a pool of their
/// own (the suite holds two at once), its pooled ones over leases of [`Sqlite::pool`].
struct AsyncSqlite {
    sqlite: Sqlite,
    connections: Pool<Manager>,
}

impl AsyncHarness for AsyncSqlite {
    type Conn = AsyncConnection;
    type Manager = Manager;
    type Lent = AsyncConnection;

    fn lend(lease: Lease<Manager>) -> AsyncConnection {
        AsyncConnection::new(lease)
    }

    async fn connect(&self) -> AsyncConnection {
        AsyncConnection::new(self.connections.get().await.unwrap())
    }

    async fn insert(&self, conn: &mut AsyncConnection, value: i64) -> Result<(), Error> {
        conn.run(move |c| insert(c, value)).await
    }

    async fn count(&self) -> usize {
        self.sqlite.count()
    }

    async fn conflict(&self, conn: &mut AsyncConnection) -> Option<Error> {
        conn.run(|c| read(c)).await.unwrap();
        self.sqlite.commit_elsewhere();
        busy_snapshot(conn.run(|c| insert(c, 0)).await.unwrap_err())
    }

    fn pool(&self) -> Pool<Manager> {
        self.sqlite.pool()
    }
}

/// Every case but "unknown commit" passed, and that one was skipped (see the module docs).
fn all_but_the_unknown_commit(summary: &Summary, cases: usize) {
    assert_eq!(
        summary.skipped,
        [("unknown commit", "the harness cannot lose a COMMIT's reply")],
        "{summary}"
    );
    assert_eq!(summary.passed.len(), cases, "{summary}");
}

#[test]
fn the_blocking_suite_passes_on_sqlite() {
    let summary = run_blocking(&Sqlite::new());
    all_but_the_unknown_commit(&summary, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_suite_passes_on_sqlite_async_connections() {
    let sqlite = Sqlite::new();
    let connections = common::pool_of(sqlite.manager.clone(), 4);
    let summary = run_async(&AsyncSqlite {
        sqlite,
        connections,
    })
    .await;
    all_but_the_unknown_commit(&summary, 9);
    assert!(
        summary
            .passed
            .contains(&"cancellation at every await point"),
        "{summary}"
    );
}
