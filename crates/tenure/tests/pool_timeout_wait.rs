//! An acquire timeout reports its wait the same way for `get` and `get_blocking`: the
//! timeout the caller waited out (the async one reported its timeout, the blocking one the
//! measured wait, a little longer each time).
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;

use tenure::pool::{Pool, PoolConfig, PoolError};
use tenure::testing::TestManager;

const TIMEOUT: Duration = Duration::from_millis(30);

fn one() -> PoolConfig {
    PoolConfig {
        max_size: 1,
        maintenance_interval: None,
        ..PoolConfig::default()
    }
}

fn waited<E: std::fmt::Debug>(r: Result<impl Sized, PoolError<E>>) -> (Duration, String)
where
    PoolError<E>: std::error::Error,
{
    match r {
        Err(e @ PoolError::Timeout { .. }) => {
            let PoolError::Timeout { waited, .. } = &e else {
                unreachable!()
            };
            (*waited, e.to_string())
        }
        Err(e) => panic!("not a timeout: {e:?}"),
        Ok(_) => panic!("served"),
    }
}

#[test]
fn a_blocking_timeout_reports_the_timeout_it_waited_out() {
    let pool = Pool::new(TestManager::new(), one()).unwrap();
    let _held = pool.get_blocking().unwrap();
    let (waited, text) = waited(pool.get_blocking_timeout(TIMEOUT));
    assert_eq!(waited, TIMEOUT);
    assert!(text.starts_with("timed out after 30ms waiting"), "{text}");
}

#[test]
fn async_and_blocking_timeouts_read_the_same() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async { Pool::new(TestManager::new(), one()).unwrap() });
    let _held = pool.get_blocking().unwrap();
    let from_task = rt.block_on(pool.get_timeout(TIMEOUT));
    let from_thread = pool.get_blocking_timeout(TIMEOUT);
    let (a, b) = (waited(from_task), waited(from_thread));
    assert_eq!(a, b);
    assert_eq!(a.0, TIMEOUT);
}

#[test]
fn an_async_timeout_without_a_runtime_timer_reads_the_same() {
    // A blocking manager built outside a runtime: the future times itself.
    let pool = Pool::new(TestManager::new(), one()).unwrap();
    let _held = pool.get_blocking().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let from_task = rt.block_on(pool.get_timeout(TIMEOUT));
    let from_thread = pool.get_blocking_timeout(TIMEOUT);
    assert_eq!(waited(from_task), waited(from_thread));
}
