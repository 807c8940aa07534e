//! Async callbacks pushed with a name are reported by that name when they panic or, run
//! orphaned, miss their deadline; unnamed ones as a generic "async callback".
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use common::quiet_expected_panics;
use tenure::orphan::Orphans;
use tenure::{AsyncExitStack, ErrorKind, Outcome};

fn orphaned_stack(orphans: &Orphans) -> AsyncExitStack {
    AsyncExitStack::new()
        .with_deadline(Duration::from_secs(5))
        .with_orphans(orphans.clone())
}

#[tokio::test]
async fn an_orphaned_named_callback_that_panics_is_reported_by_name() {
    quiet_expected_panics();
    let orphans = Orphans::new();
    let mut stack = orphaned_stack(&orphans);
    let pushed_at = format!("{}:{}:11", file!(), line!() + 1);
    stack.async_callback(|| async { panic!("[expected] unnamed") });
    stack
        .named("flush metrics")
        .async_callback(|| async { panic!("[expected] named") });
    drop(stack);
    orphans.join().await;

    let errors = orphans.take_errors();
    let named: Vec<_> = errors.iter().map(|e| (e.kind(), e.resource())).collect();
    // An unnamed callback is reported where it was pushed, never by its closure's type.
    assert_eq!(
        named,
        [
            (ErrorKind::Panic, "flush metrics"),
            (ErrorKind::Panic, pushed_at.as_str()),
        ]
    );
    assert_eq!(errors[0].detail(), Some("[expected] named"));
}

#[tokio::test(start_paused = true)]
async fn an_orphaned_named_callback_past_its_deadline_is_reported_by_name() {
    let orphans = Orphans::new();
    let mut stack = orphaned_stack(&orphans);
    stack
        .named("drain queue")
        .async_callback(std::future::pending::<()>);
    drop(stack);
    orphans.join().await;

    let errors = orphans.take_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].kind(), errors[0].resource()),
        (ErrorKind::Timeout, "drain queue")
    );
}

#[tokio::test]
async fn a_named_callback_panicking_while_the_body_panics_is_an_error_by_name() {
    quiet_expected_panics();
    let mut stack = AsyncExitStack::new();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    stack.named("after").async_callback(move || async move {
        flag.store(true, std::sync::atomic::Ordering::SeqCst)
    });
    stack.named("flush metrics").async_callback(|| async {
        tokio::task::yield_now().await;
        panic!("[expected] exporter gone")
    });
    let body: Box<dyn std::any::Any + Send> = Box::new("[expected] body");
    let err = stack.unwind_with(Outcome::Panic(&*body)).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.resource(), err.detail()),
        (
            ErrorKind::Panic,
            "flush metrics",
            Some("[expected] exporter gone")
        )
    );
    assert!(
        ran.load(std::sync::atomic::Ordering::SeqCst),
        "the next one still ran"
    );
}

#[tokio::test]
async fn a_named_callback_that_panics_before_its_future_exists_is_reported_by_name() {
    quiet_expected_panics();
    let orphans = Orphans::new();
    let mut stack = orphaned_stack(&orphans);
    stack.named("open report").try_async_callback(|| {
        if std::hint::black_box(true) {
            panic!("[expected] no future");
        }
        async { Ok::<(), std::io::Error>(()) }
    });
    stack.named("close report").async_callback(|| {
        if std::hint::black_box(true) {
            panic!("[expected] no future either");
        }
        async {}
    });
    let body: Box<dyn std::any::Any + Send> = Box::new("[expected] body");
    let err = stack.unwind_with(Outcome::Panic(&*body)).await.unwrap_err();
    let named: Vec<_> = err.iter().map(|e| (e.kind(), e.resource())).collect();
    assert_eq!(
        named,
        [
            (ErrorKind::Panic, "close report"),
            (ErrorKind::Panic, "open report"),
        ]
    );
}
