//! A narrow rule removes exactly the members of a group it matches (#13, point 1): the
//! issue's reproduction (sync stack, `Suppress::on`, async stack), nested stacks at any
//! depth, and a property test over random nested groups and random rules.

use std::collections::BTreeSet;
use std::io::{self, ErrorKind};

use proptest::prelude::*;
use tenure::{suppress, AsyncExitStack, Error, ExitStack};

/// The inner stack: two cleanups fail, first (top of stack) a broken pipe, then a
/// full disk.
fn failing_inner() -> ExitStack<'static> {
    let mut inner = ExitStack::new();
    inner
        .named("write log")
        .try_callback(|| Err(io::Error::other("disk full")));
    inner
        .named("reply")
        .try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    inner
}

fn causes(e: &Error) -> Vec<String> {
    e.report()
        .to_string()
        .lines()
        .map(|l| l.rsplit(": ").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_reproduction_on_a_stack_keeps_the_full_disk() {
    let mut outer = ExitStack::new();
    outer.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    outer.named("inner stack").enter(failing_inner());
    let e = outer.close().unwrap_err();
    // The nested stack's error is reduced in place: its structure kept, the pipe gone.
    assert_eq!(e.resource(), "inner stack");
    assert!(e.suppressed().is_empty());
    let nested = e.cause::<Error>().expect("the nested stack's error");
    assert_eq!(nested.resource(), "write log");
    assert!(nested.suppressed().is_empty());
    assert_eq!(causes(&e), ["disk full"]);
}

#[test]
fn the_reproduction_with_on_keeps_the_full_disk() {
    let r = suppress::io_kind(ErrorKind::BrokenPipe).on(failing_inner().close());
    let e = r.unwrap_err();
    assert_eq!(e.resource(), "write log"); // the first remaining became primary
    assert!(e.suppressed().is_empty());
    assert_eq!(causes(&e), ["disk full"]);
}

#[test]
fn a_group_whose_every_member_matches_is_suppressed_whole() {
    let mut s = ExitStack::new();
    s.try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    s.try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    assert_eq!(
        suppress::io_kind(ErrorKind::BrokenPipe)
            .on(s.close())
            .unwrap(),
        None
    );

    let mut outer = ExitStack::new();
    outer.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    let mut inner = ExitStack::new();
    inner.try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    outer.enter(inner);
    outer.try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    outer.close().unwrap();
}

#[test]
fn a_rule_on_a_stack_treats_every_cleanup_error_so_far_as_one_group() {
    // The rule runs last (pushed first): it sees both cleanup errors, as `on` would.
    let mut s = ExitStack::new();
    s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    s.named("a")
        .try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    s.named("b")
        .try_callback(|| Err(io::Error::other("disk full")));
    s.named("c")
        .try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    let e = s.close().unwrap_err();
    let names: Vec<_> = e.iter().map(|e| e.resource()).collect();
    assert_eq!(names, ["b"]);
}

#[test]
fn three_levels_deep_the_matching_members_go_and_the_structure_stays() {
    let mut deepest = ExitStack::new();
    deepest
        .named("d1")
        .try_callback(|| Err(io::Error::other("kept 3")));
    deepest
        .named("d2")
        .try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    let mut middle = ExitStack::new();
    middle
        .named("m1")
        .try_callback(|| Err(io::Error::from(ErrorKind::BrokenPipe)));
    middle.named("deepest").enter(deepest);
    middle
        .named("m2")
        .try_callback(|| Err(io::Error::other("kept 2")));
    let mut outer = ExitStack::new();
    outer.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    outer
        .named("o1")
        .try_callback(|| Err(io::Error::other("kept 1")));
    outer.named("middle").enter(middle);
    let e = outer.close().unwrap_err();
    assert_eq!(
        e.report().to_string(),
        "failed to close `middle` (+1 suppressed cleanup error): cleanup callback failed: `m2` \
         (+1 suppressed cleanup error): kept 2\n    \
         suppressed: failed to close `deepest`: cleanup callback failed: `d1`: kept 3\n  \
         suppressed: cleanup callback failed: `o1`: kept 1"
    );
}

#[test]
fn a_body_error_of_the_users_own_type_is_matched_whole() {
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), _>(io::Error::from(ErrorKind::BrokenPipe))
    });
    assert!(r.unwrap_err().is_suppressed());
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        Err::<(), _>(io::Error::other("disk full"))
    });
    assert!(!r.unwrap_err().is_suppressed());
}

#[test]
fn a_body_error_that_is_a_mixed_group_is_not_suppressed() {
    // A body that returns a stack's close error: the rule cannot change the caller's error,
    // and not every member matches, so it propagates whole.
    let r = ExitStack::scope(|s| {
        s.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
        failing_inner().close()
    });
    let e = r.unwrap_err();
    assert!(!e.is_suppressed());
    assert_eq!(e.body().unwrap().iter().count(), 2);
}

#[test]
fn an_explicit_exit_suppress_keeps_its_meaning() {
    let mut outer = ExitStack::new();
    outer.push_exit(|o| {
        if o.is_failure() {
            tenure::Exit::Suppress
        } else {
            tenure::Exit::Propagate
        }
    });
    outer.enter(failing_inner());
    outer.close().unwrap(); // the callback chose to suppress what it saw: the whole error
}

#[tokio::test]
async fn the_reproduction_on_an_async_stack_keeps_the_full_disk() {
    let mut inner = AsyncExitStack::new();
    inner
        .named("write log")
        .try_async_callback(|| async { Err(io::Error::other("disk full")) });
    inner
        .named("reply")
        .try_async_callback(|| async { Err(io::Error::from(ErrorKind::BrokenPipe)) });
    let mut outer = AsyncExitStack::new();
    outer.suppress(suppress::io_kind(ErrorKind::BrokenPipe));
    outer.named("inner stack").enter(inner);
    let e = outer.close().await.unwrap_err();
    assert_eq!(e.resource(), "inner stack");
    let nested = e.cause::<Error>().unwrap();
    assert_eq!(
        (nested.resource(), nested.suppressed().len()),
        ("write log", 0)
    );
    assert_eq!(causes(&e), ["disk full"]);
}

/// A random group member: a leaf failing with `m{id}`, or a nested group (a nested stack's
/// close error named `n{id}`).
#[derive(Debug, Clone)]
enum Tree {
    Leaf(u32),
    Nested(u32, Vec<Tree>),
}

fn trees() -> impl Strategy<Value = Vec<Tree>> {
    let leaf = (0u32..1000).prop_map(Tree::Leaf);
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        ((0u32..1000), prop::collection::vec(inner, 1..4)).prop_map(|(id, v)| Tree::Nested(id, v))
    });
    prop::collection::vec(tree, 1..5)
}

/// Unique ids, so that each leaf's message is its own.
fn renumber(trees: &mut [Tree], next: &mut u32) {
    for t in trees {
        *next += 1;
        match t {
            Tree::Leaf(id) => *id = *next,
            Tree::Nested(id, kids) => {
                *id = *next;
                renumber(kids, next);
            }
        }
    }
}

fn build(trees: &[Tree]) -> Error {
    Error::from_errors(trees.iter().map(|t| match t {
        Tree::Leaf(id) => Error::callback(format!("leaf {id}"), io::Error::other(format!("m{id}"))),
        Tree::Nested(id, kids) => Error::close(format!("n{id}"), build(kids)),
    }))
    .unwrap()
}

/// What should remain: leaves not in `matched`, nested groups with anything left.
fn expected(trees: &[Tree], matched: &BTreeSet<u32>) -> Vec<Tree> {
    trees
        .iter()
        .filter_map(|t| match t {
            Tree::Leaf(id) => (!matched.contains(id)).then_some(t.clone()),
            Tree::Nested(id, kids) => {
                let rest = expected(kids, matched);
                (!rest.is_empty()).then_some(Tree::Nested(*id, rest))
            }
        })
        .collect()
}

/// The error read back as trees.
fn observed(e: &Error) -> Vec<Tree> {
    e.iter()
        .map(|m| match m.cause::<Error>() {
            Some(nested) => Tree::Nested(m.resource()[1..].parse().unwrap(), observed(nested)),
            None => Tree::Leaf(m.resource()["leaf ".len()..].parse().unwrap()),
        })
        .collect()
}

fn leaves(trees: &[Tree], into: &mut Vec<u32>) {
    for t in trees {
        match t {
            Tree::Leaf(id) => into.push(*id),
            Tree::Nested(_, kids) => leaves(kids, into),
        }
    }
}

fn same(a: &[Tree], b: &[Tree]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|p| match p {
            (Tree::Leaf(x), Tree::Leaf(y)) => x == y,
            (Tree::Nested(x, xs), Tree::Nested(y, ys)) => x == y && same(xs, ys),
            _ => false,
        })
}

proptest! {
    #[test]
    fn exactly_the_non_matching_members_come_out_in_order(
        mut group in trees(),
        picks in prop::collection::vec(any::<bool>(), 64),
        on_a_stack in any::<bool>(),
    ) {
        renumber(&mut group, &mut 0);
        let mut all = Vec::new();
        leaves(&group, &mut all);
        let matched: BTreeSet<u32> =
            all.iter().zip(picks.iter().cycle()).filter(|(_, p)| **p).map(|(id, _)| *id).collect();
        let wanted: BTreeSet<String> = matched.iter().map(|id| format!("m{id}")).collect();
        let rule = suppress::when("picked", move |e| wanted.contains(&e.to_string()));
        let want = expected(&group, &matched);

        let result = if on_a_stack {
            // The group as a stack's errors: each top-level member fails in its turn.
            let mut s = ExitStack::new();
            s.suppress(rule);
            for t in group.iter().rev() {
                let e = build(std::slice::from_ref(t));
                s.try_callback(move || Err(CloneFree(Some(e)).take()));
            }
            s.close()
        } else {
            rule.on(Err::<(), _>(build(&group))).map(drop)
        };
        match result {
            Ok(()) => prop_assert!(want.is_empty(), "all suppressed but {:?} should remain", want),
            Err(e) => {
                let got = if on_a_stack { unwrap_callbacks(&e) } else { observed(&e) };
                prop_assert!(same(&got, &want), "got {:?}, want {:?}", got, want);
            }
        }
    }
}

/// On a stack each member is wrapped by its callback's error: read through that wrapper.
fn unwrap_callbacks(e: &Error) -> Vec<Tree> {
    e.iter()
        .flat_map(|m| observed(m.cause::<Error>().unwrap()))
        .collect()
}

/// Moves a prebuilt error into a callback's result.
struct CloneFree(Option<Error>);
impl CloneFree {
    fn take(mut self) -> Error {
        self.0.take().unwrap()
    }
}
