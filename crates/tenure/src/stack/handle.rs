//! Holding resources in an [`ExitStack`] and reaching them through typed [`Handle`]s.

use std::any::type_name;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};
use std::sync::atomic::{AtomicU64, Ordering};

use super::entry::{Closed, Dropped};
use super::ExitStack;
use crate::{Close, Error};

/// A typed reference to a resource held by an [`ExitStack`], for using it while the stack
/// holds it. Index the stack with it, or use [`ExitStack::get`] / [`ExitStack::get_mut`],
/// which return an error instead of panicking once the stack has been closed.
///
/// ```
/// let mut stack = tenure::ExitStack::new();
/// let h = stack.hold(String::from("conn"));
/// stack[h].push_str("-1");
/// assert_eq!(stack[h], "conn-1");
/// ```
pub struct Handle<R> {
    stack: u64,
    index: usize,
    ty: PhantomData<fn() -> R>,
}

impl<R> Handle<R> {
    /// A handle to entry `index` of the stack whose current id is `stack` (shared with
    /// `AsyncExitStack`, so both stacks hand out the same type).
    pub(crate) fn new(stack: u64, index: usize) -> Self {
        Handle {
            stack,
            index,
            ty: PhantomData,
        }
    }

    pub(crate) fn parts(self) -> (u64, usize) {
        (self.stack, self.index)
    }
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Handle<R> {}

impl<R> fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Handle<{}>(#{}/{})",
            type_name::<R>(),
            self.stack,
            self.index
        )
    }
}

/// Hands out ids that tie [`Handle`]s to one stack's current contents.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<'a> ExitStack<'a> {
    /// Takes ownership of `resource`; it is released with [`Close::close`] when the stack
    /// closes, and a failure is reported under the resource's type name.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut s = tenure::ExitStack::new();
    /// let w = s.enter(std::io::BufWriter::new(Vec::new()));
    /// s[w].write_all(b"data")?;
    /// s.close()?; // flushed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn enter<R: Close + 'static>(&mut self, resource: R) -> Handle<R> {
        self.enter_named(type_name::<R>(), resource)
    }

    /// Like [`enter`](Self::enter), reporting a failure under `name` (a path, a URL, a
    /// pool key: whatever identifies it in a log).
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// s.enter_named("out.csv", tenure::close_with((), |()| Err(std::io::Error::other("disk full"))));
    /// assert_eq!(s.close().unwrap_err().to_string(), "failed to close `out.csv`: disk full");
    /// ```
    pub fn enter_named<R: Close + 'static>(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        resource: R,
    ) -> Handle<R> {
        self.entries.push(Box::new(Closed {
            resource,
            name: name.into(),
        }));
        self.handle()
    }

    /// Takes ownership of a resource that is released by `Drop` alone (a `File`, a socket);
    /// it is dropped in its turn when the stack closes.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// let f = s.hold(tempfile::tempfile()?);
    /// assert!(s[f].metadata()?.is_file());
    /// s.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hold<R: 'static>(&mut self, resource: R) -> Handle<R> {
        self.entries.push(Box::new(Dropped(resource)));
        self.handle()
    }

    fn handle<R>(&mut self) -> Handle<R> {
        if self.id == 0 {
            self.id = next_id();
        }
        Handle {
            stack: self.id,
            index: self.entries.len() - 1,
            ty: PhantomData,
        }
    }

    /// The resource behind `handle`, or an [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// error if the stack was closed (or its entries moved by [`pop_all`](Self::pop_all))
    /// since the handle was made.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// let h = s.hold(7_u32);
    /// assert_eq!(*s.get(h)?, 7);
    /// s.close()?;
    /// assert!(s.get(h).is_err());
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get<R: 'static>(&self, handle: Handle<R>) -> Result<&R, Error> {
        if handle.stack != self.id {
            return Err(Error::closed(type_name::<R>()));
        }
        self.entries
            .get(handle.index)
            .and_then(|e| e.resource_ref())
            .and_then(|any| any.downcast_ref::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }

    /// The resource behind `handle`, mutably; an error once the stack was closed.
    ///
    /// ```
    /// let mut s = tenure::ExitStack::new();
    /// let h = s.hold(vec![1]);
    /// s.get_mut(h)?.push(2);
    /// assert_eq!(s[h], [1, 2]);
    /// # Ok::<(), tenure::Error>(())
    /// ```
    pub fn get_mut<R: 'static>(&mut self, handle: Handle<R>) -> Result<&mut R, Error> {
        if handle.stack != self.id {
            return Err(Error::closed(type_name::<R>()));
        }
        self.entries
            .get_mut(handle.index)
            .and_then(|e| e.resource())
            .and_then(|any| any.downcast_mut::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }
}

impl<R: 'static> Index<Handle<R>> for ExitStack<'_> {
    type Output = R;
    /// # Panics
    /// If the stack was closed since the handle was made; use [`ExitStack::get`] to get an
    /// error instead.
    fn index(&self, handle: Handle<R>) -> &R {
        match self.get(handle) {
            Ok(r) => r,
            Err(_) => {
                panic!("{handle:?} used after its ExitStack was closed or emptied by pop_all")
            }
        }
    }
}

impl<R: 'static> IndexMut<Handle<R>> for ExitStack<'_> {
    /// # Panics
    /// If the stack was closed since the handle was made; use [`ExitStack::get_mut`] to get
    /// an error instead.
    fn index_mut(&mut self, handle: Handle<R>) -> &mut R {
        match self.get_mut(handle) {
            Ok(r) => r,
            Err(_) => {
                panic!("{handle:?} used after its ExitStack was closed or emptied by pop_all")
            }
        }
    }
}
