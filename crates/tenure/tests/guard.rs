//! Scope guards run when the strategy says so — always, only on success, only on failure —
//! on every path out of the scope; `into_inner` and `dismiss` defuse them; `defer!` blocks
//! run in reverse order.

mod common;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{quiet_expected_panics, Boom};
use tenure::guard::Guard;
use tenure::guard::{on_failure, on_success, Always, OnFailure, OnSuccess};
use tenure::{defer, guard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Success,
    ErrorViaCheck,
    ErrorUnchecked,
    Panic,
}

/// Runs a scope holding a guard of strategy `S`; returns whether the guard's closure ran.
fn ran<S: tenure::guard::Strategy>(end: End) -> bool {
    quiet_expected_panics();
    let ran = RefCell::new(false);
    let scope = || -> Result<(), Boom> {
        let mut g: Guard<_, _, S> = Guard::with_strategy(&ran, |r| *r.borrow_mut() = true);
        match end {
            End::Success => Ok(()),
            End::ErrorViaCheck => {
                Guard::check(&mut g, Err(Boom::new("failed")))?;
                unreachable!()
            }
            End::ErrorUnchecked => Err(Boom::new("returned without telling the guard")),
            End::Panic => panic!("[expected] in guarded scope"),
        }
    };
    let _ = catch_unwind(AssertUnwindSafe(scope));
    ran.into_inner()
}

#[test]
fn always_runs_on_every_path() {
    for end in [
        End::Success,
        End::ErrorViaCheck,
        End::ErrorUnchecked,
        End::Panic,
    ] {
        assert!(ran::<Always>(end), "{end:?}");
    }
}

#[test]
fn on_success_runs_only_when_nothing_failed() {
    assert!(ran::<OnSuccess>(End::Success));
    assert!(!ran::<OnSuccess>(End::ErrorViaCheck));
    assert!(!ran::<OnSuccess>(End::Panic));
    // A guard cannot see an error it was not shown: mark it with `check` or `fail`.
    assert!(ran::<OnSuccess>(End::ErrorUnchecked));
}

#[test]
fn on_failure_runs_only_on_a_marked_error_or_a_panic() {
    assert!(!ran::<OnFailure>(End::Success));
    assert!(ran::<OnFailure>(End::ErrorViaCheck));
    assert!(ran::<OnFailure>(End::Panic));
    assert!(!ran::<OnFailure>(End::ErrorUnchecked));
}

#[test]
fn check_hands_the_result_back_for_question_mark() {
    fn step(log: &RefCell<Vec<&'static str>>, input: &str) -> Result<i32, std::num::ParseIntError> {
        let mut g = on_failure(log, |l| l.borrow_mut().push("undo"));
        g.borrow_mut().push("do");
        let n = Guard::check(&mut g, input.parse::<i32>())?;
        assert!(!Guard::is_failed(&g));
        Guard::into_inner(g).borrow_mut().push("commit");
        Ok(n)
    }
    let log = RefCell::new(Vec::new());
    assert_eq!(step(&log, "12").unwrap(), 12);
    assert_eq!(*log.borrow(), ["do", "commit"]);
    log.borrow_mut().clear();
    assert!(step(&log, "twelve").is_err());
    assert_eq!(*log.borrow(), ["do", "undo"]);
}

#[test]
fn fail_marks_the_guard() {
    let log = RefCell::new(Vec::new());
    {
        let mut s = on_success(&log, |l| l.borrow_mut().push("success"));
        let mut f = on_failure(&log, |l| l.borrow_mut().push("failure"));
        Guard::fail(&mut s);
        Guard::fail(&mut f);
        assert!(Guard::is_failed(&s) && Guard::is_failed(&f));
    }
    assert_eq!(*log.borrow(), ["failure"]);
}

#[test]
fn into_inner_defuses_every_strategy_and_returns_the_value() {
    quiet_expected_panics();
    let calls = RefCell::new(0);
    let bump = |_: Vec<u8>| *calls.borrow_mut() += 1;
    assert_eq!(Guard::into_inner(guard::always(vec![1], bump)), [1]);
    assert_eq!(Guard::into_inner(on_success(vec![2], bump)), [2]);
    let mut f = on_failure(vec![3], bump);
    Guard::fail(&mut f);
    assert_eq!(Guard::into_inner(f), [3]);
    // Even while unwinding, a defused guard stays quiet.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let g = on_failure(vec![4], bump);
        let _v = Guard::into_inner(g);
        panic!("[expected] after defusing");
    }));
    assert_eq!(*calls.borrow(), 0);
}

#[test]
fn dismiss_defuses_and_drops_the_value() {
    let log = common::Log::new();
    let value = common::DropLogged {
        name: "value",
        log: log.clone(),
    };
    let l = log.clone();
    let g = guard::always(value, move |_| l.push("closure"));
    Guard::dismiss(g);
    assert_eq!(log.get(), ["drop value"]);
}

#[test]
fn the_closure_receives_the_value() {
    let got = RefCell::new(None);
    {
        let mut g = guard::always(String::from("conn"), |s| *got.borrow_mut() = Some(s));
        g.push_str("-7"); // DerefMut
        assert_eq!(g.len(), 6); // Deref
        assert_eq!(
            format!("{g:?}"),
            r#"Guard { value: "conn-7", failed: false }"#
        );
    }
    assert_eq!(got.into_inner().as_deref(), Some("conn-7"));
}

#[test]
fn guards_run_in_reverse_order_of_creation() {
    let log = RefCell::new(Vec::new());
    {
        let _a = guard::always(&log, |l| l.borrow_mut().push("a"));
        let _b = guard::always(&log, |l| l.borrow_mut().push("b"));
        let _c = guard::always(&log, |l| l.borrow_mut().push("c"));
    }
    assert_eq!(*log.borrow(), ["c", "b", "a"]);
}

#[test]
fn defer_runs_in_reverse_order_on_every_path() {
    quiet_expected_panics();
    let log = RefCell::new(Vec::new());
    let f = |fail: bool| -> Result<(), Boom> {
        defer! { log.borrow_mut().push("first deferred"); }
        defer! { log.borrow_mut().push("second deferred"); }
        log.borrow_mut().push("body");
        if fail {
            return Err(Boom::new("early return"));
        }
        defer! { log.borrow_mut().push("only on the long path"); }
        Ok(())
    };
    f(false).unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "body",
            "only on the long path",
            "second deferred",
            "first deferred"
        ]
    );
    log.borrow_mut().clear();
    assert!(f(true).is_err());
    assert_eq!(*log.borrow(), ["body", "second deferred", "first deferred"]);

    log.borrow_mut().clear();
    let r = catch_unwind(AssertUnwindSafe(|| {
        defer! { log.borrow_mut().push("deferred"); }
        panic!("[expected] in deferring scope");
    }));
    assert!(r.is_err());
    assert_eq!(*log.borrow(), ["deferred"]);
}

#[test]
fn a_guard_runs_exactly_once() {
    let count = RefCell::new(0);
    {
        let g = guard::always((), |()| *count.borrow_mut() += 1);
        let moved = g; // moving the guard does not run it
        drop(moved);
    }
    assert_eq!(*count.borrow(), 1);
}
