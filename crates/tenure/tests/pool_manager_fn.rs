//! `pool::from_fn`: a manager made of closures creates inline, fails a `get` with its
//! create's error, closes what the pool retires through the given close (by default: a
//! drop), and reports a failed close.
#![cfg(feature = "pool")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::pool::{from_fn, Pool, PoolConfig, PoolError};
use tenure::sink::CollectingSink;

/// Counts its drops.
struct Dropped(Arc<AtomicUsize>);
impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn creates_each_resource_with_the_closure_and_reuses_it() {
    let made = AtomicUsize::new(0);
    let pool = Pool::new(
        from_fn(move || Ok::<_, std::io::Error>(made.fetch_add(1, Ordering::Relaxed))),
        PoolConfig::default(),
    )
    .unwrap();
    let (a, b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    assert_eq!((*a, *b), (0, 1));
    drop(a);
    assert_eq!(*pool.get_blocking().unwrap(), 0);
    assert_eq!(pool.statistics().created, 2);
}

#[test]
fn a_failed_create_fails_the_get_with_its_error() {
    let pool = Pool::new(
        from_fn(|| Err::<(), _>(std::io::Error::other("disk full"))),
        PoolConfig {
            acquire_timeout: Duration::from_secs(5),
            ..PoolConfig::default()
        },
    )
    .unwrap();
    match pool.get_blocking() {
        Err(PoolError::Create(e)) => assert_eq!(e.to_string(), "disk full"),
        other => panic!("expected the create's error, got {other:?}"),
    }
    assert_eq!(pool.statistics().create_failures, 1);
}

#[test]
fn without_a_close_a_retired_resource_is_dropped() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = drops.clone();
    let pool = Pool::new(
        from_fn(move || Ok::<_, std::io::Error>(Dropped(counter.clone()))),
        PoolConfig::default(),
    )
    .unwrap();
    let (a, b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    drop((a, b));
    assert_eq!(drops.load(Ordering::Relaxed), 0, "idle, not dropped");
    pool.retain(|_, _| false);
    assert!(pool.close_blocking(Duration::from_secs(5)));
    assert_eq!(drops.load(Ordering::Relaxed), 2);
    assert_eq!(pool.statistics().close_failures, 0);
}

#[test]
fn the_given_close_gets_each_retired_resource_once() {
    let closed = Arc::new(Mutex::new(Vec::new()));
    let log = closed.clone();
    let next = AtomicUsize::new(1);
    let manager = from_fn(move || Ok::<_, std::io::Error>(next.fetch_add(1, Ordering::Relaxed)))
        .with_close(move |n: usize| {
            log.lock().unwrap().push(n);
            Ok(())
        });
    let pool = Pool::new(manager, PoolConfig::default()).unwrap();
    let (a, b) = (pool.get_blocking().unwrap(), pool.get_blocking().unwrap());
    drop(a);
    pool.retain(|&n, _| n != 1); // retires the idle 1
    assert_eq!(*closed.lock().unwrap(), [1]);
    drop(b);
    assert!(pool.close_blocking(Duration::from_secs(5)));
    assert_eq!(*closed.lock().unwrap(), [1, 2]);
}

#[test]
fn a_failed_close_is_counted_and_reported_to_the_sink() {
    let sink = Arc::new(CollectingSink::new(4));
    let manager = from_fn(|| Ok::<(), std::io::Error>(()))
        .with_close(|()| Err("the far end had hung up".into()));
    let pool = Pool::builder(manager).sink(sink.clone()).build().unwrap();
    drop(pool.get_blocking().unwrap());
    assert!(pool.close_blocking(Duration::from_secs(5)));
    assert_eq!(pool.statistics().close_failures, 1);
    let reports = sink.take();
    assert_eq!(reports.len(), 1);
    let error = reports[0].error().expect("a cleanup report");
    assert!(
        format!("{error:?}").contains("the far end had hung up"),
        "{error:?}"
    );
}
