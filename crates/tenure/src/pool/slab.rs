//! A slab of reused slots: a value is reached by the [`Key`] its insert returned until it
//! is removed; a removed slot's generation moves on, so an old key reaches nothing. The free
//! slots form a list through the slots themselves (one vector, no allocation in the steady
//! state). The pool's two tables are slabs: its waiters and each shard's leases out.

/// Where a value sits: its slot and that slot's generation when it was inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key {
    index: u32,
    generation: u32,
}

enum Entry<T> {
    Full(u32, T),
    /// Free, with its next generation and the next free slot.
    Free(u32, u32),
}

pub(super) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// The first free slot, or [`Slab::NONE`].
    free: u32,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Self::NONE,
        }
    }
}

impl<T> Slab<T> {
    const NONE: u32 = u32::MAX;

    pub(super) fn insert(&mut self, value: T) -> Key {
        let index = self.free;
        if index == Self::NONE {
            self.entries.push(Entry::Full(0, value));
            return Key {
                index: (self.entries.len() - 1) as u32,
                generation: 0,
            };
        }
        let entry = &mut self.entries[index as usize];
        let Entry::Free(generation, next) = *entry else {
            unreachable!("the free list holds free slots only")
        };
        *entry = Entry::Full(generation, value);
        self.free = next;
        Key { index, generation }
    }

    pub(super) fn get(&self, key: Key) -> Option<&T> {
        match self.entries.get(key.index as usize) {
            Some(Entry::Full(g, v)) if *g == key.generation => Some(v),
            _ => None,
        }
    }

    pub(super) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.entries.get_mut(key.index as usize) {
            Some(Entry::Full(g, v)) if *g == key.generation => Some(v),
            _ => None,
        }
    }

    /// Takes the value out; its slot is free for the next insert.
    pub(super) fn remove(&mut self, key: Key) -> Option<T> {
        self.get(key)?;
        let next = Entry::Free(key.generation.wrapping_add(1), self.free);
        let Entry::Full(_, value) = std::mem::replace(&mut self.entries[key.index as usize], next)
        else {
            unreachable!("checked above")
        };
        self.free = key.index;
        Some(value)
    }

    /// The values held, in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Full(_, v) => Some(v),
            Entry::Free(..) => None,
        })
    }

    /// The values held, in slot order.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().filter_map(|e| match e {
            Entry::Full(_, v) => Some(v),
            Entry::Free(..) => None,
        })
    }

    /// Slots held or free (what the slab has grown to).
    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_slot_is_reused_and_its_old_key_reaches_nothing() {
        let mut s = Slab::default();
        let a = s.insert('a');
        let b = s.insert('b');
        assert_eq!(s.remove(a), Some('a'));
        assert_eq!(s.remove(a), None, "removed once");
        let c = s.insert('c');
        assert_eq!(s.slots(), 2, "a's slot was reused");
        assert_ne!(a, c, "a new generation");
        assert_eq!((s.get(a), s.get(c)), (None, Some(&'c')));
        assert_eq!(s.iter().copied().collect::<String>(), "cb");
        assert_eq!(s.remove(b), Some('b'));
    }
}
