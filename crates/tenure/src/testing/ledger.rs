//! The [`Ledger`] of live resources, its tokens, and the [`TestResource`] it hands out.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
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

/// How a tracked resource ended.
///
/// ```
/// use tenure::testing::{Ending, Ledger};
/// let ledger = Ledger::new();
/// let closed = ledger.track("a");
/// let dropped = ledger.track("b");
/// closed.release();
/// drop(dropped);
/// assert_eq!(ledger.ending(1), Some(Ending::Closed));
/// assert_eq!(ledger.ending(2), Some(Ending::Dropped));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ending {
    /// Closed: a successful close ([`TestResource`]'s `Close`/`AsyncClose`), or
    /// [`Token::release`].
    Closed,
    /// A close was attempted and failed or panicked (the resource is gone all the same).
    CloseFailed,
    /// Dropped without any close: what a cleanup path that forgot to close looks like.
    Dropped,
}

/// What happened to a tracked resource, in order.
///
/// ```
/// use tenure::testing::{Event, Ledger};
/// let ledger = Ledger::new();
/// ledger.track("a").release();
/// drop(ledger.track("b"));
/// assert_eq!(ledger.events(), [
///     Event::Acquired { id: 1, kind: "a".into() },
///     Event::Released { id: 1, kind: "a".into() },
///     Event::Acquired { id: 2, kind: "b".into() },
///     Event::Dropped { id: 2, kind: "b".into() },
/// ]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A resource was acquired.
    Acquired {
        /// Its id.
        id: u64,
        /// Its kind.
        kind: Cow<'static, str>,
    },
    /// A resource was closed ([`Ending::Closed`]).
    Released {
        /// Its id.
        id: u64,
        /// Its kind.
        kind: Cow<'static, str>,
    },
    /// A resource's close failed or panicked ([`Ending::CloseFailed`]); it is gone.
    CloseFailed {
        /// Its id.
        id: u64,
        /// Its kind.
        kind: Cow<'static, str>,
    },
    /// A resource was dropped without a close ([`Ending::Dropped`]).
    Dropped {
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
    /// How each resource that is no longer live ended.
    ended: BTreeMap<u64, (Live, Ending)>,
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
                Event::Released { id, .. }
                | Event::CloseFailed { id, .. }
                | Event::Dropped { id, .. } => Some(*id),
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

    /// How resource `id` ended, or `None` while it is live (or if there is no such id).
    ///
    /// ```
    /// use tenure::testing::{Ending, Ledger, Op};
    /// use tenure::Close;
    /// let ledger = Ledger::new();
    /// ledger.faults().fail_nth(Op::Close, "conn", 1);
    /// assert!(ledger.acquire("conn")?.close().is_err());
    /// assert_eq!(ledger.ending(1), Some(Ending::CloseFailed));
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    pub fn ending(&self, id: u64) -> Option<Ending> {
        lock(&self.state).ended.get(&id).map(|(_, how)| *how)
    }

    /// `Ok` if every resource was *closed* (a close was attempted, successfully or not):
    /// none is live and none was only dropped. Otherwise the offenders, with their
    /// acquisition sites. Stricter than [`check_all_released`](Self::check_all_released),
    /// which a resource that was merely dropped passes.
    ///
    /// ```
    /// let ledger = tenure::testing::Ledger::new();
    /// drop(ledger.acquire("conn")?); // dropped, never closed
    /// assert!(ledger.check_all_released().is_ok());
    /// let e = ledger.check_all_closed().unwrap_err();
    /// assert_eq!(e.dropped.len(), 1);
    /// # Ok::<(), tenure::testing::InjectedFault>(())
    /// ```
    pub fn check_all_closed(&self) -> Result<(), NotClosed> {
        let st = lock(&self.state);
        let live: Vec<_> = st.live.values().cloned().collect();
        let dropped: Vec<_> = st
            .ended
            .values()
            .filter(|(_, how)| *how == Ending::Dropped)
            .map(|(l, _)| l.clone())
            .collect();
        if live.is_empty() && dropped.is_empty() {
            Ok(())
        } else {
            Err(NotClosed { live, dropped })
        }
    }

    /// Panics, listing the offenders and where they were acquired, unless every resource
    /// was closed (see [`check_all_closed`](Self::check_all_closed)).
    ///
    /// ```should_panic
    /// let ledger = tenure::testing::Ledger::new();
    /// drop(ledger.track("conn")); // panics below: dropped, never closed
    /// ledger.assert_all_closed();
    /// ```
    #[track_caller]
    pub fn assert_all_closed(&self) {
        if let Err(not_closed) = self.check_all_closed() {
            panic!("{not_closed}");
        }
    }
}

/// Resources that were not closed: still live, or dropped without a close.
///
/// ```
/// let ledger = tenure::testing::Ledger::new();
/// drop(ledger.track("socket"));
/// let e = ledger.check_all_closed().unwrap_err();
/// assert!(e.to_string().starts_with("1 resource not closed: #1 `socket` acquired at "));
/// assert!(e.to_string().contains("(dropped without close)"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
pub struct NotClosed {
    /// Still live.
    pub live: Vec<Live>,
    /// Dropped without a close.
    pub dropped: Vec<Live>,
}

impl fmt::Display for NotClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.live.len() + self.dropped.len();
        write!(
            f,
            "{n} resource{} not closed:",
            if n == 1 { "" } else { "s" }
        )?;
        for l in &self.live {
            write!(f, " {l} (still live);")?;
        }
        for l in &self.dropped {
            write!(f, " {l} (dropped without close);")?;
        }
        Ok(())
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
    pub fn release(self) {
        self.end(Ending::Closed);
    }

    /// Records how the resource ended (once).
    pub(crate) fn end(mut self, how: Ending) {
        self.record_end(how);
    }

    fn record_end(&mut self, how: Ending) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let mut st = lock(&self.ledger);
        if let Some(live) = st.live.remove(&self.id) {
            st.ended.insert(self.id, (live, how));
        }
        let (id, kind) = (self.id, self.kind.clone());
        st.events.push(match how {
            Ending::Closed => Event::Released { id, kind },
            Ending::CloseFailed => Event::CloseFailed { id, kind },
            Ending::Dropped => Event::Dropped { id, kind },
        });
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.record_end(Ending::Dropped);
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
        // A close that fails or panics still gives the resource up; one that hangs does not.
        let checked = catch_unwind(AssertUnwindSafe(|| faults.check(Op::Close, &kind)));
        finish_close(token, checked)
    }
}

/// Ends `token` as the close's result says, and passes that result (or panic) on.
fn finish_close(
    token: Token,
    checked: std::thread::Result<Result<(), InjectedFault>>,
) -> Result<(), InjectedFault> {
    match checked {
        Ok(Ok(())) => {
            token.end(Ending::Closed);
            Ok(())
        }
        Ok(Err(e)) => {
            token.end(Ending::CloseFailed);
            Err(e)
        }
        Err(payload) => {
            token.end(Ending::CloseFailed);
            resume_unwind(payload)
        }
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
        let TestResource { token, faults } = self;
        // Counted now; a delay or hang is awaited, so cancellation can land in it (and the
        // resource then ends as dropped: no close finished).
        let check = faults.check_async(Op::Close, &token.kind);
        let checked = crate::orphan::CatchUnwind(Box::pin(check)).await;
        finish_close(token, checked)
    }
}
