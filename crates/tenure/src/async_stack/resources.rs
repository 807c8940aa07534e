//! Resources an [`AsyncExitStack`] owns until it closes them, and
//! the handles that reach them meanwhile.

use std::any::{type_name, Any};
use std::borrow::Cow;
use std::ops::{Index, IndexMut};

use super::entry::{Closed, Dropped, Entry, SyncClosed};
use super::AsyncExitStack;
use crate::stack::next_id;
use crate::{AsyncClose, Close, Error, Handle};

impl AsyncExitStack {
    /// Takes ownership of `resource`; it is released with [`AsyncClose::close`] when the
    /// stack closes (Python's `enter_async_context` of an entered resource). A failure is
    /// reported under the resource's type name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let conn = s.enter(tenure::async_close_with(vec![1], |_| async { Ok::<_, std::io::Error>(()) }));
    /// s[conn].push(2);
    /// s.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn enter<R: AsyncClose + Send + 'static>(&mut self, resource: R) -> Handle<R> {
        self.enter_named(type_name::<R>(), resource)
    }

    /// Like [`enter`](Self::enter), reporting a failure under `name`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut s = tenure::AsyncExitStack::new();
    /// s.enter_named("db-1", tenure::async_close_with((), |()| async { Err(std::io::Error::other("reset")) }));
    /// assert_eq!(s.close().await.unwrap_err().to_string(), "failed to close `db-1`: reset");
    /// # }
    /// ```
    pub fn enter_named<R: AsyncClose + Send + 'static>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        resource: R,
    ) -> Handle<R> {
        self.entries.push(Entry::Dyn(Box::new(Closed {
            resource,
            name: name.into(),
        })));
        self.handle()
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
    pub fn enter_sync<R: Close + Send + 'static>(&mut self, resource: R) -> Handle<R> {
        self.entries.push(Entry::Dyn(Box::new(SyncClosed {
            resource,
            name: type_name::<R>().into(),
        })));
        self.handle()
    }

    /// Takes ownership of a resource that is released by `Drop` alone; it is dropped in its
    /// turn.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let v = s.hold(vec![1, 2, 3]);
    /// assert_eq!(s[v].len(), 3);
    /// s.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn hold<R: Send + 'static>(&mut self, resource: R) -> Handle<R> {
        self.entries.push(Entry::Dyn(Box::new(Dropped(resource))));
        self.handle()
    }

    fn handle<R>(&mut self) -> Handle<R> {
        if self.id == 0 {
            self.id = next_id();
        }
        Handle::new(self.id, self.entries.len() - 1)
    }

    fn entry_resource(&self, stack: u64, index: usize) -> Option<&dyn Any> {
        if stack != self.id {
            return None;
        }
        match self.entries.get(index)? {
            Entry::Dyn(e) => e.resource_ref(),
            Entry::Callback(..) | Entry::Future(..) => None,
        }
    }

    /// The resource behind `handle`, or an [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// error if the stack was closed (or emptied by [`pop_all`](Self::pop_all)) since.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tenure::Error> {
    /// let mut s = tenure::AsyncExitStack::new();
    /// let h = s.hold(7_u32);
    /// assert_eq!(*s.get(h)?, 7);
    /// s.close().await?;
    /// assert!(s.get(h).is_err());
    /// # Ok(()) }
    /// ```
    pub fn get<R: 'static>(&self, handle: Handle<R>) -> Result<&R, Error> {
        let (stack, index) = handle.parts();
        self.entry_resource(stack, index)
            .and_then(|any| any.downcast_ref::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }

    /// The resource behind `handle`, mutably; an error once the stack was closed.
    ///
    /// ```
    /// let mut s = tenure::AsyncExitStack::new();
    /// let h = s.hold(vec![1]);
    /// s.get_mut(h)?.push(2);
    /// assert_eq!(s[h], [1, 2]);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get_mut<R: 'static>(&mut self, handle: Handle<R>) -> Result<&mut R, Error> {
        let (stack, index) = handle.parts();
        let found = if stack == self.id {
            match self.entries.get_mut(index) {
                Some(Entry::Dyn(e)) => e.resource(),
                _ => None,
            }
        } else {
            None
        };
        found
            .and_then(|any| any.downcast_mut::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }
}

impl<R: 'static> Index<Handle<R>> for AsyncExitStack {
    type Output = R;
    /// # Panics
    /// If the stack was closed since the handle was made; use [`AsyncExitStack::get`] to get
    /// an error instead.
    fn index(&self, handle: Handle<R>) -> &R {
        match self.get(handle) {
            Ok(r) => r,
            Err(_) => {
                panic!("{handle:?} used after its AsyncExitStack was closed or emptied by pop_all")
            }
        }
    }
}

impl<R: 'static> IndexMut<Handle<R>> for AsyncExitStack {
    /// # Panics
    /// If the stack was closed since the handle was made; use [`AsyncExitStack::get_mut`] to
    /// get an error instead.
    fn index_mut(&mut self, handle: Handle<R>) -> &mut R {
        match self.get_mut(handle) {
            Ok(r) => r,
            Err(_) => {
                panic!("{handle:?} used after its AsyncExitStack was closed or emptied by pop_all")
            }
        }
    }
}
