//! Dropping an `AsyncExitStack` (or an async guard) outside any runtime still runs its
//! cleanup: on a small executor on a helper thread, which the dropping thread waits for.
#![cfg(feature = "testing")]

use std::sync::{Arc, Mutex};

use tenure::async_close::AsyncClosing;
use tenure::orphan::Orphans;
use tenure::testing::{Ledger, Op};
use tenure::{async_guard, AsyncExitStack, Exit, Outcome};

#[test]
fn dropping_a_stack_outside_a_runtime_runs_its_cleanup_before_drop_returns() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
    stack.enter(ledger.acquire("conn").unwrap()); // its close awaits once
    let s = seen.clone();
    stack.try_push_async_exit(move |o: &Outcome<'_>| {
        s.lock().unwrap().push(o.name().into());
        async { Ok::<_, std::io::Error>(Exit::Propagate) }
    });
    let flush = ledger.acquire("flush").unwrap();
    stack.async_callback(move || async move { flush.release().unwrap() });
    stack.enter(ledger.acquire("conn").unwrap());

    drop(stack);

    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [3, 2, 1]);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 2);
    assert_eq!(*seen.lock().unwrap(), ["cancelled"]);
    assert_eq!(orphans.pending(), 0);
    assert_eq!(orphans.stats().finished, 1);
}

#[cfg(feature = "tokio")]
#[test]
fn cleanup_that_needs_tokio_gets_a_runtime_on_the_helper_thread() {
    let ledger = Ledger::new();
    let mut stack = AsyncExitStack::new();
    let conn = ledger.acquire("conn").unwrap();
    stack.async_callback(move || async move {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        tokio::task::yield_now().await;
        conn.release().unwrap();
    });
    drop(stack);
    ledger.assert_all_released();
}

#[test]
fn dropping_async_guards_outside_a_runtime_runs_their_cleanup() {
    let ledger = Ledger::new();
    let conn = ledger.acquire("conn").unwrap();
    let guard = async_guard::always(conn, |c| async move { c.release().unwrap() });
    drop(guard);
    let closing = AsyncClosing::new(ledger.acquire("conn").unwrap());
    drop(closing);
    ledger.assert_all_released();
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 2);
}

#[test]
fn a_stack_dropped_during_a_panic_still_runs_its_cleanup() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (l, o, s) = (ledger.clone(), orphans.clone(), seen.clone());
    let r = std::panic::catch_unwind(move || {
        let mut stack = AsyncExitStack::new().with_orphans(o);
        stack.enter(l.acquire("conn").unwrap());
        stack.try_push_exit(move |o: &Outcome<'_>| {
            s.lock().unwrap().push(o.name().into());
            Ok::<_, std::io::Error>(Exit::Propagate)
        });
        panic!("request handler bug");
    });
    assert!(r.is_err());
    ledger.assert_all_released();
    assert_eq!(*seen.lock().unwrap(), ["panic"]);
}
