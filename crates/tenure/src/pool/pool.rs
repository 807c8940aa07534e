//! [`Pool`]: the public face of a pool — acquire, resize, retain, maintain, close, and its
//! figures. Every call is a step of the engine (`state`), its work run once the lock is
//! released (`work::step`).

use std::panic::Location;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use crate::sync::Arc;

use super::acquire::{self, Acquire};
use super::anchor::Anchors;
use super::config::PoolConfig;
use super::error::{BuildError, PoolError, Status};
use super::lease::Lease;
use super::manager::Manager;
use super::state::{Shared, Step, Warmth};
use super::stats::{ResourceMetrics, Retained, Statistics};
use super::waiters::Wake;
use super::work::step;
use crate::sync::thread;

/// A pool of resources made by `M`. Cloning shares the pool; when the last `Pool` handle
/// is dropped the pool closes as [`close`](Pool::close) does, without waiting: idle
/// resources are closed at once and lent ones when they come back (leases keep the pool's
/// state alive, not the pool open).
///
/// ```
/// # use tenure::pool::{from_fn, Pool, PoolConfig};
/// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
/// let pool = Pool::new(manager, PoolConfig::default())?;
/// let lease = pool.get_blocking()?;
/// assert_eq!(pool.status().in_use, 1);
/// drop(lease);
/// assert_eq!(pool.status().idle, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pool<M: Manager> {
    shared: Arc<Shared<M>>,
    /// What its acquires and leases hold instead of `shared` (see `anchor`).
    anchors: Anchors<M>,
}

impl<M: Manager> Pool<M> {
    /// The pool over a built engine (`PoolBuilder::build`).
    pub(super) fn from_shared(shared: Arc<Shared<M>>) -> Self {
        let anchors = Anchors::new(&shared, shared.shard_count());
        Pool { shared, anchors }
    }
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Pool {
            shared: self.shared.clone(),
            anchors: self.anchors.clone(),
        }
    }
}

impl<M: Manager> Drop for Pool<M> {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.begin_close();
        }
    }
}

impl<M: Manager> Pool<M> {
    /// A pool of resources made by `manager`, configured by `config`: the shortcut for
    /// `Pool::builder(manager).config(config).build()`. An async manager (`M::ASYNC`) runs
    /// its work on the current tokio runtime, so build it inside one, or give it one with
    /// [`PoolBuilder::runtime`](super::PoolBuilder::runtime).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let bad = PoolConfig { max_size: 0, ..PoolConfig::default() };
    /// assert!(Pool::new(manager, bad).is_err());
    /// ```
    pub fn new(manager: M, config: PoolConfig) -> Result<Self, BuildError> {
        Self::builder(manager).config(config).build()
    }

    /// The pool's figures now.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig { max_size: 4, ..Default::default() })?;
    /// assert_eq!(pool.status().to_string(), "0 of 4 in use, 0 idle, 0 waiting");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> Status {
        self.shared.status()
    }

    /// The pool's counters so far.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// assert_eq!(pool.statistics().created, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn statistics(&self) -> Statistics {
        self.shared.statistics()
    }

    /// Acquires a resource, waiting in line (first come, first served) up to
    /// `acquire_timeout`. The future is cancel-safe: dropped at any point, it leaves its
    /// place, and a resource handed to it meanwhile goes to the next in line.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
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
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig { max_size: 1, ..Default::default() })?;
    /// let _held = pool.get().await?;
    /// let e = pool.get_timeout(std::time::Duration::from_millis(10)).await.unwrap_err();
    /// assert!(e.to_string().starts_with("timed out after"));
    /// # Ok(()) }
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Acquire<M> {
        Acquire::new(self.anchors.here(), timeout, Location::caller())
    }

    /// Acquires a resource without waiting: an idle resource that needs no check under the
    /// [validation policy](super::Validation), at once, or [`PoolError::WouldWait`] at once
    /// (also when callers wait in line: they come first). It starts no create and no check,
    /// joins no line and never blocks, so it may be called anywhere — in async code, on a
    /// runtime's own thread, under a lock. Idle resources it finds past their lifetime or
    /// idle timeout are retired on the way, as a `get` would.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// use tenure::pool::PoolError;
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// // Nothing idle yet: no create is started for it.
    /// assert!(matches!(pool.try_get(), Err(PoolError::WouldWait { .. })));
    /// assert_eq!(pool.status().size, 0);
    /// drop(pool.get_blocking()?); // one made, now idle
    /// let lease = pool.try_get()?;
    /// assert_eq!(pool.status().in_use, 1);
    /// # drop(lease);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn try_get(&self) -> Result<Lease<M>, PoolError<M::Error>> {
        let site = Location::caller();
        let now = self.shared.now();
        if let Some((conn, slot)) = self.shared.try_lend(now, site) {
            return Ok(Lease::new(self.anchors.here(), conn, slot));
        }
        match step(&self.shared, |s, after| s.try_begin(now, site, after)) {
            Step::Ready(conn, slot) => Ok(Lease::new(self.anchors.here(), conn, slot)),
            Step::Fail(e) => Err(e),
            Step::Wait(_) => unreachable!("try_begin never joins the line"),
        }
    }

    /// Acquires a resource from a thread, blocking it (in the same line as async callers)
    /// up to `acquire_timeout`.
    ///
    /// Inside a tokio runtime: on a multi-thread runtime's worker it takes an idle resource
    /// at once, and waits (if it must) through `block_in_place`; on a `spawn_blocking` thread it simply blocks; on a current-thread
    /// runtime's own thread it would stop the runtime the pool may need, so it fails with
    /// [`PoolError::WouldBlockRuntime`] (use `get().await` there). See the table in the
    /// [module docs](super#where-get_blocking-may-be-called).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
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
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// drop(pool.get_blocking_timeout(std::time::Duration::from_secs(1))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<Lease<M>, PoolError<M::Error>> {
        acquire::get_blocking(&self.anchors, timeout, Location::caller())
    }

    /// Changes `max_size`. Growing lets waiters be served by new creates; shrinking retires
    /// the extra resources as they come back (idle ones at once), never reusing them.
    /// `resize(0)` is refused with the error a build with `max_size: 0` gets, and changes
    /// nothing.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// use tenure::pool::BuildError;
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig { max_size: 2, ..Default::default() })?;
    /// pool.resize(1)?;
    /// assert_eq!(pool.status().max_size, 1);
    /// assert!(matches!(pool.resize(0), Err(BuildError::Config(_))));
    /// assert_eq!(pool.status().max_size, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resize(&self, max_size: usize) -> Result<(), BuildError> {
        PoolConfig {
            max_size,
            min_idle: 0,
            ..self.shared.config.clone()
        }
        .check()?;
        step(&self.shared, |s, after| s.resize(max_size, after));
        Ok(())
    }

    /// Retires every idle resource for which `keep` returns `false`, and says how many it
    /// kept and retired. `keep` sees each resource and its [`ResourceMetrics`] — age, idle
    /// time and times lent, as of the pool's clock — to decide by. It runs under the pool's
    /// lock: keep it short. If it panics, the panic goes on to the caller, the resources it
    /// had not judged yet (and the one it panicked on) stay idle, and those it rejected are
    /// retired.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// use std::time::Duration;
    /// use tenure::clock::ManualClock;
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let time = ManualClock::new();
    /// let pool = Pool::builder(manager).clock(time.clone()).build()?;
    /// let (a, b) = (pool.get_blocking()?, pool.get_blocking()?);
    /// drop(a);
    /// time.advance(Duration::from_secs(60));
    /// drop(b);
    /// // Retire what idled a minute or more.
    /// let r = pool.retain(|_, m| m.idle < Duration::from_secs(60));
    /// assert_eq!((r.kept, r.retired), (1, 1));
    /// assert_eq!(pool.status().idle, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retain(&self, keep: impl FnMut(&M::Resource, ResourceMetrics) -> bool) -> Retained {
        match step(&self.shared, |s, after| s.retain(keep, after)) {
            Ok(tally) => tally,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// One round of maintenance, as of the pool's own clock: retires idle resources past
    /// their lifetime or idle timeout (keeping `min_idle`), starts creates toward
    /// `min_idle` — at most `max_concurrent_creates` in one round, so filling a large
    /// `min_idle` takes several rounds ([`warm_up`](Self::warm_up) runs them back to back) — reports leases held past `leak_threshold` and
    /// (feature `metrics`) publishes the gauges. The background driver runs it every
    /// `maintenance_interval`; correctness never depends on it (expiry is also checked at
    /// checkout and return).
    ///
    /// Tests move the pool's [`ManualClock`](crate::clock::ManualClock)
    /// ([`PoolBuilder::clock`](super::PoolBuilder::clock)) and call it: an hour of idling
    /// needs no waiting, and a test never mixes two clocks.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// use std::time::Duration;
    /// use tenure::clock::ManualClock;
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let time = ManualClock::new();
    /// let config = PoolConfig {
    ///     min_idle: 1,
    ///     idle_timeout: Some(Duration::from_secs(600)),
    ///     maintenance_interval: None,
    ///     ..Default::default()
    /// };
    /// let pool = Pool::builder(manager).config(config).clock(time.clone()).build()?;
    /// pool.maintain(); // creates min_idle (here at once: Work::ready)
    /// assert_eq!(pool.status().idle, 1);
    /// let (a, b) = (pool.get_blocking()?, pool.get_blocking()?);
    /// drop((a, b));
    /// time.advance(Duration::from_secs(601)); // 10 minutes pass
    /// pool.maintain();
    /// assert_eq!(pool.status().idle, 1, "the extra idle one retired, min_idle kept");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn maintain(&self) {
        let now = self.shared.now();
        step(&self.shared, |s, after| s.maintain_at(now, after));
    }

    /// Fills `min_idle` on a built pool and waits until it is filled, or returns the first
    /// create error: a program can fail at start-up when the backend is unreachable.
    /// Rounds of creates run back to back (each at most `max_concurrent_creates`, each
    /// create bounded by `create_timeout`) — what [`maintain`](Self::maintain) would do over
    /// several intervals. It ends `Ok` once `min_idle` resources are idle, or when no more
    /// can be made (every slot taken by leases); a create that fails is
    /// [`PoolError::Create`], one past its bound [`PoolError::CreateTimedOut`], a closed pool
    /// [`PoolError::Closed`]. Between rounds it sleeps until a create ends (or the backoff
    /// after a failed one passes, or the pool closes) and takes its next step then: it
    /// returns the moment the last create ends, and does not poll. From a thread, use
    /// [`warm_up_blocking`](Self::warm_up_blocking).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig { min_idle: 4, ..PoolConfig::default() })?;
    /// pool.warm_up().await?;
    /// assert_eq!(pool.status().idle, 4);
    ///
    /// let down = from_fn(|| Err::<(), _>(std::io::Error::other("connection refused")));
    /// let pool = Pool::new(down, PoolConfig { min_idle: 1, ..PoolConfig::default() })?;
    /// let e = pool.warm_up().await.unwrap_err();
    /// assert_eq!(e.report().to_string(), "creating a resource failed: connection refused");
    /// # Ok(()) }
    /// ```
    pub async fn warm_up(&self) -> Result<(), PoolError<M::Error>> {
        let mut before = None;
        std::future::poll_fn(|cx| {
            let wake = Wake::Task(cx.waker().clone());
            match self.warm_step(before.as_ref(), wake) {
                Ok(w) if w.filled => Poll::Ready(Ok(())),
                Ok(w) => {
                    before.get_or_insert(w);
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            }
        })
        .await
    }

    /// [`warm_up`](Self::warm_up) for a thread, blocking it until `min_idle` is filled or a
    /// create fails. The thread is parked between rounds and unparked when a create ends
    /// (or the backoff after a failed one passes, or the pool closes).
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig { min_idle: 2, ..PoolConfig::default() })?;
    /// pool.warm_up_blocking()?;
    /// assert_eq!(pool.status().idle, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn warm_up_blocking(&self) -> Result<(), PoolError<M::Error>> {
        let mut before = None;
        loop {
            let w = self.warm_step(before.as_ref(), Wake::Thread(thread::current()))?;
            if w.filled {
                return Ok(());
            }
            before.get_or_insert(w);
            thread::park(); // a wake-up may be spurious: the next step looks again
        }
    }

    /// One step of warm-up: creates started toward `min_idle`; an error if the pool closed
    /// or a create failed since `before` (the first step's figures); unless done, `wake` is
    /// woken for the next step.
    fn warm_step(
        &self,
        before: Option<&Warmth<M::Error>>,
        wake: Wake,
    ) -> Result<Warmth<M::Error>, PoolError<M::Error>> {
        let now = self.shared.now();
        let failures = before.map(|b| b.failures);
        let w = step(&self.shared, |s, after| s.warm(now, failures, wake, after));
        if w.closed {
            return Err(PoolError::Closed);
        }
        if let Some(before) = before {
            if w.failures > before.failures {
                let new_error = match (&w.last_error, &before.last_error) {
                    (Some(now), Some(then)) => !std::sync::Arc::ptr_eq(now, then),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                return Err(match (&w.last_error, new_error) {
                    (Some(e), true) => PoolError::Create(e.clone()),
                    _ => PoolError::CreateTimedOut(self.shared.config.create_timeout),
                });
            }
        }
        Ok(w)
    }

    /// Closes the pool, from this call on: new acquires fail with [`PoolError::Closed`],
    /// waiters are failed, idle resources start closing now and lent ones close when they
    /// come back. The returned future only waits — until every resource is closed; the
    /// pool is closed whether or not it is ever polled. It does not borrow the pool: it can
    /// be spawned, or outlive the last handle.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// drop(pool.get().await?);
    /// let closing = pool.close(); // closed from here on
    /// assert!(matches!(pool.get().await, Err(tenure::pool::PoolError::Closed)));
    /// closing.await; // every resource closed
    /// # Ok(()) }
    /// ```
    pub fn close(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.begin_close();
        let shared = self.shared.clone();
        std::future::poll_fn(move |cx| {
            if shared.drained(Wake::Task(cx.waker().clone())) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// [`close`](Self::close), waiting at most `timeout` for the lent resources to come
    /// back and every resource to be closed; `true` when all were. The pool is closed at
    /// the call, as with `close`; past the deadline it stays closed and the leases still
    /// out are closed when they come back.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// use std::time::Duration;
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// let held = pool.get().await?;
    /// assert!(!pool.close_timeout(Duration::from_millis(10)).await, "a lease is still out");
    /// drop(held); // closed as it comes back
    /// assert_eq!(pool.status().size, 0);
    /// # Ok(()) }
    /// ```
    pub fn close_timeout(
        &self,
        timeout: Duration,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let drained = self.close();
        async move { tokio::time::timeout(timeout, drained).await.is_ok() }
    }

    /// [`close`](Self::close) for a thread, waiting at most `timeout` for the resources to
    /// come back; `true` when every resource was closed. The thread is parked meanwhile,
    /// and unparked by the end of the last close.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// drop(pool.get_blocking()?);
    /// assert!(pool.close_blocking(std::time::Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_blocking(&self, timeout: Duration) -> bool {
        self.begin_close();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.shared.drained(Wake::Thread(thread::current())) {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            thread::park_timeout(deadline - now); // a wake-up may be spurious: look again
        }
    }

    fn begin_close(&self) {
        if step(&self.shared, |s, after| s.begin_close(after)) {
            tracing::debug!(target: "tenure", pool = &*self.shared.config.name, "pool closed");
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
