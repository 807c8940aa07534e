//! Helpers shared by the tests: a database file in a temp dir, a pool of it with no
//! background driver (tests run maintenance by hand), and a second raw connection to read
//! back what was committed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tenure::pool::{Pool, PoolConfig};
use tenure_sqlite::{Builder, Manager};

/// A fresh database with a table `t (x INTEGER)`, and a manager of it.
pub fn table_t() -> (tempfile::TempDir, PathBuf, Manager) {
    table_t_with(|builder| builder)
}

/// [`table_t`], its manager's builder first passed through `more` (hooks, settings).
pub fn table_t_with(
    more: impl FnOnce(Builder) -> Builder,
) -> (tempfile::TempDir, PathBuf, Manager) {
    let (dir, path) = db_path();
    let builder =
        Manager::file(&path).init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER)"));
    let manager = more(builder).build().expect("manager");
    (dir, path, manager)
}

/// The rows of `t` committed in the database at `path`, in insertion order.
pub fn rows(path: &Path) -> Vec<i64> {
    let conn = reader(path);
    let mut stmt = conn.prepare("SELECT x FROM t ORDER BY rowid").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A fresh database path in its own temp dir (kept alive by the returned guard).
pub fn db_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.db");
    (dir, path)
}

/// The SQLite pool configuration, without a background driver.
pub fn config(max_size: usize) -> PoolConfig {
    PoolConfig {
        max_size,
        maintenance_interval: None,
        ..tenure_sqlite::pool_config()
    }
}

/// A pool of `builder`'s manager.
pub fn pool(builder: Builder, max_size: usize) -> Pool<Manager> {
    pool_of(builder.build().expect("manager"), max_size)
}

/// A pool of `manager` ([`config`]).
pub fn pool_of(manager: Manager, max_size: usize) -> Pool<Manager> {
    Pool::builder(manager)
        .config(config(max_size))
        .build()
        .expect("pool")
}

/// A connection outside any pool, to read back what was committed.
pub fn reader(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("second connection");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn
}

/// `SELECT count(*) FROM table` on `conn`.
pub fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

/// Waits (up to 10 s) for `done`: a retired connection is closed on a thread of its own,
/// after the caller got its next lease. Returns whether it happened.
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    done()
}
