//! The pool under a storm of faults (issue 14's proof): creates failing 20 %, validations
//! failing 10 %, return work (a reset) hanging 2 % past a short `return_timeout` (async; the
//! blocking storm hangs a reset, a validation, a create and a close for good at fixed calls
//! and delays 1 % of resets and validations past their bound), holders
//! panicking 5 %, 10 % of acquires cancelled at random points, async and blocking callers
//! on one pool, resizes mid-run, and a sampler watching the size bound throughout.
//! Afterwards: no leak (created = closed + dropped with abandoned work + still idle + held
//! by a hung call, then everything closed once the pool is but what hung calls hold), every acquire ended in a lease or a typed error (counted by variant and
//! printed), and the pool still serves. A second storm ends with `close()` mid-run. A last
//! test checks that a handoff does not stall in tokio's LIFO slot (tokio #8100).
//!
//! Reproducible plans: every caller's choices and every fault come from
//! `TENURE_POOL_SEED` (printed; a fixed default otherwise). Only the interleaving depends on
//! the scheduler, and every outcome of it is checked.
#![cfg(all(feature = "pool", feature = "testing"))]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use tenure::error::BoxError;
use tenure::pool::{Lease, Manager, Pool, PoolConfig, PoolError, Status, Validation, Work};
use tenure::sink::CollectingSink;
use tenure::testing::{
    Ending, Event, Fault, Faults, InjectedFault, Ledger, Op, TestManager, TestResource,
};
use tenure::{AsyncClose, Close};

/// The largest `max_size` of the storm (the resizer moves it within `1..=MAX`).
const MAX: usize = 6;
const RETURN_TIMEOUT: Duration = Duration::from_millis(50);
/// Every wait for the pool is bounded by this: past it the test fails, naming what hung.
const HANG: Duration = Duration::from_secs(60);
/// The longest a caller backs off after `Unavailable`.
const BACK_OFF: Duration = Duration::from_millis(5);

/// SplitMix64: a few lines, the same on every platform.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn percent(&mut self) -> u64 {
        self.below(100)
    }
}

fn seed() -> u64 {
    std::env::var("TENURE_POOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0014)
}

/// Resources from a ledger (which plans no faults of its own). While `storm` is on, the
/// manager's seeded faults decide creates, validations, resets and closes; `ASYNC`
/// chooses async work (run on the runtime, resets bounded by `return_timeout`; a hung one
/// is dropped with its resource) or blocking work (run on the pool's worker threads; a
/// blocking call cannot be preempted, so a hung one keeps its thread — and the resource
/// it holds — for good: a few of them, at fixed calls, and a few delayed past their
/// bound, whose resources come back late).
struct Storm<const ASYNC: bool> {
    ledger: Ledger,
    faults: Faults,
    storm: Arc<AtomicBool>,
    calls: AtomicU64,
    /// Closes made to fail (the resource is closed all the same).
    close_errors: Arc<AtomicU64>,
    /// Blocking calls hung for good, and those of them holding a resource (a reset's or
    /// a validation's; a create's has none yet, a close has released its own first).
    hangs: Hangs,
}

#[derive(Clone, Default)]
struct Hangs {
    all: Arc<AtomicU64>,
    holding: Arc<AtomicU64>,
}

/// The bound of blocking validations (the blocking storm's; async ones keep the default).
const CHECK_TIMEOUT: Duration = Duration::from_millis(50);
/// The blocking storm's bound on creates and closes: far above their work (at most
/// 1.5 ms), so only their hangs overrun it.
const CREATE_CLOSE_TIMEOUT: Duration = Duration::from_millis(500);

impl<const A: bool> Storm<A> {
    fn new(ledger: &Ledger, seed: u64) -> Self {
        let faults = Faults::seeded(seed);
        faults.inject_random(Op::Acquire, "conn", 0.2, Fault::Error);
        faults.inject_random(Op::Validate, "conn", 0.1, Fault::Error);
        let slow = if A {
            Fault::Hang
        } else {
            Fault::Delay(Duration::from_millis(3))
        };
        faults.inject_random(Op::Reset, "conn", 0.02, slow);
        faults.inject_random(Op::Reset, "conn", 0.02, Fault::Error);
        faults.inject_random(Op::Close, "conn", 0.05, Fault::Error);
        if !A {
            // Blocking calls that never return (each keeps a worker thread for good: a
            // few, at fixed calls) and some that return past their bound.
            for (op, n) in [
                (Op::Reset, 10),
                (Op::Reset, 60),
                (Op::Validate, 25),
                (Op::Acquire, 30),
                (Op::Close, 8),
            ] {
                faults.inject(op, "conn", n, Fault::Hang);
            }
            faults.inject_random(Op::Reset, "conn", 0.01, Fault::Delay(RETURN_TIMEOUT * 3));
            faults.inject_random(Op::Validate, "conn", 0.01, Fault::Delay(CHECK_TIMEOUT * 3));
        }
        Storm {
            ledger: ledger.clone(),
            faults,
            storm: Arc::new(AtomicBool::new(true)),
            calls: AtomicU64::new(0),
            close_errors: Arc::default(),
            hangs: Hangs::default(),
        }
    }

    /// The fault for this call, if the storm is on: `check` (blocking) or `check_async`.
    fn fault(&self, op: Op) -> impl Future<Output = Result<(), InjectedFault>> + Send + 'static {
        let planned = self
            .storm
            .load(Ordering::SeqCst)
            .then(|| self.faults.check_async(op, "conn"));
        async move {
            match planned {
                Some(f) => f.await,
                None => Ok(()),
            }
        }
    }

    /// The fault for this blocking call, if the storm is on; a hang is counted before it
    /// parks its thread for good.
    fn fault_blocking(&self, op: Op) -> impl FnOnce() -> Result<(), InjectedFault> + Send {
        let faults = self
            .storm
            .load(Ordering::SeqCst)
            .then(|| self.faults.clone());
        let hangs = self.hangs.clone();
        move || {
            let Some(f) = faults else { return Ok(()) };
            match f.next(op, "conn") {
                (None, _) => Ok(()),
                (Some(Fault::Error), e) => Err(e),
                (Some(Fault::Delay(d)), _) => {
                    std::thread::sleep(d);
                    Ok(())
                }
                (Some(Fault::Hang), _) => {
                    hangs.all.fetch_add(1, Ordering::SeqCst);
                    if matches!(op, Op::Reset | Op::Validate) {
                        hangs.holding.fetch_add(1, Ordering::SeqCst);
                    }
                    loop {
                        std::thread::park();
                    }
                }
                (Some(other), _) => panic!("the storm plans no {other:?}"),
            }
        }
    }

    fn check(&self, r: TestResource, op: Op) -> Work<(TestResource, Result<(), InjectedFault>)> {
        if A {
            let fault = self.fault(op);
            Work::future(async move {
                tokio::task::yield_now().await;
                let verdict = fault.await;
                (r, verdict)
            })
        } else {
            let fault = self.fault_blocking(op);
            Work::blocking(move || {
                let verdict = fault();
                (r, verdict)
            })
        }
    }
}

impl<const A: bool> Manager for Storm<A> {
    type Resource = TestResource;
    type Error = InjectedFault;
    const ASYNC: bool = A;

    fn create(&self) -> Work<Result<TestResource, InjectedFault>> {
        let ledger = self.ledger.clone();
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        // A quarter of the creates take a moment, so cancellations land while they run.
        let delay = Duration::from_micros(if n % 4 == 0 { n * 37 % 1500 } else { 0 });
        if A {
            let fault = self.fault(Op::Acquire);
            Work::future(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                fault.await?;
                ledger.acquire("conn")
            })
        } else {
            let fault = self.fault_blocking(Op::Acquire);
            Work::blocking(move || {
                std::thread::sleep(delay);
                fault()?;
                ledger.acquire("conn")
            })
        }
    }

    fn close(&self, r: TestResource) -> Work<Result<(), BoxError>> {
        let errors = self.close_errors.clone();
        let failed = move |verdict: Result<(), InjectedFault>| {
            verdict.map_err(|e| {
                errors.fetch_add(1, Ordering::SeqCst);
                BoxError::from(e)
            })
        };
        if A {
            let fault = self.fault(Op::Close);
            Work::future(async move {
                AsyncClose::close(r).await?;
                failed(fault.await)
            })
        } else {
            let fault = self.fault_blocking(Op::Close);
            Work::blocking(move || {
                Close::close(r)?;
                failed(fault())
            })
        }
    }

    fn validate(&self, r: TestResource) -> Work<(TestResource, Result<(), InjectedFault>)> {
        self.check(r, Op::Validate)
    }

    fn needs_reset(&self, _: &TestResource) -> bool {
        // Half the returns need a reset (return work), half go back synchronously.
        self.calls.fetch_add(1, Ordering::Relaxed) % 2 == 0
    }

    fn reset(&self, r: TestResource) -> Work<(TestResource, Result<(), InjectedFault>)> {
        self.check(r, Op::Reset)
    }
}

fn storm_config() -> PoolConfig {
    PoolConfig {
        max_size: MAX,
        validation: Validation::Always,
        acquire_timeout: Duration::from_millis(300),
        return_timeout: RETURN_TIMEOUT,
        create_backoff: Duration::from_millis(1),
        max_create_backoff: Duration::from_millis(4),
        max_concurrent_creates: 3,
        ..PoolConfig::default()
    }
}

/// The blocking storm's: every blocking call it hangs has a bound that frees its slot.
fn blocking_storm_config() -> PoolConfig {
    PoolConfig {
        check_timeout: CHECK_TIMEOUT,
        create_timeout: CREATE_CLOSE_TIMEOUT,
        close_timeout: CREATE_CLOSE_TIMEOUT,
        ..storm_config()
    }
}

/// How each acquire ended, by name; shared by every caller.
#[derive(Clone, Default)]
struct Outcomes(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl Outcomes {
    fn count(&self, what: &'static str) {
        *self.0.lock().unwrap().entry(what).or_default() += 1;
    }
    fn get(&self, what: &str) -> u64 {
        self.0.lock().unwrap().get(what).copied().unwrap_or(0)
    }
    fn total(&self) -> u64 {
        self.0.lock().unwrap().values().sum()
    }
    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0.lock().unwrap().clone()
    }
    /// Counts `r`; the lease, or how long to back off before the next try (the pool said
    /// the backend is down: a client that retried at once would only burn its acquires).
    fn record<M: Manager>(
        &self,
        r: Result<Lease<M>, PoolError<M::Error>>,
    ) -> Result<Lease<M>, Duration> {
        self.count(match &r {
            Ok(_) => "lease",
            Err(e) => variant(e),
        });
        match r {
            Ok(lease) => Ok(lease),
            Err(PoolError::Unavailable { retry_in, .. }) => Err(retry_in.min(BACK_OFF)),
            Err(_) => Err(Duration::ZERO),
        }
    }
}

/// The variant's name: every acquire ends in a lease or one of these.
fn variant<E>(e: &PoolError<E>) -> &'static str {
    match e {
        PoolError::Timeout { .. } => "Timeout",
        PoolError::Create(_) => "Create",
        PoolError::CreateTimedOut(_) => "CreateTimedOut",
        PoolError::Unavailable { .. } => "Unavailable",
        PoolError::Closed => "Closed",
        PoolError::Saturated { .. } => "Saturated",
        PoolError::WouldBlockRuntime => "WouldBlockRuntime",
        _ => "other PoolError",
    }
}

/// What the holders did, to check against the pool's statistics.
#[derive(Clone, Default)]
struct Holders {
    panicked: Arc<AtomicU64>,
    discarded: Arc<AtomicU64>,
}

/// The pool's close has begun (set after the first poll of `close()`): every acquire that
/// starts after this must fail `Closed` at once.
#[derive(Clone, Default)]
struct ClosedFlag(Arc<AtomicBool>);

impl ClosedFlag {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One async caller: `count` acquires, 10 % cancelled at a random point, 10 % with a short
/// timeout of their own, the rest plain `get()`; leases held a moment, 5 % of them by a
/// spawned task that panics, 3 % discarded.
async fn async_caller<const A: bool>(
    pool: Pool<Storm<A>>,
    mut rng: Rng,
    count: usize,
    outcomes: Outcomes,
    holders: Holders,
    closed: ClosedFlag,
) {
    for _ in 0..count {
        if closed.is_set() {
            // Started after the close began: `Closed`, on the first poll.
            let r = pool.get().now_or_never();
            match r {
                Some(Err(PoolError::Closed)) => outcomes.count("Closed (after close)"),
                Some(other) => panic!(
                    "a get after close() must fail Closed at once, got {:?}",
                    other.map(|_| "a lease")
                ),
                None => panic!("a get after close() must fail Closed at once, it is pending"),
            }
            continue;
        }
        let roll = rng.percent();
        let got = if roll < 10 {
            match cancelled_get(&pool, &mut rng).await {
                Some(r) => outcomes.record(r),
                None => {
                    outcomes.count("cancelled");
                    Err(Duration::ZERO)
                }
            }
        } else if roll < 20 {
            let t = Duration::from_millis(1 + rng.below(20));
            outcomes.record(pool.get_timeout(t).await)
        } else {
            outcomes.record(pool.get().await)
        };
        match got {
            Ok(lease) => hold(lease, &mut rng, &holders).await,
            Err(pause) if !pause.is_zero() => tokio::time::sleep(pause).await,
            Err(_) => {}
        }
        // Think time now and then, so resources also sit idle (and are validated on checkout)
        // instead of always going straight to a waiter.
        if rng.below(3) == 0 {
            tokio::time::sleep(Duration::from_micros(rng.below(1500))).await;
        }
    }
}

/// A `get()` cancelled at a random point: `None` if it was, else how it ended first.
async fn cancelled_get<const A: bool>(
    pool: &Pool<Storm<A>>,
    rng: &mut Rng,
) -> Option<Result<Lease<Storm<A>>, PoolError<InjectedFault>>> {
    match rng.below(5) {
        // A timeout shorter than most waits.
        0 => tokio::time::timeout(Duration::from_micros(rng.below(400)), pool.get())
            .await
            .ok(),
        // A `select!` that the other branch wins after one yield.
        1 => tokio::select! {
            r = pool.get() => Some(r),
            _ = tokio::task::yield_now() => None,
        },
        // A `select!` against a short timer.
        2 => {
            let d = Duration::from_micros(rng.below(2000));
            tokio::select! {
                r = pool.get() => Some(r),
                _ = tokio::time::sleep(d) => None,
            }
        }
        // Polled once, then dropped.
        3 => {
            let mut get = pin!(pool.get());
            match futures::poll!(get.as_mut()) {
                Poll::Ready(r) => Some(r),
                Poll::Pending => None,
            }
        }
        // Polled a few times across yields, then dropped.
        _ => {
            let polls = 1 + rng.below(4);
            let mut get = pin!(pool.get());
            for _ in 0..polls {
                if let Poll::Ready(r) = futures::poll!(get.as_mut()) {
                    return Some(r);
                }
                tokio::task::yield_now().await;
            }
            None
        }
    }
}

async fn hold<const A: bool>(lease: Lease<Storm<A>>, rng: &mut Rng, holders: &Holders) {
    let roll = rng.percent();
    if roll < 5 {
        let task = tokio::spawn(async move {
            let _held = lease;
            tokio::task::yield_now().await;
            panic!("[expected] a holder panics while holding its lease");
        });
        let e = task.await.expect_err("the holder panicked");
        assert!(e.is_panic(), "{e}");
        holders.panicked.fetch_add(1, Ordering::SeqCst);
    } else if roll < 8 {
        Lease::discard(lease);
        holders.discarded.fetch_add(1, Ordering::SeqCst);
    } else {
        match rng.below(4) {
            0 => {}
            1 => tokio::task::yield_now().await,
            2 => tokio::time::sleep(Duration::from_micros(rng.below(800))).await,
            _ => {
                // Moved into another task, returned from there.
                tokio::spawn(async move { drop(lease) }).await.unwrap();
                return;
            }
        }
        drop(lease);
    }
}

/// One blocking caller (a `spawn_blocking` thread or a std thread): `get_blocking_timeout`
/// with a random timeout; leases held a moment, 5 % by a holder that panics, 3 % discarded.
fn blocking_caller<const A: bool>(
    pool: Pool<Storm<A>>,
    mut rng: Rng,
    count: usize,
    outcomes: Outcomes,
    holders: Holders,
    closed: ClosedFlag,
) {
    for _ in 0..count {
        if closed.is_set() {
            // "At once": a 30 s timeout would show as a Timeout here, failing the test.
            match pool.get_blocking_timeout(Duration::from_secs(30)) {
                Err(PoolError::Closed) => outcomes.count("Closed (after close)"),
                other => panic!(
                    "a blocking get after close() must fail Closed at once, got {:?}",
                    other.map(|_| "a lease")
                ),
            }
            continue;
        }
        let timeout = match rng.below(4) {
            0 => Duration::ZERO,
            1 => Duration::from_millis(rng.below(5)),
            _ => Duration::from_millis(50 + rng.below(250)),
        };
        let lease = match outcomes.record(pool.get_blocking_timeout(timeout)) {
            Ok(lease) => lease,
            Err(pause) => {
                std::thread::sleep(pause);
                continue;
            }
        };
        let roll = rng.percent();
        if roll < 5 {
            let r = catch_unwind(AssertUnwindSafe(move || {
                let _held = lease;
                panic!("[expected] a blocking holder panics while holding its lease");
            }));
            assert!(r.is_err());
            holders.panicked.fetch_add(1, Ordering::SeqCst);
        } else if roll < 8 {
            Lease::discard(lease);
            holders.discarded.fetch_add(1, Ordering::SeqCst);
        } else {
            if rng.below(2) == 0 {
                std::thread::sleep(Duration::from_micros(rng.below(500)));
            }
            drop(lease);
        }
    }
}

/// What the sampler saw.
#[derive(Debug, Default)]
struct Sampled {
    samples: u64,
    resizes: u64,
    max_size: usize,
    max_live: usize,
    violations: Vec<String>,
}

/// Samples `status()` (and the ledger's live count) on its own thread until `stop`, and
/// resizes the pool now and then. The bound it checks is exact: after `resize(n)` the size
/// may stay above `n` only while resources lent before come back — it never grows while at
/// or above the limit — so each sample must be at most `max(n, the previous sample)`
/// (`ceiling`), and never above `MAX`.
fn sampler<M: Manager>(
    pool: Pool<M>,
    ledger: Ledger,
    mut rng: Rng,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let mut seen = Sampled::default();
        let mut limit = pool.status().max_size;
        let mut ceiling = limit;
        let check = |seen: &mut Sampled, s: Status, limit: usize, ceiling: usize| {
            let bad = s.size > ceiling
                || s.size > MAX
                || s.max_size != limit
                || s.idle + s.in_use > s.size;
            if bad && seen.violations.len() < 10 {
                seen.violations.push(format!(
                    "{s:?} (limit {limit}, ceiling {ceiling}) after {} samples",
                    seen.samples
                ));
            }
        };
        while !stop.load(Ordering::SeqCst) {
            let s = pool.status();
            let live = ledger.live_count();
            // Work abandoned past its bound may hold a resource outside the pool's slots
            // (a blocking call that has not handed it back yet): one each at most. Read
            // after `live` (it only grows), so the bound is never too tight.
            let outside = pool.statistics().abandoned as usize;
            seen.samples += 1;
            seen.max_size = seen.max_size.max(s.size);
            seen.max_live = seen.max_live.max(live);
            if live > MAX + outside && seen.violations.len() < 10 {
                seen.violations.push(format!(
                    "{live} live resources (max {MAX}, {outside} abandoned)"
                ));
            }
            check(&mut seen, s, limit, ceiling);
            ceiling = limit.max(s.size);
            if seen.samples % 400 == 0 {
                limit = 1 + rng.below(MAX as u64) as usize;
                pool.resize(limit).unwrap();
                seen.resizes += 1;
                ceiling = ceiling.max(limit);
            }
            if seen.samples % 16 == 0 {
                std::thread::sleep(Duration::from_micros(50));
            } else {
                std::thread::yield_now();
            }
        }
        seen
    })
}

/// How the ledger says each resource ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Endings {
    created: u64,
    closed: u64,
    dropped: u64,
    live: u64,
    /// Resources with more than one ending event.
    twice: u64,
}

fn endings(ledger: &Ledger) -> Endings {
    let mut ends: BTreeMap<u64, u64> = BTreeMap::new();
    let mut e = Endings {
        created: ledger.acquired_count(),
        live: ledger.live_count() as u64,
        ..Endings::default()
    };
    for event in ledger.events() {
        let id = match event {
            Event::Released { id, .. } | Event::CloseFailed { id, .. } => {
                e.closed += 1;
                id
            }
            Event::Dropped { id, .. } => {
                e.dropped += 1;
                id
            }
            _ => continue,
        };
        *ends.entry(id).or_default() += 1;
    }
    e.twice = ends.values().filter(|n| **n > 1).count() as u64;
    for id in 1..=e.created {
        if let Some(how) = ledger.ending(id) {
            assert_ne!(how, Ending::CloseFailed, "the ledger plans no close faults");
        }
    }
    e
}

/// Waits (bounded) until nothing is lent, waited for, created, checked or closed.
async fn quiesce<M: Manager>(pool: &Pool<M>) -> Status {
    let start = Instant::now();
    loop {
        let s = pool.status();
        if s.in_use == 0 && s.waiting == 0 && s.size == s.idle {
            return s;
        }
        assert!(
            start.elapsed() < HANG,
            "the pool did not settle after the storm: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn bounded<T>(what: &str, pool_status: impl Fn() -> Status, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} hung: {:?}", pool_status()),
    }
}

struct Plan {
    seed: u64,
    async_callers: usize,
    async_count: usize,
    blocking_callers: usize,
    thread_callers: usize,
    blocking_count: usize,
    /// Close the pool once this many acquires ended.
    close_after: Option<u64>,
}

impl Plan {
    fn acquires(&self) -> u64 {
        (self.async_callers * self.async_count
            + (self.blocking_callers + self.thread_callers) * self.blocking_count) as u64
    }
}

/// The storm itself; returns the report lines once every check passed.
fn storm<const A: bool>(plan: Plan) -> String {
    common::quiet_expected_panics();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ledger = Ledger::new();
    let manager = Storm::<A>::new(&ledger, plan.seed);
    let storm_on = manager.storm.clone();
    let faults = manager.faults.clone();
    let close_errors = manager.close_errors.clone();
    let hangs = manager.hangs.clone();
    let sink = Arc::new(CollectingSink::new(100_000));
    let pool = Pool::builder(manager)
        .config(if A {
            storm_config()
        } else {
            blocking_storm_config()
        })
        .runtime(rt.handle().clone())
        .sink(sink.clone())
        .build()
        .unwrap();
    let mut rng = Rng(plan.seed);
    let (outcomes, holders, closed) = (
        Outcomes::default(),
        Holders::default(),
        ClosedFlag::default(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let sampling = sampler(pool.clone(), ledger.clone(), Rng(rng.next()), stop.clone());
    let started = Instant::now();

    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..plan.async_callers {
            let args = (pool.clone(), Rng(rng.next()), outcomes.clone());
            tasks.push(tokio::spawn(async_caller(
                args.0,
                args.1,
                plan.async_count,
                args.2,
                holders.clone(),
                closed.clone(),
            )));
        }
        let mut blocking = Vec::new();
        for _ in 0..plan.blocking_callers {
            let args = (pool.clone(), Rng(rng.next()), outcomes.clone());
            let (h, c) = (holders.clone(), closed.clone());
            let n = plan.blocking_count;
            blocking.push(tokio::task::spawn_blocking(move || {
                blocking_caller(args.0, args.1, n, args.2, h, c)
            }));
        }
        let mut threads = Vec::new();
        for _ in 0..plan.thread_callers {
            let args = (pool.clone(), Rng(rng.next()), outcomes.clone());
            let (h, c) = (holders.clone(), closed.clone());
            let n = plan.blocking_count;
            threads.push(std::thread::spawn(move || {
                blocking_caller(args.0, args.1, n, args.2, h, c)
            }));
        }

        let status = || pool.status();
        if let Some(after) = plan.close_after {
            bounded("waiting for the storm to reach the close", status, async {
                while outcomes.total() < after {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            // The call begins the close: from here on every get must fail Closed.
            let mut closing = pin!(pool.close());
            let first = futures::poll!(closing.as_mut());
            closed.0.store(true, Ordering::SeqCst);
            if first.is_pending() {
                bounded("close() mid-storm", status, closing).await;
            }
        }
        bounded("the async callers", status, async {
            for t in tasks {
                t.await.unwrap();
            }
            for t in blocking {
                t.await.unwrap();
            }
        })
        .await;
        bounded("the thread callers", status, async {
            for t in threads {
                tokio::task::spawn_blocking(move || t.join().unwrap())
                    .await
                    .unwrap();
            }
        })
        .await;
    });
    let storm_took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let sampled = sampling.join().unwrap();
    assert!(
        sampled.violations.is_empty(),
        "the size bound broke (seed {}): {:#?}",
        plan.seed,
        sampled.violations
    );
    assert!(sampled.max_size <= MAX);
    if A {
        // Abandoned async work is dropped with its resource: nothing lives outside.
        assert!(sampled.max_live <= MAX, "{sampled:?}");
    }
    assert_eq!(
        outcomes.total(),
        plan.acquires(),
        "every acquire ended in a lease or a typed error: {:?}",
        outcomes.snapshot()
    );
    for never in ["WouldBlockRuntime", "Saturated", "other PoolError"] {
        assert_eq!(outcomes.get(never), 0, "{:?}", outcomes.snapshot());
    }
    assert!(outcomes.get("lease") > 0, "{:?}", outcomes.snapshot());

    // The storm is over: faults off, and wait for the pool to settle (hung resets are
    // abandoned after `return_timeout`).
    storm_on.store(false, Ordering::SeqCst);
    let mut report = String::new();
    rt.block_on(async {
        let settled = bounded("settling", || pool.status(), quiesce(&pool)).await;
        // Blocking work that overran its bound hands its resource back late, to be closed
        // (a late close may hang in turn): wait, bounded, until every resource is idle,
        // held by a hung call, or closed — each retired one, and each that came back late.
        let (stats, before) = if A {
            (pool.statistics(), endings(&ledger))
        } else {
            let start = Instant::now();
            loop {
                let (stats, e) = (pool.statistics(), endings(&ledger));
                let (hung, holding) = (hangs.all.load(Ordering::SeqCst), hangs.holding.load(Ordering::SeqCst));
                let late = stats.abandoned - hung; // work that overran its bound, then returned
                if e.live == settled.idle as u64 + holding
                    && e.closed == stats.destroyed.total() + late
                {
                    break (stats, e);
                }
                assert!(
                    start.elapsed() < HANG,
                    "resources unaccounted for: {e:?}, {stats:?}, {hung} hung ({holding} holding one), idle {}",
                    settled.idle
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        let (hung, holding) = (hangs.all.load(Ordering::SeqCst), hangs.holding.load(Ordering::SeqCst));
        let d = stats.destroyed;
        let retired = d.total();
        writeln!(
            report,
            "seed {} ({} manager): {} acquires in {storm_took:.2?}: {:?}",
            plan.seed,
            if A { "async" } else { "blocking" },
            plan.acquires(),
            outcomes.snapshot()
        )
        .unwrap();
        writeln!(
            report,
            "  created {}, closed {}, abandoned {}, idle {}; create failures {}, close failures {}, \
             timeouts {}; {:?}",
            before.created,
            before.closed,
            stats.abandoned,
            settled.idle,
            stats.create_failures,
            stats.close_failures,
            stats.timeouts,
            d
        )
        .unwrap();
        writeln!(
            report,
            "  sampled {} times: max size {}, max live {}, {} resizes; holders panicked {}, discarded {}",
            sampled.samples,
            sampled.max_size,
            sampled.max_live,
            sampled.resizes,
            holders.panicked.load(Ordering::SeqCst),
            holders.discarded.load(Ordering::SeqCst),
        )
        .unwrap();
        writeln!(
            report,
            "  manager calls under faults: {} creates, {} validations, {} resets, {} closes; \
             {hung} hung for good ({holding} holding a resource)",
            faults.count(Op::Acquire, "conn"),
            faults.count(Op::Validate, "conn"),
            faults.count(Op::Reset, "conn"),
            faults.count(Op::Close, "conn"),
        )
        .unwrap();
        print!("{report}");

        // No leak: every resource created was closed, abandoned (async: dropped with its
        // hung reset; blocking: closed when it came back late, or held by a call hung for
        // good) or is idle; once each, as the pool's own counters say.
        assert_eq!(before.twice, 0, "a resource ended twice: {before:?}");
        assert_eq!(before.created, stats.created, "{before:?} {stats:?}");
        if A {
            assert_eq!(before.dropped, stats.abandoned, "only abandoned resources are dropped");
            assert_eq!(before.live, settled.idle as u64, "live = idle: {before:?} {settled:?}");
            assert_eq!(before.closed, retired, "every retired resource was closed: {d:?}");
        } else {
            assert_eq!(before.dropped, 0, "blocking work hands every resource back");
            assert_eq!(before.live, settled.idle as u64 + holding, "live = idle + held by hung calls");
            assert!(stats.abandoned >= hung, "every hung call was abandoned: {stats:?}, {hung} hung");
            assert_eq!(
                before.closed,
                retired + stats.abandoned - hung,
                "every retired resource was closed, and every one that came back late: {d:?}"
            );
        }
        assert_eq!(before.created, before.closed + before.dropped + before.live);
        let reports = sink.take();
        // A close failure of a resource that came back late is reported, not counted.
        let late_close_failures = reports
            .iter()
            .filter(|r| {
                r.context() == "pool: closing a resource that came back past its bound"
                    && r.error().is_some_and(|e| e.kind() == tenure::ErrorKind::Close)
            })
            .count() as u64;
        assert_eq!(
            stats.close_failures + late_close_failures,
            close_errors.load(Ordering::SeqCst)
        );
        assert_eq!(
            d.panicked,
            holders.panicked.load(Ordering::SeqCst),
            "every lease dropped by a panicking holder was retired"
        );
        assert_eq!(d.discarded, holders.discarded.load(Ordering::SeqCst));
        assert_eq!(stats.leaks, 0, "no lease is held anywhere near leak_threshold");
        assert_eq!(
            reports.len() as u64,
            stats.close_failures + late_close_failures + stats.abandoned,
            "every close failure and every abandonment was reported"
        );
        if A && plan.close_after.is_none() {
            assert!(
                stats.abandoned > 0,
                "2 % of resets hang: some were abandoned ({} resets)",
                d.reset_failed
            );
        }
        if !A && plan.close_after.is_none() {
            assert!(hung > 0, "blocking calls hung at fixed calls: {hung} did");
        }

        if plan.close_after.is_none() {
            // The pool still serves, at full size: `MAX` leases at once, each within a bound
            // (after the longest create backoff, so a failure just before the end does not
            // make a get fail fast with `Unavailable`).
            pool.resize(MAX).unwrap();
            tokio::time::sleep(storm_config().max_create_backoff).await;
            let first = bounded("a get after the storm", || pool.status(), pool.get()).await;
            let first = first.unwrap_or_else(|e| panic!("a get after the storm failed: {e}"));
            let mut held = vec![first];
            for _ in 1..MAX {
                let r = bounded("a get after the storm", || pool.status(), pool.get()).await;
                held.push(r.unwrap_or_else(|e| panic!("a get after the storm failed: {e}")));
            }
            assert_eq!(pool.status().in_use, MAX, "no slot was lost in the storm");
            drop(held);
        }

        bounded("close()", || pool.status(), pool.close()).await;
        let after = endings(&ledger);
        // Nothing left but what hung calls hold.
        let holding = hangs.holding.load(Ordering::SeqCst);
        assert_eq!(after.live, holding, "{after:?}");
        assert_eq!(after.twice, 0, "a resource ended twice: {after:?}");
        if A {
            assert_eq!(after.dropped, pool.statistics().abandoned);
        }
        assert_eq!(after.created, after.closed + after.dropped + holding);
        assert_eq!(pool.status().size, 0);
        assert!(matches!(
            pool.get().now_or_never(),
            Some(Err(PoolError::Closed))
        ));
    });
    report
}

#[test]
fn a_storm_of_faults_cancellations_panics_and_resizes_leaks_nothing_async_manager() {
    storm::<true>(Plan {
        seed: seed(),
        async_callers: 8,
        async_count: 400,
        blocking_callers: 3,
        thread_callers: 2,
        blocking_count: 150,
        close_after: None,
    });
}

#[test]
fn a_storm_of_faults_cancellations_panics_and_resizes_leaks_nothing_blocking_manager() {
    storm::<false>(Plan {
        seed: seed() ^ 1,
        async_callers: 10,
        async_count: 120,
        blocking_callers: 2,
        thread_callers: 2,
        blocking_count: 100,
        close_after: None,
    });
}

#[test]
fn close_mid_storm_fails_every_later_get_at_once_and_closes_every_resource_once() {
    let plan = Plan {
        seed: seed() ^ 2,
        async_callers: 16,
        async_count: 120,
        blocking_callers: 2,
        thread_callers: 2,
        blocking_count: 100,
        close_after: Some(800),
    };
    let report = storm::<true>(plan);
    assert!(report.contains("Closed (after close)"), "{report}");
}

/// tokio #8100: a task woken by a task that keeps running can sit in that worker's LIFO
/// slot, which the other worker cannot steal, until the running task yields. A holder that
/// drops its lease and then keeps its worker busy (200 ms of CPU, no yield) must not hold
/// the waiter it handed the resource to: the waiter is served while the holder still spins.
#[test]
fn a_handoff_is_not_stalled_by_a_holder_that_keeps_its_worker_busy() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = Pool::builder(TestManager::new())
        .config(PoolConfig {
            max_size: 1,
            ..PoolConfig::default()
        })
        .runtime(rt.handle().clone())
        .build()
        .unwrap();
    const SPIN: Duration = Duration::from_millis(200);
    let served = Arc::new(Mutex::new(None::<Instant>));
    let (released, spun) = rt.block_on(async {
        let p = pool.clone();
        let s = served.clone();
        let holder = tokio::spawn(async move {
            let lease = p.get().await.unwrap();
            let p2 = p.clone();
            let waiter = tokio::spawn(async move {
                let lease = p2.get().await.unwrap();
                *s.lock().unwrap() = Some(Instant::now());
                drop(lease);
            });
            while p.status().waiting == 0 {
                tokio::task::yield_now().await;
            }
            // The steady state: the pool's relay tasks have run since the pool started and
            // since the handoff that served this holder. Without this pause the test failed
            // about once in 60 runs under heavy load (the waiter served exactly when the
            // spin ended): a handoff in that first window can still stall (reported).
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(p.status().waiting, 1, "the waiter is still in line");
            drop(lease); // handed to the waiter, woken from this worker
            let released = Instant::now();
            // Busy, without yielding: the other worker is free to run the waiter.
            while released.elapsed() < SPIN {
                std::hint::spin_loop();
            }
            let spun = Instant::now();
            (released, spun, waiter)
        });
        let (released, spun, waiter) = tokio::time::timeout(HANG, holder)
            .await
            .expect("the holder hung")
            .unwrap();
        tokio::time::timeout(HANG, waiter)
            .await
            .expect("the waiter hung")
            .unwrap();
        (released, spun)
    });
    let served = served.lock().unwrap().expect("the waiter was served");
    println!(
        "handoff: waiter served {:?} after the release; the holder spun {:?}",
        served.saturating_duration_since(released),
        spun - released
    );
    assert!(
        served < spun,
        "the waiter was served only {:?} after the release, once the holder stopped spinning \
         ({:?}): it sat in the releasing worker's LIFO slot (tokio #8100)",
        served.saturating_duration_since(released),
        spun - released
    );
}

/// Numbered units whose `fail_at`th create (from 0) fails.
struct Flaky {
    next: AtomicUsize,
    fail_at: usize,
}
impl Manager for Flaky {
    type Resource = usize;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<usize, std::io::Error>> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        Work::ready(if n == self.fail_at {
            Err(std::io::Error::other("[expected] the backend is down"))
        } else {
            Ok(n)
        })
    }
    fn close(&self, _: usize) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
}

/// The backoff after a failed create delays the next create; it must not cancel it. Callers
/// that join the line during the backoff, while the pool has room, are served by a create
/// once the backoff passes — not only when some lease comes back (here: never).
#[test]
fn waiters_that_join_during_a_create_backoff_are_served_once_it_passes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = PoolConfig {
        max_size: 3,
        validation: Validation::Never,
        create_backoff: Duration::from_millis(20),
        max_create_backoff: Duration::from_millis(20),
        acquire_timeout: Duration::from_secs(2),
        ..PoolConfig::default()
    };
    let manager = Flaky {
        next: AtomicUsize::new(0),
        fail_at: 1,
    };
    let pool = Pool::builder(manager)
        .config(config)
        .runtime(rt.handle().clone())
        .build()
        .unwrap();
    let held = pool.get_blocking().unwrap(); // create 0; held to the end
    let e = pool.get_blocking().unwrap_err(); // create 1 fails: backoff
    assert!(matches!(e, PoolError::Create(_)), "{e:?}");
    // Within the backoff, with a lease out that could come back: both wait in line.
    let p = pool.clone();
    let waiter = rt.spawn(async move { p.get().await.map(|l| *l) });
    let p = pool.clone();
    let thread = std::thread::spawn(move || p.get_blocking().map(|l| *l));
    let (by_task, by_thread) = (rt.block_on(waiter).unwrap(), thread.join().unwrap());
    let status = pool.status();
    drop(held);
    assert!(
        by_task.is_ok() && by_thread.is_ok(),
        "the pool had room and the backoff passed, yet: task {:?}, thread {:?} ({status:?})",
        by_task.map_err(|e| e.to_string()),
        by_thread.map_err(|e| e.to_string()),
    );
}

/// `Validation::Always` is documented as "on every checkout". The storm showed how few
/// checkouts it validates (a handful of validations for thousands of leases): a resource
/// returned while someone waits is handed to that waiter unvalidated. A checkout from the
/// idle set is validated; one by handoff must be too.
#[test]
fn validation_always_validates_a_resource_handed_to_a_waiter() {
    let validations = TestManager::new();
    let config = PoolConfig {
        max_size: 1,
        validation: Validation::Always,
        ..PoolConfig::default()
    };
    let pool = Pool::new(validations.clone(), config).unwrap();
    drop(pool.get_blocking().unwrap()); // created (fresh: not validated), then idle
    let held = pool.get_blocking().unwrap(); // from the idle set: validated
    assert_eq!(validations.validated(), 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut waiting = pin!(pool.get());
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(held); // handed to the waiter
        drop(waiting.await.unwrap());
    });
    assert_eq!(
        validations.validated(),
        2,
        "the handed-off checkout was not validated"
    );
}

/// The per-thread shards under load: eight threads and a multi-thread runtime's tasks get
/// and drop on a pool of two with no hold at all (the steady state a shard serves alone),
/// a tiny hold, or a yield — so returns into a shard's cache race waiters joining from
/// every other shard all the time. A resource left resting in a shard while someone waits
/// would leave that waiter to time out: every acquire must succeed (generous timeout), no
/// more than two resources are ever made, each acquire is counted once as direct or
/// waited, and afterwards both are idle and a close closes each once.
#[test]
fn shards_never_keep_a_resource_from_a_waiter() {
    const THREADS: usize = 8;
    const TASKS: usize = 8;
    const OPS: usize = 2_000;
    let plain = TestManager::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async {
        Pool::new(
            plain.clone(),
            PoolConfig {
                max_size: 2,
                validation: Validation::Never,
                acquire_timeout: Duration::from_secs(5),
                ..PoolConfig::default()
            },
        )
        .unwrap()
    });
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for i in 0..OPS {
                    let lease = pool.get_blocking().expect("served within the timeout");
                    match (t + i) % 8 {
                        0 => std::thread::sleep(Duration::from_micros(20)),
                        1 => std::thread::yield_now(),
                        _ => {}
                    }
                    drop(lease);
                }
            })
        })
        .collect();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let pool = pool.clone();
            rt.spawn(async move {
                for i in 0..OPS {
                    let lease = pool.get().await.expect("served within the timeout");
                    if (t + i) % 4 == 0 {
                        tokio::task::yield_now().await;
                    }
                    drop(lease);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let stats = pool.statistics();
    assert_eq!(stats.created, 2, "never more than the pool's two");
    assert_eq!(
        stats.acquired_direct + stats.acquired_waited,
        ((THREADS + TASKS) * OPS) as u64,
        "every acquire counted once"
    );
    assert_eq!(stats.hold_time.count, ((THREADS + TASKS) * OPS) as u64);
    assert_eq!((stats.timeouts, stats.destroyed.total()), (0, 0));
    let status = pool.status();
    assert_eq!(
        (status.size, status.idle, status.in_use, status.waiting),
        (2, 2, 0, 0)
    );
    rt.block_on(pool.close());
    assert_eq!(plain.closed().len(), 2, "each closed once");
}
