//! The seed's class-based context manager (`DatabaseConnection`: connect on enter, close on
//! exit, or `connect()` / `close()` by hand), on SQLite: nothing to install or start.
//!
//! - Scoped: a `Closing` holds the connection and closes it at the end of the block, on
//!   every path (a failed close is reported through `tracing`: `Drop` cannot return it).
//! - Manual: `Close::close` consumes the connection and returns the close error; using it
//!   afterwards does not compile.
//!
//! ```sh
//! cargo run --example database_connection
//! ```

use tenure::close::Closing;
use tenure::Close;
use tenure_sqlite::{Connection, Manager};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // The "DSN": a file, switched to WAL once, here.
    let db = Manager::file(dir.path().join("app.db")).build()?;

    // Scoped: `with DatabaseConnection(dsn) as conn:`
    {
        let conn = Closing::new(db.open()?);
        conn.execute_batch(
            "CREATE TABLE users (name TEXT NOT NULL, active INTEGER NOT NULL);
             INSERT INTO users VALUES ('ada', 1), ('grace', 1), ('charles', 0);",
        )?;
        println!("scoped: created `users` on {}", Connection::database(&conn));
    } // closed here, also if anything above had returned early or panicked

    // Manual: `conn = DatabaseConnection(dsn); conn.connect(); ...; conn.close()`
    let conn = db.open()?;
    let mut stmt = conn.prepare_cached("SELECT name FROM users WHERE active = ?1 ORDER BY name")?;
    let active: Vec<String> = stmt
        .query_map([true], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    println!("manual: active users {active:?}");
    assert_eq!(active, ["ada", "grace"]);
    conn.close()?; // the error, if any, comes back here

    // Bad input is a typed error that names the database and what was being done.
    let missing = dir.path().join("no/such/dir/app.db");
    let err = Manager::file(&missing).build().unwrap_err();
    println!(
        "error: {err}\n  cause: {}",
        std::error::Error::source(&err).unwrap()
    );
    Ok(())
}
