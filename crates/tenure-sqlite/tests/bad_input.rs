//! Bad input gives clear typed errors at once, never a hang: a missing directory and a file
//! that is not a database fail the create (`PoolError::Create` with the cause, then
//! `Unavailable` during the backoff) and the pool serves once the file is fixed; malformed
//! SQL, a constraint violation and a lock held past the busy timeout come back in the
//! caller's `Result`, the lease stays usable, and nothing committed is lost.

mod common;

use std::time::Duration;

use tenure::pool::{Pool, PoolConfig, PoolError};
use tenure_sqlite::{Manager, Operation};

fn fast_backoff(max_size: usize) -> PoolConfig {
    PoolConfig {
        // Long enough that the second get lands inside the backoff however loaded the
        // machine is (20 ms was not, on a 2-core machine compiling in parallel).
        create_backoff: Duration::from_secs(1),
        max_create_backoff: Duration::from_secs(2),
        acquire_timeout: Duration::from_secs(10),
        ..common::config(max_size)
    }
}

/// Gets a lease once the backoff allows a create, with the errors seen meanwhile.
fn get_when_fixed(pool: &Pool<Manager>) -> tenure::pool::Lease<Manager> {
    for _ in 0..1000 {
        match pool.get_blocking() {
            Ok(lease) => return lease,
            Err(PoolError::Unavailable { .. } | PoolError::Create(_)) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    panic!("the pool never served after the file was fixed");
}

#[test]
fn a_missing_directory_fails_the_create_and_the_pool_serves_once_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later/app.db");
    let manager = Manager::file(&path).wal(false).build().unwrap();
    let pool = Pool::builder(manager)
        .config(fast_backoff(2))
        .build()
        .unwrap();

    let err = pool.get_blocking().unwrap_err();
    let PoolError::Create(cause) = &err else {
        panic!("expected Create, got {err}")
    };
    assert_eq!(cause.operation(), Operation::Open);
    assert_eq!(cause.code(), Some(rusqlite::ErrorCode::CannotOpen));
    assert!(cause.database().ends_with("later/app.db"));
    let again = pool.get_blocking().unwrap_err();
    assert!(
        matches!(again, PoolError::Unavailable { ref cause, .. } if cause.operation() == Operation::Open),
        "{again}"
    );

    std::fs::create_dir(dir.path().join("later")).unwrap();
    let conn = get_when_fixed(&pool);
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
    assert!(path.exists());
}

#[test]
fn a_file_that_is_not_a_database_fails_the_create_and_the_pool_serves_once_replaced() {
    let (_dir, path) = common::db_path();
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let manager = Manager::file(&path).wal(false).build().unwrap();
    let pool = Pool::builder(manager)
        .config(fast_backoff(2))
        .build()
        .unwrap();

    let err = pool.get_blocking().unwrap_err();
    let PoolError::Create(cause) = &err else {
        panic!("expected Create, got {err}")
    };
    assert_eq!(cause.operation(), Operation::Open);
    assert_eq!(cause.code(), Some(rusqlite::ErrorCode::NotADatabase));
    assert!(matches!(
        pool.get_blocking(),
        Err(PoolError::Unavailable { .. })
    ));

    std::fs::remove_file(&path).unwrap();
    common::reader(&path)
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let conn = get_when_fixed(&pool);
    assert_eq!(common::count(&conn, "t"), 0);
}

#[test]
fn with_wal_the_manager_refuses_a_bad_file_at_once() {
    let (_dir, path) = common::db_path();
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Manager::file(&path).build().unwrap_err();
    assert_eq!(err.operation(), Operation::Open);
    assert_eq!(err.code(), Some(rusqlite::ErrorCode::NotADatabase));
    assert_eq!(
        err.to_string(),
        format!("could not open SQLite database `{}`", path.display())
    );
}

#[test]
fn malformed_sql_and_a_constraint_violation_leave_the_lease_usable() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(Manager::file(&path), 1);
    let conn = pool.get_blocking().unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
        .unwrap();

    let err = conn.execute("INSRT INTO t VALUES (2)", []).unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
    let err = conn.execute("INSERT INTO t VALUES (1)", []).unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
    conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
    drop(conn);
    assert_eq!(common::count(&common::reader(&path), "t"), 2);
    assert_eq!(pool.statistics().created, 1);
}

#[test]
fn a_lock_held_past_the_busy_timeout_comes_back_as_busy_and_nothing_is_lost() {
    let (_dir, path) = common::db_path();
    let pool = common::pool(
        Manager::file(&path).busy_timeout(Duration::from_millis(50)),
        1,
    );
    let conn = pool.get_blocking().unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        .unwrap();

    let other = common::reader(&path);
    other.execute_batch("BEGIN IMMEDIATE").unwrap(); // holds the write lock
    let err = conn.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy)
    );
    assert!(conn.is_autocommit());
    other.execute_batch("ROLLBACK").unwrap();

    conn.execute("INSERT INTO t VALUES (3)", []).unwrap();
    drop(conn);
    let mut stmt = other.prepare("SELECT x FROM t ORDER BY x").unwrap();
    let rows: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows, [1, 3]);
}

#[test]
fn a_failing_init_hook_fails_the_create_naming_the_hook() {
    let pool = common::pool(
        Manager::memory("bad-init").init(|c| c.execute_batch("NOT SQL")),
        1,
    );
    let err = pool.get_blocking().unwrap_err();
    let PoolError::Create(cause) = &err else {
        panic!("expected Create, got {err}")
    };
    assert_eq!(cause.operation(), Operation::InitHook);
    assert_eq!(
        cause.to_string(),
        "could not run the init hook on SQLite database `memory:bad-init`"
    );
}
