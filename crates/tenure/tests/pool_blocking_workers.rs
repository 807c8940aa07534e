//! Blocking pool work runs on worker threads of the pool's own that are reused: a steady
//! stream of blocking resets starts no thread per reset; a job that hangs costs its own
//! thread only — the work after it runs on others, in time.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Checked, Manager, Pool, PoolConfig, Work};
use tenure::testing::{Fault, Faults, Op};

/// A thread, as a reset noted it: its id and its name.
type Seen = (ThreadId, Option<String>);

/// Numbered resources; every returned one is reset by blocking work that notes the thread
/// it ran on, after its faults.
#[derive(Default, Clone)]
struct Resets {
    threads: Arc<Mutex<Vec<Seen>>>,
    faults: Faults,
}

impl Manager for Resets {
    type Resource = u32;
    type Error = tenure::testing::InjectedFault;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<u32, Self::Error>> {
        Work::ready(Ok(0))
    }
    fn close(&self, _: u32) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
    fn needs_reset(&self, _: &u32) -> bool {
        true
    }
    fn reset(&self, r: u32) -> Checked<Self> {
        let threads = self.threads.clone();
        let faults = self.faults.clone();
        Work::blocking(move || {
            let verdict = faults.check(Op::Reset, "conn");
            let me = std::thread::current();
            threads
                .lock()
                .unwrap()
                .push((me.id(), me.name().map(str::to_string)));
            (r, verdict)
        })
    }
}

/// A pool of one whose resets are bounded by `return_timeout`: generous where no reset
/// hangs (a reset that merely runs slowly on a loaded machine is never abandoned), short
/// where one does.
fn pool(manager: &Resets, return_timeout: Duration) -> Pool<Resets> {
    Pool::builder(manager.clone())
        .config(PoolConfig {
            max_size: 1,
            return_timeout,
            maintenance_interval: None,
            ..PoolConfig::default()
        })
        .build()
        .unwrap()
}

const ROUNDS: usize = 20;

#[test]
fn blocking_resets_one_after_another_reuse_the_pools_threads() {
    let manager = Resets::default();
    let pool = pool(&manager, Duration::from_secs(30));
    for _ in 0..ROUNDS {
        // The next get waits for the reset of the lease before.
        drop(pool.get_blocking().unwrap());
        // Time for the worker to be idle again before the next job (else a new one
        // starts, as it must: nothing waits for a busy worker).
        std::thread::sleep(Duration::from_millis(5));
    }
    let last = pool.get_blocking().unwrap(); // the last reset done, no other started
    let threads = manager.threads.lock().unwrap().clone();
    assert_eq!(threads.len(), ROUNDS);
    assert!(
        threads
            .iter()
            .all(|(_, name)| name.as_deref() == Some("tenure-pool-work")),
        "{threads:?}"
    );
    let distinct: HashSet<_> = threads.iter().map(|(id, _)| *id).collect();
    // One thread per reset before: every one of them new.
    assert!(
        distinct.len() <= ROUNDS / 2,
        "{} threads for {ROUNDS} resets",
        distinct.len()
    );
    assert_eq!(pool.statistics().abandoned, 0);
    drop(last);
}

#[test]
fn a_hung_blocking_job_keeps_no_other_job_waiting() {
    let manager = Resets::default();
    manager.faults.inject(Op::Reset, "conn", 1, Fault::Hang);
    let pool = pool(&manager, Duration::from_millis(200));
    drop(pool.get_blocking().unwrap()); // its reset hangs on its worker for good
    for _ in 0..5 {
        drop(pool.get_blocking().unwrap());
    }
    let last = pool.get_blocking().unwrap(); // the fifth reset after the hung one done
                                             // The hung reset never noted its thread; the five after it all ran, in time.
    assert_eq!(manager.threads.lock().unwrap().len(), 5);
    assert_eq!(pool.statistics().abandoned, 1);
    drop(last);
}
