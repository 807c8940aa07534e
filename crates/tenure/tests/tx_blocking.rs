//! `tx::transaction` and its forms, blocking, on the scripted connection: what reached the
//! server (its log and committed rows) and what came back, on every path — commit, body
//! error, panic, failed BEGIN / COMMIT / ROLLBACK, a transaction the database ended on its
//! own, nesting, retry, a connection not idle.
#![cfg(feature = "testing")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use tenure::error::BoxError;
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::tx::{Rejection, ScriptedError, Server};
use tenure::testing::{Faults, Op};
use tenure::tx::{
    transaction, transaction_dyn, Class, Failure, Mode, Options, Retry, Session, State,
    Transactional, Tx,
};

fn retry(attempts: u32) -> Options {
    Options {
        mode: Mode::Deferred,
        retry: Some(Retry {
            attempts,
            backoff: std::time::Duration::from_micros(50),
            ..Retry::default()
        }),
    }
}

#[test]
fn ok_commits_and_returns_the_value() {
    let server = Server::new();
    let mut conn = server.connect();
    let v = transaction(&mut conn, |tx| {
        tx.insert(1)?;
        tx.insert(2)?;
        Ok::<_, ScriptedError>("done")
    })
    .unwrap();
    assert_eq!(v, "done");
    assert_eq!(server.rows(), [1, 2]);
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "INSERT 2", "COMMIT"]);
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn err_rolls_back_and_returns_the_body_error_alone() {
    let server = Server::new();
    let mut conn = server.connect();
    let err = transaction(&mut conn, |tx| {
        tx.insert(1).unwrap();
        Err::<(), _>(std::io::Error::other("constraint"))
    })
    .unwrap_err();
    assert_eq!(err.body().unwrap().to_string(), "constraint");
    assert!(err.cleanup().is_none());
    assert_eq!(err.attempts(), 1);
    assert!(server.rows().is_empty());
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "ROLLBACK"]);
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_panic_rolls_back_then_resumes() {
    let server = Server::new();
    let mut conn = server.connect();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = transaction(&mut conn, |tx| {
            tx.insert(1)?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok::<(), ScriptedError>(())
        });
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "ROLLBACK"]);
    assert!(server.rows().is_empty());
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_rollback_failure_during_a_panic_goes_to_the_sink() {
    let sink = Arc::new(CollectingSink::new(8));
    tenure::sink::set_default(sink.clone());
    let server = Server::new();
    let mut conn = server.connect();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = transaction(&mut conn, |tx| {
            tx.reject_next(Op::Rollback, Rejection::new(Class::Other));
            panic!("boom");
            #[allow(unreachable_code)]
            Ok::<(), ScriptedError>(())
        });
    }));
    assert!(caught.is_err());
    let reports: Vec<_> = sink
        .take()
        .into_iter()
        .filter(|r| r.context().starts_with("tx::"))
        .collect();
    assert!(
        matches!(&reports[..], [DropReport::Cleanup { error, .. }]
            if error.resource() == "transaction" && error.cause::<ScriptedError>().unwrap().statement == "ROLLBACK"),
        "{reports:?}"
    );
}

#[test]
fn a_failed_rollback_rides_beside_the_body_error() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.reject_next(Op::Rollback, Rejection::new(Class::Other));
    let err = transaction(&mut conn, |tx| {
        tx.insert(1).unwrap();
        Err::<(), _>(std::io::Error::other("body failed"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "body failed (+1 cleanup error)");
    assert_eq!(
        err.report().to_string(),
        "body failed (+1 cleanup error)\n  cleanup: failed to close `transaction`: `ROLLBACK` failed: rejected"
    );
    assert_eq!(conn.state(), State::Open { depth: 1 }); // still open: the pool's reset's job
}

#[test]
fn a_transaction_the_database_ended_is_not_rolled_back_again() {
    let server = Server::new();
    let mut conn = server.connect();
    let err = transaction(&mut conn, |tx| {
        tx.insert(1)?;
        tx.reject_next(
            Op::Statement,
            Rejection::new(Class::Other).ending_transaction(),
        );
        tx.insert(2)
    })
    .unwrap_err();
    assert!(err.cleanup().is_none(), "{err:?}");
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "INSERT 2"]); // no ROLLBACK sent
    assert!(server.rows().is_empty());
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_rollback_answered_no_transaction_is_not_a_cleanup_failure() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.reject_next(Op::Rollback, Rejection::new(Class::NoTransaction));
    let err = transaction(&mut conn, |tx| {
        tx.insert(1).unwrap();
        Err::<(), _>(std::io::Error::other("body failed"))
    })
    .unwrap_err();
    assert!(err.cleanup().is_none(), "{err:?}");
    assert_eq!(err.to_string(), "body failed");
}

#[test]
fn a_failed_begin_runs_no_body() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.reject_next(Op::Begin, Rejection::new(Class::Busy));
    let mut ran = false;
    let err = transaction(&mut conn, |_| {
        ran = true;
        Ok::<_, ScriptedError>(())
    })
    .unwrap_err();
    assert!(!ran);
    assert!(matches!(err.failure(), Failure::Begin(e) if e.class == Class::Busy));
    assert_eq!(
        err.report().to_string(),
        "could not begin the transaction: `BEGIN` failed: database is locked"
    );
}

#[test]
fn a_commit_the_server_refused_is_rolled_back() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.reject_next(Op::Commit, Rejection::new(Class::Other));
    let err = transaction(&mut conn, |tx| tx.insert(1)).unwrap_err();
    assert!(matches!(err.failure(), Failure::Commit(_)));
    assert!(err.cleanup().is_none());
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "COMMIT", "ROLLBACK"]);
    assert!(server.rows().is_empty());
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn a_commit_whose_reply_is_lost_is_unknown_and_not_retried() {
    let server = Server::new();
    let faults = Faults::new();
    faults.fail_nth(Op::Commit, "conn", 1);
    let mut conn = server.connect_with(faults);
    let mut runs = 0;
    let err = retry(5)
        .run(&mut conn, |tx| {
            runs += 1;
            tx.insert(1)
        })
        .unwrap_err();
    assert!(err.is_commit_unknown());
    assert_eq!((runs, err.attempts()), (1, 1));
    assert_eq!(server.rows(), [1]); // it did land
    assert_eq!(conn.state(), State::Unknown);
    assert_eq!(server.log(), ["BEGIN", "INSERT 1", "COMMIT"]); // no rollback attempted
    assert_eq!(
        err.report().to_string(),
        "COMMIT was sent but no reply came: the transaction may or may not be committed: \
         `COMMIT` failed: connection lost: injected fault: commit #1 of `conn`"
    );
}

#[test]
fn a_connection_not_idle_is_refused_and_nothing_is_sent() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.begin(Mode::Deferred).unwrap();
    let err = transaction(&mut conn, |tx| tx.insert(1)).unwrap_err();
    assert!(matches!(
        err.failure(),
        Failure::NotReady {
            expected: State::Idle,
            found: State::Open { depth: 1 }
        }
    ));
    assert_eq!(server.log(), ["BEGIN"]);
    conn.rollback().unwrap();
    transaction(&mut conn, |tx| tx.insert(1)).unwrap();
    assert_eq!(server.rows(), [1]);
}

#[test]
fn nested_transactions_are_savepoints_and_a_failed_one_leaves_the_outer_usable() {
    let server = Server::new();
    let mut conn = server.connect();
    transaction(&mut conn, |tx| {
        tx.insert(1)?;
        let inner = transaction_dyn(tx, |inner| {
            inner.insert(2)?;
            Err::<(), BoxError>("inner failed".into())
        });
        assert_eq!(inner.unwrap_err().to_string(), "inner failed");
        transaction(tx, |inner| {
            inner.insert(3)?;
            transaction(inner, |deepest| deepest.insert(4))
                .map_err(|e| e.into_failure())
                .ok();
            Ok::<_, ScriptedError>(())
        })
        .unwrap();
        tx.insert(5)
    })
    .unwrap();
    assert_eq!(server.rows(), [1, 3, 4, 5]);
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
            "SAVEPOINT tenure_sp_2",
            "INSERT 4",
            "RELEASE tenure_sp_2",
            "RELEASE tenure_sp_1",
            "INSERT 5",
            "COMMIT"
        ]
    );
}

#[test]
fn a_savepoint_left_open_in_the_body_is_not_committed() {
    let server = Server::new();
    let mut conn = server.connect();
    let err = transaction(&mut conn, |tx| {
        tx.insert(1)?;
        Transactional::begin(tx, Mode::Deferred)?; // a savepoint begun and never ended
        tx.insert(2)
    })
    .unwrap_err();
    assert!(matches!(
        err.failure(),
        Failure::StateChanged {
            expected: State::Open { depth: 1 },
            found: State::Open { depth: 2 }
        }
    ));
    assert!(server.rows().is_empty());
    assert_eq!(server.log().last().unwrap(), "ROLLBACK");
    assert_eq!(conn.state(), State::Idle);
}

#[test]
fn retry_runs_the_body_again_after_a_retryable_error_and_counts_attempts() {
    for class in [Class::Serialization, Class::Deadlock, Class::BusySnapshot] {
        let server = Server::new();
        let mut conn = server.connect();
        let mut seen = vec![];
        let n = retry(3)
            .run(&mut conn, |tx| {
                seen.push(Tx::attempt(tx));
                if Tx::attempt(tx) < 3 {
                    tx.reject_next(Op::Statement, Rejection::new(class));
                }
                tx.insert(1)?;
                Ok::<_, ScriptedError>(Tx::attempt(tx))
            })
            .unwrap();
        assert_eq!((n, seen), (3, vec![1, 2, 3]), "{class:?}");
        assert_eq!(server.rows(), [1]);
        assert_eq!(
            server.log(),
            [
                "BEGIN", "INSERT 1", "ROLLBACK", "BEGIN", "INSERT 1", "ROLLBACK", "BEGIN",
                "INSERT 1", "COMMIT"
            ]
        );
    }
}

#[test]
fn retry_stops_after_its_attempts_and_says_how_many() {
    let server = Server::new();
    let mut conn = server.connect();
    let err = retry(2)
        .run(&mut conn, |tx| {
            tx.reject_next(Op::Statement, Rejection::new(Class::Serialization));
            tx.insert(1)
        })
        .unwrap_err();
    assert_eq!(err.attempts(), 2);
    assert_eq!(
        err.to_string(),
        "`INSERT 1` failed: could not serialize access due to concurrent update (after 2 attempts)"
    );
}

#[test]
fn busy_is_retried_only_when_the_policy_says_so() {
    for on_busy in [false, true] {
        let server = Server::new();
        let mut conn = server.connect();
        conn.reject_next(Op::Begin, Rejection::new(Class::Busy));
        let mut opts = retry(3);
        opts.retry.as_mut().unwrap().on_busy = on_busy;
        let r = opts.run(&mut conn, |tx| tx.insert(1));
        assert_eq!(r.is_ok(), on_busy);
    }
}

#[test]
fn other_errors_and_unconfirmed_rollbacks_are_not_retried() {
    let server = Server::new();
    let mut conn = server.connect();
    let mut runs = 0;
    let err = retry(3)
        .run(&mut conn, |tx| {
            runs += 1;
            tx.reject_next(Op::Statement, Rejection::new(Class::Other));
            tx.insert(1)
        })
        .unwrap_err();
    assert_eq!((runs, err.attempts()), (1, 1));

    // A retryable error whose rollback fails: the next attempt would start inside it.
    conn.reject_next(Op::Rollback, Rejection::new(Class::Other));
    let mut runs = 0;
    let err = retry(3)
        .run(&mut conn, |tx| {
            runs += 1;
            tx.reject_next(Op::Statement, Rejection::new(Class::Deadlock));
            tx.insert(1)
        })
        .unwrap_err();
    assert_eq!(runs, 1);
    assert!(err.cleanup().is_some());
}

#[test]
fn a_retryable_commit_failure_is_retried() {
    let server = Server::new();
    let mut conn = server.connect();
    conn.reject_next(
        Op::Commit,
        Rejection::new(Class::Serialization).ending_transaction(),
    );
    let n = retry(3)
        .run(&mut conn, |tx| {
            tx.insert(1)?;
            Ok::<_, ScriptedError>(Tx::attempt(tx))
        })
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(server.rows(), [1]);
    // The database ended the first attempt with its COMMIT: no ROLLBACK was sent.
    assert_eq!(
        server.log(),
        ["BEGIN", "INSERT 1", "COMMIT", "BEGIN", "INSERT 1", "COMMIT"]
    );
}

#[test]
#[cfg(feature = "anyhow")]
fn anyhow_bodies_are_classified_through_the_error_they_were_made_from() {
    let server = Server::new();
    let mut conn = server.connect();
    let n = retry(2)
        .run_dyn(&mut conn, |tx| {
            if Tx::attempt(tx) == 1 {
                tx.reject_next(Op::Statement, Rejection::new(Class::Deadlock));
            }
            tx.insert(1)?;
            Ok::<_, anyhow::Error>(Tx::attempt(tx))
        })
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(server.rows(), [1]);
}

#[test]
fn dyn_bodies_are_classified_through_the_wrapped_error() {
    let server = Server::new();
    let mut conn = server.connect();
    let n = retry(2)
        .run_dyn(&mut conn, |tx| {
            if Tx::attempt(tx) == 1 {
                tx.reject_next(Op::Statement, Rejection::new(Class::Deadlock));
            }
            tx.insert(2).map_err(BoxError::from)?;
            Ok::<_, BoxError>(Tx::attempt(tx))
        })
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(server.rows(), [2]);
}

#[test]
fn the_adapter_error_is_found_along_the_body_errors_chain() {
    #[derive(Debug, thiserror::Error)]
    #[error("saving the order")]
    struct AppError(#[source] ScriptedError);

    let server = Server::new();
    let mut conn = server.connect();
    let n = retry(2)
        .run(&mut conn, |tx| {
            if Tx::attempt(tx) == 1 {
                tx.reject_next(Op::Statement, Rejection::new(Class::Serialization));
            }
            tx.insert(1).map_err(AppError)?;
            Ok::<_, AppError>(Tx::attempt(tx))
        })
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn modes_reach_the_server() {
    let server = Server::new();
    let mut conn = server.connect();
    for mode in [Mode::Deferred, Mode::Immediate, Mode::ReadOnly] {
        Options { mode, retry: None }
            .run(&mut conn, |_| Ok::<_, ScriptedError>(()))
            .unwrap();
    }
    assert_eq!(
        server.log(),
        [
            "BEGIN",
            "COMMIT",
            "BEGIN IMMEDIATE",
            "COMMIT",
            "BEGIN READ ONLY",
            "COMMIT"
        ]
    );
}
