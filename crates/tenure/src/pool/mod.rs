//! `Pool<M: Manager>`: one resource pool for async and blocking code — first come, first
//! served, cancel-safe, bounded — the seed's async connection pool ("min_size, max_size,
//! acquire, execute, close on exit").
//!
//! - `get().await` for async code and [`get_blocking`](Pool::get_blocking) for threads, on
//!   the **same** pool and the same FIFO queue: a returned resource goes straight to the
//!   oldest waiter, and a newcomer never takes an idle resource while others wait.
//! - A [`Lease`] derefs to the resource and returns it on drop, synchronously.
//! - Creates, validations and resets are the pool's own work: one under way when its caller
//!   gives up (a timeout, a dropped future) still finishes, into the pool.
//! - `max_size` bounds every resource that exists, being created or closed included; every
//!   resource the pool retires is closed through [`Manager::close`], errors reported to the
//!   pool's [report sink](crate::sink).
//! - Failures are typed and explain themselves ([`PoolError`]): a timeout says how long it
//!   waited, the pool's status and the last create error (its `source()`).
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use tenure::error::BoxError;
//! use tenure::pool::{Manager, Pool, PoolConfig, Work};
//!
//! struct Numbers(AtomicU32);
//! impl Manager for Numbers {
//!     type Resource = u32;
//!     type Error = std::io::Error;
//!     const ASYNC: bool = false;
//!     fn create(&self) -> Work<Result<u32, std::io::Error>> {
//!         Work::ready(Ok(self.0.fetch_add(1, Ordering::Relaxed)))
//!     }
//!     fn close(&self, _: u32) -> Work<Result<(), BoxError>> {
//!         Work::ready(Ok(()))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::new(Numbers(AtomicU32::new(0)), PoolConfig { max_size: 2, ..Default::default() })?;
//! let a = pool.get().await?;
//! let b = pool.get().await?;
//! assert_eq!((*a, *b), (0, 1));
//! drop(a);                                  // back to the pool, synchronously
//! assert_eq!(*pool.get().await?, 0);        // reused
//! drop(b);
//! pool.close().await;                       // every resource closed
//! # Ok(()) }
//! ```
//!
//! - A lease held longer than `leak_threshold` is reported with the line that acquired it
//!   (a `tracing` warning by default), in production builds too.
//! - A background driver keeps `min_idle` resources ready and retires expired and idle
//!   ones ([`maintain`](Pool::maintain) runs one round by hand); the clock it reads is the
//!   TSC, or a [`ManualClock`](crate::clock::ManualClock) in tests
//!   ([`PoolBuilder::clock`]).
//! - [`statistics`](Pool::statistics) has counters and wait- and hold-time percentiles;
//!   feature `metrics` publishes them through the `metrics` facade.
//!
//! # Where `get_blocking` may be called
//!
//! | thread | `get_blocking` |
//! |---|---|
//! | a plain thread (no runtime) | blocks (parks) |
//! | a multi-thread runtime's worker (inside a task) | served at once if a resource is idle; else waits through `block_in_place` |
//! | a `spawn_blocking` thread (of either kind of runtime) | blocks |
//! | a current-thread runtime's own thread (in `block_on` or a task) | [`PoolError::WouldBlockRuntime`]: blocking it would stop the runtime the pool may need |
//!
//! Tokio has no "may this thread block" query; the pool asks `block_in_place`, which
//! refuses on exactly the last kind of thread (quietly: the refusal is a panic, caught and
//! not printed).
//!
//! # Handoff on a multi-thread runtime
//!
//! A waiter woken from a runtime worker goes to that worker's LIFO slot, which no other
//! worker may steal from (tokio #4941; the stealing added in 1.51 was reverted in #8100):
//! a holder that hands its resource over and then keeps the worker busy would keep the
//! waiter from running for as long. The pool wakes one of its two idle *relay* tasks right
//! after the waiter (or spawns an empty task if none is idle): the relay takes the slot,
//! and the waiter moves to the worker's stealable queue with a notification that wakes an
//! idle worker. `tests/pool_lifo.rs` hands over from a task that then spins for 300 ms:
//! the waiter is served by the other worker meanwhile.
//!
//! # Threads and shards
//!
//! The steady state — a resource lent at once and taken back with nobody waiting — runs
//! on a *shard* of the pool picked by the calling thread (a pool has twice the machine's
//! parallelism of them, up to 32): a small cache of idle resources, the leases lent from
//! it and their counters, under a lock of its own on cache lines of their own. An acquire
//! and its lease keep the pool alive through the calling thread's *anchor* (one per shard
//! index, each with a reference count of its own) rather than through the pool's own
//! count, so two runtime workers that get and drop at once touch no memory in common at
//! all; a lease goes back to the shard it came from, from whatever thread.
//! Everything else (waiting, creates, checks, retirements, resize, maintenance, close)
//! goes through the pool's state lock, and the shards lend and take back on their own only
//! while nobody waits and the pool is open and within its size: whatever queues a waiter
//! or needs the idle set whole first stops them and gathers their caches, so first come,
//! first served and the size bound hold as with one lock, and [`status`](Pool::status)
//! and [`statistics`](Pool::statistics) add the shards up. A resource cached by one
//! thread is lent to another that asks when its own shard has none. On the 2-core bench
//! machine two workers getting and dropping at once ran about 600 ns per operation on one
//! lock and 150–170 ns with the shards (`tenure-bench pool/tasks=64`, 2026-12-02).
//!
//! # Cooperative scheduling
//!
//! A `get()` served at once does not spend tokio's cooperative budget (bb8's does not
//! either; deadpool's does, through tokio's `Semaphore`), and a waiter that has been handed
//! a resource is never sent back to the scheduler by it: the resource is reserved for that
//! waiter. What a task does with the lease — I/O on a connection — spends the budget as
//! usual. A task that loops on `get()` with nothing else awaited in between is the one case
//! where the pool never makes it yield: add `tokio::task::coop::consume_budget().await` (or
//! `yield_now()`) to such a loop. Spending the budget in `get()` was measured at 40–60 ns
//! per uncontended get + drop on the 2-core bench machine (a quarter of the operation;
//! `tenure-bench pool/tasks=1`, 2026-12-02), hence not done.
//!
//! # Inside
//!
//! A thin public face over a private engine, as tokio draws its sync module:
//!
//! | file | holds |
//! |---|---|
//! | `pool.rs`, `builder.rs` | [`Pool`] and [`PoolBuilder`]: the public calls, each one step of the engine |
//! | `acquire.rs`, `lease.rs` | [`Acquire`] and the blocking wait; [`Lease`] and its return |
//! | `config.rs`, `manager.rs`, `error.rs`, `stats.rs`, `metrics.rs` | what a user writes and reads |
//! | `manager_fn.rs` | [`from_fn`]: a manager made of closures (buffers, test doubles, the doc examples' pools) |
//! | `state/` | the engine: the state under its lock and every step that moves a resource (`acquire.rs`, `returns.rs`, `manage.rs`); the counts, changed only through named steps (`counts.rs`) |
//! | `shard.rs`, `anchor.rs`, `waiters.rs`, `slab.rs` | the per-thread shards and their lease tables, the per-thread holders of the engine that acquires and leases keep, the line of waiters, the slab both tables are |
//! | `after.rs`, `work.rs`, `tasks.rs` | what a step leaves for after the lock, where the pool's work runs (as `crate::runtime` decides), the driver, relays and timer |
//! | `time.rs` | the pool's readings of a [`Clock`](crate::clock::Clock) |

mod acquire;
mod after;
mod anchor;
mod bound;
mod builder;
mod config;
mod error;
mod lease;
mod manager;
mod manager_fn;
#[cfg(feature = "metrics")]
mod metrics;
#[allow(clippy::module_inception)] // the `Pool` type's own file, as `pool::Pool`
mod pool;
mod shard;
mod slab;
mod state;
mod stats;
mod tasks;
mod time;
mod waiters;
mod work;

pub use acquire::Acquire;
pub use builder::PoolBuilder;
pub use config::{PoolConfig, Validation};
pub use error::{BuildError, PoolError, Status};
pub use lease::Lease;
pub use manager::{Checked, Manager, Work};
pub use manager_fn::{from_fn, DropClose, ManagerFn};
pub use pool::Pool;
pub use stats::{Destroyed, DurationBucket, Durations, ResourceMetrics, Retained, Statistics};
