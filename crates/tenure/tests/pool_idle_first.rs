//! No caller waits while a resource sits idle: a waiter whose resource is being checked is
//! being served, so the next caller gets the next idle resource (checked when the policy
//! says so) instead of queueing behind that check; and a failed check moves on to the next
//! idle resource before any create. Async and blocking callers, each case of the issue.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::error::BoxError;
use tenure::pool::{Checked, Manager, Pool, PoolConfig, PoolError, Validation, Work};

/// A backend that allows `limit` creates, checks take `check_delay`, and the first check
/// fails if `fail_first_check` is set.
struct Backend {
    next: AtomicU32,
    limit: u32,
    check_delay: Duration,
    fail_first_check: AtomicBool,
    checks: AtomicU32,
}

/// Its manager: async work (`A`) or blocking work.
struct Mgr<const A: bool>(Arc<Backend>);

impl<const A: bool> Manager for Mgr<A> {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = A;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let n = self.0.next.fetch_add(1, Ordering::SeqCst);
        Work::ready(if n < self.0.limit {
            Ok(n)
        } else {
            Err(std::io::Error::other(
                "the backend allows no more connections",
            ))
        })
    }
    fn close(&self, _: u32) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
    fn validate(&self, r: u32) -> Checked<Self> {
        self.0.checks.fetch_add(1, Ordering::SeqCst);
        let verdict = if self.0.fail_first_check.swap(false, Ordering::SeqCst) {
            Err(std::io::Error::other("check failed"))
        } else {
            Ok(())
        };
        let delay = self.0.check_delay;
        if A {
            Work::future(async move {
                tokio::time::sleep(delay).await;
                (r, verdict)
            })
        } else {
            Work::blocking(move || {
                std::thread::sleep(delay);
                (r, verdict)
            })
        }
    }
}

fn backend(check_delay: Duration, fail_first_check: bool) -> Arc<Backend> {
    Arc::new(Backend {
        next: AtomicU32::new(0),
        limit: 2,
        check_delay,
        fail_first_check: AtomicBool::new(fail_first_check),
        checks: AtomicU32::new(0),
    })
}

fn config(validation: Validation) -> PoolConfig {
    PoolConfig {
        max_size: 2,
        validation,
        maintenance_interval: None,
        ..PoolConfig::default()
    }
}

fn build<const A: bool>(
    backend: &Arc<Backend>,
    validation: Validation,
) -> (Pool<Mgr<A>>, ManualClock) {
    let clock = ManualClock::new();
    let pool = Pool::builder(Mgr::<A>(backend.clone()))
        .config(config(validation))
        .clock(clock.clone())
        .build()
        .unwrap();
    (pool, clock)
}

/// A blocking pool of two idle resources (0 and 1), idle for 600 ms by its clock.
fn two_idle(backend: &Arc<Backend>, validation: Validation) -> Pool<Mgr<false>> {
    let (pool, clock) = build::<false>(backend, validation);
    let (a, b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    drop((a, b));
    clock.advance(Duration::from_millis(600)); // past the default 500 ms window
    assert_eq!(pool.status().idle, 2);
    pool
}

/// [`two_idle`] for an async pool.
async fn two_idle_async(backend: &Arc<Backend>, validation: Validation) -> Pool<Mgr<true>> {
    let (pool, clock) = build::<true>(backend, validation);
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    drop((a, b));
    clock.advance(Duration::from_millis(600));
    assert_eq!(pool.status().idle, 2);
    pool
}

/// Caller 1 gets one (its 100 ms check starts) and holds it; caller 2 asks 10 ms later
/// with a 1 s timeout: served with the other idle one, checked too, no create.
async fn second_caller_is_served_while_first_is_checked(validation: Validation) {
    let b = backend(Duration::from_millis(100), false);
    let pool = two_idle_async(&b, validation).await;
    let first = tokio::spawn({
        let pool = pool.clone();
        async move { pool.get().await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = pool.get_timeout(Duration::from_secs(1)).await;
    let second = *second.expect("served, not a timeout while one sits idle");
    let first = first.await.unwrap().unwrap(); // held all along
    assert_ne!(*first, second);
    let stats = pool.statistics();
    assert_eq!((stats.timeouts, stats.created), (0, 2));
    assert_eq!(b.checks.load(Ordering::SeqCst), 2, "each checked once");
}

#[tokio::test(start_paused = true)]
async fn async_caller_gets_the_other_idle_resource_while_one_is_validated() {
    second_caller_is_served_while_first_is_checked(Validation::default()).await;
}

#[tokio::test(start_paused = true)]
async fn async_caller_gets_the_other_idle_resource_under_validation_always() {
    second_caller_is_served_while_first_is_checked(Validation::Always).await;
}

/// The same with blocking callers and blocking checks (no runtime).
fn blocking_second_caller_is_served_while_first_is_checked(validation: Validation) {
    let b = backend(Duration::from_millis(100), false);
    let pool = two_idle(&b, validation);
    let first = std::thread::spawn({
        let pool = pool.clone();
        move || pool.get_blocking()
    });
    std::thread::sleep(Duration::from_millis(10));
    let second = pool.get_blocking_timeout(Duration::from_secs(1));
    let second = *second.expect("served, not a timeout while one sits idle");
    let first = first.join().unwrap().unwrap(); // held all along
    assert_ne!(*first, second);
    let stats = pool.statistics();
    assert_eq!((stats.timeouts, stats.created), (0, 2));
    assert_eq!(b.checks.load(Ordering::SeqCst), 2, "each checked once");
}

#[test]
fn blocking_caller_gets_the_other_idle_resource_while_one_is_validated() {
    blocking_second_caller_is_served_while_first_is_checked(Validation::default());
}

#[test]
fn blocking_caller_gets_the_other_idle_resource_under_validation_always() {
    blocking_second_caller_is_served_while_first_is_checked(Validation::Always);
}

/// Two idle resources, the first checked fails, the backend allows no more creates: the
/// get tries the other idle one and gets it (no create, no `PoolError::Create`).
fn failed_check_moves_on(result: Result<u32, PoolError<std::io::Error>>, b: &Backend) {
    let got = result.expect("the other idle resource, not a create");
    assert!(got < 2, "one of the two that existed, got #{got}");
    assert_eq!(b.checks.load(Ordering::SeqCst), 2, "both were checked");
    assert_eq!(b.next.load(Ordering::SeqCst), 2, "no create was tried");
}

#[tokio::test]
async fn async_failed_check_moves_on_to_the_next_idle_resource_before_any_create() {
    let b = backend(Duration::ZERO, true);
    let pool = two_idle_async(&b, Validation::Always).await;
    let got = pool.get().await.map(|l| *l);
    failed_check_moves_on(got, &b);
    let stats = pool.statistics();
    assert_eq!((stats.destroyed.invalid, stats.create_failures), (1, 0));
}

#[test]
fn blocking_failed_check_moves_on_to_the_next_idle_resource_before_any_create() {
    let b = backend(Duration::ZERO, true);
    let pool = two_idle(&b, Validation::Always);
    let got = pool.get_blocking().map(|l| *l);
    failed_check_moves_on(got, &b);
    let stats = pool.statistics();
    assert_eq!((stats.destroyed.invalid, stats.create_failures), (1, 0));
}
