//! `tx::transaction_async` and its forms on the scripted connection: commit, rollback on
//! error and panic, nesting, retry with a timer; the future is `Send` with a realistic body
//! (it runs inside `tokio::spawn`); and a future dropped at any await point sends nothing
//! more and leaves the connection not `Idle` while the server holds a transaction.
#![cfg(all(feature = "testing", feature = "tokio"))]

use std::sync::{Arc, Mutex};

use tenure::error::BoxError;
use tenure::testing::tx::{CancelAfter, Rejection, ScriptedConnection, ScriptedError, Server};
use tenure::testing::{Fault, Faults, Op};
use tenure::tx::{
    transaction_async, transaction_async_dyn, AsyncTransactional, Class, Failure, Options, Retry,
    Session, State, Tx,
};

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn ok_commits_err_rolls_back() {
    let server = Server::new();
    let mut conn = server.connect();
    let v = transaction_async(&mut conn, async |tx| {
        tx.insert_async(1).await?;
        tx.insert_async(2).await?;
        Ok::<_, ScriptedError>(7)
    })
    .await
    .unwrap();
    assert_eq!(v, 7);
    let err = transaction_async(&mut conn, async |tx| {
        tx.insert_async(3).await.unwrap();
        Err::<(), _>(std::io::Error::other("no"))
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "no");
    assert_eq!(server.rows(), [1, 2]);
    assert_eq!(
        server.log(),
        ["BEGIN", "INSERT 1", "INSERT 2", "COMMIT", "BEGIN", "INSERT 3", "ROLLBACK"]
    );
    assert_eq!(conn.state(), State::Idle);
}

#[tokio::test]
async fn a_panic_rolls_back_then_resumes() {
    let server = Server::new();
    let s2 = server.clone();
    let joined = tokio::spawn(async move {
        let mut conn = s2.connect();
        let _ = transaction_async(&mut conn, async |tx| {
            tx.insert_async(1).await?;
            if Tx::attempt(tx) == 1 {
                panic!("boom");
            }
            Ok::<_, ScriptedError>(())
        })
        .await;
    })
    .await
    .unwrap_err();
    assert!(joined.is_panic());
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "ROLLBACK"]);
    assert!(server.rows().is_empty());
}

/// The future of `transaction_async` (and of `Options::run_async`) with a body that holds
/// state across awaits, borrows from its environment and awaits other futures is `Send`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_future_can_be_spawned() {
    let server = Server::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s, seen2) = (server.clone(), seen.clone());
    let task = tokio::spawn(assert_send(async move {
        let mut conn = s.connect();
        let label = String::from("order");
        let n = transaction_async(&mut conn, async |tx| {
            let rows = vec![1, 2, 3];
            for r in &rows {
                tx.insert_async(*r).await?;
                tokio::task::yield_now().await;
            }
            seen2.lock().unwrap().push(label.clone());
            Ok::<_, ScriptedError>(rows.len())
        })
        .await?;
        let opts = Options {
            retry: Some(Retry::default()),
            ..Options::default()
        };
        let m = opts
            .run_async(&mut conn, async |tx| {
                tx.insert_async(4).await?;
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                Ok::<_, ScriptedError>(Tx::attempt(tx))
            })
            .await?;
        Ok::<_, tenure::tx::TxError<ScriptedError, ScriptedError>>((n, m))
    }));
    assert_eq!(task.await.unwrap().unwrap(), (3, 1));
    assert_eq!(server.rows(), [1, 2, 3, 4]);
    assert_eq!(*seen.lock().unwrap(), ["order"]);
}

#[tokio::test]
async fn nested_async_transactions_are_savepoints() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction_async(&mut conn, async |tx| {
        tx.insert_async(1).await.unwrap();
        let inner = transaction_async_dyn(tx, async |inner| {
            inner.insert_async(2).await?;
            Err::<(), BoxError>("inner failed".into())
        })
        .await;
        assert!(inner.is_err());
        transaction_async(tx, async |inner| inner.insert_async(3).await).await?;
        Ok::<_, tenure::tx::TxError<ScriptedError, ScriptedError>>(())
    })
    .await
    .unwrap();
    assert_eq!(server.rows(), [1, 3]);
    assert_eq!(
        server.log(),
        [
            "BEGIN",
            "INSERT 1",
            "SAVEPOINT tenure_sp_1",
            "INSERT 2",
            "ROLLBACK TO tenure_sp_1",
            "SAVEPOINT tenure_sp_1",
            "INSERT 3",
            "RELEASE tenure_sp_1",
            "COMMIT"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_waits_its_backoff_on_the_tokio_timer() {
    let server = Server::new();
    let mut conn = server.connect();
    let opts = Options {
        retry: Some(Retry {
            attempts: 3,
            backoff: std::time::Duration::from_secs(10),
            max_backoff: std::time::Duration::from_secs(10),
            on_busy: false,
        }),
        ..Options::default()
    };
    let start = tokio::time::Instant::now();
    let n = opts
        .run_async(&mut conn, async |tx| {
            if Tx::attempt(tx) < 3 {
                tx.reject_next(Op::Statement, Rejection::new(Class::Serialization));
            }
            tx.insert_async(1).await?;
            Ok::<_, ScriptedError>(Tx::attempt(tx))
        })
        .await
        .unwrap();
    assert_eq!(n, 3);
    // Two backoffs of 5..=10 s each, on paused (virtual) time.
    let waited = start.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(10)
            && waited <= std::time::Duration::from_secs(21),
        "{waited:?}"
    );
    assert_eq!(server.rows(), [1]);
}

#[test]
fn retry_without_a_runtime_waits_on_a_thread() {
    let server = Server::new();
    let mut conn = server.connect();
    let opts = Options {
        retry: Some(Retry {
            backoff: std::time::Duration::from_millis(1),
            ..Retry::default()
        }),
        ..Options::default()
    };
    let n = futures::executor::block_on(opts.run_async(&mut conn, async |tx| {
        if Tx::attempt(tx) == 1 {
            tx.reject_next(Op::Statement, Rejection::new(Class::Deadlock));
        }
        tx.insert_async(1).await?;
        Ok::<_, ScriptedError>(Tx::attempt(tx))
    }))
    .unwrap();
    assert_eq!(n, 2);
}

/// What a transaction of two inserts leaves when its future is dropped after its `k`th
/// pending poll: the server's log, rows, open transactions, and the connection's state.
async fn cancel_after(
    k: usize,
) -> (
    bool,
    Vec<String>,
    Vec<i64>,
    usize,
    State,
    ScriptedConnection,
    Server,
) {
    let server = Server::new();
    let mut conn = server.connect();
    let done = CancelAfter::new(
        transaction_async(&mut conn, async |tx| {
            tx.insert_async(1).await?;
            tx.insert_async(2).await
        }),
        k,
    )
    .await
    .is_some();
    let state = conn.state();
    (
        done,
        server.log(),
        server.rows(),
        server.open_transactions(),
        state,
        conn,
        server,
    )
}

#[tokio::test]
async fn a_future_dropped_at_any_await_point_leaves_the_connection_not_idle() {
    let mut k = 1;
    loop {
        let (done, log, rows, open, state, mut conn, server) = cancel_after(k).await;
        if done {
            assert_eq!(rows, [1, 2]);
            assert_eq!(state, State::Idle);
            break;
        }
        // Never reads clean while the server may hold a transaction (or has committed one
        // whose reply was not seen).
        assert_ne!(state, State::Idle, "after {k} pendings: {log:?}");
        assert!(log.len() <= 4, "nothing sent after the drop: {log:?}");
        assert!(!log.iter().any(|s| s == "ROLLBACK"), "{log:?}");
        if log.last().map(String::as_str) == Some("COMMIT") {
            assert_eq!(rows, [1, 2], "COMMIT reached the server: committed");
            assert_eq!(state, State::Unknown, "its reply was not seen");
        } else {
            assert!(rows.is_empty());
            assert_eq!(open, usize::from(!log.is_empty()));
        }
        // What a pool's reset does: roll back; "no transaction" after a landed COMMIT is fine.
        match AsyncTransactional::rollback(&mut conn).await {
            Ok(()) => {}
            Err(e) => assert_eq!(e.class, Class::NoTransaction, "{e}"),
        }
        assert_eq!(conn.state(), State::Idle);
        assert_eq!(server.open_transactions(), 0);
        k += 1;
        assert!(k < 100);
    }
    // BEGIN (2 pendings), 2 inserts (4), COMMIT (2): 8 await points in all.
    assert_eq!(k, 9);
}

#[tokio::test]
async fn a_bare_connection_left_open_by_a_cancelled_transaction_is_refused() {
    let server = Server::new();
    let mut conn = server.connect();
    let cancelled = CancelAfter::new(
        transaction_async(&mut conn, async |tx| {
            tx.insert_async(1).await?;
            std::future::pending::<()>().await;
            Ok::<_, ScriptedError>(())
        }),
        5,
    )
    .await;
    assert!(cancelled.is_none());
    assert_eq!(conn.state(), State::Open { depth: 1 });
    let err = transaction_async(&mut conn, async |tx| tx.insert_async(2).await)
        .await
        .unwrap_err();
    assert!(matches!(err.failure(), Failure::NotReady { .. }));
    assert_eq!(server.log(), ["BEGIN", "INSERT 1"]);
}

#[tokio::test]
async fn a_commit_hung_then_dropped_leaves_unknown_and_a_lost_reply_is_unknown() {
    let server = Server::new();
    let faults = Faults::new();
    faults.inject(Op::Commit, "conn", 1, Fault::Hang);
    faults.fail_nth(Op::Commit, "conn", 2);
    let mut conn = server.connect_with(faults);
    let r = tokio::time::timeout(
        std::time::Duration::from_millis(20),
        transaction_async(&mut conn, async |tx| tx.insert_async(1).await),
    )
    .await;
    assert!(r.is_err(), "hung");
    assert_eq!(conn.state(), State::Unknown);
    assert_eq!(server.rows(), [1]);
    AsyncTransactional::rollback(&mut conn).await.unwrap_err(); // no transaction: it committed
    assert_eq!(conn.state(), State::Idle);

    let err = transaction_async(&mut conn, async |tx| tx.insert_async(2).await)
        .await
        .unwrap_err();
    assert!(err.is_commit_unknown());
    assert_eq!(server.rows(), [1, 2]);
    assert!(conn.is_lost());
}
