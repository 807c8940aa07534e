//! Async release that consumes the resource and says whether it worked: Python's
//! `__aexit__`, as a trait.
//!
//! [`AsyncClose`] is the async twin of [`Close`](crate::Close): `close` takes the resource by
//! value (closing twice does not compile) and its future returns what went wrong. The future
//! must be `Send`, so that cleanup whose owner was cancelled can still be handed to the
//! runtime and run (see [`orphan`](mod@crate::orphan)). Implementations may simply write
//! `async fn close(self)`.
//!
//! ```
//! use tenure::AsyncClose;
//!
//! struct Conn { id: u32 }
//!
//! impl AsyncClose for Conn {
//!     type Error = std::io::Error;
//!     async fn close(self) -> Result<(), std::io::Error> {
//!         // send goodbye, await the ack, ...
//!         println!("conn {} closed", self.id);
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! Conn { id: 1 }.close().await?;
//! # Ok(()) }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};

use crate::Dropping;

/// A resource whose async release can fail, released by consuming it.
///
/// ```
/// use tenure::AsyncClose;
///
/// struct Session;
/// impl AsyncClose for Session {
///     type Error = std::fmt::Error;
///     async fn close(self) -> Result<(), std::fmt::Error> { Err(std::fmt::Error) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert!(Session.close().await.is_err());
/// # }
/// ```
pub trait AsyncClose {
    /// What a failed release returns.
    type Error: StdError + Send + Sync + 'static;

    /// Releases the resource, returning what went wrong.
    fn close(self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Closes the resource if there is one.
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let none: Option<tenure::Dropping<u8>> = None;
/// none.close().await.unwrap();
/// # }
/// ```
impl<R: AsyncClose + Send> AsyncClose for Option<R> {
    type Error = R::Error;
    async fn close(self) -> Result<(), R::Error> {
        match self {
            Some(r) => r.close().await,
            None => Ok(()),
        }
    }
}

/// Closes the boxed resource.
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// Box::new(tenure::Dropping(1)).close().await.unwrap();
/// # }
/// ```
impl<R: AsyncClose + Send> AsyncClose for Box<R> {
    type Error = R::Error;
    async fn close(self) -> Result<(), R::Error> {
        (*self).close().await
    }
}

/// Closes every element, last first, even when some fail; the first failure is primary
/// and the rest are [suppressed](crate::Error::suppressed).
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// async fn fail(_: &str) -> Result<(), std::fmt::Error> { Err(std::fmt::Error) }
/// let conns = vec![tenure::async_close_with("a", fail), tenure::async_close_with("b", fail)];
/// let err = conns.close().await.unwrap_err(); // "b" is closed first, then "a"
/// assert_eq!(err.suppressed().len(), 1);
/// # }
/// ```
impl<R: AsyncClose + Send> AsyncClose for Vec<R> {
    type Error = crate::Error;
    async fn close(self) -> Result<(), crate::Error> {
        let name = std::any::type_name::<R>();
        let mut errors = Vec::new();
        for r in self.into_iter().rev() {
            if let Err(e) = r.close().await {
                errors.push(crate::Error::close(name, e));
            }
        }
        crate::Error::from_errors(errors).map_or(Ok(()), Err)
    }
}

/// Dropping is all it takes: never fails, never waits.
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// tenure::Dropping(vec![1, 2]).close().await.unwrap();
/// # }
/// ```
impl<T: Send> AsyncClose for Dropping<T> {
    type Error = std::convert::Infallible;
    async fn close(self) -> Result<(), std::convert::Infallible> {
        drop(self.0);
        Ok(())
    }
}

/// A value released by an async closure: the adapter for resources whose release is an
/// async function call rather than a trait impl. Made by [`async_close_with`].
///
/// ```
/// use tenure::{async_close_with, AsyncClose};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let conn = async_close_with(String::from("conn-1"), |name| async move {
///     println!("closing {name}");
///     Ok::<(), std::io::Error>(())
/// });
/// assert_eq!(conn.len(), 6); // derefs to the value
/// conn.close().await?;
/// # Ok(()) }
/// ```
pub struct AsyncCloseWith<T, F> {
    value: T,
    release: F,
}

/// Pairs `value` with the async function that releases it.
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let r = tenure::async_close_with(42, |_| async { Err(std::fmt::Error) });
/// assert!(r.close().await.is_err());
/// # }
/// ```
pub fn async_close_with<T, F, Fut, E>(value: T, release: F) -> AsyncCloseWith<T, F>
where
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: StdError + Send + Sync + 'static,
{
    AsyncCloseWith { value, release }
}

impl<T, F, Fut, E> AsyncClose for AsyncCloseWith<T, F>
where
    T: Send,
    F: FnOnce(T) -> Fut + Send,
    Fut: Future<Output = Result<(), E>> + Send,
    E: StdError + Send + Sync + 'static,
{
    type Error = E;
    fn close(self) -> impl Future<Output = Result<(), E>> + Send {
        (self.release)(self.value)
    }
}

impl<T, F> Deref for AsyncCloseWith<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, F> DerefMut for AsyncCloseWith<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug, F> fmt::Debug for AsyncCloseWith<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsyncCloseWith").field(&self.value).finish()
    }
}

/// Yields to the executor once: pending on the first poll (after asking to be woken), ready
/// on the second. Runtime-agnostic.
#[cfg(feature = "testing")]
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
#[cfg(feature = "testing")]
impl AsyncClose for crate::testing::TestResource {
    type Error = crate::testing::InjectedFault;
    async fn close(self) -> Result<(), crate::testing::InjectedFault> {
        yield_now().await;
        self.release()
    }
}
