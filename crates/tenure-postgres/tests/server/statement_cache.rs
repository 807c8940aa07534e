//! `prepare_cached`: one `PREPARE` per query and connection, concurrent first calls
//! included; kept by `Reset::Clean`, cleared by a reset that deallocates.

use tenure_postgres::{testing, Reset};

use super::async_pool;

async fn prepared_on_server(c: &tenure_postgres::Client, query: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
        &[&query],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_prepares_of_one_query_are_one_prepare() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::Clean);
    let c = pool.get().await.unwrap();
    let query = "SELECT $1::int + 1";
    let all = futures_util::future::join_all((0..8).map(|_| c.prepare_cached(query))).await;
    for statement in &all {
        let n: i32 = c
            .query_one(statement.as_ref().unwrap(), &[&1])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 2);
    }
    assert_eq!(c.cached_statements(), 1);
    assert_eq!(prepared_on_server(&c, query).await, 1);
    drop((all, c));

    // Reset::Clean keeps the cache (and the server keeps the statement).
    let c = pool.get().await.unwrap();
    assert_eq!(c.cached_statements(), 1);
    c.prepare_cached(query).await.unwrap();
    assert_eq!(prepared_on_server(&c, query).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_deallocates_clears_the_cache() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::Statements("DISCARD ALL".into()));
    let c = pool.get().await.unwrap();
    c.prepare_cached("SELECT 1").await.unwrap();
    drop(c);
    let c = pool.get().await.unwrap();
    assert_eq!(c.cached_statements(), 0);
    // Prepared again, and it works (a stale cached statement would fail: it is gone).
    c.query_one(&c.prepare_cached("SELECT 1").await.unwrap(), &[])
        .await
        .unwrap();
}
