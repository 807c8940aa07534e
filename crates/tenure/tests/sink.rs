//! Drop-time reports reach the owner's sink as values (#13, point 2): without a `tracing`
//! subscriber, from any thread, bounded, and a panicking sink cannot abort the process.

mod common;

use std::io;
use std::sync::Arc;

use tenure::close::{close_with, Closing};
use tenure::orphan::Orphans;
use tenure::sink::{CollectingSink, DropReport, Sink};
use tenure::{AsyncExitStack, ErrorKind, ExitStack};

fn collector() -> Arc<CollectingSink> {
    Arc::new(CollectingSink::new(64))
}

#[test]
fn a_stack_dropped_without_close_reports_to_its_sink() {
    let sink = collector();
    let mut s = ExitStack::new().with_sink(sink.clone());
    s.named("out.csv")
        .enter(close_with((), |()| Err(io::Error::other("disk full"))));
    s.named("lock")
        .try_callback(|| Err(io::Error::other("EPERM")));
    drop(s);
    let reports = sink.take();
    assert_eq!(reports.len(), 1, "one report: the group");
    assert_eq!(reports[0].context(), "ExitStack::drop");
    let e = reports[0].error().unwrap();
    let names: Vec<_> = e.iter().map(|e| e.resource()).collect();
    assert_eq!(names, ["lock", "out.csv"]);
    assert!(reports[0].to_string().contains("disk full"));
}

#[test]
fn reports_made_on_other_threads_reach_the_sink_too() {
    let sink = collector();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut s = ExitStack::new().with_sink(sink);
                s.named(format!("t{i}"))
                    .try_callback(|| Err(io::Error::other("x")));
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut names: Vec<_> = sink
        .take()
        .iter()
        .map(|r| r.error().unwrap().resource().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["t0", "t1", "t2", "t3"]);
}

#[test]
fn pop_all_keeps_the_sink() {
    let sink = collector();
    let mut setup = ExitStack::new().with_sink(sink.clone());
    setup.try_callback(|| Err(io::Error::other("x")));
    let kept = setup.pop_all();
    drop(setup);
    assert!(sink.take().is_empty());
    drop(kept);
    assert_eq!(sink.take().len(), 1);
}

#[test]
fn a_closing_dropped_with_a_failing_close_reports_to_its_sink() {
    let sink = collector();
    let c = Closing::named("conn", close_with((), |()| Err(io::Error::other("reset"))));
    drop(Closing::with_sink(c, sink.clone()));
    let reports = sink.take();
    assert_eq!(reports[0].context(), "Closing::drop");
    assert_eq!(reports[0].error().unwrap().kind(), ErrorKind::Close);
}

#[test]
fn a_body_error_lost_to_a_cleanup_panic_is_a_report_too() {
    common::quiet_expected_panics();
    let sink = collector();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut s = ExitStack::new().with_sink(sink.clone());
        s.run(|s| {
            s.named("flush")
                .try_callback(|| Err(io::Error::other("disk full")));
            s.callback(|| panic!("[expected] cleanup panic"));
            Err::<(), _>(io::Error::other("query failed"))
        })
    }));
    assert!(r.is_err(), "the cleanup panic resumed");
    let reports = sink.take();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        matches!(&reports[0], DropReport::Cleanup { error, .. } if error.resource() == "flush")
    );
    assert!(
        matches!(&reports[1], DropReport::BodyErrorLost { message, .. } if message == "query failed"),
        "{reports:?}"
    );
}

#[test]
fn a_collecting_sink_keeps_the_first_n_and_counts_the_rest() {
    let sink = Arc::new(CollectingSink::new(2));
    for i in 0..5 {
        let mut s = ExitStack::new().with_sink(sink.clone());
        s.named(format!("s{i}"))
            .try_callback(|| Err(io::Error::other("x")));
    }
    let kept: Vec<_> = sink
        .take()
        .iter()
        .map(|r| r.error().unwrap().resource().to_string())
        .collect();
    assert_eq!(kept, ["s0", "s1"]);
    assert_eq!(sink.overflowed(), 3);
}

struct Panicking;
impl Sink for Panicking {
    fn report(&self, _: DropReport) {
        panic!("[expected] a sink that panics");
    }
}

#[test]
fn a_panicking_sink_is_caught_even_while_the_thread_unwinds() {
    common::quiet_expected_panics();
    // Not unwinding: the panic is caught.
    let mut s = ExitStack::new().with_sink(Arc::new(Panicking));
    s.try_callback(|| Err(io::Error::other("x")));
    drop(s);
    // Unwinding: a second panic escaping Drop would abort the process.
    let r = std::panic::catch_unwind(|| {
        let mut s = ExitStack::new().with_sink(Arc::new(Panicking));
        s.try_callback(|| Err(io::Error::other("y")));
        panic!("[expected] the body panics");
    });
    assert!(r.is_err());
}

#[tokio::test]
async fn an_orphan_trackers_sink_takes_what_its_async_owners_could_not_return() {
    let sink = collector();
    let orphans = Orphans::new().with_sink(sink.clone());
    let mut s = AsyncExitStack::new().with_orphans(orphans.clone());
    s.named("socket")
        .try_async_callback(|| async { Err(io::Error::other("reset")) });
    drop(s);
    orphans.join().await;
    let reports = sink.take();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].error().unwrap().resource(), "socket");
    assert!(orphans.take_errors().is_empty(), "the sink took them");
    assert_eq!(orphans.stats().failed, 1);
}

/// A tracker's clones are the same tracker: a sink given to one after cloning is theirs too.
#[tokio::test]
async fn a_sink_given_to_a_tracker_reaches_its_clones() {
    let sink = collector();
    let orphans = Orphans::new();
    let handed_out = orphans.clone();
    let orphans = orphans.with_sink(sink.clone());
    let mut s = AsyncExitStack::new().with_orphans(handed_out);
    s.named("socket")
        .try_async_callback(|| async { Err(io::Error::other("reset")) });
    drop(s);
    orphans.join().await;
    assert_eq!(sink.take()[0].error().unwrap().resource(), "socket");
    assert!(orphans.take_errors().is_empty(), "the sink took it");
}

#[tokio::test]
async fn without_a_sink_a_tracker_keeps_its_errors_for_take_errors() {
    let orphans = Orphans::new();
    let mut s = AsyncExitStack::new().with_orphans(orphans.clone());
    s.named("socket")
        .try_async_callback(|| async { Err(io::Error::other("reset")) });
    drop(s);
    orphans.join().await;
    let errors = orphans.take_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].resource(), "socket");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_scopes_lost_body_panic_is_a_report() {
    common::quiet_expected_panics();
    let sink = collector();
    let orphans = Orphans::new().with_sink(sink.clone());
    let mut stack = AsyncExitStack::new().with_orphans(orphans.clone());
    let scope = stack.run(async |s| {
        s.async_callback(|| async { tokio::time::sleep(std::time::Duration::from_secs(1)).await });
        panic!("[expected] body boom");
        #[allow(unreachable_code)]
        Ok::<(), io::Error>(())
    });
    let r = tokio::time::timeout(
        std::time::Duration::from_millis(10),
        std::panic::AssertUnwindSafe(scope),
    )
    .await;
    assert!(r.is_err(), "cancelled while its cleanup slept");
    orphans.join().await;
    let reports = sink.take();
    assert!(
        reports.iter().any(|r| matches!(r, DropReport::PanicLost { message, .. } if message.contains("[expected] body boom"))),
        "{reports:?}"
    );
}
