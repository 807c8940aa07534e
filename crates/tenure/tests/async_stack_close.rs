//! `AsyncExitStack::close` and `async_scope`: the `ExitStack` model, awaited.
#![cfg(feature = "testing")]

use std::sync::{Arc, Mutex};

use tenure::async_close::async_close_with;
use tenure::testing::{InjectedFault, Ledger, Op};
use tenure::{AsyncExitStack, ErrorKind, Exit, Outcome, ScopeError};

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::default()
}

fn push(log: &Log, s: impl Into<String>) {
    log.lock().unwrap().push(s.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn every_kind_of_entry_runs_once_last_first() {
    let ledger = Ledger::new();
    let log = log();
    let mut s = AsyncExitStack::new();
    let a = s.enter(ledger.acquire("conn").unwrap());
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    s.callback(move || push(&l1, "sync"));
    s.async_callback(move || async move {
        tokio::task::yield_now().await;
        push(&l2, "async")
    });
    s.try_push_exit(move |o: &Outcome<'_>| {
        push(&l3, format!("exit:{}", o.name()));
        Ok::<_, std::io::Error>(Exit::Propagate)
    });
    s.try_push_async_exit(move |o: &Outcome<'_>| {
        let name = o.name();
        async move {
            push(&l4, format!("async-exit:{name}"));
            Ok::<_, std::io::Error>(Exit::Propagate)
        }
    });
    let b = s.enter(ledger.acquire("conn").unwrap());
    assert_eq!(s[a].id(), 1);
    assert_eq!(s[b].id(), 2);
    assert_eq!(s.len(), 6);

    s.unwind().await.unwrap();

    assert_eq!(
        entries(&log),
        ["async-exit:success", "exit:success", "async", "sync"]
    );
    assert_eq!(ledger.release_order(), [2, 1]);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 2);
    ledger.assert_all_released();
    assert!(s.is_empty());
    assert!(s.get(a).is_err(), "handles die with the close");
}

#[tokio::test]
async fn all_cleanup_errors_are_returned_first_primary() {
    let ledger = Ledger::new();
    ledger.faults().fail_nth(Op::Close, "conn", 1);
    ledger.faults().fail_nth(Op::Close, "conn", 3);
    let mut s = AsyncExitStack::new();
    for _ in 0..3 {
        s.named("conn").enter(ledger.acquire("conn").unwrap());
    }
    s.try_async_callback(|| async { Err(std::io::Error::other("flush failed")) });

    let err = s.unwind().await.unwrap_err();

    let kinds: Vec<_> = err.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [ErrorKind::Callback, ErrorKind::Close, ErrorKind::Close]
    );
    assert!(err.report().to_string().contains("flush failed"));
    let closes: Vec<_> = err
        .suppressed()
        .iter()
        .map(|e| e.cause::<InjectedFault>().unwrap().n)
        .collect();
    assert_eq!(
        closes,
        [1, 3],
        "closes 1 and 3 failed, in the order they ran"
    );
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [3, 2, 1]);
}

#[tokio::test]
async fn a_cleanup_panic_resumes_after_all_ran() {
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 2);
    let mut s = AsyncExitStack::new();
    for _ in 0..3 {
        s.enter(ledger.acquire("conn").unwrap());
    }
    let run = tokio::spawn(async move { s.unwind().await });
    let err = run.await.unwrap_err();
    assert!(err.is_panic());
    ledger.assert_all_released();
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 3);
    assert_eq!(ledger.release_order(), [3, 2, 1]);
}

#[tokio::test]
async fn the_stack_is_reusable_after_close() {
    let log = log();
    let mut s = AsyncExitStack::new();
    for round in 0..3 {
        let l = log.clone();
        s.async_callback(move || async move { push(&l, format!("round {round}")) });
        s.unwind().await.unwrap();
    }
    assert_eq!(entries(&log), ["round 0", "round 1", "round 2"]);
}

#[tokio::test]
async fn pop_all_moves_entries_and_handles() {
    let ledger = Ledger::new();
    let mut setup = AsyncExitStack::new();
    let h = setup.enter(ledger.acquire("conn").unwrap());
    let mut kept = setup.pop_all();
    drop(setup);
    assert_eq!(
        ledger.live_count(),
        1,
        "nothing closed when the emptied stack dropped"
    );
    assert_eq!(kept[h].kind(), "conn");
    kept.unwind().await.unwrap();
    ledger.assert_all_released();
}

#[tokio::test]
async fn exit_callbacks_suppress_the_body_error_only_when_asked() {
    let r = AsyncExitStack::scope(async |s| {
        s.try_push_exit(|o: &Outcome<'_>| {
            Ok::<_, std::io::Error>(if o.is_failure() {
                Exit::Suppress
            } else {
                Exit::Propagate
            })
        });
        Err::<(), _>(std::io::Error::other("body failed"))
    })
    .await;
    assert!(matches!(r, Err(ScopeError::Suppressed(_))));

    let r = AsyncExitStack::scope(async |s| {
        s.try_push_async_exit(|_: &Outcome<'_>| async { Ok::<_, std::io::Error>(Exit::Propagate) });
        Err::<(), _>(std::io::Error::other("body failed"))
    })
    .await;
    assert!(matches!(r, Err(ScopeError::Body { cleanup: None, .. })));
}

#[tokio::test]
async fn scope_results_mirror_exit_stack() {
    let ok = AsyncExitStack::scope(async |s| {
        s.async_callback(|| async {});
        Ok::<_, std::io::Error>(7)
    })
    .await;
    assert_eq!(ok.unwrap(), 7);

    let cleanup = AsyncExitStack::scope(async |s| {
        s.named("db").enter(async_close_with((), |()| async {
            Err(std::io::Error::other("reset"))
        }));
        Ok::<_, std::io::Error>(())
    })
    .await
    .unwrap_err();
    assert!(matches!(cleanup, ScopeError::Cleanup(ref e) if e.resource() == "db"));

    let body = AsyncExitStack::scope(async |s| {
        s.named("db").enter(async_close_with((), |()| async {
            Err(std::io::Error::other("reset"))
        }));
        Err::<(), _>(std::io::Error::other("query failed"))
    })
    .await
    .unwrap_err();
    assert_eq!(body.body().unwrap().to_string(), "query failed");
    assert_eq!(body.cleanup().unwrap().resource(), "db");
}

#[tokio::test]
async fn a_body_panic_runs_cleanup_then_resumes() {
    let ledger = Ledger::new();
    let seen = log();
    let (l2, seen2) = (ledger.clone(), seen.clone());
    let task = tokio::spawn(async move {
        AsyncExitStack::scope(async |s| {
            s.enter(l2.acquire("conn").unwrap());
            let seen = seen2.clone();
            s.try_push_exit(move |o: &Outcome<'_>| {
                push(&seen, o.to_string());
                Ok::<_, std::io::Error>(Exit::Suppress) // a panic cannot be suppressed
            });
            tokio::task::yield_now().await;
            if true {
                panic!("body blew up");
            }
            Ok::<_, std::io::Error>(())
        })
        .await
    });
    let err = task.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(entries(&seen), ["panic: body blew up"]);
    ledger.assert_all_released();
}

#[tokio::test]
async fn run_closes_entries_pushed_before_and_inside() {
    let log = log();
    let mut s = AsyncExitStack::new();
    let l = log.clone();
    s.callback(move || push(&l, "before"));
    let v = s
        .run(async |s| {
            let l = log.clone();
            s.callback(move || push(&l, "inside"));
            Ok::<_, std::io::Error>(1)
        })
        .await
        .unwrap();
    assert_eq!(v, 1);
    assert_eq!(entries(&log), ["inside", "before"]);
    assert!(s.is_empty());
}

#[tokio::test]
async fn sync_resources_and_nested_stacks_close_in_turn() {
    let ledger = Ledger::new();
    let mut inner = AsyncExitStack::new();
    inner.enter(ledger.acquire("inner").unwrap());
    let mut outer = AsyncExitStack::new();
    outer.enter_sync(ledger.acquire("sync").unwrap());
    outer.enter(inner);
    outer.enter(ledger.acquire("last").unwrap());
    outer.unwind().await.unwrap();
    assert_eq!(ledger.release_order(), [3, 1, 2]);
}

#[tokio::test]
async fn a_panicking_async_callback_does_not_skip_the_others() {
    let log = log();
    let mut s = AsyncExitStack::new();
    for i in 0..4 {
        let l = log.clone();
        s.async_callback(move || async move {
            if i % 2 == 1 {
                tokio::task::yield_now().await; // one panics after a pending poll, one before
            }
            if i == 1 || i == 2 {
                panic!("callback {i} blew up");
            }
            push(&l, format!("cb{i}"));
        });
    }
    let err = tokio::spawn(async move { s.unwind().await })
        .await
        .unwrap_err();
    let payload = err.into_panic();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "callback 2 blew up",
        "the first panic resumes"
    );
    assert_eq!(entries(&log), ["cb3", "cb0"]);
}

#[tokio::test]
async fn enter_stack_splices_the_inner_entries_in_their_turn() {
    let log = log();
    let mut outer = AsyncExitStack::new();
    let l = log.clone();
    outer.callback(move || push(&l, "outer first"));
    let mut inner = AsyncExitStack::new();
    for name in ["inner a", "inner b"] {
        let l = log.clone();
        inner.async_callback(move || async move { push(&l, name) });
    }
    inner
        .named("inner flush")
        .try_async_callback(|| async { Err(std::io::Error::other("full")) });
    outer.splice(inner);
    let l = log.clone();
    outer.callback(move || push(&l, "outer last"));
    outer
        .named("audit")
        .try_push_exit(|_: &Outcome<'_>| Err::<Exit, _>(std::io::Error::other("denied")));

    let err = outer.unwind().await.unwrap_err();

    assert_eq!(
        entries(&log),
        ["outer last", "inner b", "inner a", "outer first"]
    );
    let names: Vec<_> = err.iter().map(|e| e.resource().to_string()).collect();
    assert_eq!(
        names,
        ["audit", "inner flush"],
        "flat, in the order they ran"
    );
}
