//! `ExitStack::scope` and `AsyncExitStack::scope` give the same result for the same body
//! and the same cleanups: every combination of a failing or succeeding body with cleanups
//! that succeed, fail, or suppress the body's error, in every order.
#![cfg(feature = "tokio")]

use std::fmt::Display;

use tenure::{AsyncExitStack, Exit, ExitStack, Outcome, ScopeError};

/// One cleanup, pushed in order (so run in reverse).
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A callback that succeeds.
    Fine,
    /// A callback that fails with this message.
    Fail(&'static str),
    /// An exit callback that suppresses an error outcome.
    Suppress,
}

fn io(msg: &str) -> std::io::Error {
    std::io::Error::other(msg.to_string())
}

fn exit(outcome: &Outcome<'_>) -> Result<Exit, std::io::Error> {
    Ok(if outcome.error().is_some() {
        Exit::Suppress
    } else {
        Exit::Propagate
    })
}

/// The result in words: which variant, the body's error, every cleanup error in order.
fn summary<E: Display>(r: Result<u32, ScopeError<E>>) -> String {
    let cleanup = |e: Option<&tenure::Error>| {
        e.map(|e| {
            e.iter()
                .map(|e| std::error::Error::source(e).map_or(String::new(), |c| c.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    match r {
        Ok(v) => format!("ok {v}"),
        Err(ScopeError::Body { error, cleanup: c }) => {
            format!("body {error}; cleanup {:?}", cleanup(c.as_ref()))
        }
        Err(ScopeError::Cleanup(c)) => format!("cleanup {:?}", cleanup(Some(&c))),
        Err(ScopeError::Suppressed(error)) => format!("suppressed {error}"),
    }
}

fn sync_scope(body: Result<u32, &'static str>, steps: &[Step]) -> String {
    summary(ExitStack::scope(|s| {
        for &step in steps {
            match step {
                Step::Fine => s.callback(|| {}),
                Step::Fail(msg) => s.try_callback(move || Err(io(msg))),
                Step::Suppress => s.push_exit(exit),
            }
        }
        body.map_err(io)
    }))
}

async fn async_scope(body: Result<u32, &'static str>, steps: &[Step]) -> String {
    let steps = steps.to_vec();
    summary(
        AsyncExitStack::scope(async move |s| {
            for step in steps {
                match step {
                    Step::Fine => s.callback(|| {}),
                    Step::Fail(msg) => s.try_callback(move || Err(io(msg))),
                    Step::Suppress => s.push_exit(exit),
                }
            }
            body.map_err(io)
        })
        .await,
    )
}

/// Every sequence of up to three steps out of {fine, fail a, fail b, suppress}.
fn plans() -> Vec<Vec<Step>> {
    let kinds = [Step::Fine, Step::Fail("a"), Step::Fail("b"), Step::Suppress];
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
    let plans = plans();
    assert_eq!(plans.len(), 1 + 4 + 16 + 64);
    let mut seen = std::collections::BTreeSet::new();
    for body in [Ok(7), Err("body failed")] {
        for plan in &plans {
            let sync = sync_scope(body, plan);
            let asynch = async_scope(body, plan).await;
            assert_eq!(asynch, sync, "body {body:?}, steps pushed {plan:?}");
            seen.insert(sync.split(' ').next().unwrap().to_string());
        }
    }
    // Every kind of result came up.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["body", "cleanup", "ok", "suppressed"]
    );
}

#[test]
fn a_suppressed_body_error_gives_way_to_a_later_cleanup_error() {
    // Pushed: a failing callback, then a suppressing exit callback. The exit callback runs
    // first and suppresses the body's error; the callback then fails: its error is the
    // result, as in Python.
    assert_eq!(
        sync_scope(Err("body failed"), &[Step::Fail("a"), Step::Suppress]),
        r#"cleanup Some("a")"#
    );
    // Pushed the other way round: the callback fails first; the exit callback still sees
    // the body's error (not yet suppressed) and suppresses it; the cleanup error remains.
    assert_eq!(
        sync_scope(Err("body failed"), &[Step::Suppress, Step::Fail("a")]),
        r#"cleanup Some("a")"#
    );
}
