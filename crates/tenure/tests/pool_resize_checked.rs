//! `resize` applies the build's check: `resize(0)` is the typed error a build with
//! `max_size: 0` gets, and changes nothing (it used to make the pool's size 1 silently).
#![cfg(feature = "pool")]

use tenure::error::BoxError;
use tenure::pool::{Manager, Pool, PoolConfig, Work};

struct Unit;
impl Manager for Unit {
    type Resource = ();
    type Error = std::io::Error;
    const ASYNC: bool = false;
    fn create(&self) -> Work<Result<(), std::io::Error>> {
        Work::ready(Ok(()))
    }
    fn close(&self, _: ()) -> Work<Result<(), BoxError>> {
        Work::ready(Ok(()))
    }
}

#[test]
fn resize_zero_is_the_builds_error_and_changes_nothing() {
    let zero = PoolConfig {
        max_size: 0,
        ..PoolConfig::default()
    };
    let at_build = Pool::new(Unit, zero).unwrap_err();
    let pool = Pool::new(Unit, PoolConfig::default()).unwrap();
    let before = pool.status().max_size;
    assert_eq!(pool.resize(0), Err(at_build));
    assert_eq!(pool.status().max_size, before);
    assert_eq!(pool.resize(3), Ok(()));
    assert_eq!(pool.status().max_size, 3);
}
