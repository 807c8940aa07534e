//! A scope or `close` cancelled in the middle of its cleanup hands the rest to the orphan
//! tracker; what it had already collected — the body's panic, cleanup errors, a cleanup
//! panic waiting to resume — has nowhere to be returned, so it is logged by name, not lost.
#![cfg(all(feature = "testing", feature = "tokio"))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{capture, quiet_expected_panics, warnings};
use tenure::orphan::Orphans;
use tenure::testing::{Ledger, Op};
use tenure::AsyncExitStack;
use tokio::sync::Notify;

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// A stack whose first cleanup (the resource, pushed last) fails and whose second waits
/// on `gate`, so that a timeout cancels the cleanup between the two.
fn held_up(ledger: &Ledger, gate: &Arc<Notify>, s: &mut AsyncExitStack) {
    let gate = gate.clone();
    s.async_callback(move || async move { gate.notified().await });
    s.named("conn").enter(ledger.acquire("conn").unwrap());
}

#[test]
fn a_body_panic_whose_cleanup_is_cancelled_is_logged_with_its_message() {
    quiet_expected_panics();
    let (ledger, orphans, gate) = (Ledger::new(), Orphans::new(), Arc::new(Notify::new()));
    ledger.faults().fail_nth(Op::Close, "conn", 1);
    let ((), events) = capture(|| {
        paused_runtime().block_on(async {
            let (l, o, g) = (ledger.clone(), orphans.clone(), gate.clone());
            let scope = async move {
                let mut stack = AsyncExitStack::new().with_orphans(o.clone());
                stack
                    .run(async move |s| {
                        held_up(&l, &g, s);
                        if std::hint::black_box(true) {
                            panic!("[expected] body boom");
                        }
                        Ok::<(), std::io::Error>(())
                    })
                    .await
            };
            let cancelled = tokio::time::timeout(Duration::from_secs(1), scope).await;
            assert!(cancelled.is_err(), "the timeout fired while cleanup waited");
            gate.notify_one();
            orphans.join().await;
        })
    });

    ledger.assert_all_released();
    let warns = warnings(&events);
    let body = warns
        .iter()
        .find(|w| w.message().contains("body panicked"))
        .expect("the body's panic is logged");
    assert!(body.message().contains("[expected] body boom"), "{body:?}");
    assert_eq!(
        body.field("context"),
        Some("async scope (cancelled in cleanup)")
    );
    assert!(
        warns
            .iter()
            .any(|w| w.message().contains("injected fault: close #1 of `conn`")),
        "the cleanup error collected before the cancellation is logged: {warns:?}"
    );
    assert_eq!(
        orphans.stats().succeeded,
        1,
        "the held-up cleanup still ran"
    );
}

/// Closes a stack whose first cleanup is held up by `gate`, cancels the close after one
/// (virtual) second, then lets the orphaned rest finish; returns the captured events.
fn cancel_a_held_up_close(
    ledger: &Ledger,
    orphans: &Orphans,
    gate: &Arc<Notify>,
) -> Vec<common::Captured> {
    let ((), events) = capture(|| {
        paused_runtime().block_on(async {
            let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
            held_up(ledger, gate, &mut stack);
            let cancelled = tokio::time::timeout(Duration::from_secs(1), stack.unwind()).await;
            assert!(cancelled.is_err());
            gate.notify_one();
            orphans.join().await;
        })
    });
    events
}

#[test]
fn a_cancelled_close_logs_the_errors_it_had_collected() {
    let (ledger, orphans, gate) = (Ledger::new(), Orphans::new(), Arc::new(Notify::new()));
    ledger.faults().fail_nth(Op::Close, "conn", 1);
    let events = cancel_a_held_up_close(&ledger, &orphans, &gate);

    ledger.assert_all_released();
    let warns = warnings(&events);
    let lost = warns
        .iter()
        .find(|w| w.message().contains("injected fault: close #1 of `conn`"))
        .expect("the close error is logged");
    assert_eq!(
        lost.field("context"),
        Some("AsyncExitStack::unwind (cancelled)")
    );
    assert_eq!(lost.field("resource"), Some("conn"));
}

#[test]
fn a_cleanup_panic_waiting_to_resume_is_logged_when_the_close_is_cancelled() {
    quiet_expected_panics();
    let (ledger, orphans, gate) = (Ledger::new(), Orphans::new(), Arc::new(Notify::new()));
    ledger.faults().panic_nth(Op::Close, "conn", 1);
    let events = cancel_a_held_up_close(&ledger, &orphans, &gate);

    ledger.assert_all_released();
    assert!(
        warnings(&events)
            .iter()
            .any(|w| w.message().contains("a cleanup panicked")
                && w.message()
                    .contains("injected fault: close #1 of `conn` (panic)")),
        "{events:?}"
    );
}
