//! A named in-memory database keeps its rows when the pool retires every connection to it
//! (a manual clock moved past `idle_timeout`, then one maintenance round): the manager's
//! own connection outside the pool keeps it alive.

use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::pool::{Pool, PoolConfig};
use tenure_sqlite::Manager;

#[test]
fn a_memory_database_keeps_its_rows_when_every_idle_connection_is_retired() {
    let time = ManualClock::new();
    let config = PoolConfig {
        max_size: 3,
        idle_timeout: Some(Duration::from_secs(60)),
        maintenance_interval: None,
        ..tenure_sqlite::pool_config()
    };
    let pool = Pool::builder(Manager::memory("retire-all").build().unwrap())
        .config(config)
        .clock(time.clone())
        .build()
        .unwrap();
    let leases: Vec<_> = (0..3).map(|_| pool.get_blocking().unwrap()).collect();
    leases[0]
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)")
        .unwrap();
    drop(leases);
    assert_eq!(pool.status().idle, 3);

    time.advance(Duration::from_secs(61));
    pool.maintain();
    assert_eq!(pool.status().idle, 0);
    // The closes run on threads of their own (blocking work outside a runtime).
    for _ in 0..500 {
        if pool.status().size == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(pool.status().size, 0);
    assert_eq!(pool.statistics().destroyed.idle, 3);

    let conn = pool.get_blocking().unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(pool.statistics().created, 4);
}
