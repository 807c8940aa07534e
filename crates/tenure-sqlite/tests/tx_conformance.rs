//! `tenure::testing::tx`'s conformance suite on SQLite (the blocking form): commit,
//! rollback on error and panic, savepoints, a connection not idle, retry on a real
//! `SQLITE_BUSY_SNAPSHOT` and retries used up, a pooled connection returned in every
//! transaction state — every outcome read back from a second connection. (SQLite runs its
//! statements to completion, so a `COMMIT` whose reply is lost cannot happen: that case is
//! skipped.) The async form is covered by `async_transactions.rs` on `AsyncConnection`.

mod common;

use std::path::PathBuf;

use tenure::pool::Pool;
use tenure::testing::tx::{run_blocking, Harness};
use tenure_sqlite::{Connection, Error, Manager};

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
    manager: Manager,
    /// Commits the conflicting writes (to another table: the count does not change).
    other: rusqlite::Connection,
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
        let other = common::reader(&path);
        Sqlite {
            _dir: dir,
            path,
            manager,
            other,
        }
    }
}

impl Harness for Sqlite {
    type Conn = Connection;
    type Manager = Manager;

    fn connect(&self) -> Connection {
        self.manager.open().unwrap()
    }

    fn insert(&self, conn: &mut Connection, value: i64) -> Result<(), Error> {
        conn.execute("INSERT INTO t VALUES (?1)", [value])?;
        Ok(())
    }

    fn count(&self) -> usize {
        common::count(&common::reader(&self.path), "t") as usize
    }

    fn conflict(&self, conn: &mut Connection) -> Option<Error> {
        // Read (the deferred transaction takes its snapshot), let another connection
        // commit, then write: SQLITE_BUSY_SNAPSHOT.
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap();
        self.other
            .execute("INSERT INTO other VALUES (1)", [])
            .unwrap();
        let err = Error::from(conn.execute("INSERT INTO t VALUES (0)", []).unwrap_err());
        assert!(err.is_busy_snapshot(), "{err:?}");
        Some(err)
    }

    fn pool(&self) -> Pool<Manager> {
        Pool::builder(self.manager.clone())
            .config(common::config(1))
            .build()
            .unwrap()
    }
}

#[test]
fn the_conformance_suite_passes_on_sqlite() {
    let summary = run_blocking(&Sqlite::new());
    assert!(
        summary
            .skipped
            .iter()
            .all(|(case, _)| *case == "unknown commit"),
        "{summary}"
    );
    eprintln!("{summary}");
}
