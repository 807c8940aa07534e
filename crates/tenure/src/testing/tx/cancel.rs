//! [`CancelAfter`]: a future dropped part-way, at a chosen await point.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls a future until its `n`th `Pending`, then gives up and drops it: `None`; or its
/// output, `Some`, if it completed first. Run with `n` = 1, 2, 3... until it completes, it
/// cancels a transaction at each of its await points in turn (the conformance suite's
/// cancellation case does so through a pool).
///
/// ```
/// use tenure::testing::tx::CancelAfter;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let two_waits = async {
///     tokio::task::yield_now().await;
///     tokio::task::yield_now().await;
///     7
/// };
/// assert_eq!(CancelAfter::new(two_waits, 2).await, None); // dropped at the second wait
/// let two_waits = async {
///     tokio::task::yield_now().await;
///     tokio::task::yield_now().await;
///     7
/// };
/// assert_eq!(CancelAfter::new(two_waits, 3).await, Some(7));
/// # }
/// ```
pub struct CancelAfter<F> {
    inner: Pin<Box<F>>,
    pendings: usize,
}

impl<F: Future> CancelAfter<F> {
    /// `fut`, to be dropped at its `n`th `Pending` (`0` is taken as 1).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ready = tenure::testing::tx::CancelAfter::new(async { 1 }, 1);
    /// assert_eq!(ready.await, Some(1)); // never pending: completes
    /// # }
    /// ```
    pub fn new(fut: F, n: usize) -> Self {
        CancelAfter {
            inner: Box::pin(fut),
            pendings: n,
        }
    }
}

impl<F: Future> Future for CancelAfter<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if self.pendings <= 1 => Poll::Ready(None),
            Poll::Pending => {
                self.pendings -= 1;
                Poll::Pending
            }
        }
    }
}
