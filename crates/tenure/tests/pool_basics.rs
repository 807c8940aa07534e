//! The pool's first slice: leases return on drop; first come, first served; cancel-safe
//! waiting and creating; typed failures; blocking and async callers on one queue; the size
//! bound under a fault storm; everything closed at the end.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Lease, Manager, Pool, PoolConfig, PoolError, Validation, Work};
use tenure::testing::{Fault, InjectedFault, Ledger, Op, TestResource};
use tenure::Close;

/// Resources from a ledger; its faults decide creates, validations and closes. `ASYNC`
/// selects async work (creates wait `create_delay` on tokio's timer) or blocking work.
struct Test<const ASYNC: bool> {
    ledger: Ledger,
    create_delay: Duration,
    broken: Arc<AtomicUsize>,
}

impl<const A: bool> Test<A> {
    fn new(ledger: &Ledger) -> Self {
        Test {
            ledger: ledger.clone(),
            create_delay: Duration::ZERO,
            broken: Arc::default(),
        }
    }
}

impl<const A: bool> Manager for Test<A> {
    type Resource = TestResource;
    type Error = InjectedFault;
    const ASYNC: bool = A;
    fn create(&self) -> Work<Result<TestResource, InjectedFault>> {
        let ledger = self.ledger.clone();
        if A {
            let delay = self.create_delay;
            Work::future(async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                ledger.acquire("conn")
            })
        } else {
            Work::blocking(move || ledger.acquire("conn"))
        }
    }
    fn close(&self, r: TestResource) -> Work<Result<(), BoxError>> {
        Work::blocking(move || Close::close(r).map_err(Into::into))
    }
    fn validate(&self, r: TestResource) -> Work<(TestResource, Result<(), InjectedFault>)> {
        let verdict = r.faults().check(Op::Validate, "conn");
        Work::ready((r, verdict))
    }
    fn is_broken(&self, _: &mut TestResource) -> bool {
        self.broken.load(Ordering::SeqCst) > 0
    }
}

fn config(max_size: usize) -> PoolConfig {
    PoolConfig {
        max_size,
        validation: Validation::Never,
        acquire_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    }
}

#[tokio::test]
async fn a_lease_returns_on_drop_and_the_pool_closes_everything() {
    let ledger = Ledger::new();
    let pool = Pool::new(Test::<false>::new(&ledger), config(2)).unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    assert_eq!((a.id(), b.id()), (1, 2));
    assert_eq!(pool.status().in_use, 2);
    drop(a);
    assert_eq!(pool.status().idle, 1);
    let again = pool.get().await.unwrap();
    assert_eq!(again.id(), 1, "reused, not created");
    assert!(Lease::site(&again).file().ends_with("pool_basics.rs"));
    drop((again, b));
    pool.close().await;
    ledger.assert_all_closed();
    assert!(matches!(pool.get().await, Err(PoolError::Closed)));
    let s = pool.statistics();
    assert_eq!((s.created, s.destroyed.closed), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_first_come_first_served_and_newcomers_do_not_barge() {
    let ledger = Ledger::new();
    let pool = Pool::new(Test::<false>::new(&ledger), config(1)).unwrap();
    let holder = pool.get().await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (p, order) = (pool.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let lease = p.get().await.unwrap();
            order.lock().unwrap().push(i);
            tokio::task::yield_now().await;
            drop(lease);
        }));
        // Each is in line before the next starts.
        while pool.status().waiting < i + 1 {
            tokio::task::yield_now().await;
        }
    }
    drop(holder);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    // The four, and the holder, which waited for the first create.
    assert_eq!(pool.statistics().acquired_waited, 5);
    pool.close().await;
    ledger.assert_all_closed();
}

#[tokio::test]
async fn a_resource_handed_to_a_cancelled_waiter_goes_to_the_next() {
    let ledger = Ledger::new();
    let pool = Pool::new(Test::<false>::new(&ledger), config(1)).unwrap();
    let holder = pool.get().await.unwrap();
    let mut first = Box::pin(pool.get());
    let mut second = Box::pin(pool.get());
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert_eq!(pool.status().waiting, 2);
    drop(holder); // handed to `first`, which is never polled again...
    drop(first); // ...and cancelled: the resource goes on to `second`
    let lease = second.await.unwrap();
    assert_eq!(lease.id(), 1);
    assert_eq!(pool.status().waiting, 0);
    drop(lease);
    pool.close().await;
    ledger.assert_all_closed();
}

#[tokio::test]
async fn a_timeout_says_how_long_it_waited_the_status_and_the_last_create_error() {
    let ledger = Ledger::new();
    let pool = Pool::new(Test::<false>::new(&ledger), config(1)).unwrap();
    let _holder = pool.get().await.unwrap();
    let e = pool
        .get_timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(e, PoolError::Timeout { .. }));
    let text = e.to_string();
    assert!(text.starts_with("timed out after "), "{text}");
    assert!(
        text.ends_with("waiting for a resource (1 of 1 in use, 0 idle, 1 waiting)"),
        "{text}"
    );
    assert!(std::error::Error::source(&e).is_none(), "no create failed");
    assert_eq!(
        pool.status().waiting,
        0,
        "the timed-out caller left the line"
    );
    assert_eq!(pool.statistics().timeouts, 1);
}

#[tokio::test]
async fn a_failed_create_fails_its_caller_with_the_cause_and_the_backend_down_fails_fast() {
    let ledger = Ledger::new();
    ledger.faults().inject(Op::Acquire, "conn", 1, Fault::Error);
    let cfg = PoolConfig {
        create_backoff: Duration::from_secs(60),
        ..config(2)
    };
    let pool = Pool::new(Test::<false>::new(&ledger), cfg).unwrap();
    let e = pool.get().await.unwrap_err();
    let PoolError::Create(cause) = &e else {
        panic!("expected a create error, got {e:?}")
    };
    assert_eq!(cause.to_string(), "injected fault: acquire #1 of `conn`");
    assert_eq!(
        std::error::Error::source(&e).unwrap().to_string(),
        "injected fault: acquire #1 of `conn`"
    );
    // Within the backoff, with nothing lent out that could come back: at once, with the cause.
    let e = pool.get().await.unwrap_err();
    assert!(matches!(e, PoolError::Unavailable { .. }), "{e:?}");
    assert_eq!(
        ledger.faults().count(Op::Acquire, "conn"),
        1,
        "no create storm"
    );
    assert_eq!(pool.statistics().create_failures, 1);
}

#[tokio::test]
async fn too_many_waiters_are_refused_at_once() {
    let ledger = Ledger::new();
    let cfg = PoolConfig {
        max_waiters: 1,
        ..config(1)
    };
    let pool = Pool::new(Test::<false>::new(&ledger), cfg).unwrap();
    let _holder = pool.get().await.unwrap();
    let mut waiting = Box::pin(pool.get());
    let waker = futures::task::noop_waker();
    assert!(waiting
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&waker))
        .is_pending());
    let e = pool.get().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "too many callers waiting for a resource (the limit is 1)"
    );
    assert!(matches!(
        pool.get_timeout(Duration::from_secs(1)).await,
        Err(PoolError::Saturated { max_waiters: 1 })
    ));
    let stats = pool.statistics();
    assert_eq!(stats.refused, 2, "each refusal counted");
    assert_eq!(
        stats.acquired_direct + stats.acquired_waited,
        1,
        "{stats:?}"
    );
}

#[test]
fn blocking_and_async_callers_share_one_line() {
    let ledger = Ledger::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let pool = Pool::builder(Test::<true>::new(&ledger))
        .config(config(1))
        .runtime(rt.handle().clone())
        .build()
        .unwrap();
    let held = pool.get_blocking().unwrap(); // an async create, waited for by this thread
    let p = pool.clone();
    let waiter = rt.spawn(async move { p.get().await.map(|l| l.id()) });
    while pool.status().waiting == 0 {
        std::thread::yield_now();
    }
    let p = pool.clone();
    let blocking = std::thread::spawn(move || p.get_blocking().map(|l| l.id()));
    while pool.status().waiting < 2 {
        std::thread::yield_now();
    }
    drop(held);
    assert_eq!(
        rt.block_on(waiter).unwrap().unwrap(),
        1,
        "the async caller was first"
    );
    assert_eq!(blocking.join().unwrap().unwrap(), 1, "then the thread");
    assert!(pool.close_blocking(Duration::from_secs(10)));
    ledger.assert_all_closed();
}

#[test]
fn get_blocking_on_a_current_thread_runtime_is_a_typed_error_not_a_deadlock() {
    let ledger = Ledger::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async { Pool::new(Test::<false>::new(&ledger), config(1)).unwrap() });
    let r = rt.block_on(async { pool.get_blocking().map(drop) });
    assert!(matches!(r, Err(PoolError::WouldBlockRuntime)), "{r:?}");
    // In a task on that thread: the same.
    let p = pool.clone();
    let r = rt.block_on(async { tokio::spawn(async move { p.get_blocking().map(drop) }).await });
    assert!(matches!(r, Ok(Err(PoolError::WouldBlockRuntime))), "{r:?}");
    // On one of its spawn_blocking threads it blocks, and works.
    let p = pool.clone();
    let served = rt.block_on(async {
        tokio::task::spawn_blocking(move || p.get_blocking().map(drop))
            .await
            .unwrap()
    });
    assert!(served.is_ok(), "{served:?}");
    // On a multi-thread runtime's worker it works (block_in_place).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async { tokio::spawn(async move { pool.get_blocking().map(drop) }).await })
        .unwrap()
        .unwrap();
}

#[test]
fn an_async_pool_without_a_runtime_is_refused_at_build_time() {
    let ledger = Ledger::new();
    let e = Pool::new(Test::<true>::new(&ledger), config(1)).unwrap_err();
    assert_eq!(e, tenure::pool::BuildError::NoRuntime);
}

#[tokio::test(start_paused = true)]
async fn a_create_under_way_when_its_caller_is_cancelled_finishes_into_the_pool() {
    let ledger = Ledger::new();
    let mut m = Test::<true>::new(&ledger);
    m.create_delay = Duration::from_secs(5);
    let pool = Pool::new(m, config(1)).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(1), pool.get()).await;
    assert!(r.is_err(), "cancelled while the create ran");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let s = pool.status();
    assert_eq!(
        (s.size, s.idle),
        (1, 1),
        "the create finished into the idle set"
    );
    let lease = pool.get().await.unwrap();
    assert_eq!(lease.id(), 1, "and serves the next caller at once");
    assert_eq!(pool.statistics().created, 1, "no second create");
}

#[tokio::test]
async fn broken_and_panicked_resources_are_retired_and_closed() {
    let ledger = Ledger::new();
    let m = Test::<false>::new(&ledger);
    let broken = m.broken.clone();
    let pool = Pool::new(m, config(2)).unwrap();
    let lease = pool.get().await.unwrap();
    broken.store(1, Ordering::SeqCst);
    drop(lease);
    broken.store(0, Ordering::SeqCst);
    let p = pool.clone();
    let r = std::thread::spawn(move || {
        let _lease = p.get_blocking().unwrap();
        panic!("[expected] holder panics");
    })
    .join();
    assert!(r.is_err());
    while pool.status().size > 0 {
        tokio::task::yield_now().await;
    }
    let d = pool.statistics().destroyed;
    assert_eq!((d.broken, d.panicked), (1, 1));
    ledger.assert_all_closed();
}

#[tokio::test]
async fn a_resource_that_fails_validation_is_replaced() {
    let ledger = Ledger::new();
    ledger.faults().fail_nth(Op::Validate, "conn", 1);
    let cfg = PoolConfig {
        validation: Validation::Always,
        ..config(1)
    };
    let pool = Pool::new(Test::<false>::new(&ledger), cfg).unwrap();
    drop(pool.get().await.unwrap()); // created: id 1
    let lease = pool.get().await.unwrap(); // 1 fails validation, is closed; 2 is created
    assert_eq!(lease.id(), 2);
    assert_eq!(pool.statistics().destroyed.invalid, 1);
    drop(lease);
    pool.close().await;
    ledger.assert_all_closed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_faults_and_cancellations_never_exceeds_the_size_and_leaks_nothing() {
    let ledger = Ledger::new();
    let faults = ledger.faults().clone();
    faults.inject_random(Op::Acquire, "conn", 0.2, Fault::Error);
    faults.inject_random(Op::Close, "conn", 0.1, Fault::Error);
    let m = Test::<false>::new(&ledger);
    let cfg = PoolConfig {
        create_backoff: Duration::from_millis(1),
        max_create_backoff: Duration::from_millis(2),
        acquire_timeout: Duration::from_millis(200),
        ..config(4)
    };
    let pool = Pool::new(m, cfg).unwrap();
    let max_seen = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for t in 0..16u64 {
        let (pool, ledger, max_seen) = (pool.clone(), ledger.clone(), max_seen.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = [0u32; 3];
            for i in 0..50u64 {
                let cancel = (t * 31 + i * 7) % 10 == 0;
                let got = if cancel {
                    tokio::time::timeout(Duration::from_micros(50), pool.get())
                        .await
                        .ok()
                } else {
                    Some(pool.get().await)
                };
                max_seen.fetch_max(ledger.live_count(), Ordering::SeqCst);
                match got {
                    Some(Ok(lease)) => {
                        outcomes[0] += 1;
                        if i % 3 == 0 {
                            tokio::task::yield_now().await;
                        }
                        drop(lease);
                    }
                    Some(Err(_)) => outcomes[1] += 1,
                    None => outcomes[2] += 1,
                }
            }
            outcomes
        }));
    }
    let mut total = [0u32; 3];
    for task in tasks {
        let o = task.await.unwrap();
        for k in 0..3 {
            total[k] += o[k];
        }
    }
    assert_eq!(
        total.iter().sum::<u32>(),
        16 * 50,
        "every acquire ended one way or another"
    );
    assert!(total[0] > 0, "{total:?}");
    assert!(max_seen.load(Ordering::SeqCst) <= 4, "the size bound held");
    // After the storm the pool still serves.
    let faults_off = Ledger::new();
    drop(faults_off);
    let lease = loop {
        match pool.get().await {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(3)).await,
        }
    };
    drop(lease);
    pool.close().await;
    ledger.assert_all_closed();
    assert_eq!(pool.status().size, 0);
}

#[test]
fn get_blocking_works_on_a_spawn_blocking_thread_and_a_worker_of_a_multi_thread_runtime() {
    let ledger = Ledger::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = Pool::builder(Test::<true>::new(&ledger))
        .config(config(1))
        .runtime(rt.handle().clone())
        .build()
        .unwrap();
    let p = pool.clone();
    let id = rt
        .block_on(rt.spawn_blocking(move || p.get_blocking().map(|l| l.id())))
        .unwrap()
        .unwrap();
    assert_eq!(id, 1);
    let p = pool.clone();
    let id = rt
        .block_on(rt.spawn(async move { p.get_blocking().map(|l| l.id()) }))
        .unwrap()
        .unwrap();
    assert_eq!(id, 1, "the same resource, reused");
    assert!(pool.close_blocking(Duration::from_secs(10)));
    ledger.assert_all_closed();
}
