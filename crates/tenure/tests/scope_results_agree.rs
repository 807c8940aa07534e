//! `ExitStack::scope` and `AsyncExitStack::scope` give the same result for the same body
//! and the same cleanups: every combination of a body that succeeds, fails or panics with
//! up to three cleanups that succeed, fail, panic, or suppress the body's error, in every
//! order. Compared: the result (or the panic that comes out), which cleanups ran, and what
//! each exit callback saw.
#![cfg(feature = "tokio")]

mod common;

use std::fmt::Display;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt as _;
use tenure::{AsyncExitStack, Exit, ExitStack, Outcome, ScopeError};

/// One cleanup, pushed in order (so run in reverse).
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A callback that succeeds.
    Fine,
    /// A callback that fails with this message.
    Fail(&'static str),
    /// A callback that panics with this message.
    Panic(&'static str),
    /// An exit callback that suppresses an error outcome.
    Suppress,
}

/// How the body ends.
#[derive(Debug, Clone, Copy)]
enum End {
    Value(u32),
    Fail(&'static str),
    Panic(&'static str),
}

type Log = Arc<Mutex<Vec<String>>>;

fn io(msg: &str) -> std::io::Error {
    std::io::Error::other(msg.to_string())
}

/// Pushes `step` through `$s` (an `ExitStack` or an `AsyncExitStack`: the same methods).
macro_rules! push {
    ($s:expr, $step:expr, $log:expr) => {{
        let log = $log.clone();
        match $step {
            Step::Fine => $s.callback(move || log.lock().unwrap().push("fine".into())),
            Step::Fail(msg) => $s.named(msg).try_callback(move || {
                log.lock().unwrap().push(format!("fail {msg}"));
                Err(io(msg))
            }),
            Step::Panic(msg) => {
                $s.named(msg)
                    .try_callback(move || -> Result<(), std::io::Error> {
                        log.lock().unwrap().push(format!("panic {msg}"));
                        panic!("{msg} [expected]");
                    })
            }
            Step::Suppress => $s.try_push_exit(move |o: &Outcome<'_>| {
                log.lock().unwrap().push(format!("exit saw {o}"));
                Ok::<_, std::io::Error>(if o.error().is_some() {
                    Exit::Suppress
                } else {
                    Exit::Propagate
                })
            }),
        }
    }};
}

fn body(end: End) -> Result<u32, std::io::Error> {
    match end {
        End::Value(v) => Ok(v),
        End::Fail(msg) => Err(io(msg)),
        End::Panic(msg) => panic!("{msg} [expected]"),
    }
}

/// The result in words: which variant, the body's error, every cleanup error in order; or
/// the panic that came out.
fn summary<E: Display>(r: std::thread::Result<Result<u32, ScopeError<E>>>) -> String {
    let cleanup = |e: Option<&tenure::Error>| {
        e.map(|e| {
            e.iter()
                .map(|e| match std::error::Error::source(e) {
                    Some(c) => c.to_string(),
                    None => e.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    match r {
        Err(payload) => format!("panicked: {}", common::panic_msg(&*payload)),
        Ok(Ok(v)) => format!("ok {v}"),
        Ok(Err(ScopeError::Body { error, cleanup: c })) => {
            format!("body {error}; cleanup {:?}", cleanup(c.as_ref()))
        }
        Ok(Err(ScopeError::Cleanup(c))) => format!("cleanup {:?}", cleanup(Some(&c))),
        Ok(Err(ScopeError::Suppressed(error))) => format!("suppressed {error}"),
    }
}

fn sync_scope(end: End, steps: &[Step]) -> (String, Vec<String>) {
    let log = Log::default();
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        ExitStack::scope(|s| {
            for &step in steps {
                push!(s, step, log);
            }
            body(end)
        })
    }));
    let log = log.lock().unwrap().clone();
    (summary(r), log)
}

async fn async_scope(end: End, steps: &[Step]) -> (String, Vec<String>) {
    let log = Log::default();
    let (plan, l) = (steps.to_vec(), log.clone());
    let r = AssertUnwindSafe(AsyncExitStack::scope(async move |s| {
        for step in plan {
            push!(s, step, l);
        }
        tokio::task::yield_now().await;
        body(end)
    }))
    .catch_unwind()
    .await;
    let log = log.lock().unwrap().clone();
    (summary(r), log)
}

/// The cleanups the plans are made of.
const KINDS: [Step; 5] = [
    Step::Fine,
    Step::Fail("a"),
    Step::Fail("b"),
    Step::Panic("p"),
    Step::Suppress,
];

/// Whether `log` shows every step of `plan` run exactly once, in reverse order of pushing.
fn ran_in_reverse(plan: &[Step], log: &[String]) -> bool {
    log.len() == plan.len()
        && plan.iter().rev().zip(log).all(|(step, line)| match step {
            Step::Fine => line == "fine",
            Step::Fail(m) => *line == format!("fail {m}"),
            Step::Panic(m) => *line == format!("panic {m}"),
            Step::Suppress => line.starts_with("exit saw "),
        })
}

/// Every sequence of up to three of `kinds`.
fn plans(kinds: &[Step]) -> Vec<Vec<Step>> {
    let mut plans = vec![vec![]];
    for len in 1..=3 {
        let mut plan = vec![0; len];
        loop {
            plans.push(plan.iter().map(|&k| kinds[k]).collect());
            let Some(i) = plan.iter().rposition(|&k| k + 1 < kinds.len()) else {
                break;
            };
            plan[i] += 1;
            plan[i + 1..].fill(0);
        }
    }
    plans
}

#[tokio::test]
async fn sync_and_async_scopes_agree_on_every_plan() {
    common::quiet_expected_panics();
    let plans = plans(&KINDS);
    assert_eq!(plans.len(), 1 + 5 + 25 + 125);
    let mut seen = std::collections::BTreeSet::new();
    for end in [
        End::Value(7),
        End::Fail("body failed"),
        End::Panic("body panicked"),
    ] {
        for plan in &plans {
            let sync = sync_scope(end, plan);
            let asynch = async_scope(end, plan).await;
            assert_eq!(asynch, sync, "body {end:?}, steps pushed {plan:?}");
            assert!(ran_in_reverse(plan, &sync.1), "{end:?} {plan:?}: {sync:?}");
            seen.insert(sync.0.split(' ').next().unwrap().to_string());
        }
    }
    // Every kind of result came up.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["body", "cleanup", "ok", "panicked:", "suppressed"]
    );
}

/// `close_with(outcome)` on a stack with the plan's entries, in words.
fn closed<E: Display>(r: std::thread::Result<Result<Exit, E>>) -> String {
    match r {
        Err(payload) => format!("panicked: {}", common::panic_msg(&*payload)),
        Ok(Ok(exit)) => format!("{exit:?}"),
        Ok(Err(e)) => format!("error {e}"),
    }
}

#[tokio::test]
async fn sync_and_async_close_with_agree_on_every_plan() {
    common::quiet_expected_panics();
    let failure = io("given error");
    for plan in plans(&KINDS) {
        for outcome in [
            Outcome::Success,
            Outcome::Error(&failure),
            Outcome::Cancelled,
        ] {
            let log = Log::default();
            let mut s = ExitStack::new();
            for &step in &plan {
                push!(s, step, log);
            }
            let sync = closed(std::panic::catch_unwind(AssertUnwindSafe(|| {
                s.unwind_with(outcome)
            })));
            let sync_log = std::mem::take(&mut *log.lock().unwrap());

            let mut s = AsyncExitStack::new();
            for &step in &plan {
                push!(s, step, log);
            }
            let asynch = closed(
                AssertUnwindSafe(s.unwind_with(outcome))
                    .catch_unwind()
                    .await,
            );
            let async_log = std::mem::take(&mut *log.lock().unwrap());
            assert_eq!(
                (&asynch, &async_log),
                (&sync, &sync_log),
                "{outcome}, steps pushed {plan:?}"
            );
            assert!(ran_in_reverse(&plan, &sync_log), "{plan:?}: {sync_log:?}");
        }
    }
}

#[test]
fn a_suppressed_body_error_gives_way_to_a_later_cleanup_error() {
    // Pushed: a failing callback, then a suppressing exit callback. The exit callback runs
    // first and suppresses the body's error; the callback then fails: its error is the
    // result, as in Python.
    assert_eq!(
        sync_scope(End::Fail("body failed"), &[Step::Fail("a"), Step::Suppress]).0,
        r#"cleanup Some("a")"#
    );
    // Pushed the other way round: the callback fails first; the exit callback still sees
    // the body's error (not yet suppressed) and suppresses it; the cleanup error remains.
    assert_eq!(
        sync_scope(End::Fail("body failed"), &[Step::Suppress, Step::Fail("a")]).0,
        r#"cleanup Some("a")"#
    );
}
