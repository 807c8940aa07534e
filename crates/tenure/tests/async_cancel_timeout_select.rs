//! A scope cancelled by `tokio::time::timeout`, by losing a `select!`, by `abort()`, or a
//! `close()` cancelled half-way: the pending cleanup still runs, once each, last first, and
//! exit callbacks see `Cancelled`. Time is paused, so nothing waits for real.
#![cfg(all(feature = "testing", feature = "tokio"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::orphan::Orphans;
use tenure::testing::{Ledger, Op};
use tenure::{AsyncExitStack, Exit, Outcome, ScopeError};

type Seen = Arc<Mutex<Vec<String>>>;

/// A request handler: opens two connections and a lock, then does slow work.
async fn handler(
    orphans: Orphans,
    ledger: Ledger,
    seen: Seen,
    work: Duration,
) -> Result<&'static str, ScopeError<std::io::Error>> {
    let mut stack = AsyncExitStack::new().with_orphans(orphans);
    stack
        .run(async |s| {
            s.enter(ledger.acquire("conn").unwrap());
            tokio::time::sleep(Duration::from_millis(1)).await;
            s.enter(ledger.acquire("conn").unwrap());
            let seen = seen.clone();
            s.try_push_exit(move |o: &Outcome<'_>| {
                seen.lock().unwrap().push(o.name().into());
                Ok::<_, std::io::Error>(Exit::Propagate)
            });
            let lock = ledger.acquire("lock").unwrap();
            s.async_callback(move || async move {
                tokio::time::sleep(Duration::from_millis(5)).await; // an async release
                lock.release().unwrap();
            });
            tokio::time::sleep(work).await;
            Ok("done")
        })
        .await
}

fn assert_cleaned_up(ledger: &Ledger, seen: &Seen, outcome: &str) {
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [3, 2, 1]);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 2);
    assert_eq!(ledger.faults().count(Op::Close, "lock"), 1);
    assert_eq!(*seen.lock().unwrap(), [outcome]);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_around_the_scope_still_runs_its_cleanup() {
    let (orphans, ledger, seen) = (Orphans::new(), Ledger::new(), Seen::default());
    let r = tokio::time::timeout(
        Duration::from_secs(1),
        handler(
            orphans.clone(),
            ledger.clone(),
            seen.clone(),
            Duration::from_secs(60),
        ),
    )
    .await;
    assert!(r.is_err(), "timed out");
    orphans.join().await;
    assert_cleaned_up(&ledger, &seen, "cancelled");
    assert_eq!(orphans.stats().batches, 1);
    assert_eq!(
        orphans.stats().succeeded,
        4,
        "2 closes, the exit and the async callback"
    );
}

#[tokio::test(start_paused = true)]
async fn the_loser_of_a_select_still_runs_its_cleanup() {
    let (orphans, seen) = (Orphans::new(), Seen::default());
    let (fast, slow) = (Ledger::new(), Ledger::new());
    let (fast_seen, slow_seen) = (Seen::default(), seen.clone());
    let winner = tokio::select! {
        r = handler(orphans.clone(), fast.clone(), fast_seen.clone(), Duration::from_secs(1)) => r.unwrap(),
        r = handler(orphans.clone(), slow.clone(), slow_seen, Duration::from_secs(60)) => r.unwrap(),
    };
    assert_eq!(winner, "done");
    orphans.join().await;
    assert_cleaned_up(&fast, &fast_seen, "success");
    assert_cleaned_up(&slow, &seen, "cancelled");
}

#[tokio::test(start_paused = true)]
async fn an_aborted_task_still_runs_its_cleanup() {
    let (orphans, ledger, seen) = (Orphans::new(), Ledger::new(), Seen::default());
    let task = tokio::spawn(handler(
        orphans.clone(),
        ledger.clone(),
        seen.clone(),
        Duration::from_secs(60),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    orphans.join().await;
    assert_cleaned_up(&ledger, &seen, "cancelled");
}

#[tokio::test(start_paused = true)]
async fn a_close_cancelled_half_way_finishes_as_a_task() {
    let (orphans, ledger) = (Orphans::new(), Ledger::new());
    let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
    for _ in 0..3 {
        let conn = ledger.acquire("conn").unwrap();
        stack.async_callback(move || async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            conn.release().unwrap();
        });
    }
    // The first callback finishes; the second is in flight when the timeout fires.
    let r = tokio::time::timeout(Duration::from_millis(1500), stack.unwind()).await;
    assert!(r.is_err());
    assert_eq!(ledger.release_order(), [3]);
    assert!(
        stack.is_empty(),
        "the rest belongs to the orphaned task now"
    );
    orphans.join().await;
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [3, 2, 1]);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_scope_through_the_global_tracker() {
    let ledger = Ledger::new();
    let l = ledger.clone();
    let r = tokio::time::timeout(
        Duration::from_secs(1),
        tenure::AsyncExitStack::scope(async move |s| {
            s.enter(l.acquire("conn").unwrap());
            std::future::pending::<()>().await;
            Ok::<_, std::io::Error>(())
        }),
    )
    .await;
    assert!(r.is_err());
    tenure::orphan::orphans().join().await;
    ledger.assert_all_released();
}
