//! [`TestManager`]: the pool manager for tests that need "some resource" — numbered
//! resources, a record of what the pool did with them, and switches that make its work
//! fail, hang or take time.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::BoxError;
use crate::pool::{Checked, Manager, Work};

/// A pool [`Manager`] for tests: resources are `u32`s numbered from 1 in the order they
/// are created, and every validation and close is recorded. Clones share everything, so a
/// test keeps one and gives the pool another. `ASYNC` picks the kind of work: ready at once
/// ([`TestManager::new`]: a blocking manager whose work never blocks) or futures on the
/// pool's runtime ([`TestManager::new_async`]), which honour [`create_delay`](Self::create_delay) and
/// [`close_delay`](Self::close_delay) on tokio's clock (paused time applies).
///
/// Switches, all off at first, take effect for the work started after they are set:
/// [`fail_creates`](Self::fail_creates) ("connection refused"),
/// [`fail_validations`](Self::fail_validations) ("ping failed"),
/// [`fail_closes`](Self::fail_closes) ("socket already reset"),
/// [`fail_resets`](Self::fail_resets) (every return needs a reset, which fails: "rollback
/// failed") and, for an async manager, [`hang_resets`](Self::hang_resets) (every return
/// needs a reset that never ends).
///
/// ```
/// use tenure::pool::{Pool, PoolConfig};
/// use tenure::testing::TestManager;
///
/// let manager = TestManager::new();
/// let pool = Pool::new(manager.clone(), PoolConfig::default())?;
/// let lease = pool.get_blocking()?;
/// assert_eq!(*lease, 1); // the first resource made
/// tenure::pool::Lease::discard(lease);
/// assert!(pool.close_blocking(std::time::Duration::from_secs(1)));
/// assert_eq!((manager.created(), manager.closed()), (1, vec![1]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TestManager<const ASYNC: bool = false> {
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    created: AtomicU32,
    closed: Mutex<Vec<u32>>,
    validated: AtomicUsize,
    fail_creates: AtomicBool,
    fail_validations: AtomicBool,
    fail_closes: AtomicBool,
    fail_resets: AtomicBool,
    hang_resets: AtomicBool,
    create_delay_ms: AtomicU32,
    close_delay_ms: AtomicU32,
}

impl TestManager {
    /// A manager whose work is ready at once; nothing made yet, every switch off.
    ///
    /// ```
    /// let m = tenure::testing::TestManager::new();
    /// assert_eq!(m.created(), 0);
    /// ```
    pub fn new() -> Self {
        TestManager {
            state: Arc::default(),
        }
    }
}

impl TestManager<true> {
    /// A manager whose work is futures on the pool's runtime (`Manager::ASYNC`); nothing
    /// made yet, every switch off.
    ///
    /// ```
    /// let m = tenure::testing::TestManager::new_async();
    /// assert_eq!(m.created(), 0);
    /// ```
    pub fn new_async() -> Self {
        TestManager {
            state: Arc::default(),
        }
    }
}

impl<const A: bool> TestManager<A> {
    /// How many resources were created (the last one's number).
    ///
    /// ```
    /// assert_eq!(tenure::testing::TestManager::new().created(), 0);
    /// ```
    pub fn created(&self) -> u32 {
        self.state.created.load(SeqCst)
    }

    /// The resources closed so far, in the order their closes started.
    ///
    /// ```
    /// assert!(tenure::testing::TestManager::new().closed().is_empty());
    /// ```
    pub fn closed(&self) -> Vec<u32> {
        crate::testing::lock(&self.state.closed).clone()
    }

    /// How many validations ran.
    ///
    /// ```
    /// assert_eq!(tenure::testing::TestManager::new().validated(), 0);
    /// ```
    pub fn validated(&self) -> usize {
        self.state.validated.load(SeqCst)
    }

    /// Creates fail ("connection refused") while `on`.
    ///
    /// ```
    /// # use tenure::pool::{Pool, PoolConfig, PoolError};
    /// let m = tenure::testing::TestManager::new();
    /// m.fail_creates(true);
    /// let pool = Pool::new(m, PoolConfig::default())?;
    /// assert!(matches!(pool.get_blocking(), Err(PoolError::Create(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fail_creates(&self, on: bool) {
        self.state.fail_creates.store(on, SeqCst);
    }

    /// Validations find the resource bad ("ping failed") while `on`.
    ///
    /// ```
    /// tenure::testing::TestManager::new().fail_validations(true);
    /// ```
    pub fn fail_validations(&self, on: bool) {
        self.state.fail_validations.store(on, SeqCst);
    }

    /// Closes fail ("socket already reset") while `on` (the resource is recorded as closed
    /// all the same: the close was tried).
    ///
    /// ```
    /// tenure::testing::TestManager::new().fail_closes(true);
    /// ```
    pub fn fail_closes(&self, on: bool) {
        self.state.fail_closes.store(on, SeqCst);
    }

    /// While `on`, every returned resource needs a reset, and the reset fails ("rollback
    /// failed"): the pool retires the resource.
    ///
    /// ```
    /// tenure::testing::TestManager::new().fail_resets(true);
    /// ```
    pub fn fail_resets(&self, on: bool) {
        self.state.fail_resets.store(on, SeqCst);
    }

    /// An async manager only: while `on`, every returned resource needs a reset that never
    /// ends (the pool abandons it at `return_timeout`).
    ///
    /// ```
    /// tenure::testing::TestManager::new_async().hang_resets(true);
    /// ```
    pub fn hang_resets(&self, on: bool) {
        self.state.hang_resets.store(on, SeqCst);
    }

    /// An async manager only: each create takes `delay` of tokio time.
    ///
    /// ```
    /// tenure::testing::TestManager::new_async().create_delay(std::time::Duration::from_millis(5));
    /// ```
    pub fn create_delay(&self, delay: Duration) {
        self.state.create_delay_ms.store(millis(delay), SeqCst);
    }

    /// An async manager only: each close takes `delay` of tokio time.
    ///
    /// ```
    /// tenure::testing::TestManager::new_async().close_delay(std::time::Duration::from_millis(5));
    /// ```
    pub fn close_delay(&self, delay: Duration) {
        self.state.close_delay_ms.store(millis(delay), SeqCst);
    }

    /// `value`, after `delay_ms` of tokio time for an async manager (ready at once
    /// otherwise, or when no delay is set).
    fn after_delay<T: Send + 'static>(delay_ms: &AtomicU32, value: T) -> Work<T> {
        let delay = delay_ms.load(SeqCst);
        if A && delay > 0 {
            Work::future(async move {
                tokio::time::sleep(Duration::from_millis(u64::from(delay))).await;
                value
            })
        } else {
            Work::ready(value)
        }
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl Default for TestManager {
    fn default() -> Self {
        Self::new()
    }
}

impl<const A: bool> Clone for TestManager<A> {
    fn clone(&self) -> Self {
        TestManager {
            state: self.state.clone(),
        }
    }
}

impl<const A: bool> std::fmt::Debug for TestManager<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestManager")
            .field("async", &A)
            .field("created", &self.created())
            .field("closed", &self.closed())
            .finish_non_exhaustive()
    }
}

impl<const A: bool> Manager for TestManager<A> {
    type Resource = u32;
    type Error = std::io::Error;
    const ASYNC: bool = A;

    fn create(&self) -> Work<Result<u32, std::io::Error>> {
        let s = &self.state;
        let result = if s.fail_creates.load(SeqCst) {
            Err(std::io::Error::other("connection refused"))
        } else {
            Ok(s.created.fetch_add(1, SeqCst) + 1)
        };
        Self::after_delay(&s.create_delay_ms, result)
    }

    fn close(&self, r: u32) -> Work<Result<(), BoxError>> {
        let s = &self.state;
        crate::testing::lock(&s.closed).push(r);
        if s.fail_closes.load(SeqCst) {
            return Work::ready(Err("socket already reset".into()));
        }
        Self::after_delay(&s.close_delay_ms, Ok(()))
    }

    fn validate(&self, r: u32) -> Checked<Self> {
        let s = &self.state;
        s.validated.fetch_add(1, SeqCst);
        let verdict = if s.fail_validations.load(SeqCst) {
            Err(std::io::Error::other("ping failed"))
        } else {
            Ok(())
        };
        Work::ready((r, verdict))
    }

    fn needs_reset(&self, _: &u32) -> bool {
        let s = &self.state;
        s.fail_resets.load(SeqCst) || (A && s.hang_resets.load(SeqCst))
    }

    fn reset(&self, r: u32) -> Checked<Self> {
        if self.state.fail_resets.load(SeqCst) {
            return Work::ready((r, Err(std::io::Error::other("rollback failed"))));
        }
        Work::future(async move {
            std::future::pending::<()>().await;
            (r, Ok(()))
        })
    }
}
