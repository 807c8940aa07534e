//! Property tests of the pool against a reference model: random sequences of gets (blocking
//! with a zero or short timeout, or async futures polled by hand and kept pending as
//! waiters), `try_get`s, releases, cancellations, discards, detaches, resizes, `retain`s,
//! `warm_up`s, failing creates and a close, on a pool whose manager does everything inline (`Work::ready`), so every step is
//! deterministic. After each step the pool's `status()` must be the model's; every waiter
//! is served first come, first served (the model predicts which resource each gets, and
//! polling checks it); a resource handed to a cancelled waiter goes to the next; and at the
//! end every resource was closed exactly once.
//!
//! The model is written from the documented rules, not from the implementation:
//! - a get takes an idle resource only if nobody waits (no barging); otherwise it joins
//!   the back of the line (or is refused when `max_waiters` wait), and creates start while
//!   waiters outnumber what is coming and the size allows; a created or returned resource
//!   goes to the oldest waiter, a failed create fails the oldest waiter;
//! - a returned resource is retired instead when the pool is closed or above its size;
//! - a discarded resource is closed, a detached one leaves the pool, and either frees its
//!   slot for a waiter; `resize(n)` retires idle resources above `n` at once, and lent ones
//!   as they come back;
//! - `close` fails every waiter, closes the idle resources now and lent ones on return;
//! - under `Validation::Always` (the model runs with and without it; its checks are inline
//!   and the next `n` of them fail), a get checks idle resources one after another, each
//!   that fails closed, and takes the first good one — creating only once none is left
//!   (no caller waits while a resource sits idle; a failed check moves on to the next idle
//!   resource before any create); a returned resource is checked before it goes to a
//!   waiter, and one that fails is closed and a create started instead;
//! - `try_get` takes an idle resource that needs no check (none does unless checks are on)
//!   when nobody waits, else fails at once with `WouldWait` (`Closed` once closed) — it
//!   joins no line, starts no create and no check;
//! - `warm_up` creates toward `min_idle` in rounds of at most `max_concurrent_creates`
//!   (within the size), until `min_idle` are idle or the size is reached; a round in which
//!   a create failed ends it with that error (the round's other creates still count);
//! - `retain` closes the idle resources its predicate rejects and keeps the others, and
//!   says how many of each.
//!
//! Which idle resource a get or a shrink takes is not promised, so the model keeps the idle
//! set and checks membership (the ledger says which ones a shrink closed).
#![cfg(all(feature = "pool", feature = "testing"))]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use tenure::error::BoxError;
use tenure::pool::{
    Acquire, Lease, Manager, Pool, PoolConfig, PoolError, Status, Validation, Work,
};
use tenure::testing::{InjectedFault, Ledger, Op, TestResource};
use tenure::Close;

/// Everything inline: creates from the ledger (the next `fail` of them fail), checks
/// (the next `fail_check` of them fail), closes with `Close`.
struct Inline {
    ledger: Ledger,
    fail: Arc<AtomicUsize>,
    fail_check: Arc<AtomicUsize>,
}

impl Manager for Inline {
    type Resource = TestResource;
    type Error = InjectedFault;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<TestResource, InjectedFault>> {
        let failing = self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Work::ready(if failing {
            Err(InjectedFault {
                op: Op::Acquire,
                kind: "conn".into(),
                n: 0,
            })
        } else {
            self.ledger.acquire("conn")
        })
    }
    fn close(&self, r: TestResource) -> Work<Result<(), BoxError>> {
        Work::ready(Close::close(r).map_err(Into::into))
    }
    fn validate(&self, r: TestResource) -> tenure::pool::Checked<Self> {
        let failing = self
            .fail_check
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let verdict = match failing {
            true => Err(InjectedFault {
                op: Op::Validate,
                kind: "conn".into(),
                n: 0,
            }),
            false => Ok(()),
        };
        Work::ready((r, verdict))
    }
}

#[derive(Debug, Clone)]
enum Action {
    /// `get_blocking_timeout`: zero, or 1 ms.
    GetBlocking {
        short: bool,
    },
    /// `get()` polled once; kept as a waiter if pending.
    GetAsync,
    /// Drop a held lease.
    Release(Index),
    /// Drop a pending `get()` future.
    Cancel(Index),
    /// Poll a pending `get()` future again.
    Poll(Index),
    Discard(Index),
    Detach(Index),
    Resize(usize),
    /// The next create fails.
    FailNextCreate,
    /// The next check fails (under `Validation::Always`).
    FailNextCheck,
    /// `try_get()`.
    TryGet,
    /// `warm_up_blocking()`.
    WarmUp,
    /// `retain`, keeping the resources whose id's bit is set in the mask.
    Retain(u64),
    Close,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        7 => Just(Action::GetAsync),
        3 => prop_oneof![5 => Just(false), 1 => Just(true)]
            .prop_map(|short| Action::GetBlocking { short }),
        5 => any::<Index>().prop_map(Action::Release),
        3 => any::<Index>().prop_map(Action::Cancel),
        3 => any::<Index>().prop_map(Action::Poll),
        1 => any::<Index>().prop_map(Action::Discard),
        1 => any::<Index>().prop_map(Action::Detach),
        2 => (1usize..=5).prop_map(Action::Resize),
        1 => Just(Action::FailNextCreate),
        2 => Just(Action::FailNextCheck),
        3 => Just(Action::TryGet),
        2 => Just(Action::WarmUp),
        1 => any::<u64>().prop_map(Action::Retain),
        1 => Just(Action::Close),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failed {
    Create,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiter {
    Pending,
    Served(u64),
    Failed(Failed),
}

/// What a get does first, says the model.
#[derive(Debug)]
enum Begin {
    /// Takes one of the idle resources.
    Direct,
    /// Refused at once.
    Refused(Expect),
    /// In line, as this waiter (perhaps served or failed already).
    Joined(usize),
}

/// How an acquire ends, says the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Lease(u64),
    Create,
    Closed,
    Saturated,
    Timeout,
    WouldWait,
}

/// The reference model.
#[derive(Debug)]
struct Model {
    max: usize,
    max_waiters: usize,
    min_idle: usize,
    creates_at_once: usize,
    /// Resources that exist: idle, lent, handed to a waiter.
    size: usize,
    idle: BTreeSet<u64>,
    /// Waiting, oldest first.
    line: VecDeque<usize>,
    waiters: BTreeMap<usize, Waiter>,
    next_waiter: usize,
    /// The ledger id the next successful create gets.
    next_id: u64,
    fail_next: usize,
    /// Whether every checkout is checked (`Validation::Always`), and how many of the next
    /// checks fail.
    checks: bool,
    fail_check: usize,
    closed: bool,
    /// Closes this step should have made: these resources, and `idle_closes` of the idle.
    closes: BTreeSet<u64>,
    idle_closes: usize,
}

/// What a case draws: the pool's sizes and policy, shared by the pool and its model.
#[derive(Debug, Clone, Copy)]
struct Shape {
    max: usize,
    max_waiters: usize,
    min_idle: usize,
    creates_at_once: usize,
    /// `Validation::Always` (else `Never`).
    checks: bool,
}

impl Model {
    fn new(shape: Shape) -> Self {
        let Shape {
            max,
            max_waiters,
            min_idle,
            creates_at_once,
            checks,
        } = shape;
        Model {
            min_idle,
            creates_at_once,
            checks,
            fail_check: 0,
            max,
            max_waiters,
            size: 0,
            idle: BTreeSet::new(),
            line: VecDeque::new(),
            waiters: BTreeMap::new(),
            next_waiter: 0,
            next_id: 1,
            fail_next: 0,
            closed: false,
            closes: BTreeSet::new(),
            idle_closes: 0,
        }
    }

    fn served(&self) -> usize {
        self.waiters
            .values()
            .filter(|w| matches!(w, Waiter::Served(_)))
            .count()
    }

    fn close(&mut self, id: u64) {
        self.size -= 1;
        self.closes.insert(id);
    }

    /// Creates while waiters outnumber what is coming and the size allows; each create
    /// serves (or, failing, fails) the oldest waiter.
    fn create_for_waiters(&mut self) {
        while !self.closed && !self.line.is_empty() && self.size < self.max {
            let w = self.line.pop_front().unwrap();
            if self.fail_next > 0 {
                self.fail_next -= 1;
                self.waiters.insert(w, Waiter::Failed(Failed::Create));
            } else {
                self.size += 1;
                self.waiters.insert(w, Waiter::Served(self.next_id));
                self.next_id += 1;
            }
        }
    }

    /// One check, if checks are on: `false` if it fails.
    fn check_passes(&mut self) -> bool {
        if self.checks && self.fail_check > 0 {
            self.fail_check -= 1;
            return false;
        }
        true
    }

    /// A resource comes back: a lease dropped (`returned`: checked before a waiter gets
    /// it, if checks are on), or handed to a waiter that left.
    fn deliver(&mut self, id: u64, returned: bool) {
        if self.closed {
            self.close(id);
        } else if self.size > self.max {
            self.close(id);
            self.create_for_waiters();
        } else if returned && !self.line.is_empty() && !self.check_passes() {
            // Failed its check for the waiter: closed; no other is idle (nobody waits while
            // one is), so a create serves the waiter.
            self.close(id);
            self.create_for_waiters();
        } else if let Some(w) = self.line.pop_front() {
            self.waiters.insert(w, Waiter::Served(id));
        } else {
            self.idle.insert(id);
        }
    }

    fn begin(&mut self) -> Begin {
        if self.closed {
            return Begin::Refused(Expect::Closed);
        }
        if self.line.is_empty() {
            // The idle ones one after another (which is not promised): each failing its
            // check is closed; the first good one is taken.
            while self.idle.len() > self.idle_closes {
                if self.check_passes() {
                    return Begin::Direct;
                }
                self.size -= 1;
                self.idle_closes += 1;
            }
        }
        if self.line.len() >= self.max_waiters {
            return Begin::Refused(Expect::Saturated);
        }
        let w = self.next_waiter;
        self.next_waiter += 1;
        self.line.push_back(w);
        self.waiters.insert(w, Waiter::Pending);
        self.create_for_waiters();
        Begin::Joined(w)
    }

    /// The waiter looks at its slot: its outcome, or `None` while it waits.
    fn poll(&mut self, w: usize) -> Option<Expect> {
        let outcome = match self.waiters[&w] {
            Waiter::Pending => return None,
            Waiter::Served(id) => Expect::Lease(id),
            Waiter::Failed(Failed::Create) => Expect::Create,
            Waiter::Failed(Failed::Closed) => Expect::Closed,
        };
        self.waiters.remove(&w);
        Some(outcome)
    }

    /// The waiter leaves (timed out, or its future dropped).
    fn leave(&mut self, w: usize) {
        match self.waiters.remove(&w) {
            Some(Waiter::Pending) => self.line.retain(|x| *x != w),
            Some(Waiter::Served(id)) => self.deliver(id, false),
            _ => {}
        }
    }

    /// `try_get`: `None` when it takes one of the idle resources, else its error.
    fn try_get(&mut self) -> Option<Expect> {
        if self.closed {
            return Some(Expect::Closed);
        }
        // Those in line first; and under checks every idle one needs one, which it never
        // starts.
        if !self.line.is_empty() || self.checks || self.idle.is_empty() {
            return Some(Expect::WouldWait);
        }
        None
    }

    /// `warm_up`: rounds of creates toward `min_idle`.
    fn warm_up(&mut self) -> Result<(), Expect> {
        if self.closed {
            return Err(Expect::Closed);
        }
        loop {
            if self.idle.len() >= self.min_idle || self.size >= self.max {
                return Ok(());
            }
            let round = (self.min_idle - self.idle.len())
                .min(self.max - self.size)
                .min(self.creates_at_once);
            let mut failed = false;
            for _ in 0..round {
                if self.fail_next > 0 {
                    self.fail_next -= 1;
                    failed = true;
                } else {
                    self.size += 1;
                    self.idle.insert(self.next_id);
                    self.next_id += 1;
                }
            }
            if failed {
                return Err(Expect::Create);
            }
        }
    }

    /// `retain`: the idle resources `keep` rejects closed; how many kept and retired.
    fn retain(&mut self, keep: impl Fn(u64) -> bool) -> (usize, usize) {
        let (kept, retired): (Vec<u64>, Vec<u64>) = self.idle.iter().partition(|id| keep(**id));
        for id in &retired {
            self.idle.remove(id);
            self.close(*id);
        }
        self.create_for_waiters();
        (kept.len(), retired.len())
    }

    fn resize(&mut self, n: usize) {
        self.max = n.max(1);
        let extra = self.size.saturating_sub(self.max).min(self.idle.len());
        self.size -= extra;
        self.idle_closes += extra;
        self.create_for_waiters();
    }

    fn close_pool(&mut self) {
        self.closed = true;
        for w in self.line.drain(..) {
            self.waiters.insert(w, Waiter::Failed(Failed::Closed));
        }
        for id in std::mem::take(&mut self.idle) {
            self.close(id);
        }
    }
}

fn expect_of(r: &Result<Lease<Inline>, PoolError<InjectedFault>>) -> Expect {
    match r {
        Ok(lease) => Expect::Lease(lease.id()),
        Err(PoolError::Create(_)) => Expect::Create,
        Err(PoolError::Closed) => Expect::Closed,
        Err(PoolError::Saturated { .. }) => Expect::Saturated,
        Err(PoolError::Timeout { .. }) => Expect::Timeout,
        Err(PoolError::WouldWait { .. }) => Expect::WouldWait,
        Err(e) => panic!("no such outcome in the model: {e:?}"),
    }
}

/// The pool, what the test holds, and the model.
struct Harness {
    rt: tokio::runtime::Runtime,
    ledger: Ledger,
    pool: Pool<Inline>,
    fail: Arc<AtomicUsize>,
    fail_check: Arc<AtomicUsize>,
    leases: Vec<Lease<Inline>>,
    waiters: Vec<(usize, Pin<Box<Acquire<Inline>>>)>,
    detached: Vec<TestResource>,
    /// How many closes the ledger had recorded before this step.
    seen_closes: usize,
    model: Model,
}

impl Harness {
    fn new(shape: Shape) -> Self {
        let Shape {
            max,
            max_waiters,
            min_idle,
            creates_at_once,
            checks,
        } = shape;
        let ledger = Ledger::new();
        let fail = Arc::new(AtomicUsize::new(0));
        let fail_check = Arc::new(AtomicUsize::new(0));
        let config = PoolConfig {
            max_size: max,
            max_waiters,
            min_idle,
            // No driver: warm-up is the model's only way to `min_idle`.
            maintenance_interval: None,
            max_concurrent_creates: creates_at_once,
            validation: match checks {
                true => Validation::Always,
                false => Validation::Never,
            },
            max_lifetime: None,
            idle_timeout: None,
            acquire_timeout: Duration::from_secs(3600),
            // Creates retry at once after a failure: no clock in the model.
            create_backoff: Duration::ZERO,
            max_create_backoff: Duration::ZERO,
            ..PoolConfig::default()
        };
        let manager = Inline {
            ledger: ledger.clone(),
            fail: fail.clone(),
            fail_check: fail_check.clone(),
        };
        // Built outside the runtime: it has none, and needs none (everything is inline).
        let pool = Pool::new(manager, config).unwrap();
        // Only the pending `get()` futures use it (their timeout timer); blocking gets
        // run outside it.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        Harness {
            rt,
            ledger,
            pool,
            fail,
            leases: Vec::new(),
            waiters: Vec::new(),
            detached: Vec::new(),
            seen_closes: 0,
            fail_check,
            model: Model::new(shape),
        }
    }

    fn poll_acquire(
        &self,
        fut: &mut Pin<Box<Acquire<Inline>>>,
    ) -> Poll<Result<Lease<Inline>, PoolError<InjectedFault>>> {
        let _in = self.rt.enter();
        let waker = futures::task::noop_waker();
        fut.as_mut().poll(&mut Context::from_waker(&waker))
    }

    /// A lease the model said this acquire would get: check its id and keep it.
    fn took(
        &mut self,
        r: Result<Lease<Inline>, PoolError<InjectedFault>>,
        expected: Expect,
    ) -> Result<(), TestCaseError> {
        let got = expect_of(&r);
        prop_assert_eq!(
            got,
            expected,
            "the acquire ended otherwise than the model says"
        );
        if let Ok(lease) = r {
            self.leases.push(lease);
        }
        Ok(())
    }

    /// A direct get: one of the idle resources.
    fn took_idle(
        &mut self,
        r: Result<Lease<Inline>, PoolError<InjectedFault>>,
    ) -> Result<(), TestCaseError> {
        let lease = match r {
            Ok(lease) => lease,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "an idle resource was there, got {e:?}"
                )))
            }
        };
        prop_assert!(
            self.model.idle.remove(&lease.id()),
            "got #{}, not one of the idle {:?}",
            lease.id(),
            self.model.idle
        );
        self.leases.push(lease);
        Ok(())
    }

    fn step(&mut self, a: &Action) -> Result<(), TestCaseError> {
        match a {
            Action::GetBlocking { short } => {
                let timeout = if *short {
                    Duration::from_millis(1)
                } else {
                    Duration::ZERO
                };
                let r = self.pool.get_blocking_timeout(timeout);
                match self.model.begin() {
                    Begin::Direct => self.took_idle(r)?,
                    Begin::Refused(e) => self.took(r, e)?,
                    Begin::Joined(w) => {
                        let expected = match self.model.poll(w) {
                            Some(e) => e,
                            None => {
                                self.model.leave(w);
                                Expect::Timeout
                            }
                        };
                        self.took(r, expected)?;
                    }
                }
            }
            Action::GetAsync => {
                let mut fut = {
                    let _in = self.rt.enter();
                    Box::pin(self.pool.get())
                };
                let polled = self.poll_acquire(&mut fut);
                match (self.model.begin(), polled) {
                    (Begin::Direct, Poll::Ready(r)) => self.took_idle(r)?,
                    (Begin::Refused(e), Poll::Ready(r)) => self.took(r, e)?,
                    (Begin::Joined(w), Poll::Ready(r)) => {
                        let expected = self.model.poll(w);
                        prop_assert!(expected.is_some(), "ready, but the model says it waits");
                        self.took(r, expected.unwrap())?;
                    }
                    (Begin::Joined(w), Poll::Pending) => {
                        prop_assert_eq!(self.model.waiters[&w], Waiter::Pending);
                        self.waiters.push((w, fut));
                    }
                    (b, Poll::Pending) => {
                        return Err(TestCaseError::fail(format!(
                            "pending, but the model says {b:?}"
                        )))
                    }
                }
            }
            Action::Poll(i) => {
                if !self.waiters.is_empty() {
                    self.poll_at(i.index(self.waiters.len()))?;
                }
            }
            Action::Cancel(i) => {
                if !self.waiters.is_empty() {
                    self.cancel_at(i.index(self.waiters.len()));
                }
            }
            Action::Release(i) => {
                if !self.leases.is_empty() {
                    self.release_at(i.index(self.leases.len()));
                }
            }
            Action::Discard(i) => {
                if !self.leases.is_empty() {
                    let lease = self.leases.remove(i.index(self.leases.len()));
                    let id = lease.id();
                    Lease::discard(lease);
                    self.model.close(id);
                    self.model.create_for_waiters();
                }
            }
            Action::Detach(i) => {
                if !self.leases.is_empty() {
                    let lease = self.leases.remove(i.index(self.leases.len()));
                    self.detached.push(Lease::detach(lease));
                    self.model.size -= 1;
                    self.model.create_for_waiters();
                }
            }
            Action::Resize(n) => {
                self.pool.resize(*n).unwrap();
                self.model.resize(*n);
            }
            Action::FailNextCheck => {
                self.fail_check.fetch_add(1, Ordering::SeqCst);
                self.model.fail_check += 1;
            }
            Action::TryGet => {
                let r = self.pool.try_get();
                match self.model.try_get() {
                    None => self.took_idle(r)?,
                    Some(e) => self.took(r, e)?,
                }
            }
            Action::WarmUp => {
                let r = self.pool.warm_up_blocking();
                let got = r.as_ref().map_err(|e| match e {
                    PoolError::Create(_) => Expect::Create,
                    PoolError::Closed => Expect::Closed,
                    e => panic!("no such outcome of warm_up in the model: {e:?}"),
                });
                prop_assert_eq!(
                    got.copied(),
                    self.model.warm_up(),
                    "warm_up ended otherwise"
                );
            }
            Action::Retain(mask) => {
                let keep = |id: u64| mask >> (id % 64) & 1 == 1;
                let r = self.pool.retain(|r, _| keep(r.id()));
                let (kept, retired) = self.model.retain(keep);
                prop_assert_eq!((r.kept, r.retired), (kept, retired), "retain's counts");
            }
            Action::FailNextCreate => {
                self.fail.fetch_add(1, Ordering::SeqCst);
                self.model.fail_next += 1;
            }
            Action::Close => {
                self.model.close_pool();
                let drained = self.pool.close_blocking(Duration::ZERO);
                prop_assert_eq!(
                    drained,
                    self.model.size == 0,
                    "close drained the pool iff nothing is lent"
                );
            }
        }
        self.check()
    }

    /// Polls waiter `k` again: ready exactly when the model says it was served or failed.
    fn poll_at(&mut self, k: usize) -> Result<bool, TestCaseError> {
        let (w, mut fut) = self.waiters.remove(k);
        match self.poll_acquire(&mut fut) {
            Poll::Ready(r) => {
                let expected = self.model.poll(w);
                prop_assert!(
                    expected.is_some(),
                    "waiter {} is ready, the model says it waits",
                    w
                );
                self.took(r, expected.unwrap())?;
                Ok(true)
            }
            Poll::Pending => {
                prop_assert_eq!(
                    self.model.waiters[&w],
                    Waiter::Pending,
                    "waiter {} still waits",
                    w
                );
                self.waiters.insert(k, (w, fut));
                Ok(false)
            }
        }
    }

    fn cancel_at(&mut self, k: usize) {
        let (w, fut) = self.waiters.remove(k);
        {
            let _in = self.rt.enter();
            drop(fut);
        }
        self.model.leave(w);
    }

    fn release_at(&mut self, k: usize) {
        let lease = self.leases.remove(k);
        let id = lease.id();
        drop(lease);
        self.model.deliver(id, true);
    }

    /// The pool as the model says, and the closes it made as the model says.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let order = self.ledger.release_order();
        let new: BTreeSet<u64> = order[self.seen_closes..].iter().copied().collect();
        prop_assert_eq!(
            new.len(),
            order.len() - self.seen_closes,
            "a resource closed twice"
        );
        self.seen_closes = order.len();
        let closes = std::mem::take(&mut self.model.closes);
        let idle_closes = std::mem::take(&mut self.model.idle_closes);
        prop_assert!(
            closes.is_subset(&new),
            "closed {:?}, expected among them {:?}",
            new,
            closes
        );
        let from_idle: BTreeSet<u64> = new.difference(&closes).copied().collect();
        prop_assert_eq!(
            from_idle.len(),
            idle_closes,
            "idle resources closed: {:?}",
            from_idle
        );
        for id in &from_idle {
            prop_assert!(
                self.model.idle.remove(id),
                "closed #{}, which was not idle",
                id
            );
        }
        for id in &new {
            prop_assert!(self.ledger.ending(*id).is_some());
        }

        let m = &self.model;
        prop_assert_eq!(
            self.ledger.acquired_count(),
            m.next_id - 1,
            "resources created"
        );
        let expected = Status {
            size: m.size,
            idle: m.idle.len(),
            in_use: self.leases.len() + m.served(),
            waiting: m.line.len(),
            max_size: m.max,
            ..Status::default()
        };
        prop_assert_eq!(self.pool.status(), expected);
        // The model's own bookkeeping, and the size bound: above the limit only while the
        // extra resources are lent out (a shrink retires them as they come back).
        prop_assert_eq!(m.size, expected.idle + expected.in_use);
        prop_assert!(m.size <= m.max || m.idle.is_empty());
        prop_assert!(
            m.line.is_empty() || m.idle.is_empty(),
            "nobody waits while one is idle"
        );
        Ok(())
    }

    /// Ends the case: every waiter polled (as the model says) and dropped, every lease
    /// returned, the pool closed, the detached resources closed by their owner; then every
    /// resource was closed exactly once.
    fn finish(mut self) -> Result<(), TestCaseError> {
        let mut k = 0;
        while k < self.waiters.len() {
            if !self.poll_at(k)? {
                k += 1;
            }
            self.check()?;
        }
        while !self.waiters.is_empty() {
            self.cancel_at(0);
            self.check()?;
        }
        while !self.leases.is_empty() {
            self.release_at(0);
            self.check()?;
        }
        self.step(&Action::Close)?;
        prop_assert_eq!(self.pool.status().size, 0);
        let stats = self.pool.statistics();
        prop_assert_eq!(stats.created, self.ledger.acquired_count());
        prop_assert_eq!(stats.detached, self.detached.len() as u64);
        for r in self.detached.drain(..) {
            r.close().unwrap();
        }
        prop_assert!(
            self.ledger.check_all_closed().is_ok(),
            "{}",
            self.ledger.check_all_closed().unwrap_err()
        );
        let order = self.ledger.release_order();
        let unique: BTreeSet<_> = order.iter().collect();
        prop_assert_eq!(unique.len(), order.len(), "a resource closed twice");
        prop_assert_eq!(order.len() as u64, self.ledger.acquired_count());
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_pool_behaves_like_its_model(
        max in 1usize..=4,
        max_waiters in 1usize..=4,
        min_idle in 0usize..=3,
        creates_at_once in 1usize..=3,
        checks in any::<bool>(),
        actions in proptest::collection::vec(action(), 1..=40),
    ) {
        let min_idle = min_idle.min(max);
        let mut h = Harness::new(Shape { max, max_waiters, min_idle, creates_at_once, checks });
        for a in &actions {
            h.step(a)?;
        }
        h.finish()?;
    }
}
