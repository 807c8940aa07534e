//! `scope_dyn` / `run_dyn`: scopes whose bodies return an error type that is not an
//! `std::error::Error` (`anyhow::Error`, `Box<dyn Error + Send + Sync>`, a `String`). The
//! same cleanup rules as `scope`; the body's error comes back whole as a `DynError`, and the
//! `ScopeError<DynError>` converts back with `?`.

use std::cell::RefCell;
use std::error::Error as StdError;
use std::io::{self, ErrorKind};

use anyhow::Context as _;
use tenure::error::DynError;
use tenure::{suppress, Exit, ExitStack, Outcome, ScopeError};

type BoxError = Box<dyn StdError + Send + Sync>;

fn read(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
}

#[test]
fn an_anyhow_body_error_comes_back_whole_after_lifo_cleanup() {
    let log = RefCell::new(Vec::new());
    let saw = RefCell::new(None);
    let r = ExitStack::scope_dyn(|s| {
        s.callback(|| log.borrow_mut().push("first pushed"));
        s.try_push_exit(|o: &Outcome<'_>| {
            *saw.borrow_mut() = o.error().map(|e| e.to_string());
            Ok::<_, io::Error>(Exit::Propagate)
        });
        s.callback(|| log.borrow_mut().push("last pushed"));
        let text = read("/no/such/dir/config.toml").context("loading config.toml")?;
        Ok::<_, anyhow::Error>(text)
    });
    assert_eq!(*log.borrow(), ["last pushed", "first pushed"]);
    assert_eq!(saw.borrow().as_deref(), Some("loading config.toml"));
    let Err(ScopeError::Body {
        error,
        cleanup: None,
    }) = r
    else {
        panic!("expected the body's error, got {r:?}");
    };
    // Transparent: the context message on top, the io::Error as its source.
    assert_eq!(error.to_string(), "loading config.toml");
    let io = error
        .source()
        .and_then(|s| s.downcast_ref::<io::Error>())
        .expect("the io::Error under the context");
    assert_eq!(io.kind(), ErrorKind::NotFound);
}

#[test]
fn a_scope_error_of_dyn_error_converts_back_with_question_mark() {
    fn with_anyhow() -> anyhow::Result<()> {
        ExitStack::scope_dyn(|s| {
            s.try_callback(|| Err(io::Error::other("flush failed")));
            Err::<(), _>(anyhow::anyhow!("query failed"))
        })?;
        Ok(())
    }
    fn with_box() -> Result<(), BoxError> {
        ExitStack::scope_dyn(|_| Err::<(), _>("refused"))?;
        Ok(())
    }
    let e = with_anyhow().unwrap_err();
    // Body error primary, the cleanup error counted beside it, and both at hand.
    // Each message once: the scope error is transparent over the body's error.
    assert_eq!(format!("{e:#}"), "query failed (+1 cleanup error)");
    let scope = e.downcast_ref::<ScopeError<DynError>>().unwrap();
    assert_eq!(scope.body().unwrap().to_string(), "query failed");
    let cleanup = scope.cleanup().unwrap();
    assert_eq!(
        cleanup.cause::<io::Error>().unwrap().to_string(),
        "flush failed"
    );
    assert_eq!(with_box().unwrap_err().to_string(), "refused");
}

#[test]
fn exit_callbacks_see_the_boxed_error_itself() {
    // A Box<dyn Error> holding an io::Error: suppress::io_kind matches it, as it would the
    // io::Error returned directly.
    let r = ExitStack::scope_dyn(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), BoxError>(io::Error::from(ErrorKind::BrokenPipe).into())
    });
    let Err(ScopeError::Suppressed(error)) = r else {
        panic!("expected the broken pipe to be suppressed, got {r:?}");
    };
    assert_eq!(
        error.downcast_ref::<io::Error>().map(io::Error::kind),
        Some(ErrorKind::BrokenPipe)
    );
    // Another kind is not suppressed.
    let r = ExitStack::scope_dyn(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), BoxError>(io::Error::from(ErrorKind::PermissionDenied).into())
    });
    assert!(matches!(r, Err(ScopeError::Body { .. })), "{r:?}");
}

#[test]
fn success_and_cleanup_failure_are_as_in_scope() {
    let v = ExitStack::scope_dyn(|s| {
        s.callback(|| {});
        Ok::<_, String>(5)
    });
    assert_eq!(v.unwrap(), 5);
    let r = ExitStack::scope_dyn(|s| {
        s.try_callback(|| Err(io::Error::other("close failed")));
        Ok::<_, String>(5)
    });
    match r {
        Err(ScopeError::Cleanup(e)) => assert!(e.report().to_string().contains("close failed")),
        other => panic!("unexpected {other:?}"),
    }
}

#[cfg(feature = "tokio")]
mod async_scope {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tenure::AsyncExitStack;

    fn assert_send<T: Send>(t: T) -> T {
        t
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_anyhow_body_runs_in_spawn_and_its_error_comes_back() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let r = tokio::spawn(assert_send(AsyncExitStack::scope_dyn(async move |s| {
            let l2 = l.clone();
            s.async_callback(move || async move { l2.lock().unwrap().push("connection") });
            s.callback(move || l.lock().unwrap().push("lock"));
            tokio::task::yield_now().await;
            read("/no/such/dir/users.db").context("opening users.db")?;
            Ok::<_, anyhow::Error>(())
        })))
        .await
        .unwrap();
        assert_eq!(*log.lock().unwrap(), ["lock", "connection"]);
        let Err(ScopeError::Body { error, .. }) = r else {
            panic!("expected the body's error, got {r:?}");
        };
        assert_eq!(error.to_string(), "opening users.db");
    }

    #[tokio::test]
    async fn exit_callbacks_see_the_boxed_error_itself() {
        let mut s = AsyncExitStack::new();
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        let r = s
            .run_dyn(async |_| Err::<(), BoxError>(io::Error::from(ErrorKind::BrokenPipe).into()))
            .await;
        assert!(matches!(r, Err(ScopeError::Suppressed(_))), "{r:?}");
    }
}

/// An `anyhow::Error` crosses into a `Box<dyn Error>` as anyhow's own wrapper, which shows
/// the wrapped error's message and sources but is not itself that error. So a type-based
/// suppression sees the original error only as a *source*: after `.context(..)` (or any
/// wrapping), not when it is the anyhow error's top level. Pinned here, as documented.
#[test]
fn anyhow_errors_are_matched_through_their_sources() {
    let broken_pipe = || io::Error::from(ErrorKind::BrokenPipe);
    // With context: the io::Error is the source, and io_kind finds it.
    let r = ExitStack::scope_dyn(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), _>(anyhow::Error::from(broken_pipe()).context("writing the reply"))
    });
    assert!(matches!(r, Err(ScopeError::Suppressed(_))), "{r:?}");
    // Top level: anyhow's wrapper hides the type; the predicate sees the message only.
    let r = ExitStack::scope_dyn(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), _>(anyhow::Error::from(broken_pipe()))
    });
    assert!(matches!(r, Err(ScopeError::Body { .. })), "{r:?}");
    // Boxing the io::Error directly keeps its type.
    let r = ExitStack::scope_dyn(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), BoxError>(broken_pipe().into())
    });
    assert!(matches!(r, Err(ScopeError::Suppressed(_))), "{r:?}");
}
