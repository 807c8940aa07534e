//! The pool scenarios reported beside the table (counts, not timings; see
//! [`Harness::scenario`] for the output: a `scenario …` line in the table, an object with a
//! `scenario` key instead of `bench` with `--json`). Both run on the `pool` rows' runtime
//! (tokio multi-thread, 2 workers), tenure against deadpool 0.13 (configured as in
//! [`super::fixtures`]: the same size and 30 s wait / create timeouts).
//!
//! - `pool/scenario=cancel_storm`: an async manager whose create takes 1 ms (a tokio
//!   sleep; close and checks inline), `max_size` 8, validation off. 256 tasks each run a
//!   number of rounds; a round picks at random (seeded, the same sequence for both pools)
//!   one of: `get()` under `tokio::time::timeout` of 0–200 µs, under a timeout of 0–3 ms,
//!   in a `select!` against `yield_now()` (cancelled after its first poll unless served at
//!   once), or a plain `get()`; a lease it got is held across a yield or a sleep of
//!   0–1 ms, then dropped. Every round samples `status()`: a size above `max_size` is a
//!   violation. After the storm: within 2 s everything comes back (nothing lent, nobody
//!   waiting, for tenure every resource idle; else a violation), the live resources (created
//!   − closed, counted by the manager) equal the pool's size (else a violation), and a fresh
//!   `get` with a 1 s timeout succeeds (its latency is reported; failing is a violation).
//!   Also reported: creates started, creates that finished, and creates **abandoned** (the
//!   create's future dropped before it finished: deadpool drops the create of a cancelled
//!   `get`; tenure finishes it into the pool).
//! - `pool/scenario=backend_down`: a manager whose create fails after 1 ms ("connection
//!   refused"). 64 callers loop for the outage window (300 ms with `--quick`, 1 s without,
//!   50 ms in tests): `get()`, time to its error, then a 1 ms pause (a client's retry
//!   pacing). Reported: calls, how many ended in an error, and of which kind, the median,
//!   p99 and max time to the error, and the creates attempted during the window (tenure
//!   bounds them by `max_concurrent_creates` and its backoff; deadpool runs one per caller).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolError, Work};
use tokio::runtime::Runtime;

use super::fixtures;
use crate::harness::{Harness, Mode};

/// The pool size of both scenarios.
const MAX: usize = 8;

/// Counts of a manager's work, shared by the manager and the scenario.
#[derive(Debug, Default)]
struct Counts {
    started: AtomicU64,
    finished: AtomicU64,
    abandoned: AtomicU64,
    closed: AtomicU64,
}

impl Counts {
    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Counts an abandoned create when its future is dropped before it finished.
struct CreateGuard(Arc<Counts>, bool);

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A create that takes `delay` (a tokio sleep), then succeeds or fails.
async fn create(counts: Arc<Counts>, delay: Duration, fail: bool) -> Result<u64, std::io::Error> {
    counts.started.fetch_add(1, Ordering::Relaxed);
    let mut guard = CreateGuard(counts, false);
    tokio::time::sleep(delay).await;
    guard.1 = true;
    if fail {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused (the backend is down)",
        ));
    }
    guard.0.finished.fetch_add(1, Ordering::Relaxed);
    Ok(0)
}

/// tenure's manager of the scenarios.
struct Slow {
    counts: Arc<Counts>,
    fail: bool,
}

impl Manager for Slow {
    type Resource = u64;
    type Error = std::io::Error;
    const ASYNC: bool = true;
    fn create(&self) -> Work<Result<u64, std::io::Error>> {
        Work::future(create(
            self.counts.clone(),
            Duration::from_millis(1),
            self.fail,
        ))
    }
    fn close(&self, _: u64) -> Work<Result<(), BoxError>> {
        self.counts.closed.fetch_add(1, Ordering::Relaxed);
        Work::ready(Ok(()))
    }
}

/// deadpool's manager of the scenarios.
struct DeadpoolSlow {
    counts: Arc<Counts>,
    fail: bool,
}

impl deadpool::managed::Manager for DeadpoolSlow {
    type Type = u64;
    type Error = std::io::Error;
    async fn create(&self) -> Result<u64, std::io::Error> {
        create(self.counts.clone(), Duration::from_millis(1), self.fail).await
    }
    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<std::io::Error> {
        Ok(())
    }
    fn detach(&self, _: &mut u64) {
        self.counts.closed.fetch_add(1, Ordering::Relaxed);
    }
}

type DeadpoolPool = deadpool::managed::Pool<DeadpoolSlow>;

fn tenure_pool(counts: &Arc<Counts>, fail: bool) -> Pool<Slow> {
    let manager = Slow {
        counts: counts.clone(),
        fail,
    };
    fixtures::tenure(manager, MAX)
}

fn deadpool_pool(counts: &Arc<Counts>, fail: bool) -> DeadpoolPool {
    let manager = DeadpoolSlow {
        counts: counts.clone(),
        fail,
    };
    fixtures::deadpool(manager, MAX)
}

/// What the storm needs of a pool.
trait StormPool: Clone + Send + Sync + 'static {
    /// A get whose lease is held for `hold` (a yield when zero), then dropped; `true`
    /// when a lease was got. Cancellation happens around this future.
    fn get_hold(&self, hold: Duration) -> impl std::future::Future<Output = bool> + Send;
    /// (size, lent out, waiting, idle).
    fn figures(&self) -> (usize, usize, usize, usize);
}

async fn hold_for(hold: Duration) {
    if hold.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(hold).await;
    }
}

impl StormPool for Pool<Slow> {
    async fn get_hold(&self, hold: Duration) -> bool {
        match self.get().await {
            Ok(lease) => {
                hold_for(hold).await;
                drop(lease);
                true
            }
            Err(_) => false,
        }
    }
    fn figures(&self) -> (usize, usize, usize, usize) {
        let s = self.status();
        (s.size, s.in_use, s.waiting, s.idle)
    }
}

impl StormPool for DeadpoolPool {
    async fn get_hold(&self, hold: Duration) -> bool {
        match self.get().await {
            Ok(lease) => {
                hold_for(hold).await;
                drop(lease);
                true
            }
            Err(_) => false,
        }
    }
    fn figures(&self) -> (usize, usize, usize, usize) {
        let s = self.status();
        (s.size, s.size - s.available, s.waiting, s.available)
    }
}

/// What one storm counted.
#[derive(Debug, Default)]
struct Storm {
    rounds: u64,
    leases: u64,
    cancelled: u64,
    max_size_seen: usize,
    violations: u64,
    fresh_get_us: Option<f64>,
}

/// One round of the storm, chosen by `rng`.
async fn round<P: StormPool>(pool: &P, rng: &mut fastrand::Rng) -> Option<bool> {
    let hold = Duration::from_micros(rng.u64(0..1_000));
    match rng.u32(0..4) {
        0 => {
            let t = Duration::from_micros(rng.u64(0..200));
            tokio::time::timeout(t, pool.get_hold(hold)).await.ok()
        }
        1 => {
            let t = Duration::from_micros(rng.u64(0..3_000));
            tokio::time::timeout(t, pool.get_hold(hold)).await.ok()
        }
        2 => {
            tokio::select! {
                biased;
                got = pool.get_hold(hold) => Some(got),
                () = tokio::task::yield_now() => None,
            }
        }
        _ => Some(pool.get_hold(hold).await),
    }
}

/// Runs the storm on `pool`: `tasks` tasks × `rounds` rounds, then the checks.
fn storm<P: StormPool>(
    rt: &Runtime,
    pool: P,
    counts: &Arc<Counts>,
    tasks: usize,
    rounds: u64,
    fresh: impl std::future::Future<Output = bool> + Send,
) -> Storm {
    rt.block_on(async {
        let storms = fixtures::join_tasks(tasks, |i| {
            let pool = pool.clone();
            async move {
                let mut rng = fastrand::Rng::with_seed(0x5eed + i as u64);
                let mut s = Storm::default();
                for _ in 0..rounds {
                    s.rounds += 1;
                    match round(&pool, &mut rng).await {
                        Some(true) => s.leases += 1,
                        Some(false) => {}
                        None => s.cancelled += 1,
                    }
                    let (size, ..) = pool.figures();
                    s.max_size_seen = s.max_size_seen.max(size);
                    if size > MAX {
                        s.violations += 1;
                    }
                }
                s
            }
        })
        .await;
        let mut total = Storm::default();
        for s in storms {
            total.rounds += s.rounds;
            total.leases += s.leases;
            total.cancelled += s.cancelled;
            total.violations += s.violations;
            total.max_size_seen = total.max_size_seen.max(s.max_size_seen);
        }
        // Everything comes back: nothing lent, nobody waiting, every resource idle (creates
        // that were under way have finished).
        let settle = Instant::now() + Duration::from_secs(2);
        loop {
            let (size, lent, waiting, idle) = pool.figures();
            let live = Counts::get(&counts.finished).saturating_sub(Counts::get(&counts.closed));
            let creating = Counts::get(&counts.started)
                - Counts::get(&counts.finished)
                - Counts::get(&counts.abandoned);
            if lent == 0 && waiting == 0 && idle == size && creating == 0 && live == size as u64 {
                break;
            }
            if Instant::now() >= settle {
                eprintln!(
                    "pool/scenario=cancel_storm: not settled after 2 s: size {size}, lent \
                     {lent}, waiting {waiting}, idle {idle}, live {live}, creating {creating}"
                );
                total.violations += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let t0 = Instant::now();
        let ok = fresh.await;
        total.fresh_get_us = Some(t0.elapsed().as_secs_f64() * 1e6);
        if !ok {
            total.violations += 1;
        }
        total
    })
}

/// The cancellation storm, on tenure then on deadpool.
fn cancel_storm(h: &mut Harness, rt: &Runtime) {
    let name = "pool/scenario=cancel_storm";
    if !h.scenario_selected(name) {
        return;
    }
    let (tasks, rounds) = match h.mode() {
        Mode::Full => (256, 60),
        Mode::Quick => (256, 20),
        Mode::Smoke => (8, 3),
    };
    let tc = Arc::new(Counts::default());
    let tp = rt.block_on(async { tenure_pool(&tc, false) });
    let fresh_pool = tp.clone();
    let fresh = async move { fresh_pool.get_timeout(Duration::from_secs(1)).await.is_ok() };
    let t = storm(rt, tp.clone(), &tc, tasks, rounds, fresh);
    let stats = tp.statistics();
    let dc = Arc::new(Counts::default());
    let dp = rt.block_on(async { deadpool_pool(&dc, false) });
    let fresh_pool = dp.clone();
    let fresh = async move {
        let t = deadpool::managed::Timeouts {
            wait: Some(Duration::from_secs(1)),
            ..fresh_pool.timeouts()
        };
        fresh_pool.timeout_get(&t).await.is_ok()
    };
    let d = storm(rt, dp.clone(), &dc, tasks, rounds, fresh);
    let c = |a: &AtomicU64| Value::from(Counts::get(a));
    h.scenario(
        name,
        "deadpool",
        (
            "a fresh get after the storm",
            t.fresh_get_us.unwrap_or(0.0) * 1e3,
            d.fresh_get_us.unwrap_or(0.0) * 1e3,
        ),
        vec![
            ("tasks", Value::from(tasks)),
            ("rounds", Value::from(t.rounds)),
            ("max_size", Value::from(MAX)),
            ("violations", Value::from(t.violations)),
            ("max_size_seen", Value::from(t.max_size_seen)),
            ("leases", Value::from(t.leases)),
            ("cancelled", Value::from(t.cancelled)),
            ("creates_started", c(&tc.started)),
            ("creates_finished", c(&tc.finished)),
            ("creates_abandoned", c(&tc.abandoned)),
            ("timeouts_counted", Value::from(stats.timeouts)),
            ("fresh_get_us", Value::from(round1(t.fresh_get_us))),
            ("peer_violations", Value::from(d.violations)),
            ("peer_max_size_seen", Value::from(d.max_size_seen)),
            ("peer_leases", Value::from(d.leases)),
            ("peer_cancelled", Value::from(d.cancelled)),
            ("peer_creates_started", c(&dc.started)),
            ("peer_creates_finished", c(&dc.finished)),
            ("peer_creates_abandoned", c(&dc.abandoned)),
            ("peer_fresh_get_us", Value::from(round1(d.fresh_get_us))),
        ],
    );
}

fn round1(x: Option<f64>) -> f64 {
    x.map_or(f64::NAN, |x| (x * 10.0).round() / 10.0)
}

/// What the callers of the backend-down scenario saw.
#[derive(Debug, Default)]
struct Outage {
    calls: u64,
    errors: u64,
    kinds: std::collections::BTreeMap<String, u64>,
    to_error_ns: Vec<u64>,
}

/// `callers` tasks calling `get` for `window`, each error timed.
fn outage<F, Fut>(rt: &Runtime, callers: usize, window: Duration, get: F) -> Outage
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    rt.block_on(async {
        let end = Instant::now() + window;
        let outages = fixtures::join_tasks(callers, |_| {
            let get = get.clone();
            async move {
                let mut o = Outage::default();
                while Instant::now() < end {
                    let t0 = Instant::now();
                    let r = get().await;
                    o.calls += 1;
                    if let Err(kind) = r {
                        o.errors += 1;
                        o.to_error_ns.push(t0.elapsed().as_nanos() as u64);
                        *o.kinds.entry(kind).or_default() += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                o
            }
        })
        .await;
        let mut total = Outage::default();
        for o in outages {
            total.calls += o.calls;
            total.errors += o.errors;
            total.to_error_ns.extend(o.to_error_ns);
            for (k, n) in o.kinds {
                *total.kinds.entry(k).or_default() += n;
            }
        }
        total
    })
}

/// Median, p99 and max of `ns`, in µs.
fn spread_us(ns: &mut [u64]) -> (f64, f64, f64) {
    if ns.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    ns.sort_unstable();
    let n = ns.len();
    let at = |q: f64| ns[((q * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1e3;
    let r = |x: f64| (x * 10.0).round() / 10.0;
    (r(at(0.5)), r(at(0.99)), r(ns[n - 1] as f64 / 1e3))
}

/// The backend-down scenario, on tenure then on deadpool.
fn backend_down(h: &mut Harness, rt: &Runtime) {
    let name = "pool/scenario=backend_down";
    if !h.scenario_selected(name) {
        return;
    }
    let (callers, window) = match h.mode() {
        Mode::Full => (64, Duration::from_secs(1)),
        Mode::Quick => (64, Duration::from_millis(300)),
        Mode::Smoke => (8, Duration::from_millis(50)),
    };
    let tc = Arc::new(Counts::default());
    let tp = rt.block_on(async { tenure_pool(&tc, true) });
    let pool = tp.clone();
    let mut t = outage(rt, callers, window, move || {
        let pool = pool.clone();
        async move {
            match pool.get().await {
                Ok(_) => Ok(()),
                Err(e) => Err(match e {
                    PoolError::Create(_) => "Create".to_string(),
                    PoolError::Unavailable { .. } => "Unavailable".to_string(),
                    PoolError::Timeout { .. } => "Timeout".to_string(),
                    other => format!("{other:?}").chars().take(24).collect(),
                }),
            }
        }
    });
    let tenure_creates = Counts::get(&tc.started);
    let example = rt.block_on(async {
        match tp.get().await {
            Ok(_) => "no error".to_string(),
            Err(e) => e.to_string(),
        }
    });
    let dc = Arc::new(Counts::default());
    let dp = rt.block_on(async { deadpool_pool(&dc, true) });
    let pool = dp.clone();
    let mut d = outage(rt, callers, window, move || {
        let pool = pool.clone();
        async move {
            match pool.get().await {
                Ok(_) => Ok(()),
                Err(e) => Err(match e {
                    deadpool::managed::PoolError::Backend(_) => "Backend".to_string(),
                    deadpool::managed::PoolError::Timeout(_) => "Timeout".to_string(),
                    other => format!("{other:?}").chars().take(24).collect(),
                }),
            }
        }
    });
    let deadpool_creates = Counts::get(&dc.started);
    let (t50, t99, tmax) = spread_us(&mut t.to_error_ns);
    let (d50, d99, dmax) = spread_us(&mut d.to_error_ns);
    let kinds = |o: &Outage| {
        let v: Vec<String> = o.kinds.iter().map(|(k, n)| format!("{k}:{n}")).collect();
        Value::from(v.join(" "))
    };
    h.scenario(
        name,
        "deadpool",
        ("p50 time to a typed error", t50 * 1e3, d50 * 1e3),
        vec![
            ("callers", Value::from(callers)),
            ("window_ms", Value::from(window.as_millis() as u64)),
            ("calls", Value::from(t.calls)),
            ("errors", Value::from(t.errors)),
            ("error_kinds", kinds(&t)),
            ("to_error_p50_us", Value::from(t50)),
            ("to_error_p99_us", Value::from(t99)),
            ("to_error_max_us", Value::from(tmax)),
            ("creates", Value::from(tenure_creates)),
            ("error_display", Value::from(example)),
            ("peer_calls", Value::from(d.calls)),
            ("peer_errors", Value::from(d.errors)),
            ("peer_error_kinds", kinds(&d)),
            ("peer_to_error_p50_us", Value::from(d50)),
            ("peer_to_error_p99_us", Value::from(d99)),
            ("peer_to_error_max_us", Value::from(dmax)),
            ("peer_creates", Value::from(deadpool_creates)),
        ],
    );
}

/// Runs both scenarios.
pub fn run(h: &mut Harness, rt: &Runtime) {
    cancel_storm(h, rt);
    backend_down(h, rt);
}
