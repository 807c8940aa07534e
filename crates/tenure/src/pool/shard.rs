//! The pool's steady state, per thread: the [`Gate`], the [`Shard`]s (a cache of idle
//! resources, the leases lent from it and their counters) and each shard's table of leases
//! out (a [`Slab`]: what the leak detector scans).

use crate::sync::{AtomicUsize, StateGuard, StateLock};
use std::panic::Location;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Duration;

use super::config::Limits;
use super::slab::{Key, Slab};
use super::stats::{Durations, Statistics};
use super::time::Instant;

/// A resource and its times.
pub(super) struct Conn<R> {
    pub(super) resource: R,
    pub(super) expires_at: Option<Instant>,
    pub(super) idle_since: Instant,
    /// When it was created, and how many times it was lent (what `Pool::retain` shows).
    pub(super) created_at: Instant,
    pub(super) lent: u64,
}

impl<R> Conn<R> {
    pub(super) fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// The resource lent out, the lend counted.
    #[inline]
    pub(super) fn lend(self) -> Lent<R> {
        Lent {
            resource: self.resource,
            expires_at: self.expires_at,
            created_at: self.created_at,
            lent: self.lent + 1,
        }
    }

    pub(super) fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.idle_since)
    }
}

/// A resource lent out, and its times: a [`Conn`] without an idle time (it has none while
/// lent; it is idle again from when it comes back). What a lease holds, so what a lease
/// moves.
pub(super) struct Lent<R> {
    pub(super) resource: R,
    pub(super) expires_at: Option<Instant>,
    pub(super) created_at: Instant,
    pub(super) lent: u64,
}

impl<R> Lent<R> {
    pub(super) fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// Back from its lease at `now`: idle from then.
    #[inline]
    pub(super) fn back(self, now: Instant) -> Conn<R> {
        Conn {
            resource: self.resource,
            expires_at: self.expires_at,
            idle_since: now,
            created_at: self.created_at,
            lent: self.lent,
        }
    }
}

/// A lease out: where and when it was taken, and whether it was reported as a leak.
pub(super) struct Held {
    site: &'static Location<'static>,
    since: Instant,
    reported: bool,
}

/// A leak report to make once the locks are released.
pub(super) struct Leaked {
    pub(super) site: &'static Location<'static>,
    pub(super) held: Duration,
    pub(super) returned: bool,
    /// On return: whether a report was made while it was held.
    pub(super) reported_while_held: bool,
}

/// Where a lease is recorded: its shard and its slot in that shard's lease table.
pub(super) type LeaseAt = (u32, Key);

/// 0 while the shards' fast paths may lend and take back on their own: nobody waits, the
/// pool is open and within its size. Set under the state lock; on a cache line of its own:
/// read by every fast path, written only when the pool leaves or enters its steady state.
#[repr(align(128))]
pub(super) struct Gate(AtomicUsize);

impl Gate {
    pub(super) fn new() -> Self {
        Gate(AtomicUsize::new(0))
    }

    pub(super) fn open(&self) -> bool {
        self.0.load(SeqCst) == 0
    }

    pub(super) fn set(&self, closed: bool) {
        let v = usize::from(closed);
        if self.0.load(Relaxed) != v {
            self.0.store(v, SeqCst);
        }
    }

    /// Closes the gate for a flush; `false` if it was closed already (it closed in a flush
    /// — a waiter, a close and a resize each flush first — and no shard has taken a
    /// resource back since).
    pub(super) fn close_for_flush(&self) -> bool {
        if self.0.load(Relaxed) != 0 {
            return false;
        }
        self.0.store(1, SeqCst);
        true
    }
}

/// One shard of the pool's steady state: a cache of idle resources, the leases lent from
/// it and their counters, under a lock of its own, on cache lines of its own. Each thread
/// uses one shard (by a per-thread index), so two runtime workers that lend and take back
/// at once do not pass one lock and its data between their cores.
///
/// The rule that keeps it fair: a shard lends from its cache and takes a resource back
/// into it only while the [`Gate`] is open, read under the shard's lock. Everything else —
/// waiters, creates, checks, retirements, close, resize, maintenance — goes through the
/// state lock, and whatever needs the idle set whole first closes the gate and then moves
/// every shard's cache into it (`Shared::flush`), taking each shard's lock: a return that
/// saw the gate open finished its push before that lock was taken (so the flush finds it),
/// and one after it sees the gate closed (and goes the slow way). So no resource sits in a
/// shard while anyone waits, and a newcomer never takes one ahead of a waiter. Lock order:
/// the state lock, then a shard's.
#[repr(align(128))]
pub(super) struct Shard<R> {
    state: StateLock<ShardState<R>>,
}

/// A shard's contents; its counters change only through the steps below.
pub(super) struct ShardState<R> {
    idle: Vec<Conn<R>>,
    leases: Slab<Held>,
    /// Leases out from this shard.
    in_use: usize,
    acquired_direct: u64,
    leaks: u64,
    hold_time: Durations,
}

impl<R> Shard<R> {
    pub(super) fn new() -> Self {
        Shard {
            state: StateLock::new(ShardState {
                idle: Vec::new(),
                leases: Slab::default(),
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

impl<R> ShardState<R> {
    /// Lends the resource on top of the cache if the gate is open and `ready` says it needs
    /// nothing first; its lease slot.
    #[inline]
    pub(super) fn lend_cached(
        &mut self,
        gate: &Gate,
        ready: impl FnOnce(&Conn<R>) -> bool,
        site: &'static Location<'static>,
        now: Instant,
    ) -> Option<(Conn<R>, Key)> {
        let conn = self.take_cached(gate, ready)?;
        Some((conn, self.lend(site, now)))
    }

    /// Takes the resource on top of the cache if the gate is open and `ready` says it needs
    /// nothing first, counted as acquired at once (its lease registered by the caller).
    #[inline]
    pub(super) fn take_cached(
        &mut self,
        gate: &Gate,
        ready: impl FnOnce(&Conn<R>) -> bool,
    ) -> Option<Conn<R>> {
        let conn = self.idle.last()?;
        // (A resource is in a shard's cache only while the gate stayed open since it was
        // put there; the gate is checked anyway, so that this path stands on its own.)
        if !gate.open() || !ready(conn) {
            return None;
        }
        let conn = self.idle.pop()?;
        self.acquired_direct += 1;
        Some(conn)
    }

    /// Whether its cache is empty.
    #[inline]
    pub(super) fn nothing_cached(&self) -> bool {
        self.idle.is_empty()
    }

    /// Registers a lease taken at `site` now; its slot.
    pub(super) fn lend(&mut self, site: &'static Location<'static>, now: Instant) -> Key {
        self.in_use += 1;
        self.leases.insert(Held {
            site,
            since: now,
            reported: false,
        })
    }

    /// Ends lease `slot`: its hold time recorded (and returned, in nanoseconds), and a leak
    /// report if it was held at least `leak_threshold` (`limits.leaked`).
    #[inline(always)] // every return's fast path: no call, its answer in registers
    pub(super) fn end_lease(
        &mut self,
        slot: Key,
        now: Instant,
        limits: &Limits,
    ) -> (u64, Option<Leaked>) {
        let held = self.forget_lease(slot);
        let hold = now.nanos_since(held.since);
        self.hold_time.record_nanos(hold);
        if !limits.leaked(hold) {
            return (hold, None);
        }
        (hold, Some(self.leaked(held, hold)))
    }

    /// A lease ended after `hold` nanoseconds, past the leak threshold: counted (unless
    /// reported while held) and its report.
    #[cold]
    fn leaked(&mut self, held: Held, hold: u64) -> Leaked {
        if !held.reported {
            self.leaks += 1;
        }
        Leaked {
            site: held.site,
            held: Duration::from_nanos(hold),
            returned: true,
            reported_while_held: held.reported,
        }
    }

    /// Where lease `slot` was taken.
    pub(super) fn site_of(&self, slot: Key) -> &'static Location<'static> {
        self.leases
            .get(slot)
            .expect("a lease's slot is taken until it returns")
            .site
    }

    /// Ends lease `slot` without a record (its resource detached).
    pub(super) fn forget_lease(&mut self, slot: Key) -> Held {
        self.in_use -= 1;
        self.leases
            .remove(slot)
            .expect("a lease's slot is taken until it returns")
    }

    /// Takes a returned resource back into the cache, idle from `now`.
    pub(super) fn cache(&mut self, lent: Lent<R>, now: Instant) {
        self.idle.push(lent.back(now));
    }

    /// Moves the cache into `idle` (a flush).
    pub(super) fn drain_into(&mut self, idle: &mut Vec<Conn<R>>) {
        idle.append(&mut self.idle);
    }

    /// Lent from here and cached here: (in use, idle).
    pub(super) fn counts(&self) -> (usize, usize) {
        (self.in_use, self.idle.len())
    }

    /// Adds this shard's counters to `stats`.
    pub(super) fn add_to(&self, stats: &mut Statistics) {
        stats.acquired_direct += self.acquired_direct;
        stats.leaks += self.leaks;
        stats.hold_time.merge(&self.hold_time);
    }

    /// Marks and reports the leases held at least `threshold` and not yet reported.
    pub(super) fn overdue(&mut self, now: Instant, threshold: Duration, out: &mut Vec<Leaked>) {
        for held in self.leases.iter_mut() {
            let for_ = now.saturating_duration_since(held.since);
            if !held.reported && for_ >= threshold {
                held.reported = true;
                out.push(Leaked {
                    site: held.site,
                    held: for_,
                    returned: false,
                    reported_while_held: false,
                });
            }
        }
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

/// The calling thread's place among `n` (a pool's shard count, a power of two): the index
/// of its shard, and of its anchor.
#[inline]
pub(super) fn index_here(n: usize) -> usize {
    debug_assert!(n.is_power_of_two());
    thread_index() & (n - 1)
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
