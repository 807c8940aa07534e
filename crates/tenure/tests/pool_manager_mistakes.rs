//! A manager's mistake is never a panic inside the pool: a manager that says it is not
//! async (`ASYNC = false`) but hands back futures still works in a pool built without a
//! runtime — its futures run on threads of the pool's own, each with a runtime (and
//! timers) of its own.
#![cfg(feature = "pool")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, Validation, Work};

/// Says `ASYNC = false`, yet every piece of its work is a future that sleeps on tokio's
/// timer.
struct SaysBlocking {
    made: AtomicUsize,
    closed: Arc<AtomicUsize>,
    checked: Arc<AtomicUsize>,
}

impl Manager for SaysBlocking {
    type Resource = usize;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<usize, std::io::Error>> {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        Work::future(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(n)
        })
    }
    fn validate(&self, r: usize) -> Work<(usize, Result<(), std::io::Error>)> {
        let checked = self.checked.clone();
        Work::future(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            checked.fetch_add(1, Ordering::SeqCst);
            (r, Ok(()))
        })
    }
    fn close(&self, _: usize) -> Work<Result<(), BoxError>> {
        let closed = self.closed.clone();
        Work::future(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            closed.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

#[test]
fn futures_of_a_manager_that_says_blocking_run_without_a_runtime() {
    let (closed, checked) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let manager = SaysBlocking {
        made: AtomicUsize::new(0),
        closed: closed.clone(),
        checked: checked.clone(),
    };
    let config = PoolConfig {
        max_size: 1,
        validation: Validation::Always,
        maintenance_interval: None,
        acquire_timeout: Duration::from_secs(10),
        ..PoolConfig::default()
    };
    let pool = Pool::new(manager, config).expect("built without a runtime");
    let lease = pool.get_blocking().expect("the future create ran");
    assert_eq!(*lease, 0);
    drop(lease);
    let lease = pool.get_blocking().expect("the future validation ran");
    assert_eq!((*lease, checked.load(Ordering::SeqCst)), (0, 1));
    drop(lease);
    assert!(
        pool.close_blocking(Duration::from_secs(10)),
        "the future close ran"
    );
    assert_eq!(closed.load(Ordering::SeqCst), 1);
}
