//! The seed's `AsyncDatabasePool`: a pool opened with a minimum and a maximum size,
//! queries executed through leases from many tasks, closed on exit, its status printed —
//! on SQLite, nothing to install or start. Each query runs on its connection's own thread
//! (`tenure_sqlite::run`), never on the runtime's workers.
//!
//! ```sh
//! cargo run --example async_pool
//! ```

use std::time::Duration;

use tenure::pool::{Pool, PoolConfig};
use tenure_sqlite::{run, Manager};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let manager = Manager::file(dir.path().join("users.db"))
        .init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, active INTEGER)"))
        .build()?;

    // `async with AsyncDatabasePool(dsn, min_size=2, max_size=4) as pool:`
    let pool = Pool::builder(manager)
        .config(PoolConfig {
            min_idle: 2,
            max_size: 4,
            maintenance_interval: Some(Duration::from_millis(50)),
            ..tenure_sqlite::pool_config()
        })
        .build()?;

    let lease = pool.get().await?;
    let (lease, seeded) = run(lease, |c| {
        let mut insert = c.prepare_cached("INSERT INTO users (name, active) VALUES (?1, ?2)")?;
        for i in 0..100 {
            insert.execute((format!("user{i}"), i % 3 != 0))?;
        }
        Ok::<_, rusqlite::Error>(())
    })
    .await;
    drop(lease); // back to the pool
    seeded?;

    // `await pool.execute("SELECT * FROM users WHERE active = $1", True)` from 16 tasks.
    let mut tasks = Vec::new();
    for task in 0..16i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut found = 0;
            for round in 0..10i64 {
                let lease = pool.get().await?;
                let id = (task * 10 + round) % 100 + 1;
                let (_lease, active) = run(lease, move |c| {
                    c.prepare_cached("SELECT count(*) FROM users WHERE id = ?1 AND active = 1")?
                        .query_row([id], |r| r.get::<_, i64>(0))
                })
                .await;
                found += active?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(found)
        }));
    }
    let mut active = 0;
    for t in tasks {
        active += t.await?.map_err(|e| e.to_string())?;
    }
    println!("160 queries from 16 tasks: {active} active users found");
    println!("status: {}", pool.status());
    let stats = pool.statistics();
    println!(
        "created {}, served at once {}, waited {} (p99 wait {:?})",
        stats.created,
        stats.acquired_direct,
        stats.acquired_waited,
        stats.wait_time.p99()
    );
    assert!(stats.created <= 4);

    // Closed on exit: every connection closed, errors reported.
    pool.close().await;
    println!("closed: {}", pool.status());
    assert_eq!(pool.status().size, 0);
    Ok(())
}
