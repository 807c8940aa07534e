//! A pool's durations read well: `Debug` of `Statistics` and `Durations` shows counts and
//! quantiles (it printed the histogram's buckets, thousands of numbers), `buckets()` draws
//! the distribution as `stream::Gaps` does, and with feature `serde` the figures serialize
//! by name.
#![cfg(all(feature = "pool", feature = "testing"))]

use std::time::Duration;

mod pool_fixture;
use pool_fixture::{base, pool_with};

/// A pool whose leases were held 1..=500 µs and 100 ms, once each.
fn held_for_a_while() -> tenure::pool::Statistics {
    let (pool, _, time) = pool_with(base());
    for held in (1..=500)
        .map(Duration::from_micros)
        .chain([Duration::from_millis(100)])
    {
        let lease = pool.get_blocking().unwrap();
        time.advance(held);
        drop(lease);
    }
    pool.statistics()
}

#[test]
fn debug_shows_counts_and_quantiles_not_buckets() {
    let stats = held_for_a_while();
    let d = format!("{:?}", stats.hold_time);
    assert!(
        d.starts_with("Durations { count: 501, total: ") && d.contains("p99: ") && d.len() < 200,
        "{d}"
    );
    assert!(!d.contains("histogram"), "{d}");
    let s = format!("{stats:?}");
    assert!(s.len() < 1000, "{} bytes: {s}", s.len());
    assert!(s.contains("hold_time: Durations { count: 501"), "{s}");
}

#[test]
fn the_buckets_hold_every_duration_once() {
    let held = held_for_a_while().hold_time;
    let buckets = held.buckets();
    assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), held.count);
    assert!(buckets.windows(2).all(|w| w[0].high <= w[1].low));
    for d in (1..=500).map(Duration::from_micros) {
        let holding: Vec<_> = buckets.iter().filter(|b| b.contains(d)).collect();
        assert_eq!(holding.len(), 1, "{d:?}");
        // A bucket is at most 1/64 of its lower bound wide.
        let b = holding[0];
        assert!(
            (b.high - b.low) * 64 <= b.low.max(Duration::from_nanos(64)),
            "{b:?}"
        );
    }
    let last = buckets.last().unwrap();
    assert!(last.contains(Duration::from_millis(100)) && last.count == 1);
    assert_eq!(
        (held.min, held.max),
        (Duration::from_micros(1), Duration::from_millis(100))
    );
    // The quantiles are read from the same buckets.
    let p50 = held.p50();
    assert!(buckets.iter().any(|b| b.contains(p50)));
    assert!(tenure::pool::Durations::default().buckets().is_empty());
}

#[cfg(feature = "serde")]
#[test]
fn the_figures_serialize_by_name() {
    use std::collections::BTreeSet;
    let stats = held_for_a_while();
    let v = serde_json::to_value(&stats).unwrap();
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        keys(&v["hold_time"]),
        ["count", "total_ns", "min_ns", "max_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns"]
            .map(String::from)
            .into()
    );
    assert_eq!(v["hold_time"]["count"], 501);
    assert_eq!(v["hold_time"]["max_ns"], 100_000_000);
    assert_eq!(v["hold_time"]["min_ns"], 1_000);
    assert_eq!(
        v["acquired_direct"].as_u64().unwrap() + v["acquired_waited"].as_u64().unwrap(),
        501
    );
    assert_eq!(v["destroyed"]["expired"], 0);
    let (pool, _, _) = pool_with(base());
    let status = serde_json::to_value(pool.status()).unwrap();
    assert_eq!(status["max_size"], 2);
    assert_eq!(keys(&status).len(), 8);
    let bucket = serde_json::to_value(stats.hold_time.buckets()[0]).unwrap();
    assert_eq!(
        bucket,
        serde_json::json!({"low_ns": 1000, "high_ns": 1008, "count": 1})
    );
}
