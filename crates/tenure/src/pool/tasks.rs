//! The pool's own tasks: the background driver (maintenance every
//! `maintenance_interval`), the relays (see `after::Relay`) and the timer that bounds every
//! async waiter's wait; and their stand-ins under loom, whose models have no runtime and
//! no time.

use crate::sync::Arc;

use super::manager::Manager;
use super::state::Shared;

/// Starts the background driver: one maintenance round every `maintenance_interval`, on
/// the pool's runtime (a task) or else a thread of its own (`crate::runtime::run_every`).
/// It holds the pool weakly and stops once the pool is gone or closed.
#[cfg(not(loom))]
pub(super) fn start_driver<M: Manager>(shared: &Arc<Shared<M>>) {
    let Some(every) = shared.config.maintenance_interval else {
        return;
    };
    let weak = Arc::downgrade(shared);
    // One round; `false` once there is nothing left to maintain.
    let round = move || match weak.upgrade() {
        Some(s) if !s.is_closed() => {
            let now = s.now();
            super::work::step(&s, |s, after| s.maintain_at(now, after));
            true
        }
        _ => false,
    };
    let rt = shared.runtime.as_ref();
    crate::runtime::run_every(
        rt,
        ("tenure-pool-maintenance", "its maintenance"),
        every,
        round,
    );
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

/// Starts the pool's timer task: one tokio timer for every async waiter's timeout, instead
/// of one per waiter (registering and removing a timer per waited acquire costs as much as
/// the handoff itself). It sleeps until the earliest deadline of those waiting, fails the
/// waiters whose deadline passed with `PoolError::Timeout`, and sleeps again; a waiter
/// that joins with an earlier deadline wakes it. It holds the pool weakly and ends with it.
#[cfg(not(loom))]
pub(super) fn start_timer<M: Manager>(shared: &Arc<Shared<M>>) {
    use std::task::Poll;
    use std::time::Duration;
    let Some(rt) = &shared.runtime else { return };
    let weak = Arc::downgrade(shared);
    drop(rt.spawn(async move {
        let mut sleep = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
        std::future::poll_fn(move |cx| loop {
            let Some(s) = weak.upgrade() else {
                return Poll::Ready(());
            };
            let now = tokio::time::Instant::now();
            let next = super::work::step(&s, |s, after| s.expire_waiters(now, cx.waker(), after));
            drop(s);
            match next {
                Err(()) => return Poll::Ready(()), // closed
                Ok(None) => return Poll::Pending,
                Ok(Some(at)) => {
                    sleep.as_mut().reset(at);
                    if std::future::Future::poll(sleep.as_mut(), cx).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
        })
        .await
    }));
}

/// Loom models have no runtime and no time: no driver, no relays, no timer (loom's `Arc`
/// has no `Weak`); they call `maintain` themselves.
#[cfg(loom)]
pub(super) fn start_driver<M: Manager>(_: &Arc<Shared<M>>) {}
#[cfg(loom)]
pub(super) fn start_relays<M: Manager>(_: &Arc<Shared<M>>) {}
#[cfg(loom)]
pub(super) fn start_timer<M: Manager>(_: &Arc<Shared<M>>) {}
