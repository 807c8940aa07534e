//! Cancel at every await point: the scope future is polled N times and then dropped, for
//! every N from 0 until it completes on its own. Whatever the body had acquired by then —
//! resources, async callbacks, exit callbacks — is released exactly once, last first, even
//! when the drop lands in the middle of the body, of an acquisition, or of a close; exit
//! callbacks see `Cancelled`. The orphaned cleanup is awaited with `Orphans::join`.
#![cfg(all(feature = "testing", feature = "tokio"))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tenure::orphan::Orphans;
use tenure::testing::{Faults, InjectedFault, Ledger, Op, TestResource};
use tenure::{AsyncExitStack, Exit, Outcome, ScopeError};

/// Pending once, then ready: an await point the harness can stop at.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// An async acquisition (connect, open...) with an await point before it succeeds.
async fn acquire(ledger: &Ledger, kind: &'static str) -> Result<TestResource, InjectedFault> {
    yield_once().await;
    ledger.acquire(kind)
}

/// Every kind of entry, each tracked in the ledger, with awaits between them. Releasing a
/// callback's resource is what the callback does, so the ledger sees callbacks too and
/// `Op::Close` counts how many times each ran.
async fn body(
    s: &mut AsyncExitStack,
    ledger: &Ledger,
    seen: &Arc<Mutex<Vec<String>>>,
    body_done: &AtomicBool,
) -> Result<u32, InjectedFault> {
    let db = s.enter(acquire(ledger, "db").await?);
    yield_once().await;

    let flush = ledger.acquire("flush callback")?;
    s.async_callback(move || async move {
        yield_once().await;
        flush.release().unwrap();
    });
    let cache = s.enter(acquire(ledger, "cache").await?);
    yield_once().await;

    let exit = ledger.acquire("exit callback")?;
    let seen = seen.clone();
    s.try_push_async_exit(move |o: &Outcome<'_>| {
        seen.lock().unwrap().push(o.name().to_string());
        async move {
            yield_once().await;
            exit.release()?;
            Ok::<_, InjectedFault>(Exit::Propagate)
        }
    });
    let sync = ledger.acquire("sync callback")?;
    s.callback(move || sync.release().unwrap());
    let file = s.enter(acquire(ledger, "file").await?);
    yield_once().await;
    yield_once().await;
    body_done.store(true, Ordering::SeqCst);
    Ok((s[db].id() + s[cache].id() + s[file].id()) as u32)
}

struct Run {
    completed: bool,
    polls: usize,
}

/// Polls the scope `cancel_after` times (or until it finishes), drops it, waits for the
/// orphaned cleanup, and checks the ledger.
async fn run_once(cancel_after: usize, faults: Faults) -> Run {
    let ledger = Ledger::with_faults(faults);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let orphans = Orphans::new();
    let body_done = Arc::new(AtomicBool::new(false));
    let completed;
    let mut polls = 0;
    {
        let (ledger, seen, orphans, done) = (
            ledger.clone(),
            seen.clone(),
            orphans.clone(),
            body_done.clone(),
        );
        let mut scope = Box::pin(async move {
            let mut stack = AsyncExitStack::new().with_orphans(orphans);
            stack
                .run(async |s| body(s, &ledger, &seen, &done).await)
                .await
        });
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if polls == cancel_after {
                completed = false;
                break;
            }
            polls += 1;
            if let Poll::Ready(result) = Pin::as_mut(&mut scope).poll(&mut cx) {
                match result {
                    Ok(sum) => assert_eq!(sum, 1 + 3 + 6),
                    Err(ScopeError::Body {
                        error,
                        cleanup: None,
                    }) => assert_eq!(error.op, Op::Acquire),
                    Err(other) => panic!("unexpected scope result {other:?}"),
                }
                completed = true;
                break;
            }
        }
        drop(scope); // the cancellation, when it did not complete
    }
    orphans.join().await;

    let what = format!("cancelled after {cancel_after} polls");
    ledger.assert_all_released();
    let acquired = ledger.acquired_count();
    let acquired_ids: Vec<u64> = (1..=acquired).rev().collect();
    assert_eq!(ledger.release_order(), acquired_ids, "LIFO, {what}");
    let kinds = [
        "db",
        "flush callback",
        "cache",
        "exit callback",
        "sync callback",
        "file",
    ];
    let closes: u64 = kinds
        .iter()
        .map(|k| ledger.faults().count(Op::Close, k))
        .sum();
    assert_eq!(
        closes, acquired,
        "every cleanup ran exactly once (none only dropped), {what}"
    );
    // An exit callback sees the body's outcome if it started before the drop, and
    // `Cancelled` if it was orphaned (Python's `CancelledError` in `__aexit__`).
    let body_done = body_done.load(Ordering::SeqCst);
    for o in seen.lock().unwrap().iter() {
        match (completed, body_done) {
            (true, _) => assert_eq!(o, "success", "{what}"),
            (false, false) => assert_eq!(o, "cancelled", "{what}"),
            (false, true) => assert!(o == "success" || o == "cancelled", "{what}: {o}"),
        }
    }
    assert!(orphans.take_errors().is_empty(), "{what}");
    assert_eq!(orphans.pending(), 0);
    Run { completed, polls }
}

#[tokio::test]
async fn every_cleanup_runs_once_lifo_wherever_the_scope_is_dropped() {
    let mut cancel_points = 0;
    for n in 0.. {
        let run = run_once(n, Faults::new()).await;
        if run.completed {
            // 7 awaits in the body and its acquisitions, 5 in the cleanup (3 closes, the
            // async callback, the async exit callback): 12 pending polls, then done.
            assert_eq!(run.polls, 13);
            break;
        }
        cancel_points += 1;
    }
    // Before the first poll, then after each of the 12 pending polls.
    assert_eq!(cancel_points, 13);
}

#[tokio::test]
async fn the_same_holds_when_an_acquisition_fails_half_way() {
    for n in 0.. {
        let faults = Faults::new();
        faults.fail_nth(Op::Acquire, "cache", 1);
        if run_once(n, faults).await.completed {
            break;
        }
    }
}

#[tokio::test]
async fn the_same_holds_on_a_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let done = tokio::task::spawn_blocking(move || {
        handle.block_on(async {
            for n in 0.. {
                if run_once(n, Faults::new()).await.completed {
                    break;
                }
            }
        })
    });
    done.await.unwrap();
    rt.shutdown_background();
}

/// The same harness through the default entry points: `tenure::async_scope` and the global
/// `tenure::orphan::orphans()` tracker.
#[tokio::test]
async fn async_scope_and_the_global_tracker_too() {
    let mut cancel_points = 0;
    for n in 0.. {
        let ledger = Ledger::new();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let mut scope = {
            let (ledger, seen, done) = (ledger.clone(), seen.clone(), done.clone());
            Box::pin(tenure::AsyncExitStack::scope(async move |s| {
                body(s, &ledger, &seen, &done).await
            }))
        };
        let mut cx = Context::from_waker(Waker::noop());
        let completed = (0..n).any(|_| Pin::as_mut(&mut scope).poll(&mut cx).is_ready());
        drop(scope);
        tenure::orphan::orphans().join().await;
        ledger.assert_all_released();
        let lifo: Vec<u64> = (1..=ledger.acquired_count()).rev().collect();
        assert_eq!(ledger.release_order(), lifo, "cancelled after {n} polls");
        if completed {
            break;
        }
        cancel_points += 1;
    }
    assert_eq!(cancel_points, 13);
}
