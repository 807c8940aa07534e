//! The core API's conventions (#12): errors print each cause once and render completely
//! with `report()`; unnamed entries are named where they were pushed; one naming mechanism;
//! handles that deref do not shadow the resource's methods; `or_suppressed`; infallible
//! exit callbacks; rules that clone and combine.

mod common;

use std::io;

use anyhow::Context as _;
use tenure::close::{close_with, Closing};
use tenure::stack::ScopeResultExt;
use tenure::{suppress, AsyncExitStack, Close, Error, Exit, ExitStack, Outcome, ScopeError};

/// Each message of `text` (split on ": ") appears exactly once.
fn each_once(text: &str, messages: &[&str]) {
    for m in messages {
        assert_eq!(text.matches(m).count(), 1, "{m:?} in {text:?}");
    }
}

#[test]
fn a_three_level_chain_through_anyhow_prints_each_message_once() {
    // body error (level 1) inside a scope error (2), wrapped by anyhow's context (3), with a
    // cleanup error (its own cause) beside it.
    fn save() -> anyhow::Result<()> {
        ExitStack::scope(|s| {
            s.named("flush")
                .try_callback(|| Err(io::Error::other("disk full")));
            Err::<(), _>(io::Error::other("query failed"))
        })
        .context("saving the report")?;
        Ok(())
    }
    let e = save().unwrap_err();
    let text = format!("{e:#}");
    assert_eq!(text, "saving the report: query failed (+1 cleanup error)");
    each_once(&text, &["saving the report", "query failed"]);
    // The cleanup error is not on the chain; report() shows it, with its cause, once.
    let scope: &ScopeError<io::Error> = e.downcast_ref().unwrap();
    let report = scope.report().to_string();
    assert_eq!(
        report,
        "query failed (+1 cleanup error)\n  cleanup: cleanup callback failed: `flush`: disk full"
    );
    each_once(&report, &["query failed", "flush", "disk full"]);
}

#[test]
fn a_nested_close_error_prints_each_level_once() {
    // close error (1) whose cause is a callback error (2) whose cause is an io error (3).
    let mut inner = ExitStack::new();
    inner
        .named("flush")
        .try_callback(|| Err(io::Error::other("disk full")));
    let mut outer = ExitStack::new();
    outer.named("inner stack").enter(inner);
    let e = anyhow::Error::new(outer.close().unwrap_err());
    let text = format!("{e:#}");
    assert_eq!(
        text,
        "failed to close `inner stack`: cleanup callback failed: `flush`: disk full"
    );
    each_once(&text, &["inner stack", "flush", "disk full"]);
}

#[test]
fn the_new_users_unnamed_callback_is_named_by_where_it_was_pushed() {
    fn save() -> anyhow::Result<()> {
        ExitStack::scope(|s| {
            s.try_callback(|| Err(io::Error::other("disk full")));
            Ok::<_, io::Error>(())
        })
        .context("saving the report")?;
        Ok(())
    }
    let line = line!() - 6;
    let text = format!("{:#}", save().unwrap_err());
    let at = format!("{}:{line}:15", file!());
    assert_eq!(
        text,
        format!("saving the report: cleanup callback failed: `{at}`: disk full")
    );
    assert!(!text.contains("{{closure}}"));
    each_once(&text, &["saving the report", "disk full", &at]);
}

#[test]
fn report_lists_every_suppressed_error_with_its_cause() {
    let e = Error::from_errors([
        Error::callback("a", io::Error::other("first")),
        Error::close(
            "inner",
            Error::from_errors([
                Error::close("b", io::Error::other("second")),
                Error::close("c", io::Error::other("third")),
            ])
            .unwrap(),
        ),
    ])
    .unwrap();
    assert_eq!(
        e.report().to_string(),
        "cleanup callback failed: `a` (+1 suppressed cleanup error): first\n  \
         suppressed: failed to close `inner`: failed to close `b` (+1 suppressed cleanup error): second\n      \
         suppressed: failed to close `c`: third"
    );
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

/// A resource with methods of the same names as `Closing`'s own operations.
struct Conn {
    closed: std::rc::Rc<std::cell::Cell<u32>>,
}
impl Conn {
    fn name(&self) -> &str {
        "the connection's own name"
    }
    #[allow(clippy::wrong_self_convention)] // the name is the point: it must not be shadowed
    fn into_inner(&self) -> &'static str {
        "the connection's own into_inner"
    }
}
impl Close for Conn {
    type Error = io::Error;
    fn close(self) -> io::Result<()> {
        self.closed.set(self.closed.get() + 1);
        Ok(())
    }
}

#[test]
fn closing_never_shadows_the_resources_methods() {
    let closed = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = Closing::named(
        "guard name",
        Conn {
            closed: closed.clone(),
        },
    );
    assert_eq!(c.name(), "the connection's own name");
    assert_eq!(c.into_inner(), "the connection's own into_inner");
    assert_eq!(Closing::name(&c), "guard name");
    Closing::close(c).unwrap();
    assert_eq!(closed.get(), 1);

    let c = Closing::new(Conn {
        closed: closed.clone(),
    });
    let conn = Closing::into_inner(c);
    assert_eq!(
        closed.get(),
        1,
        "into_inner hands the resource back unclosed"
    );
    drop(conn);
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
