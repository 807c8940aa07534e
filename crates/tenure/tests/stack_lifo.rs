//! `ExitStack` releases every entry exactly once, last in first out, whatever the earlier
//! ones did; handles reach the resources while the stack holds them and say `Closed` after;
//! `scope` reports the body's error and the cleanup errors without losing either;
//! `is_empty` says whether entries wait; exit callbacks that cannot fail need no error type.

mod common;

use std::convert::Infallible;
use std::error::Error as _;
use std::io;

use common::{capture, warnings, what, whats, Boom, DropLogged, Log};
use tenure::close::close_with;
use tenure::testing::{Ledger, Op};
use tenure::{suppress, ErrorKind, Exit, ExitStack, Outcome, ScopeError};

/// A resource released by `Close` that logs its release and may fail.
fn closer(log: &Log, name: &'static str, fail: bool) -> impl tenure::Close<Error = Boom> {
    let log = log.clone();
    close_with(name, move |name| {
        log.push(format!("close {name}"));
        if fail {
            Err(Boom::new(format!("{name} failed")))
        } else {
            Ok(())
        }
    })
}

/// One of each kind of entry, all logging; `fail` makes every fallible one fail.
fn push_every_kind<'a>(s: &mut ExitStack<'a>, log: &'a Log, fail: bool) {
    s.callback(log.pusher("callback"));
    s.try_callback(move || {
        log.push("try_callback");
        if fail {
            Err(Boom::new("try_callback failed"))
        } else {
            Ok(())
        }
    });
    s.try_push_exit(move |_| {
        log.push("exit");
        if fail {
            Err(Boom::new("exit failed"))
        } else {
            Ok(Exit::Propagate)
        }
    });
    s.enter(closer(log, "enter", fail));
    s.named("named").enter(closer(log, "enter_named", fail));
    s.enter(tenure::close::Dropping(DropLogged {
        name: "hold",
        log: log.clone(),
    }));
    s.suppress(suppress::when("never", |_| false));
    s.callback(log.pusher("last"));
}

const LIFO: [&str; 7] = [
    "last",
    "drop hold",
    "close enter_named",
    "close enter",
    "exit",
    "try_callback",
    "callback",
];

#[test]
fn every_kind_of_entry_runs_once_in_reverse() {
    let log = Log::new();
    let mut s = ExitStack::new();
    push_every_kind(&mut s, &log, false);
    assert_eq!(s.len(), 8);
    s.unwind().unwrap();
    assert_eq!(log.take(), LIFO);
    assert!(s.is_empty());
    s.unwind().unwrap();
    assert!(log.get().is_empty(), "closing again runs nothing");
}

#[test]
fn failures_do_not_skip_the_others_and_all_come_back_in_order() {
    let log = Log::new();
    let mut s = ExitStack::new();
    push_every_kind(&mut s, &log, true);
    let e = s.unwind().unwrap_err();
    assert_eq!(log.take(), LIFO);
    assert_eq!(
        whats(&e),
        [
            "enter_named failed",
            "enter failed",
            "exit failed",
            "try_callback failed"
        ]
    );
    let kinds: Vec<_> = e.iter().map(|e| e.kind()).collect();
    use ErrorKind::*;
    assert_eq!(kinds, [Close, Close, Callback, Callback]);
    assert_eq!(e.resource(), "named");
    // An unnamed resource whose type is a closure's is named by where it was entered.
    assert!(e.suppressed()[0]
        .resource()
        .starts_with("crates/tenure/tests/stack_lifo.rs:"));
    assert_eq!(
        e.to_string(),
        "failed to close `named` (+3 suppressed cleanup errors)"
    );
}

#[test]
fn ledger_resources_are_released_last_acquired_first() {
    let ledger = Ledger::new();
    let mut s = ExitStack::new();
    for _ in 0..5 {
        s.enter(ledger.acquire("conn").unwrap());
    }
    assert_eq!(ledger.live_count(), 5);
    s.unwind().unwrap();
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [5, 4, 3, 2, 1]);
}

#[test]
fn a_failing_close_still_releases_and_the_rest_follow() {
    let ledger = Ledger::new();
    ledger.faults().fail_nth(Op::Close, "conn", 2);
    let mut s = ExitStack::new();
    for _ in 0..4 {
        s.enter(ledger.acquire("conn").unwrap());
    }
    let e = s.unwind().unwrap_err();
    assert_eq!(whats(&e), ["injected fault: close #2 of `conn`"]);
    assert!(e.resource().contains("TestResource"));
    ledger.assert_all_released();
    assert_eq!(ledger.release_order(), [4, 3, 2, 1]);
}

#[test]
fn drop_without_close_runs_everything_and_reports_errors_by_name() {
    let log = Log::new();
    let ((), events) = capture(|| {
        let mut s = ExitStack::new();
        push_every_kind(&mut s, &log, true);
    });
    assert_eq!(log.take(), LIFO);
    let warns = warnings(&events);
    let resources: Vec<_> = warns.iter().map(|w| w.field("resource").unwrap()).collect();
    assert_eq!(resources.len(), 4, "{warns:#?}");
    assert_eq!(resources[0], "named");
    assert!(resources[1].starts_with("crates/tenure/tests/stack_lifo.rs:"));
    assert!(warns
        .iter()
        .all(|w| w.field("context") == Some("ExitStack::drop")));
    assert_eq!(warns[0].field("suppressed"), Some("false"));
    assert!(warns[1..]
        .iter()
        .all(|w| w.field("suppressed") == Some("true")));
    assert!(warns[0].message().contains("enter_named failed"));
    assert!(warns[3].message().contains("try_callback failed"));
}

#[test]
fn drop_of_an_empty_or_closed_stack_reports_nothing() {
    let ((), events) = capture(|| {
        let mut s = ExitStack::new();
        s.try_callback(|| Err(Boom::new("returned by close")));
        assert!(s.unwind().is_err());
        drop(s);
        drop(ExitStack::new());
    });
    assert!(warnings(&events).is_empty(), "{events:#?}");
}

#[test]
fn handles_reach_resources_while_held() {
    let mut s = ExitStack::new();
    let a = s.enter(tenure::close::Dropping(String::from("a")));
    let b = s.enter(tenure::close::Dropping(vec![1]));
    s[a].push('!');
    s.get_mut(b).unwrap().push(2);
    assert_eq!(*s[a], "a!");
    assert_eq!(**s.get(a).unwrap(), "a!");
    assert_eq!(s[b].0, [1, 2]);
    assert_eq!(
        format!("{a:?}").split('(').next(),
        Some("Handle<tenure::close::Dropping<alloc::string::String>>")
    );
}

#[test]
fn handles_say_closed_after_close_and_after_reuse() {
    let mut s = ExitStack::new();
    let h = s.enter(tenure::close::Dropping(7_u32));
    s.unwind().unwrap();
    let e = s.get(h).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    assert_eq!(e.resource(), "tenure::close::Dropping<u32>");
    assert_eq!(s.get_mut(h).unwrap_err().kind(), ErrorKind::Closed);

    // Reused: a new entry sits where the old one was; the old handle must not reach it.
    let h2 = s.enter(tenure::close::Dropping(8_u32));
    assert_eq!(s.get(h).unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(*s[h2], 8);
}

#[test]
fn indexing_with_a_stale_handle_panics_with_a_clear_message() {
    common::quiet_expected_panics();
    let mut s = ExitStack::new();
    let h = s.enter(tenure::close::Dropping(1_i32));
    s.unwind().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| *s[h]));
    let msg = common::panic_msg(&*r.unwrap_err());
    assert!(
        msg.contains("used after its ExitStack was closed or emptied by pop_all"),
        "{msg}"
    );
}

#[test]
fn handles_follow_pop_all_to_the_new_stack() {
    let log = Log::new();
    let mut setup = ExitStack::new();
    let h = setup.enter(tenure::close::Dropping(String::from("conn")));
    setup.callback(log.pusher("cleanup"));
    let mut kept = setup.pop_all();
    assert!(setup.is_empty());
    assert_eq!(setup.get(h).unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(*kept[h], "conn");
    kept[h].push_str("-1");
    // The emptied stack keeps working, with its own handles.
    let other = setup.enter(tenure::close::Dropping(5_u8));
    assert_eq!(*setup[other], 5);
    assert!(kept.get(other).is_err());
    assert!(setup.get(h).is_err());
    drop(setup);
    assert!(log.get().is_empty(), "pop_all moved the callback away");
    // Entries pushed on the new stack get handles that work beside the old ones.
    let h3 = kept.enter(tenure::close::Dropping(3_u64));
    assert_eq!((kept[h].as_str(), *kept[h3]), ("conn-1", 3));
    kept.unwind().unwrap();
    assert_eq!(log.get(), ["cleanup"]);
    assert!(kept.get(h).is_err());
}

#[test]
fn handles_of_another_stack_are_rejected() {
    let mut a = ExitStack::new();
    let mut b = ExitStack::new();
    let ha = a.enter(tenure::close::Dropping(1_u8));
    let _hb = b.enter(tenure::close::Dropping(2_u8));
    assert_eq!(b.get(ha).unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn scope_body_error_with_cleanup_errors() {
    let r = ExitStack::scope(|s| {
        s.try_callback(|| Err(Boom::new("second")));
        s.try_callback(|| Err(Boom::new("first")));
        Err::<(), _>(Boom::new("body"))
    });
    let e = r.unwrap_err();
    assert_eq!(e.body().unwrap().0, "body");
    assert_eq!(whats(e.cleanup().unwrap()), ["first", "second"]);
    assert!(!e.is_suppressed());
    assert_eq!(e.to_string(), "body (+2 cleanup errors)");
    // Transparent over the body's error: its source is the body error's own (none here).
    assert!(e.source().is_none());
    assert!(matches!(
        e,
        ScopeError::Body {
            cleanup: Some(_),
            ..
        }
    ));
}

#[test]
fn scope_body_error_alone() {
    let r = ExitStack::scope(|s| {
        s.callback(|| {});
        Err::<(), _>(Boom::new("body"))
    });
    let e = r.unwrap_err();
    assert!(matches!(e, ScopeError::Body { cleanup: None, .. }));
    assert!(e.cleanup().is_none());
    assert_eq!(e.to_string(), "body");
}

#[test]
fn scope_cleanup_error_after_success() {
    let r = ExitStack::scope(|s| {
        s.named("out.csv")
            .enter(close_with((), |()| Err(Boom::new("disk full"))));
        Ok::<_, Boom>(42)
    });
    let e = r.unwrap_err();
    let ScopeError::Cleanup(c) = &e else {
        panic!("expected Cleanup, got {e:?}");
    };
    assert_eq!(c.resource(), "out.csv");
    assert!(e.body().is_none());
    assert_eq!(e.to_string(), "failed to close `out.csv`");
    assert_eq!(
        e.report().to_string(),
        "failed to close `out.csv`: disk full"
    );
    // Transparent over the cleanup error: its cause is the next link, printed once.
    assert_eq!(e.source().unwrap().to_string(), "disk full");
}

#[test]
fn scope_suppressed_body_error() {
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::error_type::<Boom>());
        Err::<(), _>(Boom::new("expected"))
    });
    let e = r.unwrap_err();
    assert!(e.is_suppressed());
    assert_eq!(e.body().unwrap().0, "expected");
    assert!(e.cleanup().is_none());
    assert_eq!(e.to_string(), "suppressed: expected");
}

#[test]
fn scope_success_returns_the_value_after_cleanup() {
    let log = Log::new();
    let v = ExitStack::scope(|s| {
        s.callback(log.pusher("cleanup"));
        Ok::<_, Boom>(log.get().len())
    })
    .unwrap();
    assert_eq!(v, 0, "the body ran before its cleanup");
    assert_eq!(log.get(), ["cleanup"]);
}

#[test]
fn run_closes_entries_pushed_before_it() {
    let log = Log::new();
    let mut s = ExitStack::new();
    s.callback(log.pusher("before"));
    let r = s.run(|s| {
        s.callback(log.pusher("inside"));
        Err::<(), _>(Boom::new("body"))
    });
    assert!(matches!(r, Err(ScopeError::Body { .. })));
    assert_eq!(log.get(), ["inside", "before"]);
    assert!(s.is_empty());
}

#[test]
fn exit_callbacks_see_the_latest_cleanup_error_when_the_body_succeeded() {
    let seen = Log::new();
    let mut s = ExitStack::new();
    let log = seen.clone();
    s.try_push_exit(move |o| {
        log.push(o.to_string());
        Ok::<_, Infallible>(Exit::Propagate)
    });
    s.try_callback(|| Err(Boom::new("late")));
    let log = seen.clone();
    s.try_push_exit(move |o| {
        log.push(o.to_string());
        Ok::<_, Infallible>(Exit::Propagate)
    });
    s.try_callback(|| Err(Boom::new("early")));
    let e = s.unwind().unwrap_err();
    assert_eq!(whats(&e), ["early", "late"]);
    let seen = seen.get();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].starts_with("error: cleanup callback failed: ") && seen[0].ends_with("early"));
    assert!(seen[1].ends_with("late"), "{seen:?}");
}

#[test]
fn close_with_reports_suppression_of_the_body_error() {
    let mut s = ExitStack::new();
    s.try_push_exit(|o: &Outcome<'_>| {
        Ok::<_, Infallible>(if o.is_failure() {
            Exit::Suppress
        } else {
            Exit::Propagate
        })
    });
    let err = Boom::new("body");
    assert_eq!(s.unwind_with(Outcome::Error(&err)).unwrap(), Exit::Suppress);

    // Suppressing a cleanup error is not suppressing the body: the body had none.
    let mut s = ExitStack::new();
    s.try_push_exit(|_| Ok::<_, Infallible>(Exit::Suppress));
    s.try_callback(|| Err(Boom::new("cleanup")));
    assert_eq!(s.unwind_with(Outcome::Success).unwrap(), Exit::Propagate);

    // Cancelled cannot be suppressed.
    let mut s = ExitStack::new();
    s.try_push_exit(|o| {
        assert_eq!(o.name(), "cancelled");
        Ok::<_, Infallible>(Exit::Suppress)
    });
    assert_eq!(s.unwind_with(Outcome::Cancelled).unwrap(), Exit::Propagate);
}

#[test]
fn error_names_and_causes_survive() {
    let mut s = ExitStack::new();
    s.named(String::from("db connection 7"))
        .enter(close_with((), |()| Err(std::io::Error::other("reset"))));
    let e = s.unwind().unwrap_err();
    assert_eq!(e.resource(), "db connection 7");
    assert_eq!(e.cause::<std::io::Error>().unwrap().to_string(), "reset");
    assert_eq!(what(&e), "reset");
}

#[test]
fn drop_logs_the_errors_of_nested_stacks_too() {
    let mut inner: ExitStack<'static> = ExitStack::new();
    inner.try_callback(|| Err(Boom::new("inner b")));
    inner.try_callback(|| Err(Boom::new("inner a")));
    let ((), events) = capture(|| {
        let mut outer = ExitStack::new();
        outer.try_callback(|| Err(Boom::new("outer z")));
        outer.named("inner stack").enter(inner);
        outer.try_callback(|| Err(Boom::new("outer y")));
    });
    let warns = warnings(&events);
    let text: Vec<_> = warns.iter().map(|w| w.message().to_string()).collect();
    // Each error is logged once on its own line, nested ones right after their parent.
    let expect = ["outer y", "inner stack", "inner a", "inner b", "outer z"];
    assert_eq!(text.len(), expect.len(), "{text:#?}");
    for (line, what) in text.iter().zip(expect) {
        assert!(line.contains(what), "{line:?} should mention {what:?}");
    }
    assert_eq!(warns[0].field("suppressed"), Some("false"));
    assert!(warns[1..]
        .iter()
        .all(|w| w.field("suppressed") == Some("true")));
}

#[test]
fn infallible_exit_callbacks_need_no_error_type() {
    let mut s = ExitStack::new();
    s.push_exit(|o| {
        if o.is_failure() {
            Exit::Suppress
        } else {
            Exit::Propagate
        }
    });
    let err = io::Error::other("body");
    assert_eq!(s.unwind_with(Outcome::Error(&err)).unwrap(), Exit::Suppress);
}

#[test]
fn is_empty_says_whether_entries_wait() {
    let mut s = ExitStack::new();
    assert!(s.is_empty());
    s.callback(|| {});
    assert!(!s.is_empty());
    s.unwind().unwrap();
    assert!(s.is_empty());
}
