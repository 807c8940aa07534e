//! The pool's state and the rules that move resources between idle, lent, waiting callers,
//! and the work (create, validate, reset, close) the pool runs on its own behalf.
//!
//! The state lock (`parking_lot`'s, see `crate::sync::StateLock`) guards the pool's
//! state — size, waiters, creates, checks, retirements, close; every wake and every job is
//! started after it is released. The steady state (a resource lent at once and taken back
//! with nobody waiting) runs on the calling thread's [`Shard`] instead, under that
//! shard's own lock, while the [`Gate`] is open.
//! `size` counts every resource that exists — idle, lent, handed to a waiter, being
//! created, validated, reset or closed — so `max_size` bounds them all.

use crate::sync::{Arc, AtomicUsize, StateGuard, StateLock};
use std::panic::Location;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::task::Waker;
use std::time::Duration;

use super::clock::{Clock, Instant};
use super::error::{PoolError, Status};
use super::manager::{Checked, Manager, Work};
use super::waiters::{Deadline, Waiters, Wake};
use super::{PoolConfig, Statistics, Validation};
use crate::error::{BoxError, Error};
use crate::sink::{DropReport, SharedSink};

/// A resource and its times.
pub(super) struct Conn<R> {
    pub(super) resource: R,
    pub(super) expires_at: Option<Instant>,
    pub(super) idle_since: Instant,
}

/// Why a resource is retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retire {
    Broken,
    Expired,
    IdleTimeout,
    Invalid,
    ResetFailed,
    Panicked,
    Resized,
    Closed,
    Discarded,
}

/// A lease out: where and when it was taken, and whether it was reported as a leak.
pub(super) struct Held {
    pub(super) site: &'static Location<'static>,
    pub(super) since: Instant,
    pub(super) reported: bool,
}

/// The leases out, in a slab of reused slots (no allocation in the steady state): what the
/// leak detector scans. A lease keeps its slot's index; the free slots form a list through
/// the slots themselves.
pub(super) struct Leases {
    slots: Vec<Slot>,
    /// The first free slot, or [`Leases::NONE`].
    free: u32,
}

enum Slot {
    Held(Held),
    /// Free; the next free slot.
    Free(u32),
}

impl Default for Leases {
    fn default() -> Self {
        Leases {
            slots: Vec::new(),
            free: Self::NONE,
        }
    }
}

impl Leases {
    const NONE: u32 = u32::MAX;

    pub(super) fn insert(&mut self, held: Held) -> u32 {
        let i = self.free;
        if i == Self::NONE {
            self.slots.push(Slot::Held(held));
            return (self.slots.len() - 1) as u32;
        }
        match std::mem::replace(&mut self.slots[i as usize], Slot::Held(held)) {
            Slot::Free(next) => self.free = next,
            Slot::Held(_) => unreachable!("the free list holds free slots only"),
        }
        i
    }

    pub(super) fn remove(&mut self, i: u32) -> Held {
        match std::mem::replace(&mut self.slots[i as usize], Slot::Free(self.free)) {
            Slot::Held(held) => {
                self.free = i;
                held
            }
            Slot::Free(_) => panic!("a lease's slot is taken until it returns"),
        }
    }

    /// Marks and returns the leases held at least `threshold` and not yet reported.
    fn overdue(&mut self, now: Instant, threshold: Duration, out: &mut Vec<Leaked>) {
        for slot in &mut self.slots {
            let Slot::Held(held) = slot else { continue };
            let for_ = now.saturating_duration_since(held.since);
            if !held.reported && for_ >= threshold {
                held.reported = true;
                out.push(Leaked {
                    site: held.site,
                    held: for_,
                    returned: false,
                });
            }
        }
    }
}

/// A leak report to make once the lock is released.
pub(super) struct Leaked {
    pub(super) site: &'static Location<'static>,
    pub(super) held: Duration,
    pub(super) returned: bool,
}

pub(super) struct State<M: Manager> {
    pub(super) idle: Vec<Conn<M::Resource>>,
    pub(super) size: usize,
    pub(super) creating: usize,
    /// Validations and resets under way (their resources are counted in `size`).
    pub(super) checking: usize,
    /// Resources handed to a waiter that has not picked its up yet (a lease's resource
    /// counts in its shard's `in_use`).
    pub(super) in_use: usize,
    /// Retired resources being closed (still counted in `size`).
    pub(super) closing: usize,
    pub(super) waiters: Waiters<Conn<M::Resource>, PoolError<M::Error>>,
    pub(super) closed: bool,
    pub(super) max_size: usize,
    pub(super) last_error: Option<std::sync::Arc<M::Error>>,
    pub(super) failures_in_a_row: u32,
    pub(super) next_create_at: Option<Instant>,
    /// `close()` callers waiting for `size` to reach 0.
    pub(super) drained: Vec<Waker>,
    /// A [`Job::RetryAfter`] is pending.
    pub(super) retry_armed: bool,
    /// The pool's timer task (see [`start_timer`]): the deadline it sleeps until, and its
    /// waker while it sleeps.
    pub(super) timer_at: Option<tokio::time::Instant>,
    pub(super) timer_waker: Option<Waker>,
    pub(super) stats: Statistics,
    /// A counter that gives each resource its own lifetime jitter.
    pub(super) created_total: u64,
}

pub(super) struct Shared<M: Manager> {
    pub(super) manager: M,
    pub(super) config: PoolConfig,
    pub(super) runtime: Option<tokio::runtime::Handle>,
    pub(super) sink: Option<SharedSink>,
    pub(super) clock: Clock,
    /// The relay tasks (a multi-thread runtime's pool only).
    pub(super) relays: Vec<std::sync::Arc<Relay>>,
    /// `Pool` handles alive; the last one dropped closes the pool (leases do not count).
    pub(super) handles: AtomicUsize,
    #[cfg(feature = "metrics")]
    pub(super) metrics: super::metrics::Handles,
    /// 0 while the shards' fast paths may lend and take back on their own: nobody waits,
    /// the pool is open and within its size. Set under the state lock (see [`Locked`]).
    pub(super) gate: Gate,
    pub(super) state: StateLock<State<M>>,
    /// The per-thread fast paths (see [`Shard`]).
    pub(super) shards: Box<[Shard<M::Resource>]>,
}

/// [`Shared::gate`], on a cache line of its own: read by every fast path, written only
/// when the pool leaves or enters its steady state.
#[repr(align(128))]
pub(super) struct Gate(AtomicUsize);

impl Gate {
    pub(super) fn new() -> Self {
        Gate(AtomicUsize::new(0))
    }

    fn open(&self) -> bool {
        self.0.load(SeqCst) == 0
    }

    fn set(&self, closed: bool) {
        let v = usize::from(closed);
        if self.0.load(Relaxed) != v {
            self.0.store(v, SeqCst);
        }
    }
}

/// One shard of the pool's steady state: a cache of idle resources, the leases lent from
/// it and their counters, under a lock of its own, on cache lines of its own. Each thread
/// uses one shard (by a per-thread index), so two runtime workers that lend and take back
/// at once do not pass one lock and its data between their cores.
///
/// The rule that keeps it fair: a shard lends from its cache and takes a resource back
/// into it only while [`Shared::gate`] is open, read under the shard's lock. Everything
/// else — waiters, creates, checks, retirements, close, resize, maintenance — goes
/// through the state lock, and whatever needs the idle set whole first closes the gate and
/// then moves every shard's cache into it ([`Shared::flush`]), taking each shard's lock: a
/// return that saw the gate open finished its push before that lock was taken (so the
/// flush finds it), and one after it sees the gate closed (and goes the slow way). So no
/// resource sits in a shard while anyone waits, and a newcomer never takes one ahead of a
/// waiter. Lock order: the state lock, then a shard's.
#[repr(align(128))]
pub(super) struct Shard<R> {
    pub(super) state: StateLock<ShardState<R>>,
}

pub(super) struct ShardState<R> {
    pub(super) idle: Vec<Conn<R>>,
    pub(super) leases: Leases,
    /// Leases out from this shard.
    pub(super) in_use: usize,
    pub(super) acquired_direct: u64,
    pub(super) leaks: u64,
    pub(super) hold_time: super::stats::Durations,
}

impl<R> Shard<R> {
    pub(super) fn new() -> Self {
        Shard {
            state: StateLock::new(ShardState {
                idle: Vec::new(),
                leases: Leases::default(),
                in_use: 0,
                acquired_direct: 0,
                leaks: 0,
                hold_time: Default::default(),
            }),
        }
    }

    pub(super) fn lock(&self) -> StateGuard<'_, ShardState<R>> {
        self.state.lock()
    }
}

/// How many shards a pool has: twice the machine's parallelism (so that runtime workers,
/// given consecutive thread indices, seldom share one), a power of two, at most 32.
pub(super) fn shard_count() -> usize {
    if cfg!(loom) {
        return 2;
    }
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * n).next_power_of_two().min(32)
}

/// The shard index of the calling thread (taken modulo a pool's shard count): threads are
/// numbered in the order they first use a pool.
#[cfg(not(loom))]
pub(super) fn thread_index() -> usize {
    use std::cell::Cell;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        // Const-initialised and without drop glue: a plain thread-local load, usable from
        // any other thread-local's `Drop`.
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|i| match i.get() {
        usize::MAX => {
            let n = NEXT.fetch_add(1, Relaxed) % (usize::MAX / 2);
            i.set(n);
            n
        }
        n => n,
    })
}

/// Under loom, loom's thread number (0 for a model's main thread, then 1, 2, … in the
/// order it spawns them): with two shards, a model's main thread and its second thread
/// share shard 0 and its first thread has shard 1, in every execution.
#[cfg(loom)]
pub(super) fn thread_index() -> usize {
    let id = format!("{:?}", loom::thread::current().id()); // "ThreadId(N)"
    id.trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .expect("loom's ThreadId prints as ThreadId(N)")
}

/// The state lock held: when it is let go, the gate is set from the state (see
/// [`Shard`]).
pub(super) struct Locked<'a, M: Manager> {
    guard: StateGuard<'a, State<M>>,
    gate: &'a Gate,
}

impl<M: Manager> std::ops::Deref for Locked<'_, M> {
    type Target = State<M>;
    fn deref(&self) -> &State<M> {
        &self.guard
    }
}

impl<M: Manager> std::ops::DerefMut for Locked<'_, M> {
    fn deref_mut(&mut self) -> &mut State<M> {
        &mut self.guard
    }
}

impl<M: Manager> Drop for Locked<'_, M> {
    fn drop(&mut self) {
        let st = &*self.guard;
        let steady = st.waiters.waiting() == 0 && !st.closed && st.size - st.closing <= st.max_size;
        self.gate.set(!steady);
    }
}

/// Where a lease is recorded: its shard and its slot in that shard's lease table.
pub(super) type LeaseAt = (u32, u32);

/// What an acquire does next.
pub(super) enum Step<M: Manager> {
    /// Lent at once: the resource, and its shard and lease slot.
    Ready(Conn<M::Resource>, LeaseAt),
    Wait(super::waiters::Ticket),
    Fail(PoolError<M::Error>),
}

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

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

impl<T> Extend<T> for Few<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, values: I) {
        for v in values {
            self.push(v);
        }
    }
}

impl<T> IntoIterator for Few<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<
        std::iter::Chain<std::option::IntoIter<T>, std::option::IntoIter<T>>,
        std::vec::IntoIter<T>,
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.second).chain(self.more)
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

pub(super) enum Job<M: Manager> {
    Create,
    /// Once the backoff after a failed create has passed, start the creates that waiters
    /// still need (nothing else might: a lease out keeps them from failing fast).
    RetryAfter(Duration),
    Validate(Conn<M::Resource>),
    Reset(Conn<M::Resource>),
    Close(Conn<M::Resource>, Retire),
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
}

impl<M: Manager> Shared<M> {
    pub(super) fn lock(&self) -> Locked<'_, M> {
        Locked {
            guard: self.state.lock(),
            gate: &self.gate,
        }
    }

    /// The calling thread's shard and its index.
    #[inline]
    pub(super) fn shard_here(&self) -> (u32, &Shard<M::Resource>) {
        let i = thread_index() & (self.shards.len() - 1);
        (i as u32, &self.shards[i])
    }

    /// Closes the gate and moves every shard's cache into the idle set (see [`Shard`]):
    /// what a caller that needs the idle set whole, or may queue, does first.
    pub(super) fn flush(&self, st: &mut State<M>) {
        // Already closed: it closed in a flush (a waiter, a close and a resize each flush
        // first), and no shard has taken a resource back since.
        if self.gate.0.load(Relaxed) != 0 {
            return;
        }
        self.gate.0.store(1, SeqCst);
        for shard in self.shards.iter() {
            st.idle.append(&mut shard.lock().idle);
        }
    }

    /// The fast path of an acquire: the calling thread's shard lends the resource on top
    /// of its cache, if the gate is open and that resource needs no check. `None`: take
    /// the slow path ([`Shared::begin`]).
    #[inline]
    pub(super) fn try_lend(
        &self,
        now: Instant,
        site: &'static Location<'static>,
    ) -> Option<(Conn<M::Resource>, LeaseAt)> {
        let (i, shard) = self.shard_here();
        let mut ss = shard.lock();
        let conn = ss.idle.last()?;
        // (A resource is in a shard's cache only while the gate stayed open since it was
        // put there; the gate is checked anyway, so that this path stands on its own.)
        if !self.gate.open()
            || self.expired(conn, now)
            || self.idle_too_long(conn, now)
            || self.needs_validation(conn, now)
        {
            return None;
        }
        let conn = ss.idle.pop()?;
        ss.acquired_direct += 1;
        let slot = Self::lend(&mut ss, site, now);
        Some((conn, (i, slot)))
    }

    /// The fast path of a clean return: back into the lease's shard's cache if the gate
    /// is open (read under the shard's lock: see [`Shard`]). `Err` gives the resource back
    /// for the slow path.
    #[inline]
    pub(super) fn try_take_back(
        &self,
        shard: u32,
        slot: u32,
        mut conn: Conn<M::Resource>,
        now: Instant,
    ) -> Result<(), Conn<M::Resource>> {
        let leak = {
            let mut ss = self.shards[shard as usize].lock();
            if !self.gate.open() {
                return Err(conn);
            }
            let leak = self.end_lease(&mut ss, slot, now);
            conn.idle_since = now;
            ss.idle.push(conn);
            leak
        };
        if let Some(leak) = leak {
            self.report_leak(leak);
        }
        Ok(())
    }

    /// Ends lease `slot` of a shard: its hold time recorded, and a leak report if it was
    /// held past `leak_threshold`.
    pub(super) fn end_lease(
        &self,
        ss: &mut ShardState<M::Resource>,
        slot: u32,
        now: Instant,
    ) -> Option<Leaked> {
        ss.in_use -= 1;
        let held = ss.leases.remove(slot);
        let hold = now.saturating_duration_since(held.since);
        ss.hold_time.record(hold);
        #[cfg(feature = "metrics")]
        self.metrics.hold(hold);
        if self.config.leak_threshold.is_some_and(|t| hold >= t) {
            if !held.reported {
                ss.leaks += 1;
            }
            return Some(Leaked {
                site: held.site,
                held: hold,
                returned: true,
            });
        }
        None
    }

    /// Lends on the calling thread's shard (the state lock held); the shard and slot.
    pub(super) fn lend_here(&self, site: &'static Location<'static>, now: Instant) -> LeaseAt {
        let (i, shard) = self.shard_here();
        (i, Self::lend(&mut shard.lock(), site, now))
    }

    /// The statistics, every shard's merged in, settled for a snapshot.
    pub(super) fn statistics_of(&self, st: &State<M>) -> Statistics {
        let mut s = st.stats.clone();
        for shard in self.shards.iter() {
            let ss = shard.lock();
            s.acquired_direct += ss.acquired_direct;
            s.leaks += ss.leaks;
            s.hold_time.merge(&ss.hold_time);
        }
        s.snapshot()
    }

    pub(super) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether the pool's timer task bounds async waits (it runs on the pool's runtime);
    /// without one, each waiting `Acquire` arms a timer of its own.
    pub(super) fn times_async_waits(&self) -> bool {
        self.runtime.is_some() && !cfg!(loom)
    }

    /// Registers a lease taken at `site` now on a shard; its slot index.
    pub(super) fn lend(
        ss: &mut ShardState<M::Resource>,
        site: &'static Location<'static>,
        now: Instant,
    ) -> u32 {
        ss.in_use += 1;
        ss.leases.insert(Held {
            site,
            since: now,
            reported: false,
        })
    }

    pub(super) fn status_of(&self, st: &State<M>) -> Status {
        let (mut idle, mut in_use) = (st.idle.len(), st.in_use);
        for shard in self.shards.iter() {
            let ss = shard.lock();
            idle += ss.idle.len();
            in_use += ss.in_use;
        }
        Status {
            size: st.size,
            idle,
            in_use,
            waiting: st.waiters.waiting(),
            max_size: st.max_size,
        }
    }

    pub(super) fn expired(&self, c: &Conn<M::Resource>, now: Instant) -> bool {
        c.expires_at.is_some_and(|t| now >= t)
    }

    fn idle_too_long(&self, c: &Conn<M::Resource>, now: Instant) -> bool {
        self.config
            .idle_timeout
            .is_some_and(|t| now.saturating_duration_since(c.idle_since) >= t)
    }

    fn needs_validation(&self, c: &Conn<M::Resource>, now: Instant) -> bool {
        match self.config.validation {
            Validation::Never => false,
            Validation::Always => true,
            Validation::IdleLongerThan(w) => now.saturating_duration_since(c.idle_since) > w,
            #[allow(unreachable_patterns)]
            _ => true,
        }
    }

    /// The first step of an acquire: an idle resource if nobody waits ahead (no barging),
    /// else a place in the queue — starting a create if demand exceeds what is coming.
    pub(super) fn begin(
        &self,
        now: Instant,
        wake: impl FnOnce() -> (Wake, Option<Deadline>),
        site: &'static Location<'static>,
        after: &mut After<M>,
    ) -> Step<M> {
        let mut st = self.lock();
        if st.closed {
            return Step::Fail(PoolError::Closed);
        }
        if st.waiters.waiting() == 0 {
            self.flush(&mut st);
            while let Some(conn) = st.idle.pop() {
                if self.expired(&conn, now) {
                    self.retire(&mut st, conn, Retire::Expired, after);
                } else if self.idle_too_long(&conn, now) {
                    self.retire(&mut st, conn, Retire::IdleTimeout, after);
                } else if self.needs_validation(&conn, now) {
                    // Validated by the pool on its own behalf; the result goes to the
                    // oldest waiter — this caller, queued just below, unless others came.
                    st.checking += 1;
                    after.jobs.push(Job::Validate(conn));
                    break;
                } else {
                    st.stats.acquired_direct += 1;
                    return Step::Ready(conn, self.lend_here(site, now));
                }
            }
        }
        if st.waiters.waiting() >= self.config.max_waiters {
            st.stats.refused += 1;
            return Step::Fail(PoolError::Saturated {
                max_waiters: self.config.max_waiters,
            });
        }
        self.maybe_create(&mut st, now, 1, after);
        if let Some(e) = self.unavailable(&st, now) {
            return Step::Fail(e);
        }
        let (wake, deadline) = wake();
        if let Some((at, _)) = deadline {
            // A deadline earlier than the timer's: wake it to sleep less.
            if st.timer_at.is_none_or(|t| at < t) {
                st.timer_at = Some(at);
                if let Some(w) = st.timer_waker.take() {
                    after.wakes.push(Wake::Task(w));
                }
            }
        }
        Step::Wait(st.waiters.push(wake, deadline))
    }

    /// Nothing idle, nothing lent or under way that could come back, and the next create
    /// held back by the backoff: waiting would only end in a timeout.
    fn unavailable(&self, st: &State<M>, now: Instant) -> Option<PoolError<M::Error>> {
        let held = st.next_create_at.filter(|t| *t > now)?;
        let mut coming = st.creating + st.checking + st.in_use + st.idle.len();
        for shard in self.shards.iter() {
            let ss = shard.lock();
            coming += ss.in_use + ss.idle.len();
        }
        match (&st.last_error, coming) {
            (Some(cause), 0) => Some(PoolError::Unavailable {
                cause: cause.clone(),
                retry_in: held - now,
            }),
            _ => None,
        }
    }

    /// Starts creates while demand (waiters, plus `extra` about to wait) exceeds what is
    /// coming, within `max_size`, `max_concurrent_creates` and the backoff.
    pub(super) fn maybe_create(
        &self,
        st: &mut State<M>,
        now: Instant,
        extra: usize,
        after: &mut After<M>,
    ) {
        let demand = st.waiters.waiting() + extra;
        while demand > st.creating + st.checking && self.may_create(st, now) {
            Self::start_create(st, after);
        }
    }

    /// Whether one more create may start now: the pool open, the backoff passed, room
    /// within `max_size` and `max_concurrent_creates`.
    fn may_create(&self, st: &State<M>, now: Instant) -> bool {
        !st.closed
            && st.next_create_at.is_none_or(|t| t <= now)
            && st.size < st.max_size
            && st.creating < self.config.max_concurrent_creates
    }

    /// Starts a create; its slot counts in `size` from now on.
    fn start_create(st: &mut State<M>, after: &mut After<M>) {
        st.size += 1;
        st.creating += 1;
        after.jobs.push(Job::Create);
    }

    /// Hands `conn` to the oldest waiter, else makes it idle (or retires it if the pool
    /// closed or shrank).
    pub(super) fn deliver(
        &self,
        st: &mut State<M>,
        mut conn: Conn<M::Resource>,
        now: Instant,
        after: &mut After<M>,
    ) {
        if st.closed {
            return self.retire(st, conn, Retire::Closed, after);
        }
        if st.size - st.closing > st.max_size {
            return self.retire(st, conn, Retire::Resized, after);
        }
        conn.idle_since = now;
        if st.waiters.waiting() == 0 {
            return st.idle.push(conn); // the steady state
        }
        match st.waiters.serve(conn) {
            Ok(wake) => {
                st.in_use += 1;
                st.stats.acquired_waited += 1;
                let task = matches!(wake, Wake::Task(_));
                after.wakes.push(wake);
                // Woken from a runtime worker, the waiter's task goes to that worker's
                // LIFO slot, which no other worker may steal from: if the waking task keeps
                // the worker busy, the waiter waits for it (tokio #4941, #8100). A relay
                // woken right after takes the slot and pushes the waiter to the worker's
                // stealable queue, with a notification that wakes an idle worker.
                // No relay idle (the pool just started, or they are all on their way):
                // an empty task spawned from here does the same, at an allocation's cost.
                after.relay |= task;
            }
            Err(conn) => st.idle.push(conn),
        }
    }

    /// Retires `conn`: it is closed by the pool, and its slot freed when that is done.
    pub(super) fn retire(
        &self,
        st: &mut State<M>,
        conn: Conn<M::Resource>,
        why: Retire,
        after: &mut After<M>,
    ) {
        st.stats.count_retired(why);
        st.closing += 1;
        after.jobs.push(Job::Close(conn, why));
    }

    /// A new resource's expiry: `max_lifetime` less up to 2.5 %, spread by a counter.
    pub(super) fn expiry(&self, st: &mut State<M>, now: Instant) -> Option<Instant> {
        st.created_total += 1;
        let life = self.config.max_lifetime?;
        // A cheap spread over 0..=2.5 %: a multiplicative hash of the count.
        let spread = (st.created_total.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as u32; // 0..1023
        let jitter = life / 40 * spread / 1023;
        Some(now + (life - jitter))
    }
}

/// Runs what `after` collected: the wakes first, then each job on its way.
#[inline]
pub(super) fn run_after<M: Manager>(shared: &Arc<Shared<M>>, after: After<M>) {
    if after.wakes.is_empty() && after.jobs.is_empty() && after.leaks.is_empty() {
        // The steady state: a lease lent or returned, nothing else to do. Nothing was
        // pushed, so nothing was allocated: skip the drop glue.
        debug_assert!(after.wakes.more.capacity() == 0 && after.jobs.more.capacity() == 0);
        debug_assert!(after.leaks.capacity() == 0);
        std::mem::forget(after);
        return;
    }
    run_after_slow(shared, after);
}

#[inline(never)]
fn run_after_slow<M: Manager>(shared: &Arc<Shared<M>>, after: After<M>) {
    for w in after.wakes {
        w.wake();
    }
    #[cfg(not(loom))]
    if after.relay {
        shared.relay();
    }
    for leak in after.leaks {
        shared.report_leak(leak);
    }
    for job in after.jobs {
        start(shared, job);
    }
}

/// Starts one job; its completion comes back through the lock.
fn start<M: Manager>(shared: &Arc<Shared<M>>, job: Job<M>) {
    match job {
        Job::RetryAfter(wait) => retry_after(shared, wait),
        Job::Create => {
            let work = shared.manager.create();
            let timeout = shared.config.create_timeout;
            run_work(shared, work, Some(timeout), move |s, out| match out {
                Some(Ok(r)) => Shared::created(s, Ok(r)),
                Some(Err(e)) => Shared::created(s, Err(Some(e))),
                None => Shared::created(s, Err(None)),
            });
        }
        Job::Validate(conn) => check(shared, conn, M::validate, None, Retire::Invalid),
        Job::Reset(conn) => {
            let timeout = Some(shared.config.return_timeout);
            check(shared, conn, M::reset, timeout, Retire::ResetFailed)
        }
        Job::Close(conn, why) => {
            let work = shared.manager.close(conn.resource);
            run_work(
                shared,
                work,
                None,
                move |s, out: Option<Result<(), BoxError>>| {
                    Shared::closed_one(s, out.expect("a close is not bounded"), why)
                },
            );
        }
    }
}

/// Runs a check (validate, reset) on `conn`'s resource; the verdict delivers or retires
/// it, and past `timeout` the resource is abandoned with the work.
fn check<M: Manager>(
    shared: &Arc<Shared<M>>,
    conn: Conn<M::Resource>,
    work: fn(&M, M::Resource) -> Checked<M>,
    timeout: Option<Duration>,
    why: Retire,
) {
    let Conn {
        resource,
        expires_at,
        idle_since,
    } = conn;
    let work = work(&shared.manager, resource);
    run_work(shared, work, timeout, move |s, out| match out {
        Some((resource, verdict)) => {
            let conn = Conn {
                resource,
                expires_at,
                idle_since,
            };
            Shared::checked(s, conn, verdict.is_ok(), why);
        }
        None => Shared::abandoned(s),
    });
}

/// Runs `work` where it belongs — inline if ready, a blocking thread if blocking, the
/// runtime if a future (bounded by `timeout`: `None` out when it passed, the future and
/// what it owned dropped) — then `done`.
fn run_work<M: Manager, T: Send + 'static>(
    shared: &Arc<Shared<M>>,
    work: Work<T>,
    timeout: Option<Duration>,
    done: impl FnOnce(&Arc<Shared<M>>, Option<T>) + Send + 'static,
) {
    let s = shared.clone();
    match work {
        Work::Ready(v) => done(&s, Some(v)),
        Work::Blocking(f) => match &shared.runtime {
            Some(rt) => drop(rt.spawn_blocking(move || done(&s, Some(f())))),
            None => spawn_thread("tenure-pool", "its work", move || done(&s, Some(f()))),
        },
        Work::Future(fut) => {
            let task = async move {
                let out = match timeout {
                    Some(t) => tokio::time::timeout(t, fut).await.ok(),
                    None => Some(fut.await),
                };
                done(&s, out);
            };
            match &shared.runtime {
                Some(rt) => drop(rt.spawn(task)),
                None => unreachable!("a pool of an async manager is built with a runtime"),
            }
        }
    }
}

impl<M: Manager> Shared<M> {
    /// A create finished: `Err(None)` when it timed out.
    fn created(this: &Arc<Self>, result: Result<M::Resource, Option<M::Error>>) {
        let now = this.now();
        let mut after = After::new();
        {
            let mut st = this.lock();
            st.creating -= 1;
            match result {
                Ok(resource) => {
                    st.stats.created += 1;
                    st.failures_in_a_row = 0;
                    st.next_create_at = None;
                    let expires_at = this.expiry(&mut st, now);
                    let conn = Conn {
                        resource,
                        expires_at,
                        idle_since: now,
                    };
                    this.deliver(&mut st, conn, now, &mut after);
                }
                Err(e) => {
                    st.size -= 1;
                    st.stats.create_failures += 1;
                    st.failures_in_a_row = st.failures_in_a_row.saturating_add(1);
                    let backoff = backoff(&this.config, st.failures_in_a_row, st.created_total);
                    st.next_create_at = Some(now + backoff);
                    if !st.retry_armed {
                        st.retry_armed = true;
                        after.jobs.push(Job::RetryAfter(backoff));
                    }
                    let error = match e {
                        Some(e) => {
                            let e = std::sync::Arc::new(e);
                            st.last_error = Some(e.clone());
                            PoolError::Create(e)
                        }
                        None => PoolError::CreateTimedOut(this.config.create_timeout),
                    };
                    tracing::warn!(target: "tenure", pool = this.config.name, "{}; next try in {backoff:?}", crate::error::Report::new(&error));
                    if let Ok(w) = st.waiters.fail_oldest(error) {
                        after.wakes.push(w);
                    }
                    // The others fail now too if nothing else can serve them.
                    if let Some(PoolError::Unavailable { cause, retry_in }) =
                        this.unavailable(&st, now)
                    {
                        after
                            .wakes
                            .extend(st.waiters.fail_all(|| PoolError::Unavailable {
                                cause: cause.clone(),
                                retry_in,
                            }));
                    }
                    this.wake_if_drained(&mut st);
                }
            }
            this.maybe_create(&mut st, now, 0, &mut after);
        }
        run_after(this, after);
    }

    /// A validation or reset finished.
    fn checked(this: &Arc<Self>, conn: Conn<M::Resource>, ok: bool, why: Retire) {
        let now = this.now();
        let mut after = After::new();
        {
            let mut st = this.lock();
            st.checking -= 1;
            if ok {
                this.deliver(&mut st, conn, now, &mut after);
            } else {
                this.retire(&mut st, conn, why, &mut after);
            }
            this.maybe_create(&mut st, now, 0, &mut after);
        }
        run_after(this, after);
    }

    /// A reset overran `return_timeout`: its future was dropped, and the resource with it.
    fn abandoned(this: &Arc<Self>) {
        let now = this.now();
        let mut after = After::new();
        {
            let mut st = this.lock();
            st.checking -= 1;
            st.size -= 1;
            st.stats.abandoned += 1;
            this.maybe_create(&mut st, now, 0, &mut after);
            this.wake_if_drained(&mut st);
        }
        crate::sink::emit(
            this.sink.as_ref(),
            DropReport::Cleanup {
                context: "pool: resetting a returned resource",
                error: Error::abandoned("reset before reuse (past return_timeout)"),
            },
        );
        run_after(this, after);
    }

    /// A retired resource's close finished: its slot is free.
    fn closed_one(this: &Arc<Self>, result: Result<(), BoxError>, why: Retire) {
        let now = this.now();
        let mut after = After::new();
        {
            let mut st = this.lock();
            st.size -= 1;
            st.closing -= 1;
            if result.is_err() {
                st.stats.close_failures += 1;
            }
            this.maybe_create(&mut st, now, 0, &mut after);
            this.wake_if_drained(&mut st);
        }
        if let Err(e) = result {
            let context = match why {
                Retire::Closed => "pool: closing a resource (pool closed)",
                _ => "pool: closing a retired resource",
            };
            crate::sink::emit(
                this.sink.as_ref(),
                DropReport::Cleanup {
                    context,
                    error: Error::close(std::any::type_name::<M::Resource>(), e),
                },
            );
        }
        run_after(this, after);
    }

    pub(super) fn wake_if_drained(&self, st: &mut State<M>) {
        if st.closed && st.size == 0 {
            for w in st.drained.drain(..) {
                w.wake();
            }
        }
    }
}

/// The wait after `failures` failed creates in a row: `create_backoff` doubled each time,
/// capped, with up to 25 % jitter.
fn backoff(config: &PoolConfig, failures: u32, salt: u64) -> Duration {
    let base = config
        .create_backoff
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(config.max_create_backoff);
    let spread = ((salt ^ u64::from(failures)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as u32;
    base - base / 4 * spread / 1023
}

impl<M: Manager> Shared<M> {
    /// One round of maintenance (see [`Pool::maintain`](super::Pool::maintain)).
    #[cfg_attr(loom, allow(dead_code))] // the driver's; loom models have none
    pub(super) fn maintain(this: &Arc<Self>) {
        Self::maintain_at(this, this.now());
    }

    /// One round of maintenance as if the pool's clock read `now`.
    pub(super) fn maintain_at(this: &Arc<Self>, now: Instant) {
        let config = &this.config;
        let mut after = After::new();
        {
            let mut st = this.lock();
            this.flush(&mut st);
            let idle = std::mem::take(&mut st.idle);
            for conn in idle {
                if this.expired(&conn, now) {
                    this.retire(&mut st, conn, Retire::Expired, &mut after);
                } else if this.idle_too_long(&conn, now) && st.idle.len() >= config.min_idle {
                    this.retire(&mut st, conn, Retire::IdleTimeout, &mut after);
                } else {
                    st.idle.push(conn);
                }
            }
            let want = config.min_idle.saturating_sub(st.idle.len() + st.creating);
            for _ in 0..want {
                if !this.may_create(&st, now) {
                    break;
                }
                Self::start_create(&mut st, &mut after);
            }
            if let Some(threshold) = config.leak_threshold {
                for shard in this.shards.iter() {
                    shard
                        .lock()
                        .leases
                        .overdue(now, threshold, &mut after.leaks);
                }
                st.stats.leaks += after.leaks.len() as u64;
            }
            #[cfg(feature = "metrics")]
            this.metrics
                .publish(&this.status_of(&st), &this.statistics_of(&st));
        }
        run_after(this, after);
    }

    /// Closes the pool: refuses new acquires, fails the waiters, retires the idle resources
    /// (lent ones are retired as they come back).
    pub(super) fn begin_close(this: &Arc<Self>) {
        let mut after = After::new();
        {
            let mut st = this.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            after
                .wakes
                .extend(st.waiters.fail_all(|| PoolError::Closed));
            if let Some(w) = st.timer_waker.take() {
                after.wakes.push(Wake::Task(w)); // to see the close and end
            }
            this.end_relays();
            this.flush(&mut st);
            for conn in std::mem::take(&mut st.idle) {
                this.retire(&mut st, conn, Retire::Closed, &mut after);
            }
            this.wake_if_drained(&mut st);
        }
        tracing::debug!(target: "tenure", pool = this.config.name, "pool closed");
        run_after(this, after);
    }

    /// Hands a leak report to the sink.
    fn report_leak(&self, leak: Leaked) {
        crate::sink::emit(
            self.sink.as_ref(),
            DropReport::LeaseHeldTooLong {
                context: self.config.name,
                site: leak.site,
                held: leak.held,
                threshold: self.config.leak_threshold.unwrap_or_default(),
                returned: leak.returned,
            },
        );
    }
}

/// Starts the background driver: [`Shared::maintain`] every `maintenance_interval`, on the
/// pool's runtime (a task) or else a thread of its own. It holds the pool weakly and stops
/// once the pool is gone or closed.
#[cfg(not(loom))]
pub(super) fn start_driver<M: Manager>(shared: &Arc<Shared<M>>) {
    let Some(every) = shared.config.maintenance_interval else {
        return;
    };
    let weak = Arc::downgrade(shared);
    // One round; `false` once there is nothing left to maintain.
    let round = move || match weak.upgrade() {
        Some(s) if !s.lock().closed => {
            Shared::maintain(&s);
            true
        }
        _ => false,
    };
    match &shared.runtime {
        Some(rt) => drop(rt.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                if !round() {
                    break;
                }
            }
        })),
        None => {
            spawn_thread("tenure-pool-maintenance", "its maintenance", move || loop {
                std::thread::sleep(every);
                if !round() {
                    break;
                }
            });
        }
    }
}

/// How many relays a pool on a multi-thread runtime keeps: one per handoff that a task can
/// make in one poll before the next relay has run again.
pub(super) const RELAYS: usize = 2;

/// A relay: a task that does nothing when polled but say it is idle again. Woken right
/// after a waiter that a runtime worker woke (see [`Shared::deliver`]), it takes that
/// worker's LIFO slot, which moves the waiter to the worker's stealable queue with a
/// notification that wakes an idle worker (tokio #4941, #8100). Idle relays are found
/// without the pool's lock: a flag and the task's waker, kept once.
#[derive(Default)]
pub(super) struct Relay {
    #[cfg_attr(loom, allow(dead_code))] // loom models have no relays
    idle: std::sync::atomic::AtomicBool,
    waker: std::sync::OnceLock<Waker>,
    done: std::sync::atomic::AtomicBool,
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

impl<M: Manager> Shared<M> {
    /// Wakes an idle relay; spawns an empty task (which does the same, at an allocation's
    /// cost) if none is idle (the pool just started, or they are all on their way).
    #[cfg(not(loom))]
    fn relay(&self) {
        use std::sync::atomic::Ordering::AcqRel;
        for r in &self.relays {
            if r.idle.swap(false, AcqRel) {
                if let Some(w) = r.waker.get() {
                    w.wake_by_ref();
                }
                return;
            }
        }
        if let (Some(rt), false) = (&self.runtime, self.relays.is_empty()) {
            drop(rt.spawn(async {}));
        }
    }

    /// Ends the relays (the pool closed).
    pub(super) fn end_relays(&self) {
        for r in &self.relays {
            r.done.store(true, std::sync::atomic::Ordering::Release);
            if let Some(w) = r.waker.get() {
                w.wake_by_ref();
            }
        }
    }
}

/// Starts the relay tasks.
#[cfg(not(loom))]
pub(super) fn start_relays<M: Manager>(shared: &Arc<Shared<M>>) {
    let Some(rt) = &shared.runtime else { return };
    for relay in &shared.relays {
        let relay = relay.clone();
        drop(rt.spawn(std::future::poll_fn(move |cx| {
            use std::sync::atomic::Ordering::{Acquire, Release};
            if relay.done.load(Acquire) {
                return std::task::Poll::Ready(());
            }
            let _ = relay.waker.get_or_init(|| cx.waker().clone());
            relay.idle.store(true, Release);
            std::task::Poll::Pending
        })));
    }
}

/// Loom models have no runtime and no time: no driver, no relays (loom's `Arc` has no
/// `Weak`); they call `maintain` themselves.
#[cfg(loom)]
pub(super) fn start_driver<M: Manager>(_: &Arc<Shared<M>>) {}
#[cfg(loom)]
pub(super) fn start_relays<M: Manager>(_: &Arc<Shared<M>>) {}

/// Runs [`Job::RetryAfter`]: after `wait`, creates for the waiters (again after the next
/// backoff if the pool's clock says it has not passed yet).
#[cfg(not(loom))]
fn retry_after<M: Manager>(shared: &Arc<Shared<M>>, wait: Duration) {
    let s = shared.clone();
    let fire = move || {
        let now = s.now();
        let mut after = After::new();
        {
            let mut st = s.lock();
            st.retry_armed = false;
            match st.next_create_at {
                // The pool's clock is behind (a manual clock): wait again.
                Some(t) if t > now && st.waiters.waiting() > 0 && !st.closed => {
                    st.retry_armed = true;
                    after.jobs.push(Job::RetryAfter(t - now));
                }
                _ => s.maybe_create(&mut st, now, 0, &mut after),
            }
        }
        run_after(&s, after);
    };
    match &shared.runtime {
        Some(rt) => drop(rt.spawn(async move {
            tokio::time::sleep(wait).await;
            fire();
        })),
        None => {
            spawn_thread("tenure-pool-retry", "retrying a create", move || {
                std::thread::sleep(wait);
                fire();
            });
        }
    }
}

/// Loom models have no time: a retry is never armed there (their creates do not fail).
#[cfg(loom)]
fn retry_after<M: Manager>(_: &Arc<Shared<M>>, _: Duration) {}

/// Starts the pool's timer task: one tokio timer for every async waiter's timeout, instead
/// of one per waiter (registering and removing a timer per waited acquire costs as much as
/// the handoff itself). It sleeps until the earliest deadline of those waiting, fails the
/// waiters whose deadline passed with [`PoolError::Timeout`], and sleeps again; a waiter
/// that joins with an earlier deadline wakes it. It holds the pool weakly and ends with it.
#[cfg(not(loom))]
pub(super) fn start_timer<M: Manager>(shared: &Arc<Shared<M>>) {
    let Some(rt) = &shared.runtime else { return };
    let weak = Arc::downgrade(shared);
    drop(rt.spawn(async move {
        let mut sleep = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
        std::future::poll_fn(move |cx| loop {
            let Some(s) = weak.upgrade() else {
                return std::task::Poll::Ready(());
            };
            let now = tokio::time::Instant::now();
            let mut after = After::new();
            let next = {
                let mut st = s.lock();
                if st.closed {
                    return std::task::Poll::Ready(());
                }
                // The pool as the expiring waiters saw it, themselves still in line.
                let status = s.status_of(&st);
                let last = st.last_error.clone();
                let expired = st.waiters.expire(
                    now,
                    |waited| PoolError::Timeout {
                        waited,
                        status,
                        last_create_error: last.clone(),
                    },
                    &mut after.wakes,
                );
                if expired > 0 {
                    st.stats.timeouts += expired as u64;
                    tracing::debug!(target: "tenure", pool = s.config.name, "{expired} acquire(s) timed out ({status})");
                }
                let next = st.waiters.next_deadline();
                st.timer_at = next;
                st.timer_waker = Some(cx.waker().clone());
                next
            };
            run_after(&s, after);
            drop(s);
            match next {
                None => return std::task::Poll::Pending,
                Some(at) => {
                    sleep.as_mut().reset(at);
                    if std::future::Future::poll(sleep.as_mut(), cx).is_pending() {
                        return std::task::Poll::Pending;
                    }
                }
            }
        })
        .await
    }));
}

/// Loom models have no timers.
#[cfg(loom)]
pub(super) fn start_timer<M: Manager>(_: &Arc<Shared<M>>) {}

/// Starts a named thread for the pool's `what`; a failure to start one is logged (nothing
/// can return it: the caller is a `Drop` or a completion).
fn spawn_thread(name: &str, what: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        tracing::error!(target: "tenure", "the pool cannot start a thread for {what}: {e}");
    }
}
