//! Per-connection server state: with `Reset::Clean`, a `SET`, a `LISTEN`, an advisory lock
//! and a temp table of one holder are gone for the next; without a reset policy they are
//! kept (as documented on `Reset::None`).

use tenure_postgres::{testing, Client, Reset};

use super::{async_pool, pid};

/// What the next holder sees of the last one's session.
#[derive(Debug, PartialEq)]
struct Seen {
    application_name: String,
    listening: i64,
    advisory_locks: i64,
    temp_table: bool,
}

async fn leave_state(c: &Client) {
    c.batch_execute(
        "SET application_name = 'left_behind'; LISTEN left_behind; \
         SELECT pg_advisory_lock(42); CREATE TEMP TABLE left_behind (x int)",
    )
    .await
    .unwrap();
}

async fn seen(c: &Client) -> Seen {
    let row = c
        .query_one(
            "SELECT current_setting('application_name'),
                    (SELECT count(*) FROM pg_listening_channels()),
                    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
                    to_regclass('pg_temp.left_behind') IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    Seen {
        application_name: row.get(0),
        listening: row.get(1),
        advisory_locks: row.get(2),
        temp_table: row.get(3),
    }
}

async fn next_holder_sees(reset: Reset) -> Option<Seen> {
    let db = testing::database()?;
    let pool = async_pool(&db, 1, reset);
    let c = pool.get().await.unwrap();
    let first = pid(&c).await;
    leave_state(&c).await;
    drop(c);
    let c = pool.get().await.unwrap();
    assert_eq!(pid(&c).await, first, "the same connection");
    Some(seen(&c).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_leaves_nothing_of_the_last_holder() {
    let Some(seen) = next_holder_sees(Reset::Clean).await else {
        return;
    };
    assert_eq!(
        seen,
        Seen {
            application_name: String::new(),
            listening: 0,
            advisory_locks: 0,
            temp_table: false,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_reset_policy_the_session_is_kept() {
    let Some(seen) = next_holder_sees(Reset::None).await else {
        return;
    };
    assert_eq!(
        seen,
        Seen {
            application_name: "left_behind".into(),
            listening: 1,
            advisory_locks: 1,
            temp_table: true,
        }
    );
}
