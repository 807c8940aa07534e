//! Blocking work under a bound: it runs on a worker thread of the pool's own ([`spawn_work`]:
//! never tokio's blocking pool, whose shutdown waits for every task — one hung close would
//! hang the program's exit) and races a timer of real time ([`arm`]); whichever ends first
//! ends the job ([`Race`]). Past the bound the thread is left to finish on its own: it
//! cannot be preempted.
//!
//! The workers are the pool's own ([`Workers`]) and reused: one that finished its job
//! waits [`KEEP_ALIVE`] for the next before it exits, so a steady stream of blocking work (a reset on every return, say)
//! starts no thread per job. There is no cap: a job that finds no idle worker starts a new
//! one, so a hung job only ever costs its own thread and never keeps the others waiting.
//!
//! Under loom the bound may pass at any moment (a thread of its own) and an idle worker's
//! keep-alive passes at once, so the models see every order of a job's end, its bound, and
//! the next job racing its worker's exit.

use crate::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How a bounded job ends.
type End<T> = Box<dyn FnOnce(Option<T>) + Send>;

/// A job's end, taken once: by the work finishing (`Some` output) or by its bound passing
/// (`None`).
pub(super) struct Race<T> {
    end: Mutex<Option<End<T>>>,
}

impl<T> Race<T> {
    pub(super) fn new(end: impl FnOnce(Option<T>) + Send + 'static) -> Self {
        Race {
            end: Mutex::new(Some(Box::new(end))),
        }
    }

    fn take(&self) -> Option<End<T>> {
        lock(&self.end).take()
    }

    /// The work finished with `value`: the job ends with it (and its bound leaves the
    /// timers), or — the bound passed first — `value` comes back (a late result).
    pub(super) fn finish(&self, value: T) -> Result<(), T> {
        match self.take() {
            Some(end) => {
                #[cfg(not(loom))]
                timers::global().finished();
                end(Some(value));
                Ok(())
            }
            None => Err(value),
        }
    }

    /// The bound passed: the job ends without the work, unless it finished first.
    pub(super) fn expire(&self) {
        if let Some(end) = self.take() {
            end(None);
        }
    }
}

#[cfg(not(loom))]
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Loom wakes a thread blocked on a mutex when it is unparked (std does not: the unpark
/// waits for its next park) — and a blocking caller that hands a job to a worker is
/// already in line to be unparked. So under loom these locks spin (yielding) instead.
#[cfg(loom)]
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    loop {
        match m.try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => loom::thread::yield_now(),
        }
    }
}

/// How long a worker with nothing to do waits for another job before it exits.
#[cfg_attr(loom, allow(dead_code))] // loom's passes at once
const KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// A worker thread, seen from the idle list: where its next job is put.
struct Worker {
    job: Mutex<Option<Job>>,
    ready: Condvar,
}

/// A pool's worker threads, seen from the pool: the idle ones, the one that went idle
/// last on top (the others' keep-alive runs out first when there is less work than
/// workers). Each worker holds it too, so it outlives the pool until they have all exited.
pub(super) struct Workers {
    idle: Mutex<Vec<Arc<Worker>>>,
}

impl Workers {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Workers {
            idle: Mutex::new(Vec::new()),
        })
    }
}

/// Runs `f` on one of `workers`: an idle one if there is one, else a new one.
pub(super) fn spawn_work(workers: &Arc<Workers>, f: impl FnOnce() + Send + 'static) {
    let job: Job = Box::new(f);
    let idle = lock(&workers.idle).pop();
    match idle {
        Some(worker) => {
            *lock(&worker.job) = Some(job);
            worker.ready.notify_one();
        }
        None => start_worker(workers.clone(), job),
    }
}

#[cfg(not(loom))]
fn start_worker(workers: Arc<Workers>, job: Job) {
    let spawned = std::thread::Builder::new()
        .name("tenure-pool-work".into())
        .spawn(move || work(&workers, job));
    if let Err(e) = spawned {
        // Its bound still passes: the slot is freed then.
        tracing::error!(target: "tenure", "the pool cannot start a thread for its work: {e}");
    }
}

#[cfg(loom)]
fn start_worker(workers: Arc<Workers>, job: Job) {
    drop(loom::thread::spawn(move || work(&workers, job)));
}

/// A worker's life: its first job, then every job handed to it while it is idle, until
/// its keep-alive passes with none. A job that panics ends its worker (it was not idle:
/// nothing is handed to it).
fn work(workers: &Workers, mut job: Job) {
    let me = Arc::new(Worker {
        job: Mutex::new(None),
        ready: Condvar::new(),
    });
    loop {
        job();
        lock(&workers.idle).push(me.clone());
        match next(workers, &me) {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// The idle worker `me`'s next job, or `None` once its keep-alive passed with none (it is
/// then off the idle list: nothing more can be handed to it).
fn next(workers: &Workers, me: &Arc<Worker>) -> Option<Job> {
    let mut slot = lock(&me.job);
    loop {
        if let Some(job) = slot.take() {
            return Some(job);
        }
        let timed_out;
        (slot, timed_out) = wait_keep_alive(&me.ready, slot);
        if !timed_out || slot.is_some() {
            continue;
        }
        drop(slot);
        {
            let mut idle = lock(&workers.idle);
            if let Some(at) = idle.iter().position(|w| Arc::ptr_eq(w, me)) {
                idle.remove(at);
                return None;
            }
        }
        // A job was handed to it as its keep-alive passed: it is on its way.
        slot = lock(&me.job);
        while slot.is_none() {
            slot = me.ready.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(not(loom))]
fn wait_keep_alive<'a>(
    ready: &Condvar,
    slot: MutexGuard<'a, Option<Job>>,
) -> (MutexGuard<'a, Option<Job>>, bool) {
    let (slot, r) = ready
        .wait_timeout(slot, KEEP_ALIVE)
        .unwrap_or_else(|p| p.into_inner());
    (slot, r.timed_out())
}

/// Loom has no time: the keep-alive passes at once (racing whoever hands the worker a job).
#[cfg(loom)]
fn wait_keep_alive<'a>(
    _: &Condvar,
    slot: MutexGuard<'a, Option<Job>>,
) -> (MutexGuard<'a, Option<Job>>, bool) {
    (slot, true)
}

/// Expires `race` once `bound` has passed (real time: a blocking thread runs on it).
#[cfg(not(loom))]
pub(super) fn arm<T: 'static>(bound: Duration, race: Arc<Race<T>>) {
    timers::global().add(std::time::Instant::now() + bound, race);
}

/// Loom has no time: the bound may pass at any moment.
#[cfg(loom)]
pub(super) fn arm<T: 'static>(_: Duration, race: Arc<Race<T>>) {
    drop(loom::thread::spawn(move || race.expire()));
}

/// A bound as the timers see it.
#[cfg(not(loom))]
trait Bound: Send + Sync {
    fn expire(&self);
    /// Whether its job has ended (by the work finishing): nothing left to expire.
    fn over(&self) -> bool;
}

#[cfg(not(loom))]
impl<T> Bound for Race<T> {
    fn expire(&self) {
        Race::expire(self);
    }
    fn over(&self) -> bool {
        lock(&self.end).is_none()
    }
}

/// One thread for every pool's bounds on blocking work: a heap of deadlines, started on
/// first use. A bound whose work finished first is over: it is counted, and once the
/// heap holds more over than live ones they are all dropped in one pass (the heap never
/// keeps more than about twice the bounds still running, and no finish scans it).
#[cfg(not(loom))]
mod timers {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
    use std::time::Instant;

    use super::Bound;

    /// Fewer bounds over than this are never worth a pass.
    const COMPACT_AFTER: usize = 32;

    struct Entry {
        at: Instant,
        seq: u64,
        bound: Arc<dyn Bound>,
    }

    impl PartialEq for Entry {
        fn eq(&self, other: &Self) -> bool {
            (self.at, self.seq) == (other.at, other.seq)
        }
    }
    impl Eq for Entry {}
    impl PartialOrd for Entry {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Entry {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            (self.at, self.seq).cmp(&(other.at, other.seq))
        }
    }

    #[derive(Default)]
    struct Heap {
        entries: BinaryHeap<Reverse<Entry>>,
        seq: u64,
        /// About how many entries are over (their work finished): counted at each finish,
        /// reset by a pass.
        over: usize,
    }

    #[derive(Default)]
    pub(super) struct Timers {
        heap: Mutex<Heap>,
        changed: Condvar,
    }

    /// The timers of every pool, their thread started on first use.
    pub(super) fn global() -> &'static Timers {
        static TIMERS: OnceLock<&'static Timers> = OnceLock::new();
        TIMERS.get_or_init(|| {
            let t: &'static Timers = Box::leak(Box::default());
            let started = std::thread::Builder::new()
                .name("tenure-pool-bounds".into())
                .spawn(move || t.run());
            if let Err(e) = started {
                tracing::error!(target: "tenure", "the pool cannot start its bounds thread: {e}");
            }
            t
        })
    }

    impl Timers {
        fn heap(&self) -> MutexGuard<'_, Heap> {
            self.heap.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Expires `bound` at `at`. Wakes the thread only when `at` is the earliest.
        pub(super) fn add(&self, at: Instant, bound: Arc<dyn Bound>) {
            let mut heap = self.heap();
            heap.seq += 1;
            let seq = heap.seq;
            heap.entries.push(Reverse(Entry { at, seq, bound }));
            let earliest = heap.entries.peek().is_some_and(|Reverse(e)| e.seq == seq);
            drop(heap);
            if earliest {
                self.changed.notify_one();
            }
        }

        /// A bound's work finished: its entry is over; past [`COMPACT_AFTER`], once over
        /// ones are the majority, they all leave the heap.
        pub(super) fn finished(&self) {
            let mut heap = self.heap();
            heap.over += 1;
            if heap.over >= COMPACT_AFTER && heap.over * 2 > heap.entries.len() {
                heap.entries.retain(|Reverse(e)| !e.bound.over());
                heap.over = 0;
            }
        }

        /// The entries in the heap, over or not.
        #[cfg(test)]
        pub(super) fn len(&self) -> usize {
            self.heap().entries.len()
        }

        fn run(&self) {
            let mut heap = self.heap();
            loop {
                let now = Instant::now();
                match heap.entries.peek().map(|Reverse(e)| e.at) {
                    Some(at) if at <= now => {
                        let Some(Reverse(entry)) = heap.entries.pop() else {
                            continue;
                        };
                        drop(heap);
                        if entry.bound.over() {
                            let mut h = self.heap();
                            h.over = h.over.saturating_sub(1);
                            heap = h;
                            continue;
                        }
                        entry.bound.expire();
                        heap = self.heap();
                    }
                    Some(at) => {
                        heap = self
                            .changed
                            .wait_timeout(heap, at - now)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                    None => heap = self.changed.wait(heap).unwrap_or_else(|p| p.into_inner()),
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::super::Race;
        use super::*;
        use std::time::Duration;

        /// Bounds whose work finished leave the heap without waiting for their deadline;
        /// those still running stay and expire.
        #[test]
        fn a_finished_bound_leaves_the_heap() {
            let timers = Timers::default();
            let far = Instant::now() + Duration::from_secs(3600);
            let expired = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let races: Vec<_> = (0..1000)
                .map(|_| {
                    let expired = expired.clone();
                    let race = Arc::new(Race::<()>::new(move |out| {
                        if out.is_none() {
                            expired.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }));
                    timers.add(far, race.clone());
                    race
                })
                .collect();
            // Finish all but ten: `Race::finish` tells the global timers; tell these.
            for race in &races[10..] {
                race.take().unwrap()(Some(()));
                timers.finished();
            }
            assert!(
                timers.len() < 10 + 2 * COMPACT_AFTER,
                "{} entries for 10 bounds still running",
                timers.len()
            );
            for race in &races[..10] {
                race.expire();
            }
            assert_eq!(expired.load(std::sync::atomic::Ordering::SeqCst), 10);
        }
    }
}
