//! tokio's LIFO slot (tokio #4941, #8100): a waiter woken by a task that keeps its worker
//! busy must not wait in that worker's un-stealable LIFO slot for the task to yield.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenure::pool::{Pool, PoolConfig};
use tenure::testing::TestManager;

/// The holder hands its resource over, then spins for `SPIN` without yielding; the waiter
/// must be served while the holder still spins (by the other, idle worker).
#[test]
fn a_handoff_from_a_holder_that_keeps_its_worker_busy_is_served_by_another_worker() {
    const SPIN: Duration = Duration::from_millis(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for round in 0..5 {
        let pool = rt.block_on(async {
            Pool::new(
                TestManager::new(),
                PoolConfig {
                    max_size: 1,
                    ..PoolConfig::default()
                },
            )
            .unwrap()
        });
        let served_while_spinning = rt.block_on(async move {
            let lease = pool.get().await.unwrap();
            let spinning = Arc::new(AtomicBool::new(false));
            let waiter = {
                let pool = pool.clone();
                let spinning = spinning.clone();
                tokio::spawn(async move {
                    let _lease = pool.get().await.unwrap();
                    spinning.load(Ordering::SeqCst)
                })
            };
            // Let the waiter queue up.
            while pool.status().waiting == 0 {
                tokio::task::yield_now().await;
            }
            let holder = {
                let spinning = spinning.clone();
                tokio::spawn(async move {
                    spinning.store(true, Ordering::SeqCst);
                    drop(lease); // hands over to the waiter...
                    let until = Instant::now() + SPIN;
                    while Instant::now() < until {
                        std::hint::spin_loop(); // ...and keeps the worker busy
                    }
                    spinning.store(false, Ordering::SeqCst);
                })
            };
            let served = waiter.await.unwrap();
            holder.await.unwrap();
            served
        });
        assert!(
            served_while_spinning,
            "round {round}: the waiter was served only after the holder stopped spinning"
        );
    }
}
