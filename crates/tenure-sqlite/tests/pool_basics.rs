//! The pool basics r2d2_sqlite's and deadpool-sqlite's tests pin, ported: two holders get
//! two connections, a checkout check works, a directory is not a database, read-only
//! connections refuse writes, the init hook runs on every connection, a named in-memory
//! database is shared by its connections (and only by them) and outlives them.

mod common;

use std::sync::mpsc;
use std::thread;

use tenure::pool::{Pool, PoolConfig, Validation};
use tenure_sqlite::{Manager, Operation};

#[test]
fn two_holders_get_two_connections_and_both_return() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(Manager::file(&path), 2);
    let (s1, r1) = mpsc::channel();
    let (s2, r2) = mpsc::channel();
    let p1 = pool.clone();
    let t1 = thread::spawn(move || {
        let conn = p1.get_blocking().unwrap();
        s1.send(()).unwrap();
        r2.recv().unwrap(); // both are held at once here
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (x)")
            .unwrap();
    });
    let p2 = pool.clone();
    let t2 = thread::spawn(move || {
        let conn = p2.get_blocking().unwrap();
        s2.send(()).unwrap();
        r1.recv().unwrap();
        drop(conn);
    });
    t1.join().unwrap();
    t2.join().unwrap();
    let status = pool.status();
    assert_eq!((status.size, status.idle, status.in_use), (2, 2, 0));
    drop(pool.get_blocking().unwrap());
    assert_eq!(pool.statistics().created, 2);
}

#[test]
fn validation_on_every_checkout_passes_a_good_connection() {
    let (_dir, path) = common::db_path();
    let config = PoolConfig {
        validation: Validation::Always,
        ..common::config(1)
    };
    let pool = Pool::builder(Manager::file(&path).build().unwrap())
        .config(config)
        .build()
        .unwrap();
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.invalid), (1, 0));
}

#[test]
fn a_directory_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let err = Manager::file(dir.path()).wal(false).build().unwrap();
    let err = err.open().unwrap_err();
    assert_eq!(err.operation(), Operation::Open);
    assert_eq!(err.code(), Some(rusqlite::ErrorCode::CannotOpen));
    // With WAL (the default) the manager itself refuses at once.
    let err = Manager::file(dir.path()).build().unwrap_err();
    assert_eq!(err.operation(), Operation::Open);
}

#[test]
fn read_only_connections_refuse_writes() {
    let (_dir, path) = common::db_path();
    common::reader(&path)
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let pool = common::pool(Manager::file(&path).read_only(true), 2);
    let conn = pool.get_blocking().unwrap();
    let err = conn
        .execute_batch("CREATE TABLE hello (world)")
        .unwrap_err();
    assert_eq!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::ReadOnly));
    assert_eq!(common::count(&conn, "t"), 0); // reads work
}

#[test]
fn the_init_hook_runs_on_every_connection() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(
        // `cache_size` is per connection: a connection the hook skipped would say -2000.
        Manager::file(&path).init(|c| c.execute_batch("PRAGMA cache_size = -1234")),
        3,
    );
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    for conn in &leases {
        let x: i64 = conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(x, -1234);
    }
    assert_eq!(pool.statistics().created, 3);
}

#[test]
fn a_named_memory_database_is_shared_by_its_connections() {
    let pool = common::pool(Manager::memory("basics-shared"), 10);
    pool.get_blocking()
        .unwrap()
        .execute("CREATE TABLE foo (bar INTEGER)", [])
        .unwrap();
    let threads: Vec<_> = (0..10)
        .map(|i: i64| {
            let pool = pool.clone();
            thread::spawn(move || {
                let conn = pool.get_blocking().unwrap();
                conn.execute("INSERT INTO foo (bar) VALUES (?1)", [i])
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let conn = pool.get_blocking().unwrap();
    let mut stmt = conn.prepare("SELECT bar FROM foo ORDER BY bar").unwrap();
    let rows: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, (0..10).collect::<Vec<_>>());
}

#[test]
fn different_memory_names_are_different_databases() {
    let one = common::pool(Manager::memory("basics-one"), 1);
    let two = common::pool(Manager::memory("basics-two"), 1);
    one.get_blocking()
        .unwrap()
        .execute_batch("CREATE TABLE foo (bar INTEGER)")
        .unwrap();
    // Would fail with "table foo already exists" if the two were one database.
    two.get_blocking()
        .unwrap()
        .execute_batch("CREATE TABLE foo (bar INTEGER)")
        .unwrap();
}

#[test]
fn a_memory_database_outlives_its_connections() {
    let manager = Manager::memory("basics-persists").build().unwrap();
    {
        let conn = manager.open().unwrap();
        conn.execute_batch("CREATE TABLE foo (bar INTEGER); INSERT INTO foo VALUES (7)")
            .unwrap();
    } // the only connection the caller opened is gone
    let conn = manager.open().unwrap();
    assert_eq!(common::count(&conn, "foo"), 1);
    drop(conn);
    drop(manager); // the keeper goes with the manager: the database is gone
    let manager = Manager::memory("basics-persists").build().unwrap();
    let err = manager
        .open()
        .unwrap()
        .execute_batch("SELECT * FROM foo")
        .unwrap_err();
    assert!(err.to_string().contains("no such table"), "{err}");
}

#[test]
fn a_bad_memory_name_is_refused_with_the_reason() {
    let err = Manager::memory("a/b?c").build().unwrap_err();
    assert_eq!(err.database(), "memory:a/b?c");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("memory database name"), "{cause}");
}
