//! A query whose future is dropped goes back through a reset that cancels it, while the
//! pool still holds the connection: the next holder's first query answers with its own
//! result, and no query of a later holder is ever cancelled.

use std::time::Duration;

use tenure_postgres::{testing, Reset};

use super::{async_pool, pid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_query_is_cancelled_before_the_next_holder_gets_the_connection() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::None);
    let first_pid = pid(&pool.get().await.unwrap()).await;

    let c = pool.get().await.unwrap();
    let sleeping = tokio::time::timeout(
        Duration::from_millis(200),
        c.query("SELECT pg_sleep(30)", &[]),
    )
    .await;
    assert!(sleeping.is_err(), "pg_sleep(30) answered");
    assert!(c.has_abandoned_request());
    drop(c);

    let c = pool.get().await.unwrap();
    assert!(!c.has_abandoned_request());
    let answer: i32 = c.query_one("SELECT 42", &[]).await.unwrap().get(0);
    assert_eq!(answer, 42);
    // The same backend: the reset finished within the pool's return_timeout (5 s), so the
    // 30 s sleep was cancelled, not waited out (past the bound the pool would have dropped
    // the connection and made a new one).
    assert_eq!(pid(&c).await, first_pid, "reset, not retired");
}

/// Hand-overs in a loop: each holder drops a long query at a different moment (before it
/// was sent, in flight, or after it was cancelled server-side); every next holder's query
/// answers with its own value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_later_holder_is_ever_cancelled() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = async_pool(&db, 1, Reset::None);
    let mut abandoned = 0;
    let rounds = 30;
    for i in 0..rounds {
        let c = pool.get().await.unwrap();
        let wait = Duration::from_millis((i % 10) as u64 * 3);
        let r = tokio::time::timeout(wait, c.query("SELECT pg_sleep(30)", &[])).await;
        assert!(r.is_err(), "round {i}: the long query answered: {r:?}");
        abandoned += usize::from(c.has_abandoned_request());
        drop(c);
        let c = pool.get().await.unwrap();
        let answer: i32 = c
            .query_one("SELECT $1::int", &[&i])
            .await
            .unwrap_or_else(|e| panic!("round {i}: the next holder's query failed: {e:?}"))
            .get(0);
        assert_eq!(answer, i);
    }
    println!("query cancellation: {rounds} hand-overs, {abandoned} abandoned in flight, 0 later holders cancelled");
    assert!(abandoned > 0);
    assert_eq!(pool.statistics().destroyed.total(), 0);
}
