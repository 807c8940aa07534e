//! The server restarts under a working pool: writers keep running transactions while the
//! pool holds idle and leased connections; the server is stopped and started again. The
//! pool recovers without a restart of the program, no connection known dead is handed out,
//! no committed row is lost and no transaction is half applied.
//!
//! A binary of its own: it stops its cluster, which would break every other test sharing it.
#![cfg(feature = "testing")]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::pool::{Pool, PoolConfig};
use tenure::tx::transaction_async;
use tenure_postgres::{testing, Client, Error, Manager};

#[derive(Default)]
struct Tally {
    committed: Mutex<BTreeSet<i32>>,
    unknown: Mutex<BTreeSet<i32>>,
    failed: AtomicUsize,
    refused: AtomicUsize,
    dead_handed_out: AtomicUsize,
    committed_after_restart: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_recovers_from_a_server_restart_losing_nothing() {
    let Some(cluster) = testing::own_cluster() else {
        return;
    };
    let cluster = Arc::new(cluster);
    let config = cluster.config("postgres");
    let setup = Client::connect(&config, tokio_postgres::NoTls)
        .await
        .unwrap();
    setup
        .batch_execute("CREATE TABLE pairs (id int, half int)")
        .await
        .unwrap();
    drop(setup);

    let pool = Pool::builder(Manager::new(config.clone()))
        .config(PoolConfig {
            max_size: 6,
            acquire_timeout: Duration::from_secs(5),
            create_backoff: Duration::from_millis(20),
            max_create_backoff: Duration::from_millis(200),
            ..PoolConfig::default()
        })
        .build()
        .unwrap();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));
    let next_id = Arc::new(AtomicI32::new(0));

    let mut writers = Vec::new();
    for _ in 0..4 {
        let (pool, tally, stop, restarted, next_id) = (
            pool.clone(),
            tally.clone(),
            stop.clone(),
            restarted.clone(),
            next_id.clone(),
        );
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut c = match pool.get().await {
                    Ok(c) => c,
                    Err(_) => {
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if c.is_broken() {
                    tally.dead_handed_out.fetch_add(1, Ordering::Relaxed);
                }
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let after = restarted.load(Ordering::Relaxed);
                let r = transaction_async(&mut *c, async |tx| {
                    tx.execute("INSERT INTO pairs VALUES ($1, 1)", &[&id])
                        .await?;
                    tx.execute("INSERT INTO pairs VALUES ($1, 2)", &[&id])
                        .await?;
                    Ok::<_, Error>(())
                })
                .await;
                match r {
                    Ok(()) => {
                        tally.committed.lock().unwrap().insert(id);
                        if after {
                            tally
                                .committed_after_restart
                                .fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) if e.is_commit_unknown() => {
                        tally.unknown.lock().unwrap().insert(id);
                    }
                    Err(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }

    // A lease held across the restart, and idle connections in the pool.
    let held = pool.get().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = tally.committed.lock().unwrap().len();
    assert!(before > 0, "the writers did not get going");

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start_again())
        .await
        .unwrap()
        .unwrap();
    restarted.store(true, Ordering::Relaxed);

    // The held lease's connection is gone: its query says so, and it is never lent again.
    let e = held.query_one("SELECT 1", &[]).await.unwrap_err();
    assert!(e.is_connection_lost(), "{e:?}");
    assert!(held.is_broken());
    drop(held);

    // Recovery: commits resume with no restart of the program.
    for _ in 0..600 {
        if tally.committed_after_restart.load(Ordering::Relaxed) >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(tally.committed_after_restart.load(Ordering::Relaxed) >= 20);

    let check = pool.get().await.unwrap();
    let rows = check
        .query("SELECT id, count(*) FROM pairs GROUP BY id", &[])
        .await
        .unwrap();
    let mut present = BTreeSet::new();
    for row in rows {
        let (id, n): (i32, i64) = (row.get(0), row.get(1));
        assert_eq!(n, 2, "transaction {id} half applied");
        present.insert(id);
    }
    let committed = tally.committed.lock().unwrap().clone();
    let unknown = tally.unknown.lock().unwrap().clone();
    let lost: Vec<_> = committed.difference(&present).collect();
    assert!(lost.is_empty(), "committed and lost: {lost:?}");
    let phantom: Vec<_> = present
        .difference(&committed)
        .filter(|id| !unknown.contains(id))
        .collect();
    assert!(
        phantom.is_empty(),
        "present but reported failed: {phantom:?}"
    );
    let dead = tally.dead_handed_out.load(Ordering::Relaxed);
    println!(
        "restart: {} committed ({} after the restart), {} failed, {} commit outcomes unknown \
         ({} of them applied), {} acquires refused while down, {} dead connections handed out; \
         pool: {:?}",
        committed.len(),
        tally.committed_after_restart.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        unknown.len(),
        unknown.intersection(&present).count(),
        tally.refused.load(Ordering::Relaxed),
        dead,
        pool.statistics().destroyed,
    );
    assert_eq!(dead, 0, "connections known dead were handed out");
}
