//! `pool_blocking`: blocking get + drop from threads on a pool of a no-op resource, tenure
//! (`Pool::get_blocking`) against r2d2.
//!
//! Rows (names as in `shared/BENCHMARKS.md`):
//! - `pool_blocking/threads=1,size=S`, S ∈ {2, 8}: uncontended, on the bench's own thread
//!   (a loop of get + drop, no clock read per operation; allocator calls counted around
//!   the loop with `--features allocs`); target ≥ 2.
//! - `pool_blocking/threads=T,size=S`, T ∈ {2, 8, 32}: zero hold. One repetition starts
//!   `T` scoped threads that meet at a barrier with the timing thread, then each loops
//!   `get` → drop `k` times, reading the clock around every `get` (acquire latency);
//!   ns/op = wall time from the barrier to the last join / (T × k). `p99_ns` /
//!   `peer_p99_ns`: the 99th percentile of acquire latency over every operation of the
//!   run. No target (r2d2 lets a returning thread barge; tenure hands a returned resource
//!   to the oldest waiter, which costs waking a parked thread).
//! - `pool_blocking/threads=32,size=8,hold=1ms`: each lease held across
//!   `std::thread::sleep(1 ms)`; targets throughput ≥ 0.98 × r2d2's, p99 ≤ 0.5 × r2d2's.
//!
//! With `--features allocs`, every row reports allocator calls per operation: exact for
//! `threads=1` (counted around the loop); the others count a whole repetition, a thread
//! start and a latency buffer per thread included, spread over its operations.
//!
//! Configurations (same size, timeout and pre-warming): tenure
//! `PoolConfig { max_size: S, validation: Validation::Never, ..default }` built outside any
//! runtime (its no-op manager is sync), pre-warmed by taking S leases at once; r2d2 0.8
//! `Pool::builder().max_size(S).test_on_check_out(false).connection_timeout(30 s)`, its
//! default `min_idle` (= max_size: `build` waits until all S exist), lifetime 30 min and
//! idle timeout 10 min (as tenure's defaults), no error handler or customizer beyond the
//! defaults; `connect` / `is_valid` no-op, `has_broken` false.

use std::hint::black_box;
use std::io;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use tenure::pool::Pool;

use crate::harness::{Case, Harness, Mode, Rep};
use crate::pool::{tenure_pool, Noop, SIZES, TIMEOUT};

/// Thread counts of the contended zero-hold rows.
const THREADS: [usize; 3] = [2, 8, 32];

/// r2d2's no-op manager.
pub(crate) struct R2d2Noop;

impl r2d2::ManageConnection for R2d2Noop {
    type Connection = u64;
    type Error = io::Error;
    fn connect(&self) -> Result<u64, io::Error> {
        Ok(0)
    }
    fn is_valid(&self, _: &mut u64) -> Result<(), io::Error> {
        Ok(())
    }
    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

/// A pool as the blocking rows use it.
trait BlockingPool: Sync {
    /// One get, a hold of `hold` (if any) and the drop; returns the acquire latency.
    fn op(&self, hold: Option<Duration>) -> Duration;
    /// One get and drop, no clock read.
    fn op_untimed(&self);
}

impl BlockingPool for Pool<Noop> {
    fn op(&self, hold: Option<Duration>) -> Duration {
        let t0 = Instant::now();
        let lease = self
            .get_blocking()
            .expect("a no-op pool serves within its timeout");
        let latency = t0.elapsed();
        if let Some(d) = hold {
            std::thread::sleep(d);
        }
        black_box(*lease);
        latency
    }
    fn op_untimed(&self) {
        let lease = self
            .get_blocking()
            .expect("a no-op pool serves within its timeout");
        black_box(*lease);
    }
}

impl BlockingPool for r2d2::Pool<R2d2Noop> {
    fn op(&self, hold: Option<Duration>) -> Duration {
        let t0 = Instant::now();
        let lease = self.get().expect("a no-op pool serves within its timeout");
        let latency = t0.elapsed();
        if let Some(d) = hold {
            std::thread::sleep(d);
        }
        black_box(*lease);
        latency
    }
    fn op_untimed(&self) {
        let lease = self.get().expect("a no-op pool serves within its timeout");
        black_box(*lease);
    }
}

/// One repetition of the uncontended row: `ops` get + drop on this thread, no clock read
/// per operation; the allocator calls of the loop (`--features allocs`).
fn single_rep<P: BlockingPool>(pool: &P, ops: u64) -> Rep {
    let before = crate::allocs::calls();
    let start = Instant::now();
    for _ in 0..ops {
        pool.op_untimed();
    }
    let elapsed = start.elapsed();
    Rep {
        ops,
        elapsed,
        latencies: Vec::new(),
        allocs: before.zip(crate::allocs::calls()).map(|(b, a)| a - b),
    }
}

/// One repetition: `threads` threads, each `ops / threads` operations (at least
/// `min_per_thread`), timed from the start barrier to the last join.
fn threads_rep<P: BlockingPool>(
    pool: &P,
    threads: usize,
    ops: u64,
    min_per_thread: u64,
    hold: Option<Duration>,
) -> Rep {
    let per_thread = ops.div_ceil(threads as u64).max(min_per_thread);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut latencies = Vec::with_capacity(per_thread as usize);
                    barrier.wait();
                    for _ in 0..per_thread {
                        latencies.push(pool.op(hold).as_nanos() as u64);
                    }
                    latencies
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let mut latencies = Vec::with_capacity(per_thread as usize * threads);
        for handle in handles {
            latencies.extend(handle.join().expect("a bench thread does not panic"));
        }
        Rep {
            ops: per_thread * threads as u64,
            elapsed: start.elapsed(),
            latencies,
            allocs: None,
        }
    })
}

/// A tenure pool and an r2d2 pool of `size`, both pre-warmed.
pub(crate) fn pools(size: usize) -> (Pool<Noop>, r2d2::Pool<R2d2Noop>) {
    let tenure = tenure_pool(size);
    let held: Vec<_> = (0..size)
        .map(|_| tenure.get_blocking().expect("a no-op pool serves"))
        .collect();
    drop(held);
    let r2d2 = r2d2::Pool::builder()
        .max_size(size as u32)
        .test_on_check_out(false)
        .connection_timeout(TIMEOUT)
        .build(R2d2Noop)
        .expect("an r2d2 pool of no-op connections builds");
    (tenure, r2d2)
}

/// Runs the `pool_blocking` comparisons.
pub fn run(h: &mut Harness) {
    for size in SIZES {
        let case = Case::new("pool_blocking", "r2d2")
            .param("threads", 1)
            .param("size", size)
            .target(2.0)
            .allocs();
        if !h.would_run(&case) {
            continue;
        }
        let (tenure, r2d2) = pools(size);
        h.compare_runs(
            &mut |ops| single_rep(&tenure, ops),
            vec![(case, &mut |ops| single_rep(&r2d2, ops))],
        );
    }
    let mut shapes: Vec<(usize, usize, Option<Duration>)> = Vec::new();
    for size in SIZES {
        for threads in THREADS {
            shapes.push((h.size(threads), size, None));
        }
    }
    shapes.push((h.size(32), 8, Some(Duration::from_millis(1))));
    for (threads, size, hold) in shapes {
        let mut case = Case::new("pool_blocking", "r2d2")
            .param("threads", threads)
            .param("size", size);
        let min = if hold.is_some() {
            let reps = match h.mode() {
                Mode::Full => 31,
                Mode::Quick => 7,
                Mode::Smoke => 1,
            };
            case = case
                .allocs()
                .param("hold", "1ms")
                .target(0.98)
                .p99_target(0.5)
                .max_reps(reps);
            8
        } else {
            case = case.allocs();
            1
        };
        if !h.would_run(&case) {
            continue;
        }
        let (tenure, r2d2) = pools(size);
        h.compare_runs(
            &mut |ops| threads_rep(&tenure, threads, ops, min, hold),
            vec![(case, &mut |ops| threads_rep(&r2d2, threads, ops, min, hold))],
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let rows = Harness::smoke_rows(super::run, "pool_blocking/threads=", &["r2d2"]);
        // 2 uncontended + 6 contended + 1 hold.
        assert_eq!(rows.len(), 9, "{rows:?}");
        let names: Vec<&str> = rows.iter().map(|r| r.bench.as_str()).collect();
        assert!(
            names.contains(&"pool_blocking/threads=1,size=8"),
            "{names:?}"
        );
        assert!(
            names.contains(&"pool_blocking/threads=2,size=2"),
            "{names:?}"
        );
        assert!(
            names.contains(&"pool_blocking/threads=8,size=8,hold=1ms"),
            "{names:?}"
        );
        for r in rows.iter().filter(|r| !r.bench.contains("threads=1,")) {
            assert!(r.p99_ns.is_some() && r.peer_p99_ns.is_some(), "{r:?}");
        }
    }
}
