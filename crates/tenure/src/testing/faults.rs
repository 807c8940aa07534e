//! Fault injection: make the Nth call of an operation on a kind of resource — or calls
//! drawn at a seeded probability — fail, panic, take longer or hang.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::lock;

/// An operation faults can be injected into.
///
/// ```
/// assert_eq!(tenure::testing::Op::Close.to_string(), "close");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Op {
    /// Acquiring (creating, opening, connecting: a pool's create).
    Acquire,
    /// Validating (e.g. a pool's check on checkout).
    Validate,
    /// Resetting before reuse (e.g. a pool's rollback or session reset on return).
    Reset,
    /// Closing / releasing.
    Close,
    /// A transaction's `BEGIN` (`tenure::testing::tx`'s scripted connection: its reply).
    Begin,
    /// A transaction's `COMMIT`.
    Commit,
    /// A transaction's `ROLLBACK`.
    Rollback,
    /// Creating a savepoint (`SAVEPOINT`).
    Savepoint,
    /// Releasing a savepoint (`RELEASE SAVEPOINT`).
    ReleaseSavepoint,
    /// Rolling back to a savepoint (`ROLLBACK TO SAVEPOINT`).
    RollbackToSavepoint,
    /// A statement inside a transaction's body (the scripted connection's `insert`).
    Statement,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Acquire => "acquire",
            Op::Validate => "validate",
            Op::Reset => "reset",
            Op::Close => "close",
            Op::Begin => "begin",
            Op::Commit => "commit",
            Op::Rollback => "rollback",
            Op::Savepoint => "savepoint",
            Op::ReleaseSavepoint => "release savepoint",
            Op::RollbackToSavepoint => "rollback to savepoint",
            Op::Statement => "statement",
        })
    }
}

/// What an injected fault does.
///
/// ```
/// use tenure::testing::{Fault, Faults, Op};
/// let f = Faults::new();
/// f.inject(Op::Close, "conn", 2, Fault::Panic);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Return an [`InjectedFault`] error.
    Error,
    /// Panic with a message naming the fault.
    Panic,
    /// Take this long, then succeed. [`Faults::check`] sleeps the thread;
    /// [`Faults::check_async`] awaits a timer (tokio's, with the `tokio` feature, so
    /// paused test time applies).
    Delay(Duration),
    /// Never finish. [`Faults::check_async`] stays pending until dropped (what a dead peer
    /// does to a reset or a ping); [`Faults::check`] blocks its thread for good, so use it
    /// only where the code under test must give up on a blocking call it cannot preempt.
    Hang,
}

/// The error an injected fault returns.
///
/// ```
/// let e = tenure::testing::InjectedFault { op: tenure::testing::Op::Acquire, kind: "db".into(), n: 3 };
/// assert_eq!(e.to_string(), "injected fault: acquire #3 of `db`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("injected fault: {op} #{n} of `{kind}`")]
pub struct InjectedFault {
    /// The operation that failed.
    pub op: Op,
    /// The resource kind.
    pub kind: Cow<'static, str>,
    /// Which call of that operation on that kind it was, from 1.
    pub n: u64,
}

#[derive(Default)]
struct FaultState {
    counts: HashMap<(Op, String), u64>,
    planned: HashMap<(Op, String), Vec<(u64, Fault)>>,
    /// Faults drawn at a probability: `(probability, fault)`, first match wins.
    random: HashMap<(Op, String), Vec<(f64, Fault)>>,
    seed: u64,
}

/// A deterministic draw in `[0, 1)` for call `n` of `op` on `kind`: the same seed gives
/// the same faults to the same calls, whatever the threads' interleaving.
fn draw(seed: u64, op: Op, kind: &str, n: u64, rule: usize) -> f64 {
    // FNV-1a over the kind, then splitmix64 over everything.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed
        ^ h
        ^ (op as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ n.rotate_left(17)
        ^ (rule as u64).rotate_left(41);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Fault injection: make the Nth call of an operation on a kind of resource fail or panic,
/// to drive tests through cleanup paths. Cloning shares the plan and the counters.
///
/// ```
/// use tenure::testing::{Faults, Op};
/// let f = Faults::new();
/// f.fail_nth(Op::Close, "file", 2);
/// assert!(f.check(Op::Close, "file").is_ok());
/// assert!(f.check(Op::Close, "file").is_err());
/// assert!(f.check(Op::Close, "file").is_ok());
/// assert_eq!(f.count(Op::Close, "file"), 3);
/// ```
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

impl Faults {
    /// No faults planned.
    ///
    /// ```
    /// assert!(tenure::testing::Faults::new().check(tenure::testing::Op::Acquire, "x").is_ok());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Plans `fault` for the `n`th (from 1) call of `op` on `kind`.
    ///
    /// ```
    /// use tenure::testing::{Fault, Faults, Op};
    /// let f = Faults::new();
    /// f.inject(Op::Acquire, "conn", 1, Fault::Error);
    /// assert!(f.check(Op::Acquire, "conn").is_err());
    /// ```
    pub fn inject(&self, op: Op, kind: impl Into<String>, n: u64, fault: Fault) -> &Self {
        lock(&self.state)
            .planned
            .entry((op, kind.into()))
            .or_default()
            .push((n, fault));
        self
    }

    /// Makes the `n`th (from 1) call of `op` on `kind` return an [`InjectedFault`].
    ///
    /// ```
    /// use tenure::testing::{Faults, Op};
    /// let f = Faults::new();
    /// f.fail_nth(Op::Validate, "conn", 1);
    /// assert!(f.check(Op::Validate, "conn").is_err());
    /// ```
    pub fn fail_nth(&self, op: Op, kind: impl Into<String>, n: u64) -> &Self {
        self.inject(op, kind, n, Fault::Error)
    }

    /// Makes the `n`th (from 1) call of `op` on `kind` panic.
    ///
    /// ```should_panic
    /// use tenure::testing::{Faults, Op};
    /// let f = Faults::new();
    /// f.panic_nth(Op::Close, "conn", 1);
    /// let _ = f.check(Op::Close, "conn"); // panics
    /// ```
    pub fn panic_nth(&self, op: Op, kind: impl Into<String>, n: u64) -> &Self {
        self.inject(op, kind, n, Fault::Panic)
    }

    /// No faults planned; faults injected at a probability draw from `seed` (the default
    /// seed is 0). The same seed makes the same calls fail.
    ///
    /// ```
    /// use tenure::testing::{Fault, Faults, Op};
    /// let run = |seed| {
    ///     let f = Faults::seeded(seed);
    ///     f.inject_random(Op::Acquire, "conn", 0.2, Fault::Error);
    ///     (0..100).map(|_| f.check(Op::Acquire, "conn").is_err()).collect::<Vec<_>>()
    /// };
    /// assert_eq!(run(7), run(7));
    /// let failed = run(7).iter().filter(|f| **f).count();
    /// assert!((5..=40).contains(&failed), "{failed} of 100");
    /// ```
    pub fn seeded(seed: u64) -> Self {
        let f = Self::default();
        lock(&f.state).seed = seed;
        f
    }

    /// Plans `fault` for each call of `op` on `kind` with probability `probability`
    /// (drawn from the seed, per call number). Rules for the Nth call come first; among
    /// random rules, the first that draws wins.
    ///
    /// # Panics
    /// If `probability` is not within `0.0..=1.0`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tenure::testing::{Fault, Faults, Op};
    /// let f = Faults::seeded(1);
    /// f.inject_random(Op::Validate, "conn", 1.0, Fault::Delay(Duration::from_millis(1)));
    /// assert!(f.check(Op::Validate, "conn").is_ok()); // slept 1 ms, then succeeded
    /// ```
    pub fn inject_random(
        &self,
        op: Op,
        kind: impl Into<String>,
        probability: f64,
        fault: Fault,
    ) -> &Self {
        assert!(
            (0.0..=1.0).contains(&probability),
            "fault probability {probability} is not within 0.0..=1.0"
        );
        lock(&self.state)
            .random
            .entry((op, kind.into()))
            .or_default()
            .push((probability, fault));
        self
    }

    /// Counts one call of `op` on `kind` and says which fault applies to it, if any,
    /// without applying it (for callers that apply faults their own way), with the error
    /// to return for [`Fault::Error`].
    ///
    /// ```
    /// use tenure::testing::{Fault, Faults, Op};
    /// let f = Faults::new();
    /// f.inject(Op::Reset, "conn", 2, Fault::Hang);
    /// assert_eq!(f.next(Op::Reset, "conn").0, None);
    /// assert_eq!(f.next(Op::Reset, "conn").0, Some(Fault::Hang));
    /// ```
    pub fn next(&self, op: Op, kind: &str) -> (Option<Fault>, InjectedFault) {
        let mut st = lock(&self.state);
        let key = (op, kind.to_string());
        let n = {
            let c = st.counts.entry(key.clone()).or_insert(0);
            *c += 1;
            *c
        };
        let planned = st
            .planned
            .get(&key)
            .and_then(|p| p.iter().find(|(at, _)| *at == n).map(|(_, f)| *f));
        let fault = planned.or_else(|| {
            let seed = st.seed;
            st.random.get(&key).and_then(|rules| {
                rules
                    .iter()
                    .enumerate()
                    .find(|(i, (p, _))| draw(seed, op, kind, n, *i) < *p)
                    .map(|(_, (_, f))| *f)
            })
        });
        let err = InjectedFault {
            op,
            kind: Cow::Owned(kind.to_string()),
            n,
        };
        (fault, err)
    }

    /// Counts one call of `op` on `kind` and applies the fault planned for it, if any:
    /// an error, a panic, a sleep of the thread, or a hang of the thread.
    ///
    /// ```
    /// use tenure::testing::{Faults, Op};
    /// let f = Faults::new();
    /// assert!(f.check(Op::Acquire, "x").is_ok());
    /// assert_eq!(f.count(Op::Acquire, "x"), 1);
    /// ```
    pub fn check(&self, op: Op, kind: &str) -> Result<(), InjectedFault> {
        match self.next(op, kind) {
            (None, _) => Ok(()),
            (Some(Fault::Error), err) => Err(err),
            (Some(Fault::Panic), err) => panic!("{err} (panic)"),
            (Some(Fault::Delay(d)), _) => {
                std::thread::sleep(d);
                Ok(())
            }
            (Some(Fault::Hang), _) => loop {
                std::thread::park();
            },
        }
    }

    /// [`check`](Self::check) for async code: a delay awaits a timer and a hang stays
    /// pending (until the future is dropped) instead of blocking the thread. The call is
    /// counted when the future is made, so it counts even if the future is never polled.
    ///
    /// ```
    /// use tenure::testing::{Fault, Faults, Op};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let f = Faults::new();
    /// f.inject(Op::Reset, "conn", 1, Fault::Hang);
    /// let hung = tokio::time::timeout(std::time::Duration::from_millis(5), f.check_async(Op::Reset, "conn")).await;
    /// assert!(hung.is_err()); // never finished
    /// assert!(f.check_async(Op::Reset, "conn").await.is_ok());
    /// # }
    /// ```
    pub fn check_async(
        &self,
        op: Op,
        kind: &str,
    ) -> impl Future<Output = Result<(), InjectedFault>> + Send + 'static {
        let planned = self.next(op, kind);
        async move {
            match planned {
                (None, _) => Ok(()),
                (Some(Fault::Error), err) => Err(err),
                (Some(Fault::Panic), err) => panic!("{err} (panic)"),
                (Some(Fault::Delay(d)), _) => {
                    sleep(d).await;
                    Ok(())
                }
                (Some(Fault::Hang), _) => std::future::pending().await,
            }
        }
    }

    /// How many calls of `op` on `kind` were checked so far.
    ///
    /// ```
    /// assert_eq!(tenure::testing::Faults::new().count(tenure::testing::Op::Close, "x"), 0);
    /// ```
    pub fn count(&self, op: Op, kind: &str) -> u64 {
        lock(&self.state)
            .counts
            .get(&(op, kind.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.state);
        f.debug_struct("Faults")
            .field("planned", &st.planned)
            .field("random", &st.random)
            .field("seed", &st.seed)
            .finish()
    }
}

/// Waits `d`: on tokio's timer with the `tokio` feature (so paused test time applies), else
/// on a thread that wakes the task.
#[cfg(feature = "tokio")]
async fn sleep(d: Duration) {
    tokio::time::sleep(d).await
}

#[cfg(not(feature = "tokio"))]
async fn sleep(d: Duration) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Poll, Waker};
    let done = Arc::new(AtomicBool::new(false));
    let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
    {
        let (done, waker) = (done.clone(), waker.clone());
        std::thread::spawn(move || {
            std::thread::sleep(d);
            done.store(true, Ordering::SeqCst);
            if let Some(w) = lock(&waker).take() {
                w.wake();
            }
        });
    }
    std::future::poll_fn(|cx| {
        *lock(&waker) = Some(cx.waker().clone());
        if done.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}
