//! `pool_blocking`: blocking get + drop from threads on a pool of a no-op resource, tenure
//! (`Pool::get_blocking`) against r2d2.
//!
//! Rows (names as in `docs/BENCHMARKS.md`):
//! - `pool_blocking/threads=1,size=S`, S ∈ {2, 8}: uncontended, on the bench's own thread
//!   (a loop of get + drop, no clock read per operation; allocator calls counted around
//!   the loop with `--features allocs`); target ≥ 2.
//! - `pool_blocking/threads=T,size=S`, T ∈ {2, 8, 32}: zero hold. One repetition starts
//!   `T` scoped threads that meet at a barrier with the timing thread, then each loops
//!   `get` → drop `k` times, reading the clock around every `get` (acquire latency);
//!   ns/op = wall time from the barrier to the last join / (T × k). `p99_ns` /
//!   `peer_p99_ns`: the 99th percentile of acquire latency over every operation of the
//!   run, `params.max_ns` / `params.peer_max_ns` the largest. No target (r2d2 lets a returning thread barge; tenure hands a returned resource
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

use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::fixtures::{blocking_pools, BlockingPool, SIZES};
use crate::harness::{runs, Case, Harness, Mode, Rep};

/// Thread counts of the contended zero-hold rows.
const THREADS: [usize; 3] = [2, 8, 32];

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
        let (tenure, r2d2) = blocking_pools(size);
        h.compare(
            runs(|ops| single_rep(&tenure, ops)),
            vec![(case, runs(|ops| single_rep(&r2d2, ops)))],
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
        let (tenure, r2d2) = blocking_pools(size);
        h.compare(
            runs(|ops| threads_rep(&tenure, threads, ops, min, hold)),
            vec![(
                case,
                runs(|ops| threads_rep(&r2d2, threads, ops, min, hold)),
            )],
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let rows = Harness::smoke_rows(
            super::super::run_blocking,
            "pool_blocking/threads=",
            &["r2d2"],
        );
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
