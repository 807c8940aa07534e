//! Loom models of the pool's state machine (`src/pool/`): acquire, release, handoff,
//! cancel and close, with the real `Pool`, `Acquire`, `Lease` and waiter queue compiled
//! against loom's `Arc`, `Mutex`, atomics and thread parking (`src/sync.rs`).
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p tenure --no-default-features --features pool --test loom_pool --release
//! ```
//!
//! **Covered** (every interleaving with up to 3 preemptions; `LOOM_MAX_PREEMPTIONS` sets another bound),
//! with the pool's two shards under loom (a model's main thread and its second thread use
//! shard 0, its first thread shard 1, so most releases below race a waiter on the other
//! shard): a resource cached in one shard serving an acquire on the other; a release
//! handed to an async waiter (`loom::future::block_on`: a lost wake-up is a deadlock loom
//! reports) and to a blocked thread (parked: the same); a waiter cancelled while the
//! resource is being handed to it (the resource is not lost: it is idle afterwards and a
//! fresh acquire gets it at once), and one handed to a cancelled waiter going on to the next
//! waiter; `close` racing a release and a waiter (every resource
//! closed exactly once, the waiter served or told `Closed`, `close` resolving); two
//! waiters and two releases (both served, nothing left over); two callers under
//! `Validation::Always` whose first check fails while the other caller's is under way
//! (the one checked is served, the failed check moves on to the next idle resource and no
//! create starts: no caller waits while a resource sits idle); a blocking check's
//! completion racing its bound (`check_timeout`; under loom the bound may pass at any
//! moment): the caller is served either way — the checked resource, or a new one in the
//! freed slot while the late one is closed — and the abandoned count says which; two
//! blocking checks one after another, the second racing its worker's keep-alive (under
//! loom it passes at once): handed to that worker, or to a new one once it has gone, each
//! check runs once; `try_get` racing a return (whose thread then tries one of its own)
//! and a `retain` (nothing lost, nothing lent twice, `retain`'s counts are what it
//! closed); `warm_up_blocking` parked until its create ends on a worker thread (or its
//! bound passes first: `CreateTimedOut`, the late resource closed) and `close_blocking`
//! parked until the last lease comes back on another thread (a lost wake-up of either is
//! a deadlock loom reports).
//!
//! **Not covered**: timeouts (loom has no time: `Acquire` waits untimed under loom and a
//! timed park is an untimed one), the work the pool runs on a runtime (the models'
//! managers are synchronous — `Work::ready` — but for the raced checks' and create's
//! blocking work), the background driver and the relay
//! tasks (tokio's; off under loom), and the statistics' contents.
#![cfg(all(loom, feature = "pool"))]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use loom::future::block_on;
use loom::thread;
use tenure::clock::ManualClock;
use tenure::error::BoxError;
use tenure::pool::{Lease, Manager, Pool, PoolConfig, PoolError, Status, Validation, Work};

/// Creates 1, 2, 3, … and records what it closes; its check (run only where a model asks
/// for `Validation::Always`) passes, on a blocking thread.
#[derive(Default)]
struct Counting {
    next: AtomicU32,
    closed: Mutex<Vec<u32>>,
}

impl Manager for &'static Counting {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        Work::ready(Ok(self.next.fetch_add(1, Ordering::SeqCst) + 1))
    }
    fn validate(&self, r: u32) -> tenure::pool::Checked<Self> {
        Work::blocking(move || (r, Ok(())))
    }
    fn close(&self, r: u32) -> Work<Result<(), BoxError>> {
        self.closed.lock().unwrap().push(r);
        Work::ready(Ok(()))
    }
}

/// Every interleaving with at most `LOOM_MAX_PREEMPTIONS` (default 3) preemptions: the
/// pool's paths take several locks each, and unbounded exploration of three threads does
/// not finish in CI's budget.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// Every model's pool: `max_size` resources of `manager`, checked per `validation`, on a
/// manual clock, with no lifetime, idle or leak bound and no driver (loom has no time).
fn pool_of<M: Manager>(manager: M, max_size: usize, validation: Validation) -> Pool<M> {
    Pool::builder(manager)
        .config(PoolConfig {
            max_size,
            validation,
            max_lifetime: None,
            idle_timeout: None,
            leak_threshold: None,
            maintenance_interval: None,
            ..PoolConfig::default()
        })
        .clock(ManualClock::new())
        .build()
        .unwrap()
}

/// A pool of `max_size` unchecked `Counting` resources, and its manager.
fn pool(max_size: usize) -> (Pool<&'static Counting>, &'static Counting) {
    let counts: &'static Counting = Box::leak(Box::default());
    (pool_of(counts, max_size, Validation::Never), counts)
}

/// Runs `f` with a clone of `pool` on a new model thread.
fn with_clone<P, T>(pool: &P, f: impl FnOnce(P) -> T + Send + 'static) -> thread::JoinHandle<T>
where
    P: Clone + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    thread::spawn(move || f(pool))
}

fn idle(size: usize, max_size: usize) -> Status {
    Status {
        size,
        idle: size,
        in_use: 0,
        waiting: 0,
        max_size,
        ..Status::default()
    }
}

#[test]
fn a_release_is_handed_to_an_async_waiter() {
    model(|| {
        let (pool, _) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let waiter = with_clone(&pool, move |pool| *block_on(pool.get()).unwrap());
        thread::spawn(move || drop(lease)).join().unwrap();
        assert_eq!(waiter.join().unwrap(), 1);
        assert_eq!(pool.status(), idle(1, 1));
    });
}

/// Under loom a pool has two shards; the model's main thread uses shard 0, its first
/// thread shard 1 (`src/pool/shared.rs`, `thread_index`). A resource taken back into
/// shard 0's cache serves an acquire on shard 1 — found there, or handed over when the
/// main thread, which took it again, lets it go — and nothing else is created.
#[test]
fn a_resource_cached_in_one_shard_serves_another() {
    model(|| {
        let (pool, counts) = pool(1);
        drop(pool.get_blocking().unwrap()); // into shard 0's cache
        let other = with_clone(&pool, move |pool| *pool.get_blocking().unwrap());
        let mine = pool.get_blocking().unwrap();
        assert_eq!(*mine, 1);
        drop(mine);
        assert_eq!(other.join().unwrap(), 1);
        assert_eq!(counts.next.load(Ordering::SeqCst), 1, "one create");
        assert_eq!(pool.status(), idle(1, 1));
    });
}

#[test]
fn a_release_is_handed_to_a_blocked_thread() {
    model(|| {
        let (pool, _) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let waiter = with_clone(&pool, move |pool| *pool.get_blocking().unwrap());
        drop(lease);
        assert_eq!(waiter.join().unwrap(), 1);
        assert_eq!(pool.status(), idle(1, 1));
    });
}

#[test]
fn a_waiter_cancelled_while_served_loses_nothing() {
    model(|| {
        let (pool, counts) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let canceller = with_clone(&pool, move |pool| {
            let mut acquire = Box::pin(pool.get());
            let waker = futures::task::noop_waker();
            // Joins the line (or, if the release came first, is served at once);
            // then gives up.
            let polled = acquire.as_mut().poll(&mut Context::from_waker(&waker));
            drop(polled);
            drop(acquire);
        });
        let releaser = thread::spawn(move || drop(lease));
        canceller.join().unwrap();
        releaser.join().unwrap();
        assert_eq!(pool.status(), idle(1, 1), "the resource is back, idle");
        let again = pool.get_blocking().unwrap();
        assert_eq!(*again, 1, "and lent again, not a new one");
        drop(again);
        assert!(counts.closed.lock().unwrap().is_empty());
    });
}

#[test]
fn a_resource_handed_to_a_cancelled_waiter_goes_to_the_next() {
    model(|| {
        let (pool, _) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let canceller = with_clone(&pool, move |pool| {
            let mut acquire = Box::pin(pool.get());
            let waker = futures::task::noop_waker();
            let polled = acquire.as_mut().poll(&mut Context::from_waker(&waker));
            drop(polled); // served at once: that lease goes back here
            drop(acquire); // queued: leaves (a resource handed to it goes on)
        });
        let next = with_clone(&pool, move |pool| *block_on(pool.get()).unwrap());
        drop(lease);
        canceller.join().unwrap();
        assert_eq!(next.join().unwrap(), 1, "the next waiter was served");
        assert_eq!(pool.status(), idle(1, 1));
    });
}

#[test]
fn close_racing_a_release_and_a_waiter_closes_each_resource_once() {
    model(|| {
        let (pool, counts) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let waiter = with_clone(&pool, move |pool| match block_on(pool.get()) {
            Ok(lease) => {
                drop(lease);
                true
            }
            Err(PoolError::Closed) => false,
            Err(e) => panic!("{e}"),
        });
        let closer = with_clone(&pool, move |pool| block_on(pool.close()));
        drop(lease);
        let _served = waiter.join().unwrap();
        closer.join().unwrap();
        assert_eq!(*counts.closed.lock().unwrap(), [1], "closed exactly once");
        assert_eq!(pool.status().size, 0);
        assert!(matches!(
            block_on(pool.get()).map(|_| ()),
            Err(PoolError::Closed)
        ));
    });
}

#[test]
fn two_waiters_and_two_releases_are_all_served() {
    model(|| {
        let (pool, _) = pool(2);
        let a = pool.get_blocking().unwrap();
        let b = pool.get_blocking().unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|i| {
                with_clone(&pool, move |pool| {
                    let lease = if i == 0 {
                        block_on(pool.get()).unwrap()
                    } else {
                        pool.get_blocking().unwrap()
                    };
                    *lease
                })
            })
            .collect();
        let releaser = thread::spawn(move || drop(a));
        drop(b);
        releaser.join().unwrap();
        for w in waiters {
            let got = w.join().unwrap();
            assert!(got == 1 || got == 2, "{got}"); // the same one twice is fine
        }
        assert_eq!(pool.status(), idle(2, 2));
    });
}

/// The waker a manual poll registers is replaced on each poll: a waiter polled again by a
/// new task is woken there (no stale waker).
#[test]
fn a_waiter_polled_again_is_woken_through_its_latest_waker() {
    model(|| {
        let (pool, _) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let waiter = with_clone(&pool, move |pool| {
            let mut acquire = Box::pin(pool.get());
            let noop = futures::task::noop_waker();
            if let Poll::Ready(r) = acquire.as_mut().poll(&mut Context::from_waker(&noop)) {
                return *r.unwrap();
            }
            *block_on(acquire).unwrap()
        });
        drop(lease);
        assert_eq!(waiter.join().unwrap(), 1);
    });
}

/// Creates up to `limit` resources (more fail), checks fail for the first check only.
#[derive(Default)]
struct Checking {
    next: AtomicU32,
    limit: u32,
    checks: AtomicU32,
    closed: Mutex<Vec<u32>>,
}

impl Manager for &'static Checking {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        Work::ready(match n <= self.limit {
            true => Ok(n),
            false => Err(std::io::Error::other("no more")),
        })
    }
    fn validate(&self, r: u32) -> tenure::pool::Checked<Self> {
        let first = self.checks.fetch_add(1, Ordering::SeqCst) == 0;
        let verdict = match first {
            true => Err(std::io::Error::other("check failed")),
            false => Ok(()),
        };
        Work::ready((r, verdict))
    }
    fn close(&self, r: u32) -> Work<Result<(), BoxError>> {
        self.closed.lock().unwrap().push(r);
        Work::ready(Ok(()))
    }
}

/// Three idle resources, every checkout checked, the first check fails, the backend
/// allows no more creates. Two callers at once: while one's check is under way (it is
/// being served), the other takes another idle resource; the failed check moves on to
/// the next idle one. Both are served, nothing is created, the failed one is closed.
#[test]
fn a_failed_check_moves_on_to_the_next_idle_resource_while_another_is_checked() {
    model(|| {
        let counts: &'static Checking = Box::leak(Box::new(Checking {
            limit: 3,
            ..Checking::default()
        }));
        let pool = pool_of(counts, 3, Validation::Always);
        let three = [(); 3].map(|_| pool.get_blocking().unwrap());
        drop(three);
        let other = with_clone(&pool, move |pool| pool.get_blocking().unwrap());
        let mine = pool.get_blocking().unwrap();
        let other = other.join().unwrap();
        let (mine, other) = (Lease::detach(mine), Lease::detach(other));
        assert_ne!(mine, other, "both held at once");
        assert_eq!(counts.next.load(Ordering::SeqCst), 3, "no create");
        let closed = counts.closed.lock().unwrap().clone();
        assert_eq!(closed.len(), 1);
        assert!(![mine, other].contains(&closed[0]));
        assert_eq!(pool.status().size, 0, "the failed one closed, two detached");
    });
}

/// A blocking check's completion races its bound. Check first: #1 is lent, nothing is
/// abandoned. Bound first: the slot is freed, #2 created and lent, the late #1 closed
/// when its thread hands it back, one abandoned. Never both, never neither.
#[test]
fn a_blocking_check_racing_its_bound_serves_the_caller_either_way() {
    model(|| {
        let counts: &'static Counting = Box::leak(Box::default());
        let pool = pool_of(counts, 1, Validation::Always);
        drop(pool.get_blocking().unwrap()); // #1, created: no check
        let lease = pool.get_blocking().unwrap();
        let got = *lease;
        // The loser of the race ends on its own thread: wait for it to settle.
        while got == 2 && counts.closed.lock().unwrap().is_empty() {
            thread::yield_now();
        }
        let abandoned = pool.statistics().abandoned;
        let closed = counts.closed.lock().unwrap().clone();
        match got {
            1 => assert_eq!((abandoned, closed), (0, vec![])),
            2 => assert_eq!((abandoned, closed), (1, vec![1])),
            n => panic!("lent #{n}"),
        }
        assert_eq!(pool.status().size, 1);
    });
}

/// Blocking checks one after another, each racing its bound, the second handed to the
/// first's worker while that worker goes idle and its keep-alive passes (under loom: at
/// once) — or to a new worker if the first has gone. Every check runs exactly once, the
/// caller is served either way, and every resource a late check hands back is closed.
#[test]
fn a_blocking_job_racing_its_workers_keep_alive_runs_once() {
    model(|| {
        let counts: &'static Counting = Box::leak(Box::default());
        let pool = pool_of(counts, 1, Validation::Always);
        drop(pool.get_blocking().unwrap()); // #1, created: no check
        drop(pool.get_blocking().unwrap()); // a first check, on a new worker
        let lease = pool.get_blocking().unwrap(); // a second, on that worker or another
        let got = *lease;
        let abandoned = pool.statistics().abandoned;
        // A check's late resource is closed on its worker: wait for it to settle.
        while (counts.closed.lock().unwrap().len() as u64) < abandoned {
            thread::yield_now();
        }
        assert_eq!(
            u64::from(got),
            1 + abandoned,
            "a create per abandoned check"
        );
        assert_eq!(counts.closed.lock().unwrap().len() as u64, abandoned);
        assert_eq!(pool.status().size, 1);
    });
}

/// `try_get` racing a return and a `retain` (which retires #2 if it finds it idle). Two
/// resources, #1 lent and given back by one thread (which then tries a `try_get` of its
/// own), #2 idle; `retain` on another. Nothing is lost (every resource idle, lent or
/// closed), nothing is lent twice (the two `try_get`s hold different ones), `retain`'s
/// counts are what it closed and never more than there were, and what `try_get` holds was
/// not closed under it.
#[test]
fn a_try_get_racing_a_return_and_a_retain_loses_nothing() {
    model(|| {
        let (pool, counts) = pool(2);
        let one = pool.get_blocking().unwrap();
        drop(pool.get_blocking().unwrap()); // #2, idle
        assert_eq!(*one, 1);
        let returner = with_clone(&pool, move |pool| {
            drop(one);
            pool.try_get().ok()
        });
        let retainer = with_clone(&pool, |pool| pool.retain(|r, _| *r != 2));
        let mine = match pool.try_get() {
            Ok(lease) => Some(lease),
            Err(PoolError::WouldWait { .. }) => None,
            Err(e) => panic!("{e}"),
        };
        let theirs = returner.join().unwrap();
        let retained = retainer.join().unwrap();
        let closed = counts.closed.lock().unwrap().clone();
        let held: Vec<u32> = mine.iter().chain(theirs.iter()).map(|l| **l).collect();
        if let [a, b] = held[..] {
            assert_ne!(a, b, "lent twice");
        }
        assert_eq!(
            retained.retired,
            closed.len(),
            "retain's count is what it closed"
        );
        assert!(retained.kept + retained.retired <= 2);
        assert!(
            closed.iter().all(|r| *r == 2),
            "only #2 retired: {closed:?}"
        );
        assert!(
            held.iter().all(|r| !closed.contains(r)),
            "closed while lent"
        );
        let status = pool.status();
        assert_eq!(status.in_use, held.len());
        assert_eq!(status.size, 2 - closed.len(), "nothing lost");
        assert_eq!(status.idle + status.in_use, status.size);
        drop((mine, theirs));
        assert_eq!(pool.status(), idle(2 - closed.len(), 2));
    });
}

/// A blocking create (on a worker thread, racing its bound: under loom it may pass at
/// any moment).
#[derive(Default)]
struct SlowCreate {
    next: AtomicU32,
    closed: Mutex<Vec<u32>>,
}

impl Manager for &'static SlowCreate {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        Work::blocking(move || Ok(n))
    }
    fn close(&self, r: u32) -> Work<Result<(), BoxError>> {
        self.closed.lock().unwrap().push(r);
        Work::ready(Ok(()))
    }
}

/// `warm_up_blocking` parks until its create ends on a worker thread (a lost wake-up is
/// a deadlock loom reports): `min_idle` filled, or the create's bound passed first — then
/// the first error is `CreateTimedOut`, and the late resource is closed.
#[test]
fn warm_up_blocking_is_woken_by_a_create_on_another_thread() {
    model(|| {
        let counts: &'static SlowCreate = Box::leak(Box::default());
        let pool = Pool::builder(counts)
            .config(PoolConfig {
                max_size: 1,
                min_idle: 1,
                max_lifetime: None,
                idle_timeout: None,
                leak_threshold: None,
                maintenance_interval: None,
                ..PoolConfig::default()
            })
            .clock(ManualClock::new())
            .build()
            .unwrap();
        match pool.warm_up_blocking() {
            Ok(()) => assert_eq!(pool.status(), idle(1, 1)),
            Err(PoolError::CreateTimedOut(_)) => {
                while counts.closed.lock().unwrap().is_empty() {
                    thread::yield_now(); // the late one, closed on its worker
                }
                assert_eq!(*counts.closed.lock().unwrap(), [1]);
                assert_eq!(pool.status().size, 0);
            }
            Err(e) => panic!("{e}"),
        }
    });
}

/// `close_blocking` parks until the last lease, returned on another thread, is closed
/// (a lost wake-up is a deadlock loom reports; its timed park is untimed under loom).
#[test]
fn close_blocking_is_woken_by_a_return_on_another_thread() {
    model(|| {
        let (pool, counts) = pool(1);
        let lease = pool.get_blocking().unwrap();
        let returner = thread::spawn(move || drop(lease));
        assert!(pool.close_blocking(std::time::Duration::from_secs(3600)));
        returner.join().unwrap();
        assert_eq!(*counts.closed.lock().unwrap(), [1]);
        assert_eq!(pool.status().size, 0);
    });
}
