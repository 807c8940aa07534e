//! What runs once the state lock is released ([`run_after`]: the wakes, a relay, the leak
//! reports, the jobs) and where each job runs ([`run_work`]: inline when ready, a thread
//! of its own when blocking, the pool's runtime when async — as `crate::runtime` decides);
//! each job's end comes back through a step of the state.

use crate::sync::Arc;
use std::time::Duration;

use super::after::{After, Job};
use super::manager::{Checked, Manager, Work};
use super::shard::Conn;
use super::state::Shared;
use super::stats::Retire;
use crate::error::BoxError;

/// Runs what `after` collected: the wakes first, then each job on its way.
#[inline]
pub(super) fn run_after<M: Manager>(shared: &Arc<Shared<M>>, after: After<M>) {
    if after.wakes.is_empty() && after.jobs.is_empty() && after.leaks.is_empty() {
        // The steady state: a lease lent or returned, nothing else to do. Nothing was
        // pushed, so nothing was allocated: skip the drop glue.
        debug_assert!(!after.wakes.allocated() && !after.jobs.allocated());
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
        relay(shared);
    }
    for leak in after.leaks {
        shared.report_leak(leak);
    }
    for job in after.jobs {
        start(shared, job);
    }
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

/// Starts one job; its end comes back through a step of the state.
fn start<M: Manager>(shared: &Arc<Shared<M>>, job: Job<M>) {
    match job {
        Job::RetryAfter(wait) => retry_after(shared, wait),
        Job::Create => {
            let work = shared.manager.create();
            let timeout = shared.config.create_timeout;
            run_work(shared, work, Some(timeout), move |s, out| {
                let result = match out {
                    Some(Ok(r)) => Ok(r),
                    Some(Err(e)) => Err(Some(e)),
                    None => Err(None),
                };
                step(s, |s, after| s.created(result, after));
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
                    let result = out.expect("a close is not bounded");
                    step(s, |s, after| s.closed_one(result, why, after));
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
            step(s, |s, after| s.checked(conn, verdict.is_ok(), why, after));
        }
        None => step(s, |s, after| s.abandoned(after)),
    });
}

/// Runs `work` where it belongs — inline if ready, a thread of its own if blocking, the
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
        Work::Blocking(f) => {
            let rt = shared.runtime.as_ref();
            crate::runtime::run_blocking(rt, ("tenure-pool", "its work"), move || {
                done(&s, Some(f()))
            });
        }
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
