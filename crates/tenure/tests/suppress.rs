//! Suppression is explicit and narrow: by `io::ErrorKind` (looked for along the source
//! chain), by error type, by predicate; on one `Result` or on an `ExitStack`. Nothing is
//! suppressed unless asked, and panics never are. One rule serves two stacks, rules combine
//! with `or`, and `or_suppressed` turns a suppressed body error into `None`.

mod common;

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, ErrorKind};

use common::{capture, Boom};
use tenure::stack::ScopeResultExt;
use tenure::{suppress, Exit, ExitStack, Outcome, ScopeError};

/// An error that wraps another as its source, like an application error around an I/O one.
#[derive(Debug)]
struct Wrapped {
    context: &'static str,
    source: Box<dyn StdError + Send + Sync>,
}

impl fmt::Display for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.context)
    }
}

impl StdError for Wrapped {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

fn wrap(context: &'static str, e: impl StdError + Send + Sync + 'static) -> Wrapped {
    Wrapped {
        context,
        source: Box::new(e),
    }
}

fn pipe() -> io::Error {
    io::Error::from(ErrorKind::BrokenPipe)
}

#[test]
fn io_kind_matches_the_kind_directly_and_through_a_source_chain() {
    let s = suppress::io_kind(ErrorKind::BrokenPipe);
    assert!(s.matches(&pipe()));
    assert!(s.matches(&io::Error::new(ErrorKind::BrokenPipe, "client went away")));
    assert!(s.matches(&wrap("writing response", pipe())));
    assert!(s.matches(&wrap("request", wrap("writing response", pipe()))));
    assert!(s.matches(&tenure::Error::close("socket", pipe())));
    assert!(s.matches(&wrap("cleanup", tenure::Error::close("socket", pipe()))));

    assert!(!s.matches(&io::Error::from(ErrorKind::ConnectionReset)));
    assert!(!s.matches(&wrap("writing response", io::Error::other("disk full"))));
    assert!(!s.matches(&Boom::new("broken pipe"))); // a message is not a kind
    assert_eq!(s.describe(), "io::ErrorKind::BrokenPipe");
}

#[test]
fn error_type_matches_the_type_directly_and_through_a_source_chain() {
    let s = suppress::error_type::<Boom>();
    assert!(s.matches(&Boom::new("x")));
    assert!(s.matches(&wrap("outer", Boom::new("x"))));
    assert!(s.matches(&tenure::Error::callback("cb", Boom::new("x"))));
    assert!(!s.matches(&pipe()));
    assert!(!s.matches(&wrap("outer", pipe())));
    assert!(s.describe().ends_with("Boom"));
}

#[test]
fn a_predicate_sees_every_error_of_the_chain() {
    let s = suppress::when("timeouts", |e| e.to_string().contains("timed out"));
    assert!(s.matches(&io::Error::other("read timed out")));
    assert!(s.matches(&wrap("query failed", io::Error::other("read timed out"))));
    assert!(!s.matches(&wrap("query failed", io::Error::other("refused"))));
    assert_eq!(s.describe(), "timeouts");
    assert_eq!(format!("{s:?}"), r#"Suppress("timeouts")"#);
}

#[test]
fn on_applies_the_rule_to_one_result() {
    let s = suppress::io_kind(ErrorKind::BrokenPipe);
    assert_eq!(s.on(Ok::<_, io::Error>(5)).unwrap(), Some(5));
    assert_eq!(s.on(Err::<i32, _>(pipe())).unwrap(), None);
    let other = s
        .on(Err::<i32, _>(io::Error::other("disk full")))
        .unwrap_err();
    assert_eq!(other.to_string(), "disk full");
    assert!(s.on(Err::<(), _>(wrap("flush", pipe()))).unwrap().is_none());
}

#[test]
fn decide_never_suppresses_success_panics_or_cancellation() {
    let s = suppress::when("everything", |_| true);
    assert_eq!(s.decide(&Outcome::Success), Exit::Propagate);
    assert_eq!(s.decide(&Outcome::Cancelled), Exit::Propagate);
    let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
    assert_eq!(s.decide(&Outcome::Panic(&*payload)), Exit::Propagate);
    assert_eq!(s.decide(&Outcome::Error(&Boom::new("x"))), Exit::Suppress);
}

#[test]
fn every_suppression_is_logged_at_debug_with_its_rule() {
    let (r, events) = capture(|| suppress::io_kind(ErrorKind::BrokenPipe).on(Err::<(), _>(pipe())));
    assert!(r.unwrap().is_none());
    let e = events
        .iter()
        .find(|e| e.target == "tenure" && e.level == tracing::Level::DEBUG)
        .expect("a debug event");
    assert_eq!(e.field("rule"), Some("io::ErrorKind::BrokenPipe"));
    assert!(e.message().contains("error suppressed"));
}

#[test]
fn removing_members_of_a_group_is_logged_and_removing_none_is_not() {
    let group = || {
        tenure::Error::from_errors([
            tenure::Error::close("socket", pipe()),
            tenure::Error::close("file", std::io::Error::other("disk full")),
        ])
        .unwrap()
    };
    let (r, events) =
        capture(|| suppress::io_kind(ErrorKind::BrokenPipe).on(Err::<(), _>(group())));
    assert_eq!(r.unwrap_err().resource(), "file");
    let logged: Vec<_> = events
        .iter()
        .filter(|e| e.target == "tenure" && e.level == tracing::Level::DEBUG)
        .collect();
    assert_eq!(logged.len(), 1, "{events:?}");
    assert_eq!(logged[0].field("removed"), Some("1"));
    assert_eq!(logged[0].field("kept"), Some("1"));
    let (r, events) = capture(|| suppress::io_kind(ErrorKind::NotFound).on(Err::<(), _>(group())));
    assert_eq!(r.unwrap_err().iter().count(), 2);
    assert!(
        !events.iter().any(|e| e.level == tracing::Level::DEBUG),
        "nothing removed, nothing logged: {events:?}"
    );
}

#[test]
fn on_a_stack_the_matching_body_error_is_suppressed() {
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), _>(wrap("writing response", pipe()))
    });
    let e = r.unwrap_err();
    assert!(e.is_suppressed());
    assert_eq!(e.body().unwrap().context, "writing response");
}

#[test]
fn on_a_stack_other_errors_propagate() {
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), _>(io::Error::other("disk full"))
    });
    assert!(matches!(r, Err(ScopeError::Body { cleanup: None, .. })));
}

#[test]
fn on_a_stack_a_matching_cleanup_error_is_suppressed() {
    // The body succeeded; flushing to a client that went away fails with a broken pipe.
    let mut s = ExitStack::new();
    s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    s.named("response")
        .enter(tenure::close::close_with((), |()| Err(pipe())));
    assert_eq!(s.unwind_with(Outcome::Success).unwrap(), Exit::Propagate);

    // Registered after the failing entry, the rule runs first and sees nothing to suppress.
    let mut s = ExitStack::new();
    s.named("response")
        .enter(tenure::close::close_with((), |()| Err(pipe())));
    s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    assert_eq!(s.unwind().unwrap_err().resource(), "response");
}

#[test]
fn nothing_is_suppressed_by_default() {
    let r = ExitStack::scope(|_| Err::<(), _>(pipe()));
    let e = r.unwrap_err();
    assert!(!e.is_suppressed());
    assert_eq!(e.body().unwrap().kind(), ErrorKind::BrokenPipe);

    let mut s = ExitStack::new();
    s.try_callback(|| Err(pipe()));
    s.try_push_exit(|_| Ok::<_, std::convert::Infallible>(Exit::Propagate));
    assert!(s.unwind().is_err());
}

#[test]
fn a_body_panic_is_not_suppressed_on_a_stack() {
    common::quiet_expected_panics();
    let r = std::panic::catch_unwind(|| {
        let _ = ExitStack::scope(|s| {
            s.suppress(suppress::when("everything", |_| true));
            panic!("[expected] not suppressible");
            #[allow(unreachable_code)]
            Ok::<_, Boom>(())
        });
    });
    assert_eq!(
        common::panic_msg(&*r.unwrap_err()),
        "[expected] not suppressible"
    );
}

#[test]
fn or_suppressed_turns_a_suppressed_body_error_into_none() {
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(io::ErrorKind::BrokenPipe));
        Err::<u32, _>(io::Error::from(io::ErrorKind::BrokenPipe))
    });
    assert!(r.is_err());
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(io::ErrorKind::BrokenPipe));
        Err::<u32, _>(io::Error::from(io::ErrorKind::BrokenPipe))
    });
    assert_eq!(r.or_suppressed().unwrap(), None);
    assert_eq!(
        ExitStack::scope(|_| Ok::<_, io::Error>(3))
            .or_suppressed()
            .unwrap(),
        Some(3)
    );
    let r = ExitStack::scope(|_| Err::<u32, _>(io::Error::other("real")));
    assert!(matches!(r.or_suppressed(), Err(ScopeError::Body { .. })));
}

#[test]
fn one_rule_on_two_stacks_and_rules_combined_with_or() {
    let rule = suppress::io_kind(io::ErrorKind::BrokenPipe)
        .or(suppress::io_kind(io::ErrorKind::ConnectionReset));
    let mut a = ExitStack::new();
    let mut b = ExitStack::new();
    a.suppress(rule.clone());
    b.suppress(rule);
    let reset = io::Error::from(io::ErrorKind::ConnectionReset);
    let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
    let other = io::Error::other("disk full");
    assert_eq!(
        a.unwind_with(Outcome::Error(&reset)).unwrap(),
        Exit::Suppress
    );
    assert_eq!(
        b.unwind_with(Outcome::Error(&pipe)).unwrap(),
        Exit::Suppress
    );
    let mut c = ExitStack::new();
    c.suppress(
        suppress::io_kind(io::ErrorKind::BrokenPipe).or(suppress::error_type::<std::fmt::Error>()),
    );
    assert_eq!(
        c.unwind_with(Outcome::Error(&other)).unwrap(),
        Exit::Propagate
    );
}
