//! Stream metrics on a manual clock: exact TTFB, total and inter-chunk figures; metrics of a
//! stream that fails midway and of one dropped early; exactly one end report, also as a
//! `tracing` event; `Display` and `serde`.
#![cfg(feature = "stream")]

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::clock::ManualClock;
use tenure::stream::{Meter, StreamMetrics, StreamStatus};

const MS: Duration = Duration::from_millis(1);

/// Runs `items` through a meter, advancing the clock by `delays[i]` before item `i` is
/// produced (and by `delays[len]` before the end).
fn meter_with_delays<T: Clone + tenure::stream::Measure>(
    items: Vec<T>,
    delays: &[Duration],
) -> (Vec<T>, StreamMetrics, Vec<StreamMetrics>) {
    let clock = ManualClock::new();
    let ended = Arc::new(Mutex::new(Vec::new()));
    let sink = ended.clone();
    let tick = clock.clone();
    let delays = delays.to_vec();
    let mut i = 0;
    let source = std::iter::from_fn(move || {
        tick.advance(delays[i]);
        i += 1;
        items.get(i - 1).cloned()
    });
    let mut m =
        Meter::with_clock(source, clock).on_end(move |m| sink.lock().unwrap().push(m.clone()));
    let out: Vec<T> = m.by_ref().collect();
    let metrics = m.metrics();
    drop(m);
    let ended = ended.lock().unwrap().clone();
    (out, metrics, ended)
}

#[test]
fn a_completed_stream_has_exact_figures() {
    let delays = [120 * MS, 10 * MS, 20 * MS, 30 * MS, 40 * MS, 5 * MS];
    let (out, m, ended) = meter_with_delays(vec!["ab", "cd", "ef", "gh", "ij"], &delays);
    assert_eq!(out.concat(), "abcdefghij");
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!(m.ttfb, Some(120 * MS));
    assert_eq!(m.total, 225 * MS);
    assert_eq!((m.chunks, m.bytes), (5, 10));
    let itl = m.inter_chunk.unwrap();
    assert_eq!(itl.count, 4);
    assert_eq!((itl.min, itl.max), (10 * MS, 40 * MS));
    for (got, want) in [(itl.p50, 20 * MS), (itl.p90, 40 * MS), (itl.p99, 40 * MS)] {
        let err = got.as_secs_f64() / want.as_secs_f64() - 1.0;
        assert!(err.abs() < 0.02, "{got:?} vs {want:?}");
    }
    assert!((m.throughput - 10.0 / 0.225).abs() < 1e-9);
    assert_eq!(ended, [m], "reported once, with the final figures");
}

#[test]
fn a_stream_failing_midway_keeps_its_partial_figures_and_the_error() {
    let items: Vec<Result<&str, String>> = vec![
        Ok("abc"),
        Ok("de"),
        Err("connection reset by peer".to_string()),
        Ok("never counted as success"),
    ];
    let delays = [5 * MS, 7 * MS, 11 * MS, 13 * MS, 17 * MS];
    let (out, m, ended) = meter_with_delays(items, &delays);
    assert_eq!(
        out.len(),
        4,
        "items pass through unchanged, errors included"
    );
    assert_eq!(
        m.status,
        StreamStatus::Failed {
            error: "connection reset by peer".into()
        }
    );
    assert_eq!(m.ttfb, Some(5 * MS));
    assert_eq!(m.total, 23 * MS, "the stream ended at its error");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].status, m.status);
    assert_eq!((ended[0].chunks, ended[0].bytes), (2, 5));
}

#[test]
fn a_stream_dropped_early_reports_what_it_saw() {
    let clock = ManualClock::new();
    let ended = Arc::new(Mutex::new(Vec::new()));
    let sink = ended.clone();
    let mut m = Meter::with_clock(["a", "bb", "ccc", "dddd"].into_iter(), clock.clone())
        .on_end(move |m| sink.lock().unwrap().push(m.clone()));
    clock.advance(3 * MS);
    m.next();
    clock.advance(4 * MS);
    m.next();
    let partial = m.metrics();
    assert_eq!(partial.status, StreamStatus::InProgress);
    assert_eq!(
        (partial.chunks, partial.bytes, partial.total),
        (2, 3, 7 * MS)
    );
    clock.advance(100 * MS);
    assert_eq!(
        m.metrics().total,
        107 * MS,
        "in progress: total runs to now"
    );
    drop(m);
    let ended = ended.lock().unwrap();
    assert_eq!(ended.len(), 1);
    let m = &ended[0];
    assert_eq!(m.status, StreamStatus::DroppedEarly);
    assert_eq!((m.chunks, m.bytes, m.ttfb), (2, 3, Some(3 * MS)));
    assert_eq!(m.total, 107 * MS);
}

#[test]
fn an_empty_stream_completes_without_ttfb() {
    let clock = ManualClock::new();
    let mut m = Meter::with_clock(std::iter::empty::<&[u8]>(), clock.clone());
    clock.advance(MS);
    assert_eq!(m.next(), None);
    assert_eq!(m.next(), None, "ending twice is harmless");
    let metrics = m.metrics();
    assert_eq!(metrics.status, StreamStatus::Completed);
    assert_eq!((metrics.ttfb, metrics.inter_chunk), (None, None));
    assert_eq!(metrics.total, MS);
}

#[test]
fn a_clock_going_backwards_gives_zero_gaps_not_wrapped_ones() {
    let clock = ManualClock::new();
    clock.set(Duration::from_secs(10));
    let mut m = Meter::with_clock(["a", "b"].into_iter(), clock.clone());
    m.next();
    clock.set(Duration::from_secs(9)); // e.g. a TSC read on a core that is behind
    m.next();
    let itl = m.metrics().inter_chunk.unwrap();
    assert_eq!((itl.min, itl.max), (Duration::ZERO, Duration::ZERO));
    assert_eq!(m.metrics().total, Duration::ZERO);
}

#[test]
fn a_metered_reader_counts_reads_and_fails_on_errors() {
    struct Flaky(u32);
    impl Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0 += 1;
            match self.0 {
                1 => Err(std::io::ErrorKind::Interrupted.into()),
                2 | 3 => {
                    buf[..4].copy_from_slice(b"data");
                    Ok(4)
                }
                _ => Err(std::io::Error::other("disk on fire")),
            }
        }
    }
    let mut m = Meter::with_clock(Flaky(0), ManualClock::new());
    let mut buf = [0; 16];
    assert!(m.read(&mut buf).is_err()); // Interrupted: a retry, not the end
    assert_eq!(m.metrics().status, StreamStatus::InProgress);
    assert_eq!(m.read(&mut buf).unwrap(), 4);
    assert_eq!(m.read(&mut buf).unwrap(), 4);
    assert!(m.read(&mut buf).is_err());
    let metrics = m.metrics();
    assert_eq!((metrics.chunks, metrics.bytes), (2, 8));
    assert_eq!(
        metrics.status,
        StreamStatus::Failed {
            error: "disk on fire".into()
        }
    );

    let mut m = Meter::with_clock(&b"hello world"[..], ManualClock::new());
    let mut out = String::new();
    m.read_to_string(&mut out).unwrap();
    assert_eq!(m.metrics().status, StreamStatus::Completed);
    assert_eq!(m.metrics().bytes, 11);
}

#[cfg(feature = "serde")]
#[test]
fn display_is_one_line_and_serde_uses_nanoseconds() {
    let (_, m, _) = meter_with_delays(
        vec!["hello ", "world"],
        &[120 * MS, 30 * MS, Duration::ZERO],
    );
    let line = m.to_string();
    assert!(!line.contains('\n'));
    assert!(
        line.starts_with("completed: 2 chunks, 11 B in 150.0 ms (TTFB 120.0 ms"),
        "{line}"
    );
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["ttfb_ns"], 120_000_000u64);
    assert_eq!(json["total_ns"], 150_000_000u64);
    assert_eq!(json["chunks"], 2);
    assert_eq!(json["inter_chunk"]["p50_ns"], 30_000_000u64);
    let back: StreamMetrics = serde_json::from_value(json).unwrap();
    assert_eq!(back, m);

    let failed = StreamStatus::Failed {
        error: "reset".into(),
    };
    let json = serde_json::to_value(&failed).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"status": "failed", "error": "reset"})
    );
}

#[test]
fn the_end_of_a_stream_is_a_tracing_event() {
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Default, Clone)]
    struct Capture(Arc<Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct V(String);
            impl tracing::field::Visit for V {
                fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                    self.0 += &format!("{}={:?} ", f.name(), v);
                }
                fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                    self.0 += &format!("{}={} ", f.name(), v);
                }
            }
            let mut v = V(format!("{} ", event.metadata().target()));
            event.record(&mut v);
            self.0.lock().unwrap().push(v.0);
        }
    }

    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        let mut m = Meter::with_clock(["a", "b"].into_iter(), ManualClock::new()).name("llm");
        for _ in m.by_ref() {}
        let m = Meter::with_clock(["x"].into_iter(), ManualClock::new()).name("abandoned");
        drop(m);
    });
    let events = capture.0.lock().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].starts_with("tenure::stream "), "{}", events[0]);
    assert!(
        events[0].contains("stream=llm status=completed"),
        "{}",
        events[0]
    );
    assert!(events[0].contains("chunks=2"), "{}", events[0]);
    assert!(
        events[1].contains("stream=abandoned status=dropped_early"),
        "{}",
        events[1]
    );
}

#[test]
fn long_streams_are_exact_across_batches_and_mid_batch() {
    let clock = ManualClock::new();
    let n = 100u64;
    let mut m = Meter::with_clock((1..=n).map(|i| vec![0u8; i as usize]), clock.clone());
    clock.advance(7 * MS);
    for i in 1..=n {
        m.next().unwrap();
        if i == 45 {
            let mid = m.metrics();
            assert_eq!((mid.chunks, mid.bytes), (45, 45 * 46 / 2));
            let itl = mid.inter_chunk.unwrap();
            assert_eq!((itl.count, itl.min, itl.max), (44, MS, 44 * MS));
        }
        clock.advance(i as u32 * MS); // gap after chunk i: i ms
    }
    assert!(m.next().is_none());
    let done = m.metrics();
    assert_eq!(done.ttfb, Some(7 * MS));
    assert_eq!((done.chunks, done.bytes), (n, n * (n + 1) / 2));
    let itl = done.inter_chunk.unwrap();
    assert_eq!((itl.count, itl.min, itl.max), (n - 1, MS, 99 * MS));
    let p50 = itl.p50.as_secs_f64() * 1e3;
    assert!((p50 - 50.0).abs() <= 50.0 / 64.0 + 1e-9, "{p50}");
    assert_eq!(done.total, 7 * MS + MS * (n * (n + 1) / 2) as u32);
}
