//! The suite's cases, each written once: its plan (which body runs how, on which
//! connection) and what it expects. A [`Form`] drives them, blocking or async.

use std::any::Any;
use std::time::Duration;

use super::Summary;
use crate::pool::{Manager, Pool};
use crate::tx::{Failure, Mode, Options, Retry, Session, State, TxError};

/// The error a conformance body fails with: [`Refused`](super::Refused) on purpose, or the
/// adapter's (its `source()`, so retry classifies it along the chain).
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError<D: std::error::Error + 'static> {
    #[error(transparent)]
    Refused(#[from] super::Refused),
    #[error("a statement of the conformance body failed")]
    Adapter(#[source] D),
}

/// What running a body ended with: its value (the attempt that committed), its error, or
/// the panic it resumed.
pub(super) type Ran<C> = Result<
    Result<u32, TxError<BodyError<<C as Session>::Error>, <C as Session>::Error>>,
    Box<dyn Any + Send>,
>;

/// The bodies the cases run. Each writes rows with the harness's `insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Body {
    /// Writes 1 and 2; returns the attempt.
    Two,
    /// Writes 1; returns the attempt.
    One,
    /// Writes 1, then fails with `Refused`.
    Refuse,
    /// Writes 1, then panics with "conformance panic".
    Panic,
    /// Writes 1; a nested transaction writes 2 and fails (the outer must be back where it
    /// was); a nested one writes 3 and, nested in it, 4; then writes 5. Rows 1, 3, 4, 5.
    Savepoints,
    /// On the first attempt, the harness's conflict (when it has none, the form records
    /// it: [`Form::unprovoked`]); then writes 1 and returns the attempt.
    ConflictFirst,
    /// The harness's conflict, every attempt.
    ConflictAlways,
}

/// How a body is run: by `transaction` / `transaction_async`, or by [`Options`].
pub(super) type How = Option<Options>;

/// A form of the suite: how each step is driven, blocking or async. Every step is a
/// future; the blocking form's are ready at once.
pub(super) trait Form {
    type Conn: Session;
    type Manager: Manager;
    /// A lease as the suite drives it.
    type Lent;

    fn conn(lent: &mut Self::Lent) -> &mut Self::Conn;
    async fn connect(&self) -> Self::Conn;
    async fn count(&self) -> usize;
    /// Runs `body` in a transaction on `conn`.
    async fn run(&self, conn: &mut Self::Conn, how: How, body: Body) -> Ran<Self::Conn>;
    /// A control statement by hand (`BEGIN` in `mode`, then a savepoint if `savepoint`),
    /// then a row if `write`: whether all succeeded.
    async fn leave_open(
        &self,
        conn: &mut Self::Conn,
        mode: Mode,
        savepoint: bool,
        write: bool,
    ) -> bool;
    /// `ROLLBACK` by hand: whether it succeeded.
    async fn rollback(&self, conn: &mut Self::Conn) -> bool;
    fn lose_next_commit_reply(&self, conn: &mut Self::Conn) -> bool;
    fn pool(&self) -> Pool<Self::Manager>;
    async fn lend(&self, pool: &Pool<Self::Manager>) -> Self::Lent;
    /// Whether a [`Body::ConflictFirst`] found the harness without a conflict (and clears it).
    fn unprovoked(&self) -> bool;
}

macro_rules! check {
    ($case:expr, $cond:expr, $($msg:tt)+) => {
        assert!($cond, "tx conformance, {}: {}", $case, format!($($msg)+))
    };
}

/// In [`Body::Savepoints`]: the nested transaction whose body failed (`failed`) left the
/// outer one in the state it was in before (`outer`), not `now`.
pub(super) fn inner_rolled_back(failed: bool, outer: State, now: State) {
    check!("savepoints", failed, "the inner body failed");
    check!(
        "savepoints",
        now == outer,
        "back to {outer} after the inner rollback, not {now}"
    );
}

/// A body's panic where none was planned (a check inside it failed): resumed, its message
/// intact.
fn resume<T>(payload: Box<dyn Any + Send>) -> T {
    std::panic::resume_unwind(payload)
}

fn retry_options(attempts: u32) -> How {
    Some(Options {
        mode: Mode::Deferred,
        retry: Some(Retry {
            attempts,
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            on_busy: false,
        }),
    })
}

/// The cases both forms run, in order, recorded in `s`.
pub(super) async fn cases<F: Form>(f: &F, s: &mut Summary) {
    let mut conn = f.connect().await;

    let before = f.count().await;
    let r = f
        .run(&mut conn, None, Body::Two)
        .await
        .unwrap_or_else(resume);
    check!("commit", matches!(r, Ok(1)), "{:?}", r.err());
    check!("commit", f.count().await == before + 2, "2 rows committed");
    check!(
        "commit",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("commit");

    let before = f.count().await;
    let r = f
        .run(&mut conn, None, Body::Refuse)
        .await
        .unwrap_or_else(resume);
    let ok = matches!(&r, Err(e) if matches!(e.failure(), Failure::Body(BodyError::Refused(_))) && e.cleanup().is_none());
    check!("rollback on error", ok, "{:?}", r);
    check!(
        "rollback on error",
        f.count().await == before,
        "nothing committed"
    );
    check!(
        "rollback on error",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("rollback on error");

    let before = f.count().await;
    let caught = f.run(&mut conn, None, Body::Panic).await;
    let resumed =
        caught.err().and_then(|p| p.downcast_ref::<&str>().copied()) == Some("conformance panic");
    check!("rollback on panic", resumed, "the body's panic resumed");
    check!(
        "rollback on panic",
        f.count().await == before,
        "nothing committed"
    );
    check!(
        "rollback on panic",
        conn.state() == State::Idle,
        "state {}",
        conn.state()
    );
    s.passed.push("rollback on panic");

    let before = f.count().await;
    let r = f
        .run(&mut conn, None, Body::Savepoints)
        .await
        .unwrap_or_else(resume);
    check!("savepoints", r.is_ok(), "{:?}", r.err());
    let new = f.count().await - before;
    check!(
        "savepoints",
        new == 4,
        "rows 1, 3, 4, 5 committed, 2 not: {new} new"
    );
    s.passed.push("savepoints");

    let before = f.count().await;
    check!(
        "not idle",
        f.leave_open(&mut conn, Mode::Deferred, false, false).await,
        "BEGIN by hand"
    );
    let r = f
        .run(&mut conn, None, Body::One)
        .await
        .unwrap_or_else(resume);
    let refused = matches!(&r, Err(e) if matches!(e.failure(), Failure::NotReady { expected: State::Idle, .. }));
    check!("not idle", refused, "{:?}", r.err());
    check!("not idle", f.rollback(&mut conn).await, "ROLLBACK by hand");
    check!(
        "not idle",
        f.count().await == before && conn.state() == State::Idle,
        "nothing committed, idle"
    );
    s.passed.push("not idle");

    let before = f.count().await;
    let r = f
        .run(&mut conn, retry_options(3), Body::ConflictFirst)
        .await
        .unwrap_or_else(resume);
    if f.unprovoked() {
        check!("retry", r.is_ok(), "{:?}", r.err());
        s.skipped
            .push(("retry", "the harness cannot provoke a retryable conflict"));
    } else {
        check!("retry", matches!(r, Ok(2)), "retried once: {:?}", r);
        check!(
            "retry",
            f.count().await == before + 1,
            "one row, from the second attempt"
        );
        s.passed.push("retry");
        let before = f.count().await;
        let r = f
            .run(&mut conn, retry_options(3), Body::ConflictAlways)
            .await
            .unwrap_or_else(resume);
        check!(
            "retries used up",
            matches!(&r, Err(e) if e.attempts() == 3),
            "{:?}",
            r
        );
        check!(
            "retries used up",
            f.count().await == before && conn.state() == State::Idle,
            "nothing committed, idle"
        );
        s.passed.push("retries used up");
    }

    let mut lost = f.connect().await;
    if f.lose_next_commit_reply(&mut lost) {
        let r = f
            .run(&mut lost, retry_options(3), Body::One)
            .await
            .unwrap_or_else(resume);
        check!(
            "unknown commit",
            matches!(&r, Err(e) if e.is_commit_unknown() && e.attempts() == 1),
            "{:?}",
            r
        );
        check!(
            "unknown commit",
            lost.state() != State::Idle,
            "not idle after a lost COMMIT reply"
        );
        s.passed.push("unknown commit");
    } else {
        s.skipped
            .push(("unknown commit", "the harness cannot lose a COMMIT's reply"));
    }
    drop(lost);
    drop(conn);

    pool_return(f, &f.pool()).await;
    s.passed.push("pool return in every state");
}

/// A connection returned to a pool of one idle, in a transaction, in a savepoint and
/// mid-body: each time the next lease is idle, nothing of it was committed, and it works.
async fn pool_return<F: Form>(f: &F, pool: &Pool<F::Manager>) {
    let states = [
        ("idle", None),
        ("in a transaction", Some((Mode::Deferred, false, false))),
        ("in a savepoint", Some((Mode::Deferred, true, false))),
        ("mid-body", Some((Mode::Immediate, false, true))),
    ];
    for (name, open) in states {
        let before = f.count().await;
        let mut lent = f.lend(pool).await;
        if let Some((mode, savepoint, write)) = open {
            let left = f
                .leave_open(F::conn(&mut lent), mode, savepoint, write)
                .await;
            check!("pool return", left, "leaving the connection {name}");
        }
        drop(lent);
        let mut lent = f.lend(pool).await;
        let state = F::conn(&mut lent).state();
        check!(
            "pool return",
            state == State::Idle,
            "returned {name}, next lease is {state}"
        );
        check!(
            "pool return",
            f.count().await == before,
            "returned {name}: nothing committed"
        );
        let r = f
            .run(F::conn(&mut lent), None, Body::One)
            .await
            .unwrap_or_else(resume);
        check!(
            "pool return",
            r.is_ok(),
            "the next lease works: {:?}",
            r.err()
        );
        check!(
            "pool return",
            f.count().await == before + 1,
            "the next lease commits"
        );
    }
}

/// A form that can drop a transaction part-way (the async one).
pub(super) trait Cancel: Form {
    /// Runs [`Body::Two`] on `conn`, dropping it after its `k`th pending poll: `None` if it
    /// was dropped, else how it ended.
    async fn run_dropped(
        &self,
        conn: &mut Self::Conn,
        k: usize,
    ) -> Option<
        Result<
            u32,
            TxError<BodyError<<Self::Conn as Session>::Error>, <Self::Conn as Session>::Error>,
        >,
    >;
}

/// A transaction of two writes dropped after each of its pending polls in turn, from the
/// first until it completes, through a pool of one: each time, the next lease is idle and
/// the writes are committed both or neither.
pub(super) async fn cancellation<F: Cancel>(f: &F, s: &mut Summary) {
    let pool = f.pool();
    let mut k = 1;
    loop {
        let before = f.count().await;
        let mut lent = f.lend(&pool).await;
        let done = f.run_dropped(F::conn(&mut lent), k).await;
        let completed = matches!(done, Some(Ok(_)));
        check!(
            "cancellation",
            done.as_ref().is_none_or(Result::is_ok),
            "{:?}",
            done.and_then(Result::err)
        );
        if done.is_none() {
            check!("cancellation", F::conn(&mut lent).state() != State::Idle || f.count().await != before,
                "dropped after {k} pending polls: idle, yet nothing committed: was the transaction ever begun?");
        }
        drop(lent);
        let mut lent = f.lend(&pool).await;
        let state = F::conn(&mut lent).state();
        check!(
            "cancellation",
            state == State::Idle,
            "dropped after {k} pending polls: next lease is {state}"
        );
        let after = f.count().await;
        check!(
            "cancellation",
            after == before || after == before + 2,
            "dropped after {k} pending polls: {} rows committed (both or neither)",
            after - before
        );
        drop(lent);
        if completed {
            break;
        }
        k += 1;
        check!(
            "cancellation",
            k < 10_000,
            "the transaction never completed"
        );
    }
    s.passed.push("cancellation at every await point");
}
