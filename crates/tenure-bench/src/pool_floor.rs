//! `pool/scenario=floor`: what an uncontended get + drop cannot cost less than, for a pool
//! that keeps hold times and leak detection (and checks lifetimes at checkout) — beside
//! tenure's and bb8's own uncontended get + drop, measured in the same process.
//!
//! The floor is a reference-counted pool reduced to what those features need on one
//! thread: clone the pool's `Arc` (a lease is `'static`), read the clock (the lease's start),
//! lock, pop an idle `u64`, unlock; then read the clock again (its hold time), lock, push
//! it back, unlock, drop the `Arc` — `parking_lot`'s mutex and `quanta`'s TSC clock, as
//! tenure uses them. Also reported: the same without the two clock reads (what bb8 and r2d2
//! pay, which read the clock only on their slow paths or coarsely), and the two clock
//! reads alone. tenure and bb8 run their `pool/tasks=1,size=2` loop (one task, `get().await`
//! and drop, on this module's caller's 2-worker runtime); the floor runs on the main thread,
//! and so do tenure's `get_blocking` and r2d2's `get` (the `pool_blocking/threads=1,size=2`
//! loop: `tenure_blocking_ns`, `r2d2_ns`). A `get_blocking` must also learn whether its
//! thread is inside a tokio runtime, and of which kind (it must not block a current-thread
//! runtime's own thread; tokio answers through `Handle::try_current`): `floor_blocking_ns`
//! is the floor plus that question, and `max_ratio_vs_r2d2` is r2d2's time over it (that
//! target is 2; r2d2 has no async callers, so nothing to ask).
//! Each side is timed over the same number of operations, five times interleaved; the
//! medians are reported. `max_ratio_vs_bb8` is bb8's time over the floor's: the most that
//! any pool with those features could show against bb8 on this machine (the issue's
//! uncontended target is 3).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::harness::{Harness, Mode};
use crate::pool::AsyncPool;

/// The reduced pool.
struct Floor {
    idle: Mutex<Vec<u64>>,
    clock: quanta::Clock,
}

impl Floor {
    /// One get + drop of the reduced pool, from an `Arc` of it.
    fn get_drop(self: &Arc<Self>) {
        let p = black_box(self.clone());
        let since = p.clock.now();
        let r = p.idle.lock().pop().expect("two idle");
        black_box(p.clock.now().saturating_duration_since(since)); // the hold time
        p.idle.lock().push(black_box(r));
    }
}

/// ns per operation of `n` uncontended `get().await` + drop on `pool`, in one task.
fn async_per_op<P: AsyncPool>(rt: &Runtime, pool: &'static P, n: u64) -> f64 {
    rt.block_on(async {
        tokio::spawn(async move {
            let t0 = Instant::now();
            for _ in 0..n {
                drop(black_box(pool.acquire().await));
            }
            t0.elapsed().as_nanos() as f64 / n as f64
        })
        .await
        .expect("the loop does not panic")
    })
}

/// Median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ns per operation of `n` runs of `f`.
fn per_op(n: u64, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// Runs the scenario.
pub fn run(h: &mut Harness, rt: &Runtime) {
    let name = "pool/scenario=floor";
    if !h.scenario_selected(name) {
        return;
    }
    let n: u64 = match h.mode() {
        Mode::Full => 2_000_000,
        Mode::Quick => 300_000,
        Mode::Smoke => 1_000,
    };
    let floor = Arc::new(Floor {
        idle: Mutex::new(vec![0, 1]),
        clock: quanta::Clock::new(),
    });
    let (tenure, bb8) = rt.block_on(async {
        let t: &'static _ = Box::leak(Box::new(crate::pool::tenure_pool(2)));
        let b: &'static _ = Box::leak(Box::new(crate::pool::bb8_pool(2)));
        drop(t.acquire().await);
        drop(b.acquire().await);
        (t, b)
    });
    let (tenure_blocking, r2d2) = crate::pool_blocking::pools(2);
    let (mut f, mut bare, mut clock, mut t, mut b) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut tb, mut r, mut fb) = (vec![], vec![], vec![]);
    for _ in 0..5 {
        fb.push(per_op(n, || {
            // What `get_blocking` adds: is this thread inside a runtime, and of which kind?
            black_box(tokio::runtime::Handle::try_current().is_ok());
            floor.get_drop();
        }));
        tb.push(per_op(n, || {
            drop(black_box(
                tenure_blocking.get_blocking().expect("a no-op pool serves"),
            ));
        }));
        r.push(per_op(n, || {
            drop(black_box(r2d2.get().expect("a no-op pool serves")));
        }));
        f.push(per_op(n, || floor.get_drop()));
        bare.push(per_op(n, || {
            let p = black_box(floor.clone());
            let r = p.idle.lock().pop().expect("two idle");
            p.idle.lock().push(black_box(r));
        }));
        clock.push(per_op(n, || {
            black_box(floor.clock.now());
            black_box(floor.clock.now());
        }));
        t.push(async_per_op(rt, tenure, n));
        b.push(async_per_op(rt, bb8, n));
    }
    let (f, bare, clock, t, b) = (
        median(&mut f),
        median(&mut bare),
        median(&mut clock),
        median(&mut t),
        median(&mut b),
    );
    let (tb, r, fb) = (median(&mut tb), median(&mut r), median(&mut fb));
    let round = |x: f64| Value::from((x * 10.0).round() / 10.0);
    h.scenario(
        name,
        "bb8",
        ("uncontended get + drop (tasks=1, size=2)", t, b),
        vec![
            ("ops", Value::from(n)),
            ("floor_ns", round(f)),
            ("floor_without_clock_ns", round(bare)),
            ("two_clock_reads_ns", round(clock)),
            ("tenure_ns", round(t)),
            ("bb8_ns", round(b)),
            ("tenure_over_floor", round(t / f)),
            (
                "max_ratio_vs_bb8",
                Value::from((b / f * 100.0).round() / 100.0),
            ),
            ("tenure_blocking_ns", round(tb)),
            ("r2d2_ns", round(r)),
            ("floor_blocking_ns", round(fb)),
            ("tenure_blocking_over_floor", round(tb / fb)),
            (
                "max_ratio_vs_r2d2",
                Value::from((r / fb * 100.0).round() / 100.0),
            ),
        ],
    );
}
