//! Every bound holds, for futures and blocking work alike: a create, validation, reset or
//! close that hangs (`testing::Fault::Hang`) frees its slot once its bound passes — the
//! next caller is served — and is counted in `Statistics::abandoned` and reported; what
//! blocking work hands back after its bound (`Fault::Delay`) is closed. Blocking managers
//! without a runtime and on one (whose shutdown the hung threads do not hold up), async
//! managers under tokio's paused time.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tenure::error::BoxError;
use tenure::pool::{Checked, Manager, Pool, PoolConfig, PoolError, Validation, Work};
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::{Fault, Faults, InjectedFault, Ledger, Op, TestResource};
use tenure::Close;

/// Resources from a ledger; every operation goes through its faults, as blocking work
/// (`A` false) or futures (`A` true). Every returned resource needs a reset.
struct Mgr<const A: bool> {
    ledger: Ledger,
}

impl<const A: bool> Mgr<A> {
    fn work<T: Send + 'static>(
        &self,
        op: Op,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Work<Result<T, InjectedFault>> {
        let faults = self.ledger.faults().clone();
        if A {
            let check = faults.check_async(op, "conn");
            Work::future(async move { check.await.map(|()| f()) })
        } else {
            Work::blocking(move || faults.check(op, "conn").map(|()| f()))
        }
    }
}

impl<const A: bool> Manager for Mgr<A> {
    type Resource = TestResource;
    type Error = InjectedFault;
    const ASYNC: bool = A;
    fn create(&self) -> Work<Result<TestResource, InjectedFault>> {
        let ledger = self.ledger.clone();
        match self.work(Op::Acquire, move || ledger.acquire("conn")) {
            Work::Future(f) => Work::future(async move { f.await? }),
            Work::Blocking(f) => Work::blocking(move || f().and_then(|r| r)),
            Work::Ready(r) => Work::ready(r.and_then(|r| r)),
        }
    }
    fn close(&self, r: TestResource) -> Work<Result<(), BoxError>> {
        match self.work(Op::Close, move || r.close().map_err(BoxError::from)) {
            Work::Future(f) => Work::future(async move { f.await? }),
            Work::Blocking(f) => {
                Work::blocking(move || f().map_err(BoxError::from).and_then(|r| r))
            }
            Work::Ready(r) => Work::ready(r.map_err(BoxError::from).and_then(|r| r)),
        }
    }
    fn validate(&self, r: TestResource) -> Checked<Self> {
        self.check(Op::Validate, r)
    }
    fn needs_reset(&self, _: &TestResource) -> bool {
        true
    }
    fn reset(&self, r: TestResource) -> Checked<Self> {
        self.check(Op::Reset, r)
    }
}

impl<const A: bool> Mgr<A> {
    fn check(&self, op: Op, r: TestResource) -> Checked<Self> {
        let faults = self.ledger.faults().clone();
        if A {
            let check = faults.check_async(op, "conn");
            Work::future(async move { (r, check.await) })
        } else {
            Work::blocking(move || {
                let verdict = faults.check(op, "conn");
                (r, verdict)
            })
        }
    }
}

/// The bound of the operations a test makes hang or end late.
const BOUND: Duration = Duration::from_millis(200);

/// The bound of every other operation: generous, so that a create or a close that merely
/// runs slowly on a loaded machine (a new thread each) is never abandoned by mistake and
/// only the operation under test is.
const LOOSE: Duration = Duration::from_secs(30);

/// `max_size: 1`; `bounded` (the operations the test injects faults into, as
/// `testing::Op`s) get [`BOUND`], the rest [`LOOSE`].
fn config(validation: Validation, bounded: &[Op]) -> PoolConfig {
    let bound = |op| if bounded.contains(&op) { BOUND } else { LOOSE };
    PoolConfig {
        max_size: 1,
        validation,
        create_timeout: bound(Op::Acquire),
        check_timeout: bound(Op::Validate),
        return_timeout: bound(Op::Reset),
        close_timeout: bound(Op::Close),
        acquire_timeout: Duration::from_secs(10),
        create_backoff: Duration::ZERO,
        max_create_backoff: Duration::ZERO,
        maintenance_interval: None,
        ..PoolConfig::default()
    }
}

fn pool<const A: bool>(
    faults: &Faults,
    validation: Validation,
    bounded: &[Op],
) -> (Pool<Mgr<A>>, Ledger, Arc<CollectingSink>) {
    let ledger = Ledger::with_faults(faults.clone());
    let sink = Arc::new(CollectingSink::new(64));
    let pool = Pool::builder(Mgr::<A> {
        ledger: ledger.clone(),
    })
    .config(config(validation, bounded))
    .sink(sink.clone())
    .build()
    .unwrap();
    (pool, ledger, sink)
}

/// The reports of abandoned work, by their context.
fn abandoned_reports(sink: &CollectingSink) -> Vec<&'static str> {
    sink.take()
        .iter()
        .map(DropReport::context)
        .filter(|c| c.contains("past "))
        .collect()
}

/// Waits for the sink's first report whose context says the work failed late; its context
/// and the report rendered.
fn late_failure(sink: &CollectingSink) -> (&'static str, String) {
    let mut found = None;
    eventually("a late failure reported", || {
        found = sink
            .take()
            .into_iter()
            .find(|r| r.context().contains("failed later"))
            .map(|r| (r.context(), r.to_string()));
        found.is_some()
    });
    found.unwrap()
}

/// Waits (real time, a generous limit) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The case: a blocking reset that never finishes, `max_size: 1`: the second
/// caller is served (a new create), the reset counted and reported.
fn blocking_hung_reset_frees_its_slot() {
    let faults = Faults::new();
    faults.inject(Op::Reset, "conn", 1, Fault::Hang);
    let (pool, ledger, sink) = pool::<false>(&faults, Validation::Never, &[Op::Reset]);
    drop(pool.get_blocking().unwrap()); // #1, its reset hangs
    let second = pool
        .get_blocking()
        .expect("served once the reset's bound passed");
    assert_eq!(second.id(), 2, "a new resource in the freed slot");
    assert_eq!(pool.statistics().abandoned, 1);
    assert_eq!(
        abandoned_reports(&sink),
        ["pool: resetting a returned resource (past return_timeout)"]
    );
    assert!(
        ledger.ending(1).is_none(),
        "#1 is still held by the hung thread"
    );
}

#[test]
fn blocking_reset_that_hangs_frees_its_slot_without_a_runtime() {
    blocking_hung_reset_frees_its_slot();
}

#[test]
fn blocking_reset_that_hangs_frees_its_slot_on_a_runtime_whose_shutdown_it_does_not_hold_up() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::task::spawn_blocking(blocking_hung_reset_frees_its_slot)
            .await
            .unwrap()
    });
    // The hung reset runs on a thread of the pool's own, not the runtime's blocking pool:
    // dropping the runtime does not wait for it (it would wait for ever).
    drop(rt);
}

#[test]
fn blocking_validation_that_hangs_frees_its_slot_and_the_waiter_gets_a_create() {
    let faults = Faults::new();
    faults.inject(Op::Validate, "conn", 1, Fault::Hang);
    let (pool, _ledger, sink) = pool::<false>(&faults, Validation::Always, &[Op::Validate]);
    let first = pool.get_blocking().unwrap(); // created: no check
    drop(first); // reset (ok), then idle
    eventually("#1 reset and idle", || pool.status().idle == 1);
    let again = pool
        .get_blocking()
        .expect("a create once the check's bound passed");
    assert_eq!(again.id(), 2);
    assert_eq!(pool.statistics().abandoned, 1);
    assert_eq!(
        abandoned_reports(&sink),
        ["pool: validating a resource (past check_timeout)"]
    );
}

#[test]
fn blocking_close_that_hangs_frees_its_slot() {
    let faults = Faults::new();
    faults.inject(Op::Close, "conn", 1, Fault::Hang);
    let (pool, _ledger, sink) = pool::<false>(&faults, Validation::Never, &[Op::Close]);
    tenure::pool::Lease::discard(pool.get_blocking().unwrap()); // its close hangs
    let next = pool
        .get_blocking()
        .expect("a create once the close's bound passed");
    assert_eq!(next.id(), 2);
    assert_eq!(pool.statistics().abandoned, 1);
    assert_eq!(
        abandoned_reports(&sink),
        ["pool: closing a retired resource (past close_timeout)"]
    );
}

#[test]
fn blocking_create_that_hangs_frees_its_slot_and_tells_its_waiter() {
    let faults = Faults::new();
    faults.inject(Op::Acquire, "conn", 1, Fault::Hang);
    let (pool, _ledger, sink) = pool::<false>(&faults, Validation::Never, &[Op::Acquire]);
    let first = pool.get_blocking();
    assert!(
        matches!(first, Err(PoolError::CreateTimedOut(b)) if b == BOUND),
        "{first:?}"
    );
    let next = pool.get_blocking().expect("the slot is free again");
    assert_eq!(
        next.id(),
        1,
        "the hung create never made #1 in the ledger's count"
    );
    assert_eq!(pool.statistics().abandoned, 1);
    assert_eq!(
        abandoned_reports(&sink),
        ["pool: creating a resource (past create_timeout)"]
    );
}

/// Blocking work that ends after its bound hands its resource back late: it is closed.
#[test]
fn blocking_reset_that_ends_late_has_its_resource_closed() {
    let faults = Faults::new();
    faults.inject(Op::Reset, "conn", 1, Fault::Delay(BOUND * 4));
    let (pool, ledger, _sink) = pool::<false>(&faults, Validation::Never, &[Op::Reset]);
    drop(pool.get_blocking().unwrap());
    let second = pool.get_blocking().unwrap();
    assert_eq!(second.id(), 2);
    eventually("#1, handed back late, is closed", || {
        ledger.ending(1).is_some()
    });
    let stats = pool.statistics();
    assert_eq!((stats.abandoned, stats.created), (1, 2));
    drop(second);
}

#[tokio::test(start_paused = true)]
async fn async_reset_that_hangs_frees_its_slot() {
    let faults = Faults::new();
    faults.inject(Op::Reset, "conn", 1, Fault::Hang);
    let (pool, ledger, sink) = pool::<true>(&faults, Validation::Never, &[Op::Reset]);
    drop(pool.get().await.unwrap());
    let second = pool
        .get()
        .await
        .expect("served once the reset's bound passed");
    assert_eq!(second.id(), 2);
    assert_eq!(pool.statistics().abandoned, 1);
    assert_eq!(
        abandoned_reports(&sink),
        ["pool: resetting a returned resource (past return_timeout)"]
    );
    assert!(
        ledger.ending(1).is_some(),
        "dropped with the reset's future"
    );
}

#[tokio::test(start_paused = true)]
async fn async_validation_and_close_that_hang_free_their_slots() {
    let faults = Faults::new();
    faults.inject(Op::Validate, "conn", 1, Fault::Hang);
    faults.inject(Op::Close, "conn", 1, Fault::Hang);
    let (pool, _ledger, sink) =
        pool::<true>(&faults, Validation::Always, &[Op::Validate, Op::Close]);
    drop(pool.get().await.unwrap()); // #1: reset, then idle
    while pool.status().idle == 0 {
        tokio::task::yield_now().await;
    }
    let second = pool
        .get()
        .await
        .expect("a create once the check's bound passed");
    assert_eq!(second.id(), 2);
    tenure::pool::Lease::discard(second); // its close hangs
    let third = pool
        .get()
        .await
        .expect("a create once the close's bound passed");
    assert_eq!(third.id(), 3);
    assert_eq!(pool.statistics().abandoned, 2);
    assert_eq!(
        abandoned_reports(&sink),
        [
            "pool: validating a resource (past check_timeout)",
            "pool: closing a retired resource (past close_timeout)"
        ]
    );
}

/// Blocking work that fails after its bound: the error, which nothing can return any more,
/// is reported to the sink (a create's and a close's).
#[test]
fn blocking_create_that_fails_late_is_reported() {
    let faults = Faults::new();
    // Each create checks its faults twice (the manager, then the ledger): delayed past the
    // bound, then failing.
    faults.inject(Op::Acquire, "conn", 1, Fault::Delay(BOUND * 4));
    faults.inject(Op::Acquire, "conn", 2, Fault::Error);
    let (pool, _ledger, sink) = pool::<false>(&faults, Validation::Never, &[Op::Acquire]);
    let first = pool.get_blocking();
    assert!(
        matches!(first, Err(PoolError::CreateTimedOut(_))),
        "{first:?}"
    );
    let (context, report) = late_failure(&sink);
    assert_eq!(
        context,
        "pool: a create abandoned past create_timeout failed later"
    );
    assert!(report.contains("injected"), "{report}");
    assert!(pool.get_blocking().is_ok(), "the pool serves on");
}

#[test]
fn blocking_close_that_fails_late_is_reported() {
    let faults = Faults::new();
    faults.inject(Op::Close, "conn", 1, Fault::Delay(BOUND * 4));
    faults.inject(Op::Close, "conn", 2, Fault::Error);
    let (pool, _ledger, sink) = pool::<false>(&faults, Validation::Never, &[Op::Close]);
    tenure::pool::Lease::discard(pool.get_blocking().unwrap()); // its close ends late
    let (context, report) = late_failure(&sink);
    assert_eq!(
        context,
        "pool: a close abandoned past close_timeout failed later"
    );
    assert!(report.contains("failed to close"), "{report}");
    assert_eq!(pool.statistics().abandoned, 1);
}

/// The reports of abandoned work, rendered whole.
fn abandoned_report_texts(sink: &CollectingSink) -> Vec<String> {
    sink.take()
        .iter()
        .filter(|r| r.context().contains("past "))
        .map(ToString::to_string)
        .collect()
}

/// An abandoned reset's report names the get whose lease returned the resource; an
/// abandoned validation's, the get it was checked for.
#[test]
fn abandoned_checks_are_reported_with_the_site_of_their_caller() {
    let faults = Faults::new();
    faults.inject(Op::Reset, "conn", 1, Fault::Hang);
    faults.inject(Op::Validate, "conn", 1, Fault::Hang);
    let (pool, _ledger, sink) =
        pool::<false>(&faults, Validation::Always, &[Op::Reset, Op::Validate]);
    let lent_at = line!() + 1;
    let lease = pool.get_blocking().unwrap(); // #1, created: no check
    drop(lease); // its reset hangs
    let second = pool.get_blocking().unwrap(); // #2, created
    let reports = abandoned_report_texts(&sink);
    let site = format!("{}:{lent_at}:", file!());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("pool: resetting a returned resource (past return_timeout)")
            && reports[0].contains(&format!("returned by the lease of the get at {site}")),
        "{reports:?}"
    );
    drop(second); // its reset passes: idle
    eventually("#2 reset and idle", || pool.status().idle == 1);
    let checked_for = line!() + 1;
    let third = pool.get_blocking().unwrap(); // #2's check hangs: #3 created
    assert_eq!(third.id(), 3);
    let reports = abandoned_report_texts(&sink);
    let site = format!("{}:{checked_for}:", file!());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].starts_with("pool: validating a resource (past check_timeout)")
            && reports[0].contains(&format!("for the get at {site}")),
        "{reports:?}"
    );
    assert_eq!(pool.statistics().abandoned, 2);
}
