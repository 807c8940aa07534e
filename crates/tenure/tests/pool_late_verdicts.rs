//! A blocking check that ends after its bound with a failing verdict: its slot was freed
//! (and the abandonment counted and reported) when the bound passed; the verdict that
//! comes later is reported to the sink as the other late results are — the work, its
//! bound and the site of the caller it was for — its resource closed through
//! `Manager::close`, and nothing counted again.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tenure::error::BoxError;
use tenure::pool::{Checked, Manager, Pool, PoolConfig, Validation, Work};
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::{Fault, Faults, InjectedFault, Ledger, Op, TestResource};
use tenure::Close;

/// Resources from a ledger; blocking checks that go through two faults — `"slow"` (to
/// delay them) then `"conn"` (to fail them). With `reset`, every return needs a reset.
struct Mgr {
    ledger: Ledger,
    reset: bool,
}

impl Mgr {
    fn check(&self, op: Op, r: TestResource) -> Checked<Self> {
        let faults = self.ledger.faults().clone();
        Work::blocking(move || {
            let verdict = faults
                .check(op, "slow")
                .and_then(|()| faults.check(op, "conn"));
            (r, verdict)
        })
    }
}

impl Manager for Mgr {
    type Resource = TestResource;
    type Error = InjectedFault;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<TestResource, InjectedFault>> {
        Work::ready(self.ledger.acquire("conn"))
    }
    fn close(&self, r: TestResource) -> Work<Result<(), BoxError>> {
        Work::ready(r.close().map_err(BoxError::from))
    }
    fn validate(&self, r: TestResource) -> Checked<Self> {
        self.check(Op::Validate, r)
    }
    fn needs_reset(&self, _: &TestResource) -> bool {
        self.reset
    }
    fn reset(&self, r: TestResource) -> Checked<Self> {
        self.check(Op::Reset, r)
    }
}

const BOUND: Duration = Duration::from_millis(50);

fn pool(
    faults: &Faults,
    validation: Validation,
    reset: bool,
) -> (Pool<Mgr>, Ledger, Arc<CollectingSink>) {
    let ledger = Ledger::with_faults(faults.clone());
    let sink = Arc::new(CollectingSink::new(64));
    let pool = Pool::builder(Mgr {
        ledger: ledger.clone(),
        reset,
    })
    .config(PoolConfig {
        max_size: 1,
        validation,
        check_timeout: BOUND,
        return_timeout: BOUND,
        acquire_timeout: Duration::from_secs(10),
        maintenance_interval: None,
        ..PoolConfig::default()
    })
    .sink(sink.clone())
    .build()
    .unwrap();
    (pool, ledger, sink)
}

/// Waits (real time, a generous limit) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every report the sink got until `done` says enough came: (context, report rendered).
fn reports_until(
    sink: &CollectingSink,
    mut done: impl FnMut(&[(&'static str, String)]) -> bool,
) -> Vec<(&'static str, String)> {
    let mut all = Vec::new();
    eventually("the reports", || {
        all.extend(
            sink.take()
                .iter()
                .map(|r: &DropReport| (r.context(), r.to_string())),
        );
        done(&all)
    });
    all
}

#[test]
fn a_validation_that_fails_after_its_bound_is_reported_with_its_bound_and_caller() {
    let faults = Faults::new();
    faults.inject(Op::Validate, "slow", 1, Fault::Delay(BOUND * 4));
    faults.inject(Op::Validate, "conn", 1, Fault::Error);
    let (pool, ledger, sink) = pool(&faults, Validation::Always, false);
    drop(pool.get_blocking().unwrap()); // #1, created: no check
    let checked_for = line!() + 1;
    let second = pool.get_blocking().unwrap(); // #1's check overruns: #2 in its slot
    assert_eq!(second.id(), 2);
    let reports = reports_until(&sink, |r| r.iter().any(|(c, _)| c.contains("failed later")));
    let site = format!("{}:{checked_for}:", file!());
    let contexts: Vec<&str> = reports.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        contexts,
        [
            "pool: validating a resource (past check_timeout)",
            "pool: a validation abandoned past check_timeout failed later",
        ]
    );
    let late = &reports[1].1;
    assert!(
        late.contains(&format!("for the get at {site}"))
            && late.contains("not finished after 50ms, failed later")
            && late.ends_with("injected fault: validate #1 of `conn`"),
        "{late}"
    );
    eventually("#1, handed back late, is closed", || {
        ledger.ending(1).is_some()
    });
    // Counted once, when the bound passed: not as a retirement, not as a close failure.
    let stats = pool.statistics();
    assert_eq!(stats.abandoned, 1);
    assert_eq!(stats.destroyed.invalid, 0);
    assert_eq!(stats.close_failures, 0);
    assert_eq!(pool.status().size, 1, "#2 only");
    drop(second);
}

#[test]
fn a_reset_that_fails_after_its_bound_is_reported_with_the_lease_it_came_from() {
    let faults = Faults::new();
    faults.inject(Op::Reset, "slow", 1, Fault::Delay(BOUND * 4));
    faults.inject(Op::Reset, "conn", 1, Fault::Error);
    let (pool, ledger, sink) = pool(&faults, Validation::Never, true);
    let lent_at = line!() + 1;
    drop(pool.get_blocking().unwrap()); // #1, its reset overruns then fails
    let reports = reports_until(&sink, |r| r.iter().any(|(c, _)| c.contains("failed later")));
    let late = reports
        .iter()
        .find(|(c, _)| *c == "pool: a reset abandoned past return_timeout failed later")
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| panic!("{reports:?}"));
    let site = format!("{}:{lent_at}:", file!());
    assert!(
        late.contains(&format!("returned by the lease of the get at {site}"))
            && late.contains("not finished after 50ms")
            && late.ends_with("injected fault: reset #1 of `conn`"),
        "{late}"
    );
    eventually("#1, handed back late, is closed", || {
        ledger.ending(1).is_some()
    });
    let stats = pool.statistics();
    assert_eq!((stats.abandoned, stats.destroyed.reset_failed), (1, 0));
}
