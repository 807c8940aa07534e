//! Leak detection: a lease held past `leak_threshold` is reported with the line that took
//! it, while held and again on return, counted once.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::pool::{Lease, PoolConfig};
use tenure::sink::DropReport;

mod pool_fixture;
use pool_fixture::{base, leak_reports, reporting_pool};

#[test]
fn a_lease_held_past_the_leak_threshold_is_reported_with_its_line_while_held_and_on_return() {
    let (pool, _, time, sink) = reporting_pool(PoolConfig {
        leak_threshold: Some(Duration::from_secs(30)),
        ..base()
    });
    let line = line!() + 1;
    let lease = pool.get_blocking().unwrap();
    assert_eq!(Lease::site(&lease).line(), line);
    time.advance(Duration::from_secs(29));
    pool.maintain();
    assert!(leak_reports(&sink).is_empty(), "not yet");
    time.advance(Duration::from_secs(1));
    pool.maintain();
    pool.maintain(); // reported once while held, however many rounds
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
    pool.maintain();
    assert!(leak_reports(&sink).is_empty());
}

#[test]
fn a_leak_report_reads_well() {
    let r = DropReport::LeaseHeldTooLong {
        pool: "db".into(),
        site: std::panic::Location::caller(),
        held: Duration::from_millis(31_250),
        threshold: Duration::from_secs(30),
        returned: false,
        reported_while_held: false,
    };
    let text = r.to_string();
    assert!(
        text.starts_with("pool `db`: a lease acquired at crates/tenure/tests/pool_leaks.rs:"),
        "{text}"
    );
    assert!(
        text.ends_with("is still held after 31.2s (leak_threshold 30s): a leak?"),
        "{text}"
    );
}
