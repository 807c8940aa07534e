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
//! All eight loops are measured together by the harness's engine, as the sides of one
//! comparison ([`Harness::medians`]: calibrated, interleaved); the medians are reported. `max_ratio_vs_bb8` is bb8's time over the floor's: the most that
//! any pool with those features could show against bb8 on this machine (the issue's
//! uncontended target is 3).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::runtime::Runtime;

use super::fixtures::{self, AsyncPool};
use crate::harness::{op, runs, Harness, Rep};

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

/// One repetition of `ops` uncontended `get().await` + drop on `pool`, in one task.
fn async_rep<P: AsyncPool>(rt: &Runtime, pool: &'static P, ops: u64) -> Rep {
    let elapsed = rt.block_on(async {
        tokio::spawn(async move {
            let t0 = Instant::now();
            for _ in 0..ops {
                drop(black_box(pool.acquire().await));
            }
            t0.elapsed()
        })
        .await
        .expect("the loop does not panic")
    });
    Rep {
        ops,
        elapsed,
        ..Rep::default()
    }
}

/// Runs the scenario.
pub fn run(h: &mut Harness, rt: &Runtime) {
    let name = "pool/scenario=floor";
    if !h.scenario_selected(name) {
        return;
    }
    let floor = Arc::new(Floor {
        idle: Mutex::new(vec![0, 1]),
        clock: quanta::Clock::new(),
    });
    let (tenure, bb8) = rt.block_on(async {
        let t: &'static _ = Box::leak(Box::new(fixtures::tenure_noop(2)));
        let b: &'static _ = Box::leak(Box::new(fixtures::bb8_noop(2)));
        drop(t.acquire().await);
        drop(b.acquire().await);
        (t, b)
    });
    let (tenure_blocking, r2d2) = fixtures::blocking_pools(2);
    let sides = vec![
        op(|| floor.get_drop()),
        op(|| {
            let p = black_box(floor.clone());
            let r = p.idle.lock().pop().expect("two idle");
            p.idle.lock().push(black_box(r));
        }),
        op(|| {
            black_box(floor.clock.now());
            black_box(floor.clock.now());
        }),
        runs(|ops| async_rep(rt, tenure, ops)),
        runs(|ops| async_rep(rt, bb8, ops)),
        op(|| {
            drop(black_box(
                tenure_blocking.get_blocking().expect("a no-op pool serves"),
            ));
        }),
        op(|| drop(black_box(r2d2.get().expect("a no-op pool serves")))),
        op(|| {
            // What `get_blocking` adds: is this thread inside a runtime, and of which kind?
            black_box(tokio::runtime::Handle::try_current().is_ok());
            floor.get_drop();
        }),
    ];
    let Some(m) = h.medians(name, sides) else {
        return;
    };
    let (f, bare, clock, t, b, tb, r, fb) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]);
    let round = |x: f64| Value::from((x * 10.0).round() / 10.0);
    h.scenario(
        name,
        "bb8",
        ("uncontended get + drop (tasks=1, size=2)", t, b),
        vec![
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
