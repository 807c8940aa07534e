//! Fault injection: make the Nth call of an operation on a kind of resource fail or panic.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::lock;

/// An operation faults can be injected into.
///
/// ```
/// assert_eq!(tenure::testing::Op::Close.to_string(), "close");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Op {
    /// Acquiring (creating, opening, connecting).
    Acquire,
    /// Validating (e.g. a pool's check on checkout).
    Validate,
    /// Closing / releasing.
    Close,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Acquire => "acquire",
            Op::Validate => "validate",
            Op::Close => "close",
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

    /// Counts one call of `op` on `kind` and applies the fault planned for it, if any.
    ///
    /// ```
    /// use tenure::testing::{Faults, Op};
    /// let f = Faults::new();
    /// assert!(f.check(Op::Acquire, "x").is_ok());
    /// assert_eq!(f.count(Op::Acquire, "x"), 1);
    /// ```
    pub fn check(&self, op: Op, kind: &str) -> Result<(), InjectedFault> {
        let (n, fault) = {
            let mut st = lock(&self.state);
            let key = (op, kind.to_string());
            let n = {
                let c = st.counts.entry(key.clone()).or_insert(0);
                *c += 1;
                *c
            };
            let fault = st
                .planned
                .get(&key)
                .and_then(|p| p.iter().find(|(at, _)| *at == n).map(|(_, f)| *f));
            (n, fault)
        };
        let err = InjectedFault {
            op,
            kind: Cow::Owned(kind.to_string()),
            n,
        };
        match fault {
            None => Ok(()),
            Some(Fault::Error) => Err(err),
            Some(Fault::Panic) => panic!("{err} (panic)"),
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
            .finish()
    }
}
