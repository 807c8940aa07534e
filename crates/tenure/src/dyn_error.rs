//! [`DynError`]: a type-erased body error that is itself an [`std::error::Error`].

use std::error::Error as StdError;
use std::fmt;

/// [`BoxError`](crate::error::BoxError), spelled out: this module sits above `error`, which
/// re-exports [`DynError`], and imports nothing from it.
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A type-erased error that is itself an [`std::error::Error`]: the body error of
/// [`ExitStack::scope_dyn`](crate::ExitStack::scope_dyn) and
/// [`AsyncExitStack::scope_dyn`](crate::AsyncExitStack::scope_dyn), for bodies whose error
/// type is not an `Error` — `Box<dyn Error + Send + Sync>`, `anyhow::Error`, `eyre::Report`,
/// a `String` — so that [`ScopeError<DynError>`](crate::ScopeError) is an `Error` again and
/// `?` takes it into any of those.
///
/// It is transparent: `Display` and `Debug` are the wrapped error's, and
/// [`source`](StdError::source) is the wrapped error's source — the wrapped error *stands in*
/// for it, so a chain printed from a `DynError` does not repeat the top message. Reach the
/// wrapped error with [`get_ref`](DynError::get_ref), [`downcast_ref`](DynError::downcast_ref)
/// or [`into_inner`](DynError::into_inner).
///
/// ```
/// use tenure::error::DynError;
///
/// let e = DynError::new(std::io::Error::other("disk full"));
/// assert_eq!(e.to_string(), "disk full");
/// assert!(e.downcast_ref::<std::io::Error>().is_some());
/// let boxed: tenure::error::BoxError = e.into_inner(); // the original box, not a wrapper
/// assert!(boxed.is::<std::io::Error>());
/// ```
pub struct DynError(BoxError);

impl DynError {
    /// Wraps an error, or anything that converts into a boxed one (`&str` and `String`
    /// included).
    ///
    /// ```
    /// let e = tenure::error::DynError::new("no such table: users");
    /// assert_eq!(e.to_string(), "no such table: users");
    /// ```
    pub fn new(error: impl Into<BoxError>) -> Self {
        DynError(error.into())
    }

    /// The wrapped error.
    ///
    /// ```
    /// let e = tenure::error::DynError::new(std::fmt::Error);
    /// assert!(e.get_ref().is::<std::fmt::Error>());
    /// ```
    pub fn get_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }

    /// The wrapped error as a `T`, if it is one.
    ///
    /// ```
    /// let e = tenure::error::DynError::new(std::io::Error::from(std::io::ErrorKind::NotFound));
    /// assert_eq!(e.downcast_ref::<std::io::Error>().unwrap().kind(), std::io::ErrorKind::NotFound);
    /// assert!(e.downcast_ref::<std::fmt::Error>().is_none());
    /// ```
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }

    /// The wrapped error, as it was boxed.
    ///
    /// ```
    /// let boxed = tenure::error::DynError::new("timed out").into_inner();
    /// assert_eq!(boxed.to_string(), "timed out");
    /// ```
    pub fn into_inner(self) -> BoxError {
        self.0
    }
}

impl fmt::Display for DynError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for DynError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl StdError for DynError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}
