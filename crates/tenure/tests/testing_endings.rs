//! The ledger tells a close from a drop, and faults fail by a seeded probability, delay or
//! hang an operation, for every operation a pool has (#13, point 3).

use std::time::Duration;

use tenure::close::Dropping;
use tenure::testing::{Ending, Event, Fault, Faults, Ledger, Op};
use tenure::{AsyncClose, Close, ExitStack};

#[test]
fn a_resource_that_was_only_dropped_is_released_but_not_closed() {
    let ledger = Ledger::new();
    let mut s = ExitStack::new();
    s.enter(ledger.acquire("closed").unwrap());
    s.enter(Dropping(ledger.acquire("held").unwrap())); // dropped by the stack, never closed
    s.close().unwrap();
    ledger.assert_all_released(); // gone, both
    let e = ledger.check_all_closed().unwrap_err();
    assert!(e.live.is_empty());
    assert_eq!(e.dropped.len(), 1);
    assert_eq!(e.dropped[0].kind, "held");
    assert_eq!(e.dropped[0].site.file(), file!()); // where it was acquired
    assert!(e.to_string().contains("`held` acquired at"), "{e}");
    assert_eq!(ledger.ending(1), Some(Ending::Closed));
    assert_eq!(ledger.ending(2), Some(Ending::Dropped));
    assert!(matches!(
        ledger.events().last(),
        Some(Event::Released { id: 1, .. })
    ));
}

#[test]
fn a_failed_close_is_a_close_and_a_live_resource_is_not() {
    let ledger = Ledger::new();
    ledger.faults().fail_nth(Op::Close, "conn", 1);
    assert!(Close::close(ledger.acquire("conn").unwrap()).is_err());
    assert_eq!(ledger.ending(1), Some(Ending::CloseFailed));
    ledger.assert_all_closed();
    let still = ledger.acquire("conn").unwrap();
    let e = ledger.check_all_closed().unwrap_err();
    assert_eq!((e.live.len(), e.dropped.len()), (1, 0));
    assert!(e.to_string().contains("(still live)"));
    Close::close(still).unwrap();
    ledger.assert_all_closed();
}

#[test]
fn token_release_counts_as_a_close() {
    let ledger = Ledger::new();
    ledger.track("lock").release();
    ledger.assert_all_closed();
    drop(ledger.track("lock"));
    assert!(ledger.check_all_closed().is_err());
}

#[test]
fn a_closing_panic_ends_the_resource_as_close_failed() {
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 1);
    let res = ledger.acquire("conn").unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Close::close(res)));
    assert!(r.is_err());
    assert_eq!(ledger.ending(1), Some(Ending::CloseFailed));
}

#[test]
fn seeded_faults_are_reproducible_and_near_their_probability() {
    let draws = |seed| {
        let f = Faults::seeded(seed);
        f.inject_random(Op::Acquire, "conn", 0.2, Fault::Error);
        (0..2000)
            .map(|_| f.check(Op::Acquire, "conn").is_err())
            .collect::<Vec<_>>()
    };
    let a = draws(42);
    assert_eq!(a, draws(42), "same seed, same faults");
    assert_ne!(a, draws(43), "another seed, other faults");
    let failed = a.iter().filter(|x| **x).count();
    assert!((300..=500).contains(&failed), "{failed} of 2000 at p = 0.2");
    // A rule for the Nth call comes first; other kinds and ops are untouched.
    let f = Faults::seeded(1);
    f.inject_random(Op::Validate, "conn", 1.0, Fault::Error);
    f.inject(Op::Validate, "conn", 2, Fault::Delay(Duration::ZERO));
    assert!(f.check(Op::Validate, "conn").is_err());
    assert!(f.check(Op::Validate, "conn").is_ok());
    assert!(f.check(Op::Validate, "other").is_ok());
    assert!(f.check(Op::Reset, "conn").is_ok());
}

#[test]
#[should_panic(expected = "is not within 0.0..=1.0")]
fn a_probability_out_of_range_is_refused() {
    Faults::new().inject_random(Op::Close, "x", 1.5, Fault::Error);
}

#[test]
fn a_delay_takes_at_least_its_time_then_succeeds() {
    let f = Faults::new();
    f.inject(
        Op::Validate,
        "conn",
        1,
        Fault::Delay(Duration::from_millis(20)),
    );
    let t = std::time::Instant::now();
    assert!(f.check(Op::Validate, "conn").is_ok());
    assert!(t.elapsed() >= Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn async_delays_use_the_runtimes_clock_and_hangs_stay_pending() {
    let f = Faults::new();
    f.inject(
        Op::Reset,
        "conn",
        1,
        Fault::Delay(Duration::from_secs(3600)),
    );
    f.inject(Op::Reset, "conn", 2, Fault::Hang);
    let t = tokio::time::Instant::now();
    f.check_async(Op::Reset, "conn").await.unwrap(); // an hour of paused time
    assert!(t.elapsed() >= Duration::from_secs(3600));
    let hung = tokio::time::timeout(
        Duration::from_secs(86_400),
        f.check_async(Op::Reset, "conn"),
    )
    .await;
    assert!(hung.is_err(), "a hang never finishes");
    assert_eq!(f.count(Op::Reset, "conn"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_close_that_hangs_and_is_abandoned_ends_as_dropped() {
    let ledger = Ledger::new();
    ledger.faults().inject(Op::Close, "conn", 1, Fault::Hang);
    let conn = ledger.acquire("conn").unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), AsyncClose::close(conn)).await;
    assert!(r.is_err());
    assert_eq!(ledger.ending(1), Some(Ending::Dropped), "no close finished");
    ledger.assert_all_released();
    assert!(ledger.check_all_closed().is_err());
}
