//! Transactions on a real server: commit, roll back, savepoints (blocking and async);
//! cancellation at every poll, `BEGIN` and `COMMIT` in flight included; a backend
//! terminated before `COMMIT`; a real serialization conflict retried, also when the body
//! returns tokio-postgres's own error inside a `Box<dyn Error>`.

use std::sync::Arc;
use std::time::Duration;

use tenure::tx::{transaction, transaction_async, Options, Retry, Session, State, Tx};
use tenure_postgres::{testing, Client, Error, Reset};

use super::{async_pool, backend_state, blocking_pool, count, observer, pid};

#[derive(Debug, thiserror::Error)]
#[error("the body refused")]
struct Refused;

#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error(transparent)]
    Db(#[from] Error),
    #[error(transparent)]
    Refused(#[from] Refused),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_commit_rollback_and_savepoints() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;
    obs.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    let pool = async_pool(&db, 1, Reset::None);
    let mut c = pool.get().await.unwrap();

    transaction_async(&mut *c, async |tx| {
        tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
        // A failing inner body rolls back to its savepoint; the outer one goes on.
        let inner = transaction_async(tx, async |tx| {
            tx.execute("INSERT INTO t VALUES (2)", &[]).await?;
            Err::<(), BodyError>(Refused.into())
        })
        .await;
        assert!(inner.is_err());
        tx.execute("INSERT INTO t VALUES (3)", &[]).await?;
        Ok::<_, Error>(())
    })
    .await
    .unwrap();
    assert_eq!(c.state(), State::Idle);
    let rows: Vec<i32> = obs
        .query("SELECT x FROM t ORDER BY x", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, [1, 3]);

    let err = transaction_async(&mut *c, async |tx| {
        tx.execute("INSERT INTO t VALUES (4)", &[]).await?;
        Err::<(), BodyError>(Refused.into())
    })
    .await
    .unwrap_err();
    assert!(matches!(err.body(), Some(BodyError::Refused(_))), "{err}");
    assert_eq!(count(&obs, "t").await, 2);
    assert_eq!(c.state(), State::Idle);
}

#[test]
fn blocking_commit_rollback_and_savepoints() {
    let Some(db) = testing::database() else {
        return;
    };
    let pool = blocking_pool(&db, 1);
    let mut c = pool.get_blocking().unwrap();
    c.batch_execute("CREATE TABLE t (x int)").unwrap();
    transaction(&mut *c, |tx| {
        tx.execute("INSERT INTO t VALUES (1)", &[])?;
        let inner = transaction(tx, |tx| {
            tx.execute("INSERT INTO t VALUES (2)", &[])?;
            Err::<(), BodyError>(Refused.into())
        });
        assert!(inner.is_err());
        Ok::<_, Error>(())
    })
    .unwrap();
    let err = transaction(&mut *c, |tx| {
        tx.execute("INSERT INTO t VALUES (5)", &[])?;
        Err::<(), BodyError>(Refused.into())
    })
    .unwrap_err();
    assert!(matches!(err.body(), Some(BodyError::Refused(_))));
    let rows: Vec<i32> = c
        .query("SELECT x FROM t ORDER BY x", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, [1]);
    assert_eq!(c.state(), State::Idle);

    // A raw BEGIN leaves the state unknown: the blocking pool retires the connection
    // rather than lend it.
    tenure_postgres::BlockingClient::raw(&mut c)
        .batch_execute("BEGIN")
        .unwrap();
    let first = c
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get::<_, i32>(0);
    drop(c);
    let mut c = pool.get_blocking().unwrap();
    let second = c
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get::<_, i32>(0);
    assert_ne!(
        first, second,
        "a connection of unknown state was lent again"
    );
    assert_eq!(pool.statistics().destroyed.broken, 1);
}

/// A transaction dropped at every point — `BEGIN` in flight, in the body, `COMMIT` in flight
/// (a deferred trigger keeps `COMMIT` busy) — is all or nothing when read back, and the
/// next lease of the same connection is outside any transaction (`idle` in
/// `pg_stat_activity`, read from a second connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_anywhere_is_all_or_nothing_and_the_connection_clean() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;
    obs.batch_execute(
        "CREATE TABLE t (id int, half int);
         CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN PERFORM pg_sleep(0.005); RETURN NULL; END $$;
         CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
           FOR EACH ROW EXECUTE FUNCTION slow_commit();",
    )
    .await
    .unwrap();
    let pool = async_pool(&db, 1, Reset::None);
    let first_pid = pid(&pool.get().await.unwrap()).await;
    let mut outcomes = [0usize; 3]; // dropped before commit, dropped during commit, completed
                                    // Dropped after 0 to 40 ms, by half milliseconds (a commit takes 10 ms and more),
                                    // round after round until every kind of ending has been seen.
    for round in 0..400u64 {
        if round >= 80 && outcomes.iter().all(|&n| n > 0) {
            break;
        }
        let id = round as i32;
        let budget = Duration::from_micros((round % 80) * 500);
        let mut c = pool.get().await.unwrap();
        let done = tokio::time::timeout(
            budget,
            transaction_async(&mut *c, async |tx: &mut Tx<'_, Client>| {
                tx.execute("INSERT INTO t VALUES ($1, 1)", &[&id]).await?;
                tx.execute("INSERT INTO t VALUES ($1, 2)", &[&id]).await?;
                Ok::<_, Error>(())
            }),
        )
        .await
        .ok();
        let state = c.state();
        match (&done, state) {
            (Some(r), _) => {
                r.as_ref().unwrap();
                outcomes[2] += 1;
            }
            (None, State::Unknown) => outcomes[1] += 1,
            (None, _) => outcomes[0] += 1,
        }
        drop(c);
        let c = pool.get().await.unwrap();
        let p = pid(&c).await;
        assert_eq!(backend_state(&obs, p).await, "idle", "round {round}");
        let rows: i64 = obs
            .query_one("SELECT count(*) FROM t WHERE id = $1", &[&id])
            .await
            .unwrap()
            .get(0);
        assert!(rows == 0 || rows == 2, "half a transaction: {rows} rows");
        if done.is_some() {
            assert_eq!(rows, 2);
        }
        assert_eq!(p, first_pid, "the connection was retired instead of reset");
    }
    // Each kind of ending happened at least once, or the test proved less than it says.
    println!("dropped transactions: {outcomes:?} (open, control statement in flight, completed)");
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}

/// A backend terminated just before `COMMIT`: the commit's outcome is unknown, reported so,
/// and never retried, even with retry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_terminated_before_commit_is_an_unknown_outcome() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;
    obs.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    let pool = async_pool(&db, 1, Reset::None);
    let mut c = pool.get().await.unwrap();
    let victim = pid(&c).await;
    let options = Options {
        retry: Some(Retry::default()),
        ..Options::default()
    };
    let err = options
        .run_async(&mut *c, async |tx| {
            tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
            obs.query_one("SELECT pg_terminate_backend($1)", &[&victim])
                .await?;
            Ok::<_, Error>(())
        })
        .await
        .unwrap_err();
    assert!(err.is_commit_unknown(), "{err}");
    assert_eq!(err.attempts(), 1);
    assert!(c.is_broken());
    drop(c);
    assert_eq!(count(&obs, "t").await, 0);
    // The pool hands out a new connection, not the dead one.
    let c = pool.get().await.unwrap();
    assert_ne!(pid(&c).await, victim);
}

/// Two `SERIALIZABLE` transactions that each read what the other writes: one fails with
/// SQLSTATE 40001 and is run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_serialization_conflict_is_retried() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;
    obs.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    let pool = async_pool(&db, 2, Reset::None);
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    // Two futures of one task, joined: an async closure's future is not yet provably
    // `Send` for `tokio::spawn` when it borrows across awaits.
    let run = |value: i32| {
        let pool = pool.clone();
        let barrier = barrier.clone();
        async move {
            let mut c = pool.get().await.unwrap();
            let options = Options {
                retry: Some(Retry {
                    attempts: 5,
                    ..Retry::default()
                }),
                ..Options::default()
            };
            options
                .run_async(&mut *c, async |tx| {
                    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                        .await?;
                    let _: i64 = tx.query_one("SELECT count(*) FROM t", &[]).await?.get(0);
                    if Tx::attempt(tx) == 1 {
                        barrier.wait().await; // both have read before either writes
                    }
                    tx.execute("INSERT INTO t VALUES ($1)", &[&value]).await?;
                    Ok::<_, Error>(Tx::attempt(tx))
                })
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(run(1), run(2));
    let mut attempts = [a, b];
    attempts.sort();
    assert_eq!(attempts, [1, 2]);
    assert_eq!(count(&obs, "t").await, 2);
}

/// A serialization failure straight from tokio-postgres (the write went through the raw
/// client), returned inside a `Box<dyn Error>`: the adapter answers for its driver's error
/// in the chain (`Session::classify_source`), so it is retried like its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_serialization_failure_in_a_box_dyn_error_is_retried() {
    let Some(db) = testing::database() else {
        return;
    };
    let obs = observer(&db).await;
    obs.batch_execute("CREATE TABLE c (id int PRIMARY KEY, v int); INSERT INTO c VALUES (1, 0)")
        .await
        .unwrap();
    let pool = async_pool(&db, 1, Reset::None);
    let mut c = pool.get().await.unwrap();
    let options = Options {
        retry: Some(Retry {
            backoff: Duration::from_millis(1),
            ..Retry::default()
        }),
        ..Options::default()
    };
    let mut codes = Vec::new();
    let attempts = options
        .run_async_dyn(&mut *c, async |tx| {
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .await?;
            tx.query_one("SELECT v FROM c WHERE id = 1", &[]).await?;
            if Tx::attempt(tx) == 1 {
                // Another transaction commits a change to the row this one read...
                obs.execute("UPDATE c SET v = v + 1 WHERE id = 1", &[])
                    .await?;
                // ...then this one writes it through the raw client (which leaves the
                // state Unknown: the failed attempt's rollback confirms it).
                let raw = Client::raw(tx)
                    .execute("UPDATE c SET v = v + 10 WHERE id = 1", &[])
                    .await
                    .expect_err("a serialization failure");
                codes.push(raw.code().map(|c| c.code().to_owned()));
                return Err(raw.into()); // tokio_postgres::Error, boxed
            }
            tx.execute("UPDATE c SET v = v + 10 WHERE id = 1", &[])
                .await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Tx::attempt(tx))
        })
        .await
        .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(codes, [Some("40001".to_owned())]);
    let v: i32 = obs
        .query_one("SELECT v FROM c WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 11);
    assert_eq!(c.state(), State::Idle);
}
