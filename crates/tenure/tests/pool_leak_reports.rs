//! A leak report names its pool in a field of its own (a name built at run time), says on
//! return whether a report was made while the lease was held, and its `context()` says what
//! a static text can.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::Arc;
use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::pool::{Pool, PoolConfig};
use tenure::sink::{CollectingSink, DropReport};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, reporting_pool};

fn pool(tenant: u32) -> (Pool<TestManager>, ManualClock, Arc<CollectingSink>) {
    let (pool, _, time, sink) = reporting_pool(PoolConfig {
        leak_threshold: Some(Duration::from_secs(30)),
        name: format!("tenant-{tenant}").into(),
        ..base()
    });
    (pool, time, sink)
}

/// (pool, returned, reported_while_held, text) of each report.
fn reports(sink: &CollectingSink) -> Vec<(String, bool, bool, String)> {
    sink.take()
        .into_iter()
        .map(|r| {
            assert_eq!(r.context(), "pool: a lease held past leak_threshold");
            let text = r.to_string();
            match r {
                DropReport::LeaseHeldTooLong {
                    pool,
                    returned,
                    reported_while_held,
                    ..
                } => (pool.into_owned(), returned, reported_while_held, text),
                other => panic!("not a leak report: {other}"),
            }
        })
        .collect()
}

#[test]
fn a_lease_back_before_maintenance_saw_it_gets_one_report_that_says_so() {
    let (pool, time, sink) = pool(7);
    let lease = pool.get_blocking().unwrap();
    time.advance(Duration::from_secs(31));
    drop(lease);
    let only = reports(&sink);
    assert_eq!(only.len(), 1);
    let (name, returned, reported_while_held, text) = &only[0];
    assert_eq!(
        (&name[..], returned, reported_while_held),
        ("tenant-7", &true, &false)
    );
    assert!(
        text.starts_with("pool `tenant-7`: a lease acquired at "),
        "{text}"
    );
    assert!(text.ends_with("; not seen while held)"), "{text}");
}

#[test]
fn a_lease_seen_while_held_is_reported_twice_the_second_saying_so() {
    let (pool, time, sink) = pool(8);
    let lease = pool.get_blocking().unwrap();
    time.advance(Duration::from_secs(31));
    pool.maintain();
    drop(lease);
    let both: Vec<_> = reports(&sink)
        .into_iter()
        .map(|(name, returned, seen, _)| (name, returned, seen))
        .collect();
    assert_eq!(
        both,
        [
            ("tenant-8".to_string(), false, false),
            ("tenant-8".to_string(), true, true)
        ]
    );
    assert_eq!(pool.statistics().leaks, 1);
}
