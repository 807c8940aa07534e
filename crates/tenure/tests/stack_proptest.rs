//! Property tests over random stacks: whatever mix of entries succeeds, fails or panics,
//! and however the body ends, every entry runs exactly once, last first; every error is
//! reported (returned, or logged when a panic or a `Drop` leaves nowhere to return it), in
//! the order it happened; exit callbacks see what the documented model says; the ledger
//! has no leaks.
//!
//! The expected outcome comes from a small reference model of the rules (see `model`),
//! written from the documentation, not from the implementation.

mod common;

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use proptest::prelude::*;
use tenure::close::close_with;
use tenure::testing::{Ledger, Op};
use tenure::{Close, ErrorKind, Exit, ExitStack, Outcome, ScopeError};

use common::{capture, panic_msg, quiet_expected_panics, what, Boom};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExitDo {
    Propagate,
    Suppress,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseDo {
    Ok,
    Fail,
    Panic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Callback,
    TryCallback { fail: bool },
    Exit(ExitDo),
    Ledger(CloseDo),
    DropOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Ok,
    Err,
    Panic,
}

/// How the stack ends: `scope` with the body's result, an explicit `close_with` the body's
/// outcome, or dropped by its owner (which may be unwinding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Scope,
    CloseWith,
    Drop,
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        Just(Entry::Callback),
        any::<bool>().prop_map(|fail| Entry::TryCallback { fail }),
        prop_oneof![
            Just(ExitDo::Propagate),
            Just(ExitDo::Suppress),
            Just(ExitDo::Fail)
        ]
        .prop_map(Entry::Exit),
        prop_oneof![
            3 => Just(CloseDo::Ok),
            2 => Just(CloseDo::Fail),
            1 => Just(CloseDo::Panic)
        ]
        .prop_map(Entry::Ledger),
        Just(Entry::DropOnly),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![Just(Body::Ok), Just(Body::Err), Just(Body::Panic)]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![3 => Just(Mode::Scope), 2 => Just(Mode::CloseWith), 1 => Just(Mode::Drop)]
}

/// Who an error, a panic or an observed outcome is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Body,
    Entry(usize),
}

/// A cleanup error as the model predicts it: which entry, and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    entry: usize,
    kind: ErrorKind,
}

/// What an exit callback is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Success,
    Error(Who),
    Panic(Who),
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The documented rules, replayed: entries run last first; the body's error stays primary
/// and is what exit callbacks see while pending; otherwise they see the latest cleanup error;
/// a panic (the body's, or the first cleanup panic) is seen by every later exit callback
/// and cannot be suppressed; `Exit::Suppress` suppresses exactly what the callback saw;
/// later cleanup panics become errors.
struct Model {
    order: Vec<usize>,
    seen: Vec<(usize, Seen)>,
    errors: Vec<Expected>,
    /// The first cleanup panic, when the body did not panic.
    panic: Option<usize>,
    body_active: bool,
}

fn model(entries: &[Entry], body: Body) -> Model {
    let body_panicked = body == Body::Panic;
    let mut m = Model {
        order: Vec::new(),
        seen: Vec::new(),
        errors: Vec::new(),
        panic: None,
        body_active: body == Body::Err,
    };
    for (i, e) in entries.iter().enumerate().rev() {
        m.order.push(i);
        let err = |kind| Expected { entry: i, kind };
        match *e {
            Entry::Callback | Entry::DropOnly | Entry::Ledger(CloseDo::Ok) => {}
            Entry::TryCallback { fail } => {
                if fail {
                    m.errors.push(err(ErrorKind::Callback));
                }
            }
            Entry::Ledger(CloseDo::Fail) => m.errors.push(err(ErrorKind::Close)),
            Entry::Ledger(CloseDo::Panic) => {
                if m.panic.is_none() && !body_panicked {
                    m.panic = Some(i);
                } else {
                    m.errors.push(err(ErrorKind::Panic));
                }
            }
            Entry::Exit(what) => {
                let seen = if body_panicked {
                    Seen::Panic(Who::Body)
                } else if let Some(p) = m.panic {
                    Seen::Panic(Who::Entry(p))
                } else if m.body_active {
                    Seen::Error(Who::Body)
                } else if let Some(last) = m.errors.last() {
                    Seen::Error(Who::Entry(last.entry))
                } else {
                    Seen::Success
                };
                m.seen.push((i, seen));
                match what {
                    ExitDo::Propagate => {}
                    ExitDo::Fail => m.errors.push(err(ErrorKind::Callback)),
                    ExitDo::Suppress => match seen {
                        Seen::Error(Who::Body) => m.body_active = false,
                        Seen::Error(Who::Entry(_)) => {
                            m.errors.pop();
                        }
                        Seen::Success | Seen::Panic(_) => {}
                    },
                }
            }
        }
    }
    m
}

/// The entry an error message is about: every injected failure carries `E<index>`.
fn who(msg: &str) -> Who {
    let b = msg.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'E' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let digits: String = msg[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return Who::Entry(digits.parse().unwrap());
        }
    }
    assert!(
        msg.contains("BODY") || msg.contains("while its thread was panicking"),
        "cannot tell who {msg:?} is about"
    );
    Who::Body
}

fn seen_of(o: &Outcome<'_>) -> Seen {
    match o {
        Outcome::Success => Seen::Success,
        Outcome::Error(e) => Seen::Error(who(&tenure::error::Report::new(*e).to_string())),
        Outcome::Panic(_) => Seen::Panic(who(o.panic_message().unwrap())),
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn observed(e: &tenure::Error) -> Vec<Expected> {
    e.iter()
        .map(|e| match who(&what(e)) {
            Who::Entry(entry) => Expected {
                entry,
                kind: e.kind(),
            },
            Who::Body => panic!("the body's error among cleanup errors: {e}"),
        })
        .collect()
}

/// What a run returned, by mode.
#[derive(Debug)]
enum Ended {
    Scope(Result<u32, ScopeError<Boom>>),
    CloseWith(Result<Exit, tenure::Error>),
    Dropped,
}

/// What one run produced.
struct Run {
    order: Vec<usize>,
    seen: Vec<(usize, Seen)>,
    /// What came back, or the panic message it resumed.
    result: Result<Ended, String>,
    /// Warnings tenure logged, each as the entry it is about (or the body) and its kind.
    warnings: Vec<(Who, Option<String>)>,
}

fn run_case(entries: &[Entry], body: Body, mode: Mode, ledger: &Ledger) -> Run {
    let order = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::new(RefCell::new(Vec::new()));

    let push_all = |s: &mut ExitStack<'static>| {
        for (i, e) in entries.iter().enumerate() {
            let order = order.clone();
            match *e {
                Entry::Callback => s.callback(move || order.borrow_mut().push(i)),
                Entry::TryCallback { fail } => s.try_callback(move || {
                    order.borrow_mut().push(i);
                    if fail {
                        Err(Boom::new(format!("E{i}")))
                    } else {
                        Ok(())
                    }
                }),
                Entry::Exit(what) => {
                    let seen = seen.clone();
                    s.try_push_exit(move |o| {
                        order.borrow_mut().push(i);
                        seen.borrow_mut().push((i, seen_of(o)));
                        match what {
                            ExitDo::Propagate => Ok(Exit::Propagate),
                            ExitDo::Suppress => Ok(Exit::Suppress),
                            ExitDo::Fail => Err(Boom::new(format!("E{i}"))),
                        }
                    })
                }
                Entry::Ledger(what) => {
                    let kind = format!("E{i}");
                    match what {
                        CloseDo::Ok => {}
                        CloseDo::Fail => {
                            ledger.faults().fail_nth(Op::Close, kind.clone(), 1);
                        }
                        CloseDo::Panic => {
                            ledger.faults().panic_nth(Op::Close, kind.clone(), 1);
                        }
                    }
                    let res = ledger.acquire(kind.clone()).unwrap();
                    s.named(kind).enter(close_with(res, move |r| {
                        order.borrow_mut().push(i);
                        r.close()
                    }));
                }
                Entry::DropOnly => {
                    struct OnDrop(Box<dyn FnMut()>);
                    impl Drop for OnDrop {
                        fn drop(&mut self) {
                            (self.0)()
                        }
                    }
                    s.enter(tenure::close::Dropping(OnDrop(Box::new(move || {
                        order.borrow_mut().push(i)
                    }))));
                }
            }
        }
    };

    let (result, events) = capture(|| {
        catch_unwind(AssertUnwindSafe(|| match mode {
            Mode::Scope => Ended::Scope(ExitStack::scope(|s| {
                push_all(s);
                match body {
                    Body::Ok => Ok(7),
                    Body::Err => Err(Boom::new("BODY")),
                    Body::Panic => panic!("[expected] BODY"),
                }
            })),
            Mode::CloseWith => {
                let mut s = ExitStack::new();
                push_all(&mut s);
                let body_error = Boom::new("BODY");
                Ended::CloseWith(match body {
                    Body::Ok => s.unwind_with(Outcome::Success),
                    Body::Err => s.unwind_with(Outcome::Error(&body_error)),
                    Body::Panic => panic!("[expected] BODY"),
                })
            }
            Mode::Drop => {
                let mut s = ExitStack::new();
                push_all(&mut s);
                if body == Body::Panic {
                    panic!("[expected] BODY");
                }
                drop(s);
                Ended::Dropped
            }
        }))
    });
    let warnings = common::warnings(&events)
        .into_iter()
        .map(|w| (who(w.message()), w.field("kind").map(str::to_string)))
        .collect();
    let order = order.borrow().clone();
    let seen = seen.borrow().clone();
    Run {
        order,
        seen,
        result: result.map_err(|p| panic_msg(&*p)),
        warnings,
    }
}

fn kind_name(k: ErrorKind) -> String {
    format!("{k:?}")
}

fn check(entries: &[Entry], body: Body, mode: Mode) -> Result<(), TestCaseError> {
    // A stack that is dropped has no body error to see; only a panic can end its owner.
    let body = if mode == Mode::Drop && body == Body::Err {
        Body::Ok
    } else {
        body
    };
    let ledger = Ledger::new();
    let run = run_case(entries, body, mode, &ledger);
    let m = model(entries, body);

    // Exactly once, last first.
    prop_assert_eq!(&run.order, &m.order);
    // Exit callbacks saw what the rules say.
    prop_assert_eq!(&run.seen, &m.seen);
    // Nothing leaked, and the ledger's resources went last acquired, first released.
    prop_assert!(ledger.check_all_released().is_ok());
    let mut released = ledger.release_order();
    let acquired = released.len();
    released.reverse();
    prop_assert_eq!(released, (1..=acquired as u64).collect::<Vec<_>>());

    let expected_warnings = |extra_body: bool| {
        let mut w: Vec<(Who, Option<String>)> = m
            .errors
            .iter()
            .map(|e| (Who::Entry(e.entry), Some(kind_name(e.kind))))
            .collect();
        if extra_body {
            w.push((Who::Body, None));
        }
        w
    };

    let panicked = body == Body::Panic || m.panic.is_some();
    if panicked {
        // The body's panic wins; otherwise the first cleanup panic resumes.
        let msg = run.result.as_ref().err().cloned();
        prop_assert!(msg.is_some(), "expected a panic");
        let msg = msg.unwrap();
        let expected_who = match m.panic {
            Some(p) if body != Body::Panic => Who::Entry(p),
            _ => Who::Body,
        };
        prop_assert_eq!(who(&msg), expected_who);
        // Every error that could not ride along with the panic was logged, in order; a
        // body error overtaken by a cleanup panic too.
        prop_assert_eq!(
            &run.warnings,
            &expected_warnings(mode == Mode::Scope && body == Body::Err)
        );
        return Ok(());
    }

    let result = run.result.as_ref();
    prop_assert!(result.is_ok(), "unexpected panic {:?}", result.err());
    let result = result.unwrap();
    match result {
        Ended::Dropped => {
            prop_assert_eq!(&run.warnings, &expected_warnings(false));
        }
        Ended::CloseWith(r) => {
            prop_assert!(run.warnings.is_empty(), "{:?}", run.warnings);
            let suppressed = body == Body::Err && !m.body_active;
            match r {
                Ok(exit) => {
                    prop_assert!(m.errors.is_empty());
                    prop_assert_eq!(*exit == Exit::Suppress, suppressed);
                }
                Err(e) => prop_assert_eq!(observed(e), m.errors.clone()),
            }
        }
        Ended::Scope(result) => {
            prop_assert!(run.warnings.is_empty(), "{:?}", run.warnings);
            match (body, m.body_active, m.errors.is_empty(), result) {
                (Body::Ok, _, true, Ok(7)) => {}
                (Body::Err, false, true, Err(ScopeError::Suppressed(e))) => {
                    prop_assert_eq!(&e.0, "BODY");
                }
                (Body::Err, true, no_cleanup, Err(ScopeError::Body { error, cleanup })) => {
                    prop_assert_eq!(&error.0, "BODY");
                    prop_assert_eq!(no_cleanup, cleanup.is_none());
                    if let Some(c) = cleanup {
                        prop_assert_eq!(observed(c), m.errors.clone());
                    }
                }
                (Body::Ok | Body::Err, false, false, Err(ScopeError::Cleanup(c))) => {
                    prop_assert_eq!(observed(c), m.errors.clone());
                }
                (b, active, none, r) => {
                    prop_assert!(
                        false,
                        "body {:?} (pending: {}, no cleanup errors: {}) gave {:?}",
                        b,
                        active,
                        none,
                        r
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    // 512 cases by default; PROPTEST_CASES raises (or lowers) it for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_entry_runs_once_lifo_and_every_error_is_reported(
        entries in prop::collection::vec(entry(), 0..12),
        body in body(),
        mode in mode(),
    ) {
        quiet_expected_panics();
        check(&entries, body, mode)?;
    }

    /// Without suppressing exit callbacks, the errors reported are exactly the failures
    /// injected, in the order the entries ran (LIFO).
    #[test]
    fn without_suppression_every_injected_failure_comes_back(
        fails in prop::collection::vec(any::<bool>(), 0..16),
    ) {
        let ledger = Ledger::new();
        let mut s = ExitStack::new();
        for (i, fail) in fails.iter().enumerate() {
            let kind = format!("E{i}");
            if *fail {
                ledger.faults().fail_nth(Op::Close, kind.clone(), 1);
            }
            s.named(kind.clone()).enter(ledger.acquire(kind).unwrap());
        }
        let injected: Vec<usize> = (0..fails.len()).rev().filter(|i| fails[*i]).collect();
        match s.unwind() {
            Ok(()) => prop_assert!(injected.is_empty()),
            Err(e) => {
                prop_assert_eq!(1 + e.suppressed().len(), injected.len());
                let got: Vec<usize> = e.iter().map(|e| e.resource()[1..].parse().unwrap()).collect();
                prop_assert_eq!(got, injected);
            }
        }
        ledger.assert_all_released();
    }
}

#[test]
fn the_model_matches_a_worked_example() {
    // Entries 0..4: try fails, exit suppresses, ledger fails, exit propagates; body fails.
    let entries = [
        Entry::TryCallback { fail: true },
        Entry::Exit(ExitDo::Suppress),
        Entry::Ledger(CloseDo::Fail),
        Entry::Exit(ExitDo::Propagate),
    ];
    let m = model(&entries, Body::Err);
    assert_eq!(m.order, [3, 2, 1, 0]);
    assert_eq!(
        m.seen,
        [(3, Seen::Error(Who::Body)), (1, Seen::Error(Who::Body))]
    );
    assert!(!m.body_active);
    assert_eq!(
        m.errors,
        [
            Expected {
                entry: 2,
                kind: ErrorKind::Close
            },
            Expected {
                entry: 0,
                kind: ErrorKind::Callback
            }
        ]
    );
    check(&entries, Body::Err, Mode::Scope).unwrap();
}
