//! The sync primitives that the orphan tracker and the pool share between threads: std's,
//! or loom's under `--cfg loom`, so that `tests/loom_orphans.rs` and `tests/loom_pool.rs`
//! explore every interleaving of their protocols (the tracker's batches counted in and
//! out; the pool's acquire, release, handoff, cancel and close).
//!
//! Only what those share between threads goes through here; the global tracker's
//! `OnceLock`, the helper thread and the pool's background driver stay std's (the models
//! do not use them).

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[cfg(all(loom, feature = "pool"))]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(all(not(loom), feature = "pool"))]
pub(crate) use std::sync::atomic::AtomicUsize;

/// How a blocked pool caller parks and is woken.
#[cfg(feature = "pool")]
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{current, Thread};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park_timeout, Thread};

    /// Loom has no time: a timed park is an untimed one (a missed unpark is a deadlock
    /// loom reports).
    #[cfg(loom)]
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::park();
    }
}
