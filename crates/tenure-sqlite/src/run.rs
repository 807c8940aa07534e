//! Async use: [`run`] moves a lease onto a blocking thread, runs a closure on the
//! connection and gives the lease back; [`AsyncConnection`] holds a lease for a sequence of
//! such steps and runs [`tenure::tx::transaction_async`] on it.
//!
//! A lease derefs to the connection, so a query written in an async task would block the
//! runtime's worker for as long as SQLite runs it. `run` hops to tokio's blocking pool
//! instead. If the awaiting future is dropped, the statement running on the connection is
//! interrupted (`sqlite3_interrupt`: it ends with `SQLITE_INTERRUPT`) — only while the
//! closure still holds the lease, never after: the interrupt and the closure's end take
//! one lock, so an interrupt cannot reach the next holder's statement. The closure then
//! finishes on its thread (a statement it starts after the interrupt runs), and the lease
//! goes back to the pool from there: a transaction left open is rolled back by the pool's
//! reset before anyone else gets the connection. A panic in the closure resumes in the
//! awaiting task; the lease, dropped while its thread panics, is kept only if it is in
//! autocommit.
//!
//! # The connection's own thread, not `spawn_blocking`
//!
//! Each connection gets a thread of its own the first time `run` is called on it (parked
//! between calls, ended with the connection: `worker.rs`), and `run` sends the closure
//! there; the pooled resource is still the [`Connection`] itself, so blocking callers use
//! it directly with no hop at all. The alternative, tokio's blocking pool, hands each job
//! through one shared queue (a mutex and a condition variable for all of them), where a
//! connection's thread is woken through its own mailbox. Measured on the 2-core machine
//! shared with other builds (2026-12-07; one cached point query per hop, a pool of 8,
//! tokio with 2 workers; both forms alternating in one process, 40 000 queries a round): with 16
//! tasks the connection's thread took 10.1–10.6 µs a query, `spawn_blocking` 12.8–13.5 µs
//! (1.25–1.31× slower); with 64 tasks 10.4–12.6 µs against 12.3–14.4 µs (0.98–1.36×). The
//! `spawn_blocking` form stayed beside this one (`run_on`, `Hop`, hidden) for that
//! measurement and was removed once the `db_sqlite` benchmark of `tenure-bench` landed;
//! these are the recorded figures. `spawn_blocking` remains only the fallback when the OS
//! refuses the connection a thread. A
//! panicking closure does not end the thread: its panic is caught there, after the lease
//! was dropped while panicking, and resumed in the awaiting task.
//!
//! # What one call costs
//!
//! One allocation: the call (the lease and the closure on their way out, the reply and
//! the awaiting task's waker on their way back, under one lock) is shared by the future
//! and the thread, and the thread's mailbox takes it as it is. One wake-up each way: the
//! connection's thread when the job arrives, the task when the reply is in. It replaced
//! an `Arc` for the interrupt's lock, a tokio `oneshot` channel, a boxed job and a
//! `std::sync::mpsc` channel: callgrind of `tenure-bench --profile tenure
//! 'db_sqlite/query=point,tasks=16'` (16 tasks, a pool of 8) at 2000 and 4000 queries,
//! the tasks' side (get, `run`, the lease's drop): 4 981 -> 4 233 instructions a query;
//! the connection thread's side unchanged (6 211 -> 6 301, 5 860 of them the query); 5 -> 3
//! allocations a query (the other two are rusqlite's and the query's result).

use std::any::Any;
use std::future::poll_fn;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tenure::pool::Lease;

use crate::connection::Connection;
use crate::worker::Job;
use crate::Manager;

type Panic = Box<dyn Any + Send>;

/// One call of [`run`], shared by the awaiting future and the thread that runs it — one
/// allocation for the closure, the lease, the reply and the waker.
struct Call<F, T> {
    /// The lease and the closure, taken by the thread when it starts.
    job: Mutex<Option<(Lease<Manager>, F)>>,
    /// The reply. While it is [`Reply::Waiting`] the closure holds the lease: the lock
    /// orders an interrupt (sent only then) before the closure's end.
    reply: Mutex<Reply<T>>,
    interrupt: Arc<rusqlite::InterruptHandle>,
}

// The reply lives in the call's one allocation: boxing its large variant (a lease is
// some 360 bytes) would add a second.
#[allow(clippy::large_enum_variant)]
enum Reply<T> {
    /// The closure has not finished; the waker of the awaiting task, once polled.
    Waiting(Option<Waker>),
    /// The closure finished (or panicked); not yet taken.
    Ready(Result<(Lease<Manager>, T), Panic>),
    /// Taken by the awaiting future, or the future was dropped first.
    Closed,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<F, T> Call<F, T> {
    /// The closure is done: its outcome goes to the awaiting task (woken), or — the task
    /// gave up — is dropped here, on the connection's thread, with the lease.
    fn reply(&self, out: Result<(Lease<Manager>, T), Panic>) {
        let mut reply = lock(&self.reply);
        match std::mem::replace(&mut *reply, Reply::Closed) {
            Reply::Waiting(waker) => {
                *reply = Reply::Ready(out);
                drop(reply);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            _ => {
                drop(reply);
                drop(out);
            }
        }
    }

    fn poll_reply(&self, cx: &mut Context<'_>) -> Poll<Result<(Lease<Manager>, T), Panic>> {
        let mut reply = lock(&self.reply);
        match &mut *reply {
            Reply::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Reply::Ready(_) => match std::mem::replace(&mut *reply, Reply::Closed) {
                Reply::Ready(out) => Poll::Ready(out),
                _ => unreachable!("matched above"),
            },
            Reply::Closed => panic!("tenure_sqlite::run polled after it finished"),
        }
    }

    /// The awaiting future is dropped: interrupt the closure if it still runs (under the
    /// lock, so never after it ended); a reply not taken is dropped here.
    fn abandon(&self) {
        let mut reply = lock(&self.reply);
        let was = std::mem::replace(&mut *reply, Reply::Closed);
        if let Reply::Waiting(_) = was {
            self.interrupt.interrupt();
        }
        drop(reply);
        drop(was);
    }
}

impl<F, T> Job for Call<F, T>
where
    F: FnOnce(&mut Connection) -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(&self) {
        let Some((mut lease, f)) = lock(&self.job).take() else {
            return;
        };
        match catch_unwind(AssertUnwindSafe(|| f(&mut lease))) {
            Ok(out) => self.reply(Ok((lease, out))),
            Err(payload) => {
                self.reply(Err(payload));
                // Unwind again, silently (no panic hook), so the lease is dropped while
                // its thread panics: the pool keeps it only if it is in autocommit.
                resume_unwind(Box::new(()));
            }
        }
    }

    fn drop_unrun(&self) {
        if let Some(job) = lock(&self.job).take() {
            let unrun: Panic =
                Box::new("tenure_sqlite::run: the blocking pool dropped the closure unrun");
            self.reply(Err(unrun));
            drop(job);
        }
    }
}

/// The job handed to tokio's blocking pool: if the pool drops it unrun (the runtime
/// shuts down), the awaiting task panics instead of waiting for ever.
struct Fallback(Arc<dyn Job>);

impl Drop for Fallback {
    fn drop(&mut self) {
        self.0.drop_unrun();
    }
}

/// Abandons the call if the awaiting future is dropped before it took the reply.
struct Awaiting<'a, F, T>(&'a Call<F, T>);

impl<F, T> Drop for Awaiting<'_, F, T> {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

/// Runs `f` on the lease's connection on a thread of the connection's own and gives the
/// lease back with `f`'s result: async code never blocks a runtime worker on SQLite.
///
/// - The connection's thread is started by its first `run` and ends with the connection;
///   blocking callers keep using the connection directly. Measured against tokio's
///   `spawn_blocking` (one shared queue for every job) on the 2-core bench machine, one
///   point query per hop: 1.25–1.31× faster with 16 tasks, 0.98–1.36× with 64.
/// - If this future is dropped, the statement running on the connection is interrupted
///   (it ends with `SQLITE_INTERRUPT`) — only while `f` still holds the lease, never
///   after: the interrupt and the end of `f` take one lock, so an interrupt cannot reach
///   the next holder's statement. `f` then finishes on its thread (a statement it starts
///   after the interrupt runs) and the lease goes back to the pool from there; a
///   transaction left open is rolled back by the pool before anyone else gets it.
/// - A panic in `f` resumes here; the lease, dropped while its thread panics, is kept
///   only if it is in autocommit, and the connection's thread lives on.
///
/// ```
/// use tenure::pool::Pool;
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = tenure_sqlite::Manager::memory("doc-run").build()?;
/// let pool = Pool::builder(manager).config(tenure_sqlite::pool_config()).build()?;
/// let lease = pool.get().await?;
/// let (lease, created) = tenure_sqlite::run(lease, |conn| {
///     conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)")
/// })
/// .await;
/// created?;
/// let (_lease, n) = tenure_sqlite::run(lease, |conn| {
///     conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
/// })
/// .await;
/// assert_eq!(n?, 2);
/// # Ok(()) }
/// ```
pub async fn run<T, F>(lease: Lease<Manager>, f: F) -> (Lease<Manager>, T)
where
    F: FnOnce(&mut Connection) -> T + Send + 'static,
    T: Send + 'static,
{
    let mut lease = lease;
    let worker = Connection::worker(&mut lease);
    let interrupt = Connection::interrupt_handle(&lease);
    let call = Arc::new(Call {
        job: Mutex::new(Some((lease, f))),
        reply: Mutex::new(Reply::Waiting(None)),
        interrupt,
    });
    let job: Arc<dyn Job> = call.clone();
    match worker {
        Some(worker) => worker.send(job),
        // The OS refused the connection a thread: the blocking pool instead.
        None => {
            let job = Fallback(job);
            tokio::task::spawn_blocking(move || {
                let _ = catch_unwind(AssertUnwindSafe(|| job.0.run()));
            });
        }
    }
    let awaiting = Awaiting(&call);
    let out = poll_fn(|cx| awaiting.0.poll_reply(cx)).await;
    // The reply is taken: nothing left to interrupt or drop (it holds only a reference).
    std::mem::forget(awaiting);
    match out {
        Ok(pair) => pair,
        Err(payload) => resume_unwind(payload),
    }
}
