//! The background driver and maintenance: `min_idle` kept (creates under way counted, within
//! the size), the driver a task on the pool's runtime or a thread of its own, stopped by
//! close; the relay tasks only on a multi-thread runtime.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;
use tenure::pool::{BuildError, Lease, Pool, PoolConfig};
use tenure::testing::TestManager;

mod pool_fixture;
use pool_fixture::{base, pool_with};

#[test]
fn maintenance_creates_up_to_min_idle_within_the_size() {
    let (pool, m, _time) = pool_with(PoolConfig {
        max_size: 3,
        min_idle: 2,
        ..base()
    });
    assert_eq!(pool.status().size, 0, "nothing before the first round");
    pool.maintain();
    assert_eq!((pool.status().idle, m.created()), (2, 2));
    let a = pool.get_blocking().unwrap();
    let b = pool.get_blocking().unwrap();
    pool.maintain();
    assert_eq!(pool.status().size, 3, "one more, up to max_size");
    drop((a, b));
}

/// Maintenance counts the creates under way toward `min_idle`: rounds that come while
/// they run start no more.
#[tokio::test(start_paused = true)]
async fn maintenance_counts_creates_under_way_toward_min_idle() {
    let m = TestManager::new_async();
    m.create_delay(Duration::from_millis(100));
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 8,
            min_idle: 2,
            max_concurrent_creates: 8,
            maintenance_interval: None,
            ..base()
        },
    )
    .unwrap();
    for _ in 0..3 {
        pool.maintain();
        tokio::task::yield_now().await;
    }
    assert_eq!(m.created(), 2, "two creates for min_idle 2");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(pool.status().idle, 2);
    pool.maintain();
    tokio::task::yield_now().await;
    assert_eq!(m.created(), 2, "min_idle met: none more");
}

#[test]
fn min_idle_may_equal_max_size_but_not_exceed_it() {
    let build = |min_idle, max_size| {
        Pool::new(
            TestManager::new(),
            PoolConfig {
                min_idle,
                max_size,
                ..base()
            },
        )
        .map(|_| ())
    };
    assert_eq!(build(4, 4), Ok(()));
    assert_eq!(
        build(5, 4),
        Err(BuildError::Config("min_idle must not exceed max_size"))
    );
}

#[tokio::test(start_paused = true)]
async fn the_background_driver_keeps_min_idle_and_stops_with_the_pool() {
    let m = TestManager::new_async();
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 4,
            min_idle: 2,
            maintenance_interval: Some(Duration::from_secs(1)),
            ..base()
        },
    )
    .unwrap();
    assert_eq!(pool.status().idle, 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(pool.status().idle, 2, "the driver created min_idle");
    Lease::detach(pool.get().await.unwrap());
    assert_eq!(pool.status().idle, 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pool.status().idle, 2, "and keeps it up, round after round");
    let weak_probe = pool.clone();
    drop(pool);
    drop(weak_probe);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(m.closed().len(), 2, "the last handle closed the pool");
    assert_eq!(m.created(), 3, "no creates after the close");
}

/// `close()` stops the driver (and the pool's timer) even while handles remain.
#[tokio::test(start_paused = true)]
async fn a_closed_pool_leaves_no_task_running_while_its_handles_live() {
    let m = TestManager::new_async();
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            max_size: 4,
            min_idle: 1,
            maintenance_interval: Some(Duration::from_millis(100)),
            ..base()
        },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(pool.status().idle, 1);
    let metrics = tokio::runtime::Handle::current().metrics();
    assert!(metrics.num_alive_tasks() >= 1, "the driver runs");
    pool.close().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(metrics.num_alive_tasks(), 0, "every task of the pool ended");
    assert_eq!(m.closed(), [1]);
}

#[test]
fn a_blocking_pool_has_a_driver_thread() {
    let m = TestManager::new();
    let pool = Pool::new(
        m.clone(),
        PoolConfig {
            min_idle: 1,
            maintenance_interval: Some(Duration::from_millis(10)),
            ..base()
        },
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.status().idle < 1 {
        assert!(std::time::Instant::now() < deadline, "the driver never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    Lease::detach(pool.get_blocking().unwrap());
    while pool.status().idle < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the driver ran only once"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The two relay tasks (see the module docs, "Handoff on a multi-thread runtime") exist only
/// on a multi-thread runtime: a current-thread runtime has no other worker to hand over to.
#[test]
fn relay_tasks_run_only_on_a_multi_thread_runtime() {
    let alive_with_a_pool = |rt: tokio::runtime::Runtime| {
        let m = TestManager::new_async();
        let before = rt.metrics().num_alive_tasks();
        let pool = Pool::builder(m)
            .config(PoolConfig {
                maintenance_interval: None,
                ..base()
            })
            .runtime(rt.handle().clone())
            .build()
            .unwrap();
        let alive = rt.metrics().num_alive_tasks() - before;
        drop(pool); // the last handle: the pool closes, and its tasks end
        rt.block_on(async {
            let ended = async {
                while rt.metrics().num_alive_tasks() > before {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(10), ended)
                .await
                .expect("a task outlived its pool");
        });
        alive
    };
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (one, two) = (alive_with_a_pool(current), alive_with_a_pool(multi));
    assert_eq!(
        two,
        one + 2,
        "current-thread: {one} tasks, multi-thread: {two}"
    );
}
