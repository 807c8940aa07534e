//! deadpool-postgres's own tests (`postgres/tests/postgres.rs`), where they apply here:
//! cached statements inside and across transactions, a pipeline of queries in one
//! transaction, every reset policy lending working connections, a client-side type error
//! that leaves the connection usable.

use tenure::tx::transaction_async;
use tenure_postgres::{testing, Error, Reset};
use tokio_postgres::types::Type;

use super::async_pool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_statements_serve_inside_and_across_transactions() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::None);
    let mut c = pool.get().await.unwrap();
    // Prepared inside a transaction (deadpool's transaction_1), then used outside it and
    // in the next one (transaction_2): one cache entry throughout.
    let value = transaction_async(&mut *c, async |tx| {
        let statement = tx.prepare_cached("SELECT 1 + 2").await?;
        Ok::<_, Error>(tx.query_one(&statement, &[]).await?.get::<_, i32>(0))
    })
    .await
    .unwrap();
    assert_eq!(value, 3);
    assert_eq!(c.cached_statements(), 1);
    let statement = c.prepare_cached("SELECT 1 + 2").await.unwrap();
    let value = transaction_async(&mut *c, async |tx| {
        Ok::<_, Error>(tx.query_one(&statement, &[]).await?.get::<_, i32>(0))
    })
    .await
    .unwrap();
    assert_eq!(value, 3);
    assert_eq!(c.cached_statements(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_queries_pipeline_in_one_transaction() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::None);
    let mut c = pool.get().await.unwrap();
    let statement = c.prepare_cached("SELECT 1 + $1").await.unwrap();
    let results = transaction_async(&mut *c, async |tx| {
        let tx = &*tx;
        let queries = (0..100i32).map(|i| {
            let statement = &statement;
            async move {
                tx.query_one(statement, &[&i])
                    .await
                    .map(|r| r.get::<_, i32>(0))
            }
        });
        futures_util::future::try_join_all(queries).await
    })
    .await
    .unwrap();
    assert_eq!(results, (1..=100).collect::<Vec<i32>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reset_policy_lends_working_connections() {
    let Some(db) = testing::database() else {
        return;
    };
    for reset in [
        Reset::None,
        Reset::Clean,
        Reset::Statements("DISCARD ALL".into()),
    ] {
        let pool = async_pool(&db, 2, reset.clone());
        for _ in 0..20 {
            let c = pool.get().await.unwrap();
            let statement = c.prepare_cached("SELECT 1 + 2").await.unwrap();
            let value: i32 = c.query_one(&statement, &[]).await.unwrap().get(0);
            assert_eq!(value, 3, "{reset:?}");
        }
        assert_eq!(pool.statistics().destroyed.total(), 0, "{reset:?}");
    }
}

#[test]
fn every_reset_policy_lends_working_blocking_connections() {
    let Some(db) = testing::database() else {
        return;
    };
    for reset in [Reset::None, Reset::Clean] {
        let pool = tenure::pool::Pool::builder(
            tenure_postgres::BlockingManager::new(db.config()).reset(reset.clone()),
        )
        .config(super::config(2))
        .build()
        .unwrap();
        for _ in 0..20 {
            let mut c = pool.get_blocking().unwrap();
            let statement = c.prepare_cached("SELECT 1 + 2").unwrap();
            let value: i32 = c.query_one(&statement, &[]).unwrap().get(0);
            assert_eq!(value, 3, "{reset:?}");
        }
        assert_eq!(pool.statistics().destroyed.total(), 0, "{reset:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_of_the_wrong_type_fails_and_leaves_the_connection_usable() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::None);
    let c = pool.get().await.unwrap();
    let e = c
        .query_typed("SELECT 1 + $1", &[(&42i32, Type::INT2)])
        .await
        .unwrap_err();
    assert!(!e.is_connection_lost(), "{e:?}");
    assert!(!c.is_broken() && !c.has_abandoned_request());
    let rows = c
        .query_typed("SELECT 1 + $1", &[(&42i16, Type::INT2)])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i32>(0), 43);
}
