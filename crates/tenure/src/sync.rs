//! The sync primitives of the orphan tracker: std's, or loom's under `--cfg loom`, so that
//! `tests/loom_orphans.rs` explores every interleaving of the tracker's protocol (batches
//! counted in and out on several threads, `join` and `join_timeout` waiting for zero).
//!
//! Only what the tracker shares between threads goes through here; the global tracker's
//! `OnceLock` and the helper thread stay std's (the model does not use them).

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
