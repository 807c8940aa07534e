//! A client leaves nothing behind: dropping it ends its connection task and the server's
//! backend; closing it says goodbye first. A `BEGIN` sent as a plain statement (not
//! through `tenure::tx`) is seen, and the connection goes back to the pool rolled back.

use std::time::{Duration, Instant};

use tenure::tx::{Session, State};
use tenure_postgres::{testing, Client, Reset};

use super::{async_pool, backend_state, observer, pid};

/// Waits, up to a minute (a liveness bound), until backend `pid` is gone.
async fn gone(obs: &Client, pid: i32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let n: i64 = obs
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_or_closing_a_client_ends_its_backend() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;

    let dropped = observer(&db).await;
    let p = pid(&dropped).await;
    drop(dropped);
    assert!(
        gone(&obs, p).await,
        "backend {p} outlived its dropped client"
    );

    let closed = observer(&db).await;
    let p = pid(&closed).await;
    tenure::AsyncClose::close(closed).await.unwrap();
    assert!(
        gone(&obs, p).await,
        "backend {p} outlived its closed client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_begin_is_seen_and_rolled_back_on_return() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;
    obs.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    let pool = async_pool(&db, 1, Reset::None);
    let c = pool.get().await.unwrap();
    let p = pid(&c).await;
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    assert_eq!(c.state(), State::Unknown);
    assert_eq!(backend_state(&obs, p).await, "idle in transaction");
    drop(c);
    let c = pool.get().await.unwrap();
    assert_eq!(pid(&c).await, p);
    assert_eq!(c.state(), State::Idle);
    assert_eq!(backend_state(&obs, p).await, "idle");
    assert_eq!(super::count(&obs, "t").await, 0);
}
