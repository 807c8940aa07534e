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

/// The lock of a pool's state: `parking_lot`'s (it spins briefly before it parks, which
/// keeps two runtime workers that take it back to back out of the kernel: the zero-hold
/// contended `pool/tasks=T,size=S` rows ran 480–600 ns/op with it against 445–760 with
/// std's), or loom's under `--cfg loom`. No poisoning: the pool took a poisoned std lock
/// anyway (its own code under the lock does not panic).
#[cfg(all(not(loom), feature = "pool"))]
pub(crate) use parking_lot::{Mutex as StateLock, MutexGuard as StateGuard};

/// Loom's mutex with `parking_lot`'s shape (`lock` returns the guard).
#[cfg(all(loom, feature = "pool"))]
pub(crate) struct StateLock<T>(loom::sync::Mutex<T>);

#[cfg(all(loom, feature = "pool"))]
pub(crate) type StateGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

#[cfg(all(loom, feature = "pool"))]
impl<T> StateLock<T> {
    pub(crate) fn new(value: T) -> Self {
        StateLock(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> StateGuard<'_, T> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How a blocked pool caller parks and is woken.
#[cfg(feature = "pool")]
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, Thread};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, park_timeout, Thread};

    /// Loom has no time: a timed park is an untimed one (a missed unpark is a deadlock
    /// loom reports).
    #[cfg(loom)]
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::park();
    }
}
