//! Each setting at the scope SQLite keeps it: WAL is stored in the file and set once, when
//! the manager is built; `busy_timeout`, `foreign_keys`, `synchronous` and the statement
//! cache are per connection, so every connection the pool creates has them.

mod common;

use std::time::Duration;

use tenure_sqlite::{Manager, Synchronous};

#[test]
fn wal_is_set_in_the_file_when_the_manager_is_built() {
    let (_dir, path) = common::db_path();
    let _manager = Manager::file(&path).build().unwrap();
    // A plain connection that never heard of the manager sees WAL: it is in the file.
    let mode: String = common::reader(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn wal_off_leaves_the_journal_mode_alone() {
    let (_dir, path) = common::db_path();
    let manager = Manager::file(&path).wal(false).build().unwrap();
    let mode: String = manager
        .open()
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
}

#[test]
fn every_pooled_connection_gets_the_per_connection_settings() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(
        Manager::file(&path)
            .busy_timeout(Duration::from_millis(1234))
            .synchronous(Synchronous::Normal)
            .statement_cache_capacity(7),
        3,
    );
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    for conn in &leases {
        let busy: i64 = conn
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!((busy, fk, sync), (1234, 1, 1)); // NORMAL is 1
    }
}

#[test]
fn the_defaults_are_five_seconds_foreign_keys_on_and_sqlites_synchronous() {
    let (_dir, path) = common::db_path();
    let conn = Manager::file(&path).build().unwrap().open().unwrap();
    let busy: i64 = conn
        .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
        .unwrap();
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((busy, fk, sync), (5000, 1, 2)); // FULL is 2
}

#[test]
fn foreign_keys_are_enforced() {
    let conn = Manager::memory("settings-fk")
        .build()
        .unwrap()
        .open()
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (parent INTEGER REFERENCES parent(id))",
    )
    .unwrap();
    let err = conn
        .execute("INSERT INTO child VALUES (99)", [])
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
}
