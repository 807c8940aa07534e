//! [`Anchor`]s: what an acquire and a lease hold to keep the pool's engine alive — one per
//! shard index, each holding the engine, so that a get and a return on one thread count
//! themselves on that thread's anchor instead of on the engine's own reference count,
//! which every thread would write (one cache line passed between the cores on every
//! operation).

use crate::sync::Arc;

use super::manager::Manager;
use super::shard::index_here;
use super::state::Shared;

/// A holder of the engine: cloned (its count raised) by an acquire or a lease of the
/// threads of one shard index. Aligned so that its count (the `Arc`'s, before it) has its
/// cache lines to itself.
#[repr(align(128))]
pub(super) struct Anchor<M: Manager> {
    pub(super) shared: Arc<Shared<M>>,
}

/// A pool's anchors, one per shard index (a power of two of them): each `Pool` handle
/// holds them all (a clone of the handle clones them), so the calling thread's is two
/// loads away from the handle.
pub(super) struct Anchors<M: Manager> {
    each: Box<[Arc<Anchor<M>>]>,
}

impl<M: Manager> Anchors<M> {
    /// `n` anchors of `shared` (`n` a power of two: the pool's shard count).
    pub(super) fn new(shared: &Arc<Shared<M>>, n: usize) -> Self {
        debug_assert!(n.is_power_of_two());
        Anchors {
            each: (0..n)
                .map(|_| {
                    Arc::new(Anchor {
                        shared: shared.clone(),
                    })
                })
                .collect(),
        }
    }

    /// The calling thread's anchor, cloned.
    #[inline]
    pub(super) fn here(&self) -> Arc<Anchor<M>> {
        self.each[index_here(self.each.len())].clone()
    }
}

impl<M: Manager> Clone for Anchors<M> {
    fn clone(&self) -> Self {
        Anchors {
            each: self.each.clone(),
        }
    }
}
