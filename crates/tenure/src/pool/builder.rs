//! [`PoolBuilder`]: a pool with more than a manager and a configuration — the runtime its
//! work runs on, its report sink, its clock.

use crate::clock::Clock;
use crate::sink::SharedSink;
use crate::sync::Arc;

use super::config::PoolConfig;
use super::error::BuildError;
use super::manager::Manager;
use super::pool::Pool;
use super::state::Shared;
use super::tasks;
use super::time::PoolClock;

/// Builds a [`Pool`] with more than a manager and a configuration: the runtime its work
/// runs on, its report sink, its clock.
///
/// ```
/// # use tenure::pool::{from_fn, Pool, PoolConfig};
/// use std::sync::Arc;
/// use tenure::clock::TscClock;
/// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
/// let sink = Arc::new(tenure::sink::CollectingSink::new(16));
/// let pool = Pool::builder(manager)
///     .config(PoolConfig { max_size: 4, ..PoolConfig::default() })
///     .sink(sink.clone())
///     .clock(TscClock::new())
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
    clock: PoolClock,
}

impl<M: Manager> PoolBuilder<M> {
    /// The configuration (default: [`PoolConfig::default`]).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::builder(manager).config(PoolConfig { max_size: 3, ..PoolConfig::default() }).build()?;
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
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let rt = tokio::runtime::Runtime::new()?;
    /// let pool = Pool::builder(manager).runtime(rt.handle().clone()).build()?;
    /// drop(pool.get_blocking()?); // an async manager's work would run on `rt`
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
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let sink = std::sync::Arc::new(tenure::sink::CollectingSink::new(16));
    /// let pool = Pool::builder(manager).sink(sink.clone()).build()?;
    /// # drop(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sink(mut self, sink: SharedSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The clock the pool reads for lifetimes, idle times, validation windows, the create
    /// backoff, hold and wait times and leak detection (default: the TSC, as
    /// [`TscClock`](crate::clock::TscClock) reads it); a
    /// [`ManualClock`](crate::clock::ManualClock) in tests, so a test of a lifetime or an
    /// idle timeout needs no sleeping.
    ///
    /// Waiting itself (`acquire_timeout`, `create_timeout`, `return_timeout`) is bounded by
    /// tokio's timers for async callers and by the thread's own park timeout for blocking
    /// ones: tests of those use tokio's paused time (`#[tokio::test(start_paused = true)]`).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// use std::time::Duration;
    /// use tenure::clock::ManualClock;
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let time = ManualClock::new();
    /// let config = PoolConfig { idle_timeout: Some(Duration::from_secs(60)), ..PoolConfig::default() };
    /// let pool = Pool::builder(manager).config(config).clock(time.clone()).build()?;
    /// drop(pool.get_blocking()?);
    /// time.advance(Duration::from_secs(61));
    /// pool.maintain();
    /// assert_eq!(pool.statistics().destroyed.idle, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock + Send + Sync + 'static) -> Self {
        self.clock = PoolClock::given(clock);
        self
    }

    /// Checks the configuration and builds the pool (and starts its background driver,
    /// unless `maintenance_interval` is `None`).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig, BuildError};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let bad = PoolConfig { min_idle: 5, max_size: 2, ..PoolConfig::default() };
    /// assert!(matches!(Pool::builder(manager).config(bad).build(), Err(BuildError::Config(_))));
    /// ```
    pub fn build(self) -> Result<Pool<M>, BuildError> {
        self.config.check()?;
        let runtime = self
            .runtime
            .or_else(|| tokio::runtime::Handle::try_current().ok());
        if M::ASYNC && runtime.is_none() {
            return Err(BuildError::NoRuntime);
        }
        if let Some(rt) = &runtime {
            if !crate::runtime::has_timers(rt) {
                return Err(BuildError::NoTimers);
            }
        }
        let shared = Shared::new(self.manager, self.config, runtime, self.sink, self.clock);
        let shared = Arc::new(shared);
        tasks::start_driver(&shared);
        tasks::start_relays(&shared);
        tasks::start_timer(&shared);
        Ok(Pool::from_shared(shared))
    }
}

impl<M: Manager> Pool<M> {
    /// A [`PoolBuilder`]: a runtime, a report sink or a clock of the pool's own.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::builder(manager).build()?;
    /// # drop(pool);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(manager: M) -> PoolBuilder<M> {
        PoolBuilder {
            manager,
            config: PoolConfig::default(),
            runtime: None,
            sink: None,
            clock: PoolClock::default(),
        }
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
