//! An orphaned cleanup stuck on a timer of a runtime that then shuts down is given up at
//! once and reported as abandoned; the rest of its batch still runs (#13, point 4).
#![cfg(feature = "tokio")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::orphan::Orphans;
use tenure::{AsyncExitStack, ErrorKind};

#[test]
fn a_cleanup_stuck_on_a_dead_runtimes_timer_is_abandoned_and_the_rest_runs() {
    let orphans = Orphans::new();
    let ran_after = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    {
        let (orphans, ran_after) = (orphans.clone(), ran_after.clone());
        rt.block_on(async move {
            let mut s = AsyncExitStack::new()
                .with_orphans(orphans)
                .with_deadline(Duration::from_secs(5));
            s.named("runs last").async_callback(move || async move {
                ran_after.store(true, Ordering::SeqCst);
            });
            s.named("stuck on a timer").async_callback(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
            drop(s); // orphaned: a task on this runtime
                     // Let the task start and park on its timer.
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
    }
    assert_eq!(orphans.pending(), 1, "the stuck cleanup holds its batch");
    drop(rt); // shutdown drops the task mid-job
    assert_eq!(orphans.pending(), 0, "the batch completed");
    assert!(
        ran_after.load(Ordering::SeqCst),
        "the rest of the batch ran on the helper"
    );
    let errors = orphans.take_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), ErrorKind::Abandoned);
    assert_eq!(errors[0].resource(), "stuck on a timer");
    let stats = orphans.stats();
    assert_eq!(
        (stats.abandoned, stats.timed_out, stats.succeeded),
        (1, 0, 1)
    );
}

mod common;

#[test]
fn a_dropping_thread_held_by_a_slow_cleanup_is_told_which_one() {
    let orphans = Orphans::new();
    let ((), events) = common::capture(|| {
        // No runtime here: the batch runs on the helper thread and this thread waits.
        let mut s = AsyncExitStack::new().with_orphans(orphans.clone());
        s.named("slow flush").async_callback(|| async {
            tokio::time::sleep(Duration::from_millis(1200)).await;
        });
        drop(s);
    });
    assert_eq!(orphans.pending(), 0);
    assert_eq!(orphans.stats().succeeded, 1);
    let warned = common::warnings(&events).into_iter().any(|w| {
        w.message()
            .contains("still waiting for orphaned cleanup `slow flush` on the helper thread")
    });
    assert!(warned, "{events:#?}");
}
