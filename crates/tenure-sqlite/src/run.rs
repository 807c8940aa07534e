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
//! on a channel between calls, ended with the connection), and `run` sends the closure
//! there; the pooled resource is still the [`Connection`] itself, so blocking callers use
//! it directly with no hop at all. The alternative, tokio's blocking pool, hands each job
//! through one shared queue (a mutex and a condition variable for all of them), where a
//! connection's thread is woken by its own channel. Measured on the 2-core machine shared
//! with other builds (2026-12-07; one cached point query per hop, a pool of 8, tokio with
//! 2 workers; both forms alternating in one process, 40 000 queries a round): with 16
//! tasks the connection's thread took 10.1–10.6 µs a query, `spawn_blocking` 12.8–13.5 µs
//! (1.25–1.31× slower); with 64 tasks 10.4–12.6 µs against 12.3–14.4 µs (0.98–1.36×). The
//! `spawn_blocking` form stayed beside this one (`run_on`, `Hop`, hidden) for that
//! measurement and was removed once the `db_sqlite` benchmark of `tenure-bench` landed;
//! these are the recorded figures. `spawn_blocking` remains only the fallback when the OS
//! refuses the connection a thread. A
//! panicking closure does not end the thread: its panic is caught there, after the lease
//! was dropped while panicking, and resumed in the awaiting task.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use tenure::pool::Lease;

use crate::connection::Connection;
use crate::Manager;

/// Whether the closure still holds the lease; the lock orders an interrupt before the
/// lease's return.
struct Holding {
    running: Mutex<bool>,
    interrupt: Arc<rusqlite::InterruptHandle>,
}

impl Holding {
    /// The closure is done: from here on no interrupt may be sent.
    fn done(&self) {
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }
}

/// Set on the blocking thread after the lease, so it drops first: the closure's end is
/// recorded (under the lock) before the lease goes back, on return and on panic alike.
struct MarkDone(Arc<Holding>);

impl Drop for MarkDone {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// Interrupts the connection if the awaiting future is dropped while the closure runs.
struct InterruptOnDrop(Option<Arc<Holding>>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(holding) = self.0.take() {
            let running = holding.running.lock().unwrap_or_else(|p| p.into_inner());
            if *running {
                holding.interrupt.interrupt();
            }
        }
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
    let holding = Arc::new(Holding {
        running: Mutex::new(true),
        interrupt: Connection::interrupt_handle(&lease),
    });
    let mut guard = InterruptOnDrop(Some(holding.clone()));
    let (reply, replied) = tokio::sync::oneshot::channel();
    let job = move || {
        let mut lease = lease;
        let done = MarkDone(holding);
        match catch_unwind(AssertUnwindSafe(|| f(&mut lease))) {
            Ok(out) => {
                drop(done);
                let _ = reply.send(Ok((lease, out)));
            }
            Err(payload) => {
                drop(done);
                let _ = reply.send(Err(payload));
                // Unwind again, silently (no panic hook), so the lease is dropped while
                // its thread panics: the pool keeps it only if it is in autocommit.
                resume_unwind(Box::new(()));
            }
        }
    };
    match worker {
        Some(worker) => {
            if let Err(unsent) = worker.send(Box::new(job)) {
                // The thread is gone (it could not be kept): the blocking pool instead.
                let job = unsent.0;
                tokio::task::spawn_blocking(move || {
                    let _ = catch_unwind(AssertUnwindSafe(job));
                });
            }
        }
        None => {
            tokio::task::spawn_blocking(move || {
                let _ = catch_unwind(AssertUnwindSafe(job));
            });
        }
    }
    let replied = replied.await;
    guard.0 = None; // finished: nothing left to interrupt
    match replied {
        Ok(Ok(pair)) => pair,
        Ok(Err(payload)) => resume_unwind(payload),
        Err(_) => panic!("tenure_sqlite::run: the connection's thread dropped the closure unrun"),
    }
}
