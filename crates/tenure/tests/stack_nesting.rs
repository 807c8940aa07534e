//! `ExitStack::enter_stack`: a stack nested in another runs in place, sees the outer
//! outcome, and reports its errors as the outer stack's own; named callbacks name their
//! errors. A stack is also a resource: a `Vec` of stacks closes them all, and `unwind`
//! leaves one reusable.

mod common;

use common::{panic_msg, quiet_expected_panics, whats, Boom, Log};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tenure::{suppress, Close, Exit, ExitStack, Outcome, ScopeError};

#[test]
fn nested_entries_run_in_place_lifo() {
    let log = Log::new();
    let mut inner = ExitStack::new();
    inner.callback(log.pusher("inner 1"));
    inner.callback(log.pusher("inner 2"));
    let mut outer = ExitStack::new();
    outer.callback(log.pusher("outer 1"));
    outer.splice(inner);
    outer.callback(log.pusher("outer 3"));
    outer.unwind().unwrap();
    assert_eq!(log.get(), ["outer 3", "inner 2", "inner 1", "outer 1"]);
}

#[test]
fn nested_errors_are_flat_and_in_order() {
    let mut inner = ExitStack::new();
    inner.try_callback(|| Err(Boom::new("inner first pushed")));
    inner.try_callback(|| Err(Boom::new("inner last pushed")));
    let mut outer = ExitStack::new();
    outer.try_callback(|| Err(Boom::new("outer first pushed")));
    outer.splice(inner);
    outer.try_callback(|| Err(Boom::new("outer last pushed")));
    let err = outer.unwind().unwrap_err();
    assert_eq!(
        whats(&err),
        [
            "outer last pushed",
            "inner last pushed",
            "inner first pushed",
            "outer first pushed"
        ]
    );
}

#[test]
fn nested_exit_callback_sees_the_outer_body_error_and_can_suppress_it() {
    let seen = Log::new();
    let mut inner = ExitStack::new();
    inner.suppress(suppress::error_type::<Boom>());
    let s = seen.clone();
    inner.try_push_exit(move |o: &Outcome<'_>| {
        s.push(o.to_string());
        Ok::<_, Boom>(Exit::Propagate)
    });
    let r: Result<(), _> = ExitStack::scope(|outer| {
        outer.splice(inner);
        Err(Boom::new("body failed"))
    });
    assert!(matches!(r, Err(ScopeError::Suppressed(Boom(ref m))) if m == "body failed"));
    assert_eq!(seen.get(), ["error: body failed"]);
}

#[test]
fn nested_panic_runs_everything_then_resumes_once() {
    quiet_expected_panics();
    let log = Log::new();
    let mut inner = ExitStack::new();
    inner.callback(log.pusher("inner 1"));
    inner.callback(|| panic!("[expected] inner"));
    inner.callback(log.pusher("inner 3"));
    let mut outer = ExitStack::new();
    outer.callback(log.pusher("outer 1"));
    outer.splice(inner);
    outer.callback(log.pusher("outer 3"));
    let payload = catch_unwind(AssertUnwindSafe(|| outer.unwind())).unwrap_err();
    assert_eq!(panic_msg(&*payload), "[expected] inner");
    assert_eq!(log.get(), ["outer 3", "inner 3", "inner 1", "outer 1"]);
    assert!(outer.is_empty());
}

#[test]
fn named_callbacks_name_their_errors() {
    let mut s = ExitStack::new();
    s.named("remove lock file")
        .try_callback(|| Err(Boom::new("EPERM")));
    s.named("commit")
        .try_push_exit(|_: &Outcome<'_>| Err::<Exit, _>(Boom::new("conflict")));
    let err = s.unwind().unwrap_err();
    let names: Vec<_> = err.iter().map(|e| e.resource().to_string()).collect();
    assert_eq!(names, ["commit", "remove lock file"]);
    assert_eq!(
        err.to_string(),
        "cleanup callback failed: `commit` (+1 suppressed cleanup error)"
    );
}

#[test]
fn a_stack_closes_as_a_resource_in_a_vec_and_is_reusable_with_unwind() {
    let log = common::Log::new();
    let mut stacks = vec![ExitStack::new(), ExitStack::new()];
    stacks[0].callback(log.pusher("first"));
    stacks[1].callback(log.pusher("second"));
    Close::close(stacks).unwrap();
    assert_eq!(log.take(), ["second", "first"]);

    let mut s = ExitStack::new();
    s.callback(log.pusher("use 1"));
    s.unwind().unwrap();
    s.callback(log.pusher("use 2"));
    s.close().unwrap();
    assert_eq!(log.take(), ["use 1", "use 2"]);
}
