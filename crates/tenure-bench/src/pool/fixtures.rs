//! What every pool bench builds: the pools of tenure and its peers, configured alike
//! (the configurations are listed in [`super`]), the no-op resources they lend, the runtime
//! the async sides run on, and the one-call faces ([`AsyncPool`], [`BlockingPool`]) the
//! rows and scenarios drive them through. The pool benches import this module and nothing
//! of each other.

use std::future::Future;
use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, Validation, Work};
use tokio::runtime::Runtime;

use crate::harness::{round3, runs, Case, Harness, Rep, Side};

/// Pool sizes of every row.
pub const SIZES: [usize; 2] = [2, 8];
/// The acquire (and create) timeout of every pool, as tenure's default.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A tenure pool of `max_size` resources of `manager`, validation off, otherwise the
/// defaults (built inside the runtime for an async manager).
pub fn tenure<M: Manager>(manager: M, max_size: usize) -> Pool<M> {
    let config = PoolConfig {
        max_size,
        validation: Validation::Never,
        ..PoolConfig::default()
    };
    Pool::new(manager, config).expect("a valid pool configuration")
}

/// A deadpool pool of `max_size` resources of `manager`: wait and create timeouts
/// [`TIMEOUT`] on `Runtime::Tokio1`, no recycle timeout, its default FIFO queue, no hooks.
pub fn deadpool<M: deadpool::managed::Manager>(
    manager: M,
    max_size: usize,
) -> deadpool::managed::Pool<M> {
    deadpool::managed::Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(TIMEOUT))
        .create_timeout(Some(TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .expect("a valid deadpool configuration")
}

/// tenure's no-op manager: a `u64`, created and closed inline.
pub struct Noop;

impl Manager for Noop {
    type Resource = u64;
    type Error = io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u64, io::Error>> {
        Work::ready(Ok(0))
    }
    fn close(&self, _: u64) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
}

/// A tenure pool of `size` no-op resources (not pre-warmed).
pub fn tenure_noop(size: usize) -> Pool<Noop> {
    tenure(Noop, size)
}

/// deadpool's no-op manager.
pub struct DeadpoolNoop;

impl deadpool::managed::Manager for DeadpoolNoop {
    type Type = u64;
    type Error = io::Error;
    async fn create(&self) -> Result<u64, io::Error> {
        Ok(0)
    }
    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<io::Error> {
        Ok(())
    }
}

/// bb8's no-op manager.
pub struct Bb8Noop;

impl bb8::ManageConnection for Bb8Noop {
    type Connection = u64;
    type Error = io::Error;
    async fn connect(&self) -> Result<u64, io::Error> {
        Ok(0)
    }
    async fn is_valid(&self, _: &mut u64) -> Result<(), io::Error> {
        Ok(())
    }
    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

/// A bb8 pool of `size` no-op connections (not pre-warmed).
pub fn bb8_noop(size: usize) -> bb8::Pool<Bb8Noop> {
    bb8::Pool::builder()
        .max_size(size as u32)
        .test_on_check_out(false)
        .connection_timeout(TIMEOUT)
        .build_unchecked(Bb8Noop)
}

/// r2d2's no-op manager.
pub struct R2d2Noop;

impl r2d2::ManageConnection for R2d2Noop {
    type Connection = u64;
    type Error = io::Error;
    fn connect(&self) -> Result<u64, io::Error> {
        Ok(0)
    }
    fn is_valid(&self, _: &mut u64) -> Result<(), io::Error> {
        Ok(())
    }
    fn has_broken(&self, _: &mut u64) -> bool {
        false
    }
}

/// A pool as the async rows use it: acquire a lease (a `u64` behind it).
pub trait AsyncPool: Send + Sync + 'static {
    /// The lease.
    type Lease<'a>: std::ops::Deref<Target = u64> + Send
    where
        Self: 'a;
    /// `get().await`, which a no-op pool always serves.
    fn acquire(&self) -> impl Future<Output = Self::Lease<'_>> + Send;
}

impl AsyncPool for Pool<Noop> {
    type Lease<'a> = tenure::pool::Lease<Noop>;
    fn acquire(&self) -> impl Future<Output = Self::Lease<'_>> + Send {
        let get = self.get();
        async move { get.await.expect("a no-op pool serves within its timeout") }
    }
}

impl AsyncPool for deadpool::managed::Pool<DeadpoolNoop> {
    type Lease<'a> = deadpool::managed::Object<DeadpoolNoop>;
    async fn acquire(&self) -> Self::Lease<'_> {
        self.get()
            .await
            .expect("a no-op pool serves within its timeout")
    }
}

impl AsyncPool for bb8::Pool<Bb8Noop> {
    type Lease<'a> = bb8::PooledConnection<'a, Bb8Noop>;
    async fn acquire(&self) -> Self::Lease<'_> {
        self.get()
            .await
            .expect("a no-op pool serves within its timeout")
    }
}

/// Takes `size` leases at once, then drops them: every resource exists and is idle.
pub async fn prewarm<P: AsyncPool>(pool: &P, size: usize) {
    let mut held = Vec::with_capacity(size);
    for _ in 0..size {
        held.push(pool.acquire().await);
    }
    drop(held);
}

/// The three async pools of one size, built inside `rt` and pre-warmed. Leaked: the rows
/// borrow them from spawned tasks (`'static`), and a bench process is short-lived.
pub struct AsyncPools {
    /// tenure's.
    pub tenure: &'static Pool<Noop>,
    /// deadpool's.
    pub deadpool: &'static deadpool::managed::Pool<DeadpoolNoop>,
    /// bb8's.
    pub bb8: &'static bb8::Pool<Bb8Noop>,
}

impl AsyncPools {
    /// Builds and pre-warms the three pools of `size` inside `rt`.
    pub fn new(rt: &Runtime, size: usize) -> Self {
        rt.block_on(async {
            let tenure = Box::leak(Box::new(tenure_noop(size)));
            let deadpool = Box::leak(Box::new(deadpool(DeadpoolNoop, size)));
            let bb8 = Box::leak(Box::new(bb8_noop(size)));
            prewarm(tenure, size).await;
            prewarm(deadpool, size).await;
            prewarm(bb8, size).await;
            AsyncPools {
                tenure,
                deadpool,
                bb8,
            }
        })
    }
}

/// The runtime every async pool bench runs on: multi-thread, 2 workers, timers.
pub fn runtime() -> Option<Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("pool: cannot build a tokio runtime, skipped: {e}");
            None
        }
    }
}

/// A row's operation on state shared by its tasks: `body(shared)` per call, on a clone of
/// the `Arc` (the tasks are `'static`).
pub fn on<S, F, Fut>(shared: &Arc<S>, body: F) -> impl Fn() -> Fut + Clone + Send + 'static
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>) -> Fut + Clone + Send + 'static,
    Fut: Future + Send + 'static,
{
    let shared = shared.clone();
    move || body(shared.clone())
}

/// Reports a database bench's floor scenario: tenure's `tenure_ns` per operation beside
/// `floor_ns`, the same work without a pool (`peer`: what the floor is), in one line whose
/// `ratio` is floor / tenure, with its `target`.
pub fn report_floor(
    h: &mut Harness,
    name: &str,
    peer: &str,
    what: &str,
    (tenure_ns, floor_ns): (f64, f64),
    target: f64,
) {
    h.scenario(
        name,
        peer,
        (what, tenure_ns, floor_ns),
        vec![
            ("tenure_ns", Value::from(tenure_ns.round())),
            ("floor_ns", Value::from(floor_ns.round())),
            ("ratio", Value::from(round3(floor_ns / tenure_ns))),
            ("target", Value::from(target)),
        ],
    );
}

/// Spawns `tasks` futures on the current runtime (`make(i)` builds the `i`-th) and waits
/// for them all, returning their outputs in order: the fan-out of every many-task
/// repetition and scenario.
pub async fn join_tasks<T, Fut>(tasks: usize, mut make: impl FnMut(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..tasks).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::with_capacity(tasks);
    for handle in handles {
        out.push(handle.await.expect("a bench task does not panic"));
    }
    out
}

/// Awaits `get` (a pool's acquire) and returns what it got with how long it took; a failed
/// get panics with `what` (a bench pool serves within its 30 s timeout).
pub async fn timed<T, E: std::fmt::Debug>(
    what: &str,
    get: impl Future<Output = Result<T, E>>,
) -> (T, Duration) {
    let t0 = Instant::now();
    let got = get.await.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    (got, t0.elapsed())
}

/// The blocking twin of [`timed`].
pub fn timed_blocking<T, E: std::fmt::Debug>(
    what: &str,
    get: impl FnOnce() -> Result<T, E>,
) -> (T, Duration) {
    let t0 = Instant::now();
    let got = get().unwrap_or_else(|e| panic!("{what}: {e:?}"));
    (got, t0.elapsed())
}

/// One repetition of a database row: `tasks` tasks on `rt`, each running `op` `ops / tasks`
/// times (at least once); the wall time from the first spawn to the last join, and the
/// latency each operation returns (what it timed: its acquire, or the whole operation).
pub fn tasks_rep<F, Fut>(rt: &Runtime, tasks: usize, ops: u64, op: &F) -> Rep
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Duration> + Send + 'static,
{
    let per_task = ops.div_ceil(tasks as u64).max(1);
    rt.block_on(async {
        let start = Instant::now();
        let latencies = join_tasks(tasks, |_| {
            let op = op.clone();
            async move {
                let mut latencies = Vec::with_capacity(per_task as usize);
                for _ in 0..per_task {
                    latencies.push(op().await.as_nanos() as u64);
                }
                latencies
            }
        })
        .await;
        Rep {
            ops: per_task * tasks as u64,
            elapsed: start.elapsed(),
            latencies: latencies.concat(),
            allocs: None,
        }
    })
}

/// The blocking twin of [`tasks_rep`]: `threads` scoped threads, each running `one`
/// `ops / threads` times (at least once), recording the latency each operation returns.
pub fn threads_rep(threads: usize, ops: u64, one: &(dyn Fn() -> Duration + Sync)) -> Rep {
    let per = ops.div_ceil(threads as u64).max(1);
    let start = Instant::now();
    let latencies: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(move || (0..per).map(|_| one().as_nanos() as u64).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench thread does not panic"))
            .collect()
    });
    Rep {
        ops: per * threads as u64,
        elapsed: start.elapsed(),
        latencies: latencies.concat(),
        allocs: None,
    }
}

/// A blocking database row: `threads` threads looping tenure's `tenure_one` against the
/// same number looping the peer's `peer_one` (each returns its acquire latency), measured
/// as `case`.
pub fn compare_threads(
    h: &mut Harness,
    case: Case,
    threads: usize,
    tenure_one: &(dyn Fn() -> Duration + Sync),
    peer_one: &(dyn Fn() -> Duration + Sync),
) {
    h.compare(
        runs(|ops| threads_rep(threads, ops, tenure_one)),
        vec![(case, runs(|ops| threads_rep(threads, ops, peer_one)))],
    );
}

/// A side of an async database row: `tasks` tasks on `rt` looping `op` (each returns its
/// acquire latency).
pub fn tasks_side<'r, F, Fut>(rt: &'r Runtime, tasks: usize, op: F) -> Box<dyn Side + 'r>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Duration> + Send + 'static,
{
    runs(move |ops| tasks_rep(rt, tasks, ops, &op))
}

/// A pool as the blocking rows use it.
pub trait BlockingPool: Sync {
    /// One get, a hold of `hold` (if any) and the drop; returns the acquire latency.
    fn op(&self, hold: Option<Duration>) -> Duration;
    /// One get and drop, no clock read.
    fn op_untimed(&self);
}

impl BlockingPool for Pool<Noop> {
    fn op(&self, hold: Option<Duration>) -> Duration {
        let t0 = Instant::now();
        let lease = self
            .get_blocking()
            .expect("a no-op pool serves within its timeout");
        let latency = t0.elapsed();
        if let Some(d) = hold {
            std::thread::sleep(d);
        }
        black_box(*lease);
        latency
    }
    fn op_untimed(&self) {
        let lease = self
            .get_blocking()
            .expect("a no-op pool serves within its timeout");
        black_box(*lease);
    }
}

impl BlockingPool for r2d2::Pool<R2d2Noop> {
    fn op(&self, hold: Option<Duration>) -> Duration {
        let t0 = Instant::now();
        let lease = self.get().expect("a no-op pool serves within its timeout");
        let latency = t0.elapsed();
        if let Some(d) = hold {
            std::thread::sleep(d);
        }
        black_box(*lease);
        latency
    }
    fn op_untimed(&self) {
        let lease = self.get().expect("a no-op pool serves within its timeout");
        black_box(*lease);
    }
}

/// A tenure pool and an r2d2 pool of `size` no-op resources, both pre-warmed, outside any
/// runtime: r2d2 0.8 `Pool::builder().max_size(S).test_on_check_out(false)
/// .connection_timeout(TIMEOUT)`, its default `min_idle` (= max_size: `build` waits until
/// all S exist), lifetime and idle timeout.
pub fn blocking_pools(size: usize) -> (Pool<Noop>, r2d2::Pool<R2d2Noop>) {
    let tenure = tenure_noop(size);
    let held: Vec<_> = (0..size)
        .map(|_| tenure.get_blocking().expect("a no-op pool serves"))
        .collect();
    drop(held);
    let r2d2 = r2d2::Pool::builder()
        .max_size(size as u32)
        .test_on_check_out(false)
        .connection_timeout(TIMEOUT)
        .build(R2d2Noop)
        .expect("an r2d2 pool of no-op connections builds");
    (tenure, r2d2)
}
