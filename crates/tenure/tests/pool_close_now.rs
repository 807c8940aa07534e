//! `Pool::close` acts when it is called: new gets and waiters fail `Closed` from that
//! instant and idle resources start closing, whether or not its future is ever polled;
//! the future only waits for the end.
#![cfg(feature = "pool")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, PoolError, Work};

/// Numbered resources, created and closed at once; counts the closes.
struct Counted {
    made: AtomicUsize,
    closed: Arc<AtomicUsize>,
}

impl Manager for Counted {
    type Resource = usize;
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<usize, std::io::Error>> {
        Work::ready(Ok(self.made.fetch_add(1, Ordering::SeqCst)))
    }
    fn close(&self, _: usize) -> Work<Result<(), BoxError>> {
        self.closed.fetch_add(1, Ordering::SeqCst);
        Work::ready(Ok(()))
    }
}

fn pool(max_size: usize) -> (Pool<Counted>, Arc<AtomicUsize>) {
    let closed = Arc::new(AtomicUsize::new(0));
    let manager = Counted {
        made: AtomicUsize::new(0),
        closed: closed.clone(),
    };
    let config = PoolConfig {
        max_size,
        acquire_timeout: Duration::from_secs(5),
        ..PoolConfig::default()
    };
    (Pool::new(manager, config).unwrap(), closed)
}

#[tokio::test]
async fn a_close_never_polled_refuses_new_gets_and_closes_the_idle_ones() {
    let (pool, closed) = pool(2);
    let (a, b) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    drop((a, b));
    assert_eq!(pool.status().idle, 2);

    let never_polled = pool.close();
    assert!(matches!(pool.get().await, Err(PoolError::Closed)));
    let blocking = tokio::task::spawn_blocking({
        let pool = pool.clone();
        move || pool.get_blocking().map(drop)
    });
    assert!(matches!(blocking.await.unwrap(), Err(PoolError::Closed)));
    assert_eq!(
        closed.load(Ordering::SeqCst),
        2,
        "the idle ones closed at the call"
    );
    assert_eq!(pool.status().size, 0);
    drop(never_polled);
}

#[tokio::test]
async fn a_close_fails_the_waiters_at_the_call() {
    let (pool, closed) = pool(1);
    let held = pool.get().await.unwrap();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.get().await.map(drop) }
    });
    while pool.status().waiting == 0 {
        tokio::task::yield_now().await;
    }

    let pending = pool.close();
    assert!(matches!(waiter.await.unwrap(), Err(PoolError::Closed)));
    drop(held);
    assert_eq!(
        closed.load(Ordering::SeqCst),
        1,
        "the lent one closed as it came back"
    );
    pending.await; // only waits: everything is closed already
}

#[tokio::test]
async fn close_timeout_closes_at_the_call_too() {
    let (pool, closed) = pool(1);
    drop(pool.get().await.unwrap());
    let pending = pool.close_timeout(Duration::from_secs(1));
    assert!(matches!(pool.get().await, Err(PoolError::Closed)));
    assert_eq!(closed.load(Ordering::SeqCst), 1);
    assert!(pending.await);
}

#[tokio::test]
async fn the_close_future_outlives_the_pool_handle() {
    let (pool, closed) = pool(1);
    let held = pool.get().await.unwrap();
    let done = tokio::spawn(pool.close());
    drop(pool);
    drop(held);
    done.await.unwrap();
    assert_eq!(closed.load(Ordering::SeqCst), 1);
}
