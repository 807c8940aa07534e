//! `warm_up` / `warm_up_blocking` and `close_blocking` wait on a wake-up, not a poll: they
//! return the moment the last create (or close) they wait for ends, and their task or
//! thread sleeps until then — a task is polled once per create that ends, a thread is
//! parked until one does (counted by its voluntary context switches, which a poll every
//! millisecond would multiply).
#![cfg(all(feature = "pool", feature = "testing"))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, Validation, Work};
use tenure::testing::TestManager;

fn config(min_idle: usize, max_concurrent_creates: usize) -> PoolConfig {
    PoolConfig {
        max_size: 8,
        min_idle,
        max_concurrent_creates,
        validation: Validation::Never,
        maintenance_interval: None,
        max_lifetime: None,
        idle_timeout: None,
        leak_threshold: None,
        ..PoolConfig::default()
    }
}

/// A future with the count of its polls.
struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

fn counted<F: Future>(f: F) -> (Counted<F>, Arc<AtomicUsize>) {
    let polls = Arc::new(AtomicUsize::new(0));
    let c = Counted {
        inner: Box::pin(f),
        polls: polls.clone(),
    };
    (c, polls)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn warm_up_returns_at_the_instant_its_last_create_ends_polled_once_per_create() {
    // Five creates of 50 ms, two at a time: rounds end at 50, 100 and 150 ms.
    let manager = TestManager::new_async();
    manager.create_delay(Duration::from_millis(50));
    let pool = Pool::new(manager.clone(), config(5, 2)).unwrap();
    let start = tokio::time::Instant::now();
    let (warm, polls) = counted(pool.warm_up());
    warm.await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(150));
    assert_eq!((manager.created(), pool.status().idle), (5, 5));
    // The first poll, then at most one per create that ended (wakes may coalesce).
    let polls = polls.load(SeqCst);
    assert!(polls <= 1 + 5, "polled {polls} times for 5 creates");
}

/// Async creates that take no time: each yields to the runtime once, then is done.
struct Quick(AtomicU32);

impl Manager for Quick {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = true;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let n = self.0.fetch_add(1, SeqCst);
        Work::future(async move {
            tokio::task::yield_now().await;
            Ok(n)
        })
    }
    fn close(&self, _: u32) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn warm_up_whose_creates_take_no_time_returns_with_no_time_passed() {
    let pool = Pool::new(Quick(AtomicU32::new(0)), config(3, 1)).unwrap();
    let start = tokio::time::Instant::now();
    pool.warm_up().await.unwrap();
    assert_eq!(pool.status().idle, 3);
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "no step of time between rounds"
    );
}

/// The calling thread's voluntary context switches so far: each time it slept (a park,
/// a `sleep`, a lock it waited for).
#[cfg(target_os = "linux")]
fn sleeps_so_far() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A gate that blocking work waits at until the test opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
    }

    /// Opens the gate from another thread after `delay`.
    fn open_after(&self, delay: Duration) -> std::thread::JoinHandle<()> {
        let gate = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            *gate.0 .0.lock().unwrap() = true;
            gate.0 .1.notify_all();
        })
    }
}

/// Blocking creates that wait at a gate.
struct Gated(Gate, AtomicU32);

impl Manager for Gated {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let (gate, n) = (self.0.clone(), self.1.fetch_add(1, SeqCst));
        Work::blocking(move || {
            gate.wait();
            Ok(n)
        })
    }
    fn close(&self, _: u32) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
}

#[cfg(target_os = "linux")]
#[test]
fn warm_up_blocking_sleeps_until_a_create_ends() {
    let gate = Gate::default();
    let pool = Pool::new(Gated(gate.clone(), AtomicU32::new(0)), config(2, 2)).unwrap();
    let opener = gate.open_after(Duration::from_millis(300));
    let before = sleeps_so_far();
    pool.warm_up_blocking().unwrap();
    let slept = sleeps_so_far() - before;
    opener.join().unwrap();
    assert_eq!(pool.status().idle, 2);
    // Parked once, woken by each of the two creates at most (plus a wait for the pool's
    // lock now and then): a poll would have slept once per period for 300 ms.
    assert!(slept <= 6, "slept {slept} times for 2 creates");
}

#[cfg(target_os = "linux")]
#[test]
fn close_blocking_sleeps_until_the_last_lease_comes_back() {
    let pool = Pool::new(TestManager::new(), config(0, 2)).unwrap();
    let lease = pool.get_blocking().unwrap();
    let returned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let holder = {
        let returned = returned.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            returned.store(true, SeqCst);
            drop(lease);
        })
    };
    let before = sleeps_so_far();
    assert!(pool.close_blocking(Duration::from_secs(600)));
    let slept = sleeps_so_far() - before;
    assert!(returned.load(SeqCst), "it waited for the lease");
    assert_eq!(pool.status().size, 0);
    holder.join().unwrap();
    // Parked until the lease's close ended (plus a wait for the pool's lock now and
    // then): a poll would have slept once per period for 300 ms.
    assert!(slept <= 4, "slept {slept} times for one lease");
}

#[test]
fn warm_up_blocking_held_back_by_a_backoff_is_woken_when_it_passes() {
    // A create failed just before: the backoff holds the next one back, and nothing is
    // under way to wake warm-up — the retry armed for the backoff does, once the pool's
    // clock (moved by hand here) says it passed.
    let manager = TestManager::new();
    let time = tenure::clock::ManualClock::new();
    let pool = Pool::builder(manager.clone())
        .config(config(2, 2))
        .clock(time.clone())
        .build()
        .unwrap();
    manager.fail_creates(true);
    assert!(pool.get_blocking().is_err());
    manager.fail_creates(false);
    let warm = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.warm_up_blocking())
    };
    std::thread::sleep(Duration::from_millis(150)); // the retry finds the clock behind
    assert_eq!(manager.created(), 0, "held back by the backoff");
    time.advance(Duration::from_secs(60));
    warm.join().unwrap().unwrap();
    assert_eq!((manager.created(), pool.status().idle), (2, 2));
}
