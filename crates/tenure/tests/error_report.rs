//! Errors print each cause once — `Display` says what this layer did, the cause is only
//! `source()` — and `report()` renders everything: every suppressed error with its cause,
//! a nested group indented by how deep in the chain it sits; `add_suppressed` and
//! `take_suppressed` do what they say; an `Outcome` shows its error's whole chain.

mod common;

use std::io;

use anyhow::Context as _;
use tenure::{Error, ExitStack, ScopeError};

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
fn add_suppressed_and_take_suppressed_do_what_they_say() {
    let mut e = Error::closed("a");
    e.add_suppressed(Error::closed("b"));
    e.add_suppressed(Error::closed("c"));
    let names: Vec<_> = e.iter().map(|e| e.resource()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let taken = e.take_suppressed();
    assert_eq!(
        taken.iter().map(|e| e.resource()).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert!(e.suppressed().is_empty());
    assert_eq!(e.to_string(), "already closed: `a`");
}

/// An error whose cause is a tenure::Error group, one link further down.
#[derive(Debug)]
struct Wrap(Error);

impl std::fmt::Display for Wrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wrapped")
    }
}

impl std::error::Error for Wrap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn report_indents_a_group_by_how_deep_in_the_chain_it_sits() {
    let group = Error::from_errors([Error::closed("b"), Error::closed("c")]).unwrap();
    let e = Error::close("outer", Wrap(group));
    assert_eq!(
        e.report().to_string(),
        "failed to close `outer`: wrapped: already closed: `b` (+1 suppressed cleanup error)\n      \
         suppressed: already closed: `c`"
    );
}

#[test]
fn outcomes_show_the_whole_chain_of_their_error() {
    let e = Error::close("file", std::io::Error::other("disk full"));
    let o = tenure::Outcome::Error(&e);
    assert_eq!(format!("{o:?}"), "Error(failed to close `file`: disk full)");
    assert_eq!(o.to_string(), "error: failed to close `file`: disk full");
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
