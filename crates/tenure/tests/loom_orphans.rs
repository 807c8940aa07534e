//! Loom model of the orphan tracker's concurrent protocol (`src/orphan.rs`).
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p tenure --no-default-features --features testing --test loom_orphans --release
//! ```
//!
//! **Covered** (exhaustively: every interleaving, no preemption bound, with the real `Orphans`, `Join`, `State`
//! and `Batch::drop` code compiled against loom's `Arc`, `Mutex` and `Condvar` through
//! `src/sync.rs`):
//!
//! - batches counted in on one thread (as `adopt` does before spawning them) and finished
//!   on two others (as a tokio task or the helper thread finishes them, by dropping the
//!   `Batch`), while a third waits in `Orphans::join().await` (polled by loom's `block_on`,
//!   so a lost waker is a deadlock loom reports) or in `Orphans::join_timeout`;
//! - `join` never misses the last completion, and never resolves while a counted batch is
//!   still pending: when it resolves, every batch counted in before it was polled has
//!   finished and every error those batches recorded is visible to `take_errors`/`stats`;
//! - a batch counted in while a join waits (a new orphan mid-shutdown) does not strand the
//!   joiner, and the counts balance once every thread is done;
//! - two joiners (one async, one blocking) both wake on the same last completion.
//!
//! **Not covered**: running the cleanup futures themselves (tokio's scheduler and timers,
//! the helper thread's executor and its deadline are not ours to model; loom cannot drive
//! tokio); the deadline expiring in `join_timeout` (loom's `Condvar::wait_timeout` never
//! times out, so here it behaves as an untimed wait — which is what makes a missed
//! notification show up as a deadlock); the global `orphans()` (a std `OnceLock`); and
//! `Batch`'s hand-over to the helper thread when its runtime shuts down. Those paths are
//! exercised by the ordinary tests (`orphans_join.rs`, `async_orphan_faults.rs`,
//! `async_stress.rs`).
#![cfg(loom)]

use std::time::Duration;

use loom::future::block_on;
use loom::thread;
use tenure::orphan::{model, Orphans};

/// Explores every interleaving: no preemption bound unless `LOOM_MAX_PREEMPTIONS` sets
/// one (the four models take ~20 s unbounded in release).
fn check(f: impl Fn() + Sync + Send + 'static) {
    loom::model::Builder::new().check(f);
}

#[test]
fn join_waits_for_two_batches_finished_on_other_threads() {
    check(|| {
        let orphans = Orphans::new();
        // Counted on the dropping thread, before they are handed over.
        let a = model::adopt(&orphans);
        let b = model::adopt(&orphans);
        let ta = thread::spawn(move || {
            a.succeed();
            drop(a);
        });
        let tb = thread::spawn(move || {
            b.fail("b");
            drop(b);
        });

        block_on(orphans.join());
        // Never resolves while one is pending; what they recorded is visible.
        assert_eq!(orphans.pending(), 0);
        let stats = orphans.stats();
        assert_eq!((stats.batches, stats.finished), (2, 2));
        assert_eq!((stats.succeeded, stats.failed), (1, 1));
        assert_eq!(orphans.take_errors().len(), 1);

        ta.join().unwrap();
        tb.join().unwrap();
    });
}

#[test]
fn join_timeout_waits_for_two_batches_finished_on_other_threads() {
    check(|| {
        let orphans = Orphans::new();
        let a = model::adopt(&orphans);
        let b = model::adopt(&orphans);
        let ta = thread::spawn(move || {
            a.fail("a");
            drop(a);
        });
        let tb = thread::spawn(move || drop(b));

        // loom's timed wait never times out: a missed notification would deadlock here.
        assert!(orphans.join_timeout(Duration::from_secs(3600)));
        assert_eq!(orphans.pending(), 0);
        let stats = orphans.stats();
        assert_eq!((stats.batches, stats.finished, stats.failed), (2, 2, 1));

        ta.join().unwrap();
        tb.join().unwrap();
    });
}

#[test]
fn a_batch_counted_in_while_join_waits_is_awaited_or_counted_after() {
    check(|| {
        let orphans = Orphans::new();
        let first = model::adopt(&orphans);
        let late_orphans = orphans.clone();
        // Finishes the first batch, then a new orphan appears and finishes on this thread.
        let t = thread::spawn(move || {
            drop(first);
            let late = model::adopt(&late_orphans);
            late.fail("late");
            drop(late);
        });

        block_on(orphans.join());
        // It did not resolve while the first batch was pending (the late one may or may not
        // have been counted in yet: either way join resolved at a moment with none pending,
        // or loom would report the waiting thread deadlocked).
        assert!(orphans.stats().finished >= 1);

        t.join().unwrap();
        let stats = orphans.stats();
        assert_eq!((stats.batches, stats.finished, stats.failed), (2, 2, 1));
        assert_eq!(orphans.pending(), 0);
    });
}

#[test]
fn two_joiners_both_wake_on_the_last_completion() {
    check(|| {
        let orphans = Orphans::new();
        let batch = model::adopt(&orphans);
        let other = orphans.clone();
        let joiner = thread::spawn(move || {
            block_on(other.join());
            assert_eq!(other.pending(), 0);
        });
        let finisher = thread::spawn(move || drop(batch));

        assert!(orphans.join_timeout(Duration::from_secs(3600)));
        assert_eq!(orphans.stats().finished, 1);

        joiner.join().unwrap();
        finisher.join().unwrap();
    });
}
