//! `stack`: `ExitStack` push + close of 1,000 callbacks.
//!
//! One operation makes a fresh stack, pushes 1,000 callbacks — each a distinct closure
//! that increments a counter (`Cell<u64>`) captured by reference — and closes it, running
//! them last first. Rows:
//!
//! - `stack` vs `vec_box_fnonce` (target ≥ 0.85): [`tenure::ExitStack::new`] +
//!   [`callback`](tenure::ExitStack::callback) + [`close`](tenure::ExitStack::close)
//!   against a hand-written `Vec<Box<dyn FnOnce() + '_>>` pushed, then popped in reverse
//!   calling each. Capacity policy: **neither pre-allocates**; both start empty and grow
//!   (the same `Vec` doubling underneath).
//! - `stack/capacity=1000` vs `vec_box_fnonce` (target ≥ 0.85): the same with **both**
//!   pre-allocated ([`ExitStack::with_capacity`](tenure::ExitStack::with_capacity) and
//!   `Vec::with_capacity`). Expect it to be *slower* than growing with glibc's malloc:
//!   freeing the 16 KB buffer next to the top chunk triggers `malloc_consolidate` over
//!   the thousand freed boxes (seen with `perf record`); it hits both sides alike.
//! - `stack` vs `cpython` (target ≥ 50): CPython's `contextlib.ExitStack()` with 1,000
//!   `callback`s of a function bumping a counter in a list, then `close()`, timed inside
//!   `python3` by the thread's CPU clock (`time.thread_time`, as tenure's side). The peer is given the usual hoisting of the bound
//!   method (`cb = s.callback`) out of the loop; no other tuning.
//!
//! The peers run no panic protection or error collection, which tenure's `close` does
//! (one `catch_unwind` per close, not per entry): that overhead is what the ratio shows.

use std::cell::Cell;
use std::hint::black_box;

use tenure::ExitStack;

use crate::harness::{cpython, op, Case, Harness};
use crate::python::Snippet;

/// Callbacks per operation, as in `BENCHMARKS.md`.
const CALLBACKS: usize = 1_000;

/// Runs the `stack` comparisons.
pub fn run(h: &mut Harness) {
    let n = h.size(CALLBACKS);
    let counter = Cell::new(0_u64);

    h.compare(
        op(|| tenure_stack(ExitStack::new(), n, &counter)),
        vec![(
            Case::new("stack", "vec_box_fnonce")
                .allocs()
                .info("callbacks", n)
                .info("capacity", "grow")
                .target(0.85),
            op(|| vec_box_fnonce(Vec::new(), n, &counter)),
        )],
    );

    h.compare(
        op(|| tenure_stack(ExitStack::with_capacity(n), n, &counter)),
        vec![(
            Case::new("stack", "vec_box_fnonce")
                .allocs()
                .param("capacity", n)
                .info("callbacks", n)
                .target(0.85),
            op(|| vec_box_fnonce(Vec::with_capacity(n), n, &counter)),
        )],
    );

    let snippet = Snippet {
        setup: "from contextlib import ExitStack\n\
                counter = [0]\n\
                def bump():\n    counter[0] += 1\n"
            .to_string(),
        op: format!(
            "s = ExitStack()\n\
             cb = s.callback\n\
             for _ in range({n}):\n    cb(bump)\n\
             s.close()"
        ),
    };
    h.compare(
        op(|| tenure_stack(ExitStack::new(), n, &counter)),
        vec![(
            Case::new("stack", "cpython")
                .allocs()
                .info("callbacks", n)
                .target(50.0),
            cpython(&snippet),
        )],
    );

    black_box(counter.get());
}

/// tenure: push `n` counting callbacks on `stack`, then close it.
#[inline]
fn tenure_stack<'a>(mut stack: ExitStack<'a>, n: usize, counter: &'a Cell<u64>) -> u64 {
    let c = black_box(counter);
    for _ in 0..n {
        stack.callback(move || c.set(c.get() + 1));
    }
    if let Err(e) = stack.close() {
        unreachable!("callbacks that cannot fail failed: {e}");
    }
    c.get()
}

/// The peer: the same callbacks in a `Vec<Box<dyn FnOnce()>>`, popped and called in
/// reverse.
#[inline]
fn vec_box_fnonce<'a>(
    mut stack: Vec<Box<dyn FnOnce() + 'a>>,
    n: usize,
    counter: &'a Cell<u64>,
) -> u64 {
    let c = black_box(counter);
    for _ in 0..n {
        stack.push(Box::new(move || c.set(c.get() + 1)));
    }
    while let Some(f) = stack.pop() {
        f();
    }
    c.get()
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let rows = Harness::smoke_rows(super::run, "stack", &["vec_box_fnonce", "cpython"]);
        let peers: Vec<_> = rows.iter().map(|r| r.peer.as_str()).collect();
        assert_eq!(peers[..2], ["vec_box_fnonce", "vec_box_fnonce"]);
        // The cpython row is skipped (with a reason on stderr) when python3 is missing.
        if crate::python::version().is_ok() {
            assert_eq!(peers.get(2), Some(&"cpython"));
        }
    }

    #[test]
    fn both_sides_run_every_callback() {
        let c = std::cell::Cell::new(0);
        assert_eq!(super::tenure_stack(tenure::ExitStack::new(), 10, &c), 10);
        assert_eq!(super::vec_box_fnonce(Vec::new(), 10, &c), 20);
    }
}
