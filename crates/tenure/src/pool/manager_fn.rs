//! [`ManagerFn`]: a [`Manager`] made of closures, for resources that are cheap to make and
//! need nothing but a drop (or one call) to end — buffers, handles to something already
//! open, test doubles.

use std::fmt;

use crate::error::BoxError;

use super::manager::{Manager, Work};

/// How a [`ManagerFn`] closes a resource when it is given no close: it drops it. Names the
/// type [`from_fn`] returns.
///
/// ```
/// use tenure::pool::{from_fn, DropClose, ManagerFn};
/// fn zeros() -> ManagerFn<fn() -> Result<u64, std::io::Error>, DropClose<u64>> {
///     from_fn(|| Ok(0))
/// }
/// let pool = tenure::pool::Pool::new(zeros(), Default::default())?;
/// assert_eq!(*pool.get_blocking()?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type DropClose<T> = fn(T) -> Result<(), BoxError>;

/// A [`Manager`] made of closures: `create` makes a resource, `close` (by default a drop)
/// ends one the pool retires. Made by [`from_fn`]; a close is given with
/// [`with_close`](ManagerFn::with_close).
///
/// Both closures run inline, on the thread that needs them (a create on the thread whose
/// `get` found no idle resource; a close where the resource is retired), and are not
/// bounded by `create_timeout` / `close_timeout`: keep them short and non-blocking. A
/// resource whose creation blocks (a connection, a file) or is async wants a [`Manager`]
/// of its own, which returns [`Work::blocking`] or [`Work::future`] and is so bounded.
/// Resources are never validated or reset.
///
/// A pool of reusable buffers, each closed by counting it:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tenure::pool::{from_fn, Pool, PoolConfig};
///
/// let closed = Arc::new(AtomicUsize::new(0));
/// let count = closed.clone();
/// let buffers = from_fn(|| Ok::<_, std::io::Error>(Vec::<u8>::with_capacity(64 * 1024)))
///     .with_close(move |buf: Vec<u8>| {
///         count.fetch_add(1, Ordering::Relaxed);
///         drop(buf);
///         Ok(())
///     });
/// let pool = Pool::new(buffers, PoolConfig { max_size: 2, ..PoolConfig::default() })?;
///
/// let mut buf = pool.get_blocking()?;
/// buf.extend_from_slice(b"one request");
/// buf.clear();
/// drop(buf);                                  // back to the pool
/// assert_eq!(pool.get_blocking()?.capacity(), 64 * 1024);
/// assert_eq!(pool.statistics().created, 1);   // the same buffer, reused
///
/// assert!(pool.close_blocking(std::time::Duration::from_secs(1))); // every buffer closed
/// assert_eq!(closed.load(Ordering::Relaxed), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ManagerFn<C, X> {
    create: C,
    close: X,
}

/// A [`ManagerFn`] whose resources `create` makes, and which closes them by dropping them
/// (give another close with [`ManagerFn::with_close`]). A create that fails fails the `get`
/// that asked for it, as any manager's create does ([`PoolError::Create`](super::PoolError)).
///
/// ```
/// use tenure::pool::{from_fn, Pool, PoolConfig};
///
/// let next = std::sync::atomic::AtomicU32::new(1);
/// let ids = from_fn(move || Ok::<_, std::io::Error>(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
/// let pool = Pool::new(ids, PoolConfig::default())?;
/// let (a, b) = (pool.get_blocking()?, pool.get_blocking()?);
/// assert_eq!((*a, *b), (1, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_fn<T, E, C>(create: C) -> ManagerFn<C, DropClose<T>>
where
    C: Fn() -> Result<T, E>,
{
    ManagerFn {
        create,
        close: |resource| {
            drop(resource);
            Ok(())
        },
    }
}

impl<C, X> ManagerFn<C, X> {
    /// This manager, closing each resource the pool retires with `close`; an error it
    /// returns is reported to the pool's sink and counted, as any close's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tenure::pool::{from_fn, Pool};
    /// use tenure::sink::CollectingSink;
    ///
    /// let hangs_up = from_fn(|| Ok::<(), std::io::Error>(()))
    ///     .with_close(|()| Err("the far end had hung up".into()));
    /// let sink = Arc::new(CollectingSink::new(4));
    /// let pool = Pool::builder(hangs_up).sink(sink.clone()).build()?;
    /// drop(pool.get_blocking()?);
    /// assert!(pool.close_blocking(Duration::from_secs(1)));
    /// assert_eq!(pool.statistics().close_failures, 1);
    /// let report = sink.take().pop().unwrap();
    /// assert!(format!("{:?}", report.error()).contains("the far end had hung up"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_close<T, Y>(self, close: Y) -> ManagerFn<C, Y>
    where
        Y: Fn(T) -> Result<(), BoxError>,
    {
        ManagerFn {
            create: self.create,
            close,
        }
    }
}

impl<T, E, C, X> Manager for ManagerFn<C, X>
where
    T: Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
    C: Fn() -> Result<T, E> + Send + Sync + 'static,
    X: Fn(T) -> Result<(), BoxError> + Send + Sync + 'static,
{
    type Resource = T;
    type Error = E;
    const ASYNC: bool = false;

    fn create(&self) -> Work<Result<T, E>> {
        Work::ready((self.create)())
    }

    fn close(&self, resource: T) -> Work<Result<(), BoxError>> {
        Work::ready((self.close)(resource))
    }
}

impl<C, X> fmt::Debug for ManagerFn<C, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManagerFn")
    }
}
