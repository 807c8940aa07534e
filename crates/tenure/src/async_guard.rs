//! Async guards: one value and the async cleanup that releases it, run even if the owning
//! future is cancelled.
//!
//! [`always`] is the async counterpart of [`guard`](crate::guard::always): the closure gets
//! the value back and returns the future that cleans up. Await [`AsyncGuard::finish`] to run
//! it in line (the normal path); if the guard is dropped instead — an early return, a `?`,
//! or the surrounding future cancelled — the cleanup is orphaned: it runs as a task, bounded
//! by a deadline (see [`orphan`](mod@crate::orphan)). [`AsyncClosing`](crate::async_close::AsyncClosing) does the same for an
//! [`AsyncClose`](crate::AsyncClose) resource, returning its close error from [`AsyncClosing::close`](crate::async_close::AsyncClosing::close).
//!
//! ```
//! use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
//! use std::time::Duration;
//! use tenure::async_guard::AsyncGuard;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let released = Arc::new(AtomicBool::new(false));
//! let flag = released.clone();
//! let handler = async move {
//!     let lease = tenure::async_guard::always("lease-7", move |id| async move {
//!         // return the lease: lock_service.release(id).await
//!         flag.store(true, Ordering::SeqCst);
//!     });
//!     std::future::pending::<()>().await; // the request hangs...
//!     AsyncGuard::finish(lease).await;
//! };
//! let _ = tokio::time::timeout(Duration::from_millis(10), handler).await; // ...and is cancelled
//! tenure::orphan::orphans().join().await;
//! assert!(released.load(Ordering::SeqCst)); // the cleanup ran anyway
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::orphan::{InFlight, Job, Orphaning, Orphans};

/// A value with an async cleanup that runs when [`finish`](Self::finish)ed, or — if the
/// guard is dropped — as an orphaned task. Derefs to the value. Made by [`always`].
///
/// ```
/// use tenure::async_guard::AsyncGuard;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut conn = tenure::async_guard::always(vec![1], |v| async move { println!("closing {v:?}") });
/// conn.push(2);
/// AsyncGuard::finish(conn).await; // prints "closing [1, 2]"
/// # }
/// ```
#[must_use = "an async guard cleans up when finished or dropped; binding it to `_` drops it at once"]
pub struct AsyncGuard<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    inner: Option<(T, F)>,
    to: Orphaning,
    fut: PhantomData<fn() -> Fut>,
}

/// A guard that runs `cleanup(value)` when finished, or as an orphaned task when dropped.
///
/// ```
/// use tenure::async_guard::AsyncGuard;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let g = tenure::async_guard::always(5, |n| async move { assert_eq!(n, 5) });
/// assert_eq!(*g, 5);
/// AsyncGuard::finish(g).await;
/// # }
/// ```
pub fn always<T, F, Fut>(value: T, cleanup: F) -> AsyncGuard<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    AsyncGuard {
        inner: Some((value, cleanup)),
        to: Orphaning::default(),
        fut: PhantomData,
    }
}

impl<T, F, Fut> AsyncGuard<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    /// Sets the deadline of the cleanup when it runs orphaned (default
    /// [`orphan::DEFAULT_DEADLINE`](crate::orphan::DEFAULT_DEADLINE)). An associated
    /// function, not a method: the guard derefs to its value, whose own methods it must not
    /// shadow.
    ///
    /// ```
    /// use tenure::async_guard::{self, AsyncGuard};
    /// let g = async_guard::always((), |()| async {});
    /// let g = AsyncGuard::with_deadline(g, std::time::Duration::from_secs(1));
    /// # AsyncGuard::dismiss(g);
    /// ```
    pub fn with_deadline(mut this: Self, deadline: Duration) -> Self {
        this.to.deadline = deadline;
        this
    }

    /// Reports the cleanup, when it runs orphaned, to `orphans` instead of the global
    /// tracker. An associated function, as [`with_deadline`](Self::with_deadline) is.
    ///
    /// ```
    /// use tenure::async_guard::{self, AsyncGuard};
    /// let g = async_guard::always((), |()| async {});
    /// let g = AsyncGuard::with_orphans(g, tenure::orphan::Orphans::new());
    /// # AsyncGuard::dismiss(g);
    /// ```
    pub fn with_orphans(mut this: Self, orphans: Orphans) -> Self {
        this.to.orphans = Some(orphans);
        this
    }

    fn take(guard: &mut Self) -> (T, F) {
        match guard.inner.take() {
            Some(inner) => inner,
            None => unreachable!("an async guard holds its value until consumed"),
        }
    }

    /// Runs the cleanup now and waits for it. If this future is dropped before the cleanup
    /// finished, the rest of the cleanup is orphaned: it still runs. (An associated
    /// function, so it cannot clash with the value's methods.)
    ///
    /// ```
    /// use tenure::async_guard::AsyncGuard;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let g = tenure::async_guard::always("tx", |tx| async move { println!("{tx} rolled back") });
    /// AsyncGuard::finish(g).await;
    /// # }
    /// ```
    pub async fn finish(mut guard: Self) {
        let (value, cleanup) = Self::take(&mut guard);
        InFlight::new(
            std::any::type_name::<F>().into(),
            Box::pin(cleanup(value)),
            |(), _| Ok(()),
            std::mem::take(&mut guard.to),
        )
        .await
    }

    /// Defuses the guard and returns the value; the cleanup never runs (the commit path).
    ///
    /// ```
    /// let g = tenure::async_guard::always(vec![1], |_| async { unreachable!() });
    /// assert_eq!(tenure::async_guard::AsyncGuard::into_inner(g), [1]);
    /// ```
    pub fn into_inner(mut guard: Self) -> T {
        Self::take(&mut guard).0
    }

    /// Defuses the guard and drops the value; the cleanup never runs.
    ///
    /// ```
    /// tenure::async_guard::AsyncGuard::dismiss(tenure::async_guard::always((), |()| async { unreachable!() }));
    /// ```
    pub fn dismiss(guard: Self) {
        drop(Self::into_inner(guard));
    }
}

impl<T, F, Fut> Deref for AsyncGuard<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    type Target = T;
    fn deref(&self) -> &T {
        match &self.inner {
            Some((value, _)) => value,
            None => unreachable!("an async guard holds its value until consumed"),
        }
    }
}

impl<T, F, Fut> DerefMut for AsyncGuard<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.inner {
            Some((value, _)) => value,
            None => unreachable!("an async guard holds its value until consumed"),
        }
    }
}

/// Orphans the cleanup: it runs as a task (or on the helper thread), bounded by the deadline.
impl<T, F, Fut> Drop for AsyncGuard<T, F, Fut>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn drop(&mut self) {
        if let Some((value, cleanup)) = self.inner.take() {
            let job = Job::new(
                std::any::type_name::<F>(),
                Box::pin(async move {
                    cleanup(value).await;
                    Ok(())
                }),
            );
            self.to.adopt([job].into(), "AsyncGuard::drop");
        }
    }
}

impl<T, F, Fut> fmt::Debug for AsyncGuard<T, F, Fut>
where
    T: Send + fmt::Debug + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncGuard")
            .field("value", &self.inner.as_ref().map(|(v, _)| v))
            .field("deadline", &self.to.deadline)
            .finish()
    }
}
