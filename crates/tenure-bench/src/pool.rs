//! `pool`: async get + drop on a pool of a no-op resource, tenure against deadpool and bb8.
//!
//! Every side runs on **one** tokio multi-thread runtime with 2 workers (built once, timers
//! enabled); the pools are built inside it and pre-warmed to their size (S leases taken at
//! once, then dropped), so no row creates anything while it is timed. One repetition of a
//! row spawns `T` tasks (from the main thread, which then waits in `block_on` and takes no
//! CPU) that each loop `get().await` → hold → drop `k` times; ns/op is the repetition's
//! wall time / (T × k), the harness's median over repetitions (A B C A B C … interleaved,
//! [`Harness::compare_runs`]). In the contended rows each task also reads the clock
//! around every `get().await` (the same two `Instant::now()` on every side): `p99_ns` /
//! `peer_p99_ns` are the 99th percentile of that acquire latency over every operation of
//! the run. The uncontended rows (`tasks=1`) read no clock per operation (ns/op only).
//! With `--features allocs` every row reports allocator calls per operation: the
//! uncontended rows count around the task's loop alone (exact); the others count a whole
//! repetition, so their figure includes about 2 × T calls of set-up (a spawn and a
//! latency buffer per task) spread over the repetition's operations.
//!
//! Rows (names as in `shared/BENCHMARKS.md`):
//! - `pool/tasks=1,size=S`, S ∈ {2, 8}: uncontended; targets ≥ 3 vs both peers.
//! - `pool/tasks=T,size=S`, T ∈ {4, 16, 64, 256}: zero-length hold (nothing awaited while
//!   the lease is held); targets where T ≥ S: ≥ 2 vs deadpool, ≥ 1 vs bb8. Note that with
//!   2 workers and no await under a lease at most 2 leases are out at once, so no size here
//!   runs out and no task waits (beyond an OS preemption of a worker that holds a lease):
//!   these rows measure the fast path under two-thread contention, not the handoff.
//!   Since 2026-12-02 tenure runs this steady state on per-thread shards (see "Threads
//!   and shards" in `tenure::pool`): the two workers share no lock and no data but the
//!   pool's reference count, and a row costs 150–180 ns/op, against 560–710 ns/op with
//!   one lock the day before (same machine, same day's peers 600–1340 ns/op).
//!   **Read deadpool's figures with tokio's cooperative budget in mind.** deadpool's `get`
//!   spends the budget (tokio's `Semaphore`), tenure's and bb8's do not: a deadpool task
//!   that makes more than 128 acquires in one poll is made to yield, and from then on
//!   deadpool runs about 2× slower with a long tail (p99 100–450 µs). Measured 2026-12-02
//!   (`--quick`, size 2, ops per task forced by a patched harness): deadpool 0.60–0.65
//!   µs/op at 32 or 100 ops per task, 1.1–1.3 µs/op at 140, 256 or 1024, at T = 64 and
//!   T = 256 alike (the step is at 128); with its acquire wrapped in
//!   `tokio::task::unconstrained`, 0.60 µs/op (T = 64) and 0.63 (T = 256) at 1024 ops per
//!   task. The calibration here gives each task 256 ops per repetition at T ≤ 64
//!   (deadpool yields: its 1.1–1.3 µs rows) and 32–64 at T = 256 (it does not: its
//!   0.6–0.7 µs rows). The `T = 256` rows are therefore the fair comparison of the two
//!   fast paths: 3.6–4.5× there (2026-12-02, two processes). See the module docs of
//!   `tenure::pool` ("Cooperative scheduling") for why tenure does not spend the budget.
//! - `pool/tasks=T,size=S,hold=yield`, T ∈ {16, 256}: each lease held across one
//!   `tokio::task::yield_now()` (one scheduler turn): more tasks hold leases than there
//!   are resources, so every operation goes through the waiter queue — on tenure a FIFO
//!   handoff and a task switch per operation (what the issue asks to measure); bb8 lets
//!   the returning task barge. No target (an extension of the name scheme, same prefix).
//! - `pool/tasks=T,size=8,hold=1ms`, T ∈ {64, 256}: each lease held across
//!   `tokio::time::sleep(1 ms)`; target throughput ≥ 0.98 of each peer, and p99 of acquire
//!   latency ≤ 1.1 × deadpool's and ≤ 0.5 × bb8's (`p99_target` in `params`, checked in the
//!   table).
//!
//! Configurations (the same sizes, timeouts and pre-warming on every side; checks that
//! tenure does not run here are off in the peers too):
//! - tenure: `PoolConfig { max_size: S, validation: Validation::Never, ..default }` — as
//!   a user gets it otherwise: statistics on, acquire and create timeouts 30 s, lifetime
//!   30 min, idle timeout 10 min, `max_concurrent_creates` 2; `Pool::new` inside the
//!   runtime. Its manager is a sync no-op (`Work::ready`).
//! - deadpool 0.13 (`managed`, feature `rt_tokio_1`): `Pool::builder(m).max_size(S)`,
//!   wait and create timeouts 30 s on `Runtime::Tokio1`, no recycle timeout, FIFO queue
//!   mode (its default), no hooks; its manager's `create` and `recycle` are no-op
//!   `async fn`s returning `Ok` (deadpool always calls `recycle` on checkout: that is its
//!   check, and it costs one poll of a ready future).
//! - bb8 0.9: `Pool::builder().max_size(S).test_on_check_out(false)`, connection timeout
//!   30 s, its default lifetime (30 min) and idle timeout (10 min), FIFO queue strategy
//!   (default), `build_unchecked` then pre-warmed like the others; `connect` / `is_valid`
//!   no-op, `has_broken` false; leases through `Pool::get` (the borrowing one). bb8's
//!   default features include `parking_lot`, which turns on tokio's `parking_lot` feature
//!   for every side of this binary (tokio's internal locks); a build with it off gave the
//!   same ratios within noise (2026-12-02, two processes).
//!
//! The scenarios (cancellation storm, backend down) are in [`crate::pool_scenarios`] and
//! run from here, after the rows.

use std::future::Future;
use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};

use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, Validation, Work};
use tokio::runtime::Runtime;

use crate::allocs;
use crate::harness::{Case, Harness, Mode, Rep};

/// Pool sizes of every row.
pub(crate) const SIZES: [usize; 2] = [2, 8];
/// Task counts of the contended zero-hold rows.
const TASKS: [usize; 4] = [4, 16, 64, 256];
/// Task counts of the `hold=yield` rows.
const YIELD_TASKS: [usize; 2] = [16, 256];
/// Task counts of the `hold=1ms` rows (size 8).
const HOLD_TASKS: [usize; 2] = [64, 256];
/// The acquire (and create) timeout of every pool, as tenure's default.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// tenure's no-op manager: a `u64`, created and closed inline.
pub(crate) struct Noop;

impl Manager for Noop {
    type Resource = u64;
    type Error = io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u64, io::Error>> {
        Work::ready(Ok(0))
    }
    fn close(&self, _: u64) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
}

/// A tenure pool of `size` no-op resources, validation off, otherwise the defaults.
pub(crate) fn tenure_pool(size: usize) -> Pool<Noop> {
    let config = PoolConfig {
        max_size: size,
        validation: Validation::Never,
        ..PoolConfig::default()
    };
    Pool::new(Noop, config).expect("a valid pool configuration")
}

/// deadpool's no-op manager.
struct DeadpoolNoop;

impl deadpool::managed::Manager for DeadpoolNoop {
    type Type = u64;
    type Error = io::Error;
    async fn create(&self) -> Result<u64, io::Error> {
        Ok(0)
    }
    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<io::Error> {
        Ok(())
    }
}

/// bb8's no-op manager.
pub(crate) struct Bb8Noop;

impl bb8::ManageConnection for Bb8Noop {
    type Connection = u64;
    type Error = io::Error;
    async fn connect(&self) -> Result<u64, io::Error> {
        Ok(0)
    }
    async fn is_valid(&self, _: &mut u64) -> Result<(), io::Error> {
        Ok(())
    }
    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

/// A pool as the async rows use it: acquire a lease (a `u64` behind it).
pub(crate) trait AsyncPool: Send + Sync + 'static {
    type Lease<'a>: std::ops::Deref<Target = u64> + Send
    where
        Self: 'a;
    fn acquire(&self) -> impl Future<Output = Self::Lease<'_>> + Send;
}

impl AsyncPool for Pool<Noop> {
    type Lease<'a> = tenure::pool::Lease<Noop>;
    fn acquire(&self) -> impl Future<Output = Self::Lease<'_>> + Send {
        let get = self.get();
        async move { get.await.expect("a no-op pool serves within its timeout") }
    }
}

impl AsyncPool for deadpool::managed::Pool<DeadpoolNoop> {
    type Lease<'a> = deadpool::managed::Object<DeadpoolNoop>;
    async fn acquire(&self) -> Self::Lease<'_> {
        self.get()
            .await
            .expect("a no-op pool serves within its timeout")
    }
}

impl AsyncPool for bb8::Pool<Bb8Noop> {
    type Lease<'a> = bb8::PooledConnection<'a, Bb8Noop>;
    async fn acquire(&self) -> Self::Lease<'_> {
        self.get()
            .await
            .expect("a no-op pool serves within its timeout")
    }
}

/// What a task does while it holds a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Nothing: dropped at once.
    Zero,
    /// One `yield_now()`.
    Yield,
    /// `tokio::time::sleep` for this long.
    Sleep(Duration),
}

/// One task's loop: `ops` get + hold + drop; the acquire latencies (ns) if `record`, and
/// the allocator calls of the loop (`None` without the counter).
async fn task_loop<P: AsyncPool>(
    pool: &P,
    ops: u64,
    hold: Hold,
    record: bool,
) -> (Vec<u64>, Option<u64>) {
    let mut latencies = Vec::with_capacity(if record { ops as usize } else { 0 });
    let before = allocs::calls();
    for _ in 0..ops {
        let lease = if record {
            let t0 = Instant::now();
            let lease = pool.acquire().await;
            latencies.push(t0.elapsed().as_nanos() as u64);
            lease
        } else {
            pool.acquire().await
        };
        match hold {
            Hold::Zero => {}
            Hold::Yield => tokio::task::yield_now().await,
            Hold::Sleep(d) => tokio::time::sleep(d).await,
        }
        black_box(*lease);
        drop(lease);
    }
    let calls = before.zip(allocs::calls()).map(|(b, a)| a - b);
    (latencies, calls)
}

/// One repetition of an async row: `tasks` tasks spawned on `rt`, each doing `ops / tasks`
/// operations (at least `min_per_task`), timed from the first spawn to the last join.
fn async_rep<P: AsyncPool>(
    rt: &Runtime,
    pool: &'static P,
    tasks: usize,
    ops: u64,
    min_per_task: u64,
    hold: Hold,
    record: bool,
) -> Rep {
    let per_task = ops.div_ceil(tasks as u64).max(min_per_task);
    rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| tokio::spawn(task_loop(pool, per_task, hold, record)))
            .collect();
        let mut latencies = Vec::with_capacity(if record {
            (per_task as usize) * tasks
        } else {
            0
        });
        let mut calls = None;
        for handle in handles {
            let (l, c) = handle.await.expect("a bench task does not panic");
            latencies.extend_from_slice(&l);
            calls = c;
        }
        Rep {
            ops: per_task * tasks as u64,
            elapsed: start.elapsed(),
            latencies,
            // One task counts its own loop exactly; the counter is process-wide, so the
            // loops of concurrent tasks overlap: the harness then counts the whole
            // repetition, set-up included (a spawn and a latency buffer per task, i.e.
            // about 2 × tasks calls per repetition over its thousands of operations).
            allocs: if tasks == 1 { calls } else { None },
        }
    })
}

/// Takes `size` leases at once, then drops them: every resource exists and is idle.
async fn prewarm<P: AsyncPool>(pool: &P, size: usize) {
    let mut held = Vec::with_capacity(size);
    for _ in 0..size {
        held.push(pool.acquire().await);
    }
    drop(held);
}

/// The three pools of one size, built inside `rt` and pre-warmed. Leaked: the rows borrow
/// them from spawned tasks (`'static`), and a bench process is short-lived.
struct Pools {
    tenure: &'static Pool<Noop>,
    deadpool: &'static deadpool::managed::Pool<DeadpoolNoop>,
    bb8: &'static bb8::Pool<Bb8Noop>,
}

fn pools(rt: &Runtime, size: usize) -> Pools {
    rt.block_on(async {
        let tenure = Box::leak(Box::new(tenure_pool(size)));
        let deadpool = deadpool::managed::Pool::builder(DeadpoolNoop)
            .max_size(size)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .expect("a valid deadpool configuration");
        let deadpool = Box::leak(Box::new(deadpool));
        let bb8 = Box::leak(Box::new(bb8_pool(size)));
        prewarm(tenure, size).await;
        prewarm(deadpool, size).await;
        prewarm(bb8, size).await;
        Pools {
            tenure,
            deadpool,
            bb8,
        }
    })
}

/// A bb8 pool of `size` no-op connections as the rows configure it (not pre-warmed).
pub(crate) fn bb8_pool(size: usize) -> bb8::Pool<Bb8Noop> {
    bb8::Pool::builder()
        .max_size(size as u32)
        .test_on_check_out(false)
        .connection_timeout(TIMEOUT)
        .build_unchecked(Bb8Noop)
}

/// The runtime every async row runs on: multi-thread, 2 workers, timers.
pub(crate) fn runtime() -> Option<Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("pool: cannot build a tokio runtime, skipped: {e}");
            None
        }
    }
}

/// One row shape: tasks, hold, and the targets.
struct Shape {
    tasks: usize,
    size: usize,
    hold: Hold,
}

impl Shape {
    fn cases(&self, h: &Harness) -> (Case, Case) {
        let mut dp = Case::new("pool", "deadpool").param("tasks", self.tasks);
        let mut bb = Case::new("pool", "bb8").param("tasks", self.tasks);
        dp = dp.param("size", self.size);
        bb = bb.param("size", self.size);
        match self.hold {
            Hold::Zero => {}
            Hold::Yield => {
                dp = dp.param("hold", "yield");
                bb = bb.param("hold", "yield");
            }
            Hold::Sleep(_) => {
                dp = dp.param("hold", "1ms");
                bb = bb.param("hold", "1ms");
            }
        }
        let (dp, bb) = (
            dp.info("workers", 2).info("runtime", "tokio multi_thread"),
            bb.info("workers", 2).info("runtime", "tokio multi_thread"),
        );
        match self.hold {
            Hold::Zero if self.tasks == 1 => (dp.target(3.0).allocs(), bb.target(3.0).allocs()),
            Hold::Zero if self.tasks >= self.size => {
                (dp.target(2.0).allocs(), bb.target(1.0).allocs())
            }
            Hold::Zero | Hold::Yield => (dp.allocs(), bb.allocs()),
            Hold::Sleep(_) => {
                let reps = match h.mode() {
                    Mode::Full => 15,
                    Mode::Quick => 3,
                    Mode::Smoke => 1,
                };
                (
                    dp.target(0.98).p99_target(1.1).max_reps(reps).allocs(),
                    bb.target(0.98).p99_target(0.5).max_reps(reps).allocs(),
                )
            }
        }
    }

    /// Operations each task does at least in one repetition: the hold rows want every task
    /// to come back a few times (a steady state, not one burst of first arrivals).
    fn min_per_task(&self) -> u64 {
        match self.hold {
            Hold::Sleep(_) => 4,
            _ => 1,
        }
    }
}

/// Runs the `pool` comparisons, then the pool scenarios.
pub fn run(h: &mut Harness) {
    let Some(rt) = runtime() else { return };
    let mut shapes = Vec::new();
    for size in SIZES {
        shapes.push(Shape {
            tasks: 1,
            size,
            hold: Hold::Zero,
        });
    }
    for size in SIZES {
        for tasks in TASKS {
            shapes.push(Shape {
                tasks: h.size(tasks),
                size,
                hold: Hold::Zero,
            });
        }
    }
    for size in SIZES {
        for tasks in YIELD_TASKS {
            shapes.push(Shape {
                tasks: h.size(tasks),
                size,
                hold: Hold::Yield,
            });
        }
    }
    for tasks in HOLD_TASKS {
        shapes.push(Shape {
            tasks: h.size(tasks),
            size: 8,
            hold: Hold::Sleep(Duration::from_millis(1)),
        });
    }
    let mut by_size = std::collections::HashMap::new();
    for shape in &shapes {
        let (dp, bb) = shape.cases(h);
        // Build the pools only if some row of this size is selected.
        if !h.would_run(&dp) && !h.would_run(&bb) {
            continue;
        }
        let p = by_size
            .entry(shape.size)
            .or_insert_with(|| pools(&rt, shape.size));
        let (tasks, hold, min) = (shape.tasks, shape.hold, shape.min_per_task());
        let record = tasks > 1;
        let (t, d, b) = (p.tenure, p.deadpool, p.bb8);
        let rt = &rt;
        h.compare_runs(
            &mut |ops| async_rep(rt, t, tasks, ops, min, hold, record),
            vec![
                (dp, &mut |ops| {
                    async_rep(rt, d, tasks, ops, min, hold, record)
                }),
                (bb, &mut |ops| {
                    async_rep(rt, b, tasks, ops, min, hold, record)
                }),
            ],
        );
    }
    crate::pool_scenarios::run(h, &rt);
    crate::pool_floor::run(h, &rt);
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let mut h = Harness::smoke();
        super::run(&mut h);
        let rows = h.rows();
        // 2 uncontended + 8 contended + 4 yield + 2 hold shapes, two peers each.
        assert_eq!(rows.len(), 32, "{rows:?}");
        for r in rows {
            assert!(r.bench.starts_with("pool/tasks="), "{}", r.bench);
            assert!(["deadpool", "bb8"].contains(&r.peer.as_str()), "{}", r.peer);
            assert!(
                r.tenure_ns > 0.0 && r.peer_ns > 0.0 && r.ratio > 0.0,
                "{r:?}"
            );
        }
        let names: Vec<&str> = rows.iter().map(|r| r.bench.as_str()).collect();
        assert!(names.contains(&"pool/tasks=1,size=2"), "{names:?}");
        assert!(names.contains(&"pool/tasks=8,size=8,hold=1ms"), "{names:?}");
        assert!(names.contains(&"pool/tasks=4,size=2"), "{names:?}");
        // Contended rows carry both acquire-latency p99s; uncontended ones none.
        for r in rows
            .iter()
            .filter(|r| !r.bench.starts_with("pool/tasks=1,"))
        {
            assert!(r.p99_ns.is_some_and(|p| p >= 0.0), "{r:?}");
            assert!(r.peer_p99_ns.is_some(), "{r:?}");
        }
        let hold = rows.iter().find(|r| r.bench.ends_with("hold=1ms")).unwrap();
        assert!(hold.params.contains_key("p99_target"), "{hold:?}");
        let names: Vec<&str> = h.scenarios().iter().map(|s| s.bench.as_str()).collect();
        assert!(names.contains(&"pool/scenario=cancel_storm"), "{names:?}");
        assert!(names.contains(&"pool/scenario=backend_down"), "{names:?}");
        // The floor: every figure measured, against bb8, and the ratios it bounds.
        let floor = h
            .scenarios()
            .iter()
            .find(|s| s.bench == "pool/scenario=floor")
            .expect("the floor scenario ran");
        assert_eq!(floor.peer, "bb8");
        for key in [
            "floor_ns",
            "floor_without_clock_ns",
            "two_clock_reads_ns",
            "floor_blocking_ns",
            "tenure_blocking_ns",
            "r2d2_ns",
            "max_ratio_vs_bb8",
            "max_ratio_vs_r2d2",
        ] {
            let v = floor.params[key].as_f64().unwrap_or(0.0);
            assert!(v > 0.0, "{key}: {floor:?}");
        }
    }
}
