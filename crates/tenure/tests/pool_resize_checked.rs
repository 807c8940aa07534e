//! `resize` applies the build's check: `resize(0)` is the typed error a build with
//! `max_size: 0` gets, and changes nothing (it used to make the pool's size 1 silently).
#![cfg(feature = "pool")]

use tenure::pool::{from_fn, Pool, PoolConfig};

fn units() -> impl tenure::pool::Manager<Resource = ()> {
    from_fn(|| Ok::<(), std::io::Error>(()))
}

#[test]
fn resize_zero_is_the_builds_error_and_changes_nothing() {
    let zero = PoolConfig {
        max_size: 0,
        ..PoolConfig::default()
    };
    let at_build = Pool::new(units(), zero).unwrap_err();
    let pool = Pool::new(units(), PoolConfig::default()).unwrap();
    let before = pool.status().max_size;
    assert_eq!(pool.resize(0), Err(at_build));
    assert_eq!(pool.status().max_size, before);
    assert_eq!(pool.resize(3), Ok(()));
    assert_eq!(pool.status().max_size, 3);
}
