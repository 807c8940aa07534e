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

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::close::Dropping;
use crate::error::Error;
use crate::orphan::{InFlight, Job, Orphaning, Orphans};

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
/// let none: Option<tenure::close::Dropping<u8>> = None;
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
/// Box::new(tenure::close::Dropping(1)).close().await.unwrap();
/// # }
/// ```
impl<R: AsyncClose + Send> AsyncClose for Box<R> {
    type Error = R::Error;
    async fn close(self) -> Result<(), R::Error> {
        (*self).close().await
    }
}

/// Closes every element, last first, even when some fail; the first failure is primary
/// and the rest are [suppressed](Error::suppressed).
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// async fn fail(_: &str) -> Result<(), std::fmt::Error> { Err(std::fmt::Error) }
/// let conns = vec![tenure::async_close::async_close_with("a", fail), tenure::async_close::async_close_with("b", fail)];
/// let err = conns.close().await.unwrap_err(); // "b" is closed first, then "a"
/// assert_eq!(err.suppressed().len(), 1);
/// # }
/// ```
impl<R: AsyncClose + Send> AsyncClose for Vec<R> {
    type Error = Error;
    async fn close(self) -> Result<(), Error> {
        let name = std::any::type_name::<R>();
        let mut errors = Vec::new();
        for r in self.into_iter().rev() {
            if let Err(e) = r.close().await {
                errors.push(Error::close(name, e));
            }
        }
        Error::from_errors(errors).map_or(Ok(()), Err)
    }
}

/// Dropping is all it takes: never fails, never waits.
///
/// ```
/// use tenure::AsyncClose;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// tenure::close::Dropping(vec![1, 2]).close().await.unwrap();
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
/// use tenure::AsyncClose;
/// use tenure::async_close::async_close_with;
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
/// let r = tenure::async_close::async_close_with(42, |_| async { Err(std::fmt::Error) });
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

/// An [`AsyncClose`] resource that is closed as an orphaned task if it is dropped instead
/// of closed with [`AsyncClosing::close`]; the async counterpart of [`Closing`](crate::close::Closing).
/// Its own operations are associated functions (`AsyncClosing::close(c)`), so they never
/// shadow the resource's methods, which `c.method()` reaches through `Deref` (see
/// [`Closing`](crate::close::Closing) for the one trap this leaves). A close
/// error on that path is reported through `tracing` and the [`Orphans`] tracker, since
/// nothing can return it.
///
/// ```
/// use tenure::async_close::AsyncClosing;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let conn = AsyncClosing::named("db-1", tenure::async_close::async_close_with(vec![0u8], |_| async { Ok::<_, std::io::Error>(()) }));
/// assert_eq!(conn.len(), 1); // derefs to the resource
/// AsyncClosing::close(conn).await?; // the normal path: the error comes back here
/// # Ok(()) }
/// ```
pub struct AsyncClosing<R: AsyncClose + Send + 'static> {
    resource: Option<R>,
    name: Cow<'static, str>,
    to: Orphaning,
}

impl<R: AsyncClose + Send + 'static> AsyncClosing<R> {
    /// Holds `resource`; failures are reported under its type name.
    ///
    /// ```
    /// let c = tenure::async_close::AsyncClosing::new(tenure::close::Dropping(1));
    /// assert!(tenure::async_close::AsyncClosing::name(&c).contains("Dropping"));
    /// # drop(tenure::async_close::AsyncClosing::into_inner(c));
    /// ```
    pub fn new(resource: R) -> Self {
        Self::named(std::any::type_name::<R>(), resource)
    }

    /// Holds `resource` under `name`, which failures reported from `Drop` will carry.
    ///
    /// ```
    /// let c = tenure::async_close::AsyncClosing::named("db-1", tenure::close::Dropping(1));
    /// assert_eq!(tenure::async_close::AsyncClosing::name(&c), "db-1");
    /// # drop(tenure::async_close::AsyncClosing::into_inner(c));
    /// ```
    pub fn named(name: impl Into<Cow<'static, str>>, resource: R) -> Self {
        AsyncClosing {
            resource: Some(resource),
            name: name.into(),
            to: Orphaning::default(),
        }
    }

    /// Sets the deadline of the close when it runs orphaned. An associated function, not a
    /// method: `AsyncClosing` derefs to the resource, whose own methods it must not shadow.
    ///
    /// ```
    /// use tenure::async_close::AsyncClosing;
    /// let c = AsyncClosing::new(tenure::close::Dropping(1));
    /// let c = AsyncClosing::with_deadline(c, std::time::Duration::from_secs(2));
    /// # drop(AsyncClosing::into_inner(c));
    /// ```
    pub fn with_deadline(mut this: Self, deadline: Duration) -> Self {
        this.to.deadline = deadline;
        this
    }

    /// Reports an orphaned close to `orphans` instead of the global tracker. An associated
    /// function, as [`with_deadline`](Self::with_deadline) is.
    ///
    /// ```
    /// use tenure::async_close::AsyncClosing;
    /// let c = AsyncClosing::new(tenure::close::Dropping(1));
    /// let c = AsyncClosing::with_orphans(c, tenure::orphan::Orphans::new());
    /// # drop(AsyncClosing::into_inner(c));
    /// ```
    pub fn with_orphans(mut this: Self, orphans: Orphans) -> Self {
        this.to.orphans = Some(orphans);
        this
    }

    /// The name failures are reported under.
    ///
    /// ```
    /// let c = tenure::async_close::AsyncClosing::named("x", tenure::close::Dropping(()));
    /// assert_eq!(tenure::async_close::AsyncClosing::name(&c), "x");
    /// # drop(tenure::async_close::AsyncClosing::into_inner(c));
    /// ```
    pub fn name(this: &Self) -> &str {
        &this.name
    }

    /// Closes now and returns the error. If this future is dropped before the close
    /// finished, the rest of the close is orphaned (and a failure reported).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let c = tenure::async_close::AsyncClosing::new(tenure::async_close::async_close_with((), |()| async { Err(std::fmt::Error) }));
    /// assert!(tenure::async_close::AsyncClosing::close(c).await.is_err());
    /// # }
    /// ```
    pub async fn close(mut this: Self) -> Result<(), R::Error> {
        let Some(resource) = this.resource.take() else {
            return Ok(());
        };
        InFlight::new(
            std::mem::take(&mut this.name),
            Box::pin(resource.close()),
            |r: Result<(), R::Error>, name| r.map_err(|e| Error::close(name, e)),
            std::mem::take(&mut this.to),
        )
        .await
    }

    /// Takes the resource back without closing it (the hand-off path).
    ///
    /// ```
    /// let c = tenure::async_close::AsyncClosing::new(tenure::close::Dropping(5));
    /// assert_eq!(tenure::async_close::AsyncClosing::into_inner(c).0, 5);
    /// ```
    pub fn into_inner(mut this: Self) -> R {
        match this.resource.take() {
            Some(r) => r,
            None => unreachable!("an AsyncClosing holds its resource until consumed"),
        }
    }
}

impl<R: AsyncClose + Send + 'static> Deref for AsyncClosing<R> {
    type Target = R;
    fn deref(&self) -> &R {
        match &self.resource {
            Some(r) => r,
            None => unreachable!("an AsyncClosing holds its resource until consumed"),
        }
    }
}

impl<R: AsyncClose + Send + 'static> DerefMut for AsyncClosing<R> {
    fn deref_mut(&mut self) -> &mut R {
        match &mut self.resource {
            Some(r) => r,
            None => unreachable!("an AsyncClosing holds its resource until consumed"),
        }
    }
}

/// Orphans the close: it runs as a task (or on the helper thread), bounded by the deadline.
impl<R: AsyncClose + Send + 'static> Drop for AsyncClosing<R> {
    fn drop(&mut self) {
        if let Some(resource) = self.resource.take() {
            let name = std::mem::take(&mut self.name);
            let job_name = name.clone();
            let job = Job::new(
                job_name,
                Box::pin(async move { resource.close().await.map_err(|e| Error::close(name, e)) }),
            );
            self.to.adopt([job].into(), "AsyncClosing::drop");
        }
    }
}

impl<R: AsyncClose + Send + fmt::Debug + 'static> fmt::Debug for AsyncClosing<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClosing")
            .field("name", &self.name)
            .field("resource", &self.resource)
            .finish()
    }
}
