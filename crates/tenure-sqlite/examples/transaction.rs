//! The seed's `database_transaction`: `BEGIN`, run the body, `COMMIT` on success,
//! `ROLLBACK` on any error — on SQLite, with nothing to install or start. Two inserts
//! commit together; a failure after the first insert rolls both back, as reading the table
//! back shows. The async form (`transaction_async` on an `AsyncConnection`) does the same
//! from async tasks.
//!
//! ```sh
//! cargo run --example transaction
//! ```

use tenure::pool::Pool;
use tenure::tx::{transaction, transaction_async, Mode, Options};
use tenure_sqlite::{AsyncConnection, Error, Manager};

fn names(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT name FROM accounts ORDER BY name")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let manager = Manager::file(dir.path().join("bank.db"))
        .init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))"))
        .build()?;
    let pool = Pool::builder(manager)
        .config(tenure_sqlite::pool_config())
        .build()?;
    let mut conn = pool.get_blocking()?;

    // `async with database_transaction(conn) as tx:` — two inserts, committed together.
    transaction(&mut *conn, |tx| {
        tx.execute("INSERT INTO accounts VALUES ('ada', 100)", [])?;
        tx.execute("INSERT INTO accounts VALUES ('grace', 50)", [])?;
        Ok::<_, Error>(())
    })?;
    println!("committed: {:?}", names(&conn)?);

    // A failure after the first insert: both are rolled back.
    let failed = transaction(&mut *conn, |tx| {
        tx.execute("INSERT INTO accounts VALUES ('charles', 10)", [])?;
        tx.execute(
            "UPDATE accounts SET balance = balance - 500 WHERE name = 'ada'",
            [],
        )?; // CHECK fails
        Ok::<_, Error>(())
    });
    let err = failed.unwrap_err();
    println!(
        "rolled back: {} ({})",
        err,
        std::error::Error::source(&err).map_or(String::new(), |e| e.to_string())
    );
    assert_eq!(names(&conn)?, ["ada", "grace"]);
    println!("after the rollback: {:?}", names(&conn)?);

    // A write transaction that takes the write lock at BEGIN (`BEGIN IMMEDIATE`): it waits
    // through the busy timeout for other writers instead of failing halfway.
    Options {
        mode: Mode::Immediate,
        ..Options::default()
    }
    .run(&mut *conn, |tx| {
        tx.execute(
            "UPDATE accounts SET balance = balance - 20 WHERE name = 'ada'",
            [],
        )?;
        tx.execute(
            "UPDATE accounts SET balance = balance + 20 WHERE name = 'grace'",
            [],
        )?;
        Ok::<_, Error>(())
    })?;
    drop(conn);

    // The same from async code: each statement runs on the connection's own thread.
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut conn = AsyncConnection::new(pool.get().await?);
        let failed = transaction_async(&mut conn, async |tx| {
            tx.run(|c| c.execute("INSERT INTO accounts VALUES ('dennis', 5)", []))
                .await?;
            tx.run(|c| c.execute("INSERT INTO accounts VALUES ('ada', 1)", []))
                .await // duplicate key
        })
        .await;
        println!("async, rolled back: {}", failed.unwrap_err());
        let balances = conn
            .run(|c| {
                c.query_row(
                    "SELECT group_concat(name || '=' || balance, ', ') FROM accounts",
                    [],
                    |r| r.get::<_, String>(0),
                )
            })
            .await?;
        println!("balances: {balances}");
        assert_eq!(balances, "ada=80, grace=70");
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
