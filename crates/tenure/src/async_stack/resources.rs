//! Resources an [`AsyncExitStack`] owns until it closes them, and
//! the handles that reach them meanwhile.

use std::any::type_name;
use std::ops::{Index, IndexMut};
use std::panic::Location;

use super::entry::{Closed, Entry, SyncClosed};
use super::AsyncExitStack;
use crate::async_close::AsyncClose;
use crate::close::Close;
use crate::error::Error;
use crate::handle::Handle;

impl AsyncExitStack {
    /// Takes ownership of `resource`; it is released with [`AsyncClose::close`] when the
    /// stack closes (Python's `enter_async_context` of an entered resource). A failure is
    /// reported under the name given with [`named`](Self::named), else the resource's type
    /// name (or, if that is a closure's, the place it was entered). A resource that only
    /// needs dropping goes in through [`Dropping`](crate::close::Dropping).
    ///
    /// ```
    /// use tenure::async_close::async_close_with;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let conn = s.enter(async_close_with(vec![1], |_| async { Ok::<_, std::io::Error>(()) }));
    /// s[conn].push(2);
    /// s.named("db-1").enter(async_close_with((), |()| async { Err(std::io::Error::other("reset")) }));
    /// assert_eq!(s.close().await.unwrap_err().to_string(), "failed to close `db-1`");
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn enter<R: AsyncClose + Send + 'static>(&mut self, resource: R) -> Handle<R> {
        let name = self
            .entries
            .take_name(Some(type_name::<R>()), Location::caller());
        self.entries
            .push_resource(Entry::Dyn(Box::new(Closed { resource, name })))
    }

    /// Takes ownership of a resource with a synchronous [`Close`]; it is closed in its turn.
    ///
    /// ```
    /// use std::io::Write;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let w = s.enter_sync(std::io::BufWriter::new(Vec::new()));
    /// s[w].write_all(b"data")?;
    /// s.close().await?; // flushed
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn enter_sync<R: Close + Send + 'static>(&mut self, resource: R) -> Handle<R> {
        let name = self
            .entries
            .take_name(Some(type_name::<R>()), Location::caller());
        self.entries
            .push_resource(Entry::Dyn(Box::new(SyncClosed { resource, name })))
    }

    /// The resource behind `handle`, or an [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// error if the stack was closed (or emptied by [`pop_all`](Self::pop_all)) since.
    ///
    /// ```
    /// use tenure::close::Dropping;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let h = s.enter(Dropping(7_u32));
    /// assert_eq!(**s.get(h)?, 7);
    /// s.unwind().await?;
    /// assert!(s.get(h).is_err());
    /// # Ok(()) }
    /// ```
    pub fn get<R: 'static>(&self, handle: Handle<R>) -> Result<&R, Error> {
        self.entries.get(handle)
    }

    /// The resource behind `handle`, mutably; an error once the stack was closed.
    ///
    /// ```
    /// use tenure::close::Dropping;
    /// let mut s = tenure::AsyncExitStack::new();
    /// let h = s.enter(Dropping(vec![1]));
    /// s.get_mut(h)?.push(2);
    /// assert_eq!(*s[h], [1, 2]);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get_mut<R: 'static>(&mut self, handle: Handle<R>) -> Result<&mut R, Error> {
        self.entries.get_mut(handle)
    }
}

impl<R: 'static> Index<Handle<R>> for AsyncExitStack {
    type Output = R;
    /// # Panics
    /// If the stack was closed since the handle was made; use [`AsyncExitStack::get`] to get
    /// an error instead.
    fn index(&self, handle: Handle<R>) -> &R {
        self.get(handle)
            .unwrap_or_else(|_| handle.stale("AsyncExitStack"))
    }
}

impl<R: 'static> IndexMut<Handle<R>> for AsyncExitStack {
    /// # Panics
    /// If the stack was closed since the handle was made; use [`AsyncExitStack::get_mut`] to
    /// get an error instead.
    fn index_mut(&mut self, handle: Handle<R>) -> &mut R {
        match self.get_mut(handle) {
            Ok(r) => r,
            Err(_) => handle.stale("AsyncExitStack"),
        }
    }
}
