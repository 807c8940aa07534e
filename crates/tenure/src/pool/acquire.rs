//! Waiting for a resource: the [`Acquire`] future of [`Pool::get`](super::Pool::get) and
//! the blocking wait of [`Pool::get_blocking`](super::Pool::get_blocking), in one line.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::sync::Arc;

use super::after::After;
use super::anchor::{Anchor, Anchors};
use super::error::PoolError;
use super::lease::Lease;
use super::manager::Manager;
use super::state::{Served, Step};
use super::time::Instant;
use super::waiters::{Ticket, Wake};
use super::work::{run_after, step};
use crate::runtime::BlockingWait;

/// The lease of a served waiter (the lock released): its wait published.
fn waited<M: Manager>(
    anchor: Arc<Anchor<M>>,
    served: Result<Served<M>, PoolError<M::Error>>,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let Served { conn, slot, wait } = served?;
    let shared = &anchor.shared;
    #[cfg(feature = "metrics")]
    shared.metrics.wait(wait);
    tracing::trace!(target: "tenure", pool = &*shared.config.name, wait_us = wait.as_micros() as u64, %site, "acquired after waiting");
    Ok(Lease::new(anchor, conn, slot))
}

/// The deadline passed: leave the line — unless served meanwhile, then take it.
fn give_up<M: Manager>(
    anchor: Arc<Anchor<M>>,
    ticket: Ticket,
    start: Instant,
    waited_for: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let r = anchor.shared.time_out(ticket, start, waited_for, site);
    waited(anchor, r, site)
}

/// Acquires from a thread, blocking it up to `timeout` (see
/// [`Pool::get_blocking`](super::Pool::get_blocking)).
pub(super) fn get_blocking<M: Manager>(
    anchors: &Anchors<M>,
    timeout: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let anchor = anchors.here();
    let shared = &anchor.shared;
    // Inside a multi-thread runtime's worker, a wait goes through `block_in_place`.
    let how = crate::runtime::blocking_wait();
    if how == BlockingWait::Refused {
        return Err(PoolError::WouldBlockRuntime);
    }
    // Served at once blocks nothing (and needs no `block_in_place`, which hands the
    // worker's other tasks to another thread).
    if let Some((conn, slot)) = shared.try_lend(shared.now(), site) {
        return Ok(Lease::new(anchor, conn, slot));
    }
    if how == BlockingWait::InPlace {
        tokio::task::block_in_place(|| wait_blocking(anchor, timeout, site))
    } else {
        wait_blocking(anchor, timeout, site)
    }
}

fn wait_blocking<M: Manager>(
    anchor: Arc<Anchor<M>>,
    timeout: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let shared = &anchor.shared;
    let start = shared.now();
    let me = || Wake::Thread(crate::sync::thread::current());
    // A thread bounds its own wait (it parks with a timeout).
    let mut after = After::new();
    let first = shared.begin(start, || (me(), None), site, &mut after);
    // Nothing ran on this thread after the step (no wake, no job, no report), so nothing
    // here can have taken the unpark token a hand-over to it leaves: it may park before it
    // first looks (the park returns at once if served meanwhile). A look first would cost
    // a lock and a clock read on every wait, to find it still waiting.
    let park_first = after.is_empty();
    run_after(shared, after);
    let ticket = match first {
        Step::Ready(conn, slot) => return Ok(Lease::new(anchor, conn, slot)),
        Step::Fail(e) => return Err(e),
        Step::Wait(t) => t,
    };
    // The deadline is real time (a thread parks on it), whatever the pool's clock.
    let deadline = std::time::Instant::now() + timeout;
    if park_first {
        crate::sync::thread::park_timeout(timeout);
    }
    loop {
        if let Some(r) = shared.poll_thread(ticket, start, site) {
            return waited(anchor, r, site);
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            // Reported as the timeout it waited out, as an async acquire's is (a park wakes
            // a little late, by however much the scheduler chose).
            return give_up(anchor, ticket, start, timeout, site);
        }
        crate::sync::thread::park_timeout(deadline - now);
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Pool::get`](super::Pool::get): a named type, so `#[track_caller]`
    /// records the caller.
    ///
    /// ```
    /// # use tenure::pool::{from_fn, Pool, PoolConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let manager = from_fn(|| Ok::<(), std::io::Error>(())); // a pool of ()
    /// let pool = Pool::new(manager, PoolConfig::default())?;
    /// let acquire: tenure::pool::Acquire<_> = pool.get();
    /// drop(acquire.await?);
    /// # Ok(()) }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Acquire<M: Manager> {
        // The pool's engine, through the anchor of the thread that called `get`: moved into
        // the lease when it is served (`None` once done).
        anchor: Option<Arc<Anchor<M>>>,
        state: AcquireState,
        timeout: Duration,
        // The timeout of a pool without a runtime (a sync manager built outside one),
        // armed when it first waits; with a runtime the pool's timer task enforces it.
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
        site: &'static Location<'static>,
    }

    /// Leaves the line if still in it; a resource handed over meanwhile goes to the next.
    impl<M: Manager> PinnedDrop for Acquire<M> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (AcquireState::Waiting(t, _), Some(anchor)) = (*this.state, this.anchor.as_ref()) {
                step(&anchor.shared, |s, after| s.leave(t, after));
            }
        }
    }
}

impl<M: Manager> Acquire<M> {
    pub(super) fn new(
        anchor: Arc<Anchor<M>>,
        timeout: Duration,
        site: &'static Location<'static>,
    ) -> Self {
        Acquire {
            anchor: Some(anchor),
            state: AcquireState::Start,
            timeout,
            sleep: None,
            site,
        }
    }
}

#[derive(Clone, Copy)]
enum AcquireState {
    Start,
    /// In line since the given time, by the pool's clock (its wait time).
    Waiting(Ticket, Instant),
    Done,
}

impl<M: Manager> Future for Acquire<M> {
    type Output = Result<Lease<M>, PoolError<M::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(anchor) = this.anchor.as_ref() else {
            panic!("Acquire polled after it finished");
        };
        let shared = &anchor.shared;
        let (t, start, look) = match *this.state {
            AcquireState::Done => panic!("Acquire polled after it finished"),
            AcquireState::Start => {
                let now = shared.now();
                if let Some((conn, slot)) = shared.try_lend(now, this.site) {
                    *this.state = AcquireState::Done;
                    let anchor = this.anchor.take().expect("checked above");
                    return Poll::Ready(Ok(Lease::new(anchor, conn, slot)));
                }
                let mut after = After::new();
                let timeout = *this.timeout;
                let timed_by_pool = shared.times_async_waits();
                let step = shared.begin(
                    now,
                    || {
                        let deadline =
                            timed_by_pool.then(|| (tokio::time::Instant::now() + timeout, timeout));
                        (Wake::Task(cx.waker().clone()), deadline)
                    },
                    this.site,
                    &mut after,
                );
                // Nothing ran on this thread after the step (no job, wake or report) that
                // could have served it: see `Step::Wait` below.
                let nothing_ran = after.is_empty();
                run_after(shared, after);
                match step {
                    Step::Ready(conn, slot) => {
                        *this.state = AcquireState::Done;
                        let anchor = this.anchor.take().expect("checked above");
                        return Poll::Ready(Ok(Lease::new(anchor, conn, slot)));
                    }
                    Step::Fail(e) => {
                        *this.state = AcquireState::Done;
                        *this.anchor = None;
                        return Poll::Ready(Err(e));
                    }
                    // In line with this poll's waker: whatever serves or fails it later wakes
                    // this task. If nothing ran on this thread after the step, nothing served
                    // it here either, so it does not look at its place now (the look would
                    // lock the state again to find it still waiting); a job or a wake that
                    // ran after the step may have served it at once, and then it looks.
                    Step::Wait(t) => {
                        *this.state = AcquireState::Waiting(t, now);
                        (t, now, !nothing_ran)
                    }
                }
            }
            AcquireState::Waiting(t, start) => (t, start, true),
        };
        if look {
            if let Some(r) = shared.poll_task(t, cx.waker(), start, this.site) {
                *this.state = AcquireState::Done;
                let anchor = this.anchor.take().expect("checked above");
                return Poll::Ready(waited(anchor, r, this.site));
            }
        }
        // Loom models have no timers: an acquire there waits untimed. With a runtime, the
        // pool's timer task fails the slot at the deadline and wakes this task.
        if cfg!(loom) || shared.times_async_waits() {
            return Poll::Pending;
        }
        let timeout = *this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        *this.state = AcquireState::Done;
        let anchor = this.anchor.take().expect("checked above");
        Poll::Ready(give_up(anchor, t, start, *this.timeout, this.site))
    }
}

impl<M: Manager> std::fmt::Debug for Acquire<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            AcquireState::Start => "not polled yet",
            AcquireState::Waiting(..) => "waiting in line",
            AcquireState::Done => "done",
        };
        f.debug_struct("Acquire")
            .field("state", &state)
            .field("timeout", &self.timeout)
            .field("site", &self.site)
            .finish()
    }
}
