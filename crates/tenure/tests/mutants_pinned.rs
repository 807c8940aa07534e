//! Behaviours no test pinned before (#13, point 5: cargo-mutants survivors): each test
//! fails if the named function is replaced by a no-op or a constant.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tenure::async_close::AsyncClosing;
use tenure::async_guard::{self, AsyncGuard};
use tenure::close::Dropping;
use tenure::orphan::Orphans;
use tenure::testing::{Ending, Ledger, Op};
use tenure::{AsyncClose, Close, Error, ExitStack};

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

#[tokio::test]
async fn a_dismissed_async_guard_never_runs_its_cleanup() {
    let orphans = Orphans::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let g = async_guard::always((), move |()| async move {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let g = AsyncGuard::with_orphans(g, orphans.clone());
    AsyncGuard::dismiss(g);
    orphans.join().await;
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(orphans.stats().batches, 0, "nothing was orphaned");
}

#[test]
fn add_suppressed_and_take_suppressed_do_what_they_say() {
    let mut e = Error::closed("a");
    e.add_suppressed(Error::closed("b"));
    e.add_suppressed(Error::closed("c"));
    let names: Vec<_> = e.iter().map(|e| e.resource()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let taken = e.take_suppressed();
    assert_eq!(
        taken.iter().map(|e| e.resource()).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert!(e.suppressed().is_empty());
    assert_eq!(e.to_string(), "already closed: `a`");
}

#[test]
fn close_of_a_vec_keeps_closing_after_a_panic_and_resumes_it() {
    common::quiet_expected_panics();
    let ledger = Ledger::new();
    ledger.faults().panic_nth(Op::Close, "v", 2);
    let v: Vec<_> = (0..3).map(|_| ledger.acquire("v").unwrap()).collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Close::close(v)));
    assert!(
        r.is_err(),
        "the panic resumed after every element was closed"
    );
    assert_eq!(ledger.release_order(), [3, 2, 1]);
    assert_eq!(
        ledger.ending(1),
        Some(Ending::Closed),
        "the one after the panic was closed"
    );
    // Two panics: the first resumes, the second is reported (not the other way round).
    ledger
        .faults()
        .panic_nth(Op::Close, "x", 1)
        .panic_nth(Op::Close, "x", 3);
    let v: Vec<_> = (0..3).map(|_| ledger.acquire("x").unwrap()).collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Close::close(v)));
    let msg = common::panic_msg(&*r.unwrap_err());
    assert!(msg.contains("close #1 of `x`"), "{msg}");
    // Without a panic nothing resumes.
    let v: Vec<_> = (0..2).map(|_| ledger.acquire("w").unwrap()).collect();
    Close::close(v).unwrap();
}

#[test]
fn async_closing_is_named() {
    let c = AsyncClosing::named("db-1", Dropping(()));
    assert_eq!(AsyncClosing::name(&c), "db-1");
    let c = AsyncClosing::new(Dropping(1u8));
    assert!(AsyncClosing::name(&c).contains("Dropping"));
    let _resource: Dropping<u8> = AsyncClosing::into_inner(c);
}

#[test]
fn is_empty_says_whether_entries_wait() {
    let mut s = ExitStack::new();
    assert!(s.is_empty());
    s.callback(|| {});
    assert!(!s.is_empty());
    s.unwind().unwrap();
    assert!(s.is_empty());
}

#[test]
fn a_finished_batch_is_no_longer_pending() {
    // Without a runtime the batch runs on the helper, which the dropping thread waits for:
    // by the time drop returns, it has finished.
    let orphans = Orphans::new();
    let mut s = tenure::AsyncExitStack::new().with_orphans(orphans.clone());
    s.async_callback(|| async {});
    drop(s);
    assert_eq!(orphans.pending(), 0);
    assert_eq!(orphans.stats().finished, 1);
    assert!(orphans.join_timeout(Duration::from_millis(1)));
}

/// An error whose cause is a tenure::Error group, one link further down.
#[derive(Debug)]
struct Wrap(Error);
impl std::fmt::Display for Wrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wrapped")
    }
}
impl std::error::Error for Wrap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn report_indents_a_group_by_how_deep_in_the_chain_it_sits() {
    let group = Error::from_errors([Error::closed("b"), Error::closed("c")]).unwrap();
    let e = Error::close("outer", Wrap(group));
    assert_eq!(
        e.report().to_string(),
        "failed to close `outer`: wrapped: already closed: `b` (+1 suppressed cleanup error)\n      \
         suppressed: already closed: `c`"
    );
}

#[test]
fn outcomes_show_the_whole_chain_of_their_error() {
    let e = Error::close("file", std::io::Error::other("disk full"));
    let o = tenure::Outcome::Error(&e);
    assert_eq!(format!("{o:?}"), "Error(failed to close `file`: disk full)");
    assert_eq!(o.to_string(), "error: failed to close `file`: disk full");
}

#[test]
fn closing_a_temp_dir_that_is_gone_reports_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::remove_dir(dir.path()).unwrap();
    assert!(
        Close::close(dir).is_err(),
        "the deletion error Drop would swallow"
    );
    let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::remove_file(&path).unwrap();
    assert!(Close::close(path).is_err());
}
