//! Agreement (DESIGN rule 13): `transaction` / `Options::run` and their async twins, run
//! over the same generated plans on the scripted connection — nested transactions,
//! rejected statements of every class (ending the transaction or not), failing bodies,
//! panics, lost replies, retries — agree on everything observable: each transaction's
//! result (value, failure kind, message, full report, attempts, cleanup), each nested
//! transaction's, whether it panicked, the connection's state after it, and the server's
//! statement log and committed rows.
#![cfg(all(feature = "testing", feature = "tokio"))]

use std::panic::{catch_unwind, AssertUnwindSafe};

use proptest::prelude::*;
use tenure::testing::tx::{Rejection, ScriptedConnection, ScriptedError, Server};
use tenure::testing::Op;
use tenure::tx::{
    transaction, transaction_async, AsyncTransactional, Class, Failure, Mode, Options, Retry,
    Session, Transactional, Tx, TxError,
};

#[derive(Debug, Clone)]
enum Step {
    Insert(i64),
    /// The server rejects the next insert (class, ends the transaction), then it is sent.
    Rejected(Class, bool),
    /// The same, on the first attempt only (what retry is for).
    RejectedFirstAttempt(Class),
    /// The body returns an error of its own.
    Fail,
    Panic,
    /// The server will reject the next control statement of this kind.
    RejectControl(Op, Class, bool),
    /// The next reply of this kind is lost (and the connection with it).
    Lose(Op),
    Nested(Vec<Step>),
}

#[derive(Debug, Clone)]
struct TxPlan {
    mode: Mode,
    retry: Option<u32>,
    steps: Vec<Step>,
}

/// Reaches the scripted connection under any number of `Tx` layers.
trait AsConn {
    fn conn(&mut self) -> &mut ScriptedConnection;
}

impl AsConn for ScriptedConnection {
    fn conn(&mut self) -> &mut ScriptedConnection {
        self
    }
}

impl<C: AsConn> AsConn for Tx<'_, C> {
    fn conn(&mut self) -> &mut ScriptedConnection {
        (**self).conn()
    }
}

type R = Result<u32, TxError<ScriptedError, ScriptedError>>;

fn describe(r: &R) -> String {
    match r {
        Ok(v) => format!("ok {v}"),
        Err(e) => {
            let kind = match e.failure() {
                Failure::Body(_) => "body",
                Failure::Begin(_) => "begin",
                Failure::Commit(_) => "commit",
                Failure::CommitUnknown(_) => "commit unknown",
                Failure::NotReady { .. } => "not ready",
                Failure::StateChanged { .. } => "state changed",
                _ => "other",
            };
            format!(
                "err {kind} | {e} | {} | attempts {} | cleanup {}",
                e.report(),
                e.attempts(),
                e.cleanup().is_some()
            )
        }
    }
}

fn body_error() -> ScriptedError {
    ScriptedError {
        class: Class::Other,
        statement: "(body)".into(),
        message: "the body failed".into(),
        fault: None,
    }
}

/// Does what a step that is not a statement or a nested transaction says (plans a
/// rejection or a lost reply, fails, panics).
fn prepare(c: &mut ScriptedConnection, step: &Step, attempt: u32) -> Result<(), ScriptedError> {
    match step {
        Step::Rejected(class, ends) => {
            let r = Rejection::new(*class);
            c.reject_next(
                Op::Statement,
                if *ends { r.ending_transaction() } else { r },
            );
        }
        Step::RejectedFirstAttempt(class) if attempt == 1 => {
            c.reject_next(Op::Statement, Rejection::new(*class));
        }
        Step::Fail => return Err(body_error()),
        Step::Panic => panic!("plan panic"),
        Step::RejectControl(op, class, ends) => {
            let r = Rejection::new(*class);
            c.reject_next(*op, if *ends { r.ending_transaction() } else { r });
        }
        Step::Lose(op) => {
            let n = c.faults().count(*op, "conn");
            c.faults().fail_nth(*op, "conn", n + 1);
        }
        _ => {}
    }
    Ok(())
}

fn value(step: &Step) -> Option<i64> {
    match step {
        Step::Insert(v) => Some(*v),
        Step::Rejected(..) | Step::RejectedFirstAttempt(_) => Some(-1),
        _ => None,
    }
}

macro_rules! blocking_level {
    ($name:ident, $next:ident) => {
        fn $name<C: Transactional<Error = ScriptedError> + AsConn>(
            tx: &mut Tx<'_, C>,
            steps: &[Step],
            obs: &mut Vec<String>,
        ) -> Result<u32, ScriptedError> {
            let attempt = Tx::attempt(tx);
            for step in steps {
                if let Step::Nested(inner) = step {
                    let r = transaction(tx, |t| $next(t, inner, obs));
                    obs.push(format!("nested: {}", describe(&r)));
                    continue;
                }
                prepare(tx.conn(), step, attempt)?;
                if let Some(v) = value(step) {
                    tx.conn().insert(v)?;
                }
            }
            Ok(attempt)
        }
    };
}

macro_rules! async_level {
    ($name:ident, $next:ident) => {
        async fn $name<C: AsyncTransactional<Error = ScriptedError> + AsConn>(
            tx: &mut Tx<'_, C>,
            steps: &[Step],
            obs: &mut Vec<String>,
        ) -> Result<u32, ScriptedError> {
            let attempt = Tx::attempt(tx);
            for step in steps {
                if let Step::Nested(inner) = step {
                    let r = transaction_async(tx, async |t| $next(t, inner, obs).await).await;
                    obs.push(format!("nested: {}", describe(&r)));
                    continue;
                }
                prepare(tx.conn(), step, attempt)?;
                if let Some(v) = value(step) {
                    tx.conn().insert_async(v).await?;
                }
            }
            Ok(attempt)
        }
    };
}

blocking_level!(level0, level1);
blocking_level!(level1, level2);
blocking_level!(level2, level3);
async_level!(alevel0, alevel1);
async_level!(alevel1, alevel2);
async_level!(alevel2, alevel3);

/// The deepest level: plans nest no deeper, so a `Nested` here is never generated.
fn level3<C: Transactional<Error = ScriptedError> + AsConn>(
    tx: &mut Tx<'_, C>,
    steps: &[Step],
    _: &mut Vec<String>,
) -> Result<u32, ScriptedError> {
    assert!(steps.is_empty(), "plans nest three deep at most");
    Ok(Tx::attempt(tx))
}

async fn alevel3<C: AsyncTransactional<Error = ScriptedError> + AsConn>(
    tx: &mut Tx<'_, C>,
    steps: &[Step],
    _: &mut Vec<String>,
) -> Result<u32, ScriptedError> {
    assert!(steps.is_empty(), "plans nest three deep at most");
    Ok(Tx::attempt(tx))
}

fn options(plan: &TxPlan) -> Options {
    Options {
        mode: plan.mode,
        retry: plan.retry.map(|attempts| Retry {
            attempts,
            backoff: std::time::Duration::ZERO,
            max_backoff: std::time::Duration::ZERO,
            on_busy: true,
        }),
    }
}

/// Everything observable of a run: per transaction, its nested results, its own result or
/// its panic, the state after it (and a rollback by hand if it was left open); then the
/// server's log and rows.
fn run_blocking(plans: &[TxPlan]) -> (Vec<String>, Vec<String>, Vec<i64>) {
    let server = Server::new();
    let mut conn = server.connect();
    let mut obs = Vec::new();
    for plan in plans {
        let opts = options(plan);
        let mut nested = Vec::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            opts.run(&mut conn, |tx| level0(tx, &plan.steps, &mut nested))
        }));
        obs.append(&mut nested);
        obs.push(match &r {
            Ok(r) => describe(r),
            Err(_) => "panicked".into(),
        });
        obs.push(format!("state {}", conn.state()));
        if !conn.state().is_idle() {
            obs.push(format!("by hand: {:?}", Transactional::rollback(&mut conn)));
        }
    }
    (obs, server.log(), server.rows())
}

fn run_async(plans: &[TxPlan]) -> (Vec<String>, Vec<String>, Vec<i64>) {
    let server = Server::new();
    let mut conn = server.connect();
    let mut obs = Vec::new();
    for plan in plans {
        let opts = options(plan);
        let mut nested = Vec::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(opts.run_async(&mut conn, async |tx| {
                alevel0(tx, &plan.steps, &mut nested).await
            }))
        }));
        obs.append(&mut nested);
        obs.push(match &r {
            Ok(r) => describe(r),
            Err(_) => "panicked".into(),
        });
        obs.push(format!("state {}", conn.state()));
        if !conn.state().is_idle() {
            let by_hand = futures::executor::block_on(AsyncTransactional::rollback(&mut conn));
            obs.push(format!("by hand: {by_hand:?}"));
        }
    }
    (obs, server.log(), server.rows())
}

fn class() -> impl Strategy<Value = Class> {
    prop_oneof![
        Just(Class::Serialization),
        Just(Class::Deadlock),
        Just(Class::Busy),
        Just(Class::BusySnapshot),
        Just(Class::ConnectionLost),
        Just(Class::NoTransaction),
        Just(Class::Other),
    ]
}

fn control() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Begin),
        Just(Op::Commit),
        Just(Op::Rollback),
        Just(Op::Savepoint),
        Just(Op::ReleaseSavepoint),
        Just(Op::RollbackToSavepoint),
    ]
}

fn leaf() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0i64..100).prop_map(Step::Insert),
        2 => (class(), any::<bool>()).prop_map(|(c, e)| Step::Rejected(c, e)),
        2 => class().prop_map(Step::RejectedFirstAttempt),
        1 => Just(Step::Fail),
        1 => Just(Step::Panic),
        2 => (control(), class(), any::<bool>()).prop_map(|(o, c, e)| Step::RejectControl(o, c, e)),
        1 => control().prop_map(Step::Lose),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let l2 = prop::collection::vec(leaf(), 0..4);
    let l1 = prop::collection::vec(
        prop_oneof![4 => leaf(), 1 => l2.prop_map(Step::Nested)],
        0..4,
    );
    prop::collection::vec(
        prop_oneof![4 => leaf(), 1 => l1.prop_map(Step::Nested)],
        0..6,
    )
}

fn plan() -> impl Strategy<Value = TxPlan> {
    (
        prop_oneof![
            Just(Mode::Deferred),
            Just(Mode::Immediate),
            Just(Mode::ReadOnly)
        ],
        prop::option::of(1u32..4),
        steps(),
    )
        .prop_map(|(mode, retry, steps)| TxPlan { mode, retry, steps })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn blocking_and_async_transactions_agree(plans in prop::collection::vec(plan(), 1..5)) {
        // The plans' panics are expected: keep them quiet.
        std::panic::set_hook(Box::new(|_| {}));
        let blocking = run_blocking(&plans);
        let asynchronous = run_async(&plans);
        prop_assert_eq!(blocking, asynchronous);
    }
}

/// The generator reaches what it should: nested results, retries that succeed, unknown
/// commits, cleanup failures, panics (so the agreement above compares them all).
#[test]
fn the_plans_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    std::panic::set_hook(Box::new(|_| {}));
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..400 {
        let plans = prop::collection::vec(plan(), 1..5)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        for line in run_blocking(&plans).0 {
            for key in [
                "nested: ok",
                "nested: err body",
                "err commit unknown",
                "err begin",
                "err commit |",
                "err state changed",
                "err not ready",
                "cleanup true",
                "panicked",
                "ok 2",
            ] {
                if line.contains(key) {
                    seen.insert(key);
                }
            }
        }
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
}
