//! The [`Ledger`] of live resources, its tokens, and the [`TestResource`] it hands out.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex};

use super::{lock, Faults, InjectedFault, Op};
use crate::async_close::AsyncClose;
use crate::close::Close;
use std::future::Future;

/// A resource the ledger counts as live.
///
/// ```
/// let ledger = tenure::testing::Ledger::new();
/// let _t = ledger.track("file");
/// let live = ledger.live();
/// assert_eq!(live[0].kind, "file");
/// assert!(live[0].site.file().ends_with(".rs"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// Acquisition number, from 1, in acquisition order across all kinds.
    pub id: u64,
    /// The kind given at acquisition.
    pub kind: Cow<'static, str>,
    /// Where it was acquired (the caller of [`Ledger::track`] / [`Ledger::acquire`]).
    pub site: &'static Location<'static>,
}

impl fmt::Display for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} `{}` acquired at {}", self.id, self.kind, self.site)
    }
}

/// What happened to a tracked resource, in order.
///
/// ```
/// use tenure::testing::{Event, Ledger};
/// let ledger = Ledger::new();
/// ledger.track("a").release();
/// assert_eq!(ledger.events(), [Event::Acquired { id: 1, kind: "a".into() }, Event::Released { id: 1, kind: "a".into() }]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A resource was acquired.
    Acquired {
        /// Its id.
        id: u64,
        /// Its kind.
        kind: Cow<'static, str>,
    },
    /// A resource was released (successfully or not: it is gone either way).
    Released {
        /// Its id.
        id: u64,
        /// Its kind.
        kind: Cow<'static, str>,
    },
}

#[derive(Default)]
struct LedgerState {
    next_id: u64,
    live: BTreeMap<u64, Live>,
    events: Vec<Event>,
}

/// A ledger of live resources: each tracked acquisition is recorded with its kind and the
/// source location that acquired it, until it is released. Cloning shares the ledger.
///
/// ```
/// let ledger = tenure::testing::Ledger::new();
/// let t = ledger.track("socket");
/// assert_eq!(ledger.live_count(), 1);
/// drop(t); // dropping a token releases it
/// ledger.assert_all_released();
/// ```
#[derive(Clone, Default)]
pub struct Ledger {
    state: Arc<Mutex<LedgerState>>,
    faults: Faults,
}

impl Ledger {
    /// An empty ledger with no faults.
    ///
    /// ```
    /// assert_eq!(tenure::testing::Ledger::new().live_count(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger whose [`acquire`](Self::acquire) and resource closes consult `faults`.
    ///
    /// ```
    /// use tenure::testing::{Faults, Ledger, Op};
    /// let f = Faults::new();
    /// f.fail_nth(Op::Acquire, "db", 1);
    /// assert!(Ledger::with_faults(f).acquire("db").is_err());
    /// ```
    pub fn with_faults(faults: Faults) -> Self {
        Ledger {
            state: Arc::default(),
            faults,
        }
    }

    /// The faults this ledger's resources consult.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// ledger.faults().fail_nth(tenure::testing::Op::Close, "f", 1);
    /// ```
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Records an acquisition of `kind` at the caller's location; the returned token
    /// records the release when released or dropped.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// let token = ledger.track("lock");
    /// assert_eq!(token.id(), 1);
    /// token.release();
    /// assert_eq!(ledger.live_count(), 0);
    /// ```
    #[track_caller]
    pub fn track(&self, kind: impl Into<Cow<'static, str>>) -> Token {
        let kind = kind.into();
        let site = Location::caller();
        let mut st = lock(&self.state);
        st.next_id += 1;
        let id = st.next_id;
        st.live.insert(
            id,
            Live {
                id,
                kind: kind.clone(),
                site,
            },
        );
        st.events.push(Event::Acquired {
            id,
            kind: kind.clone(),
        });
        Token {
            ledger: self.state.clone(),
            id,
            kind,
            released: false,
        }
    }

    /// Acquires a [`TestResource`] of `kind`, unless [`Faults`] make this acquisition fail.
    ///
    /// ```
    /// use tenure::Close;
    /// let ledger = tenure::testing::Ledger::new();
    /// let conn = ledger.acquire("conn")?;
    /// conn.close()?;
    /// ledger.assert_all_released();
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    #[track_caller]
    pub fn acquire(
        &self,
        kind: impl Into<Cow<'static, str>>,
    ) -> Result<TestResource, InjectedFault> {
        let kind = kind.into();
        self.faults.check(Op::Acquire, &kind)?;
        Ok(TestResource {
            token: self.track(kind),
            faults: self.faults.clone(),
        })
    }

    /// The resources acquired and not yet released, in acquisition order.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// let _a = ledger.track("a");
    /// assert_eq!(ledger.live().len(), 1);
    /// ```
    pub fn live(&self) -> Vec<Live> {
        lock(&self.state).live.values().cloned().collect()
    }

    /// How many resources are live.
    ///
    /// ```
    /// assert_eq!(tenure::testing::Ledger::new().live_count(), 0);
    /// ```
    pub fn live_count(&self) -> usize {
        lock(&self.state).live.len()
    }

    /// Every acquisition and release, in order.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// drop(ledger.track("x"));
    /// assert_eq!(ledger.events().len(), 2);
    /// ```
    pub fn events(&self) -> Vec<Event> {
        lock(&self.state).events.clone()
    }

    /// The ids of released resources, in release order.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// let a = ledger.track("a");
    /// let b = ledger.track("b");
    /// drop(b);
    /// drop(a);
    /// assert_eq!(ledger.release_order(), [2, 1]);
    /// ```
    pub fn release_order(&self) -> Vec<u64> {
        lock(&self.state)
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Released { id, .. } => Some(*id),
                Event::Acquired { .. } => None,
            })
            .collect()
    }

    /// How many acquisitions were recorded in all.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// drop(ledger.track("a"));
    /// assert_eq!(ledger.acquired_count(), 1);
    /// ```
    pub fn acquired_count(&self) -> u64 {
        lock(&self.state).next_id
    }

    /// `Ok` if every tracked resource was released; otherwise the leaks.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// let t = ledger.track("conn");
    /// let leaks = ledger.check_all_released().unwrap_err();
    /// assert_eq!(leaks.live.len(), 1);
    /// drop(t);
    /// assert!(ledger.check_all_released().is_ok());
    /// ```
    pub fn check_all_released(&self) -> Result<(), Leaks> {
        let live = self.live();
        if live.is_empty() {
            Ok(())
        } else {
            Err(Leaks { live })
        }
    }

    /// Panics, listing each leaked resource with its kind and acquisition site, unless
    /// every tracked resource was released.
    ///
    /// ```should_panic
    /// let ledger = tenure::testing::Ledger::new();
    /// std::mem::forget(ledger.track("conn"));
    /// ledger.assert_all_released(); // panics: 1 resource leaked: #1 `conn` acquired at src/...
    /// ```
    #[track_caller]
    pub fn assert_all_released(&self) {
        if let Err(leaks) = self.check_all_released() {
            panic!("{leaks}");
        }
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.state);
        f.debug_struct("Ledger")
            .field("acquired", &st.next_id)
            .field("live", &st.live.len())
            .finish()
    }
}

/// The resources a [`Ledger`] still counts as live.
///
/// ```
/// let ledger = tenure::testing::Ledger::new();
/// let _t = ledger.track("conn");
/// let msg = ledger.check_all_released().unwrap_err().to_string();
/// assert!(msg.starts_with("1 resource leaked: #1 `conn` acquired at "));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub struct Leaks {
    /// The leaked resources, in acquisition order.
    pub live: Vec<Live>,
}

impl fmt::Display for Leaks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.live.len();
        write!(f, "{n} resource{} leaked:", if n == 1 { "" } else { "s" })?;
        for l in &self.live {
            write!(f, " {l};")?;
        }
        Ok(())
    }
}

/// Proof of one tracked acquisition; releasing or dropping it records the release, once.
///
/// ```
/// let ledger = tenure::testing::Ledger::new();
/// let t = ledger.track("x");
/// assert_eq!(t.kind(), "x");
/// t.release();
/// ledger.assert_all_released();
/// ```
#[must_use = "dropping the token records the release at once"]
pub struct Token {
    ledger: Arc<Mutex<LedgerState>>,
    id: u64,
    kind: Cow<'static, str>,
    released: bool,
}

impl Token {
    /// The acquisition number.
    ///
    /// ```
    /// assert_eq!(tenure::testing::Ledger::new().track("x").id(), 1);
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The kind given at acquisition.
    ///
    /// ```
    /// assert_eq!(tenure::testing::Ledger::new().track("pipe").kind(), "pipe");
    /// ```
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Records the release.
    ///
    /// ```
    /// let l = tenure::testing::Ledger::new();
    /// l.track("x").release();
    /// assert_eq!(l.release_order(), [1]);
    /// ```
    pub fn release(mut self) {
        self.record_release();
    }

    fn record_release(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let mut st = lock(&self.ledger);
        st.live.remove(&self.id);
        st.events.push(Event::Released {
            id: self.id,
            kind: self.kind.clone(),
        });
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.record_release();
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(#{} `{}`)", self.id, self.kind)
    }
}

/// A resource for tests: tracked by a [`Ledger`], closed with [`Close`], and failing or
/// panicking on close when the ledger's [`Faults`] say so. Closing or dropping it records
/// the release (a failed close still releases it: the resource is gone either way).
///
/// ```
/// use tenure::Close;
/// use tenure::testing::{Ledger, Op};
/// let ledger = Ledger::new();
/// ledger.faults().fail_nth(Op::Close, "conn", 1);
/// let err = ledger.acquire("conn")?.close().unwrap_err();
/// assert_eq!(err.to_string(), "injected fault: close #1 of `conn`");
/// ledger.assert_all_released();
/// # Ok::<(), tenure::testing::InjectedFault>(())
/// ```
#[derive(Debug)]
pub struct TestResource {
    token: Token,
    faults: Faults,
}

impl TestResource {
    /// The acquisition number in its ledger.
    ///
    /// ```
    /// let l = tenure::testing::Ledger::new();
    /// assert_eq!(l.acquire("x")?.id(), 1);
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    pub fn id(&self) -> u64 {
        self.token.id
    }

    /// The kind it was acquired as.
    ///
    /// ```
    /// let l = tenure::testing::Ledger::new();
    /// assert_eq!(l.acquire("pipe")?.kind(), "pipe");
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    pub fn kind(&self) -> &str {
        &self.token.kind
    }

    /// The faults this resource consults on close (for async close implementations).
    ///
    /// ```
    /// let l = tenure::testing::Ledger::new();
    /// assert_eq!(l.acquire("x")?.faults().count(tenure::testing::Op::Close, "x"), 0);
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Records the release and returns whether the faults let the close succeed. The
    /// building block of [`Close`] and of async close implementations.
    ///
    /// ```
    /// let l = tenure::testing::Ledger::new();
    /// assert!(l.acquire("x")?.release().is_ok());
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    pub fn release(self) -> Result<(), InjectedFault> {
        let TestResource { token, faults } = self;
        let kind = token.kind.clone();
        // Release first: a close that panics or fails still gives the resource up.
        token.release();
        faults.check(Op::Close, &kind)
    }
}

impl Close for TestResource {
    type Error = InjectedFault;
    fn close(self) -> Result<(), InjectedFault> {
        self.release()
    }
}

/// Yields to the executor once: pending on the first poll (after asking to be woken), ready
/// on the second. Runtime-agnostic.
fn yield_now() -> impl Future<Output = ()> + Send {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
    YieldNow(false)
}

/// Closing a test resource awaits once (so cancellation can land in the middle of a close),
/// then releases it, consulting its [`Faults`](crate::testing::Faults) for
/// [`Op::Close`](crate::testing::Op::Close).
///
/// ```
/// use tenure::AsyncClose;
/// use tenure::testing::{Ledger, Op};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tenure::testing::InjectedFault> {
/// let ledger = Ledger::new();
/// ledger.faults().fail_nth(Op::Close, "conn", 2);
/// ledger.acquire("conn")?.close().await?;
/// assert!(ledger.acquire("conn")?.close().await.is_err());
/// ledger.assert_all_released();
/// # Ok(()) }
/// ```
impl AsyncClose for TestResource {
    type Error = InjectedFault;
    async fn close(self) -> Result<(), InjectedFault> {
        yield_now().await;
        self.release()
    }
}
