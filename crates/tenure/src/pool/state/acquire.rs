//! The steps of an acquire under the state lock: its first step ([`Shared::begin`]), a
//! waiter looking at its place, giving up at its deadline, leaving, and the pool's timer
//! failing the waiters whose deadline passed.

use std::panic::Location;
use std::task::Waker;
use std::time::Duration;

use super::{Shared, State};
use crate::pool::after::After;
use crate::pool::error::PoolError;
use crate::pool::manager::Manager;
use crate::pool::shard::{Conn, LeaseAt};
use crate::pool::stats::Retire;
use crate::pool::time::Instant;
use crate::pool::waiters::{Deadline, Ticket, Wake};

/// What an acquire does next.
pub(in crate::pool) enum Step<M: Manager> {
    /// Lent at once: the resource, and its shard and lease slot.
    Ready(Conn<M::Resource>, LeaseAt),
    Wait(Ticket),
    Fail(PoolError<M::Error>),
}

/// A resource served to a waiter, with its lease slot and how long it waited.
pub(in crate::pool) struct Served<M: Manager> {
    pub(in crate::pool) conn: Conn<M::Resource>,
    pub(in crate::pool) slot: LeaseAt,
    pub(in crate::pool) wait: Duration,
}

impl<M: Manager> Shared<M> {
    /// The first step of an acquire: an idle resource that needs no check if nobody waits
    /// ahead (no barging), else a place in the queue — served from the idle set (checked
    /// for it when the policy says so) before any create starts for it.
    pub(in crate::pool) fn begin(
        &self,
        now: Instant,
        wake: impl FnOnce() -> (Wake, Option<Deadline>),
        site: &'static Location<'static>,
        after: &mut After<M>,
    ) -> Step<M> {
        let mut st = self.lock();
        if let Some(step) = self.opening(&mut st, now, site, after) {
            return step;
        }
        if st.waiters.waiting() >= self.config.max_waiters {
            st.stats.refused += 1;
            return Step::Fail(PoolError::Saturated {
                max_waiters: self.config.max_waiters,
            });
        }
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
        let ticket = st.waiters.push(wake, deadline, site);
        // The idle resources first (each waiting for a check is being served), then
        // creates for the rest.
        self.serve_idle(&mut st, now, after);
        self.maybe_create(&mut st, now, 0, after);
        Step::Wait(ticket)
    }

    /// The opening of every acquire's first step, waiting or not: `Fail` if the pool is
    /// closed, `Ready` with an idle resource that needs no check if nobody waits ahead (those
    /// in line come first, and while they wait nothing ready sits idle); `None` when the
    /// acquire goes on (to the line, or to `WouldWait`).
    fn opening(
        &self,
        st: &mut State<M>,
        now: Instant,
        site: &'static Location<'static>,
        after: &mut After<M>,
    ) -> Option<Step<M>> {
        if st.closed {
            return Some(Step::Fail(PoolError::Closed));
        }
        if st.waiters.waiting() > 0 {
            return None;
        }
        let (conn, at) = self.lend_idle(st, now, site, after)?;
        Some(Step::Ready(conn, at))
    }

    /// Lends an idle resource that needs no check (nobody waits: the caller checked),
    /// retiring the expired and idle-too-long ones it meets; `None` when none is ready —
    /// then any left idle need a check first (`serve_idle` does it for a caller in line).
    fn lend_idle(
        &self,
        st: &mut State<M>,
        now: Instant,
        site: &'static Location<'static>,
        after: &mut After<M>,
    ) -> Option<(Conn<M::Resource>, LeaseAt)> {
        // Nothing exists but creates under way (the pool is empty, or its backend down):
        // no resource to lend and no cache to gather.
        if st.counts.size() == st.counts.creating() {
            return None;
        }
        // Nothing idle here but a shard may have one cached (the gate is open, and some
        // resources are in the shards): taken from there, the gate stays open (gathering
        // every cache would close it, stopping every thread's fast path, to open it again
        // at the unlock).
        if st.idle.is_empty() && self.gate.open() && st.counts.in_shards(0) > 0 {
            if let Some(conn) = self.take_from_a_shard(now) {
                return Some((conn, self.lend_here(site, now)));
            }
        }
        self.flush(st);
        while let Some(conn) = st.idle.pop() {
            let idle_for = conn.idle_for(now);
            if conn.expired(now) {
                self.retire(st, conn, Retire::Expired, after);
            } else if self.config.idle_too_long(idle_for) {
                self.retire(st, conn, Retire::IdleTimeout, after);
            } else if self.config.validation.on_checkout(idle_for) {
                st.idle.push(conn);
                return None;
            } else {
                st.stats.acquired_direct += 1;
                return Some((conn, self.lend_here(site, now)));
            }
        }
        None
    }

    /// An acquire that never waits ([`Pool::try_get`](crate::pool::Pool::try_get)): an
    /// idle resource that needs no check (`Ready`), else `Fail` with `WouldWait` — it
    /// joins no line and starts no create and no check.
    pub(in crate::pool) fn try_begin(
        &self,
        now: Instant,
        site: &'static Location<'static>,
        after: &mut After<M>,
    ) -> Step<M> {
        let mut st = self.lock();
        if let Some(step) = self.opening(&mut st, now, site, after) {
            return step;
        }
        Step::Fail(PoolError::WouldWait {
            status: self.status_of(&st),
        })
    }

    /// A waiting task looks at its place: `Some` once served (lent on this thread's
    /// shard) or failed, else its waker is kept.
    pub(in crate::pool) fn poll_task(
        &self,
        ticket: Ticket,
        waker: &Waker,
        start: Instant,
        site: &'static Location<'static>,
    ) -> Option<Result<Served<M>, PoolError<M::Error>>> {
        let now = self.now();
        let mut st = self.lock();
        let r = st.waiters.poll_task(ticket, waker)?;
        Some(self.pick_up(&mut st, r, start, now, site))
    }

    /// [`poll_task`](Self::poll_task) for a blocked thread (woken by an unpark).
    pub(in crate::pool) fn poll_thread(
        &self,
        ticket: Ticket,
        start: Instant,
        site: &'static Location<'static>,
    ) -> Option<Result<Served<M>, PoolError<M::Error>>> {
        let now = self.now();
        let mut st = self.lock();
        let r = st.waiters.poll_thread(ticket)?;
        Some(self.pick_up(&mut st, r, start, now, site))
    }

    /// A waiter's outcome taken from the line (under the lock that took it, so a waited
    /// acquire locks twice — to join, to leave served — not three times): the wait
    /// recorded and the lease's slot registered, or the error.
    fn pick_up(
        &self,
        st: &mut State<M>,
        r: Result<Conn<M::Resource>, PoolError<M::Error>>,
        start: Instant,
        now: Instant,
        site: &'static Location<'static>,
    ) -> Result<Served<M>, PoolError<M::Error>> {
        let conn = r?;
        let wait = now.saturating_duration_since(start);
        st.stats.wait_time.record(wait);
        // Handed over, now lent on this thread's shard.
        st.counts.take_handed();
        let slot = self.lend_here(site, now);
        Ok(Served { conn, slot, wait })
    }

    /// The deadline passed: leave the line — unless served meanwhile, then take it.
    pub(in crate::pool) fn time_out(
        &self,
        ticket: Ticket,
        start: Instant,
        waited: Duration,
        site: &'static Location<'static>,
    ) -> Result<Served<M>, PoolError<M::Error>> {
        let now = self.now();
        let mut st = self.lock();
        if let Some(r) = st.waiters.poll(ticket, || Wake::None) {
            return self.pick_up(&mut st, r, start, now, site);
        }
        // The pool as this caller saw it, itself still in line.
        let status = self.status_of(&st);
        st.waiters.cancel(ticket);
        st.stats.timeouts += 1;
        let last_create_error = st.last_error.clone();
        drop(st);
        tracing::debug!(target: "tenure", pool = &*self.config.name, %site, "acquire timed out after {waited:?} ({status})");
        Err(PoolError::Timeout {
            waited,
            status,
            last_create_error,
        })
    }

    /// A waiter leaves (its future dropped); a resource handed to it meanwhile goes to the
    /// next in line.
    pub(in crate::pool) fn leave(&self, ticket: Ticket, after: &mut After<M>) {
        let mut st = self.lock();
        if let Some(conn) = st.waiters.cancel(ticket) {
            st.counts.take_handed();
            let now = self.now();
            self.deliver(&mut st, conn, now, after);
        }
        // A create it started may now have no one to serve: it finishes into the idle set
        // (nothing to undo).
    }

    /// The pool's timer: fails the waiters whose deadline is at or before `now` and keeps
    /// `waker` to be woken for an earlier deadline; the next deadline to sleep until.
    /// `Err` once the pool is closed (the timer ends).
    #[cfg_attr(loom, allow(dead_code))] // loom models have no timer
    pub(in crate::pool) fn expire_waiters(
        &self,
        now: tokio::time::Instant,
        waker: &Waker,
        after: &mut After<M>,
    ) -> Result<Option<tokio::time::Instant>, ()> {
        let mut st = self.lock();
        if st.closed {
            return Err(());
        }
        // The pool as the expiring waiters saw it, themselves still in line.
        let status = self.status_of(&st);
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
            tracing::debug!(target: "tenure", pool = &*self.config.name, "{expired} acquire(s) timed out ({status})");
        }
        let next = st.waiters.next_deadline();
        st.timer_at = next;
        st.timer_waker = Some(waker.clone());
        Ok(next)
    }
}
