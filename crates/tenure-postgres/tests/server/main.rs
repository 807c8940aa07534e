//! tenure-postgres against a real server (the fixture's shared cluster, or `TENURE_PG_URL`):
//! one test binary, so one `initdb`; a module per behaviour.
#![cfg(feature = "testing")]

mod bad_input;
mod client_lifetime;
mod conformance;
mod credentials;
mod ported_from_deadpool;
mod query_cancellation;
mod session_state;
mod statement_cache;
mod transactions;

use std::time::Duration;

use tenure::pool::{Pool, PoolConfig, Validation};
use tenure_postgres::testing::TestDatabase;
use tenure_postgres::{BlockingManager, Manager, Reset};

/// A pool config for tests: `max_size`, no maintenance driver, validation on every checkout.
pub fn config(max_size: usize) -> PoolConfig {
    PoolConfig {
        max_size,
        acquire_timeout: Duration::from_secs(30),
        maintenance_interval: None,
        validation: Validation::Always,
        ..PoolConfig::default()
    }
}

/// An async pool on `db` (built inside the current runtime).
pub fn async_pool(db: &TestDatabase, max_size: usize, reset: Reset) -> Pool<Manager> {
    Pool::builder(Manager::new(db.config()).reset(reset))
        .config(config(max_size))
        .build()
        .unwrap()
}

/// A blocking pool on `db`.
pub fn blocking_pool(db: &TestDatabase, max_size: usize) -> Pool<BlockingManager> {
    Pool::builder(BlockingManager::new(db.config()))
        .config(config(max_size))
        .build()
        .unwrap()
}

/// A connection of the test's own, outside any pool, for reading back.
pub async fn observer(db: &TestDatabase) -> tenure_postgres::Client {
    tenure_postgres::Client::connect(&db.config(), tokio_postgres::NoTls)
        .await
        .unwrap()
}

/// The `pg_stat_activity.state` of backend `pid`, read from `observer`.
pub async fn backend_state(observer: &tenure_postgres::Client, pid: i32) -> String {
    observer
        .query_one(
            "SELECT coalesce(state, '') FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .await
        .unwrap()
        .get(0)
}

/// The backend pid of `client`.
pub async fn pid(client: &tenure_postgres::Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// The number of rows in `table`, read from `observer`.
pub async fn count(observer: &tenure_postgres::Client, table: &str) -> i64 {
    observer
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}
