//! The test hooks reach real pool operations: `Faults` fail the create, the validation, the
//! reset and the close of real connections, and the `Ledger` counts real connections — an
//! injected close failure still closes the connection and records its release, so
//! `assert_all_closed` holds and the pool counts the failure.

mod common;

use std::sync::Arc;

use tenure::pool::{Pool, PoolConfig, PoolError, Validation};
use tenure::sink::CollectingSink;
use tenure::testing::{Faults, Ledger, Op};
use tenure_sqlite::hooks::KIND;
use tenure_sqlite::{Manager, Operation};

#[test]
fn an_injected_create_failure_reaches_the_caller_and_the_next_create_works() {
    let faults = Faults::new();
    faults.fail_nth(Op::Acquire, KIND, 1);
    let ledger = Ledger::new();
    let config = PoolConfig {
        create_backoff: std::time::Duration::from_millis(1),
        max_create_backoff: std::time::Duration::from_millis(1),
        ..common::config(1)
    };
    let manager = Manager::memory("faults-create")
        .hooks(faults.clone(), ledger.clone())
        .build()
        .unwrap();
    let pool = Pool::builder(manager).config(config).build().unwrap();
    let err = pool.get_blocking().unwrap_err();
    let PoolError::Create(cause) = &err else {
        panic!("{err}")
    };
    assert_eq!(cause.operation(), Operation::Open);
    assert_eq!(
        std::error::Error::source(&**cause).unwrap().to_string(),
        "injected fault: acquire #1 of `sqlite`"
    );
    assert_eq!(ledger.live_count(), 0);
    let lease = loop {
        match pool.get_blocking() {
            Ok(lease) => break lease,
            Err(PoolError::Unavailable { .. }) => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(ledger.live_count(), 1);
    drop(lease);
    assert!(pool.close_blocking(std::time::Duration::from_secs(10)));
    ledger.assert_all_closed();
}

#[test]
fn an_injected_validation_failure_retires_the_connection() {
    let faults = Faults::new();
    faults.fail_nth(Op::Validate, KIND, 1);
    let ledger = Ledger::new();
    let config = PoolConfig {
        validation: Validation::Always,
        ..common::config(1)
    };
    let manager = Manager::memory("faults-validate")
        .hooks(faults.clone(), ledger.clone())
        .build()
        .unwrap();
    let pool = Pool::builder(manager).config(config).build().unwrap();
    drop(pool.get_blocking().unwrap()); // a fresh connection is not checked
    drop(pool.get_blocking().unwrap()); // checked: the fault retires it, a new one is made
    let stats = pool.statistics();
    assert_eq!((stats.created, stats.destroyed.invalid), (2, 1));
    assert_eq!(faults.count(Op::Validate, KIND), 1);
    assert!(pool.close_blocking(std::time::Duration::from_secs(10)));
    ledger.assert_all_closed();
}

#[test]
fn an_injected_close_failure_still_closes_the_connection() {
    let faults = Faults::new();
    faults.fail_nth(Op::Close, KIND, 1);
    let ledger = Ledger::new();
    let sink = Arc::new(CollectingSink::new(16));
    let manager = Manager::memory("faults-close")
        .hooks(faults.clone(), ledger.clone())
        .build()
        .unwrap();
    let pool = Pool::builder(manager)
        .config(common::config(2))
        .sink(sink.clone())
        .build()
        .unwrap();
    let a = pool.get_blocking().unwrap();
    let b = pool.get_blocking().unwrap();
    drop((a, b));
    assert_eq!(ledger.live_count(), 2);
    assert!(pool.close_blocking(std::time::Duration::from_secs(10)));
    ledger.assert_all_closed();
    assert_eq!(ledger.live_count(), 0);
    assert_eq!(pool.statistics().close_failures, 1);
    let reports = sink.take();
    assert_eq!(reports.len(), 1, "{reports:?}");
}

#[test]
fn the_manual_close_applies_the_hooks_too() {
    let faults = Faults::new();
    faults.fail_nth(Op::Close, KIND, 1);
    let ledger = Ledger::new();
    let manager = Manager::memory("faults-manual")
        .hooks(faults, ledger.clone())
        .build()
        .unwrap();
    let conn = manager.open().unwrap();
    let err = tenure::Close::close(conn).unwrap_err();
    assert_eq!(err.operation(), Operation::Close);
    assert_eq!(
        err.to_string(),
        "could not close on SQLite database `memory:faults-manual`"
    );
    ledger.assert_all_closed();
    tenure::Close::close(manager.open().unwrap()).unwrap();
    drop(manager.open().unwrap()); // dropped, not closed: the ledger sees it
    assert_eq!(ledger.check_all_closed().unwrap_err().dropped.len(), 1);
}
