//! The seed's async database pool, on PostgreSQL: a pool opened with a minimum and a
//! maximum, queries run through leases from many tasks, the pool closed on exit and its
//! figures printed.
//!
//! Runs against `TENURE_PG_URL` when set, else against a throwaway cluster of its own
//! (`initdb` must be installed; it is removed when the example ends).
//!
//! ```text
//! cargo run --all-features --example postgres_pool
//! ```

use std::time::Duration;

use tenure::pool::{Pool, PoolConfig};
use tenure_postgres::{testing, Manager};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(db) = testing::database() else {
        return Ok(()); // the fixture said why: no server here
    };
    let pool = Pool::builder(Manager::new(db.config()))
        .config(PoolConfig {
            min_idle: 2,
            max_size: 5,
            acquire_timeout: Duration::from_secs(10),
            name: "postgres_pool".into(),
            ..PoolConfig::default()
        })
        .build()?;
    pool.maintain(); // open the minimum now, not on first use
    {
        let setup = pool.get().await?;
        setup
            .batch_execute("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)")
            .await?;
    }

    // Twenty tasks share five connections: each acquires, executes, and gives its lease back
    // by dropping it.
    let mut tasks = Vec::new();
    for id in 0..20 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let client = pool.get().await?;
            let insert = client
                .prepare_cached("INSERT INTO users VALUES ($1, $2)")
                .await?;
            client
                .execute(&insert, &[&id, &format!("user {id}")])
                .await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for task in tasks {
        task.await?.map_err(|e| e as Box<dyn std::error::Error>)?;
    }

    let client = pool.get().await?;
    let n: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await?
        .get(0);
    println!("{n} users inserted by 20 tasks through {}", pool.status());
    assert_eq!(n, 20);
    drop(client);

    let stats = pool.statistics();
    pool.close().await; // every connection closed before we exit
    println!(
        "closed: {} connections created, {} acquires ({} waited)",
        stats.created,
        stats.acquired_direct + stats.acquired_waited,
        stats.acquired_waited
    );
    Ok(())
}
