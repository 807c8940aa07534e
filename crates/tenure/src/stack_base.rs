//! The bookkeeping both stacks share, once (CPython's `_BaseExitStack`):
//! [`ExitStack`](crate::ExitStack) and [`AsyncExitStack`](crate::AsyncExitStack) keep their
//! entries in an [`Entries`] — the list, the id their [`Handle`]s carry, the name
//! [`named`](crate::ExitStack::named) gave the next entry — and differ only in what an entry
//! is and how they drive it. The rules those entries run under live in
//! [`crate::exit_rules`].

use std::any::Any;
use std::borrow::Cow;
use std::panic::Location;

use crate::error::Error;
use crate::exit_rules::Name;
use crate::handle::Handle;

/// An entry that may hold a resource a [`Handle`] reaches.
pub(crate) trait Slot {
    fn resource_ref(&self) -> Option<&dyn Any>;
    fn resource_mut(&mut self) -> Option<&mut dyn Any>;
}

/// A stack's entries, in push order (run last first), with what ties handles and names to
/// them.
pub(crate) struct Entries<E> {
    list: Vec<E>,
    /// 0 until a handle is issued; then the id those handles carry. Whatever moves the
    /// entries away resets it, so older handles give `ErrorKind::Closed`.
    id: u64,
    /// The name `named` gave the next entry; every push takes it, used or not.
    next_name: Option<Cow<'static, str>>,
}

impl<E> Entries<E> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Entries {
            list: Vec::with_capacity(capacity),
            id: 0,
            next_name: None,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Names the entry pushed next.
    pub(crate) fn name_next(&mut self, name: Cow<'static, str>) {
        self.next_name = Some(name);
    }

    /// The name given to the entry being pushed, if any (taken: it names one entry).
    #[inline]
    pub(crate) fn take_given_name(&mut self) -> Option<Cow<'static, str>> {
        self.next_name.take()
    }

    /// The next entry's name: the one given with `named`, else what `ty` and `at` say.
    pub(crate) fn take_name(
        &mut self,
        ty: Option<&'static str>,
        at: &'static Location<'static>,
    ) -> Name {
        Name::new(self.next_name.take(), ty, at)
    }

    /// Pushes an entry that carries no name of its own (a rule): a pending name is dropped,
    /// so that it cannot land on a later entry.
    #[inline]
    pub(crate) fn push_unnamed(&mut self, entry: E) {
        self.next_name = None;
        self.list.push(entry);
    }

    /// Pushes an entry that already took its name.
    #[inline]
    pub(crate) fn push(&mut self, entry: E) {
        self.list.push(entry);
    }

    /// Pushes an entry holding a resource and hands out the handle that reaches it.
    pub(crate) fn push_resource<R: 'static>(&mut self, entry: E) -> Handle<R> {
        self.list.push(entry);
        Handle::issue(&mut self.id, self.list.len() - 1)
    }

    /// Moves `inner`'s entries onto these, in order; `inner`'s handles go stale.
    pub(crate) fn splice(&mut self, inner: &mut Entries<E>) {
        self.next_name = None;
        self.list.append(&mut inner.list);
        inner.id = 0;
    }

    /// Moves every entry (and the handles' id: they keep working) into a new set and leaves
    /// this one empty.
    pub(crate) fn pop_all(&mut self) -> Entries<E> {
        Entries {
            list: std::mem::take(&mut self.list),
            id: std::mem::take(&mut self.id),
            next_name: None,
        }
    }

    /// Takes the entries out to run them: every handle goes stale, a pending name is
    /// dropped. Give the emptied list back with [`restore`](Self::restore).
    pub(crate) fn take_to_run(&mut self) -> Vec<E> {
        self.id = 0;
        self.next_name = None;
        std::mem::take(&mut self.list)
    }

    /// Gives back the (emptied) list that [`take_to_run`](Self::take_to_run) took, so its
    /// allocation is reused.
    pub(crate) fn restore(&mut self, list: Vec<E>) {
        debug_assert!(list.is_empty() && self.list.is_empty());
        self.list = list;
    }
}

impl<E: Slot> Entries<E> {
    /// The resource behind `handle`, or an `ErrorKind::Closed` error.
    pub(crate) fn get<R: 'static>(&self, handle: Handle<R>) -> Result<&R, Error> {
        handle.resolve(self.id, |i| self.list.get(i)?.resource_ref())
    }

    /// [`get`](Self::get), mutably.
    pub(crate) fn get_mut<R: 'static>(&mut self, handle: Handle<R>) -> Result<&mut R, Error> {
        let list = &mut self.list;
        handle.resolve_mut(self.id, |i| list.get_mut(i)?.resource_mut())
    }
}
