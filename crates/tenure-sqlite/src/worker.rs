//! A connection's own thread for async callers ([`run`](crate::run)): started by the first
//! `run` on the connection, parked between jobs, ended when the connection is dropped.
//!
//! Jobs go through a mailbox (a queue under a lock) as shared handles to the call itself
//! (`Arc<dyn Job>`: the call's one allocation, no box per job), and the thread is woken
//! with `Thread::unpark`, a wake-up system call only when it is parked.
//!
//! Tried and not kept (2026-12-07): yielding the CPU up to three times before parking, so
//! that a connection in steady use finds its next job without a sleep and a wake-up. On
//! a point query from 16 tasks it halved the futex calls (3.1 -> 1.4 per query, `strace
//! -f -c`) but added 1.2 `sched_yield`s, more context switches (2.2–2.9 per query against
//! 1.4–2.1, `perf stat`) and no less CPU time on the shared machine: a yield hands the CPU
//! to whatever else is ready to run.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, Thread};

/// Work for a connection's thread: one call of `run` (it catches and forwards its own
/// panic, then unwinds again so that the lease is dropped while panicking).
pub(crate) trait Job: Send + Sync {
    /// Runs the call once.
    fn run(&self);

    /// The call will never run (its thread is gone): its caller is told so, unless it ran.
    fn drop_unrun(&self);
}

/// What waits for the thread: jobs in the order sent, and whether the connection is gone.
struct Mail {
    jobs: VecDeque<Arc<dyn Job>>,
    closed: bool,
}

/// The mailbox shared by a connection and its thread.
struct Post {
    mail: Mutex<Mail>,
    /// The thread, set once it has started (before the connection can send anything).
    thread: OnceLock<Thread>,
}

impl Post {
    fn lock(&self) -> MutexGuard<'_, Mail> {
        self.mail.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }
}

/// A connection's handle on its thread: sends jobs; dropped with the connection, it ends
/// the thread (once the jobs already sent have run).
pub(crate) struct Worker(Arc<Post>);

impl Worker {
    /// Starts a thread; `None` if the OS refuses one.
    pub(crate) fn start() -> Option<Worker> {
        let post = Arc::new(Post {
            mail: Mutex::new(Mail {
                jobs: VecDeque::new(),
                closed: false,
            }),
            thread: OnceLock::new(),
        });
        let theirs = post.clone();
        let spawned = thread::Builder::new()
            .name("tenure-sqlite".into())
            .spawn(move || serve(&theirs))
            .ok()?;
        let _ = post.thread.set(spawned.thread().clone());
        Some(Worker(post))
    }

    /// A second handle that only sends (it does not end the thread when dropped).
    pub(crate) fn sender(&self) -> Sender {
        Sender(self.0.clone())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wake();
    }
}

/// Sends jobs to a connection's thread.
pub(crate) struct Sender(Arc<Post>);

impl Sender {
    /// Queues `job` and wakes the thread if it sleeps.
    pub(crate) fn send(&self, job: Arc<dyn Job>) {
        self.0.lock().jobs.push_back(job);
        self.0.wake();
    }
}

/// The thread's loop: each job in turn; parks when there is none; returns once the
/// connection is gone and its jobs are done.
fn serve(post: &Post) {
    loop {
        let next = {
            let mut mail = post.lock();
            match mail.jobs.pop_front() {
                Some(job) => Some(job),
                None if mail.closed => return,
                None => None,
            }
        };
        match next {
            // A panicking job must not end the thread; it has already sent its panic to
            // its caller.
            Some(job) => {
                let _ = catch_unwind(AssertUnwindSafe(|| job.run()));
            }
            // An unpark since the last park (a job sent meanwhile) makes this return at
            // once; a spurious return just looks again.
            None => thread::park(),
        }
    }
}
