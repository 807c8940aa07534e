//! The steps that take the whole pool in hand: resize, retain, a maintenance round, close,
//! and a create retried after its backoff.

use super::{enlist, Shared, State};
use crate::pool::after::{After, Job};
use crate::pool::error::PoolError;
use crate::pool::manager::Manager;
use crate::pool::stats::{ResourceMetrics, Retained, Retire};
use crate::pool::time::Instant;
use crate::pool::waiters::Wake;

/// What a step of warm-up saw.
pub(in crate::pool) struct Warmth<E> {
    pub(in crate::pool) closed: bool,
    pub(in crate::pool) filled: bool,
    /// `Statistics::create_failures` so far.
    pub(in crate::pool) failures: u64,
    /// The last create error (a timed-out create leaves it as it was).
    pub(in crate::pool) last_error: Option<std::sync::Arc<E>>,
}

/// A panic caught from a caller's predicate, to resume once the lock is released.
pub(in crate::pool) type Panic = Box<dyn std::any::Any + Send + 'static>;

impl<M: Manager> Shared<M> {
    /// Changes `max_size`: the extra idle resources retired at once (lent ones as they come
    /// back), creates started for the waiters if it grew.
    pub(in crate::pool) fn resize(&self, max_size: usize, after: &mut After<M>) {
        let now = self.now();
        let mut st = self.lock();
        st.max_size = max_size.max(1);
        self.flush(&mut st);
        while st.counts.kept() > st.max_size {
            let Some(conn) = st.idle.pop() else { break };
            self.retire(&mut st, conn, Retire::Resized, after);
        }
        self.maybe_create(&mut st, now, 0, after);
    }

    /// Retires every idle resource `keep` rejects. If `keep` panics, the one it panicked
    /// on and those it had not judged stay idle, and the panic comes back (to resume once
    /// the retirements so far have started).
    pub(in crate::pool) fn retain(
        &self,
        mut keep: impl FnMut(&M::Resource, ResourceMetrics) -> bool,
        after: &mut After<M>,
    ) -> Result<Retained, Panic> {
        let now = self.now();
        let mut st = self.lock();
        self.flush(&mut st);
        let mut tally = Retained::default();
        let mut idle = std::mem::take(&mut st.idle).into_iter();
        while let Some(conn) = idle.next() {
            let metrics = ResourceMetrics {
                age: now.saturating_duration_since(conn.created_at),
                idle: conn.idle_for(now),
                lent: conn.lent,
            };
            let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                keep(&conn.resource, metrics)
            }));
            match verdict {
                Ok(true) => {
                    tally.kept += 1;
                    st.idle.push(conn);
                }
                Ok(false) => {
                    tally.retired += 1;
                    self.retire(&mut st, conn, Retire::Discarded, after);
                }
                Err(panic) => {
                    // This one and those not looked at yet stay idle (nothing lost).
                    st.idle.push(conn);
                    st.idle.extend(idle);
                    return Err(panic);
                }
            }
        }
        Ok(tally)
    }

    /// One round of maintenance as if the pool's clock read `now` (see
    /// [`Pool::maintain`](crate::pool::Pool::maintain)).
    pub(in crate::pool) fn maintain_at(&self, now: Instant, after: &mut After<M>) {
        let config = &self.config;
        let mut st = self.lock();
        self.flush(&mut st);
        let idle = std::mem::take(&mut st.idle);
        for conn in idle {
            if conn.expired(now) {
                self.retire(&mut st, conn, Retire::Expired, after);
            } else if config.idle_too_long(conn.idle_for(now)) && st.idle.len() >= config.min_idle {
                self.retire(&mut st, conn, Retire::IdleTimeout, after);
            } else {
                st.idle.push(conn);
            }
        }
        let idle = st.idle.len();
        self.create_toward_min_idle(&mut st, idle, now, after);
        if let Some(threshold) = config.leak_threshold {
            for shard in self.shards.iter() {
                shard.lock().overdue(now, threshold, &mut after.leaks);
            }
            st.stats.leaks += after.leaks.len() as u64;
        }
        #[cfg(feature = "metrics")]
        self.metrics
            .publish(&self.status_of(&st), &self.statistics_of(&st));
    }

    /// Starts creates toward `min_idle` (`idle` of them there now), at most
    /// `max_concurrent_creates` running.
    fn create_toward_min_idle(
        &self,
        st: &mut State<M>,
        idle: usize,
        now: Instant,
        after: &mut After<M>,
    ) {
        let want = self
            .config
            .min_idle
            .saturating_sub(idle + st.counts.creating());
        for _ in 0..want {
            if !self.may_create(st, now) {
                break;
            }
            Self::start_create(st, after);
        }
    }

    /// A step of warm-up ([`Pool::warm_up`](crate::pool::Pool::warm_up)): creates started
    /// toward `min_idle`, and what the caller needs to know whether it is done. Unless it
    /// is (filled, or closed), `wake` is woken for the next step: when a create ends, a
    /// backoff that held creates back has passed ([`retry`](Self::retry)), or the pool
    /// closes — what a step left not filled always waits for one of those (creates under
    /// way, or the retry a failed create armed).
    ///
    /// `failures_before`: the create failures the first step saw; once there are more, the
    /// step starts nothing (the caller returns the error).
    pub(in crate::pool) fn warm(
        &self,
        now: Instant,
        failures_before: Option<u64>,
        wake: Wake,
        after: &mut After<M>,
    ) -> Warmth<M::Error> {
        let mut st = self.lock();
        let status = self.status_of(&st);
        if failures_before.is_some_and(|b| st.stats.create_failures > b) {
            return Warmth {
                closed: st.closed,
                filled: false,
                failures: st.stats.create_failures,
                last_error: st.last_error.clone(),
            };
        }
        self.create_toward_min_idle(&mut st, status.idle, now, after);
        // Filled, or nothing more can be made (every slot taken, none being created).
        let filled = status.idle >= self.config.min_idle
            || (st.counts.creating() == 0 && st.counts.size() >= st.max_size);
        if !filled && !st.closed {
            enlist(&mut st.warmers, wake);
            // Nothing under way because the backoff holds creates back: make sure a retry
            // wakes this caller when it has passed (one armed by the failed create may
            // have come and gone while the pool's clock was behind).
            if let Some(t) = st.next_create_at.filter(|t| *t > now) {
                if st.counts.creating() == 0 && !st.retry_armed {
                    st.retry_armed = true;
                    after.jobs.push(Job::RetryAfter(t - now));
                }
            }
        }
        Warmth {
            closed: st.closed,
            filled,
            failures: st.stats.create_failures,
            last_error: st.last_error.clone(),
        }
    }

    /// Closes the pool: refuses new acquires, fails the waiters, retires the idle resources
    /// (lent ones are retired as they come back). `false` if it was closed already.
    pub(in crate::pool) fn begin_close(&self, after: &mut After<M>) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        st.closed = true;
        after
            .wakes
            .extend(st.waiters.fail_all(|| PoolError::Closed));
        if let Some(w) = st.timer_waker.take() {
            after.wakes.push(Wake::Task(w)); // to see the close and end
        }
        for relay in &self.relays {
            relay.end();
        }
        self.flush(&mut st);
        for conn in std::mem::take(&mut st.idle) {
            self.retire(&mut st, conn, Retire::Closed, after);
        }
        Self::wake_warmers(&mut st, after);
        self.wake_if_drained(&mut st);
        true
    }

    /// Whether the pool is closed.
    #[cfg_attr(loom, allow(dead_code))] // the driver's; loom models have none
    pub(in crate::pool) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether every resource is closed (`size` is 0); else `wake` is woken when they are
    /// (after a close).
    pub(in crate::pool) fn drained(&self, wake: Wake) -> bool {
        let mut st = self.lock();
        if st.counts.size() == 0 {
            return true;
        }
        enlist(&mut st.drained, wake);
        false
    }

    /// A create retried after its backoff ([`Job::RetryAfter`]): creates for the waiters
    /// (and the warm-up callers woken to start theirs), or another wait if the pool's
    /// clock says the backoff has not passed yet.
    #[cfg_attr(loom, allow(dead_code))] // loom models never retry
    pub(in crate::pool) fn retry(&self, after: &mut After<M>) {
        let now = self.now();
        let mut st = self.lock();
        st.retry_armed = false;
        let wanted = st.waiters.waiting() > 0 || !st.warmers.is_empty();
        match st.next_create_at {
            // The pool's clock is behind (a manual clock): wait again.
            Some(t) if t > now && wanted && !st.closed => {
                st.retry_armed = true;
                after.jobs.push(Job::RetryAfter(t - now));
            }
            _ => {
                Self::wake_warmers(&mut st, after);
                self.maybe_create(&mut st, now, 0, after);
            }
        }
    }
}
