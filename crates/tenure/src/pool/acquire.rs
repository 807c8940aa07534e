//! Waiting for a resource: the [`Acquire`] future of [`Pool::get`](super::Pool::get) and
//! the blocking wait of [`Pool::get_blocking`](super::Pool::get_blocking), in one line.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::sync::Arc;

use super::after::After;
use super::error::PoolError;
use super::lease::Lease;
use super::manager::Manager;
use super::state::{Served, Shared, Step};
use super::time::Instant;
use super::waiters::{Ticket, Wake};
use super::work::{run_after, step};
use crate::runtime::BlockingWait;

/// The lease of a served waiter (the lock released): its wait published.
fn waited<M: Manager>(
    shared: Arc<Shared<M>>,
    served: Result<Served<M>, PoolError<M::Error>>,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let Served { conn, slot, wait } = served?;
    #[cfg(feature = "metrics")]
    shared.metrics.wait(wait);
    tracing::trace!(target: "tenure", pool = &*shared.config.name, wait_us = wait.as_micros() as u64, %site, "acquired after waiting");
    Ok(Lease::new(shared, conn, slot))
}

/// The deadline passed: leave the line — unless served meanwhile, then take it.
fn give_up<M: Manager>(
    shared: Arc<Shared<M>>,
    ticket: Ticket,
    start: Instant,
    waited_for: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    let r = shared.time_out(ticket, start, waited_for, site);
    waited(shared, r, site)
}

/// Acquires from a thread, blocking it up to `timeout` (see
/// [`Pool::get_blocking`](super::Pool::get_blocking)).
pub(super) fn get_blocking<M: Manager>(
    shared: &Arc<Shared<M>>,
    timeout: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
    // Inside a multi-thread runtime's worker, a wait goes through `block_in_place`.
    let how = crate::runtime::blocking_wait();
    if how == BlockingWait::Refused {
        return Err(PoolError::WouldBlockRuntime);
    }
    // Served at once blocks nothing (and needs no `block_in_place`, which hands the
    // worker's other tasks to another thread).
    if let Some((conn, slot)) = shared.try_lend(shared.now(), site) {
        return Ok(Lease::new(shared.clone(), conn, slot));
    }
    if how == BlockingWait::InPlace {
        tokio::task::block_in_place(|| wait_blocking(shared, timeout, site))
    } else {
        wait_blocking(shared, timeout, site)
    }
}

fn wait_blocking<M: Manager>(
    shared: &Arc<Shared<M>>,
    timeout: Duration,
    site: &'static Location<'static>,
) -> Result<Lease<M>, PoolError<M::Error>> {
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
        Step::Ready(conn, slot) => return Ok(Lease::new(shared.clone(), conn, slot)),
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
            return waited(shared.clone(), r, site);
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            // Reported as the timeout it waited out, as an async acquire's is (a park wakes
            // a little late, by however much the scheduler chose).
            return give_up(shared.clone(), ticket, start, timeout, site);
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
        // Moved into the lease when it is served (`None` once done).
        shared: Option<Arc<Shared<M>>>,
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
            if let (AcquireState::Waiting(t, _), Some(shared)) = (*this.state, this.shared.as_ref()) {
                step(shared, |s, after| s.leave(t, after));
            }
        }
    }
}

impl<M: Manager> Acquire<M> {
    pub(super) fn new(
        shared: Arc<Shared<M>>,
        timeout: Duration,
        site: &'static Location<'static>,
    ) -> Self {
        Acquire {
            shared: Some(shared),
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
        let Some(shared) = this.shared.as_ref() else {
            panic!("Acquire polled after it finished");
        };
        match *this.state {
            AcquireState::Done => panic!("Acquire polled after it finished"),
            AcquireState::Start => {
                let now = shared.now();
                if let Some((conn, slot)) = shared.try_lend(now, this.site) {
                    *this.state = AcquireState::Done;
                    let shared = this.shared.take().expect("checked above");
                    let lease = Lease::new(shared, conn, slot);
                    return Poll::Ready(Ok(lease));
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
                run_after(shared, after);
                match step {
                    Step::Ready(conn, slot) => {
                        *this.state = AcquireState::Done;
                        let shared = this.shared.take().expect("checked above");
                        let lease = Lease::new(shared, conn, slot);
                        return Poll::Ready(Ok(lease));
                    }
                    Step::Fail(e) => {
                        *this.state = AcquireState::Done;
                        *this.shared = None;
                        return Poll::Ready(Err(e));
                    }
                    Step::Wait(t) => *this.state = AcquireState::Waiting(t, now),
                }
            }
            AcquireState::Waiting(..) => {}
        }
        let AcquireState::Waiting(t, start) = *this.state else {
            unreachable!("the other states returned above")
        };
        if let Some(r) = shared.poll_task(t, cx.waker(), start, this.site) {
            *this.state = AcquireState::Done;
            let shared = this.shared.take().expect("checked above");
            return Poll::Ready(waited(shared, r, this.site));
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
        let shared = this.shared.take().expect("checked above");
        Poll::Ready(give_up(shared, t, start, *this.timeout, this.site))
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
