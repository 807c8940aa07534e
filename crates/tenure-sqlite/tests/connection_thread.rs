//! The thread `run` uses is the connection's own: started by the first `run` on a
//! connection, reused by every later one (a panicking closure does not end it), and ended
//! when the connection is closed. Counted from the OS's list of this process's threads
//! (Linux), in a test binary of its own so that no other test starts such threads.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use tenure::pool::{Pool, PoolConfig};
use tenure_sqlite::{run, Manager};

/// The threads of this process named as a connection's thread.
fn connection_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("the process's thread list")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "tenure-sqlite")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_has_one_thread_reused_by_every_run_and_ended_with_it() {
    let pool = Pool::builder(Manager::memory("connection-thread").build().unwrap())
        .config(PoolConfig {
            max_size: 3,
            maintenance_interval: None,
            ..tenure_sqlite::pool_config()
        })
        .build()
        .unwrap();
    assert_eq!(connection_threads(), 0, "no run yet, no thread");

    // Three connections at once: one thread each.
    let mut leases = Vec::new();
    for _ in 0..3 {
        leases.push(pool.get().await.unwrap());
    }
    let mut back = Vec::new();
    for lease in leases {
        let (lease, one) = run(lease, |c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
        })
        .await;
        assert_eq!(one.unwrap(), 1);
        back.push(lease);
    }
    drop(back);
    assert_eq!(connection_threads(), 3);

    // Many more runs, one of them panicking: the same three threads.
    for i in 0..60 {
        let lease = pool.get().await.unwrap();
        if i == 30 {
            let panicked = tokio::spawn(async move {
                let _ = run(lease, |_| panic!("a closure that panics")).await;
            })
            .await;
            assert!(panicked.unwrap_err().is_panic());
            continue;
        }
        let (_lease, n) = run(lease, move |c| {
            c.query_row("SELECT ?1", [i], |r| r.get::<_, i64>(0))
        })
        .await;
        assert_eq!(n.unwrap(), i);
    }
    assert_eq!(
        pool.status().size,
        3,
        "the connection of the panicking closure was kept"
    );
    assert_eq!(connection_threads(), 3);

    // Closed with its connections: the threads end.
    pool.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while connection_threads() > 0 {
        assert!(
            Instant::now() < deadline,
            "the connections' threads outlived them"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
