//! `async_stack`: `AsyncExitStack` push + close of 1,000 async callbacks.
//!
//! One operation makes a fresh stack, pushes 1,000 async callbacks — each an `async` block
//! that increments a shared counter (a `static AtomicU64`, `Relaxed`, so that it is `Send`
//! as tenure's entries must be) — and awaits the close, which runs them last first. Rows:
//!
//! - `async_stack` vs `vec_box_future` (target ≥ 0.8):
//!   [`AsyncExitStack::new`](tenure::AsyncExitStack::new) +
//!   [`async_callback`](tenure::AsyncExitStack::async_callback) +
//!   [`close().await`](tenure::AsyncExitStack::close) against a hand-written
//!   `Vec<Pin<Box<dyn Future<Output = ()>>>>` of the same `async` blocks, popped and awaited
//!   in reverse. **Same executor for both:** one tokio current-thread runtime, built once,
//!   and `Runtime::block_on` per operation on each side. Neither side pre-allocates (both
//!   `Vec`s start empty and grow). The peer has no panic protection, no error collection
//!   and no cancellation survival (its pending futures are simply dropped if the owner
//!   is): that is the cost the ratio shows.
//! - `async_stack` vs `cpython` (target ≥ 30): CPython's `contextlib.AsyncExitStack()` with
//!   1,000 `push_async_callback`s of one coroutine function bumping a counter in a list,
//!   then `await s.aclose()`, under asyncio. The event loop is created once in the setup
//!   and each operation is one `loop.run_until_complete(...)` (the counterpart of
//!   `block_on`), timed inside `python3` by the thread's CPU clock (`time.thread_time`, as tenure's side). The peer is given the
//!   usual hoisting of the bound method (`cb = s.push_async_callback`) out of the loop;
//!   no other tuning.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use tenure::AsyncExitStack;

use crate::harness::{cpython, op, Case, Harness};
use crate::python::Snippet;

/// Async callbacks per operation, as in `BENCHMARKS.md`.
const CALLBACKS: usize = 1_000;

/// What every callback bumps.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Runs the `async_stack` comparisons.
pub fn run(h: &mut Harness) {
    let n = h.size(CALLBACKS);
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("async_stack: cannot build a tokio runtime, skipped: {e}");
            return;
        }
    };

    h.compare(
        op(|| rt.block_on(tenure_stack(n))),
        vec![(
            Case::new("async_stack", "vec_box_future")
                .info("callbacks", n)
                .info("executor", "tokio current_thread block_on")
                .target(0.8),
            op(|| rt.block_on(vec_box_future(n))),
        )],
    );

    let snippet = Snippet {
        setup: "import asyncio\n\
                from contextlib import AsyncExitStack\n\
                counter = [0]\n\
                async def bump():\n    counter[0] += 1\n\
                async def work():\n    s = AsyncExitStack()\n    cb = s.push_async_callback\n    \
                for _ in range(N):\n        cb(bump)\n    await s.aclose()\n\
                loop = asyncio.new_event_loop()\n"
            .replace("range(N)", &format!("range({n})")),
        op: "loop.run_until_complete(work())".to_string(),
    };
    h.compare(
        op(|| rt.block_on(tenure_stack(n))),
        vec![(
            Case::new("async_stack", "cpython")
                .info("callbacks", n)
                .target(30.0),
            cpython(&snippet),
        )],
    );

    black_box(COUNTER.load(Ordering::Relaxed));
}

/// tenure: push `n` counting async callbacks on a new stack, then close it.
async fn tenure_stack(n: usize) -> u64 {
    let c = black_box(&COUNTER);
    let mut stack = AsyncExitStack::new();
    for _ in 0..n {
        stack.async_callback(move || async move {
            c.fetch_add(1, Ordering::Relaxed);
        });
    }
    if let Err(e) = stack.close().await {
        unreachable!("callbacks that cannot fail failed: {e}");
    }
    c.load(Ordering::Relaxed)
}

/// The peer: the same async blocks in a `Vec<Pin<Box<dyn Future>>>`, awaited in reverse.
async fn vec_box_future(n: usize) -> u64 {
    let c = black_box(&COUNTER);
    let mut stack: Vec<Pin<Box<dyn Future<Output = ()>>>> = Vec::new();
    for _ in 0..n {
        stack.push(Box::pin(async move {
            c.fetch_add(1, Ordering::Relaxed);
        }));
    }
    while let Some(f) = stack.pop() {
        f.await;
    }
    c.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let rows = Harness::smoke_rows(super::run, "async_stack", &["vec_box_future", "cpython"]);
        let peers: Vec<_> = rows.iter().map(|r| r.peer.as_str()).collect();
        assert_eq!(peers[0], "vec_box_future");
        // The cpython row is skipped (with a reason on stderr) when python3 is missing.
        if crate::python::version().is_ok() {
            assert_eq!(peers.get(1), Some(&"cpython"));
        }
    }

    #[test]
    fn both_sides_run_every_callback() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let before = super::COUNTER.load(std::sync::atomic::Ordering::Relaxed);
        let after_tenure = rt.block_on(super::tenure_stack(10));
        let after_peer = rt.block_on(super::vec_box_future(10));
        assert!(after_tenure >= before + 10);
        assert!(after_peer >= after_tenure + 10);
    }
}
