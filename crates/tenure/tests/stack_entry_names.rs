//! A name given with `named` is used by the entry pushed next, whatever its kind, in both
//! stacks: a callback or exit callback that cannot fail keeps it for its panic (before,
//! `ExitStack::callback` and `push_exit` threw it away), and it never lands on a later
//! entry.
#![cfg(feature = "tokio")]

mod common;

use std::any::Any;
use std::io;

use common::quiet_expected_panics;
use tenure::close::close_with;
use tenure::{AsyncExitStack, ErrorKind, Exit, ExitStack, Outcome};

/// What `unwind_with` returned, as (kind, resource, detail) per error.
fn named(err: &tenure::Error) -> Vec<(ErrorKind, String, Option<String>)> {
    err.iter()
        .map(|e| {
            (
                e.kind(),
                e.resource().to_string(),
                e.detail().map(str::to_string),
            )
        })
        .collect()
}

fn body_panic() -> Box<dyn Any + Send> {
    Box::new("[expected] body")
}

#[test]
fn a_named_callback_that_panics_is_reported_by_its_name() {
    quiet_expected_panics();
    let mut s = ExitStack::new();
    s.named("flush metrics")
        .callback(|| panic!("[expected] exporter gone"));
    let body = body_panic();
    let err = s.unwind_with(Outcome::Panic(&*body)).unwrap_err();
    assert_eq!(
        named(&err),
        [(
            ErrorKind::Panic,
            "flush metrics".to_string(),
            Some("[expected] exporter gone".to_string())
        )]
    );
}

#[test]
fn a_named_exit_callback_that_panics_is_reported_by_its_name() {
    quiet_expected_panics();
    let mut s = ExitStack::new();
    s.named("release lock")
        .push_exit(|_| panic!("[expected] lock poisoned"));
    s.named("first to run")
        .callback(|| panic!("[expected] resumes after all ran"));
    let sink = std::sync::Arc::new(tenure::sink::CollectingSink::new(8));
    let mut s = s.with_sink(sink.clone());
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.unwind()));
    // The first cleanup panic resumes; the second is an error under its name, which the
    // resuming panic displaces to the stack's sink.
    assert_eq!(
        common::panic_msg(&*caught.unwrap_err()),
        "[expected] resumes after all ran"
    );
    let reports = sink.take();
    assert!(
        matches!(&reports[..], [tenure::sink::DropReport::Cleanup { error, .. }]
            if error.kind() == ErrorKind::Panic && error.resource() == "release lock"),
        "{reports:?}"
    );

    let mut s = ExitStack::new();
    s.named("release lock")
        .push_exit(|_| -> Exit { panic!("[expected] lock poisoned") });
    let body = body_panic();
    let err = s.unwind_with(Outcome::Panic(&*body)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panic);
    assert_eq!(err.resource(), "release lock");
}

#[test]
fn a_name_given_to_a_callback_does_not_land_on_the_next_entry() {
    let mut s = ExitStack::new();
    s.try_callback(|| Err(std::io::Error::other("unnamed")));
    s.named("quiet").callback(|| {});
    s.named("also quiet").push_exit(|_| Exit::Propagate);
    let err = s.close().unwrap_err();
    assert_ne!(err.resource(), "quiet");
    assert_ne!(err.resource(), "also quiet");
    assert!(err.resource().contains(".rs:"), "{}", err.resource());
}

#[test]
fn a_panicking_resource_close_is_reported_by_its_name() {
    quiet_expected_panics();
    let mut s = ExitStack::new();
    s.named("db-1")
        .enter(close_with((), |()| -> Result<(), std::io::Error> {
            panic!("[expected] driver bug")
        }));
    let body = body_panic();
    let err = s.unwind_with(Outcome::Panic(&*body)).unwrap_err();
    assert_eq!((err.kind(), err.resource()), (ErrorKind::Panic, "db-1"));
}

/// Pushes a named callback, fallible callback, exit callback and resource, each panicking,
/// onto `$s` (either stack: the same methods; `$enter` the sync-resource one).
macro_rules! push_panicking {
    ($s:ident, $enter:ident) => {
        $s.named("c").callback(|| panic!("[expected] c"));
        $s.named("t")
            .try_callback(|| -> Result<(), std::io::Error> { panic!("[expected] t") });
        $s.named("x")
            .push_exit(|_| -> Exit { panic!("[expected] x") });
        $s.named("r")
            .$enter(close_with((), |()| -> Result<(), std::io::Error> {
                panic!("[expected] r")
            }));
    };
}

/// Both stacks name the same panicking entries the same way.
#[tokio::test]
async fn both_stacks_name_a_panicking_sync_entry_alike() {
    quiet_expected_panics();
    let body = body_panic();

    let mut sync = ExitStack::new();
    push_panicking!(sync, enter);
    let sync_err = sync.unwind_with(Outcome::Panic(&*body)).unwrap_err();

    let mut asy = AsyncExitStack::new();
    push_panicking!(asy, enter_sync);
    let async_err = asy.unwind_with(Outcome::Panic(&*body)).await.unwrap_err();

    let expected: Vec<_> = ["r", "x", "t", "c"]
        .iter()
        .map(|n| {
            (
                ErrorKind::Panic,
                n.to_string(),
                Some(format!("[expected] {n}")),
            )
        })
        .collect();
    assert_eq!(named(&sync_err), expected);
    assert_eq!(named(&async_err), expected);
}

/// A name given and not used before the stack ran names nothing after it, in both stacks.
#[tokio::test]
async fn a_name_left_pending_when_the_stack_runs_is_dropped() {
    let mut sync = ExitStack::new();
    let _ = sync.named("stale");
    sync.unwind().unwrap();
    sync.try_callback(|| Err(std::io::Error::other("after reuse")));
    assert_ne!(sync.close().unwrap_err().resource(), "stale");

    let mut asy = AsyncExitStack::new();
    let _ = asy.named("stale");
    asy.unwind().await.unwrap();
    asy.try_callback(|| Err(std::io::Error::other("after reuse")));
    assert_ne!(asy.close().await.unwrap_err().resource(), "stale");
}

#[test]
fn naming_works_for_every_kind_of_entry() {
    let mut s = ExitStack::new();
    s.named("resource")
        .enter(close_with((), |()| Err(io::Error::other("r"))));
    s.named("callback")
        .try_callback(|| Err(io::Error::other("c")));
    s.named("exit")
        .try_push_exit(|_: &Outcome<'_>| Err::<Exit, _>(io::Error::other("x")));
    let e = s.close().unwrap_err();
    let names: Vec<_> = e.iter().map(|e| e.resource()).collect();
    assert_eq!(names, ["exit", "callback", "resource"]);
}

#[test]
fn a_name_applies_to_the_next_entry_only() {
    let mut s = ExitStack::new();
    s.named("first").try_callback(|| Err(io::Error::other("1")));
    s.try_callback(|| Err(io::Error::other("2")));
    let e = s.close().unwrap_err();
    assert!(e.resource().starts_with(file!()), "{}", e.resource());
    assert_eq!(e.suppressed()[0].resource(), "first");
}

#[tokio::test]
async fn async_naming_works_for_every_kind_of_entry() {
    let mut s = AsyncExitStack::new();
    s.named("resource")
        .enter(tenure::async_close::async_close_with((), |()| async {
            Err(io::Error::other("r"))
        }));
    s.named("sync resource")
        .enter_sync(close_with((), |()| Err(io::Error::other("s"))));
    s.named("callback")
        .try_callback(|| Err(io::Error::other("c")));
    s.named("async callback")
        .try_async_callback(|| async { Err(io::Error::other("a")) });
    s.named("exit")
        .try_push_exit(|_: &Outcome<'_>| Err::<Exit, _>(io::Error::other("x")));
    s.named("async exit")
        .try_push_async_exit(|_: &Outcome<'_>| async { Err::<Exit, _>(io::Error::other("y")) });
    s.try_async_callback(|| async { Err(io::Error::other("unnamed")) });
    let e = s.close().await.unwrap_err();
    let names: Vec<_> = e.iter().map(|e| e.resource().to_string()).collect();
    assert!(names[0].starts_with(file!()), "{names:?}");
    assert_eq!(
        names[1..],
        [
            "async exit",
            "exit",
            "async callback",
            "callback",
            "sync resource",
            "resource"
        ]
    );
}
