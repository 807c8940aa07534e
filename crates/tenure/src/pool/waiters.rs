//! The FIFO queue of callers waiting for a resource: a [`Slab`] of waiters (no allocation
//! in the steady state) and the order they came in. Everything here runs under the pool's
//! lock; waking happens after it is released.

use crate::sync::thread::Thread;
use std::collections::VecDeque;
use std::panic::Location;
use std::task::Waker;

use super::slab::{Key, Slab};

/// How to wake one waiter.
pub(super) enum Wake {
    Task(Waker),
    Thread(Thread),
    None,
}

impl Wake {
    pub(super) fn wake(self) {
        match self {
            Wake::Task(w) => w.wake(),
            Wake::Thread(t) => t.unpark(),
            Wake::None => {}
        }
    }
}

/// Where a waiter stands.
enum Standing<T, F> {
    Waiting(Wake),
    /// Handed a resource: the waiter takes it (or, cancelled, hands it on).
    Served(T),
    /// Failed (the create it waited for failed, the pool closed).
    Failed(F),
}

/// A waiter's slot: where it stands, and its deadline if the pool's timer enforces one.
struct Waiter<T, F> {
    standing: Standing<T, F>,
    deadline: Option<Deadline>,
    /// Where it called `get` (for the report of a check for it abandoned past its bound).
    site: &'static Location<'static>,
}

impl<T, F> Waiter<T, F> {
    fn waiting(&self) -> bool {
        matches!(self.standing, Standing::Waiting(_))
    }
}

/// A waiter's place: its slot in the slab (a stale ticket reaches nothing).
pub(super) type Ticket = Key;

/// When an async waiter gives up: its deadline (tokio's clock, so paused time applies) and
/// its timeout (the `waited` of its error). Enforced by the pool's timer task.
pub(super) type Deadline = (tokio::time::Instant, std::time::Duration);

pub(super) struct Waiters<T, F> {
    slots: Slab<Waiter<T, F>>,
    /// Waiting tickets, oldest first; tickets whose waiter moved on are skipped lazily.
    order: VecDeque<Ticket>,
    waiting: usize,
}

impl<T, F> Waiters<T, F> {
    pub(super) fn new() -> Self {
        Waiters {
            slots: Slab::default(),
            order: VecDeque::new(),
            waiting: 0,
        }
    }

    /// Callers waiting (not yet served or failed).
    pub(super) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Joins the back of the queue.
    pub(super) fn push(
        &mut self,
        wake: Wake,
        deadline: Option<Deadline>,
        site: &'static Location<'static>,
    ) -> Ticket {
        let ticket = self.slots.insert(Waiter {
            standing: Standing::Waiting(wake),
            deadline,
            site,
        });
        self.order.push_back(ticket);
        self.waiting += 1;
        ticket
    }

    /// Where the `n`th oldest caller still waiting called `get`.
    pub(super) fn site_of(&self, n: usize) -> Option<&'static Location<'static>> {
        self.order
            .iter()
            .filter_map(|t| self.slots.get(*t))
            .filter(|w| w.waiting())
            .nth(n)
            .map(|w| w.site)
    }

    /// Hands `value` to the oldest waiter and returns how to wake it; gives `value` back
    /// when nobody waits.
    pub(super) fn serve(&mut self, value: T) -> Result<Wake, T> {
        self.settle_oldest(Standing::Served(value))
            .map_err(|standing| match standing {
                Standing::Served(v) => v,
                _ => unreachable!("given back as it came"),
            })
    }

    /// Fails the oldest waiter with `error`; gives it back when nobody waits.
    pub(super) fn fail_oldest(&mut self, error: F) -> Result<Wake, F> {
        self.settle_oldest(Standing::Failed(error))
            .map_err(|standing| match standing {
                Standing::Failed(e) => e,
                _ => unreachable!("given back as it came"),
            })
    }

    /// Puts `outcome` in the oldest waiting slot (skipping stale tickets) and returns its
    /// wake; `outcome` back when nobody waits.
    fn settle_oldest(&mut self, outcome: Standing<T, F>) -> Result<Wake, Standing<T, F>> {
        while let Some(t) = self.order.pop_front() {
            if let Some(w) = self.slots.get_mut(t) {
                if w.waiting() {
                    let Standing::Waiting(wake) = std::mem::replace(&mut w.standing, outcome)
                    else {
                        unreachable!("matched above")
                    };
                    self.waiting -= 1;
                    return Ok(wake);
                }
            }
        }
        Err(outcome)
    }

    /// Fails every waiter with a copy of `error` (the pool closed); the wakes to call.
    pub(super) fn fail_all(&mut self, error: impl Fn() -> F) -> Vec<Wake> {
        let mut wakes = Vec::new();
        while let Ok(w) = self.fail_oldest(error()) {
            wakes.push(w);
        }
        wakes
    }

    /// A waiter looks at its slot: `Some` once served or failed (the slot is freed), else
    /// its wake is updated.
    pub(super) fn poll(&mut self, t: Ticket, wake: impl FnOnce() -> Wake) -> Option<Result<T, F>> {
        self.poll_with(t, |w| *w = wake())
    }

    /// [`poll`](Self::poll) for a blocked thread: its wake (its own thread, which never
    /// changes) stays as it is — no handle cloned and dropped per look.
    pub(super) fn poll_thread(&mut self, t: Ticket) -> Option<Result<T, F>> {
        self.poll_with(t, |_| {})
    }

    /// [`poll`](Self::poll) for a task: its waker is cloned only if it changed.
    pub(super) fn poll_task(
        &mut self,
        t: Ticket,
        waker: &std::task::Waker,
    ) -> Option<Result<T, F>> {
        self.poll_with(t, |w| match w {
            Wake::Task(old) if old.will_wake(waker) => {}
            w => *w = Wake::Task(waker.clone()),
        })
    }

    fn poll_with(&mut self, t: Ticket, update: impl FnOnce(&mut Wake)) -> Option<Result<T, F>> {
        if let Standing::Waiting(w) = &mut self.slots.get_mut(t)?.standing {
            update(w);
            return None;
        }
        match self.slots.remove(t)?.standing {
            Standing::Served(v) => Some(Ok(v)),
            Standing::Failed(e) => Some(Err(e)),
            Standing::Waiting(_) => unreachable!("matched above"),
        }
    }

    /// Fails every waiter whose deadline is at or before `now` with `error(its timeout)`;
    /// the wakes to call.
    #[cfg_attr(loom, allow(dead_code))] // the timer task's; loom models have none
    pub(super) fn expire(
        &mut self,
        now: tokio::time::Instant,
        error: impl Fn(std::time::Duration) -> F,
        wakes: &mut impl Extend<Wake>,
    ) -> usize {
        let mut expired = 0;
        for w in self.slots.iter_mut() {
            let Some((at, timeout)) = w.deadline else {
                continue;
            };
            if at <= now && w.waiting() {
                let failed = Standing::Failed(error(timeout));
                let Standing::Waiting(wake) = std::mem::replace(&mut w.standing, failed) else {
                    unreachable!("matched above")
                };
                w.deadline = None;
                self.waiting -= 1;
                expired += 1;
                wakes.extend(Some(wake));
            }
        }
        expired
    }

    /// The earliest deadline of a waiter still waiting.
    #[cfg_attr(loom, allow(dead_code))] // the timer task's; loom models have none
    pub(super) fn next_deadline(&self) -> Option<tokio::time::Instant> {
        self.slots
            .iter()
            .filter(|w| w.waiting())
            .filter_map(|w| w.deadline.map(|(at, _)| at))
            .min()
    }

    /// A waiter leaves (cancelled, timed out). If it had been served meanwhile, the value
    /// comes back, for the caller to hand on.
    pub(super) fn cancel(&mut self, t: Ticket) -> Option<T> {
        match self.slots.remove(t)?.standing {
            Standing::Waiting(_) => {
                self.waiting -= 1;
                // Its ticket in `order` is now stale; drop it now if it is at the front,
                // to keep the queue short.
                while self
                    .order
                    .front()
                    .is_some_and(|f| !self.slots.get(*f).is_some_and(Waiter::waiting))
                {
                    self.order.pop_front();
                }
                None
            }
            Standing::Served(v) => Some(v),
            Standing::Failed(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_oldest_waiter_first_and_skips_the_ones_that_left() {
        let mut w: Waiters<u32, ()> = Waiters::new();
        let a = w.push(Wake::None, None, Location::caller());
        let b = w.push(Wake::None, None, Location::caller());
        let c = w.push(Wake::None, None, Location::caller());
        assert_eq!(w.waiting(), 3);
        assert!(w.cancel(a).is_none());
        assert_eq!(
            w.order.len(),
            2,
            "the one that left at the front is dropped at once"
        );
        assert!(w.serve(1).is_ok());
        assert!(w.serve(2).is_ok());
        assert_eq!(w.serve(3).err(), Some(3), "nobody left");
        assert_eq!(w.poll(b, || Wake::None).map(|r| r.ok()), Some(Some(1)));
        assert_eq!(w.poll(c, || Wake::None).map(|r| r.ok()), Some(Some(2)));
        assert_eq!(w.waiting(), 0);
    }

    #[test]
    fn a_served_waiter_that_leaves_gives_the_value_back_and_slots_are_reused() {
        let mut w: Waiters<u32, ()> = Waiters::new();
        let a = w.push(Wake::None, None, Location::caller());
        assert!(w.serve(9).is_ok());
        assert_eq!(w.cancel(a), Some(9));
        let b = w.push(Wake::None, None, Location::caller());
        assert_eq!(w.slots.slots(), 1, "the slot was reused");
        assert_ne!(a, b, "a new generation");
        assert!(
            w.poll(a, || Wake::None).is_none(),
            "the old ticket reaches nothing"
        );
        assert!(w.fail_oldest(()).is_ok());
        // Its slot now holds b's outcome: the old ticket still reaches nothing.
        assert!(w.poll(a, || Wake::None).is_none());
        assert!(w.cancel(a).is_none());
        assert_eq!(w.poll(b, || Wake::None).map(|r| r.is_err()), Some(true));
    }

    /// Counts its wakes.
    struct Count(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiter_polled_from_another_task_is_woken_there() {
        use std::sync::atomic::Ordering::SeqCst;
        let (a, b) = (
            std::sync::Arc::new(Count(Default::default())),
            std::sync::Arc::new(Count(Default::default())),
        );
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut w: Waiters<u32, ()> = Waiters::new();
        let t = w.push(Wake::Task(wa.clone()), None, Location::caller());
        assert!(w.poll_task(t, &wa).is_none(), "same task: kept");
        assert!(w.poll_task(t, &wb).is_none(), "moved to another task");
        w.serve(1).expect("one waiter").wake();
        assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 1));
    }
}
