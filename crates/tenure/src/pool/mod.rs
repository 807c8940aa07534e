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
//! **What the first slice does not do yet** (see the issue's notes): leak detection,
//! background maintenance (call [`maintain`](Pool::maintain)), wait/hold-time percentiles,
//! the `metrics` feature, loom models and benchmarks.

mod config;
mod error;
mod lease;
mod manager;
mod shared;
mod waiters;

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use config::{PoolConfig, Validation};
pub use error::{BuildError, PoolError, Status};
pub use lease::Lease;
pub use manager::{Checked, Manager, Work};

use shared::{run_after, After, Conn, Retire, Shared, State, Step};
use waiters::{Ticket, Waiters, Wake};

use crate::sink::SharedSink;

/// A pool of resources made by `M`. Cloning shares the pool.
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
        Pool {
            shared: self.shared.clone(),
        }
    }
}

/// Counters and durations of a pool, since it was built.
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
/// let stats = pool.statistics();
/// assert_eq!((stats.created, stats.acquired_waited), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statistics {
    /// Acquires served at once from an idle resource.
    pub acquired_direct: u64,
    /// Acquires that waited (for a create, a validation or a returned resource).
    pub acquired_waited: u64,
    /// Acquires that timed out.
    pub timeouts: u64,
    /// Acquires refused because `max_waiters` callers already waited.
    pub refused: u64,
    /// Resources created.
    pub created: u64,
    /// Creates that failed or timed out.
    pub create_failures: u64,
    /// Resources retired, by reason.
    pub destroyed: Destroyed,
    /// Closes of retired resources that failed (each also reported to the sink).
    pub close_failures: u64,
    /// Resets past `return_timeout`, dropped with their resource.
    pub abandoned: u64,
    /// Resources taken out with [`Lease::detach`].
    pub detached: u64,
    /// How long leases were held.
    pub hold_time: Durations,
    /// How long acquires that waited waited.
    pub wait_time: Durations,
}

/// Resources retired, by reason.
///
/// ```
/// assert_eq!(tenure::pool::Destroyed::default().expired, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destroyed {
    /// Reported broken on return.
    pub broken: u64,
    /// Past their lifetime.
    pub expired: u64,
    /// Idle past `idle_timeout`.
    pub idle: u64,
    /// Failed validation.
    pub invalid: u64,
    /// Failed their reset.
    pub reset_failed: u64,
    /// Returned while their thread panicked.
    pub panicked: u64,
    /// Extra after a `resize` down.
    pub resized: u64,
    /// Closed with the pool.
    pub closed: u64,
    /// Discarded by their holder.
    pub discarded: u64,
}

/// A summary of durations: how many, their total and the longest.
///
/// ```
/// assert_eq!(tenure::pool::Durations::default().count, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durations {
    /// How many were recorded.
    pub count: u64,
    /// Their sum.
    pub total: Duration,
    /// The longest.
    pub max: Duration,
}

impl Durations {
    pub(crate) fn record(&mut self, d: Duration) {
        self.count += 1;
        self.total += d;
        self.max = self.max.max(d);
    }

    /// The mean, or zero.
    ///
    /// ```
    /// assert_eq!(tenure::pool::Durations::default().mean(), std::time::Duration::ZERO);
    /// ```
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            self.total / self.count.min(u64::from(u32::MAX)) as u32
        }
    }
}

impl Statistics {
    pub(super) fn count_retired(&mut self, why: Retire) {
        let d = &mut self.destroyed;
        match why {
            Retire::Broken => d.broken += 1,
            Retire::Expired => d.expired += 1,
            Retire::IdleTimeout => d.idle += 1,
            Retire::Invalid => d.invalid += 1,
            Retire::ResetFailed => d.reset_failed += 1,
            Retire::Panicked => d.panicked += 1,
            Retire::Resized => d.resized += 1,
            Retire::Closed => d.closed += 1,
            Retire::Discarded => d.discarded += 1,
        }
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
        let runtime = tokio::runtime::Handle::try_current().ok();
        Self::build(manager, config, runtime, None)
    }

    /// A pool whose work (async creates, the blocking work of async callers) runs on
    /// `runtime`; blocking callers of an async manager wait for it there.
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
        Self::build(manager, config, Some(runtime), None)
    }

    /// Sends the pool's reports (close failures of retired resources, abandoned resets) to
    /// `sink` instead of the process default.
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
    /// let sink = Arc::new(tenure::sink::CollectingSink::new(16));
    /// let pool = Pool::new(Unit, PoolConfig::default())?.with_sink(sink.clone());
    /// drop(pool.get_blocking()?);
    /// assert!(sink.take().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_sink(self, sink: SharedSink) -> Self {
        let Ok(shared) = Arc::try_unwrap(self.shared) else {
            panic!("Pool::with_sink is for a pool just built, before it is cloned");
        };
        let Shared {
            manager,
            config,
            runtime,
            state,
            ..
        } = shared;
        Pool {
            shared: Arc::new(Shared {
                manager,
                config,
                runtime,
                sink: Some(sink),
                state,
            }),
        }
    }

    fn build(
        manager: M,
        config: PoolConfig,
        runtime: Option<tokio::runtime::Handle>,
        sink: Option<SharedSink>,
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
        if M::ASYNC && runtime.is_none() {
            return Err(BuildError::NoRuntime);
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
            stats: Statistics::default(),
            created_total: 0,
        };
        Ok(Pool {
            shared: Arc::new(Shared {
                manager,
                config,
                runtime,
                sink,
                state: Mutex::new(state),
            }),
        })
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
        Shared::status_of(&self.shared.lock())
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
        self.shared.lock().stats.clone()
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
            shared: self.shared.clone(),
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
    /// Inside a tokio runtime: on a multi-thread runtime's worker it blocks through
    /// `block_in_place`; on a current-thread runtime's own thread it would stop the runtime
    /// the pool may need, so it fails with [`PoolError::WouldBlockRuntime`] (tokio cannot
    /// tell that thread from the runtime's `spawn_blocking` threads, which therefore get
    /// the same error: use `get().await` there).
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
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            return match h.runtime_flavor() {
                tokio::runtime::RuntimeFlavor::CurrentThread => Err(PoolError::WouldBlockRuntime),
                _ => tokio::task::block_in_place(|| self.wait_blocking(timeout, site)),
            };
        }
        self.wait_blocking(timeout, site)
    }

    fn wait_blocking(
        &self,
        timeout: Duration,
        site: &'static Location<'static>,
    ) -> Result<Lease<M>, PoolError<M::Error>> {
        let start = Instant::now();
        let deadline = start + timeout;
        let me = || Wake::Thread(std::thread::current());
        let mut after = After::new();
        let step = self.shared.begin(start, me(), &mut after);
        run_after(&self.shared, after);
        let ticket = match step {
            Step::Ready(conn) => return Ok(self.lease(conn, site)),
            Step::Fail(e) => return Err(e),
            Step::Wait(t) => t,
        };
        loop {
            // Bound first: the guard must be gone before `waited` locks again.
            let polled = self.shared.lock().waiters.poll(ticket, me);
            if let Some(r) = polled {
                return self.waited(r, start, site);
            }
            let now = Instant::now();
            if now >= deadline {
                return self.give_up(ticket, start, site);
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    fn lease(&self, conn: Conn<M::Resource>, site: &'static Location<'static>) -> Lease<M> {
        Lease {
            shared: self.shared.clone(),
            conn: Some(conn),
            site,
            since: Instant::now(),
        }
    }

    fn waited(
        &self,
        r: Result<Conn<M::Resource>, PoolError<M::Error>>,
        start: Instant,
        site: &'static Location<'static>,
    ) -> Result<Lease<M>, PoolError<M::Error>> {
        let conn = r?;
        self.shared.lock().stats.wait_time.record(start.elapsed());
        Ok(self.lease(conn, site))
    }

    /// The deadline passed: leave the line — unless served meanwhile, then take it.
    fn give_up(
        &self,
        ticket: Ticket,
        start: Instant,
        site: &'static Location<'static>,
    ) -> Result<Lease<M>, PoolError<M::Error>> {
        let mut st = self.shared.lock();
        if let Some(r) = st.waiters.poll(ticket, || Wake::None) {
            drop(st);
            return self.waited(r, start, site);
        }
        // The pool as this caller saw it, itself still in line.
        let status = Shared::status_of(&st);
        st.waiters.cancel(ticket);
        st.stats.timeouts += 1;
        Err(PoolError::Timeout {
            waited: start.elapsed(),
            status,
            last_create_error: st.last_error.clone(),
        })
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
        let now = Instant::now();
        let mut after = After::new();
        {
            let mut st = self.shared.lock();
            st.max_size = max_size.max(1);
            while st.size - st.closing > st.max_size {
                let Some(conn) = st.idle.pop() else { break };
                self.shared
                    .retire(&mut st, conn, Retire::Resized, &mut after);
            }
            self.shared.maybe_create(&mut st, now, 0, &mut after);
        }
        run_after(&self.shared, after);
    }

    /// Retires every idle resource for which `keep` returns `false`.
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
            let idle = std::mem::take(&mut st.idle);
            for conn in idle {
                if keep(&conn.resource) {
                    st.idle.push(conn);
                } else {
                    self.shared
                        .retire(&mut st, conn, Retire::Discarded, &mut after);
                }
            }
        }
        run_after(&self.shared, after);
    }

    /// One round of maintenance at `now`: retires idle resources past their lifetime or
    /// idle timeout, and creates resources up to `min_idle`. Correctness never depends on
    /// it (expiry is also checked at checkout and return); tests call it with their own
    /// `now`.
    ///
    /// ```
    /// # use tenure::pool::{Manager, Pool, PoolConfig, Work};
    /// # struct Unit;
    /// # impl Manager for Unit {
    /// #     type Resource = (); type Error = std::io::Error; const ASYNC: bool = false;
    /// #     fn create(&self) -> Work<Result<(), std::io::Error>> { Work::ready(Ok(())) }
    /// #     fn close(&self, _: ()) -> Work<Result<(), tenure::error::BoxError>> { Work::ready(Ok(())) }
    /// # }
    /// let pool = Pool::new(Unit, PoolConfig { min_idle: 2, ..Default::default() })?;
    /// pool.maintain(std::time::Instant::now()); // creates two (here at once: Work::ready)
    /// assert_eq!(pool.status().idle, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn maintain(&self, now: Instant) {
        let mut after = After::new();
        {
            let mut st = self.shared.lock();
            let idle = std::mem::take(&mut st.idle);
            for conn in idle {
                let expired = conn.expires_at.is_some_and(|t| now >= t);
                let stale = self
                    .shared
                    .config
                    .idle_timeout
                    .is_some_and(|t| now.saturating_duration_since(conn.idle_since) >= t);
                if expired {
                    self.shared
                        .retire(&mut st, conn, Retire::Expired, &mut after);
                } else if stale && st.idle.len() >= self.shared.config.min_idle {
                    self.shared
                        .retire(&mut st, conn, Retire::IdleTimeout, &mut after);
                } else {
                    st.idle.push(conn);
                }
            }
            let want = self
                .shared
                .config
                .min_idle
                .saturating_sub(st.idle.len() + st.creating);
            if !st.closed && st.next_create_at.is_none_or(|t| t <= now) {
                for _ in 0..want {
                    if st.size >= st.max_size
                        || st.creating >= self.shared.config.max_concurrent_creates
                    {
                        break;
                    }
                    st.size += 1;
                    st.creating += 1;
                    after.jobs.push(shared::Job::Create);
                }
            }
        }
        run_after(&self.shared, after);
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
        let deadline = Instant::now() + timeout;
        loop {
            if self.shared.lock().size == 0 {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
        }
    }

    fn begin_close(&self) {
        let mut after = After::new();
        {
            let mut st = self.shared.lock();
            st.closed = true;
            after
                .wakes
                .extend(st.waiters.fail_all(|| PoolError::Closed));
            for conn in std::mem::take(&mut st.idle) {
                self.shared
                    .retire(&mut st, conn, Retire::Closed, &mut after);
            }
            self.shared.wake_if_drained(&mut st);
        }
        run_after(&self.shared, after);
    }
}

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
    shared: Arc<Shared<M>>,
    state: AcquireState,
    timeout: Duration,
    started: Option<Instant>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    site: &'static Location<'static>,
}

enum AcquireState {
    Start,
    Waiting(Ticket),
    Done,
}

impl<M: Manager> Future for Acquire<M> {
    type Output = Result<Lease<M>, PoolError<M::Error>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let pool = Pool {
            shared: this.shared.clone(),
        };
        loop {
            match this.state {
                AcquireState::Done => panic!("Acquire polled after it finished"),
                AcquireState::Start => {
                    let now = Instant::now();
                    this.started = Some(now);
                    let mut after = After::new();
                    let step = this
                        .shared
                        .begin(now, Wake::Task(cx.waker().clone()), &mut after);
                    run_after(&this.shared, after);
                    match step {
                        Step::Ready(conn) => {
                            this.state = AcquireState::Done;
                            return Poll::Ready(Ok(pool.lease(conn, this.site)));
                        }
                        Step::Fail(e) => {
                            this.state = AcquireState::Done;
                            return Poll::Ready(Err(e));
                        }
                        Step::Wait(t) => this.state = AcquireState::Waiting(t),
                    }
                }
                AcquireState::Waiting(t) => {
                    let start = this.started.unwrap_or_else(Instant::now);
                    let polled = this
                        .shared
                        .lock()
                        .waiters
                        .poll(t, || Wake::Task(cx.waker().clone()));
                    if let Some(r) = polled {
                        this.state = AcquireState::Done;
                        return Poll::Ready(pool.waited(r, start, this.site));
                    }
                    let deadline = tokio::time::Instant::from_std(start + this.timeout);
                    let sleep = this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.state = AcquireState::Done;
                    return Poll::Ready(pool.give_up(t, start, this.site));
                }
            }
        }
    }
}

/// Leaves the line if still in it; a resource handed over meanwhile goes to the next.
impl<M: Manager> Drop for Acquire<M> {
    fn drop(&mut self) {
        if let AcquireState::Waiting(t) = self.state {
            let now = Instant::now();
            let mut after = After::new();
            {
                let mut st = self.shared.lock();
                if let Some(conn) = st.waiters.cancel(t) {
                    st.in_use -= 1;
                    self.shared.deliver(&mut st, conn, now, &mut after);
                }
                // A create it started may now have no one to serve: it finishes into the
                // idle set (nothing to undo).
            }
            run_after(&self.shared, after);
        }
    }
}

impl<M: Manager> std::fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .finish()
    }
}
