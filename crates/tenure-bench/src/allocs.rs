//! `allocs_per_op`: allocator calls per operation, from a counting global allocator
//! (feature `allocs`: `cargo run --release -p tenure-bench --features allocs`).
//!
//! The counter is [`stats_alloc`]'s instrumented system allocator, installed below as the
//! binary's global allocator: it forwards every call, `realloc` included, to [`System`](std::alloc::System)
//! (glibc's `malloc`), and adds to a few atomic counters. No `unsafe` is needed on our
//! side: the crate provides the static and its `GlobalAlloc` impl.
//!
//! What is counted: calls that obtain memory — `alloc`, `alloc_zeroed` and `realloc` (a
//! growing `Vec` reallocates); frees are not counted (each pairs with one of those).
//! The counters are process-wide, so a pass counts every thread's allocations: right for
//! the pool rows, whose work runs on runtime and worker threads, and the reason a
//! counting pass runs alone (the harness runs it after the timed repetitions, untimed, see
//! [`per_op`]).
//!
//! Why a feature, off by default: the counters have no off switch, so they also run under
//! the timed loops. Two SeqCst atomic adds per call cost nothing where nothing allocates
//! (the `guard` rows: ratios unchanged) and little against big operations (`accumulate`:
//! tens of calls per operation of tens of µs or more), but the `stack` row makes ~2,000
//! allocator calls per 13 µs operation: with the counter its time rose by about a third and
//! its ratio went from 1.09 to 1.05 (medians of 7 processes each, `--quick`). The default
//! build therefore has no counter and times exactly as before; an `allocs` build adds the
//! counts, and its ratios of allocation-heavy rows are not comparable with a default
//! build's (the binary says so on stderr).

use std::hint::black_box;

#[cfg(feature = "allocs")]
mod counter {
    use std::alloc::System;

    use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

    #[global_allocator]
    static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

    /// Allocator calls that obtained memory so far, on every thread.
    pub(super) fn calls() -> Option<u64> {
        let stats = GLOBAL.stats();
        Some((stats.allocations + stats.reallocations) as u64)
    }

    /// Allocator calls that obtained memory while `f` ran.
    pub(super) fn count(f: impl FnOnce()) -> Option<u64> {
        let region = Region::new(GLOBAL);
        f();
        let change = region.change();
        Some((change.allocations + change.reallocations) as u64)
    }
}

#[cfg(not(feature = "allocs"))]
mod counter {
    pub(super) fn calls() -> Option<u64> {
        None
    }

    pub(super) fn count(f: impl FnOnce()) -> Option<u64> {
        f();
        None
    }
}

/// Whether this binary has the counter (feature `allocs`).
pub const ENABLED: bool = cfg!(feature = "allocs");

/// Allocator calls (`alloc`, `alloc_zeroed`, `realloc`) made while `f` runs, on any
/// thread; `None` when the binary was built without the counter (feature `allocs`).
pub fn count(f: impl FnOnce()) -> Option<u64> {
    counter::count(f)
}

/// Allocator calls (`alloc`, `alloc_zeroed`, `realloc`) made so far by the whole process;
/// the difference of two readings counts what ran between them, which lets a loop that
/// awaits (a pool row's task) count itself without its set-up. `None` without the counter.
pub fn calls() -> Option<u64> {
    counter::calls()
}

/// Allocator calls per operation over `ops` operations of `f` (at least one), its results
/// passed through [`black_box`] as in the timed loop: the measured loop, run once more,
/// untimed. One operation runs first, uncounted, so that one-time set-up (a lazily
/// created static, a first-use buffer) is not charged to the loop. `None` without the
/// counter.
///
/// The harness calls this for a [`Case`](crate::harness::Case) marked
/// [`allocs`](crate::harness::Case::allocs), after its timed repetitions; a bench with a
/// loop of its own (a pool row driving a runtime) can call it directly.
pub fn per_op<F: FnMut() -> R, R>(ops: u64, mut f: F) -> Option<f64> {
    if !ENABLED {
        // Without the counter nothing runs: no extra pass that could leave the heap (or
        // the code the timed loop is compiled into) different for the rows that follow.
        return None;
    }
    let ops = ops.max(1);
    black_box(f());
    let calls = count(|| {
        for _ in 0..ops {
            black_box(f());
        }
    })?;
    Some(calls as f64 / ops as f64)
}

#[cfg(all(test, feature = "allocs"))]
mod tests {
    use std::hint::black_box;
    use std::process::Command;

    use super::per_op;

    /// Set in the child process that runs one counting test alone.
    const ALONE: &str = "TENURE_BENCH_COUNT_ALONE";

    /// The counters are process-wide, and other tests allocate on their threads at the
    /// same time: a counting test reruns itself (`test`, its path) alone in a child process
    /// of this test binary, on one thread. Returns `true` in the parent once the child
    /// passed, `false` in the child, which then runs the test's body.
    fn rerun_alone(test: &str) -> bool {
        if std::env::var_os(ALONE).is_some() {
            return false;
        }
        let exe = std::env::current_exe().unwrap();
        let out = Command::new(exe)
            .args([test, "--exact", "--test-threads=1"])
            .env(ALONE, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{test} alone: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        true
    }

    #[test]
    fn a_loop_of_k_boxes_per_op_counts_k() {
        if rerun_alone("allocs::tests::a_loop_of_k_boxes_per_op_counts_k") {
            return;
        }
        for k in [0_u64, 1, 3, 17] {
            let allocs = per_op(100, || {
                for i in 0..k {
                    black_box(Box::new(i));
                }
            });
            assert_eq!(allocs, Some(k as f64), "{k} boxes per op");
        }
    }

    #[test]
    fn reallocations_count_and_setup_does_not() {
        if rerun_alone("allocs::tests::reallocations_count_and_setup_does_not") {
            return;
        }
        // A Vec collected from 4 elements: one alloc; pushed to 5 from empty: an alloc
        // (capacity 4) and a realloc.
        let four = per_op(10, || black_box((0..4_u64).collect::<Vec<_>>()));
        assert_eq!(four, Some(1.0));
        let grown = per_op(10, || {
            let mut v = Vec::new();
            for i in 0..5_u64 {
                v.push(black_box(i));
            }
            v
        });
        assert_eq!(grown, Some(2.0));
        // A value allocated on first use only is not charged to the loop.
        let lazy = std::sync::OnceLock::new();
        let once = per_op(10, || **lazy.get_or_init(|| Box::new(7_u64)));
        assert_eq!(once, Some(0.0));
    }
}
