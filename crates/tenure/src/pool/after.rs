//! What a step under the state lock leaves to do once the lock is released: the wakes, the
//! jobs to start (create, validate, reset, close, retry), the leak reports, and whether to
//! wake a [`Relay`]. `work.rs` runs it.

use std::panic::Location;
use std::task::Waker;
use std::time::Duration;

use super::manager::Manager;
use super::shard::{Conn, Leaked};
use super::stats::Retire;
use super::waiters::Wake;

/// A few values inline, more on the heap: a handoff's wakes (the waiter and a relay) and
/// a return's job allocate nothing.
pub(super) struct Few<T> {
    first: Option<T>,
    second: Option<T>,
    more: Vec<T>,
}

impl<T> Few<T> {
    const fn new() -> Self {
        Few {
            first: None,
            second: None,
            more: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, value: T) {
        if self.first.is_none() {
            self.first = Some(value);
        } else if self.second.is_none() {
            self.second = Some(value);
        } else {
            self.more.push(value);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Whether anything went to the heap.
    pub(super) fn allocated(&self) -> bool {
        self.more.capacity() != 0
    }

    /// Calls `f` on each value in the order they came, leaving it empty (in place: no
    /// iterator built over the three parts and dropped after).
    pub(super) fn drain_each(&mut self, mut f: impl FnMut(T)) {
        if let Some(v) = self.first.take() {
            f(v);
        }
        if let Some(v) = self.second.take() {
            f(v);
        }
        if !self.more.is_empty() {
            self.more.drain(..).for_each(f);
        }
    }
}

impl<T> Extend<T> for Few<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }
}

/// Work to start and wakes to call once the lock is released.
pub(super) struct After<M: Manager> {
    pub(super) jobs: Few<Job<M>>,
    pub(super) wakes: Few<Wake>,
    pub(super) leaks: Vec<Leaked>,
    /// Wake a relay after the wakes (see [`Relay`]).
    pub(super) relay: bool,
}

impl<M: Manager> After<M> {
    pub(super) fn new() -> Self {
        After {
            jobs: Few::new(),
            wakes: Few::new(),
            leaks: Vec::new(),
            relay: false,
        }
    }

    /// Nothing to do after the step: no wake, no job, no report.
    pub(super) fn is_empty(&self) -> bool {
        self.wakes.is_empty() && self.jobs.is_empty() && self.leaks.is_empty()
    }
}

/// Where a caller called `get` (its `#[track_caller]` location).
pub(super) type Site = &'static Location<'static>;

/// A piece of the pool's own work.
pub(super) enum Job<M: Manager> {
    Create,
    /// Once the backoff after a failed create has passed, start the creates that waiters
    /// still need (nothing else might: a lease out keeps them from failing fast).
    RetryAfter(Duration),
    /// A validation, for the caller of `get` at the site (the oldest waiter no check
    /// served yet).
    Validate(Conn<M::Resource>, Option<Site>),
    /// A reset, of a resource returned by the lease taken at the site.
    Reset(Conn<M::Resource>, Site),
    Close(Conn<M::Resource>, Retire),
}

/// How many relays a pool on a multi-thread runtime keeps: one per handoff that a task can
/// make in one poll before the next relay has run again.
pub(super) const RELAYS: usize = 2;

/// A relay: a task that does nothing when polled but say it is idle again. Woken right
/// after a waiter that a runtime worker woke (see `Shared::deliver`), it takes that
/// worker's LIFO slot, which moves the waiter to the worker's stealable queue with a
/// notification that wakes an idle worker (tokio #4941, #8100). Idle relays are found
/// without the pool's lock: a flag and the task's waker, kept once.
#[derive(Default)]
pub(super) struct Relay {
    #[cfg_attr(loom, allow(dead_code))] // loom models have no relays
    pub(super) idle: std::sync::atomic::AtomicBool,
    pub(super) waker: std::sync::OnceLock<Waker>,
    pub(super) done: std::sync::atomic::AtomicBool,
}

/// The relays for a pool on `runtime`: none unless it is a multi-thread runtime (one
/// thread has nothing to steal).
pub(super) fn relays(runtime: Option<&tokio::runtime::Handle>) -> Vec<std::sync::Arc<Relay>> {
    match runtime {
        Some(rt)
            if !cfg!(loom) && rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread =>
        {
            (0..RELAYS).map(|_| Default::default()).collect()
        }
        _ => Vec::new(),
    }
}

impl Relay {
    /// Ends the relay's task (the pool closed).
    pub(super) fn end(&self) {
        self.done.store(true, std::sync::atomic::Ordering::Release);
        if let Some(w) = self.waker.get() {
            w.wake_by_ref();
        }
    }
}
