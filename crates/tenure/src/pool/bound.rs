//! Blocking work under a bound: it runs on a thread of the pool's own (never tokio's
//! blocking pool, whose shutdown waits for every task — one hung close would hang the
//! program's exit) and races a timer of real time; whichever ends first ends the job
//! ([`Race`]). Past the bound the thread is left to finish on its own: it cannot be
//! preempted. Under loom the bound may pass at any moment (a thread of its own), so the
//! models see every order of the two.

use crate::sync::{Arc, Mutex};
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
        self.end.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// The work finished with `value`: the job ends with it, or — the bound passed first —
    /// `value` comes back (a late result).
    pub(super) fn finish(&self, value: T) -> Result<(), T> {
        match self.take() {
            Some(end) => {
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

/// Runs `f` on a new thread of the pool's own.
#[cfg(not(loom))]
pub(super) fn spawn_work(f: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("tenure-pool-work".into())
        .spawn(f);
    if let Err(e) = spawned {
        // Its bound still passes: the slot is freed then.
        tracing::error!(target: "tenure", "the pool cannot start a thread for its work: {e}");
    }
}

/// Expires `race` once `bound` has passed (real time: a blocking thread runs on it).
#[cfg(not(loom))]
pub(super) fn arm<T: 'static>(bound: Duration, race: Arc<Race<T>>) {
    timers::add(bound, Box::new(move || race.expire()));
}

#[cfg(loom)]
pub(super) fn spawn_work(f: impl FnOnce() + Send + 'static) {
    drop(loom::thread::spawn(f));
}

/// Loom has no time: the bound may pass at any moment.
#[cfg(loom)]
pub(super) fn arm<T: 'static>(_: Duration, race: Arc<Race<T>>) {
    drop(loom::thread::spawn(move || race.expire()));
}

/// One thread for every pool's bounds on blocking work: a heap of deadlines, started on
/// first use; a bound whose work finished first finds nothing left to end.
#[cfg(not(loom))]
mod timers {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::sync::{Condvar, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    type Fire = Box<dyn FnOnce() + Send>;

    struct Entry {
        at: Instant,
        seq: u64,
        fire: Fire,
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
    struct Timers {
        heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
        changed: Condvar,
    }

    fn timers() -> &'static Timers {
        static TIMERS: OnceLock<&'static Timers> = OnceLock::new();
        TIMERS.get_or_init(|| {
            let t: &'static Timers = Box::leak(Box::default());
            let started = std::thread::Builder::new()
                .name("tenure-pool-bounds".into())
                .spawn(move || run(t));
            if let Err(e) = started {
                tracing::error!(target: "tenure", "the pool cannot start its bounds thread: {e}");
            }
            t
        })
    }

    pub(super) fn add(after: Duration, fire: Fire) {
        let t = timers();
        let at = Instant::now() + after;
        let mut heap = t.heap.lock().unwrap_or_else(|p| p.into_inner());
        heap.1 += 1;
        let seq = heap.1;
        heap.0.push(Reverse(Entry { at, seq, fire }));
        drop(heap);
        t.changed.notify_one();
    }

    fn run(t: &'static Timers) {
        let mut heap = t.heap.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            match heap.0.peek().map(|Reverse(e)| e.at) {
                Some(at) if at <= now => {
                    let Some(Reverse(entry)) = heap.0.pop() else {
                        continue;
                    };
                    drop(heap);
                    (entry.fire)();
                    heap = t.heap.lock().unwrap_or_else(|p| p.into_inner());
                }
                Some(at) => {
                    heap = t
                        .changed
                        .wait_timeout(heap, at - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                None => heap = t.changed.wait(heap).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}
