//! [`Handle`]: a typed reference to a resource a stack holds, shared by
//! [`ExitStack`](crate::ExitStack) and [`AsyncExitStack`](crate::AsyncExitStack) (public
//! as `tenure::stack::Handle`).

use std::any::{type_name, Any};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// A typed reference to a resource held by an [`ExitStack`](crate::ExitStack) or an
/// [`AsyncExitStack`](crate::AsyncExitStack), for using it while the stack holds it. Index
/// the stack with it, or use `get` / `get_mut`, which return an
/// [`ErrorKind::Closed`](crate::ErrorKind::Closed) error instead of panicking once the
/// stack has been closed (or emptied by `pop_all` into another stack, which the handle then
/// reaches instead).
///
/// ```
/// use tenure::close::Dropping;
/// let mut stack = tenure::ExitStack::new();
/// let h = stack.enter(Dropping(String::from("conn")));
/// stack[h].push_str("-1");
/// assert_eq!(*stack[h], "conn-1");
/// ```
pub struct Handle<R> {
    stack: u64,
    index: usize,
    ty: PhantomData<fn() -> R>,
}

/// Hands out ids that tie [`Handle`]s to one stack's current contents (0 is "none yet").
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<R: 'static> Handle<R> {
    /// A handle to entry `index` of the stack whose id is `*id`, giving the stack an id
    /// first if it has none.
    pub(crate) fn issue(id: &mut u64, index: usize) -> Self {
        if *id == 0 {
            *id = next_id();
        }
        Handle {
            stack: *id,
            index,
            ty: PhantomData,
        }
    }

    /// The resource, if the stack whose id is `id` still holds it; `slot` finds an entry's
    /// resource by index.
    pub(crate) fn resolve<'s>(
        self,
        id: u64,
        slot: impl FnOnce(usize) -> Option<&'s dyn Any>,
    ) -> Result<&'s R, Error> {
        (self.stack == id)
            .then(|| slot(self.index))
            .flatten()
            .and_then(|any| any.downcast_ref::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }

    /// [`resolve`](Self::resolve), mutably.
    pub(crate) fn resolve_mut<'s>(
        self,
        id: u64,
        slot: impl FnOnce(usize) -> Option<&'s mut dyn Any>,
    ) -> Result<&'s mut R, Error> {
        (self.stack == id)
            .then(|| slot(self.index))
            .flatten()
            .and_then(|any| any.downcast_mut::<R>())
            .ok_or_else(|| Error::closed(type_name::<R>()))
    }

    /// What indexing a stack with a stale handle panics with.
    pub(crate) fn stale(self, stack: &str) -> ! {
        panic!("{self:?} used after its {stack} was closed or emptied by pop_all")
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
