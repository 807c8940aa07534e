//! `Orphans::join` resolves only when no orphaned cleanup is in flight, so a program can
//! wait for them before it exits; an orphaned batch survives the shutdown of its runtime; a
//! finished batch is no longer pending; a dismissed async guard never runs its cleanup.
#![cfg(all(feature = "testing", feature = "tokio"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::async_close::AsyncClosing;
use tenure::async_guard::AsyncGuard;
use tenure::orphan::Orphans;
use tenure::testing::{Ledger, Op};
use tenure::{async_guard, AsyncExitStack};

/// Two callbacks that each sleep 50 ms (paused time in most tests; real on the helper).
fn slow_stack(ledger: &Ledger, orphans: &Orphans) -> AsyncExitStack {
    let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
    for _ in 0..2 {
        let conn = ledger.acquire("conn").unwrap();
        stack.async_callback(move || async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            conn.release().unwrap();
        });
    }
    stack
}

#[tokio::test(start_paused = true)]
async fn join_waits_until_no_cleanup_is_in_flight() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    drop(slow_stack(&ledger, &orphans));
    drop(slow_stack(&ledger, &orphans));
    assert_eq!(orphans.pending(), 2);
    assert_eq!(ledger.live_count(), 4, "nothing ran yet");

    orphans.join().await;

    assert_eq!(orphans.pending(), 0);
    ledger.assert_all_released();
    assert_eq!(orphans.stats().finished, 2);
    orphans.join().await; // nothing in flight: ready at once
}

#[test]
fn join_timeout_blocks_until_the_runtime_finished_them() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { drop(slow_stack(&ledger, &orphans)) });
    assert!(orphans.join_timeout(Duration::from_secs(60)));
    ledger.assert_all_released();
}

/// The blocking join gives up at its timeout while a cleanup is still held up, and an
/// unbounded one (`Duration::MAX`, no overflow) waits until it finished.
#[test]
fn join_timeout_gives_up_while_pending_and_max_waits() {
    let orphans = Orphans::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let open = gate.clone();
    rt.block_on(async {
        let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
        stack.async_callback(move || async move { gate.notified().await });
        drop(stack);
    });
    assert!(!orphans.join_timeout(Duration::from_millis(20)));
    assert_eq!(orphans.pending(), 1);
    open.notify_one();
    assert!(orphans.join_timeout(Duration::MAX));
    assert_eq!(orphans.stats().succeeded, 1);
}

#[test]
fn a_batch_survives_the_shutdown_of_its_runtime() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Spawned, but the runtime is dropped before it ever polls the task.
    rt.block_on(async { drop(slow_stack(&ledger, &orphans)) });
    drop(rt);
    assert_eq!(orphans.pending(), 0, "the helper thread finished the batch");
    ledger.assert_all_released();
    assert_eq!(
        ledger.faults().count(Op::Close, "conn"),
        2,
        "each callback ran once"
    );
    assert_eq!(ledger.release_order(), [2, 1]);
}

#[tokio::test(start_paused = true)]
async fn guards_report_to_the_tracker_too() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let conn = ledger.acquire("conn").unwrap();
    let g = async_guard::always(conn, |c| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        c.release().unwrap();
    });
    let g = AsyncGuard::with_orphans(g, orphans.clone());
    drop(g);
    ledger.faults().fail_nth(Op::Close, "db", 1);
    let c = AsyncClosing::named("db-1", ledger.acquire("db").unwrap());
    let c = AsyncClosing::with_orphans(c, orphans.clone());
    drop(c);
    assert_eq!(orphans.pending(), 2);
    orphans.join().await;
    ledger.assert_all_released();
    let errors = orphans.take_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].resource(), "db-1");
}

#[tokio::test(start_paused = true)]
async fn a_finish_cancelled_half_way_completes_as_a_task() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let conn = ledger.acquire("conn").unwrap();
    let g = async_guard::always(conn, |c| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        c.release().unwrap();
    });
    let g = AsyncGuard::with_orphans(g, orphans.clone());
    let r = tokio::time::timeout(Duration::from_secs(1), AsyncGuard::finish(g)).await;
    assert!(r.is_err());
    assert_eq!(ledger.live_count(), 1);
    orphans.join().await;
    ledger.assert_all_released();

    let c = AsyncClosing::new(ledger.acquire("conn").unwrap());
    let c = AsyncClosing::with_orphans(c, orphans.clone());
    AsyncClosing::close(c).await.unwrap();
    ledger.assert_all_released();
    let dismissed = async_guard::always(ledger.acquire("conn").unwrap(), |c| async move {
        c.release().unwrap()
    });
    let conn = AsyncGuard::into_inner(dismissed); // defused: the cleanup never runs
    assert_eq!(
        ledger.faults().count(Op::Close, "conn"),
        2,
        "the guard's and the close"
    );
    conn.release().unwrap();
}

#[test]
fn a_finished_batch_is_no_longer_pending() {
    // Without a runtime the batch runs on the helper, which the dropping thread waits for:
    // by the time drop returns, it has finished.
    let orphans = Orphans::new();
    let mut s = tenure::AsyncExitStack::new().with_orphans(orphans.clone());
    s.async_callback(|| async {});
    drop(s);
    assert_eq!(orphans.pending(), 0);
    assert_eq!(orphans.stats().finished, 1);
    assert!(orphans.join_timeout(Duration::from_millis(1)));
}

#[tokio::test]
async fn a_dismissed_async_guard_never_runs_its_cleanup() {
    let orphans = Orphans::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let g = async_guard::always((), move |()| async move {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let g = AsyncGuard::with_orphans(g, orphans.clone());
    AsyncGuard::dismiss(g);
    orphans.join().await;
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(orphans.stats().batches, 0, "nothing was orphaned");
}
