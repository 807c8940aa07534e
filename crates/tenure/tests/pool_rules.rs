//! Every timeout, lifetime and validation rule of the pool, on a manual clock (the pool's
//! own rules) or tokio's paused time (the waits bounded by tokio timers); leak detection;
//! the background driver; the last handle closing the pool.
#![cfg(feature = "pool")]

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::error::BoxError;
use tenure::pool::{
    BuildError, Checked, Lease, Manager, Pool, PoolConfig, PoolError, Validation, Work,
};
use tenure::sink::{CollectingSink, DropReport};

/// Numbered resources; what happened to them is recorded for the asserts.
#[derive(Default)]
struct Counting<const ASYNC: bool = false> {
    next: AtomicU32,
    closed: Mutex<Vec<u32>>,
    validated: AtomicUsize,
    fail_creates: AtomicBool,
    invalid: AtomicBool,
    /// Async managers only: every returned resource needs a reset that hangs.
    hang_resets: AtomicBool,
    /// Async managers only: creates take this long (tokio time).
    create_delay_ms: AtomicU32,
    /// Async managers only: closes take this long (tokio time).
    close_delay_ms: AtomicU32,
    fail_closes: AtomicBool,
}

impl<const A: bool> Counting<A> {
    fn closed(&self) -> Vec<u32> {
        self.closed.lock().unwrap().clone()
    }
}

/// `value`, after `delay_ms` of tokio time for an async manager (ready at once otherwise,
/// or when no delay is set).
fn after_delay<const ASYNC: bool, T: Send + 'static>(delay_ms: &AtomicU32, value: T) -> Work<T> {
    let delay = delay_ms.load(Ordering::SeqCst);
    if ASYNC && delay > 0 {
        Work::future(async move {
            tokio::time::sleep(Duration::from_millis(u64::from(delay))).await;
            value
        })
    } else {
        Work::ready(value)
    }
}

/// The manager: a handle on the counts, which the test keeps too.
struct Mgr<const A: bool>(Arc<Counting<A>>);

impl<const A: bool> std::ops::Deref for Mgr<A> {
    type Target = Counting<A>;
    fn deref(&self) -> &Counting<A> {
        &self.0
    }
}

impl<const A: bool> Manager for Mgr<A> {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = A;

    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let result = if self.fail_creates.load(Ordering::SeqCst) {
            Err(std::io::Error::other("connection refused"))
        } else {
            Ok(self.next.fetch_add(1, Ordering::SeqCst) + 1)
        };
        after_delay::<A, _>(&self.create_delay_ms, result)
    }

    fn close(&self, r: u32) -> Work<Result<(), BoxError>> {
        self.closed.lock().unwrap().push(r);
        if self.fail_closes.load(Ordering::SeqCst) {
            return Work::ready(Err("socket already reset".into()));
        }
        after_delay::<A, _>(&self.close_delay_ms, Ok(()))
    }

    fn validate(&self, r: u32) -> Checked<Self> {
        self.validated.fetch_add(1, Ordering::SeqCst);
        let verdict = if self.invalid.load(Ordering::SeqCst) {
            Err(std::io::Error::other("ping failed"))
        } else {
            Ok(())
        };
        Work::ready((r, verdict))
    }

    fn needs_reset(&self, _: &u32) -> bool {
        A && self.hang_resets.load(Ordering::SeqCst)
    }

    fn reset(&self, r: u32) -> Checked<Self> {
        Work::future(async move {
            std::future::pending::<()>().await;
            (r, Ok(()))
        })
    }
}

/// A deterministic pool: a manual clock, no background driver, no validation unless asked.
fn pool_with(config: PoolConfig) -> (Pool<Mgr<false>>, Arc<Counting>, ManualClock) {
    let manager = Arc::new(Counting::default());
    let time = ManualClock::new();
    let clock = time.clone();
    let pool = Pool::builder(Mgr(manager.clone()))
        .config(PoolConfig {
            maintenance_interval: None,
            ..config
        })
        .clock(clock)
        .build()
        .unwrap();
    (pool, manager, time)
}

fn base() -> PoolConfig {
    PoolConfig {
        max_size: 2,
        validation: Validation::Never,
        max_lifetime: None,
        idle_timeout: None,
        leak_threshold: None,
        ..PoolConfig::default()
    }
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn an_expired_resource_is_retired_at_checkout_at_return_and_by_maintenance() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_lifetime: Some(10 * MIN),
        ..base()
    });
    // At checkout: an idle resource past its lifetime is closed, a new one lent.
    drop(pool.get_blocking().unwrap()); // #1
    time.advance(10 * MIN);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 2);
    assert_eq!(m.closed(), [1]);
    // At return: a lease whose resource expired while out is closed, not made idle.
    time.advance(10 * MIN);
    drop(lease);
    assert_eq!(m.closed(), [1, 2]);
    assert_eq!(pool.status().idle, 0);
    // By maintenance: an idle one past its lifetime.
    drop(pool.get_blocking().unwrap()); // #3
    pool.maintain(std::time::Instant::now());
    assert_eq!(pool.status().idle, 1, "not expired yet");
    time.advance(10 * MIN);
    pool.maintain(std::time::Instant::now());
    assert_eq!(m.closed(), [1, 2, 3]);
    assert_eq!(pool.statistics().destroyed.expired, 3);
    assert_eq!(pool.status().size, 0);
}

#[test]
fn lifetimes_are_jittered_by_at_most_two_and_a_half_percent() {
    let life = Duration::from_secs(1000);
    let (pool, m, time) = pool_with(PoolConfig {
        max_size: 40,
        max_lifetime: Some(life),
        ..base()
    });
    let leases: Vec<_> = (0..40).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    // Nothing expires before 97.5 % of the lifetime...
    time.advance(life * 975 / 1000 - Duration::from_millis(1));
    pool.maintain(std::time::Instant::now());
    assert!(m.closed().is_empty(), "expired early: {:?}", m.closed());
    // ...some (not all) expire within the jitter window, all of them at 100 %.
    time.advance(life * 15 / 1000);
    pool.maintain(std::time::Instant::now());
    let some = m.closed().len();
    assert!(
        some > 0 && some < 40,
        "{some} of 40 expired in the middle of the window"
    );
    time.advance(life);
    pool.maintain(std::time::Instant::now());
    assert_eq!(m.closed().len(), 40);
}

#[test]
fn an_idle_timeout_retires_idle_resources_but_keeps_min_idle() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_size: 3,
        min_idle: 1,
        idle_timeout: Some(MIN),
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    assert_eq!(pool.status().idle, 3);
    time.advance(MIN - Duration::from_millis(1));
    pool.maintain(std::time::Instant::now());
    assert_eq!(pool.status().idle, 3, "not idle long enough yet");
    time.advance(Duration::from_millis(1));
    pool.maintain(std::time::Instant::now());
    assert_eq!(pool.status().idle, 1, "min_idle is kept");
    assert_eq!(m.closed().len(), 2);
    assert_eq!(pool.statistics().destroyed.idle, 2);
    // At checkout, a resource idle too long is not lent (min_idle has no say there), and
    // min_idle is made up again by the next maintenance.
    time.advance(MIN);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 4, "the stale one was retired, a new one created");
    assert_eq!(m.closed().len(), 3);
    pool.maintain(std::time::Instant::now());
    assert_eq!(pool.status().idle, 1, "min_idle made up");
}

#[test]
fn maintenance_creates_up_to_min_idle_within_the_size() {
    let (pool, m, _time) = pool_with(PoolConfig {
        max_size: 3,
        min_idle: 2,
        ..base()
    });
    assert_eq!(pool.status().size, 0, "nothing before the first round");
    pool.maintain(std::time::Instant::now());
    assert_eq!((pool.status().idle, m.next.load(Ordering::SeqCst)), (2, 2));
    let a = pool.get_blocking().unwrap();
    let b = pool.get_blocking().unwrap();
    pool.maintain(std::time::Instant::now());
    assert_eq!(pool.status().size, 3, "one more, up to max_size");
    drop((a, b));
}

#[test]
fn validation_never_always_and_only_after_the_idle_window() {
    let (pool, m, _) = pool_with(PoolConfig {
        validation: Validation::Never,
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    assert_eq!(m.validated.load(Ordering::SeqCst), 0);

    let (pool, m, _) = pool_with(PoolConfig {
        validation: Validation::Always,
        ..base()
    });
    drop(pool.get_blocking().unwrap()); // created: not validated
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    assert_eq!(m.validated.load(Ordering::SeqCst), 2);

    let window = Duration::from_millis(500);
    let (pool, m, time) = pool_with(PoolConfig {
        validation: Validation::IdleLongerThan(window),
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    time.advance(window);
    drop(pool.get_blocking().unwrap());
    assert_eq!(
        m.validated.load(Ordering::SeqCst),
        0,
        "idle exactly the window"
    );
    time.advance(window + Duration::from_millis(1));
    drop(pool.get_blocking().unwrap());
    assert_eq!(
        m.validated.load(Ordering::SeqCst),
        1,
        "idle past the window"
    );
}

#[test]
fn a_resource_that_fails_validation_is_closed_and_replaced() {
    let (pool, m, _) = pool_with(PoolConfig {
        validation: Validation::Always,
        ..base()
    });
    drop(pool.get_blocking().unwrap());
    m.invalid.store(true, Ordering::SeqCst);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 2, "the invalid one was replaced by a new one");
    assert_eq!(m.closed(), [1]);
    assert_eq!(pool.statistics().destroyed.invalid, 1);
}

#[test]
fn a_failed_create_holds_the_next_one_back_by_a_growing_backoff() {
    let (pool, m, time) = pool_with(PoolConfig {
        max_size: 1,
        create_backoff: Duration::from_millis(100),
        max_create_backoff: Duration::from_millis(400),
        acquire_timeout: Duration::from_millis(1),
        ..base()
    });
    m.fail_creates.store(true, Ordering::SeqCst);
    let creates = || pool.statistics().create_failures;
    assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
    assert_eq!(creates(), 1);
    // Within the backoff: no new create, a prompt typed error with the cause.
    match pool.get_blocking() {
        Err(PoolError::Unavailable { cause, retry_in }) => {
            assert_eq!(cause.to_string(), "connection refused");
            assert!(retry_in <= Duration::from_millis(100), "{retry_in:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(creates(), 1, "held back");
    // Past it (100 ms less up to 25 % jitter): one more try, which fails; the next wait
    // is longer (200 ms less jitter).
    time.advance(Duration::from_millis(100));
    assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
    assert_eq!(creates(), 2);
    time.advance(Duration::from_millis(100));
    assert!(matches!(
        pool.get_blocking(),
        Err(PoolError::Unavailable { .. })
    ));
    assert_eq!(creates(), 2, "the second wait is longer than the first");
    time.advance(Duration::from_millis(100));
    assert!(pool.get_blocking().is_err());
    assert_eq!(creates(), 3);
    // Capped at max_create_backoff: after a long outage, tries come every <= 400 ms.
    for _ in 0..5 {
        time.advance(Duration::from_millis(400));
        assert!(pool.get_blocking().is_err());
    }
    assert_eq!(creates(), 8);
    // The backend is back: the next try succeeds and the backoff resets.
    m.fail_creates.store(false, Ordering::SeqCst);
    time.advance(Duration::from_millis(400));
    assert_eq!(*pool.get_blocking().unwrap(), 1);
}

fn leak_reports(sink: &CollectingSink) -> Vec<(u32, bool, Duration)> {
    sink.take()
        .into_iter()
        .map(|r| match r {
            DropReport::LeaseHeldTooLong {
                site,
                returned,
                held,
                ..
            } => (site.line(), returned, held),
            other => panic!("not a leak report: {other}"),
        })
        .collect()
}

#[test]
fn a_lease_held_past_the_leak_threshold_is_reported_with_its_line_while_held_and_on_return() {
    let sink = Arc::new(CollectingSink::new(16));
    let time = ManualClock::new();
    let clock = time.clone();
    let pool = Pool::builder(Mgr(Arc::new(Counting::<false>::default())))
        .config(PoolConfig {
            leak_threshold: Some(Duration::from_secs(30)),
            maintenance_interval: None,
            ..base()
        })
        .clock(clock)
        .sink(sink.clone())
        .build()
        .unwrap();
    let line = line!() + 1;
    let lease = pool.get_blocking().unwrap();
    assert_eq!(Lease::site(&lease).line(), line);
    time.advance(Duration::from_secs(29));
    pool.maintain(std::time::Instant::now());
    assert!(leak_reports(&sink).is_empty(), "not yet");
    time.advance(Duration::from_secs(1));
    pool.maintain(std::time::Instant::now());
    pool.maintain(std::time::Instant::now()); // reported once while held, however many rounds
    assert_eq!(
        leak_reports(&sink),
        [(line, false, Duration::from_secs(30))]
    );
    assert_eq!(pool.statistics().leaks, 1);
    time.advance(Duration::from_secs(15));
    drop(lease);
    assert_eq!(leak_reports(&sink), [(line, true, Duration::from_secs(45))]);
    assert_eq!(pool.statistics().leaks, 1, "one lease, counted once");

    // Without a maintenance round meanwhile: one report, on return.
    let lease = pool.get_blocking().unwrap();
    time.advance(Duration::from_secs(31));
    drop(lease);
    let reports = leak_reports(&sink);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].1, "reported on return");
    assert_eq!(pool.statistics().leaks, 2);

    // Under the threshold: nothing.
    let lease = pool.get_blocking().unwrap();
    time.advance(Duration::from_secs(29));
    drop(lease);
    pool.maintain(std::time::Instant::now());
    assert!(leak_reports(&sink).is_empty());
}

#[test]
fn a_leak_report_reads_well() {
    let r = DropReport::LeaseHeldTooLong {
        context: "db",
        site: std::panic::Location::caller(),
        held: Duration::from_millis(31_250),
        threshold: Duration::from_secs(30),
        returned: false,
    };
    let text = r.to_string();
    assert!(
        text.starts_with("db: a lease acquired at crates/tenure/tests/pool_rules.rs:"),
        "{text}"
    );
    assert!(
        text.ends_with("is still held after 31.2s (leak_threshold 30s): a leak?"),
        "{text}"
    );
}

#[test]
fn hold_and_wait_times_have_percentiles() {
    let (pool, _, time) = pool_with(base());
    for _ in 0..99 {
        let lease = pool.get_blocking().unwrap();
        time.advance(Duration::from_millis(10));
        drop(lease);
    }
    let lease = pool.get_blocking().unwrap();
    time.advance(Duration::from_secs(1));
    drop(lease);
    let hold = pool.statistics().hold_time;
    assert_eq!(hold.count, 100);
    assert_eq!(hold.max, Duration::from_secs(1));
    let near = |d: Duration, want: Duration| d.abs_diff(want) <= want / 100;
    assert!(
        near(hold.p50(), Duration::from_millis(10)),
        "{:?}",
        hold.p50()
    );
    assert!(
        near(hold.p99(), Duration::from_millis(10)),
        "{:?}",
        hold.p99()
    );
    assert!(near(hold.quantile(1.0), Duration::from_secs(1)));
    assert_eq!(hold.mean(), Duration::from_micros(19_900));
}

#[tokio::test(start_paused = true)]
async fn an_acquire_timeout_says_how_long_it_waited_and_who_holds_what() {
    let pool = Pool::new(
        Mgr(Arc::new(Counting::<true>::default())),
        PoolConfig {
            max_size: 1,
            acquire_timeout: Duration::from_secs(2),
            ..base()
        },
    )
    .unwrap();
    let _held = pool.get().await.unwrap();
    let started = tokio::time::Instant::now();
    let e = pool.get().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(
        e.to_string(),
        "timed out after 2s waiting for a resource (1 of 1 in use, 1 waiting)"
    );
    assert_eq!(pool.status().waiting, 0, "it left the line");
    assert_eq!(pool.statistics().timeouts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_create_past_create_timeout_fails_its_caller_and_frees_the_slot() {
    let m = Arc::new(Counting::<true>::default());
    m.create_delay_ms.store(60_000, Ordering::SeqCst);
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 1,
            create_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            ..base()
        },
    )
    .unwrap();
    let started = tokio::time::Instant::now();
    let e = pool.get().await.unwrap_err();
    assert!(
        matches!(e, PoolError::CreateTimedOut(d) if d == Duration::from_secs(5)),
        "{e}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(pool.status().size, 0, "the slot is free");
}

#[tokio::test(start_paused = true)]
async fn a_reset_past_return_timeout_is_abandoned_reported_and_its_slot_freed() {
    let m = Arc::new(Counting::<true>::default());
    m.hang_resets.store(true, Ordering::SeqCst);
    let sink = Arc::new(CollectingSink::new(16));
    let pool = Pool::builder(Mgr(m.clone()))
        .config(PoolConfig {
            max_size: 1,
            return_timeout: Duration::from_secs(5),
            ..base()
        })
        .sink(sink.clone())
        .build()
        .unwrap();
    drop(pool.get().await.unwrap());
    assert_eq!(
        pool.status().size,
        1,
        "the slot stays taken while the reset runs"
    );
    // A waiter meanwhile gets the next resource only once the slot is free.
    let started = tokio::time::Instant::now();
    m.hang_resets.store(false, Ordering::SeqCst);
    let lease = pool.get().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(
        *lease, 2,
        "a new resource: the hung one was dropped, not reused"
    );
    assert!(m.closed().is_empty(), "dropped with its work, not closed");
    assert_eq!(pool.statistics().abandoned, 1);
    let reports = sink.take();
    assert!(
        matches!(&reports[..], [DropReport::Cleanup { error, .. }] if error.kind() == tenure::ErrorKind::Abandoned),
        "{reports:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_background_driver_keeps_min_idle_and_stops_with_the_pool() {
    let m = Arc::new(Counting::<true>::default());
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 4,
            min_idle: 2,
            maintenance_interval: Some(Duration::from_secs(1)),
            ..base()
        },
    )
    .unwrap();
    assert_eq!(pool.status().idle, 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(pool.status().idle, 2, "the driver created min_idle");
    Lease::detach(pool.get().await.unwrap());
    assert_eq!(pool.status().idle, 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pool.status().idle, 2, "and keeps it up, round after round");
    let weak_probe = pool.clone();
    drop(pool);
    drop(weak_probe);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(m.closed().len(), 2, "the last handle closed the pool");
    assert_eq!(
        m.next.load(Ordering::SeqCst),
        3,
        "no creates after the close"
    );
}

/// `close()` stops the driver (and the pool's timer) even while handles remain.
#[tokio::test(start_paused = true)]
async fn a_closed_pool_leaves_no_task_running_while_its_handles_live() {
    let m = Arc::new(Counting::<true>::default());
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 4,
            min_idle: 1,
            maintenance_interval: Some(Duration::from_millis(100)),
            ..base()
        },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(pool.status().idle, 1);
    let metrics = tokio::runtime::Handle::current().metrics();
    assert!(metrics.num_alive_tasks() >= 1, "the driver runs");
    pool.close().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(metrics.num_alive_tasks(), 0, "every task of the pool ended");
    assert_eq!(m.closed(), [1]);
}

#[test]
fn a_blocking_pool_has_a_driver_thread() {
    let m = Arc::new(Counting::<false>::default());
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            min_idle: 1,
            maintenance_interval: Some(Duration::from_millis(10)),
            ..base()
        },
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.status().idle < 1 {
        assert!(std::time::Instant::now() < deadline, "the driver never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    Lease::detach(pool.get_blocking().unwrap());
    while pool.status().idle < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the driver ran only once"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_last_handle_dropped_closes_idle_resources_now_and_lent_ones_on_return() {
    let (pool, m, _) = pool_with(base());
    let a = pool.get_blocking().unwrap();
    drop(pool.get_blocking().unwrap());
    let other = pool.clone();
    drop(pool);
    assert!(m.closed().is_empty(), "another handle is alive");
    drop(other);
    assert_eq!(m.closed(), [2], "the idle one at once");
    drop(a);
    assert_eq!(m.closed(), [2, 1], "the lent one when it came back");
}

#[test]
fn bad_configurations_and_runtimes_are_refused_at_build_time() {
    let m = || Mgr(Arc::new(Counting::<false>::default()));
    for (config, what) in [
        (
            PoolConfig {
                max_size: 0,
                ..base()
            },
            "max_size",
        ),
        (
            PoolConfig {
                leak_threshold: Some(Duration::ZERO),
                ..base()
            },
            "leak_threshold",
        ),
        (
            PoolConfig {
                maintenance_interval: Some(Duration::ZERO),
                ..base()
            },
            "maintenance_interval",
        ),
    ] {
        let e = Pool::new(m(), config).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
    }
    let no_timers = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let e = Pool::builder(m())
        .runtime(no_timers.handle().clone())
        .build()
        .unwrap_err();
    assert_eq!(e, BuildError::NoTimers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_woken_with_closed_when_the_pool_closes() {
    let (pool, _, _) = pool_with(PoolConfig {
        max_size: 1,
        acquire_timeout: Duration::from_secs(600),
        ..base()
    });
    let held = pool.get().await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.get().await.map(drop) })
        })
        .collect();
    while pool.status().waiting < 3 {
        tokio::task::yield_now().await;
    }
    let closing = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.close().await })
    };
    for w in waiters {
        // Woken at once (bounded here so that a lost wake-up fails instead of hanging).
        let r = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a waiter was not woken by the close");
        assert!(matches!(r.unwrap(), Err(PoolError::Closed)));
    }
    drop(held);
    tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .expect("close resolves once the lease is back")
        .unwrap();
}

#[test]
fn a_lease_debugs_as_its_resource_and_site() {
    let (pool, _, _) = pool_with(base());
    let lease = pool.get_blocking().unwrap();
    let text = format!("{lease:?}");
    assert!(
        text.starts_with("Lease { resource: Some(1), site: "),
        "{text}"
    );
    assert!(text.contains("pool_rules.rs"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_backend_goes_down_every_waiter_fails_at_once_with_the_cause() {
    let m = Arc::new(Counting::<true>::default());
    m.fail_creates.store(true, Ordering::SeqCst);
    m.create_delay_ms.store(50, Ordering::SeqCst);
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 1,
            max_concurrent_creates: 1,
            acquire_timeout: Duration::from_secs(600),
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.get().await.map(drop) })
        })
        .collect();
    let mut kinds = Vec::new();
    for w in waiters {
        let r = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("a waiter was not woken when the create failed");
        kinds.push(match r.unwrap() {
            Err(PoolError::Create(e)) | Err(PoolError::Unavailable { cause: e, .. }) => {
                e.to_string()
            }
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(kinds, ["connection refused"; 3]);
    assert_eq!(
        pool.statistics().create_failures,
        1,
        "one create for three callers"
    );
}

/// The pool's one timer serves waiters of different timeouts: a later waiter with a
/// shorter timeout gives up first, each exactly at its own deadline.
#[tokio::test(start_paused = true)]
async fn waiters_with_different_timeouts_each_give_up_at_their_own_deadline() {
    let pool = Pool::new(
        Mgr(Arc::new(Counting::<true>::default())),
        PoolConfig {
            max_size: 1,
            ..base()
        },
    )
    .unwrap();
    let _held = pool.get().await.unwrap();
    let started = tokio::time::Instant::now();
    let long = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let e = pool.get_timeout(Duration::from_secs(10)).await.unwrap_err();
            (started.elapsed(), e.to_string())
        })
    };
    tokio::task::yield_now().await;
    let short = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let e = pool.get_timeout(Duration::from_secs(1)).await.unwrap_err();
            (started.elapsed(), e.to_string())
        })
    };
    let (at, text) = short.await.unwrap();
    assert_eq!(at, Duration::from_secs(1));
    assert_eq!(
        text,
        "timed out after 1s waiting for a resource (1 of 1 in use, 2 waiting)"
    );
    let (at, text) = long.await.unwrap();
    assert_eq!(at, Duration::from_secs(10));
    assert!(text.starts_with("timed out after 10s"), "{text}");
    assert_eq!(pool.statistics().timeouts, 2);
    assert_eq!(pool.status().waiting, 0);
}

#[test]
fn acquire_is_unpin_and_small() {
    fn unpin<T: Unpin>() {}
    unpin::<tenure::pool::Acquire<Mgr<false>>>();
    assert!(std::mem::size_of::<tenure::pool::Acquire<Mgr<false>>>() <= 96);
}

#[test]
fn destroyed_total_sums_every_reason() {
    let mut d = tenure::pool::Destroyed::default();
    d.broken = 1;
    d.expired = 2;
    d.idle = 4;
    d.invalid = 8;
    d.reset_failed = 16;
    d.panicked = 32;
    d.resized = 64;
    d.closed = 128;
    d.discarded = 256;
    assert_eq!(d.total(), 511);
}

#[test]
fn clocks_debug_without_their_internals() {
    // The pool reads `tenure::clock`'s clocks (there is no `pool::Clock` of its own any
    // more): the builder names the one it holds, the manual clock shows only its time.
    let time = ManualClock::new();
    let builder = Pool::builder(Mgr::<false>(Arc::new(Counting::default())));
    assert!(format!("{builder:?}").contains("clock: TscClock"));
    let builder = builder.clock(time.clone());
    assert!(format!("{builder:?}").contains("clock: a given Clock"));
    assert!(format!("{time:?}").starts_with("ManualClock { now_ns: "));
}

/// `maintain(now)` with a time ahead of the present, on the system clock: the round runs
/// as if that much time had passed.
#[test]
fn maintain_ahead_of_the_present_runs_as_if_that_time_had_passed() {
    let m = Arc::new(Counting::<false>::default());
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_lifetime: Some(30 * MIN),
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    drop(pool.get_blocking().unwrap());
    pool.maintain(std::time::Instant::now() + 29 * MIN);
    assert!(m.closed().is_empty(), "not expired at 29 min");
    pool.maintain(std::time::Instant::now());
    pool.maintain(std::time::Instant::now() - MIN); // the past counts as the present
    assert!(m.closed().is_empty());
    pool.maintain(std::time::Instant::now() + 31 * MIN);
    assert_eq!(m.closed(), [1], "expired at 31 min");
}

/// A manager whose resets all fail: every returned resource is retired as `reset_failed`
/// and closed, never reused.
struct FailingReset(Arc<Mutex<Vec<u32>>>, AtomicU32);

impl Manager for FailingReset {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        Work::ready(Ok(self.1.fetch_add(1, Ordering::SeqCst) + 1))
    }
    fn close(&self, r: u32) -> Work<Result<(), BoxError>> {
        self.0.lock().unwrap().push(r);
        Work::ready(Ok(()))
    }
    fn needs_reset(&self, _: &u32) -> bool {
        true
    }
    fn reset(&self, r: u32) -> Checked<Self> {
        Work::ready((r, Err(std::io::Error::other("rollback failed"))))
    }
}

#[test]
fn a_failed_reset_retires_and_closes_the_resource() {
    let closed = Arc::new(Mutex::new(Vec::new()));
    let pool = Pool::new(
        FailingReset(closed.clone(), Default::default()),
        PoolConfig {
            maintenance_interval: None,
            ..PoolConfig::default()
        },
    )
    .unwrap();
    drop(pool.get_blocking().unwrap());
    drop(pool.get_blocking().unwrap());
    let s = pool.statistics();
    assert_eq!(
        (s.created, s.destroyed.reset_failed, s.destroyed.total()),
        (2, 2, 2)
    );
    assert_eq!(*closed.lock().unwrap(), [1, 2], "each closed, none reused");
    assert_eq!(pool.status().size, 0);
}

#[test]
fn shrinking_retires_idle_extras_at_once_and_lent_ones_on_return() {
    let (pool, m, _time) = pool_with(PoolConfig {
        max_size: 3,
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    let mut leases = leases.into_iter();
    drop(leases.next()); // idle: retired at once by the resize below
    pool.resize(1);
    assert_eq!(pool.statistics().destroyed.resized, 1);
    drop(leases.next()); // comes back over the new size: retired, not reused
    let s = pool.statistics();
    assert_eq!((s.destroyed.resized, s.destroyed.total()), (2, 2));
    assert_eq!(m.closed().len(), 2);
    drop(leases);
    assert_eq!(pool.status().size, 1, "the one within the new size stays");
    assert_eq!(pool.status().idle, 1);
}

#[test]
fn a_panicking_retain_predicate_loses_no_resource() {
    let (pool, m, _time) = pool_with(PoolConfig {
        max_size: 3,
        ..base()
    });
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    drop(leases);
    let mut seen = 0;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.retain(|_| {
            seen += 1;
            match seen {
                1 => false, // retired
                2 => panic!("a predicate that panics"),
                _ => true,
            }
        })
    }));
    assert!(panicked.is_err(), "the panic reaches the caller");
    let s = pool.status();
    assert_eq!((s.size, s.idle), (2, 2), "the unjudged ones stay idle");
    assert_eq!(pool.statistics().destroyed.discarded, 1);
    assert_eq!(m.closed().len(), 1);
    assert!(pool.close_blocking(Duration::from_secs(5)));
    assert_eq!(m.closed().len(), 3, "every resource closed once");
}

#[test]
fn min_idle_may_equal_max_size_but_not_exceed_it() {
    let build = |min_idle, max_size| {
        Pool::new(
            Mgr(Arc::new(Counting::<false>::default())),
            PoolConfig {
                min_idle,
                max_size,
                ..base()
            },
        )
        .map(|_| ())
    };
    assert_eq!(build(4, 4), Ok(()));
    assert_eq!(
        build(5, 4),
        Err(BuildError::Config("min_idle must not exceed max_size"))
    );
}

#[test]
fn a_blocking_acquire_times_out_counted_and_out_of_line() {
    let (pool, _m, _time) = pool_with(PoolConfig {
        max_size: 1,
        ..base()
    });
    let _held = pool.get_blocking().unwrap();
    let e = pool
        .get_blocking_timeout(Duration::from_millis(20))
        .unwrap_err();
    assert!(matches!(e, PoolError::Timeout { .. }), "{e}");
    assert_eq!(pool.status().waiting, 0, "it left the line");
    assert_eq!(pool.statistics().timeouts, 1);
}

#[tokio::test]
async fn close_timeout_says_whether_everything_was_closed() {
    let pool = Pool::new(
        Mgr(Arc::new(Counting::<true>::default())),
        PoolConfig {
            max_size: 2,
            ..base()
        },
    )
    .unwrap();
    let held = pool.get().await.unwrap();
    drop(pool.get().await.unwrap());
    assert!(
        !pool.close_timeout(Duration::from_millis(20)).await,
        "a lease is still out"
    );
    drop(held);
    assert!(
        pool.close_timeout(Duration::from_secs(5)).await,
        "all closed"
    );
}

#[test]
fn debug_output_names_what_it_shows() {
    let (pool, _m, _time) = pool_with(base());
    let shown = format!("{pool:?}");
    assert!(
        shown.starts_with("Pool") && shown.contains("max_size"),
        "{shown}"
    );
    let acquire = pool.get();
    let shown = format!("{acquire:?}");
    assert!(
        shown.contains("not polled yet") && shown.contains("site"),
        "{shown}"
    );
    let builder = Pool::builder(Mgr(Arc::new(Counting::<false>::default())));
    let shown = format!("{builder:?}");
    assert!(
        shown.starts_with("PoolBuilder") && shown.contains("runtime"),
        "{shown}"
    );
}

/// A pool built outside any runtime has no timer task: an async waiter there bounds its
/// own wait.
#[test]
fn an_async_waiter_of_a_pool_without_a_runtime_still_times_out() {
    let (pool, _m, _time) = pool_with(PoolConfig {
        max_size: 1,
        ..base()
    });
    let _held = pool.get_blocking().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = rt
        .block_on(pool.get_timeout(Duration::from_millis(20)))
        .unwrap_err();
    assert!(matches!(e, PoolError::Timeout { .. }), "{e}");
    assert_eq!(pool.status().waiting, 0, "it left the line");
    assert_eq!(pool.statistics().timeouts, 1);
}

/// A failed create fails its waiter, but the next waiter keeps waiting while another create
/// is still under way — and is served by it — instead of failing as "unavailable".
#[tokio::test(start_paused = true)]
async fn a_create_still_under_way_keeps_the_next_waiter_waiting_after_another_fails() {
    let m = Arc::new(Counting::<true>::default());
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 2,
            max_concurrent_creates: 2,
            create_backoff: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(60),
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    // The first create fails after 10 ms; the second succeeds after 100 ms.
    m.fail_creates.store(true, Ordering::SeqCst);
    m.create_delay_ms.store(10, Ordering::SeqCst);
    let p = pool.clone();
    let first = tokio::spawn(async move { p.get().await.map(|l| *l) });
    tokio::task::yield_now().await;
    m.fail_creates.store(false, Ordering::SeqCst);
    m.create_delay_ms.store(100, Ordering::SeqCst);
    let p = pool.clone();
    let second = tokio::spawn(async move { p.get().await.map(|l| *l) });
    tokio::task::yield_now().await;
    assert_eq!(pool.status().waiting, 2);
    assert!(matches!(first.await.unwrap(), Err(PoolError::Create(_))));
    // Within the backoff, with the second create still coming: a newcomer waits too.
    let p = pool.clone();
    let third = tokio::spawn(async move { p.get_timeout(Duration::from_secs(1)).await.map(drop) });
    tokio::task::yield_now().await;
    assert_eq!(
        second.await.unwrap().unwrap(),
        1,
        "served by the create under way"
    );
    assert!(
        third.await.unwrap().is_ok(),
        "served when the second returned"
    );
    assert_eq!(pool.statistics().create_failures, 1);
}

/// Demand beyond `max_concurrent_creates` waits for a create to finish before the next
/// one starts, even with room in `max_size`.
#[tokio::test(start_paused = true)]
async fn no_more_creates_run_at_once_than_max_concurrent_creates() {
    let m = Arc::new(Counting::<true>::default());
    m.create_delay_ms.store(100, Ordering::SeqCst);
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 4,
            max_concurrent_creates: 2,
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let p = pool.clone();
            tokio::spawn(async move { p.get().await })
        })
        .collect();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(m.next.load(Ordering::SeqCst), 2, "two creates at once");
    assert_eq!(pool.status().waiting, 4);
    tokio::time::sleep(Duration::from_millis(101)).await;
    assert_eq!(
        m.next.load(Ordering::SeqCst),
        4,
        "two more once those finished"
    );
    let mut leases = Vec::new();
    for w in waiters {
        leases.push(w.await.unwrap().unwrap());
    }
    let mut got: Vec<u32> = leases.iter().map(|l| **l).collect();
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4]);
}

/// A resource still being closed counts in `size` until its close ends, but does not make
/// a returned resource look like an extra beyond `max_size`.
#[tokio::test(start_paused = true)]
async fn a_resource_still_closing_does_not_push_a_returned_one_out() {
    let m = Arc::new(Counting::<true>::default());
    m.close_delay_ms.store(100, Ordering::SeqCst);
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 2,
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    let a = pool.get().await.unwrap();
    let b = pool.get().await.unwrap();
    Lease::discard(a);
    tokio::task::yield_now().await;
    assert_eq!(pool.status().size, 2, "its close has not ended");
    drop(b);
    let status = pool.status();
    assert_eq!((status.idle, status.size), (1, 2), "{status:?}");
    assert_eq!(pool.statistics().destroyed.resized, 0);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let status = pool.status();
    assert_eq!((status.idle, status.size), (1, 1), "{status:?}");
    assert_eq!(*pool.get().await.unwrap(), 2, "the returned one is reused");
}

/// A failed close is reported to the sink with what was being closed: a resource retired
/// while the pool runs, or one closed because the pool closed.
#[test]
fn a_failed_close_is_reported_saying_why_the_resource_was_closed() {
    let manager = Arc::new(Counting::<false>::default());
    let sink = Arc::new(CollectingSink::new(16));
    let clock = ManualClock::new();
    let pool = Pool::builder(Mgr(manager.clone()))
        .config(PoolConfig {
            maintenance_interval: None,
            ..base()
        })
        .clock(clock)
        .sink(sink.clone())
        .build()
        .unwrap();
    manager.fail_closes.store(true, Ordering::SeqCst);
    let (a, b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    Lease::discard(a);
    drop(b);
    assert!(pool.close_blocking(Duration::from_secs(1)));
    let contexts: Vec<String> = sink
        .take()
        .iter()
        .map(|r| {
            let cause = std::error::Error::source(r.error().unwrap()).unwrap();
            format!("{} | {cause}", r.context())
        })
        .collect();
    assert_eq!(
        contexts,
        [
            "pool: closing a retired resource | socket already reset",
            "pool: closing a resource (pool closed) | socket already reset",
        ]
    );
    assert_eq!(pool.statistics().close_failures, 2);
    assert_eq!(manager.closed(), [1, 2]);
}

/// The backoff after a failed create is spread per pool history (up to 25 % less than the
/// base), so that pools that failed together do not retry together.
#[test]
fn the_create_backoff_is_jittered_within_a_quarter() {
    let mut waits = Vec::new();
    for created in 0..8 {
        let (pool, m, _time) = pool_with(PoolConfig {
            max_size: 10,
            create_backoff: Duration::from_millis(100),
            acquire_timeout: Duration::from_millis(1),
            ..base()
        });
        // Created, then taken out of the pool: its history differs, nothing is left in it.
        for _ in 0..created {
            Lease::detach(pool.get_blocking().unwrap());
        }
        m.fail_creates.store(true, Ordering::SeqCst);
        assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
        match pool.get_blocking() {
            Err(PoolError::Unavailable { retry_in, .. }) => waits.push(retry_in),
            other => panic!("{other:?}"),
        }
    }
    for w in &waits {
        assert!(
            (Duration::from_millis(75)..=Duration::from_millis(100)).contains(w),
            "{waits:?}"
        );
    }
    let mut distinct = waits.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 3, "spread: {waits:?}");
}

/// Maintenance counts the creates under way toward `min_idle`: rounds that come while
/// they run start no more.
#[tokio::test(start_paused = true)]
async fn maintenance_counts_creates_under_way_toward_min_idle() {
    let m = Arc::new(Counting::<true>::default());
    m.create_delay_ms.store(100, Ordering::SeqCst);
    let pool = Pool::new(
        Mgr(m.clone()),
        PoolConfig {
            max_size: 8,
            min_idle: 2,
            max_concurrent_creates: 8,
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    for _ in 0..3 {
        pool.maintain(std::time::Instant::now());
        tokio::task::yield_now().await;
    }
    assert_eq!(
        m.next.load(Ordering::SeqCst),
        2,
        "two creates for min_idle 2"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(pool.status().idle, 2);
    pool.maintain(std::time::Instant::now());
    tokio::task::yield_now().await;
    assert_eq!(m.next.load(Ordering::SeqCst), 2, "min_idle met: none more");
}

/// The two relay tasks (see the module docs, "Handoff on a multi-thread runtime") exist only
/// on a multi-thread runtime: a current-thread runtime has no other worker to hand over to.
#[test]
fn relay_tasks_run_only_on_a_multi_thread_runtime() {
    let alive_with_a_pool = |rt: tokio::runtime::Runtime| {
        let m = Arc::new(Counting::<true>::default());
        let before = rt.metrics().num_alive_tasks();
        let pool = Pool::builder(Mgr(m))
            .config(PoolConfig {
                maintenance_interval: None,
                ..base()
            })
            .runtime(rt.handle().clone())
            .build()
            .unwrap();
        let alive = rt.metrics().num_alive_tasks() - before;
        drop(pool); // the last handle: the pool closes, and its tasks end
        rt.block_on(async {
            let ended = async {
                while rt.metrics().num_alive_tasks() > before {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(10), ended)
                .await
                .expect("a task outlived its pool");
        });
        alive
    };
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (one, two) = (alive_with_a_pool(current), alive_with_a_pool(multi));
    assert_eq!(
        two,
        one + 2,
        "current-thread: {one} tasks, multi-thread: {two}"
    );
}

/// The retry after a failed create runs by the pool's clock: when that clock (here a
/// manual one) has not reached the end of the backoff when tokio's timer fires, the retry
/// waits again instead of being dropped, and a waiter still in line is served by it.
#[tokio::test(start_paused = true)]
async fn a_create_retry_waits_for_the_pools_own_clock() {
    let m = Arc::new(Counting::<true>::default());
    let time = ManualClock::new();
    let clock = time.clone();
    let pool = Pool::builder(Mgr(m.clone()))
        .config(PoolConfig {
            max_size: 2,
            max_concurrent_creates: 1,
            create_backoff: Duration::from_millis(100),
            acquire_timeout: Duration::from_secs(60),
            maintenance_interval: None,
            ..base()
        })
        .clock(clock)
        .build()
        .unwrap();
    let held = pool.get().await.unwrap(); // something is lent: waiters keep waiting
    m.fail_creates.store(true, Ordering::SeqCst);
    let spawn_get = || {
        let p = pool.clone();
        tokio::spawn(async move { p.get().await.map(|l| *l) })
    };
    let (first, second) = (spawn_get(), spawn_get());
    assert!(matches!(first.await.unwrap(), Err(PoolError::Create(_))));
    assert_eq!(pool.status().waiting, 1, "the second still waits");
    m.fail_creates.store(false, Ordering::SeqCst);
    // tokio's timer passes the backoff, the pool's clock does not: no create yet.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(m.next.load(Ordering::SeqCst), 1);
    // Now the pool's clock passes it too: the retry, armed again, creates.
    time.advance(Duration::from_millis(150));
    let got = tokio::time::timeout(Duration::from_secs(1), second)
        .await
        .expect("the retry was dropped")
        .unwrap();
    assert_eq!(got.unwrap(), 2, "served by the retried create");
    drop(held);
}

/// An acquire served from the idle set counts as direct; one that waited for a create
/// (or a return) as waited.
#[test]
fn acquires_are_counted_as_direct_or_waited() {
    let (pool, _m, _) = pool_with(base());
    drop(pool.get_blocking().unwrap()); // nothing idle: waits for its create
    drop(pool.get_blocking().unwrap()); // the idle one
    drop(pool.get_blocking().unwrap());
    let s = pool.statistics();
    assert_eq!(
        (s.acquired_direct, s.acquired_waited, s.created),
        (2, 1, 1),
        "{s:?}"
    );
}

/// Leases taken and returned on several threads (each thread lends from and takes back
/// into a shard of its own) are all counted: status, statistics, leak reports; and a
/// resource cached by one thread serves another instead of a new one being created.
#[test]
fn leases_on_many_threads_are_all_counted_and_shared() {
    const THREADS: usize = 4;
    let sink = Arc::new(CollectingSink::new(16));
    let time = ManualClock::new();
    let clock = time.clone();
    let counts = Arc::new(Counting::<false>::default());
    let pool = Pool::builder(Mgr(counts.clone()))
        .config(PoolConfig {
            max_size: THREADS,
            leak_threshold: Some(Duration::from_secs(30)),
            maintenance_interval: None,
            ..base()
        })
        .clock(clock)
        .sink(sink.clone())
        .build()
        .unwrap();
    let held = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let go = Arc::new(std::sync::Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (pool, held, go) = (pool.clone(), held.clone(), go.clone());
            std::thread::spawn(move || {
                let lease = pool.get_blocking().unwrap();
                held.wait();
                go.wait();
                drop(lease); // into this thread's shard
                drop(pool.get_blocking().unwrap()); // again, from there
            })
        })
        .collect();
    held.wait();
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.idle),
        (THREADS, THREADS, 0)
    );
    time.advance(Duration::from_secs(31));
    pool.maintain(std::time::Instant::now()); // every shard's leases are looked at
    assert_eq!(leak_reports(&sink).len(), THREADS);
    go.wait();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        leak_reports(&sink).len(),
        THREADS,
        "reported again on return"
    );
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.idle),
        (THREADS, 0, THREADS)
    );
    let stats = pool.statistics();
    // The first get of each thread waited for its create; the second was direct.
    assert_eq!(stats.acquired_direct, THREADS as u64);
    assert_eq!(stats.acquired_waited, THREADS as u64);
    assert_eq!(stats.hold_time.count, 2 * THREADS as u64);
    assert_eq!(stats.hold_time.max, Duration::from_secs(31));
    assert_eq!(stats.leaks, THREADS as u64, "each lease counted once");

    // This thread takes every resource, wherever it is cached: none is created.
    let all: Vec<_> = (0..THREADS).map(|_| pool.get_blocking().unwrap()).collect();
    let mut got: Vec<u32> = all.iter().map(|l| **l).collect();
    got.sort_unstable();
    assert_eq!(got, (1..=THREADS as u32).collect::<Vec<_>>());
    assert_eq!(pool.statistics().created, THREADS as u64);
    // And a waiter is served by a return on another thread.
    let waiter = {
        let pool = pool.clone();
        std::thread::spawn(move || *pool.get_blocking().unwrap())
    };
    while pool.status().waiting == 0 {
        std::thread::yield_now();
    }
    let first = *all[0];
    drop(all);
    assert_eq!(
        waiter.join().unwrap(),
        first,
        "the first one back, handed over"
    );

    // Closing closes what every shard holds, once each.
    drop(pool);
    let mut closed = counts.closed();
    closed.sort_unstable();
    assert_eq!(closed, (1..=THREADS as u32).collect::<Vec<_>>());
}

/// A resource resting in one thread's shard is checked like any other: past its lifetime
/// another thread's acquire retires it rather than lending it.
#[test]
fn an_expired_resource_cached_by_another_thread_is_retired_not_lent() {
    let (pool, counts, time) = pool_with(PoolConfig {
        max_size: 1,
        max_lifetime: Some(MIN),
        ..base()
    });
    {
        let pool = pool.clone();
        std::thread::spawn(move || drop(pool.get_blocking().unwrap()))
            .join()
            .unwrap();
    }
    time.advance(2 * MIN);
    let lease = pool.get_blocking().unwrap();
    assert_eq!(*lease, 2, "a new one");
    assert_eq!(counts.closed(), [1]);
    assert_eq!(pool.statistics().destroyed.expired, 1);
}
