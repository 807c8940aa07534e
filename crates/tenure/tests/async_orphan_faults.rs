//! Orphaned cleanup that fails, panics or hangs past its deadline: the others still run,
//! in order; each problem is reported (as an error kept by the tracker, and through
//! `tracing`); nothing hangs. Time is paused where the deadline is a tokio timer.
#![cfg(feature = "testing")]

use std::time::Duration;

use tenure::orphan::Orphans;
use tenure::testing::Ledger;
use tenure::{AsyncExitStack, ErrorKind};

#[cfg(feature = "tokio")]
mod on_a_runtime {
    use super::*;
    use tenure::async_close::async_close_with;
    use tenure::testing::Op;

    /// Five connections in a stack with the given deadline and tracker.
    fn stack_of_five(ledger: &Ledger, orphans: &Orphans, deadline: Duration) -> AsyncExitStack {
        let mut stack = AsyncExitStack::new()
            .with_deadline(deadline)
            .with_orphans(orphans.clone());
        for _ in 0..5 {
            stack.named("conn").enter(ledger.acquire("conn").unwrap());
        }
        stack
    }

    #[tokio::test]
    async fn failing_cleanups_are_reported_and_the_others_run() {
        let (ledger, orphans) = (Ledger::new(), Orphans::new());
        ledger.faults().fail_nth(Op::Close, "conn", 2);
        ledger.faults().fail_nth(Op::Close, "conn", 4);
        drop(stack_of_five(&ledger, &orphans, Duration::from_secs(30)));
        orphans.join().await;

        ledger.assert_all_released();
        assert_eq!(ledger.release_order(), [5, 4, 3, 2, 1]);
        let errors = orphans.take_errors();
        assert_eq!(errors.len(), 2);
        assert!(errors
            .iter()
            .all(|e| e.kind() == ErrorKind::Close && e.resource() == "conn"));
        let stats = orphans.stats();
        assert_eq!(
            (stats.succeeded, stats.failed, stats.batches, stats.finished),
            (3, 2, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_panicking_cleanup_is_caught_reported_and_the_others_run() {
        let (ledger, orphans) = (Ledger::new(), Orphans::new());
        ledger.faults().panic_nth(Op::Close, "conn", 3);
        drop(stack_of_five(&ledger, &orphans, Duration::from_secs(30)));
        orphans.join().await;

        ledger.assert_all_released();
        assert_eq!(ledger.faults().count(Op::Close, "conn"), 5);
        let errors = orphans.take_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind(), ErrorKind::Panic);
        assert!(errors[0]
            .detail()
            .unwrap()
            .contains("injected fault: close #3"));
        assert_eq!(orphans.stats().panicked, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cleanup_past_its_deadline_is_abandoned_and_the_next_runs() {
        let (ledger, orphans) = (Ledger::new(), Orphans::new());
        let mut stack = AsyncExitStack::new()
            .with_deadline(Duration::from_secs(5))
            .with_orphans(orphans.clone());
        stack.enter(ledger.acquire("conn").unwrap());
        stack.named("stuck").enter(async_close_with((), |()| async {
            std::future::pending::<Result<(), std::io::Error>>().await
        }));
        stack.enter(ledger.acquire("conn").unwrap());
        let before = tokio::time::Instant::now();
        drop(stack);
        orphans.join().await;

        assert!(
            before.elapsed() >= Duration::from_secs(5),
            "the deadline was waited for"
        );
        ledger.assert_all_released();
        assert_eq!(ledger.release_order(), [2, 1]);
        let errors = orphans.take_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind(), ErrorKind::Timeout);
        assert_eq!(errors[0].resource(), "stuck");
        assert_eq!(orphans.stats().timed_out, 1);
    }

    #[tokio::test]
    async fn a_runtime_without_timers_sends_the_batch_to_the_helper_thread() {
        let (ledger, orphans) = (Ledger::new(), Orphans::new());
        let (l, o) = (ledger.clone(), orphans.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(); // no time driver
            rt.block_on(async move { drop(stack_of_five(&l, &o, Duration::from_secs(30))) });
        })
        .join()
        .unwrap();
        assert!(orphans.join_timeout(Duration::from_secs(60)));
        ledger.assert_all_released();
        assert_eq!(ledger.release_order(), [5, 4, 3, 2, 1]);
    }
}

/// Without a runtime the deadline is real time: keep it small.
#[test]
fn without_a_runtime_a_hanging_cleanup_is_abandoned_at_its_deadline() {
    let (ledger, orphans) = (Ledger::new(), Orphans::new());
    let mut stack = AsyncExitStack::new()
        .with_deadline(Duration::from_millis(50))
        .with_orphans(orphans.clone());
    stack.enter(ledger.acquire("conn").unwrap());
    stack.async_callback(std::future::pending::<()>);
    stack.enter(ledger.acquire("conn").unwrap());
    drop(stack); // runs the batch on the helper thread and waits for it

    assert_eq!(orphans.pending(), 0);
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [2, 1]);
    let errors = orphans.take_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), ErrorKind::Timeout);
}
