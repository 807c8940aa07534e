//! CPython's `AsyncExitStack` conformance tests (`Lib/test/test_contextlib_async.py`,
//! `TestAsyncExitStack`, which also runs the shared `TestBaseExitStack` cases of
//! `test_contextlib.py`), translated. Each test names the Python test it comes from.
//!
//! One deliberate difference: Python chains a cleanup exception to the one before it
//! (`__context__`) and the last one raised wins; tenure keeps the body's error primary and
//! every cleanup error beside it, in the order they happened (the Java `addSuppressed`
//! model of `ExitStack`). Exit callbacks see the body's error until one suppresses it.

mod common;

use std::sync::{Arc, Mutex};

use tenure::{AsyncExitStack, Exit, Outcome, ScopeError};

#[derive(Debug, thiserror::Error, PartialEq)]
enum PyError {
    #[error("ZeroDivisionError")]
    ZeroDivision,
    #[error("{0}")]
    Named(&'static str),
}

type Log<T> = Arc<Mutex<Vec<T>>>;

fn taken<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.lock().unwrap().clone()
}

/// test_async_callback: async callbacks run last-pushed first, each with its arguments.
#[tokio::test]
async fn test_async_callback() {
    let expected = common::cpython_callback_args();
    let result: Log<(Vec<i32>, Option<&str>)> = Arc::default();
    let r = AsyncExitStack::scope(async |stack| {
        for (args, kwds) in expected.iter().rev().cloned() {
            let result = result.clone();
            stack.async_callback(move || async move {
                tokio::task::yield_now().await;
                result.lock().unwrap().push((args, kwds));
            });
        }
        Ok::<_, PyError>(())
    })
    .await;
    r.unwrap();
    assert_eq!(taken(&result), expected);
}

/// test_async_push: async exit callbacks see the body's error until one suppresses it, then
/// see success; the scope's error is suppressed.
#[tokio::test]
async fn test_async_push() {
    let seen: Log<String> = Arc::default();
    fn expect(
        seen: &Log<String>,
        want: &'static str,
    ) -> impl FnOnce(&Outcome<'_>) -> std::future::Ready<Result<Exit, PyError>> + Send + 'static
    {
        let seen = seen.clone();
        move |o: &Outcome<'_>| {
            let got = o.to_string();
            seen.lock().unwrap().push(format!("{want}:{got}"));
            std::future::ready(Ok(Exit::Propagate))
        }
    }
    let r = AsyncExitStack::scope(async |stack| {
        stack.try_push_async_exit(expect(&seen, "expect_ok"));
        stack.try_push_async_exit(expect(&seen, "cm_expect_ok"));
        stack.try_push_async_exit(|_: &Outcome<'_>| async { Ok::<_, PyError>(Exit::Suppress) });
        stack.try_push_async_exit(expect(&seen, "cm_expect_exc"));
        stack.try_push_async_exit(expect(&seen, "expect_exc"));
        stack.try_push_async_exit(expect(&seen, "expect_exc"));
        Err::<(), _>(PyError::ZeroDivision) // 1/0
    })
    .await;
    assert!(matches!(
        r,
        Err(ScopeError::Suppressed(PyError::ZeroDivision))
    ));
    assert_eq!(
        taken(&seen),
        [
            "expect_exc:error: ZeroDivisionError",
            "expect_exc:error: ZeroDivisionError",
            "cm_expect_exc:error: ZeroDivisionError",
            "cm_expect_ok:success",
            "expect_ok:success",
        ]
    );
}

/// test_async_enter_context: an entered async resource is closed before the callback pushed
/// before it.
#[tokio::test]
async fn test_async_enter_context() {
    let result: Log<i32> = Arc::default();
    let r = AsyncExitStack::scope(async |stack| {
        let r4 = result.clone();
        stack.async_callback(move || async move { r4.lock().unwrap().push(4) }); // registered first => cleaned up last
        result.lock().unwrap().push(1); // __aenter__
        let r3 = result.clone();
        stack.enter(tenure::async_close::async_close_with(
            (),
            move |()| async move {
                r3.lock().unwrap().push(3); // __aexit__
                Ok::<_, PyError>(())
            },
        ));
        result.lock().unwrap().push(2);
        Ok::<_, PyError>(())
    })
    .await;
    r.unwrap();
    assert_eq!(taken(&result), [1, 2, 3, 4]);
}

/// test_async_exit_exception_chaining: every callback runs; the suppressing exit callback
/// suppresses the body's error; the other cleanup errors are all kept, in the order raised,
/// and returned in its place (`ScopeError::Cleanup`, as from `ExitStack::scope`).
#[tokio::test]
async fn test_async_exit_exception_chaining() {
    let saved: Log<String> = Arc::default();
    fn raise(stack: &mut AsyncExitStack, name: &'static str) {
        stack.try_async_callback(move || async move { Err(PyError::Named(name)) });
    }
    let r = AsyncExitStack::scope(async |stack| {
        raise(stack, "IndexError");
        raise(stack, "KeyError");
        raise(stack, "AttributeError");
        let saved = saved.clone();
        stack.try_push_async_exit(move |o: &Outcome<'_>| {
            saved.lock().unwrap().push(o.to_string());
            async { Ok::<_, PyError>(Exit::Suppress) }
        });
        raise(stack, "ValueError");
        Err::<(), _>(PyError::ZeroDivision)
    })
    .await;
    let Err(ScopeError::Cleanup(cleanup)) = r else {
        panic!("expected the cleanup errors in the suppressed body error's place, got {r:?}");
    };
    // Python: IndexError, chained KeyError, AttributeError; the suppressed ones are gone.
    // tenure (as `ExitStack::scope`): ValueError ran before the suppression, so the
    // suppressing callback saw (and suppressed) the body's error, not ValueError; the
    // suppressed body error does not come back, the four cleanup errors take its place, in
    // the order they happened.
    let raised: Vec<_> = cleanup
        .iter()
        .map(|e| e.cause::<PyError>().unwrap().to_string())
        .collect();
    assert_eq!(
        raised,
        ["ValueError", "AttributeError", "KeyError", "IndexError"]
    );
    assert_eq!(taken(&saved), ["error: ZeroDivisionError"]);
}

/// test_no_resources
#[tokio::test]
async fn test_no_resources() {
    AsyncExitStack::scope(async |_| Ok::<_, PyError>(()))
        .await
        .unwrap();
}

/// test_close: closing inside the scope runs the callbacks at once; the scope then has
/// nothing left.
#[tokio::test]
async fn test_close() {
    let result: Log<i32> = Arc::default();
    AsyncExitStack::scope(async |stack| {
        let r = result.clone();
        stack.async_callback(move || async move { r.lock().unwrap().push(1) });
        stack.unwind().await.unwrap();
        result.lock().unwrap().push(2);
        Ok::<_, PyError>(())
    })
    .await
    .unwrap();
    assert_eq!(taken(&result), [1, 2]);
}

/// test_pop_all: popped entries outlive the scope and close when the new stack closes.
#[tokio::test]
async fn test_pop_all() {
    let result: Log<i32> = Arc::default();
    let mut new_stack = AsyncExitStack::scope(async |stack| {
        let r = result.clone();
        stack.async_callback(move || async move { r.lock().unwrap().push(3) });
        let new_stack = stack.pop_all();
        result.lock().unwrap().push(1);
        Ok::<_, PyError>(new_stack)
    })
    .await
    .unwrap();
    result.lock().unwrap().push(2);
    new_stack.unwind().await.unwrap();
    assert_eq!(taken(&result), [1, 2, 3]);
}

/// test_exit_raise: an exit callback that does not suppress lets the body's error through.
#[tokio::test]
async fn test_exit_raise() {
    let r = AsyncExitStack::scope(async |stack| {
        stack.try_push_async_exit(|_: &Outcome<'_>| async { Ok::<_, PyError>(Exit::Propagate) });
        Err::<(), _>(PyError::ZeroDivision)
    })
    .await;
    assert!(matches!(
        r,
        Err(ScopeError::Body {
            error: PyError::ZeroDivision,
            cleanup: None
        })
    ));
}

/// test_exit_suppress and test_body_exception_suppress
#[tokio::test]
async fn test_exit_suppress() {
    let r = AsyncExitStack::scope(async |stack| {
        stack.try_push_async_exit(|_: &Outcome<'_>| async { Ok::<_, PyError>(Exit::Suppress) });
        Err::<(), _>(PyError::ZeroDivision)
    })
    .await;
    assert!(r.unwrap_err().is_suppressed());
}

/// test_exit_exception_non_suppressing: with no body error, a suppressing exit callback
/// suppresses the cleanup error raised before it, not the ones after.
#[tokio::test]
async fn test_exit_exception_non_suppressing() {
    let r = AsyncExitStack::scope(async |stack| {
        stack.callback(|| {});
        stack.try_async_callback(|| async { Err(PyError::Named("IndexError")) });
        Ok::<_, PyError>(())
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(
        e.cleanup().unwrap().cause::<PyError>(),
        Some(&PyError::Named("IndexError"))
    );

    let r = AsyncExitStack::scope(async |stack| {
        stack.try_async_callback(|| async { Err(PyError::Named("KeyError")) });
        stack.try_push_async_exit(|_: &Outcome<'_>| async { Ok::<_, PyError>(Exit::Suppress) });
        stack.try_async_callback(|| async { Err(PyError::Named("IndexError")) });
        Ok::<_, PyError>(())
    })
    .await;
    let e = r.unwrap_err();
    let cleanup = e.cleanup().unwrap();
    assert_eq!(
        cleanup.cause::<PyError>(),
        Some(&PyError::Named("KeyError"))
    );
    assert!(cleanup.suppressed().is_empty(), "IndexError was suppressed");
}

/// test_exit_exception_with_correct_context: cleanup errors keep the order they were
/// raised in, after the body's error.
#[tokio::test]
async fn test_exit_exception_with_correct_context() {
    let r = AsyncExitStack::scope(async |stack| {
        for n in ["4", "3", "2"] {
            stack
                .named(n)
                .enter(tenure::async_close::async_close_with(n, |n| async move {
                    Err(PyError::Named(n))
                }));
        }
        Err::<(), _>(PyError::Named("1"))
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.body(), Some(&PyError::Named("1")));
    let order: Vec<_> = e
        .cleanup()
        .unwrap()
        .iter()
        .map(|e| e.resource().to_string())
        .collect();
    assert_eq!(order, ["2", "3", "4"]);
}
