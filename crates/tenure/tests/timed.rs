//! A timed block emits one `tracing` event when it ends, on every path, carrying its name,
//! its duration and its outcome (`success`, `error` or `panic`).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{capture, quiet_expected_panics, Boom, Captured};
use tenure::timed;

/// The events the timed blocks emitted.
fn timed_events(events: &[Captured]) -> Vec<&Captured> {
    events
        .iter()
        .filter(|e| e.target == "tenure::timed")
        .collect()
}

#[test]
fn success_event_carries_name_duration_and_outcome() {
    let ((), events) = capture(|| {
        let _t = timed::block("data_processing");
    });
    let ev = timed_events(&events);
    assert_eq!(ev.len(), 1);
    let e = ev[0];
    assert_eq!(e.level, tracing::Level::INFO);
    assert_eq!(e.field("name"), Some("data_processing"));
    assert_eq!(e.field("outcome"), Some("success"));
    assert!(e.u64s.contains_key("duration_ns"), "{e:?}");
    assert!(e.f64s.contains_key("duration_ms"), "{e:?}");
    assert!(e.message().starts_with("data_processing completed in "));
    assert!(e.message().ends_with(" ms (success)"));
}

#[test]
fn finish_reports_the_duration_it_returns_and_emits_once() {
    let (elapsed, events) = capture(|| timed::block("step").finish());
    let ev = timed_events(&events);
    assert_eq!(ev.len(), 1, "finish, then drop: still one event");
    assert_eq!(ev[0].u64s["duration_ns"] as u128, elapsed.as_nanos());
    assert_eq!(ev[0].f64s["duration_ms"], elapsed.as_secs_f64() * 1e3);
}

#[test]
fn a_checked_error_reports_outcome_error() {
    fn parse(input: &str) -> Result<i32, std::num::ParseIntError> {
        let mut t = timed::block("parse");
        let n = t.check(input.parse::<i32>())?;
        Ok(n)
    }
    let (r, events) = capture(|| (parse("12"), parse("twelve")));
    assert_eq!(r.0.unwrap(), 12);
    assert!(r.1.is_err());
    let outcomes: Vec<_> = timed_events(&events)
        .iter()
        .map(|e| e.field("outcome").unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["success", "error"]);
}

#[test]
fn fail_reports_outcome_error() {
    let ((), events) = capture(|| {
        let mut t = timed::block(String::from("owned name"));
        t.fail();
        assert_eq!(t.outcome(), "error");
        assert_eq!(t.name(), "owned name");
    });
    let ev = timed_events(&events);
    assert_eq!(ev[0].field("outcome"), Some("error"));
    assert_eq!(ev[0].field("name"), Some("owned name"));
}

#[test]
fn a_panic_reports_outcome_panic() {
    quiet_expected_panics();
    let (r, events) = capture(|| {
        catch_unwind(AssertUnwindSafe(|| {
            let _t = timed::block("risky");
            panic!("[expected] inside a timed block");
        }))
    });
    assert!(r.is_err());
    let ev = timed_events(&events);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].field("name"), Some("risky"));
    assert_eq!(ev[0].field("outcome"), Some("panic"));
}

#[test]
fn an_early_return_still_reports() {
    fn work(stop: bool) -> Result<(), Boom> {
        let _t = timed::block("work");
        if stop {
            return Ok(());
        }
        Err(Boom::new(
            "unmarked errors count as success: the block was not told",
        ))
    }
    let (_, events) = capture(|| (work(true), work(false)));
    let ev = timed_events(&events);
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| e.field("outcome") == Some("success")));
}

#[test]
fn nested_blocks_report_inner_first() {
    let ((), events) = capture(|| {
        let _outer = timed::block("outer");
        {
            let _inner = timed::block("inner");
        }
    });
    let names: Vec<_> = timed_events(&events)
        .iter()
        .map(|e| e.field("name").unwrap().to_string())
        .collect();
    assert_eq!(names, ["inner", "outer"]);
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn timed_future_reports_success_and_error() {
    let (results, events) = capture(|| {
        block_on(async {
            let ok = tenure::timed::future("ok", async { Ok::<_, Boom>(1) }).await;
            let err = tenure::timed::future("bad", async { Err::<u32, _>(Boom::new("no")) }).await;
            (ok, err)
        })
    });
    assert_eq!(results.0.unwrap(), 1);
    assert_eq!(results.1.unwrap_err(), Boom::new("no"));
    let ev = timed_events(&events);
    let seen: Vec<_> = ev
        .iter()
        .map(|e| (e.field("name").unwrap(), e.field("outcome").unwrap()))
        .collect();
    assert_eq!(seen, [("ok", "success"), ("bad", "error")]);
}

#[test]
fn timed_future_dropped_before_completion_reports_cancelled() {
    let (timed_out, events) = capture(|| {
        block_on(async {
            let slow = tenure::timed::future("slow_call", async {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                Ok::<_, Boom>(())
            });
            tokio::time::timeout(std::time::Duration::from_secs(1), slow)
                .await
                .is_err()
        })
    });
    assert!(timed_out);
    let ev = timed_events(&events);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].field("name"), Some("slow_call"));
    assert_eq!(ev[0].field("outcome"), Some("cancelled"));
    assert!(ev[0].u64s.contains_key("duration_ns"));
}
