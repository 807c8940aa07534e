//! Release that consumes the resource and says whether it worked.
//!
//! [`Close`] is the manual protocol (Python's explicit `close()`): it takes the resource by
//! value, so closing twice does not compile. [`Closing`] is the scoped protocol (Python's
//! `with`): it holds a resource, derefs to it, and closes it when dropped, reporting a failed
//! close through `tracing` because `Drop` cannot return it. A `Closing` can still be closed
//! explicitly to get the error back.
//!
//! ```
//! use tenure::Close;
//! use tenure::close::Closing;
//! use std::io::Write;
//!
//! // Manual: the error comes back.
//! let mut w = std::io::BufWriter::new(Vec::new());
//! w.write_all(b"hello")?;
//! w.close()?;
//!
//! // Scoped: closed at the end of the block, on every path.
//! {
//!     let mut w = Closing::new(std::io::BufWriter::new(Vec::new()));
//!     w.write_all(b"hello")?;
//! } // flushed here; a failure would be logged as a `tracing` warning
//! # Ok::<(), std::io::Error>(())
//! ```

use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::error::Error;
use crate::sink::SharedSink;

/// A resource whose release can fail, released by consuming it.
///
/// Implement it for anything that needs more than `Drop` to be released properly: flushing
/// a writer, committing a file, returning a connection with a goodbye message. Because
/// `close` takes `self`, a resource cannot be closed twice.
///
/// ```
/// use tenure::Close;
///
/// struct Conn { open: bool }
///
/// impl Close for Conn {
///     type Error = std::io::Error;
///     fn close(mut self) -> Result<(), Self::Error> {
///         self.open = false; // send goodbye, flush, ...
///         Ok(())
///     }
/// }
///
/// Conn { open: true }.close()?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Closing twice, or using a resource after closing it, does not compile:
///
/// ```compile_fail,E0382
/// use tenure::Close;
/// let w = std::io::BufWriter::new(Vec::<u8>::new());
/// w.close().unwrap();
/// w.close().unwrap(); // use of moved value
/// ```
pub trait Close {
    /// What a failed release returns.
    type Error: StdError + Send + Sync + 'static;

    /// Releases the resource, returning what went wrong.
    fn close(self) -> Result<(), Self::Error>;
}

/// Flushes the buffer, then drops the inner writer.
///
/// ```
/// use tenure::Close;
/// use std::io::Write;
/// let mut w = std::io::BufWriter::new(Vec::new());
/// w.write_all(b"x")?;
/// w.close()?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<W: std::io::Write> Close for std::io::BufWriter<W> {
    type Error = std::io::Error;
    fn close(self) -> Result<(), std::io::Error> {
        self.into_inner().map(drop).map_err(|e| e.into_error())
    }
}

/// Closes the resource if there is one.
///
/// ```
/// use tenure::Close;
/// let none: Option<std::io::BufWriter<Vec<u8>>> = None;
/// none.close()?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<R: Close> Close for Option<R> {
    type Error = R::Error;
    fn close(self) -> Result<(), R::Error> {
        self.map_or(Ok(()), R::close)
    }
}

/// Closes the boxed resource.
///
/// ```
/// use tenure::Close;
/// Box::new(std::io::BufWriter::new(Vec::<u8>::new())).close()?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<R: Close> Close for Box<R> {
    type Error = R::Error;
    fn close(self) -> Result<(), R::Error> {
        (*self).close()
    }
}

/// Closes every element, last first (the reverse of acquisition), even when some fail or
/// panic; the first failure is primary and the rest are
/// [suppressed](Error::suppressed). A panic resumes after every element was closed
/// (the errors that cannot ride along with it are reported through `tracing`; later panics
/// become [`ErrorKind::Panic`](crate::ErrorKind::Panic) errors).
///
/// ```
/// use tenure::Close;
/// fn fail(_: &str) -> Result<(), std::fmt::Error> { Err(std::fmt::Error) }
/// let conns = vec![tenure::close::close_with("a", fail), tenure::close::close_with("b", fail)];
/// let err = conns.close().unwrap_err(); // "b" is closed first, then "a"
/// assert_eq!(err.suppressed().len(), 1);
/// ```
impl<R: Close> Close for Vec<R> {
    type Error = Error;
    fn close(self) -> Result<(), Error> {
        let name = std::any::type_name::<R>();
        let mut errors = Vec::new();
        let mut panic = None;
        for r in self.into_iter().rev() {
            // A panic must not leave the rest to be merely dropped (first to last).
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.close())) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(Error::close(name, e)),
                Err(payload) if panic.is_none() => panic = Some(payload),
                Err(payload) => errors.push(Error::panicked(name, payload)),
            }
        }
        let error = Error::from_errors(errors);
        if let Some(payload) = panic {
            if let Some(e) = error {
                // A Vec carries no sink: the process default takes it.
                crate::sink::report_dropped(None, e, "Vec::close (resuming a close panic)");
            }
            std::panic::resume_unwind(payload);
        }
        error.map_or(Ok(()), Err)
    }
}

#[cfg(feature = "tempfile")]
mod tempfile_impls {
    use super::Close;

    /// Deletes the file and reports a failure to delete it.
    impl Close for tempfile::NamedTempFile {
        type Error = std::io::Error;
        fn close(self) -> std::io::Result<()> {
            tempfile::NamedTempFile::close(self)
        }
    }

    /// Deletes the file and reports a failure to delete it.
    impl Close for tempfile::TempPath {
        type Error = std::io::Error;
        fn close(self) -> std::io::Result<()> {
            tempfile::TempPath::close(self)
        }
    }

    /// Deletes the directory tree and reports a failure to delete it.
    impl Close for tempfile::TempDir {
        type Error = std::io::Error;
        fn close(self) -> std::io::Result<()> {
            tempfile::TempDir::close(self)
        }
    }
}

/// A value released by a closure: the adapter for resources whose release is a function
/// call rather than a trait impl. Made by [`close_with`].
///
/// ```
/// use tenure::Close;
/// use tenure::close::close_with;
/// let conn = close_with(String::from("conn-1"), |name| {
///     println!("closing {name}");
///     Ok::<(), std::io::Error>(())
/// });
/// assert_eq!(conn.len(), 6); // derefs to the value
/// conn.close()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct CloseWith<T, F> {
    value: T,
    release: F,
}

/// Pairs `value` with the function that releases it.
///
/// ```
/// use tenure::Close;
/// let r = tenure::close::close_with(42, |_| Err(std::fmt::Error));
/// assert!(r.close().is_err());
/// ```
pub fn close_with<T, F, E>(value: T, release: F) -> CloseWith<T, F>
where
    F: FnOnce(T) -> Result<(), E>,
    E: StdError + Send + Sync + 'static,
{
    CloseWith { value, release }
}

impl<T, F, E> Close for CloseWith<T, F>
where
    F: FnOnce(T) -> Result<(), E>,
    E: StdError + Send + Sync + 'static,
{
    type Error = E;
    fn close(self) -> Result<(), E> {
        (self.release)(self.value)
    }
}

impl<T, F> Deref for CloseWith<T, F> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, F> DerefMut for CloseWith<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug, F> fmt::Debug for CloseWith<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CloseWith").field(&self.value).finish()
    }
}

/// The adapter for types that are released by `Drop` alone: closing drops the value and
/// never fails.
///
/// ```
/// use tenure::Close;
/// use tenure::close::Dropping;
/// let file = Dropping(tempfile::tempfile()?);
/// file.close().unwrap(); // infallible: the file is dropped
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropping<T>(pub T);

impl<T> Close for Dropping<T> {
    type Error = Infallible;
    fn close(self) -> Result<(), Infallible> {
        drop(self.0);
        Ok(())
    }
}

impl<T> Deref for Dropping<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Dropping<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// A resource that is closed when it goes out of scope.
///
/// Derefs to the resource. On drop it calls [`Close::close`] and, since `Drop` cannot return
/// an error, reports a failure as a `tracing` warning naming the resource. A close that
/// panics while the thread is already unwinding is reported the same way (a second panic
/// escaping a destructor would abort the process). Call
/// [`Closing::close`] to get the error instead, or [`Closing::into_inner`] to take the
/// resource back without closing it.
///
/// Its own operations are associated functions — `Closing::close(c)`, not `c.close()` — so
/// that they never shadow the resource's methods, which `c.method()` reaches through
/// `Deref` (as `Closing<BufWriter<_>>` reaches `BufWriter::get_ref`).
///
/// **Mind one trap.** If the resource has an inherent `close(&mut self)` of its own,
/// `c.close()` calls *that* method through `Deref`, and dropping `c` then runs
/// [`Close::close`] a second time. Write `Closing::close(c)` to close through the guard;
/// and a `Close` impl for such a type should treat an already-closed resource as closed
/// (return `Ok(())`), so that the second close is harmless.
///
/// ```
/// use tenure::close::Closing;
/// use std::io::Write;
///
/// let mut out = Closing::named("report writer", std::io::BufWriter::new(Vec::new()));
/// writeln!(out, "total: 3")?;
/// assert!(out.get_ref().is_empty()); // BufWriter's own method, through Deref
/// Closing::close(out)?; // explicit: the flush error, if any, comes back here
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Closing<R: Close> {
    resource: Option<R>,
    name: Cow<'static, str>,
    /// Where a failure on drop is reported; `None`: the process default sink.
    sink: Option<SharedSink>,
}

impl<R: Close> Closing<R> {
    /// Holds `resource`, to be closed on drop. Failures are reported under its type name.
    ///
    /// ```
    /// use tenure::close::Closing;
    /// let w = Closing::new(std::io::BufWriter::new(Vec::<u8>::new()));
    /// assert!(Closing::name(&w).contains("BufWriter"));
    /// ```
    pub fn new(resource: R) -> Self {
        Self::named(std::any::type_name::<R>(), resource)
    }

    /// Holds `resource` under `name`, which failures reported from `Drop` will carry.
    ///
    /// ```
    /// use tenure::close::Closing;
    /// let w = Closing::named("audit log", std::io::BufWriter::new(Vec::<u8>::new()));
    /// assert_eq!(Closing::name(&w), "audit log");
    /// ```
    pub fn named(name: impl Into<Cow<'static, str>>, resource: R) -> Self {
        Closing {
            resource: Some(resource),
            name: name.into(),
            sink: None,
        }
    }

    /// Reports a failure on drop to `sink` instead of the process-wide default (see
    /// [`crate::sink`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tenure::close::{close_with, Closing};
    /// use tenure::sink::CollectingSink;
    /// let sink = Arc::new(CollectingSink::new(8));
    /// let c = Closing::named("conn", close_with((), |()| Err(std::io::Error::other("reset"))));
    /// drop(Closing::with_sink(c, sink.clone()));
    /// assert_eq!(sink.take()[0].error().unwrap().resource(), "conn");
    /// ```
    pub fn with_sink(mut this: Self, sink: SharedSink) -> Self {
        this.sink = Some(sink);
        this
    }

    /// The name failures are reported under.
    ///
    /// ```
    /// use tenure::close::{Closing, Dropping};
    /// assert_eq!(Closing::name(&Closing::named("x", Dropping(1))), "x");
    /// ```
    pub fn name(this: &Self) -> &str {
        &this.name
    }

    /// Closes now and returns the error, instead of logging it on drop.
    ///
    /// ```
    /// use tenure::close::Closing;
    /// let w = Closing::new(std::io::BufWriter::new(Vec::<u8>::new()));
    /// Closing::close(w)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(mut this: Self) -> Result<(), R::Error> {
        this.resource.take().map_or(Ok(()), R::close)
    }

    /// Takes the resource back without closing it (the hand-off path).
    ///
    /// ```
    /// use tenure::close::{Closing, Dropping};
    /// let w = Closing::new(Dropping(5));
    /// assert_eq!(Closing::into_inner(w).0, 5);
    /// ```
    pub fn into_inner(mut this: Self) -> R {
        this.resource
            .take()
            .expect("a Closing always holds its resource until consumed")
    }
}

impl<R: Close> Deref for Closing<R> {
    type Target = R;
    fn deref(&self) -> &R {
        self.resource
            .as_ref()
            .expect("a Closing always holds its resource until consumed")
    }
}

impl<R: Close> DerefMut for Closing<R> {
    fn deref_mut(&mut self) -> &mut R {
        self.resource
            .as_mut()
            .expect("a Closing always holds its resource until consumed")
    }
}

impl<R: Close> Drop for Closing<R> {
    fn drop(&mut self) {
        let Some(resource) = self.resource.take() else {
            return;
        };
        let name = std::mem::take(&mut self.name);
        let error = if std::thread::panicking() {
            // A panic escaping a destructor while the thread unwinds aborts the process:
            // catch it and report it instead, as `ExitStack`'s drop does.
            let closed =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| resource.close()));
            match closed {
                Ok(result) => result.err().map(|e| Error::close(name, e)),
                Err(payload) => Some(Error::panicked(name, payload)),
            }
        } else {
            resource.close().err().map(|e| Error::close(name, e))
        };
        if let Some(e) = error {
            crate::sink::report_dropped(self.sink.as_ref(), e, "Closing::drop");
        }
    }
}

impl<R: Close + fmt::Debug> fmt::Debug for Closing<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closing")
            .field("name", &self.name)
            .field("resource", &self.resource)
            .finish()
    }
}
