//! The test helpers themselves: the ledger lists leaks with their kind and acquisition
//! site, records every acquisition and release once, in order; faults fail or panic exactly
//! the Nth call of an operation on a kind, and count every call.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{panic_msg, quiet_expected_panics};
use tenure::testing::{Event, Fault, Faults, InjectedFault, Ledger, Op};
use tenure::Close;

#[test]
fn leaks_are_listed_with_kind_and_acquisition_site() {
    let ledger = Ledger::new();
    let (line_a, a) = (line!(), ledger.acquire("conn").unwrap());
    let b = ledger.track("file");
    let (line_c, c) = (line!(), ledger.track("lock"));
    b.release();

    let leaks = ledger.check_all_released().unwrap_err();
    assert_eq!(leaks.live.len(), 2);
    let (la, lc) = (&leaks.live[0], &leaks.live[1]);
    assert_eq!((la.id, la.kind.as_ref()), (1, "conn"));
    assert_eq!((lc.id, lc.kind.as_ref()), (3, "lock"));
    assert!(la.site.file().ends_with("testing_ledger.rs"), "{}", la.site);
    assert_eq!(la.site.line(), line_a, "acquire reports its caller");
    assert_eq!(lc.site.line(), line_c);
    assert_eq!(
        leaks.to_string(),
        format!(
            "2 resources leaked: #1 `conn` acquired at {}; #3 `lock` acquired at {};",
            la.site, lc.site
        )
    );

    drop(a);
    drop(c);
    assert!(ledger.check_all_released().is_ok());
}

#[test]
fn assert_all_released_panics_listing_the_leaks() {
    quiet_expected_panics();
    let ledger = Ledger::new();
    let _conn = ledger.track("conn");
    let r = catch_unwind(AssertUnwindSafe(|| ledger.assert_all_released()));
    let msg = panic_msg(&*r.unwrap_err());
    assert!(
        msg.starts_with("1 resource leaked: #1 `conn` acquired at "),
        "{msg}"
    );
    assert!(msg.contains("testing_ledger.rs:"), "{msg}");
}

#[test]
fn events_record_each_acquisition_and_release_once_in_order() {
    let ledger = Ledger::new();
    let a = ledger.track("a");
    let b = ledger.acquire("b").unwrap();
    b.close().unwrap();
    a.release(); // then dropped: recorded once
    assert_eq!(
        ledger.events(),
        [
            Event::Acquired {
                id: 1,
                kind: "a".into()
            },
            Event::Acquired {
                id: 2,
                kind: "b".into()
            },
            Event::Released {
                id: 2,
                kind: "b".into()
            },
            Event::Released {
                id: 1,
                kind: "a".into()
            },
        ]
    );
    assert_eq!(ledger.release_order(), [2, 1]);
    assert_eq!(ledger.acquired_count(), 2);
    assert_eq!(ledger.live_count(), 0);
}

#[test]
fn clones_share_the_ledger_and_the_faults() {
    let ledger = Ledger::new();
    let other = ledger.clone();
    let _t = other.track("x");
    assert_eq!(ledger.live_count(), 1);
    other.faults().fail_nth(Op::Acquire, "y", 1);
    assert!(ledger.acquire("y").is_err());
    let faults = ledger.faults().clone();
    assert_eq!(faults.count(Op::Acquire, "y"), 1);
}

#[test]
fn faults_fail_exactly_the_nth_call_of_an_op_on_a_kind() {
    let f = Faults::new();
    f.fail_nth(Op::Close, "file", 2)
        .fail_nth(Op::Close, "file", 4);
    let results: Vec<bool> = (0..5).map(|_| f.check(Op::Close, "file").is_ok()).collect();
    assert_eq!(results, [true, false, true, false, true]);
    // Other kinds and other operations are counted apart.
    assert!(f.check(Op::Close, "socket").is_ok());
    assert!(f.check(Op::Acquire, "file").is_ok());
    assert!(f.check(Op::Validate, "file").is_ok());
    assert_eq!(f.count(Op::Close, "file"), 5);
    assert_eq!(f.count(Op::Close, "socket"), 1);
    assert_eq!(f.count(Op::Acquire, "file"), 1);
    assert_eq!(f.count(Op::Acquire, "never"), 0);
}

#[test]
fn an_injected_fault_says_what_failed() {
    let f = Faults::new();
    f.fail_nth(Op::Validate, "conn", 1);
    let e = f.check(Op::Validate, "conn").unwrap_err();
    assert_eq!(
        e,
        InjectedFault {
            op: Op::Validate,
            kind: "conn".into(),
            n: 1
        }
    );
    assert_eq!(e.to_string(), "injected fault: validate #1 of `conn`");
}

#[test]
fn faults_panic_on_the_nth_call() {
    quiet_expected_panics();
    let f = Faults::new();
    f.panic_nth(Op::Acquire, "db", 2);
    assert!(f.check(Op::Acquire, "db").is_ok());
    let r = catch_unwind(AssertUnwindSafe(|| f.check(Op::Acquire, "db")));
    assert_eq!(
        panic_msg(&*r.unwrap_err()),
        "injected fault: acquire #2 of `db` (panic)"
    );
    assert!(f.check(Op::Acquire, "db").is_ok(), "only the 2nd");
    assert_eq!(f.count(Op::Acquire, "db"), 3);

    f.inject(Op::Close, "db", 1, Fault::Panic);
    assert!(catch_unwind(AssertUnwindSafe(|| f.check(Op::Close, "db"))).is_err());
}

#[test]
fn a_failed_acquire_records_nothing() {
    let ledger = Ledger::new();
    ledger.faults().fail_nth(Op::Acquire, "conn", 1);
    let e = ledger.acquire("conn").unwrap_err();
    assert_eq!(e.op, Op::Acquire);
    assert_eq!(ledger.acquired_count(), 0);
    assert!(ledger.events().is_empty());
    let ok = ledger.acquire("conn").unwrap();
    assert_eq!(ok.id(), 1);
    assert_eq!(ledger.faults().count(Op::Acquire, "conn"), 2);
}

#[test]
fn a_resource_is_released_whether_its_close_succeeds_fails_or_panics() {
    quiet_expected_panics();
    let ledger = Ledger::new();
    ledger.faults().fail_nth(Op::Close, "conn", 2);
    ledger.faults().panic_nth(Op::Close, "conn", 3);
    let rs: Vec<_> = (0..4).map(|_| ledger.acquire("conn").unwrap()).collect();
    let mut it = rs.into_iter();
    assert!(it.next().unwrap().close().is_ok());
    let e = it.next().unwrap().close().unwrap_err();
    assert_eq!(e.to_string(), "injected fault: close #2 of `conn`");
    let third = it.next().unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| third.close())).is_err());
    drop(it); // the fourth is released by drop, without a close
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [1, 2, 3, 4]);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 3);
}

#[test]
fn test_resources_know_their_id_and_kind() {
    let ledger = Ledger::new();
    let _a = ledger.acquire("a").unwrap();
    let b = ledger.acquire("b").unwrap();
    assert_eq!((b.id(), b.kind()), (2, "b"));
    assert!(b.release().is_ok());
    assert_eq!(ledger.live()[0].kind, "a");
}

#[test]
fn the_ledger_works_across_threads() {
    let ledger = Ledger::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            let ledger = &ledger;
            s.spawn(move || {
                for _ in 0..25 {
                    let r = ledger.acquire(format!("t{t}")).unwrap();
                    r.close().unwrap();
                }
            });
        }
    });
    assert_eq!(ledger.acquired_count(), 100);
    ledger.assert_all_released();
    assert_eq!(ledger.events().len(), 200);
}

#[test]
fn debug_output_summarises() {
    let ledger = Ledger::new();
    let _t = ledger.track("x");
    assert_eq!(format!("{ledger:?}"), "Ledger { acquired: 1, live: 1 }");
    assert_eq!(format!("{:?}", ledger.track("y")), "Token(#2 `y`)");
    assert_eq!(Op::Acquire.to_string(), "acquire");
}
