//! The steps of a resource coming back: a lease's return routed (retired, reset,
//! validated for a waiter, or delivered) and carried out, a detach, and the end of each
//! piece of the pool's own work (a create, a validation or reset, an abandoned reset, a
//! retired resource's close).

use crate::error::{BoxError, Error};
use crate::pool::after::{After, Site};
use crate::pool::error::PoolError;
use crate::pool::manager::Manager;
use crate::pool::shard::{Conn, LeaseAt, Lent};
use crate::pool::stats::Retire;
use crate::pool::time::Instant;
use crate::sink::DropReport;

use super::{backoff, Shared};
use crate::pool::after::Job;
use crate::pool::work::Op;

/// Where a returned resource goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::pool) enum Route {
    /// Back to the pool as it is.
    Keep,
    /// Reset first ([`Manager::reset`], bounded by `return_timeout`).
    Reset,
    /// Retired and closed.
    Retire(Retire),
}

impl<M: Manager> Shared<M> {
    /// Judges a returned resource (the lock not held: the manager's checks run here):
    /// `retire` if its holder asked for it, else retired if its thread is panicking (and
    /// the manager does not reuse it then), broken or expired, reset if the manager says
    /// so, else kept.
    #[inline]
    pub(in crate::pool) fn judge_return(
        &self,
        conn: &mut Lent<M::Resource>,
        retire: Option<Retire>,
        now: Instant,
    ) -> Route {
        let retire = retire.or_else(|| {
            if std::thread::panicking() && !self.manager.reuse_after_panic(&conn.resource) {
                Some(Retire::Panicked)
            } else if self.manager.is_broken(&mut conn.resource) {
                Some(Retire::Broken)
            } else if conn.expired(now) {
                Some(Retire::Expired)
            } else {
                None
            }
        });
        match retire {
            Some(why) => Route::Retire(why),
            None if self.manager.needs_reset(&conn.resource) => Route::Reset,
            None => Route::Keep,
        }
    }

    /// The slow path of a return (the fast one, [`try_take_back`](Shared::try_take_back),
    /// did not take it): the lease ended, and the resource routed.
    pub(in crate::pool) fn route_return(
        &self,
        (shard, slot): LeaseAt,
        conn: Conn<M::Resource>,
        route: Route,
        now: Instant,
        after: &mut After<M>,
    ) {
        let mut st = self.lock();
        let site = {
            let mut ss = self.shards[shard as usize].lock();
            let site = ss.site_of(slot);
            after.leaks.extend(self.end_lease(&mut ss, slot, now));
            site
        };
        match route {
            Route::Retire(why) => self.retire(&mut st, conn, why, after),
            Route::Reset => Self::start_check(&mut st, conn, Some(site), after),
            Route::Keep if self.config.validation.on_handoff() && st.waiters.waiting() > 0 => {
                self.shelve(&mut st, conn, now, after)
            }
            Route::Keep => self.deliver(&mut st, conn, now, after),
        }
    }

    /// A lent resource taken out of the pool for good: its slot is freed (a create may
    /// take its place).
    pub(in crate::pool) fn detach(&self, (shard, slot): LeaseAt, after: &mut After<M>) {
        let now = self.now();
        let mut st = self.lock();
        self.shards[shard as usize].lock().forget_lease(slot);
        st.counts.forget();
        st.stats.detached += 1;
        self.maybe_create(&mut st, now, 0, after);
        self.wake_if_drained(&mut st);
    }

    /// A create finished: `Err(None)` when it timed out.
    pub(in crate::pool) fn created(
        &self,
        result: Result<M::Resource, Option<M::Error>>,
        after: &mut After<M>,
    ) {
        if matches!(result, Err(None)) {
            self.lock().stats.abandoned += 1;
            self.report_abandoned(Op::Create, self.config.create_timeout, None);
        }
        let now = self.now();
        let mut st = self.lock();
        st.counts.create_ended(result.is_ok());
        match result {
            Ok(resource) => {
                st.stats.created += 1;
                st.failures_in_a_row = 0;
                st.next_create_at = None;
                let expires_at = self.expiry(&mut st, now);
                let conn = Conn {
                    resource,
                    expires_at,
                    idle_since: now,
                    created_at: now,
                    lent: 0,
                };
                self.deliver(&mut st, conn, now, after);
            }
            Err(e) => {
                st.stats.create_failures += 1;
                st.failures_in_a_row = st.failures_in_a_row.saturating_add(1);
                let backoff = backoff(&self.config, st.failures_in_a_row, st.created_total);
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
                    None => PoolError::CreateTimedOut(self.config.create_timeout),
                };
                tracing::warn!(target: "tenure", pool = &*self.config.name, "{}; next try in {backoff:?}", crate::error::Report::new(&error));
                if let Ok(w) = st.waiters.fail_oldest(error) {
                    after.wakes.push(w);
                }
                // The others fail now too if nothing else can serve them.
                if let Some(PoolError::Unavailable { cause, retry_in }) = self.unavailable(&st, now)
                {
                    after
                        .wakes
                        .extend(st.waiters.fail_all(|| PoolError::Unavailable {
                            cause: cause.clone(),
                            retry_in,
                        }));
                }
                self.wake_if_drained(&mut st);
            }
        }
        self.maybe_create(&mut st, now, 0, after);
        Self::wake_warmers(&mut st, after);
    }

    /// A validation or reset finished: its resource delivered, or retired for `why` — and
    /// then, for a failed validation, the next idle resource tried for the waiter it
    /// served before any create.
    pub(in crate::pool) fn checked(
        &self,
        conn: Conn<M::Resource>,
        ok: bool,
        why: Retire,
        after: &mut After<M>,
    ) {
        let now = self.now();
        let mut st = self.lock();
        st.counts.check_ended(why == Retire::Invalid, true);
        if ok {
            self.deliver(&mut st, conn, now, after);
        } else {
            self.retire(&mut st, conn, why, after);
            self.serve_idle(&mut st, now, after);
        }
        self.maybe_create(&mut st, now, 0, after);
    }

    /// A piece of the pool's work overran its bound: its slot is freed (the resource
    /// dropped with a future, or closed when blocking work hands it back later), the event
    /// counted in `Statistics::abandoned` and reported (with the `site` of the get a
    /// validation was for, or of the lease a reset's resource came back from). A create's
    /// comes through [`created`](Self::created) instead.
    pub(in crate::pool) fn abandoned(&self, op: Op, site: Option<Site>, after: &mut After<M>) {
        let now = self.now();
        let bound = {
            let mut st = self.lock();
            match op {
                Op::Validate | Op::Reset => st.counts.check_ended(op == Op::Validate, false),
                Op::Close => st.counts.close_ended(),
                Op::Create => {} // a create's slot is freed by `created`
            }
            st.stats.abandoned += 1;
            // A waiter a failed validation served gets the next idle one, else a create.
            self.serve_idle(&mut st, now, after);
            self.maybe_create(&mut st, now, 0, after);
            self.wake_if_drained(&mut st);
            self.bound_of(op)
        };
        self.report_abandoned(op, bound, site);
    }

    /// Counts one more piece of work abandoned past its bound (a late resource's close).
    pub(in crate::pool) fn count_abandoned(&self) {
        self.lock().stats.abandoned += 1;
    }

    /// The bound of `op`'s work.
    fn bound_of(&self, op: Op) -> std::time::Duration {
        let c = &self.config;
        match op {
            Op::Create => c.create_timeout,
            Op::Validate => c.check_timeout,
            Op::Reset => c.return_timeout,
            Op::Close => c.close_timeout,
        }
    }

    /// Reports work abandoned past its bound to the sink: the pool, and the site of the
    /// caller it was for if any (as `op` names it).
    fn report_abandoned(&self, op: Op, bound: std::time::Duration, site: Option<Site>) {
        let what = op.whose(&self.config, site);
        crate::sink::emit(
            self.sink.as_ref(),
            DropReport::Cleanup {
                context: op.what(),
                error: Error::timed_out(what, bound),
            },
        );
    }

    /// A retired resource's close finished: its slot is free.
    pub(in crate::pool) fn closed_one(
        &self,
        result: Result<(), BoxError>,
        why: Retire,
        after: &mut After<M>,
    ) {
        let now = self.now();
        {
            let mut st = self.lock();
            st.counts.close_ended();
            if result.is_err() {
                st.stats.close_failures += 1;
            }
            self.maybe_create(&mut st, now, 0, after);
            self.wake_if_drained(&mut st);
        }
        if let Err(e) = result {
            let context = match why {
                Retire::Closed => "pool: closing a resource (pool closed)",
                _ => "pool: closing a retired resource",
            };
            crate::sink::emit(
                self.sink.as_ref(),
                DropReport::Cleanup {
                    context,
                    error: Error::close(std::any::type_name::<M::Resource>(), e),
                },
            );
        }
    }
}
