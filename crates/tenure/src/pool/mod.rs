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
//!   TSC, or a [`Clock::manual`] in tests.
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
//! it and their counters, under a lock of its own on cache lines of their own. Two runtime
//! workers that get and drop at once so touch no memory in common but the pool's
//! reference count; a lease goes back to the shard it came from, from whatever thread.
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

mod clock;
mod config;
mod error;
mod lease;
mod manager;
#[cfg(feature = "metrics")]
mod metrics;
mod shared;
mod stats;
mod waiters;

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use crate::sync::{Arc, AtomicUsize, StateLock};
use std::task::{Context, Poll};
use std::time::Duration;

pub use clock::{Clock, ManualClock};
pub use config::{PoolConfig, Validation};
pub use error::{BuildError, PoolError, Status};
pub use lease::Lease;
pub use manager::{Checked, Manager, Work};
pub use stats::{Destroyed, Durations, Statistics};

use shared::{run_after, After, Conn, Retire, Shared, State, Step};
use waiters::{Ticket, Waiters, Wake};

use crate::sink::SharedSink;

/// A pool of resources made by `M`. Cloning shares the pool; when the last `Pool` handle
/// is dropped the pool closes as [`close`](Pool::close) does, without waiting: idle
/// resources are closed at once and lent ones when they come back (leases keep the pool's
/// state alive, not the pool open).
///
/// ```
/// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
/// # struct Unit;
/// # impl Manager for Unit {
/// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
/// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
/// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
/// # }
/// let pool = Pool::new(Unit, PoolConfig::default())?;
/// let lease = pool.get_blocking()?;
/// assert_eq!(pool.status().in_use, 1);
/// drop(lease);
/// assert_eq!(pool.status().idle, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pool<M: Manager> {
    shared: Arc<Shared<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Pool {
            shared: self.shared.clone(),
        }
    }
}

impl<M: Manager> Drop for Pool<M> {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            Shared::begin_close(&self.shared);
        }
    }
}

/// Builds a [`Pool`] with more than a manager and a configuration: the runtime its work
/// runs on, its report sink, its clock.
///
/// ```
/// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
/// # struct Unit;
/// # impl Manager for Unit {
/// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
/// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
/// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
/// # }
/// use std::sync::Arc;
/// use tenure::pool::Clock;
/// let sink = Arc::new(tenure::sink::CollectingSink::new(16));
/// let pool = Pool::builder(Unit)
///     .config(PoolConfig { max_size: 4, ..PoolConfig::default() })
///     .sink(sink.clone())
///     .clock(Clock::system())
///     .build()?;
/// drop(pool.get_blocking()?);
/// assert!(sink.take().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct PoolBuilder<M: Manager> {
    manager: M,
    config: PoolConfig,
    runtime: Option<tokio::runtime::Handle>,
    sink: Option<SharedSink>,
    clock: Option<Clock>,
}

impl<M: Manager> PoolBuilder<M> {
    /// The configuration (default: [`PoolConfig::default`]).
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::builder(Unit).config(PoolConfig { max_size: 3, ..PoolConfig::default() }).build()?;
    /// assert_eq!(pool.status().max_size, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config(mut self, config: PoolConfig) -> Self {
        self.config = config;
        self
    }

    /// The tokio runtime the pool's work runs on (async creates, the blocking work of async
    /// callers, the background driver, the timer that bounds async waits, the relays);
    /// blocking callers of an async manager wait for it there. Default: the runtime current
    /// at `build`, if any. The runtime must outlive the pool's use: once it shuts down,
    /// nothing creates, closes or times out for the pool any more.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = true;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::future(async { Ok(()) }) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let rt = tokio::runtime::Runtime::new()?;
    /// let pool = Pool::builder(Unit).runtime(rt.handle().clone()).build()?;
    /// drop(pool.get_blocking()?); // the create ran on `rt`
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn runtime(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Where the pool's reports go (close failures of retired resources, abandoned resets,
    /// leaks) instead of the process default ([`crate::sink`]).
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let sink = std::sync::Arc::new(tenure::sink::CollectingSink::new(16));
    /// let pool = Pool::builder(Unit).sink(sink.clone()).build()?;
    /// # drop(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sink(mut self, sink: SharedSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The clock the pool reads (default: [`Clock::system`]); [`Clock::manual`] in tests.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let (clock, _time) = tenure::pool::Clock::manual();
    /// let pool = Pool::builder(Unit).clock(clock).build()?;
    /// # drop(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks the configuration and builds the pool (and starts its background driver,
    /// unless `maintenance_interval` is `None`).
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work, BuildError};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let bad = PoolConfig { min_idle: 5, max_size: 2, ..PoolConfig::default() };
    /// assert!(matches!(Pool::builder(Unit).config(bad).build(), Err(BuildError::Config(_))));
    /// ```
    pub fn build(self) -> Result<Pool<M>, BuildError> {
        let runtime = self
            .runtime
            .or_else(|| tokio::runtime::Handle::try_current().ok());
        Pool::build(self.manager, self.config, runtime, self.sink, self.clock)
    }
}

impl<M: Manager> Pool<M> {
    /// A pool of resources made by `manager`. An async manager (`M::ASYNC`) runs its work
    /// on the current tokio runtime, so build it inside one, or use
    /// [`with_runtime`](Self::with_runtime).
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let bad = PoolConfig { max_size: 0, ..PoolConfig::default() };
    /// assert!(Pool::new(Unit, bad).is_err());
    /// ```
    pub fn new(manager: M, config: PoolConfig) -> Result<Self, BuildError> {
        Self::builder(manager).config(config).build()
    }

    /// A pool whose work (async creates, the blocking work of async callers) runs on
    /// `runtime`; blocking callers of an async manager wait for it there. The same as
    /// `Pool::builder(manager).config(config).runtime(runtime).build()`.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = true;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::future(async { Ok(()) }) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let rt = tokio::runtime::Runtime::new()?;
    /// let pool = Pool::with_runtime(Unit, PoolConfig::default(), rt.handle().clone())?;
    /// drop(pool.get_blocking()?); // the create ran on `rt`
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_runtime(
        manager: M,
        config: PoolConfig,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, BuildError> {
        Self::builder(manager)
            .config(config)
            .runtime(runtime)
            .build()
    }

    /// A [`PoolBuilder`]: a runtime, a report sink or a clock of the pool's own.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::builder(Unit).build()?;
    /// # drop(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(manager: M) -> PoolBuilder<M> {
        PoolBuilder {
            manager,
            config: PoolConfig::default(),
            runtime: None,
            sink: None,
            clock: None,
        }
    }

    fn build(
        manager: M,
        config: PoolConfig,
        runtime: Option<tokio::runtime::Handle>,
        sink: Option<SharedSink>,
        clock: Option<Clock>,
    ) -> Result<Self, BuildError> {
        if config.max_size == 0 {
            return Err(BuildError::Config("max_size must be at least 1"));
        }
        if config.min_idle > config.max_size {
            return Err(BuildError::Config("min_idle must not exceed max_size"));
        }
        if config.max_concurrent_creates == 0 {
            return Err(BuildError::Config(
                "max_concurrent_creates must be at least 1",
            ));
        }
        if config.leak_threshold == Some(Duration::ZERO) {
            return Err(BuildError::Config(
                "leak_threshold must be above zero (None turns it off)",
            ));
        }
        if config.maintenance_interval == Some(Duration::ZERO) {
            return Err(BuildError::Config(
                "maintenance_interval must be above zero (None turns the driver off)",
            ));
        }
        if M::ASYNC && runtime.is_none() {
            return Err(BuildError::NoRuntime);
        }
        if let Some(rt) = &runtime {
            if !crate::runtime::has_timers(rt) {
                return Err(BuildError::NoTimers);
            }
        }
        let state = State {
            idle: Vec::with_capacity(config.max_size),
            size: 0,
            creating: 0,
            checking: 0,
            in_use: 0,
            closing: 0,
            waiters: Waiters::new(),
            closed: false,
            max_size: config.max_size,
            last_error: None,
            failures_in_a_row: 0,
            next_create_at: None,
            drained: Vec::new(),
            retry_armed: false,
            timer_at: None,
            timer_waker: None,
            stats: Statistics::default(),
            created_total: 0,
        };
        let relays = shared::relays(runtime.as_ref());
        let shared = Arc::new(Shared {
            #[cfg(feature = "metrics")]
            metrics: metrics::Handles::new(config.name),
            manager,
            config,
            runtime,
            sink,
            clock: clock.unwrap_or_default(),
            relays,
            handles: AtomicUsize::new(1),
            gate: shared::Gate::new(),
            state: StateLock::new(state),
            shards: (0..shared::shard_count())
                .map(|_| shared::Shard::new())
                .collect(),
        });
        shared::start_driver(&shared);
        shared::start_relays(&shared);
        shared::start_timer(&shared);
        Ok(Pool { shared })
    }

    /// The pool's figures now.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig { max_size: 4, ..Default::default() })?;
    /// assert_eq!(pool.status().to_string(), "0 of 4 in use, 0 waiting");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> Status {
        self.shared.status_of(&self.shared.lock())
    }

    /// The pool's counters so far.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// assert_eq!(pool.statistics().created, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn statistics(&self) -> Statistics {
        self.shared.statistics_of(&self.shared.lock())
    }

    /// Acquires a resource, waiting in line (first come, first served) up to
    /// `acquire_timeout`. The future is cancel-safe: dropped at any point, it leaves its
    /// place, and a resource handed to it meanwhile goes to the next in line.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// let lease = pool.get().await?;
    /// assert_eq!(pool.status().in_use, 1);
    /// drop(lease);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn get(&self) -> Acquire<M> {
        self.get_timeout(self.shared.config.acquire_timeout)
    }

    /// [`get`](Self::get) with its own timeout.
    #[track_caller]
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(Unit, PoolConfig { max_size: 1, ..Default::default() })?;
    /// let _held = pool.get().await?;
    /// let e = pool.get_timeout(std::time::Duration::from_millis(10)).await.unwrap_err();
    /// assert!(e.to_string().starts_with("timed out after"));
    /// # Ok(()) }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Acquire<M> {
        Acquire {
            shared: Some(self.shared.clone()),
            state: AcquireState::Start,
            timeout,
            started: None,
            sleep: None,
            site: Location::caller(),
        }
    }

    /// Acquires a resource from a thread, blocking it (in the same line as async callers)
    /// up to `acquire_timeout`.
    ///
    /// Inside a tokio runtime: on a multi-thread runtime's worker it takes an idle resource
    /// at once, and waits (if it must) through `block_in_place`; on a `spawn_blocking` thread it simply blocks; on a current-thread
    /// runtime's own thread it would stop the runtime the pool may need, so it fails with
    /// [`PoolError::WouldBlockRuntime`] (use `get().await` there). See the table in the
    /// [module docs](self#where-get_blocking-may-be-called).
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// let lease = pool.get_blocking()?;
    /// drop(lease);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn get_blocking(&self) -> Result<Lease<M>, PoolError<M::Error>> {
        self.get_blocking_timeout(self.shared.config.acquire_timeout)
    }

    /// [`get_blocking`](Self::get_blocking) with its own timeout.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// drop(pool.get_blocking_timeout(std::time::Duration::from_secs(1))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<Lease<M>, PoolError<M::Error>> {
        let site = Location::caller();
        // Inside a multi-thread runtime's worker, a wait goes through `block_in_place`.
        let in_place = match tokio::runtime::Handle::try_current() {
            Err(_) => false, // no runtime
            Ok(h) => match h.runtime_flavor() {
                tokio::runtime::RuntimeFlavor::CurrentThread => {
                    if !crate::runtime::may_block_on_current_thread_runtime() {
                        return Err(PoolError::WouldBlockRuntime); // its own thread
                    }
                    false // one of its spawn_blocking threads
                }
                _ => true,
            },
        };
        // Served at once blocks nothing (and needs no `block_in_place`, which hands the
        // worker's other tasks to another thread).
        let shared = &self.shared;
        if let Some((conn, slot)) = shared.try_lend(shared.now(), site) {
            return Ok(Lease::new(shared.clone(), conn, slot, site));
        }
        if in_place {
            tokio::task::block_in_place(|| self.wait_blocking(timeout, site))
        } else {
            self.wait_blocking(timeout, site)
        }
    }

    fn wait_blocking(
        &self,
        timeout: Duration,
        site: &'static Location<'static>,
    ) -> Result<Lease<M>, PoolError<M::Error>> {
        let shared = &self.shared;
        let start = shared.now();
        let me = || Wake::Thread(crate::sync::thread::current());
        let mut after = After::new();
        // A thread bounds its own wait (it parks with a timeout).
        let step = shared.begin(start, || (me(), None), site, &mut after);
        run_after(shared, after);
        let ticket = match step {
            Step::Ready(conn, slot) => return Ok(Lease::new(shared.clone(), conn, slot, site)),
            Step::Fail(e) => return Err(e),
            Step::Wait(t) => t,
        };
        // The deadline is real time (a thread parks on it), whatever the pool's clock.
        let began = std::time::Instant::now();
        let deadline = began + timeout;
        loop {
            let now = shared.now();
            let polled = {
                let mut st = shared.lock();
                let r = st.waiters.poll(ticket, me);
                r.map(|r| served(shared, &mut st, r, start, now, site))
            };
            if let Some(r) = polled {
                return waited(shared.clone(), r, site);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return give_up(shared.clone(), ticket, start, began.elapsed(), site);
            }
            crate::sync::thread::park_timeout(deadline - now);
        }
    }

    /// Changes `max_size`. Growing lets waiters be served by new creates; shrinking retires
    /// the extra resources as they come back (idle ones at once), never reusing them.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig { max_size: 2, ..Default::default() })?;
    /// pool.resize(1);
    /// assert_eq!(pool.status().max_size, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resize(&self, max_size: usize) {
        let now = self.shared.now();
        let mut after = After::new();
        {
            let mut st = self.shared.lock();
            st.max_size = max_size.max(1);
            self.shared.flush(&mut st);
            while st.size - st.closing > st.max_size {
                let Some(conn) = st.idle.pop() else { break };
                self.shared
                    .retire(&mut st, conn, Retire::Resized, &mut after);
            }
            self.shared.maybe_create(&mut st, now, 0, &mut after);
        }
        run_after(&self.shared, after);
    }

    /// Retires every idle resource for which `keep` returns `false`. `keep` runs under the
    /// pool's lock: keep it short. If it panics, the panic goes on to the caller, the
    /// resources it had not judged yet (and the one it panicked on) stay idle, and those it
    /// rejected are retired.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// drop(pool.get_blocking()?);
    /// pool.retain(|_| false);
    /// assert_eq!(pool.status().idle, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retain(&self, mut keep: impl FnMut(&M::Resource) -> bool) {
        let mut after = After::new();
        {
            let mut st = self.shared.lock();
            self.shared.flush(&mut st);
            let mut idle = std::mem::take(&mut st.idle).into_iter();
            while let Some(conn) = idle.next() {
                let verdict =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| keep(&conn.resource)));
                match verdict {
                    Ok(true) => st.idle.push(conn),
                    Ok(false) => self
                        .shared
                        .retire(&mut st, conn, Retire::Discarded, &mut after),
                    Err(panic) => {
                        // The predicate panicked: this one and those not looked at yet
                        // stay idle (nothing lost), the retirements so far go ahead.
                        st.idle.push(conn);
                        st.idle.extend(idle);
                        drop(st);
                        run_after(&self.shared, after);
                        std::panic::resume_unwind(panic);
                    }
                }
            }
        }
        run_after(&self.shared, after);
    }

    /// One round of maintenance as of `now`: retires idle resources past their lifetime or
    /// idle timeout (keeping `min_idle`), creates resources up to `min_idle`, reports leases
    /// held past `leak_threshold` and (feature `metrics`) publishes the gauges. The
    /// background driver runs it every `maintenance_interval` with the present time;
    /// correctness never depends on it (expiry is also checked at checkout and return).
    ///
    /// Tests tick it by hand: a `now` ahead of the present runs the round as if that much
    /// time had passed (the pool's clock plus the difference), so an hour of idling needs
    /// no waiting; a `now` in the past counts as the present. With a [`Clock::manual`],
    /// move the clock and pass `Instant::now()`.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// use std::time::{Duration, Instant};
    /// let config = PoolConfig {
    ///     min_idle: 1,
    ///     idle_timeout: Some(Duration::from_secs(600)),
    ///     maintenance_interval: None,
    ///     ..Default::default()
    /// };
    /// let pool = Pool::new(Unit, config)?;
    /// pool.maintain(Instant::now()); // creates min_idle (here at once: Work::ready)
    /// assert_eq!(pool.status().idle, 1);
    /// let (a, b) = (pool.get_blocking()?, pool.get_blocking()?);
    /// drop((a, b));
    /// pool.maintain(Instant::now() + Duration::from_secs(601)); // as if 10 minutes passed
    /// assert_eq!(pool.status().idle, 1, "the extra idle one retired, min_idle kept");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn maintain(&self, now: std::time::Instant) {
        // Ahead of the present: that much later on the pool's clock; not behind it (a
        // round never runs in the past, and `Instant::now()` passed in is "now").
        let ahead = now.saturating_duration_since(std::time::Instant::now());
        Shared::maintain_at(&self.shared, self.shared.now() + ahead);
    }

    /// Closes the pool: new acquires fail with [`PoolError::Closed`] at once, waiters are
    /// failed, idle resources are closed now and lent ones when they come back. Resolves
    /// when every resource is closed.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// drop(pool.get().await?);
    /// pool.close().await;
    /// assert!(matches!(pool.get().await, Err(tenure::pool::PoolError::Closed)));
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) {
        self.begin_close();
        std::future::poll_fn(|cx| {
            let mut st = self.shared.lock();
            if st.size == 0 {
                Poll::Ready(())
            } else {
                st.drained.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// [`close`](Self::close), waiting at most `timeout` for the lent resources to come
    /// back and every resource to be closed; `true` when all were. Past the deadline the
    /// pool stays closed and the leases still out are closed when they come back.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// let held = pool.get().await?;
    /// assert!(!pool.close_timeout(Duration::from_millis(10)).await, "a lease is still out");
    /// drop(held); // closed as it comes back
    /// assert_eq!(pool.status().size, 0);
    /// # Ok(()) }
    /// ```
    pub async fn close_timeout(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.close()).await.is_ok()
    }

    /// [`close`](Self::close) for a thread, waiting at most `timeout` for the resources to
    /// come back; `true` when every resource was closed.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// drop(pool.get_blocking()?);
    /// assert!(pool.close_blocking(std::time::Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_blocking(&self, timeout: Duration) -> bool {
        self.begin_close();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.shared.lock().size == 0 {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
        }
    }

    fn begin_close(&self) {
        Shared::begin_close(&self.shared);
    }
}

/// A waiter's outcome taken from the line (under the lock that took it, so a waited acquire
/// locks twice — to join, to leave served — not three times): the wait recorded and the
/// lease's slot registered, or the error.
fn served<M: Manager>(
    shared: &Shared<M>,
    st: &mut State<M>,
    r: Result<Conn<M::Resource>, PoolError<M::Error>>,
    start: clock::Instant,
    now: clock::Instant,
    site: &'static Location<'static>,
) -> Result<Served<M>, PoolError<M::Error>> {
    let conn = r?;
    let wait = now.saturating_duration_since(start);
    st.stats.wait_time.record(wait);
    // Handed over (counted in `st.in_use`), now lent on this thread's shard.
    st.in_use -= 1;
    let slot = shared.lend_here(site, now);
    Ok(Served { conn, slot, wait })
}

/// A resource served to a waiter, with its lease slot and how long it waited.
struct Served<M: Manager> {
    conn: Conn<M::Resource>,
    slot: shared::LeaseAt,
    wait: Duration,
}

/// The lease of a served waiter (the lock released): its wait published.
fn waited<M: Manager>(
    shared: Arc<Shared<M>>,
    served: Result<Served<M>, PoolError<M::Error>>,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let Served { conn, slot, wait } = served?;
    #[cfg(feature = "metrics")]
    shared.metrics.wait(wait);
    tracing::trace!(target: "tenure", pool = shared.config.name, wait_us = wait.as_micros() as u64, %site, "acquired after waiting");
    Ok(Lease::new(shared, conn, slot, site))
}

/// The deadline passed: leave the line — unless served meanwhile, then take it.
fn give_up<M: Manager>(
    shared: Arc<Shared<M>>,
    ticket: Ticket,
    start: clock::Instant,
    waited_for: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let now = shared.now();
    let mut st = shared.lock();
    if let Some(r) = st.waiters.poll(ticket, || Wake::None) {
        let r = served(&shared, &mut st, r, start, now, site);
        drop(st);
        return waited(shared, r, site);
    }
    // The pool as this caller saw it, itself still in line.
    let status = shared.status_of(&st);
    st.waiters.cancel(ticket);
    st.stats.timeouts += 1;
    let last_create_error = st.last_error.clone();
    drop(st);
    tracing::debug!(target: "tenure", pool = shared.config.name, %site, "acquire timed out after {waited_for:?} ({status})");
    Err(PoolError::Timeout {
        waited: waited_for,
        status,
        last_create_error,
    })
}

pin_project_lite::pin_project! {
    /// The future of [`Pool::get`]: a named type, so `#[track_caller]` records the caller.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::new(Unit, PoolConfig::default())?;
    /// let acquire: tenure::pool::Acquire<Unit> = pool.get();
    /// drop(acquire.await?);
    /// # Ok(()) }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Acquire<M: Manager> {
        // Moved into the lease when it is served (`None` once done).
        shared: Option<Arc<Shared<M>>>,
        state: AcquireState,
        timeout: Duration,
        // When the acquire began, by the pool's clock (its wait time).
        started: Option<clock::Instant>,
        // The timeout of a pool without a runtime (a sync manager built outside one),
        // armed when it first waits; with a runtime the pool's timer task enforces it.
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
        site: &'static Location<'static>,
    }

    /// Leaves the line if still in it; a resource handed over meanwhile goes to the next.
    impl<M: Manager> PinnedDrop for Acquire<M> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (AcquireState::Waiting(t), Some(shared)) = (*this.state, this.shared.as_ref()) {
                let mut after = After::new();
                {
                    let mut st = shared.lock();
                    if let Some(conn) = st.waiters.cancel(t) {
                        st.in_use -= 1;
                        let now = shared.now();
                        shared.deliver(&mut st, conn, now, &mut after);
                    }
                    // A create it started may now have no one to serve: it finishes into
                    // the idle set (nothing to undo).
                }
                run_after(shared, after);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum AcquireState {
    Start,
    Waiting(Ticket),
    Done,
}

impl<M: Manager> Future for Acquire<M> {
    type Output = Result<Lease<M>, PoolError<M::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(shared) = this.shared.as_ref() else {
            panic!("Acquire polled after it finished");
        };
        match *this.state {
            AcquireState::Done => panic!("Acquire polled after it finished"),
            AcquireState::Start => {
                let now = shared.now();
                if let Some((conn, slot)) = shared.try_lend(now, this.site) {
                    *this.state = AcquireState::Done;
                    let shared = this.shared.take().expect("checked above");
                    let lease = Lease::new(shared, conn, slot, this.site);
                    return Poll::Ready(Ok(lease));
                }
                *this.started = Some(now);
                let mut after = After::new();
                let timeout = *this.timeout;
                let timed_by_pool = shared.times_async_waits();
                let step = shared.begin(
                    now,
                    || {
                        let deadline =
                            timed_by_pool.then(|| (tokio::time::Instant::now() + timeout, timeout));
                        (Wake::Task(cx.waker().clone()), deadline)
                    },
                    this.site,
                    &mut after,
                );
                run_after(shared, after);
                match step {
                    Step::Ready(conn, slot) => {
                        *this.state = AcquireState::Done;
                        let shared = this.shared.take().expect("checked above");
                        let lease = Lease::new(shared, conn, slot, this.site);
                        return Poll::Ready(Ok(lease));
                    }
                    Step::Fail(e) => {
                        *this.state = AcquireState::Done;
                        *this.shared = None;
                        return Poll::Ready(Err(e));
                    }
                    Step::Wait(t) => *this.state = AcquireState::Waiting(t),
                }
            }
            AcquireState::Waiting(_) => {}
        }
        let AcquireState::Waiting(t) = *this.state else {
            unreachable!("the other states returned above")
        };
        let now = shared.now();
        let start = this.started.unwrap_or(now);
        let polled = {
            let mut st = shared.lock();
            let r = st.waiters.poll_task(t, cx.waker());
            r.map(|r| served(shared, &mut st, r, start, now, this.site))
        };
        if let Some(r) = polled {
            *this.state = AcquireState::Done;
            let shared = this.shared.take().expect("checked above");
            return Poll::Ready(waited(shared, r, this.site));
        }
        // Loom models have no timers: an acquire there waits untimed. With a runtime, the
        // pool's timer task fails the slot at the deadline and wakes this task.
        if cfg!(loom) || shared.times_async_waits() {
            return Poll::Pending;
        }
        let timeout = *this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        *this.state = AcquireState::Done;
        let shared = this.shared.take().expect("checked above");
        Poll::Ready(give_up(shared, t, start, *this.timeout, this.site))
    }
}

impl<M: Manager> std::fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .finish()
    }
}

impl<M: Manager> std::fmt::Debug for Acquire<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            AcquireState::Start => "not polled yet",
            AcquireState::Waiting(_) => "waiting in line",
            AcquireState::Done => "done",
        };
        f.debug_struct("Acquire")
            .field("state", &state)
            .field("timeout", &self.timeout)
            .field("site", &self.site)
            .finish()
    }
}

impl<M: Manager> std::fmt::Debug for PoolBuilder<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("config", &self.config)
            .field("runtime", &self.runtime.is_some())
            .field("sink", &self.sink.is_some())
            .field("clock", &self.clock)
            .finish()
    }
}
