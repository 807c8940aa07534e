//! Feature `metrics`: a pool publishes its gauges, counters and histograms through the
//! `metrics` facade, labelled with its name.
#![cfg(all(feature = "metrics", feature = "testing"))]

use std::collections::HashMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tenure::clock::ManualClock;
use tenure::pool::{Pool, PoolConfig, Validation};
use tenure::testing::TestManager;

#[test]
fn a_pool_publishes_its_figures_labelled_with_its_name() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let time = ManualClock::new();
    let clock = time.clone();
    let pool = metrics::with_local_recorder(&recorder, || {
        Pool::builder(TestManager::new())
            .config(PoolConfig {
                name: "db".into(),
                max_size: 4,
                validation: Validation::Never,
                leak_threshold: Some(Duration::from_secs(1)),
                maintenance_interval: None,
                ..PoolConfig::default()
            })
            .clock(clock)
            .build()
            .unwrap()
    });
    let a = pool.get_blocking().unwrap();
    let b = pool.get_blocking().unwrap();
    time.advance(Duration::from_millis(20));
    drop(b);
    time.advance(Duration::from_secs(2));
    pool.maintain(); // publishes; `a` is now a leak

    let values: HashMap<String, DebugValue> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<_> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            assert_eq!(labels, ["pool=db"], "{}", key.name());
            (key.name().to_owned(), value)
        })
        .collect();
    let gauge = |n: &str| match &values[n] {
        DebugValue::Gauge(v) => v.into_inner(),
        other => panic!("{n}: {other:?}"),
    };
    let counter = |n: &str| match &values[n] {
        DebugValue::Counter(v) => *v,
        other => panic!("{n}: {other:?}"),
    };
    assert_eq!(
        [
            gauge("tenure_pool_size"),
            gauge("tenure_pool_idle"),
            gauge("tenure_pool_in_use"),
            gauge("tenure_pool_waiting"),
            gauge("tenure_pool_max_size")
        ],
        [2.0, 1.0, 1.0, 0.0, 4.0]
    );
    assert_eq!(counter("tenure_pool_acquired_total"), 2);
    assert_eq!(counter("tenure_pool_created_total"), 2);
    assert_eq!(counter("tenure_pool_leaks_total"), 1);
    assert_eq!(counter("tenure_pool_timeouts_total"), 0);
    match &values["tenure_pool_hold_seconds"] {
        DebugValue::Histogram(v) => {
            assert_eq!(v.iter().map(|x| x.into_inner()).collect::<Vec<_>>(), [0.02])
        }
        other => panic!("{other:?}"),
    }
    drop(a);
}
