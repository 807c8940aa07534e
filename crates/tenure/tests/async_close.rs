//! `AsyncClose` for `Option`, `Box` and `Vec` closes its resources rather than dropping
//! them, a `Vec` returns every failure in order, and an `AsyncClosing` keeps its name.
#![cfg(all(feature = "testing", feature = "tokio"))]

mod common;

use tenure::async_close::AsyncClosing;
use tenure::close::Dropping;
use tenure::testing::{Ending, Ledger, Op};
use tenure::AsyncClose;

#[tokio::test]
async fn async_close_of_option_box_and_vec_closes_not_drops() {
    let ledger = Ledger::new();
    AsyncClose::close(Some(ledger.acquire("opt").unwrap()))
        .await
        .unwrap();
    AsyncClose::close(Box::new(ledger.acquire("box").unwrap()))
        .await
        .unwrap();
    let v = vec![ledger.acquire("v").unwrap(), ledger.acquire("v").unwrap()];
    AsyncClose::close(v).await.unwrap();
    ledger.assert_all_closed();
    assert_eq!(
        ledger.release_order(),
        [1, 2, 4, 3],
        "a Vec closes last first"
    );
    assert_eq!(ledger.faults().count(Op::Close, "v"), 2);
    let none: Option<tenure::testing::TestResource> = None;
    AsyncClose::close(none).await.unwrap();
}

#[tokio::test]
async fn async_close_of_a_vec_returns_every_failure_in_order() {
    let ledger = Ledger::new();
    ledger
        .faults()
        .fail_nth(Op::Close, "v", 1)
        .fail_nth(Op::Close, "v", 3);
    let v: Vec<_> = (0..3).map(|_| ledger.acquire("v").unwrap()).collect();
    let e = AsyncClose::close(v).await.unwrap_err();
    assert_eq!(e.iter().count(), 2);
    assert_eq!(ledger.ending(3), Some(Ending::CloseFailed));
    assert_eq!(ledger.ending(2), Some(Ending::Closed));
    assert_eq!(ledger.ending(1), Some(Ending::CloseFailed));
}

#[test]
fn async_closing_is_named() {
    let c = AsyncClosing::named("db-1", Dropping(()));
    assert_eq!(AsyncClosing::name(&c), "db-1");
    let c = AsyncClosing::new(Dropping(1u8));
    assert!(AsyncClosing::name(&c).contains("Dropping"));
    let _resource: Dropping<u8> = AsyncClosing::into_inner(c);
}
