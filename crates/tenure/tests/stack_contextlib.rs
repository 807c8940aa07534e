//! CPython's `Lib/test/test_contextlib.py` (class `TestBaseExitStack`), translated.
//!
//! Each test names the Python test it translates. Where tenure deliberately differs from
//! Python, the test pins tenure's documented behaviour and says why. The two differences
//! that recur:
//!
//! - **Body error stays primary.** Python chains: an exception raised by a cleanup
//!   *replaces* the pending one, which becomes its `__context__`. tenure keeps the body's
//!   error as the primary error and collects cleanup errors beside it, in the order they
//!   happened (Java's `addSuppressed`). While the body's error is pending, exit callbacks are
//!   shown the body's error; once it is suppressed (or when the body succeeded), they are
//!   shown the latest cleanup error.
//! - **Suppression is narrow.** Returning `Exit::Suppress` suppresses exactly the error the
//!   callback was shown, never errors collected before it (in Python, suppressing the
//!   current exception silently drops its whole `__context__` chain too).

mod common;

use std::cell::RefCell;
use std::convert::Infallible;
use std::error::Error as _;

use common::{what, whats, Boom, Log};
use tenure::close::close_with;
use tenure::{ErrorKind, Exit, ExitStack, Outcome, ScopeError};

fn propagate(_: &Outcome<'_>) -> Result<Exit, Infallible> {
    Ok(Exit::Propagate)
}

fn suppress(_: &Outcome<'_>) -> Result<Exit, Infallible> {
    Ok(Exit::Suppress)
}

/// A cleanup callback that fails with `msg`.
fn raise(msg: &'static str) -> impl FnOnce() -> Result<(), Boom> {
    move || Err(Boom::new(msg))
}

// test_no_resources
#[test]
fn no_resources() {
    let r = ExitStack::scope(|_| Ok::<_, Boom>(()));
    assert!(r.is_ok());
    let mut s = ExitStack::new();
    assert!(s.unwind().is_ok());
}

// test_callback: callbacks with positional and keyword arguments run last registered first.
// Rust closures capture their arguments; the metadata checks (`__wrapped__`) have no
// counterpart.
#[test]
fn callback_with_args() {
    let expected = common::cpython_callback_args();
    let result = RefCell::new(Vec::new());
    let r = ExitStack::scope(|s| {
        for (args, kwds) in expected.iter().rev().cloned() {
            let result = &result;
            s.callback(move || result.borrow_mut().push((args, kwds)));
        }
        Ok::<_, Boom>(())
    });
    assert!(r.is_ok());
    assert_eq!(result.into_inner(), expected);
}

// test_push: exit callbacks pushed after the suppressing one see the body's error; those
// pushed before it see success, because the error was suppressed by then.
#[test]
fn push_exit_callbacks_see_body_error_until_suppressed() {
    struct ExitCm {
        expect_error: bool,
        seen: Log,
    }
    impl ExitCm {
        fn exit(self, o: &Outcome<'_>) -> Result<Exit, Infallible> {
            assert_eq!(o.is_failure(), self.expect_error, "saw {o:?}");
            if self.expect_error {
                assert_eq!(o.error().unwrap().to_string(), "division by zero");
            }
            self.seen.push(o.name());
            Ok(Exit::Propagate)
        }
    }
    let seen = Log::new();
    let cm = |expect_error| ExitCm {
        expect_error,
        seen: seen.clone(),
    };
    let r = ExitStack::scope(|s| {
        let ok = cm(false);
        s.try_push_exit(move |o| ok.exit(o)); // _expect_ok
        let ok = cm(false);
        s.try_push_exit(move |o| ok.exit(o)); // ExitCM(_expect_ok)
        s.try_push_exit(suppress); // _suppress_exc
        let exc = cm(true);
        s.try_push_exit(move |o| exc.exit(o)); // ExitCM(_expect_exc)
        let exc = cm(true);
        s.try_push_exit(move |o| exc.exit(o)); // _expect_exc
        let exc = cm(true);
        s.try_push_exit(move |o| exc.exit(o)); // _expect_exc
        Err::<(), _>(Boom::new("division by zero"))
    });
    assert!(matches!(r, Err(ScopeError::Suppressed(ref e)) if e.0 == "division by zero"));
    assert_eq!(
        seen.get(),
        ["error", "error", "error", "success", "success"]
    );
}

// test_enter_context: a resource entered after a callback is closed before it.
#[test]
fn enter_context() {
    let log = Log::new();
    let r = ExitStack::scope(|s| {
        s.callback(log.pusher("4")); // registered first => cleaned up last
        log.push("1"); // __enter__
        let l = log.clone();
        s.enter(close_with((), move |()| {
            l.push("3");
            Ok::<_, Boom>(())
        }));
        log.push("2");
        Ok::<_, Boom>(())
    });
    assert!(r.is_ok());
    assert_eq!(log.get(), ["1", "2", "3", "4"]);
}

// test_close: an explicit close runs the callbacks once; the end of the scope finds nothing
// left to run.
#[test]
fn close_inside_scope_runs_once() {
    let log = Log::new();
    let r = ExitStack::scope(|s| {
        s.callback(log.pusher("1"));
        s.unwind().unwrap();
        log.push("2");
        Ok::<_, Boom>(())
    });
    assert!(r.is_ok());
    assert_eq!(log.get(), ["1", "2"]);
}

// test_pop_all: the popped entries survive the end of the original stack's scope and run
// when the new stack closes.
#[test]
fn pop_all() {
    let log = Log::new();
    let mut new_stack = ExitStack::scope(|s| {
        s.callback(log.pusher("3"));
        let new_stack = s.pop_all();
        log.push("1");
        Ok::<_, Boom>(new_stack)
    })
    .unwrap();
    log.push("2");
    new_stack.unwind().unwrap();
    assert_eq!(log.get(), ["1", "2", "3"]);
}

// test_exit_raise: an exit callback that does not suppress lets the body's error through.
#[test]
fn exit_raise() {
    let r = ExitStack::scope(|s| {
        s.try_push_exit(propagate);
        Err::<(), _>(Boom::new("division by zero"))
    });
    match r {
        Err(ScopeError::Body { error, cleanup }) => {
            assert_eq!(error.0, "division by zero");
            assert!(cleanup.is_none());
        }
        other => panic!("unexpected {other:?}"),
    }
}

// test_exit_suppress
#[test]
fn exit_suppress() {
    let r = ExitStack::scope(|s| {
        s.try_push_exit(suppress);
        Err::<(), _>(Boom::new("division by zero"))
    });
    assert!(r.unwrap_err().is_suppressed());
}

// test_exit_exception_chaining
//
// Python: the callbacks raise ValueError, then the suppressor sees ValueError (chained to
// the body's ZeroDivisionError) and suppresses both; AttributeError, KeyError and
// IndexError follow, chained, IndexError last and outermost.
//
// tenure: the body's error stays primary and is what exit callbacks see while it is
// pending, so the suppressor sees (and suppresses) the body's error. Suppression is narrow:
// ValueError, raised before, is not dropped with it. All four cleanup errors come back, in
// the order they happened; the suppressed body error does not come back (as in Python, the
// cleanup error takes its place).
#[test]
fn exit_exception_chaining() {
    let saw = RefCell::new(None);
    let r = ExitStack::scope(|s| {
        s.try_callback(raise("IndexError"));
        s.try_callback(raise("KeyError"));
        s.try_callback(raise("AttributeError"));
        let saw = &saw;
        s.try_push_exit(move |o| {
            *saw.borrow_mut() = Some(o.to_string());
            Ok::<_, Infallible>(Exit::Suppress)
        });
        s.try_callback(raise("ValueError"));
        Err::<(), _>(Boom::new("ZeroDivisionError"))
    });
    assert_eq!(
        saw.into_inner().as_deref(),
        Some("error: ZeroDivisionError")
    );
    match r {
        Err(ScopeError::Cleanup(e)) => {
            assert_eq!(e.kind(), ErrorKind::Callback);
            assert_eq!(
                whats(&e),
                ["ValueError", "AttributeError", "KeyError", "IndexError"]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

// test_exit_exception_chaining_reference: an ExitStack behaves like the equivalent nested
// scopes. In tenure a stack nests into another with its outcome through an exit callback
// that closes the inner stack with the outcome it is shown (`close_with`); the inner stack's
// decision to suppress becomes the callback's decision.
#[test]
fn exit_exception_chaining_reference() {
    let saw_flat = RefCell::new(Vec::new());
    let saw_nested = RefCell::new(Vec::new());
    let observe = |saw: &'static str, cell: &RefCell<Vec<String>>, exit: Exit| {
        cell.borrow_mut().push(saw.to_string());
        Ok::<_, Infallible>(exit)
    };

    // with RaiseExc(IndexError): with RaiseExcWithContext(KeyError, AttributeError):
    //   with SuppressExc(): with RaiseExc(ValueError): 1/0
    let flat = ExitStack::scope(|s| {
        s.try_callback(raise("IndexError"));
        s.try_callback(raise("KeyError"));
        let cell = &saw_flat;
        s.try_push_exit(move |o| {
            observe(
                if o.is_failure() { "error" } else { "success" },
                cell,
                Exit::Suppress,
            )
        });
        s.try_callback(raise("ValueError"));
        Err::<(), _>(Boom::new("ZeroDivisionError"))
    });

    let nested = ExitStack::scope(|outer| {
        outer.try_callback(raise("IndexError"));
        outer.try_callback(raise("KeyError"));
        let mut inner = ExitStack::new();
        let cell = &saw_nested;
        inner.try_push_exit(move |o| {
            observe(
                if o.is_failure() { "error" } else { "success" },
                cell,
                Exit::Suppress,
            )
        });
        inner.try_callback(raise("ValueError"));
        outer.try_push_exit(move |o| inner.unwind_with(*o));
        Err::<(), _>(Boom::new("ZeroDivisionError"))
    });

    // Both suppressors saw the body's error.
    assert_eq!(*saw_flat.borrow(), ["error"]);
    assert_eq!(*saw_nested.borrow(), ["error"]);

    // Flat: the body's error was suppressed; the cleanup errors come back in order.
    let flat = flat.unwrap_err();
    assert!(flat.body().is_none(), "{flat:?}");
    assert_eq!(
        whats(flat.cleanup().unwrap()),
        ["ValueError", "KeyError", "IndexError"]
    );

    // Nested: the inner stack failed (ValueError), so its exit callback failed, with the
    // inner error as its cause; as in Python, a failing `__exit__` cannot also suppress.
    let nested = nested.unwrap_err();
    let cleanup = nested.cleanup().unwrap();
    let mut chain = Vec::new();
    for e in cleanup.iter() {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut leaf = String::new();
        while let Some(x) = next {
            leaf = x.to_string();
            next = x.source();
        }
        chain.push(leaf);
    }
    assert_eq!(chain, ["ValueError", "KeyError", "IndexError"]);
}

// test_exit_exception_non_suppressing (bpo-19092): a callback's error propagates when no
// exit callback suppresses it; an exit callback suppresses only the error it saw.
#[test]
fn exit_exception_non_suppressing() {
    let mut s = ExitStack::new();
    s.callback(|| {});
    s.try_callback(raise("IndexError"));
    let e = s.unwind().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Callback);
    assert_eq!(whats(&e), ["IndexError"]);

    let mut s = ExitStack::new();
    s.try_callback(raise("KeyError"));
    s.try_push_exit(|o| {
        assert_eq!(
            o.error().unwrap().source().unwrap().to_string(),
            "IndexError"
        );
        Ok::<_, Infallible>(Exit::Suppress)
    });
    s.try_callback(raise("IndexError"));
    let e = s.unwind().unwrap_err();
    assert_eq!(whats(&e), ["KeyError"]);
}

// test_exit_exception_with_correct_context (bpo-20317): resources whose release fails.
// Python: exc4 is raised, its context chain is exc3, exc2, exc1. tenure: the body's exc1
// stays primary; exc2, exc3, exc4 ride along in the order they happened.
#[test]
fn exit_exception_with_correct_context() {
    let failing = |msg: &'static str| close_with((), move |()| Err(Boom::new(msg)));
    let r = ExitStack::scope(|s| {
        s.named("exc4 resource").enter(failing("exc4"));
        s.named("exc3 resource").enter(failing("exc3"));
        s.named("exc2 resource").enter(failing("exc2"));
        Err::<(), _>(Boom::new("exc1"))
    });
    match r {
        Err(ScopeError::Body { error, cleanup }) => {
            assert_eq!(error.0, "exc1");
            let cleanup = cleanup.unwrap();
            assert_eq!(cleanup.kind(), ErrorKind::Close);
            assert_eq!(whats(&cleanup), ["exc2", "exc3", "exc4"]);
            let names: Vec<_> = cleanup.iter().map(|e| e.resource().to_string()).collect();
            assert_eq!(names, ["exc2 resource", "exc3 resource", "exc4 resource"]);
        }
        other => panic!("unexpected {other:?}"),
    }
}

// test_exit_exception_with_existing_context: a callback's error keeps its own cause chain.
#[test]
fn exit_exception_with_existing_context() {
    #[derive(Debug)]
    struct Nested {
        outer: &'static str,
        inner: Boom,
    }
    impl std::fmt::Display for Nested {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.outer)
        }
    }
    impl std::error::Error for Nested {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.inner)
        }
    }
    let raise_nested = |inner: &'static str, outer: &'static str| {
        move || {
            Err(Nested {
                outer,
                inner: Boom::new(inner),
            })
        }
    };
    let r = ExitStack::scope(|s| {
        s.try_callback(raise_nested("exc4", "exc5"));
        s.try_callback(raise_nested("exc2", "exc3"));
        Err::<(), _>(Boom::new("exc1"))
    });
    let Err(ScopeError::Body { error, cleanup }) = r else {
        panic!("expected a body error");
    };
    assert_eq!(error.0, "exc1");
    let cleanup = cleanup.unwrap();
    let chains: Vec<Vec<String>> = cleanup
        .iter()
        .map(|e| {
            let mut v = Vec::new();
            let mut next = e.source();
            while let Some(x) = next {
                v.push(x.to_string());
                next = x.source();
            }
            v
        })
        .collect();
    assert_eq!(chains, [["exc3", "exc2"], ["exc5", "exc4"]]);
}

// test_body_exception_suppress
#[test]
fn body_exception_suppress() {
    let r = ExitStack::scope(|s| {
        s.try_push_exit(suppress);
        Err::<(), _>(Boom::new("ZeroDivisionError"))
    });
    match r {
        Err(ScopeError::Suppressed(e)) => assert_eq!(e.0, "ZeroDivisionError"),
        other => panic!("unexpected {other:?}"),
    }
}

// test_exit_exception_chaining_suppress
//
// Python: ZeroDivisionError is raised with KeyError as its context; suppressing it drops
// both, and the `with` block ends normally.
//
// tenure: suppression is narrow; the suppressor saw ZeroDivisionError (the latest cleanup
// error) and suppressed it, but KeyError, which it never saw, is still returned. Dropping
// it would lose a cleanup error silently.
#[test]
fn exit_exception_chaining_suppress() {
    let mut s = ExitStack::new();
    s.try_push_exit(|o| {
        assert_eq!(
            o.error().unwrap().source().unwrap().to_string(),
            "ZeroDivisionError"
        );
        Ok::<_, Infallible>(Exit::Suppress)
    });
    s.try_push_exit(|_| Err::<Exit, _>(Boom::new("ZeroDivisionError")));
    s.try_push_exit(|_| Err::<Exit, _>(Boom::new("KeyError")));
    let e = s.unwind().unwrap_err();
    assert_eq!(whats(&e), ["KeyError"]);
    assert!(e.suppressed().is_empty());

    // Two suppressors drop both, each the one it saw.
    let mut s = ExitStack::new();
    s.try_push_exit(suppress);
    s.try_push_exit(suppress);
    s.try_push_exit(|_| Err::<Exit, _>(Boom::new("ZeroDivisionError")));
    s.try_push_exit(|_| Err::<Exit, _>(Boom::new("KeyError")));
    assert_eq!(s.unwind_with(Outcome::Success).unwrap(), Exit::Propagate);
}

// test_excessive_nesting: the original Python implementation recursed per callback.
#[test]
fn excessive_nesting() {
    let count = std::cell::Cell::new(0_u32);
    let r = ExitStack::scope(|s| {
        for _ in 0..10_000 {
            s.callback(|| count.set(count.get() + 1));
        }
        Ok::<_, Boom>(())
    });
    assert!(r.is_ok());
    assert_eq!(count.get(), 10_000);
}

// test_instance_bypass, test_enter_context_errors: Python checks at run time that what is
// entered is a context manager. In Rust `enter` requires `Close` and `push_exit` a closure,
// so the wrong thing does not compile; nothing to translate.

// test_dont_reraise_RuntimeError (bpo-27122): an exit callback that replaces the body's
// error with a new one (Python's `raise X from exc`) must not loop. In tenure it returns its
// error, which rides along as a cleanup error; the body's error stays primary. (Re-raising
// the body's own error, as `first()` does, is simply `Exit::Propagate`.)
#[test]
fn dont_reraise_runtime_error() {
    let r = ExitStack::scope(|s| {
        // second(): raise UniqueException("new exception") from exc
        s.try_push_exit(|o| match o.error() {
            Some(exc) => Err(Boom::new(format!("new exception (from {exc})"))),
            None => Ok(Exit::Propagate),
        });
        // first(): raise exc
        s.try_push_exit(propagate);
        Err::<(), _>(Boom::new("please no infinite loop."))
    });
    match r {
        Err(ScopeError::Body { error, cleanup }) => {
            assert_eq!(error.0, "please no infinite loop.");
            assert_eq!(
                whats(&cleanup.unwrap()),
                ["new exception (from please no infinite loop.)"]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

// The docs of `ExitStack` in contextlib: "an ExitStack can be reused after close".
#[test]
fn reuse_after_close() {
    let log = Log::new();
    let mut s = ExitStack::new();
    s.callback(log.pusher("first use"));
    s.unwind().unwrap();
    assert!(s.is_empty());
    s.callback(log.pusher("second use"));
    s.try_callback(raise("second use fails"));
    assert_eq!(whats(&s.unwind().unwrap_err()), ["second use fails"]);
    s.callback(log.pusher("third use"));
    s.unwind().unwrap();
    assert_eq!(log.get(), ["first use", "second use", "third use"]);
}

// Closing an empty or already closed stack is a no-op that succeeds (Python's `close()`
// called twice).
#[test]
fn close_is_idempotent() {
    let log = Log::new();
    let mut s = ExitStack::new();
    assert!(s.unwind().is_ok());
    s.callback(log.pusher("once"));
    s.unwind().unwrap();
    s.unwind().unwrap();
    s.unwind().unwrap();
    assert_eq!(log.get(), ["once"]);
    assert_eq!(
        s.unwind_with(Outcome::Error(&Boom::new("x"))).unwrap(),
        Exit::Propagate
    );
}

// Nesting: a stack entered in another stack (`Close for ExitStack`) releases everything it
// holds, LIFO, at its own position in the outer stack.
#[test]
fn nested_stack_closes_in_place() {
    let log = Log::new();
    let mut inner: ExitStack<'static> = ExitStack::new();
    inner.callback(log.pusher("inner 1"));
    inner.callback(log.pusher("inner 2"));
    let mut outer = ExitStack::new();
    outer.callback(log.pusher("outer 1"));
    outer.enter(inner);
    outer.callback(log.pusher("outer 2"));
    outer.unwind().unwrap();
    assert_eq!(log.get(), ["outer 2", "inner 2", "inner 1", "outer 1"]);
}

// Nesting keeps every error: the inner stack's errors come back as the cause of the
// nested entry's close error, with their own suppressed errors.
#[test]
fn nested_stack_errors_are_kept() {
    let mut inner: ExitStack<'static> = ExitStack::new();
    inner.try_callback(raise("inner b"));
    inner.try_callback(raise("inner a"));
    let mut outer = ExitStack::new();
    outer.try_callback(raise("outer z"));
    outer.named("inner stack").enter(inner);
    outer.try_callback(raise("outer y"));
    let e = outer.unwind().unwrap_err();
    assert_eq!(whats(&e)[0], "outer y");
    let nested = &e.suppressed()[0];
    assert_eq!(nested.resource(), "inner stack");
    let inner_err = nested.cause::<tenure::Error>().unwrap();
    assert_eq!(whats(inner_err), ["inner a", "inner b"]);
    assert_eq!(what(&e.suppressed()[1]), "outer z");

    // Closing the nested stack through `Close` directly.
    let mut inner: ExitStack<'static> = ExitStack::new();
    inner.try_callback(raise("only"));
    assert_eq!(whats(&tenure::Close::close(inner).unwrap_err()), ["only"]);
}
