//! Panics don't skip cleanup: a panic in the body or in one cleanup leaves every other
//! cleanup to run, exactly once, in order; the panic resumes after all of them, and the
//! errors that cannot ride along with a panic are reported through `tracing`.

mod common;

use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{capture, panic_msg, quiet_expected_panics, warnings, Boom, DropLogged, Log};
use tenure::testing::{Ledger, Op};
use tenure::{Exit, ExitStack, Outcome};

/// Runs `f`, expecting it to panic; returns the panic message and the events it emitted.
fn expect_panic(f: impl FnOnce()) -> (String, Vec<common::Captured>) {
    quiet_expected_panics();
    let (r, events) = capture(|| catch_unwind(AssertUnwindSafe(f)));
    let payload = r.expect_err("expected a panic");
    (panic_msg(&*payload), events)
}

/// An exit callback that records what it saw and asks to suppress it.
fn recording_suppressor(seen: &Log) -> impl FnOnce(&Outcome<'_>) -> Result<Exit, Infallible> {
    let seen = seen.clone();
    move |o| {
        seen.push(o.to_string());
        Ok(Exit::Suppress)
    }
}

#[test]
fn a_cleanup_panic_resumes_after_all_entries_ran() {
    let log = Log::new();
    let (msg, events) = expect_panic(|| {
        let mut s = ExitStack::new();
        s.callback(log.pusher("first registered"));
        s.try_callback(|| Err(Boom::new("after the panic")));
        let l = log.clone();
        s.callback(move || {
            l.push("panicking");
            panic!("[expected] cleanup panic");
        });
        s.callback(log.pusher("last registered"));
        let _ = s.unwind();
        unreachable!("close resumes the panic");
    });
    assert_eq!(msg, "[expected] cleanup panic");
    assert_eq!(
        log.get(),
        ["last registered", "panicking", "first registered"]
    );
    // The cleanup error that happened alongside is not lost: it is logged.
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1, "{events:#?}");
    assert!(warns[0].message().contains("after the panic"));
}

#[test]
fn the_first_cleanup_panic_resumes_and_later_ones_are_reported() {
    let log = Log::new();
    let (msg, events) = expect_panic(|| {
        let mut s = ExitStack::new();
        s.callback(log.pusher("a"));
        s.callback(|| panic!("[expected] second"));
        s.callback(log.pusher("b"));
        s.callback(|| panic!("[expected] first"));
        s.callback(log.pusher("c"));
        let _ = s.unwind();
    });
    assert_eq!(msg, "[expected] first");
    assert_eq!(log.get(), ["c", "b", "a"]);
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1, "{events:#?}");
    assert_eq!(warns[0].field("kind"), Some("Panic"));
    assert!(warns[0].message().contains("[expected] second"));
}

#[test]
fn exit_callbacks_after_a_cleanup_panic_see_it_and_cannot_suppress_it() {
    let seen = Log::new();
    let (msg, _) = expect_panic(|| {
        let mut s = ExitStack::new();
        s.try_push_exit(recording_suppressor(&seen));
        s.callback(|| panic!("[expected] in cleanup"));
        s.try_push_exit(recording_suppressor(&seen));
        let _ = s.unwind();
    });
    assert_eq!(msg, "[expected] in cleanup");
    assert_eq!(seen.get(), ["success", "panic: [expected] in cleanup"]);
}

#[test]
fn a_body_panic_runs_all_cleanup_then_resumes() {
    let log = Log::new();
    let seen = Log::new();
    let (msg, events) = expect_panic(|| {
        let _ = ExitStack::scope(|s| {
            s.enter(tenure::close::Dropping(DropLogged {
                name: "file",
                log: log.clone(),
            }));
            s.try_push_exit(recording_suppressor(&seen));
            s.try_callback(|| Err(Boom::new("cleanup failed too")));
            s.callback(log.pusher("callback"));
            if log.get().is_empty() {
                panic!("[expected] body");
            }
            Ok::<_, Boom>(())
        });
        unreachable!("scope resumes the body's panic");
    });
    assert_eq!(msg, "[expected] body");
    assert_eq!(log.get(), ["callback", "drop file"]);
    // The exit callback saw the panic; asking to suppress it changed nothing.
    assert_eq!(seen.get(), ["panic: [expected] body"]);
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1);
    assert!(warns[0].message().contains("cleanup failed too"));
    assert_eq!(
        warns[0].field("context"),
        Some("ExitStack::scope (resuming the body's panic)")
    );
}

#[test]
fn a_body_panic_wins_over_a_cleanup_panic_which_is_reported() {
    let log = Log::new();
    let (msg, events) = expect_panic(|| {
        let _ = ExitStack::scope(|s| {
            s.callback(log.pusher("outer"));
            s.callback(|| panic!("[expected] cleanup"));
            s.callback(log.pusher("inner"));
            panic!("[expected] body");
            #[allow(unreachable_code)]
            Ok::<_, Boom>(())
        });
    });
    assert_eq!(msg, "[expected] body");
    assert_eq!(log.get(), ["inner", "outer"]);
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1);
    assert_eq!(warns[0].field("kind"), Some("Panic"));
    assert!(warns[0].message().contains("[expected] cleanup"));
}

#[test]
fn a_body_error_overtaken_by_a_cleanup_panic_is_logged() {
    let log = Log::new();
    let (msg, events) = expect_panic(|| {
        let _ = ExitStack::scope(|s| {
            s.callback(log.pusher("after"));
            s.callback(|| panic!("[expected] cleanup"));
            Err::<(), _>(Boom::new("the body's error"))
        });
    });
    assert_eq!(msg, "[expected] cleanup");
    assert_eq!(log.get(), ["after"]);
    assert!(
        warnings(&events)
            .iter()
            .any(|w| w.message().contains("the body's error")),
        "{events:#?}"
    );
}

#[test]
fn drop_without_close_resumes_a_cleanup_panic_after_all_ran() {
    let log = Log::new();
    let (msg, events) = expect_panic(|| {
        let mut s = ExitStack::new();
        s.callback(log.pusher("a"));
        s.try_callback(|| Err(Boom::new("failed in drop")));
        s.callback(|| panic!("[expected] in drop"));
        s.callback(log.pusher("b"));
    });
    assert_eq!(msg, "[expected] in drop");
    assert_eq!(log.get(), ["b", "a"]);
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1);
    assert!(warns[0].message().contains("failed in drop"));
}

#[test]
fn a_stack_dropped_while_unwinding_runs_everything_and_does_not_abort() {
    let log = Log::new();
    let seen = Log::new();
    let (msg, events) = expect_panic(|| {
        let mut s = ExitStack::new();
        s.callback(log.pusher("a"));
        s.try_push_exit(recording_suppressor(&seen));
        // A second panic while the thread unwinds must be caught and reported, or the
        // process would abort.
        s.callback(|| panic!("[expected] during unwind"));
        s.try_callback(|| Err(Boom::new("error during unwind")));
        s.callback(log.pusher("b"));
        panic!("[expected] owner panicked");
    });
    assert_eq!(msg, "[expected] owner panicked");
    assert_eq!(log.get(), ["b", "a"]);
    assert_eq!(seen.get().len(), 1);
    assert!(seen.get()[0].starts_with("panic"), "{:?}", seen.get());
    let warns = warnings(&events);
    let text: Vec<_> = warns.iter().map(|w| w.message().to_string()).collect();
    assert_eq!(warns.len(), 2, "{text:#?}");
    assert!(text[0].contains("error during unwind"));
    assert!(text[1].contains("[expected] during unwind"));
    assert_eq!(warns[1].field("kind"), Some("Panic"));
}

#[test]
fn ledger_resources_are_released_even_when_a_close_panics() {
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 2);
    let (msg, _) = expect_panic(|| {
        let mut s = ExitStack::new();
        for _ in 0..4 {
            s.enter(ledger.acquire("conn").unwrap());
        }
        let _ = s.unwind();
    });
    assert_eq!(msg, "injected fault: close #2 of `conn` (panic)");
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [4, 3, 2, 1]);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 4);
}

#[test]
fn a_panicking_close_is_not_retried() {
    // The entry that panicked was popped before it ran: it runs once, never again, even
    // though the stack is closed or dropped afterwards.
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "conn", 1);
    let mut s = ExitStack::new();
    s.enter(ledger.acquire("conn").unwrap());
    quiet_expected_panics();
    assert!(catch_unwind(AssertUnwindSafe(|| s.unwind())).is_err());
    assert!(s.is_empty());
    s.unwind().unwrap();
    drop(s);
    assert_eq!(ledger.faults().count(Op::Close, "conn"), 1);
    ledger.assert_all_released();
}

#[test]
fn the_stack_is_reusable_after_a_cleanup_panic() {
    let log = Log::new();
    let mut s = ExitStack::new();
    s.callback(|| panic!("[expected] once"));
    quiet_expected_panics();
    assert!(catch_unwind(AssertUnwindSafe(|| s.unwind())).is_err());
    s.callback(log.pusher("again"));
    s.unwind().unwrap();
    assert_eq!(log.get(), ["again"]);
}

#[test]
fn a_panic_in_an_exit_callback_is_a_cleanup_panic() {
    let log = Log::new();
    let (msg, _) = expect_panic(|| {
        let mut s = ExitStack::new();
        s.callback(log.pusher("still runs"));
        s.try_push_exit(|_| -> Result<Exit, Infallible> { panic!("[expected] exit callback") });
        let _ = s.unwind_with(Outcome::Error(&Boom::new("body")));
    });
    assert_eq!(msg, "[expected] exit callback");
    assert_eq!(log.get(), ["still runs"]);
}

#[test]
fn non_string_panic_payloads_are_reported_too() {
    let (_, events) = expect_panic(|| {
        let _ = ExitStack::scope(|s| {
            s.callback(|| std::panic::panic_any(42_u32));
            panic!("[expected] body");
            #[allow(unreachable_code)]
            Ok::<_, Boom>(())
        });
    });
    let warns = warnings(&events);
    assert_eq!(warns.len(), 1);
    assert_eq!(warns[0].field("kind"), Some("Panic"));
    assert!(warns[0].message().contains("<non-string panic payload>"));
}
