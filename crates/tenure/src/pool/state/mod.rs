//! The pool's engine: [`Shared`] (what every `Pool` handle and lease holds) and the state
//! under its lock. Resources move between idle, lent, handed to a waiter and the pool's
//! own work (create, validate, reset, close) only through the steps of this module — the
//! acquire's ([`acquire`]), a return's and a job's end ([`returns`]), the whole pool's
//! (resize, retain, maintain, close: [`manage`]) — and the counts change only through the
//! named steps of [`counts`].
//!
//! The state lock (`parking_lot`'s, see `crate::sync::StateLock`) guards the pool's
//! state — size, waiters, creates, checks, retirements, close; every wake and every job is
//! started after it is released (`work::run_after`). The steady state (a resource lent at
//! once and taken back with nobody waiting) runs on the calling thread's
//! [`Shard`] instead, under that shard's own lock, while the [`Gate`] is open.

mod acquire;
mod counts;
mod manage;
mod returns;

use crate::sync::{AtomicUsize, StateGuard, StateLock};
use std::panic::Location;
use std::task::Waker;
use std::time::Duration;

use super::after::{After, Job, Relay, Site};
use super::config::{Limits, PoolConfig};
use super::error::{PoolError, Status};
use super::manager::Manager;
use super::shard::{index_here, shard_count, Conn, Gate, Leaked, LeaseAt, Lent, Shard, ShardState};
use super::slab::Key;
use super::stats::{Retire, Statistics};
use super::time::{Instant, PoolClock};
use super::waiters::{Waiters, Wake};
use crate::sink::{DropReport, SharedSink};

pub(super) use acquire::{Served, Step};
use counts::Counts;
pub(super) use manage::Warmth;
pub(super) use returns::Route;

/// The pool's state, under the state lock.
pub(super) struct State<M: Manager> {
    idle: Vec<Conn<M::Resource>>,
    counts: Counts,
    waiters: Waiters<Conn<M::Resource>, PoolError<M::Error>>,
    closed: bool,
    max_size: usize,
    last_error: Option<std::sync::Arc<M::Error>>,
    failures_in_a_row: u32,
    next_create_at: Option<Instant>,
    /// `close()` / `close_blocking` callers waiting for `size` to reach 0.
    drained: Vec<Wake>,
    /// `warm_up` / `warm_up_blocking` callers waiting for a create to end (or a retry
    /// after its backoff, or the close) to take their next step.
    warmers: Vec<Wake>,
    /// A [`Job::RetryAfter`] is pending.
    retry_armed: bool,
    /// The pool's timer task (`tasks::start_timer`): the deadline it sleeps until, and its
    /// waker while it sleeps.
    timer_at: Option<tokio::time::Instant>,
    timer_waker: Option<Waker>,
    stats: Statistics,
    /// A counter that gives each resource its own lifetime jitter.
    created_total: u64,
}

/// The pool itself, shared by its handles, its leases and its tasks.
pub(super) struct Shared<M: Manager> {
    pub(super) manager: M,
    pub(super) config: PoolConfig,
    /// What the steady state reads of `config` (`PoolConfig::limits`).
    limits: Limits,
    pub(super) runtime: Option<tokio::runtime::Handle>,
    pub(super) sink: Option<SharedSink>,
    clock: PoolClock,
    /// The relay tasks (a multi-thread runtime's pool only).
    pub(super) relays: Vec<std::sync::Arc<Relay>>,
    /// The worker threads of its blocking work (`bound::spawn_work`).
    pub(super) workers: crate::sync::Arc<super::bound::Workers>,
    /// `Pool` handles alive; the last one dropped closes the pool (leases do not count).
    pub(super) handles: AtomicUsize,
    #[cfg(feature = "metrics")]
    pub(super) metrics: super::metrics::Handles,
    /// 0 while the shards' fast paths may lend and take back on their own: nobody waits,
    /// the pool is open and within its size. Set under the state lock (see [`Locked`]).
    gate: Gate,
    state: StateLock<State<M>>,
    /// The per-thread fast paths (see [`Shard`]).
    shards: Box<[Shard<M::Resource>]>,
}

/// The state lock held: when it is let go, the gate is set from the state (see
/// [`Shard`]).
struct Locked<'a, M: Manager> {
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
        let steady = st.waiters.waiting() == 0 && !st.closed && st.counts.kept() <= st.max_size;
        self.gate.set(!steady);
    }
}

impl<M: Manager> Shared<M> {
    /// A pool's engine (its configuration already checked); one `Pool` handle counted.
    pub(super) fn new(
        manager: M,
        config: PoolConfig,
        runtime: Option<tokio::runtime::Handle>,
        sink: Option<SharedSink>,
        clock: PoolClock,
    ) -> Self {
        let state = State {
            idle: Vec::with_capacity(config.max_size),
            counts: Counts::default(),
            waiters: Waiters::new(),
            closed: false,
            max_size: config.max_size,
            last_error: None,
            failures_in_a_row: 0,
            next_create_at: None,
            drained: Vec::new(),
            warmers: Vec::new(),
            retry_armed: false,
            timer_at: None,
            timer_waker: None,
            stats: Statistics::default(),
            created_total: 0,
        };
        Shared {
            #[cfg(feature = "metrics")]
            metrics: super::metrics::Handles::new(&config.name),
            relays: super::after::relays(runtime.as_ref()),
            limits: config.limits(),
            manager,
            config,
            runtime,
            sink,
            clock,
            handles: AtomicUsize::new(1),
            workers: super::bound::Workers::new(),
            gate: Gate::new(),
            state: StateLock::new(state),
            shards: (0..shard_count()).map(|_| Shard::new()).collect(),
        }
    }

    fn lock(&self) -> Locked<'_, M> {
        Locked {
            guard: self.state.lock(),
            gate: &self.gate,
        }
    }

    pub(super) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether the pool's timer task bounds async waits (it runs on the pool's runtime);
    /// without one, each waiting `Acquire` arms a timer of its own.
    pub(super) fn times_async_waits(&self) -> bool {
        self.runtime.is_some() && !cfg!(loom)
    }

    /// How many shards it has (a power of two).
    pub(super) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The calling thread's shard and its index.
    #[inline]
    fn shard_here(&self) -> (u32, &Shard<M::Resource>) {
        let i = index_here(self.shards.len());
        (i as u32, &self.shards[i])
    }

    /// Closes the gate and moves every shard's cache into the idle set (see [`Shard`]):
    /// what a caller that needs the idle set whole, or may queue, does first.
    fn flush(&self, st: &mut State<M>) {
        if !self.gate.close_for_flush() {
            return;
        }
        for shard in self.shards.iter() {
            shard.lock().drain_into(&mut st.idle);
        }
    }

    /// Whether an idle resource may be lent as it is: not expired, not idle too long, no
    /// validation due.
    #[inline]
    fn ready_to_lend(&self, conn: &Conn<M::Resource>, now: Instant) -> bool {
        !conn.expired(now) && self.limits.lendable(now.nanos_since(conn.idle_since))
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
        // Closed, every shard's cache was flushed: nothing to find under its lock. (Read
        // again under it: this look only spares a caller that will queue the lock.)
        if !self.gate.open() {
            return None;
        }
        let (i, shard) = self.shard_here();
        let ready = |conn: &Conn<M::Resource>| self.ready_to_lend(conn, now);
        // The shard's lock is let go after the answer is made, so the resource moves
        // straight from the cache to the caller (not through a copy held across the unlock).
        let mut ss = shard.lock();
        let (conn, slot) = ss.lend_cached(&self.gate, ready, site, now)?;
        Some((conn, (i, slot)))
    }

    /// A resource ready to lend from some shard's cache (the gate open, read under that
    /// shard's lock, as a shard's own lend reads it), taken without closing the gate: what
    /// an acquire on a thread whose shard has none takes, under the state lock, before it
    /// gathers every shard's cache. `None` when every cache is empty or the first resource
    /// found is not ready (the gathering then retires or checks it).
    fn take_from_a_shard(&self, now: Instant) -> Option<Conn<M::Resource>> {
        for shard in self.shards.iter() {
            let mut ss = shard.lock();
            if ss.nothing_cached() {
                continue;
            }
            return ss.take_cached(&self.gate, |conn| self.ready_to_lend(conn, now));
        }
        None
    }

    /// The fast path of a clean return: the lease's resource back into its shard's cache
    /// if the gate is open (read under the shard's lock: see [`Shard`]), taken from the
    /// lease only then (it moves once). `false` leaves it in the lease for the slow path
    /// ([`Shared::route_return`]).
    #[inline]
    pub(super) fn try_take_back(
        &self,
        (shard, slot): LeaseAt,
        lent: &mut Option<Lent<M::Resource>>,
        now: Instant,
    ) -> bool {
        // Closed, the slow path takes it: no shard lock first (read again under it below,
        // which is the read that counts).
        if !self.gate.open() {
            return false;
        }
        let leak = {
            let mut ss = self.shards[shard as usize].lock();
            if !self.gate.open() {
                return false;
            }
            let leak = self.end_lease(&mut ss, slot, now);
            if let Some(conn) = lent.take() {
                ss.cache(conn, now);
            }
            leak
        };
        if let Some(leak) = leak {
            self.report_leak(leak);
        }
        true
    }

    /// Ends lease `slot` of a shard: its hold time recorded, and a leak report if it was
    /// held past `leak_threshold`.
    #[inline]
    fn end_lease(
        &self,
        ss: &mut ShardState<M::Resource>,
        slot: Key,
        now: Instant,
    ) -> Option<Leaked> {
        let (_hold, leak) = ss.end_lease(slot, now, &self.limits);
        #[cfg(feature = "metrics")]
        self.metrics.hold(std::time::Duration::from_nanos(_hold));
        leak
    }

    /// Where the lease at `at` was taken.
    pub(super) fn site_of(&self, (shard, slot): LeaseAt) -> &'static Location<'static> {
        self.shards[shard as usize].lock().site_of(slot)
    }

    /// Lends on the calling thread's shard (the state lock held); the shard and slot.
    fn lend_here(&self, site: &'static Location<'static>, now: Instant) -> LeaseAt {
        let (i, shard) = self.shard_here();
        (i, shard.lock().lend(site, now))
    }

    /// The pool's figures now.
    pub(super) fn status(&self) -> Status {
        self.status_of(&self.lock())
    }

    /// The pool's counters so far.
    pub(super) fn statistics(&self) -> Statistics {
        self.statistics_of(&self.lock())
    }

    /// The statistics, every shard's merged in, settled for a snapshot.
    fn statistics_of(&self, st: &State<M>) -> Statistics {
        let mut s = st.stats.clone();
        for shard in self.shards.iter() {
            shard.lock().add_to(&mut s);
        }
        s.snapshot()
    }

    /// The figures of `st` with every shard's leases and cache added in.
    fn status_of(&self, st: &State<M>) -> Status {
        let (mut idle, mut in_use) = (st.idle.len(), st.counts.handed());
        for shard in self.shards.iter() {
            let (lent, cached) = shard.lock().counts();
            in_use += lent;
            idle += cached;
        }
        Status {
            size: st.counts.size(),
            idle,
            in_use,
            creating: st.counts.creating(),
            checking: st.counts.checking(),
            closing: st.counts.closing(),
            waiting: st.waiters.waiting(),
            max_size: st.max_size,
        }
    }

    /// Nothing idle, nothing lent or under way that could come back, and the next create
    /// held back by the backoff: waiting would only end in a timeout.
    fn unavailable(&self, st: &State<M>, now: Instant) -> Option<PoolError<M::Error>> {
        let held = st.next_create_at.filter(|t| *t > now)?;
        let s = self.status_of(st);
        let coming = s.creating + s.checking + s.in_use + s.idle;
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
    fn maybe_create(&self, st: &mut State<M>, now: Instant, extra: usize, after: &mut After<M>) {
        let demand = st.waiters.waiting() + extra;
        while demand > st.counts.creating() + st.counts.checking() && self.may_create(st, now) {
            Self::start_create(st, after);
        }
    }

    /// Whether one more create may start now: the pool open, the backoff passed, room
    /// within `max_size` and `max_concurrent_creates`.
    fn may_create(&self, st: &State<M>, now: Instant) -> bool {
        !st.closed
            && st.next_create_at.is_none_or(|t| t <= now)
            && st.counts.size() < st.max_size
            && st.counts.creating() < self.config.max_concurrent_creates
    }

    /// Starts a create; its slot counts in `size` from now on.
    fn start_create(st: &mut State<M>, after: &mut After<M>) {
        st.counts.start_create();
        after.jobs.push(Job::Create);
    }

    /// Starts a validation (or, `reset`, a reset) of `conn` on the pool's behalf; its
    /// verdict delivers or retires it. A validation is for a waiter: it counts as serving
    /// one (see [`serve_idle`](Self::serve_idle)).
    fn start_check(
        st: &mut State<M>,
        conn: Conn<M::Resource>,
        reset: Option<Site>,
        after: &mut After<M>,
    ) {
        after.jobs.push(match reset {
            Some(lease) => Job::Reset(conn, lease),
            // For the oldest waiter no check serves yet: its site goes in the report of
            // the check's abandonment.
            None => Job::Validate(conn, st.waiters.site_of(st.counts.validating())),
        });
        st.counts.start_check(reset.is_none());
    }

    /// Waiters no validation under way serves yet.
    fn unserved(st: &State<M>) -> usize {
        st.waiters.waiting().saturating_sub(st.counts.validating())
    }

    /// No caller waits while a resource sits idle: while callers wait, the idle resources
    /// go to them — one that needs no check to the oldest waiter at once, one that needs a
    /// check (the validation policy) checked for a waiter that no check serves yet (a
    /// waiter whose resource is being checked is being served); expired and idle-too-long
    /// ones are retired on the way. What is left idle needs a check, and every waiter has
    /// one under way. Runs wherever a waiter joins or a check failed, before any create.
    fn serve_idle(&self, st: &mut State<M>, now: Instant, after: &mut After<M>) {
        if st.idle.is_empty() || st.waiters.waiting() == 0 {
            return;
        }
        let mut left = Vec::new();
        while st.waiters.waiting() > 0 {
            let Some(conn) = st.idle.pop() else { break };
            let idle_for = conn.idle_for(now);
            if conn.expired(now) {
                self.retire(st, conn, Retire::Expired, after);
            } else if self.config.idle_too_long(idle_for) {
                self.retire(st, conn, Retire::IdleTimeout, after);
            } else if !self.config.validation.on_checkout(idle_for) {
                self.hand_over(st, conn, after);
            } else if Self::unserved(st) > 0 {
                Self::start_check(st, conn, None, after);
            } else {
                left.push(conn);
            }
        }
        // Back in their order (the most recently returned on top).
        st.idle.extend(left.into_iter().rev());
    }

    /// A returned resource that needs a check before a waiter may have it (the validation
    /// policy checks every handoff): idle, then served as [`serve_idle`](Self::serve_idle)
    /// says — checked for a waiter no check serves yet, else kept for the next that needs
    /// one.
    fn shelve(
        &self,
        st: &mut State<M>,
        mut conn: Conn<M::Resource>,
        now: Instant,
        after: &mut After<M>,
    ) {
        if st.closed || st.counts.kept() > st.max_size {
            return self.deliver(st, conn, now, after); // retired
        }
        conn.idle_since = now;
        st.idle.push(conn);
        self.serve_idle(st, now, after);
    }

    /// Hands `conn` (created, checked, or needing no check) to the oldest waiter, else
    /// makes it idle (or retires it if the pool closed or shrank).
    fn deliver(
        &self,
        st: &mut State<M>,
        mut conn: Conn<M::Resource>,
        now: Instant,
        after: &mut After<M>,
    ) {
        if st.closed {
            return self.retire(st, conn, Retire::Closed, after);
        }
        if st.counts.kept() > st.max_size {
            return self.retire(st, conn, Retire::Resized, after);
        }
        conn.idle_since = now;
        if st.waiters.waiting() == 0 {
            return st.idle.push(conn); // the steady state
        }
        self.hand_over(st, conn, after);
    }

    /// Hands `conn` to the oldest waiter (there is one), else makes it idle.
    fn hand_over(&self, st: &mut State<M>, conn: Conn<M::Resource>, after: &mut After<M>) {
        match st.waiters.serve(conn) {
            Ok(wake) => {
                st.counts.hand_over();
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
    fn retire(
        &self,
        st: &mut State<M>,
        conn: Conn<M::Resource>,
        why: Retire,
        after: &mut After<M>,
    ) {
        st.stats.count_retired(why);
        st.counts.start_close();
        after.jobs.push(Job::Close(conn, why));
    }

    /// A new resource's expiry: `max_lifetime` less up to 2.5 %, spread by a counter.
    fn expiry(&self, st: &mut State<M>, now: Instant) -> Option<Instant> {
        st.created_total += 1;
        let life = self.config.max_lifetime?;
        // A cheap spread over 0..=2.5 %: a multiplicative hash of the count.
        let spread = (st.created_total.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as u32; // 0..1023
        let jitter = life / 40 * spread / 1023;
        Some(now + (life - jitter))
    }

    fn wake_if_drained(&self, st: &mut State<M>) {
        if st.closed && st.counts.size() == 0 {
            for w in st.drained.drain(..) {
                w.wake();
            }
        }
    }

    /// Wakes the warm-up callers for their next step (a create ended, a backoff passed,
    /// the pool closed).
    fn wake_warmers(st: &mut State<M>, after: &mut After<M>) {
        after.wakes.extend(st.warmers.drain(..));
    }

    /// Hands a leak report to the sink.
    pub(super) fn report_leak(&self, leak: Leaked) {
        crate::sink::emit(
            self.sink.as_ref(),
            DropReport::LeaseHeldTooLong {
                pool: self.config.name.clone(),
                site: leak.site,
                held: leak.held,
                threshold: self.config.leak_threshold.unwrap_or_default(),
                returned: leak.returned,
                reported_while_held: leak.reported_while_held,
            },
        );
    }
}

/// Adds `wake` to `list` unless it holds a wake of the same task already (a future polled
/// again registers again).
fn enlist(list: &mut Vec<Wake>, wake: Wake) {
    if let Wake::Task(new) = &wake {
        if list
            .iter()
            .any(|w| matches!(w, Wake::Task(old) if old.will_wake(new)))
        {
            return;
        }
    }
    list.push(wake);
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
