//! What runs once the state lock is released ([`run_after`]: the wakes, a relay, the leak
//! reports, the jobs) and where each job runs, under its bound ([`run_work`]: inline when
//! ready, a thread of the pool's own when blocking, the pool's runtime when async); each
//! job's end — or its bound passing first — comes back through a step of the state.

use crate::sync::Arc;
use std::borrow::Cow;
use std::time::Duration;

use super::after::{After, Job, Site};
use super::config::PoolConfig;
use super::manager::{Manager, Work};
use super::shard::Conn;
use super::state::Shared;
use super::stats::Retire;
use super::waiters::Wake;
use crate::error::BoxError;

/// Runs what `after` collected: the wakes first, then each job on its way.
#[inline]
pub(super) fn run_after<M: Manager>(shared: &Arc<Shared<M>>, mut after: After<M>) {
    if after.is_empty() {
        // The steady state: a lease lent or returned, nothing else to do. Nothing was
        // pushed, so nothing was allocated: skip the drop glue.
        debug_assert!(!after.wakes.allocated() && !after.jobs.allocated());
        debug_assert!(after.leaks.capacity() == 0);
        std::mem::forget(after);
        return;
    }
    // Drained where it lies (not moved: it is a few hundred bytes); then dropped here,
    // empty (a heap buffer, if one was needed, freed).
    run_after_slow(shared, &mut after);
}

#[inline(never)]
fn run_after_slow<M: Manager>(shared: &Arc<Shared<M>>, after: &mut After<M>) {
    after.wakes.drain_each(Wake::wake);
    #[cfg(not(loom))]
    if after.relay {
        relay(shared);
    }
    for leak in after.leaks.drain(..) {
        shared.report_leak(leak);
    }
    after.jobs.drain_each(|job| start(shared, job));
}

/// Runs a step that leaves work for after the lock, then that work.
pub(super) fn step<M: Manager, T>(
    shared: &Arc<Shared<M>>,
    f: impl FnOnce(&Shared<M>, &mut After<M>) -> T,
) -> T {
    let mut after = After::new();
    let out = f(shared, &mut after);
    run_after(shared, after);
    out
}

/// Wakes an idle relay; spawns an empty task (which does the same, at an allocation's
/// cost) if none is idle (the pool just started, or they are all on their way).
#[cfg(not(loom))]
fn relay<M: Manager>(shared: &Shared<M>) {
    use std::sync::atomic::Ordering::AcqRel;
    for r in &shared.relays {
        if r.idle.swap(false, AcqRel) {
            if let Some(w) = r.waker.get() {
                w.wake_by_ref();
            }
            return;
        }
    }
    if let (Some(rt), false) = (&shared.runtime, shared.relays.is_empty()) {
        drop(rt.spawn(async {}));
    }
}

/// A piece of the pool's own work, as its bound and its report name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Create,
    Validate,
    Reset,
    Close,
}

impl Op {
    /// What the work was, for the report of its abandonment.
    pub(super) fn what(self) -> &'static str {
        match self {
            Op::Create => "pool: creating a resource (past create_timeout)",
            Op::Validate => "pool: validating a resource (past check_timeout)",
            Op::Reset => "pool: resetting a returned resource (past return_timeout)",
            Op::Close => "pool: closing a retired resource (past close_timeout)",
        }
    }

    /// What the work was, for the report of a failure it ended with after its bound.
    pub(super) fn failed_later(self) -> &'static str {
        match self {
            Op::Create => "pool: a create abandoned past create_timeout failed later",
            Op::Validate => "pool: a validation abandoned past check_timeout failed later",
            Op::Reset => "pool: a reset abandoned past return_timeout failed later",
            Op::Close => "pool: a close abandoned past close_timeout failed later",
        }
    }

    /// Whose work it was, in its reports: the pool (as `config` names it), and the site of
    /// the caller it was for if any (a validation's get, a reset's lease).
    pub(super) fn whose(self, config: &PoolConfig, site: Option<Site>) -> Cow<'static, str> {
        let pool = &config.name;
        let whom = match self {
            Op::Validate => "for the get at",
            Op::Reset => "returned by the lease of the get at",
            Op::Create | Op::Close => "for",
        };
        match site {
            Some(site) => Cow::Owned(format!("{pool}, {whom} {site}")),
            None => pool.clone(),
        }
    }
}

/// Starts one job; its end comes back through a step of the state.
fn start<M: Manager>(shared: &Arc<Shared<M>>, job: Job<M>) {
    let config = &shared.config;
    match job {
        Job::RetryAfter(wait) => retry_after(shared, wait),
        Job::Create => {
            let work = shared.manager.create();
            let bound = config.create_timeout;
            let late = move |s: &Arc<Shared<M>>, out: Result<M::Resource, M::Error>| match out {
                Ok(resource) => close_late(s, resource),
                Err(e) => report_late(s, Op::Create, bound, None, e),
            };
            run_work(shared, work, bound, late, move |s, out| {
                let result = match out {
                    Some(Ok(r)) => Ok(r),
                    Some(Err(e)) => Err(Some(e)),
                    None => Err(None),
                };
                step(s, |s, after| s.created(result, after));
            });
        }
        Job::Validate(conn, site) => check(shared, conn, Op::Validate, site),
        Job::Reset(conn, site) => check(shared, conn, Op::Reset, Some(site)),
        Job::Close(conn, why) => {
            let work = shared.manager.close(conn.resource);
            let late = |s: &Arc<Shared<M>>, out: Result<(), BoxError>| {
                if let Err(e) = out {
                    report_late_close(s, e);
                }
            };
            run_work(
                shared,
                work,
                config.close_timeout,
                late,
                move |s, out| match out {
                    Some(result) => step(s, |s, after| s.closed_one(result, why, after)),
                    None => step(s, |s, after| s.abandoned(Op::Close, None, after)),
                },
            );
        }
    }
}

/// Runs a check (validate, reset) on `conn`'s resource; the verdict delivers or retires
/// it, and past its bound the slot is freed (the resource abandoned with the work: dropped
/// with a future, closed if blocking work hands it back later — and a failing verdict it
/// hands back with it reported) and the abandonment reported with `site` (the get it was
/// checked for, the lease that returned it).
fn check<M: Manager>(shared: &Arc<Shared<M>>, conn: Conn<M::Resource>, op: Op, site: Option<Site>) {
    let Conn {
        resource,
        expires_at,
        idle_since,
        created_at,
        lent,
    } = conn;
    let (work, why, bound) = match op {
        Op::Validate => (
            shared.manager.validate(resource),
            Retire::Invalid,
            shared.config.check_timeout,
        ),
        _ => (
            shared.manager.reset(resource),
            Retire::ResetFailed,
            shared.config.return_timeout,
        ),
    };
    let late = move |s: &Arc<Shared<M>>, (resource, verdict): (M::Resource, Result<(), _>)| {
        if let Err(e) = verdict {
            report_late(s, op, bound, site, e);
        }
        close_late(s, resource);
    };
    run_work(shared, work, bound, late, move |s, out| match out {
        Some((resource, verdict)) => {
            let conn = Conn {
                resource,
                expires_at,
                idle_since,
                created_at,
                lent,
            };
            step(s, |s, after| s.checked(conn, verdict.is_ok(), why, after));
        }
        None => step(s, |s, after| s.abandoned(op, site, after)),
    });
}

/// A resource handed back by work abandoned past its bound: closed through
/// [`Manager::close`] (itself bounded by `close_timeout`), outside the pool's slots (the
/// slot was freed when the bound passed); a failure is reported.
fn close_late<M: Manager>(shared: &Arc<Shared<M>>, resource: M::Resource) {
    let work = shared.manager.close(resource);
    let late = |s: &Arc<Shared<M>>, out: Result<(), BoxError>| {
        if let Err(e) = out {
            report_late_close(s, e);
        }
    };
    run_work(shared, work, shared.config.close_timeout, late, |s, out| {
        let error = match out {
            Some(Ok(())) => return,
            Some(Err(e)) => crate::error::Error::close(std::any::type_name::<M::Resource>(), e),
            None => {
                step(s, |s, _| s.count_abandoned());
                crate::error::Error::timed_out(Op::Close.what(), s.config.close_timeout)
            }
        };
        crate::sink::emit(
            s.sink.as_ref(),
            crate::sink::DropReport::Cleanup {
                context: "pool: closing a resource that came back past its bound",
                error,
            },
        );
    });
}

/// Reports an error that work abandoned past its bound ended with later (it has nowhere
/// else to go: the abandonment was counted and reported when the bound passed, and its
/// caller served otherwise): a create's error or a check's failing verdict, with the
/// operation, its bound and the site of the caller it was for.
fn report_late<M: Manager>(
    shared: &Shared<M>,
    op: Op,
    bound: Duration,
    site: Option<Site>,
    error: impl Into<BoxError>,
) {
    let whose = op.whose(&shared.config, site);
    crate::sink::emit(
        shared.sink.as_ref(),
        crate::sink::DropReport::Cleanup {
            context: op.failed_later(),
            error: crate::error::Error::failed_past(whose, bound, error),
        },
    );
}

/// Reports the error a close abandoned past its bound ended with later.
fn report_late_close<M: Manager>(shared: &Shared<M>, error: BoxError) {
    crate::sink::emit(
        shared.sink.as_ref(),
        crate::sink::DropReport::Cleanup {
            context: Op::Close.failed_later(),
            error: crate::error::Error::close(std::any::type_name::<M::Resource>(), error),
        },
    );
}

/// Runs `work` where it belongs, bounded by `bound`, then `done` with its output — or
/// `None` once the bound passed first:
/// - ready: inline;
/// - a future: on the pool's runtime, dropped (with what it owns) at the bound;
/// - blocking: on a worker thread of the pool's own, reused (`bound::spawn_work`; never
///   the runtime's blocking pool, whose shutdown waits for every task: a hung close there
///   would hang the program's exit), raced against a timer of real time; past the bound
///   the thread is left to finish on its own, and what it hands back then goes to `late`.
fn run_work<M: Manager, T: Send + 'static>(
    shared: &Arc<Shared<M>>,
    work: Work<T>,
    bound: Duration,
    late: impl FnOnce(&Arc<Shared<M>>, T) + Send + 'static,
    done: impl FnOnce(&Arc<Shared<M>>, Option<T>) + Send + 'static,
) {
    let s = shared.clone();
    match work {
        Work::Ready(v) => done(&s, Some(v)),
        Work::Blocking(f) => {
            let race = Arc::new(super::bound::Race::new(move |out| done(&s, out)));
            let s = shared.clone();
            let runner = race.clone();
            // The bound first: a job that finishes at once finds it there to take out.
            super::bound::arm(bound, race);
            super::bound::spawn_work(&shared.workers, move || {
                let v = f();
                if let Err(v) = runner.finish(v) {
                    late(&s, v);
                }
            });
        }
        Work::Future(fut) => {
            let task = async move {
                let out = tokio::time::timeout(bound, fut).await.ok();
                done(&s, out);
            };
            match &shared.runtime {
                Some(rt) => drop(rt.spawn(task)),
                // A manager that says `ASYNC = false` handed back a future: no mistake
                // of a manager's panics here; it runs on a thread and runtime of its own.
                None => crate::runtime::run_future_alone(("tenure-pool", "a future"), task),
            }
        }
    }
}

/// Runs [`Job::RetryAfter`]: after `wait`, creates for the waiters (again after the next
/// backoff if the pool's clock says it has not passed yet).
#[cfg(not(loom))]
fn retry_after<M: Manager>(shared: &Arc<Shared<M>>, wait: Duration) {
    let s = shared.clone();
    let rt = shared.runtime.as_ref();
    crate::runtime::run_later(
        rt,
        ("tenure-pool-retry", "retrying a create"),
        wait,
        move || step(&s, |s, after| s.retry(after)),
    );
}

/// Loom models have no time: a retry is never armed there (their creates do not fail).
#[cfg(loom)]
fn retry_after<M: Manager>(_: &Arc<Shared<M>>, _: Duration) {}
