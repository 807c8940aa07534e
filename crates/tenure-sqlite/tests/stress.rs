//! A storm on one pool of a real SQLite file: async tasks and threads run transactions
//! while some are cancelled at varying points, some panic, some return connections inside
//! a transaction, and seeded faults fail creates, resets and closes. Afterwards every
//! transaction is all there or not at all (the committed ones all there, the failed ones
//! not), no connection was ever lent inside a transaction, fresh gets succeed, and once the
//! pool is closed the ledger shows every real connection closed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::pool::{Lease, Pool, PoolConfig, PoolError};
use tenure::testing::{Fault, Faults, Ledger, Op};
use tenure::tx::{transaction, transaction_async, Mode, Options, Session, State};
use tenure_sqlite::hooks::KIND;
use tenure_sqlite::{AsyncConnection, Error, Manager};

#[derive(Default)]
struct Outcomes {
    committed: BTreeSet<i64>,
    failed: BTreeSet<i64>,
    unknown: BTreeSet<i64>,
    lent_dirty: u64,
    get_errors: u64,
    cancelled: u64,
    panicked: u64,
    left_open: u64,
}

fn bad(e: Error) -> Error {
    e
}

fn insert_pair(c: &rusqlite::Connection, id: i64) -> Result<(), Error> {
    c.execute("INSERT INTO t VALUES (?1, 1)", [id])?;
    c.execute("INSERT INTO t VALUES (?1, 2)", [id])?;
    Ok(())
}

async fn get(pool: &Pool<Manager>, out: &Mutex<Outcomes>) -> Lease<Manager> {
    loop {
        match pool.get().await {
            Ok(lease) => return lease,
            Err(PoolError::Create(_) | PoolError::Unavailable { .. }) => {
                out.lock().unwrap().get_errors += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
}

fn get_blocking(pool: &Pool<Manager>, out: &Mutex<Outcomes>) -> Lease<Manager> {
    loop {
        match pool.get_blocking() {
            Ok(lease) => return lease,
            Err(PoolError::Create(_) | PoolError::Unavailable { .. }) => {
                out.lock().unwrap().get_errors += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_transactions_cancels_panics_and_faults() {
    // The storm's own panics are expected: only other panics are printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.to_string().contains("storm: the body panics") {
            default_hook(info);
        }
    }));
    let (_dir, path) = common::db_path();
    let faults = Faults::seeded(23);
    faults
        .inject_random(Op::Acquire, KIND, 0.1, Fault::Error)
        .inject_random(Op::Reset, KIND, 0.3, Fault::Error)
        .inject_random(Op::Close, KIND, 0.3, Fault::Error)
        // A few planned ones as well: the pool creates only a dozen connections.
        .fail_nth(Op::Acquire, KIND, 2)
        .fail_nth(Op::Acquire, KIND, 5);
    let ledger = Ledger::new();
    let manager = Manager::file(&path)
        .init(|c| c.execute_batch("CREATE TABLE IF NOT EXISTS t (id INTEGER, part INTEGER)"))
        .hooks(faults.clone(), ledger.clone())
        .build()
        .unwrap();
    let pool = Pool::builder(manager)
        .config(PoolConfig {
            max_size: 3,
            create_backoff: Duration::from_millis(1),
            max_create_backoff: Duration::from_millis(4),
            maintenance_interval: None,
            ..tenure_sqlite::pool_config()
        })
        .build()
        .unwrap();
    let ids = Arc::new(AtomicU64::new(1));
    let out = Arc::new(Mutex::new(Outcomes::default()));

    let mut tasks = Vec::new();
    for worker in 0..6u64 {
        let (pool, ids, out) = (pool.clone(), ids.clone(), out.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..60u64 {
                let id = ids.fetch_add(1, Ordering::Relaxed) as i64;
                let mut conn = AsyncConnection::new(get(&pool, &out).await);
                if conn.state() != State::Idle {
                    out.lock().unwrap().lent_dirty += 1;
                }
                match (i + worker) % 4 {
                    0 => {
                        let r = transaction_async(&mut conn, async move |tx| {
                            tx.run(move |c| {
                                insert_pair(c, id).map_err(|_| rusqlite::Error::InvalidQuery)
                            })
                            .await
                        })
                        .await;
                        let mut o = out.lock().unwrap();
                        if r.is_ok() {
                            o.committed.insert(id)
                        } else {
                            o.failed.insert(id)
                        };
                    }
                    1 => {
                        let r = transaction_async(&mut conn, async move |tx| {
                            tx.run(move |c| c.execute("INSERT INTO t VALUES (?1, 1)", [id]))
                                .await?;
                            tx.run(|c| c.execute("INSERT INTO nowhere VALUES (1)", []))
                                .await
                        })
                        .await;
                        assert!(r.is_err());
                        out.lock().unwrap().failed.insert(id);
                    }
                    2 => {
                        let wait = Duration::from_micros((i * 7919 + worker * 104_729) % 400);
                        let r = tokio::time::timeout(
                            wait,
                            transaction_async(&mut conn, async move |tx| {
                                tx.run(move |c| c.execute("INSERT INTO t VALUES (?1, 1)", [id]))
                                    .await?;
                                tokio::task::yield_now().await;
                                tx.run(move |c| c.execute("INSERT INTO t VALUES (?1, 2)", [id]))
                                    .await
                            }),
                        )
                        .await;
                        let mut o = out.lock().unwrap();
                        match r {
                            Ok(Ok(_)) => o.committed.insert(id),
                            Ok(Err(_)) => o.failed.insert(id),
                            Err(_) => {
                                o.cancelled += 1;
                                o.unknown.insert(id)
                            }
                        };
                    }
                    _ => {
                        let panicked = tokio::spawn(async move {
                            let _ = transaction_async(&mut conn, async move |tx| {
                                tx.run(move |c| c.execute("INSERT INTO t VALUES (?1, 1)", [id]))
                                    .await?;
                                if id > 0 {
                                    panic!("storm: the body panics");
                                }
                                Ok::<_, Error>(())
                            })
                            .await;
                        })
                        .await;
                        assert!(panicked.unwrap_err().is_panic());
                        let mut o = out.lock().unwrap();
                        o.panicked += 1;
                        o.failed.insert(id);
                    }
                }
            }
        }));
    }
    let mut threads = Vec::new();
    for worker in 0..2u64 {
        let (pool, ids, out) = (pool.clone(), ids.clone(), out.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0..60u64 {
                let id = ids.fetch_add(1, Ordering::Relaxed) as i64;
                let mut conn = get_blocking(&pool, &out);
                if conn.state() != State::Idle {
                    out.lock().unwrap().lent_dirty += 1;
                }
                match (i + worker) % 4 {
                    0 => {
                        let r = Options {
                            mode: Mode::Immediate,
                            ..Options::default()
                        }
                        .run(&mut *conn, |tx| insert_pair(tx, id).map_err(bad));
                        let mut o = out.lock().unwrap();
                        if r.is_ok() {
                            o.committed.insert(id)
                        } else {
                            o.failed.insert(id)
                        };
                    }
                    1 => {
                        let r = catch_unwind(AssertUnwindSafe(|| {
                            transaction(&mut *conn, |tx| {
                                tx.execute("INSERT INTO t VALUES (?1, 1)", [id])?;
                                if id > 0 {
                                    panic!("storm: the body panics");
                                }
                                Ok::<_, Error>(())
                            })
                        }));
                        assert!(r.is_err());
                        let mut o = out.lock().unwrap();
                        o.panicked += 1;
                        o.failed.insert(id);
                    }
                    2 => {
                        // Returned inside a transaction: the pool's reset rolls it back (or,
                        // when the injected fault fails the reset, retires the connection).
                        conn.execute_batch("BEGIN").unwrap();
                        conn.execute("INSERT INTO t VALUES (?1, 1)", [id]).unwrap();
                        let mut o = out.lock().unwrap();
                        o.left_open += 1;
                        o.failed.insert(id);
                    }
                    _ => {
                        let r = transaction(&mut *conn, |tx| {
                            tx.execute("INSERT INTO t VALUES (?1, 1)", [id])?;
                            tx.execute("INSERT INTO nowhere VALUES (1)", [])?;
                            Ok::<_, Error>(())
                        });
                        assert!(r.is_err());
                        out.lock().unwrap().failed.insert(id);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for t in threads {
        tokio::task::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }

    // Fresh gets succeed, in autocommit.
    for _ in 0..3 {
        let lease = get(&pool, &out).await;
        assert_eq!(lease.state(), State::Idle);
    }

    // Every transaction is all there or not at all.
    let reader = common::reader(&path);
    let mut parts: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut stmt = reader
        .prepare("SELECT id, part FROM t ORDER BY id, part")
        .unwrap();
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap() {
        let (id, part) = row.unwrap();
        parts.entry(id).or_default().push(part);
    }
    let o = std::mem::take(&mut *out.lock().unwrap());
    for (id, p) in &parts {
        assert_eq!(p, &[1, 2], "transaction {id} half there");
        assert!(!o.failed.contains(id), "failed transaction {id} is there");
        assert!(
            o.committed.contains(id) || o.unknown.contains(id),
            "{id} from nowhere"
        );
    }
    for id in &o.committed {
        assert!(parts.contains_key(id), "committed transaction {id} lost");
    }
    let present: BTreeSet<i64> = parts.keys().copied().collect();
    let committed_during_cancel = present.difference(&o.committed).count();
    let rows: i64 = reader
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows as usize,
        2 * (o.committed.len() + committed_during_cancel)
    );
    assert_eq!(
        o.lent_dirty, 0,
        "a connection was lent inside a transaction"
    );

    pool.close().await;
    ledger.assert_all_closed();
    let stats = pool.statistics();
    eprintln!(
        "storm: {} transactions: {} committed ({} of them while being cancelled), {} failed or rolled back, \
         {} cancelled, {} panicked, {} returned open; {} rows; pool: {} created, {} create failures \
         ({} get errors seen), {} resets ({} failed), {} panicked retired, {} close failures; \
         {} connections in the ledger, all closed",
        ids.load(Ordering::Relaxed) - 1,
        o.committed.len() + committed_during_cancel,
        committed_during_cancel,
        o.failed.len(),
        o.cancelled,
        o.panicked,
        o.left_open,
        rows,
        stats.created,
        stats.create_failures,
        o.get_errors,
        faults.count(Op::Reset, KIND),
        stats.destroyed.reset_failed,
        stats.destroyed.panicked,
        stats.close_failures,
        ledger.acquired_count(),
    );
    assert!(
        stats.create_failures > 0 && stats.destroyed.reset_failed > 0 && stats.close_failures > 0
    );
}
