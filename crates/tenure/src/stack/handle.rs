//! Holding resources in an [`ExitStack`] and reaching them through typed [`Handle`]s.

use std::any::type_name;
use std::ops::{Index, IndexMut};
use std::panic::Location;

use super::entry::Closed;
use super::ExitStack;
use crate::close::Close;
use crate::error::Error;
use crate::handle::Handle;

impl<'a> ExitStack<'a> {
    /// Takes ownership of `resource`; it is released with [`Close::close`] when the stack
    /// closes. A failure is reported under the name given with [`named`](Self::named), else
    /// the resource's type name (or, if that is a closure's, the place it was entered).
    ///
    /// A resource that only needs dropping (a `File`, a socket, a guard) goes in through
    /// [`Dropping`](crate::close::Dropping); a stack is a resource too (see
    /// [Nesting stacks](super#nesting-stacks)).
    ///
    /// Resources are `'static` while callbacks may borrow: a [`Handle`] reaches the
    /// resource by type (`Any`), which needs an owned type. To release something borrowed,
    /// push a callback that does it: `s.callback(|| drop(guard))` or
    /// `s.try_callback(move || conn.close())`.
    ///
    /// ```
    /// use std::io::Write;
    /// use tenure::close::Dropping;
    /// let mut s = tenure::ExitStack::new();
    /// let w = s.enter(std::io::BufWriter::new(Vec::new()));
    /// let f = s.enter(Dropping(tempfile::tempfile()?));
    /// s[w].write_all(b"data")?;
    /// assert!(s[f].metadata()?.is_file());
    /// s.close()?; // the file dropped, then the writer flushed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn enter<R: Close + 'static>(&mut self, resource: R) -> Handle<R> {
        let name = self
            .entries
            .take_name(Some(type_name::<R>()), Location::caller());
        self.entries
            .push_resource(Box::new(Closed { resource, name }))
    }

    /// The resource behind `handle`, or an [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// error if the stack was closed (or its entries moved by [`pop_all`](Self::pop_all))
    /// since the handle was made.
    ///
    /// ```
    /// use tenure::close::Dropping;
    /// let mut s = tenure::ExitStack::new();
    /// let h = s.enter(Dropping(7_u32));
    /// assert_eq!(**s.get(h)?, 7);
    /// s.unwind()?;
    /// assert!(s.get(h).is_err());
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get<R: 'static>(&self, handle: Handle<R>) -> Result<&R, Error> {
        self.entries.get(handle)
    }

    /// The resource behind `handle`, mutably; an error once the stack was closed.
    ///
    /// ```
    /// use tenure::close::Dropping;
    /// let mut s = tenure::ExitStack::new();
    /// let h = s.enter(Dropping(vec![1]));
    /// s.get_mut(h)?.push(2);
    /// assert_eq!(*s[h], [1, 2]);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get_mut<R: 'static>(&mut self, handle: Handle<R>) -> Result<&mut R, Error> {
        self.entries.get_mut(handle)
    }
}

impl<R: 'static> Index<Handle<R>> for ExitStack<'_> {
    type Output = R;
    /// # Panics
    /// If the stack was closed since the handle was made; use [`ExitStack::get`] to get an
    /// error instead.
    fn index(&self, handle: Handle<R>) -> &R {
        self.get(handle)
            .unwrap_or_else(|_| handle.stale("ExitStack"))
    }
}

impl<R: 'static> IndexMut<Handle<R>> for ExitStack<'_> {
    /// # Panics
    /// If the stack was closed since the handle was made; use [`ExitStack::get_mut`] to get
    /// an error instead.
    fn index_mut(&mut self, handle: Handle<R>) -> &mut R {
        match self.get_mut(handle) {
            Ok(r) => r,
            Err(_) => handle.stale("ExitStack"),
        }
    }
}
