//! Orphaned cleanup on a tokio runtime built without timers: the deadline cannot be kept
//! there, so the batch runs on the helper thread — and asking the runtime whether it has
//! timers prints nothing (tokio has no query; the probe's panic is caught and kept quiet).
//! Its own test binary, so that the counting panic hook is installed before any probe.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

static PANICS_PRINTED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn cleanup_runs_and_the_timer_probe_prints_nothing() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS_PRINTED.fetch_add(1, Ordering::SeqCst);
        previous(info)
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap(); // no enable_time
    let orphans = tenure::orphan::Orphans::new();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let ran = ran.clone();
        let orphans = orphans.clone();
        rt.block_on(async move {
            let mut s = tenure::AsyncExitStack::new().with_orphans(orphans);
            s.async_callback(move || async move {
                ran.fetch_add(1, Ordering::SeqCst);
            });
            drop(s); // orphaned: runs on the helper thread, which this thread waits for
        });
    }
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    assert_eq!(orphans.pending(), 0);
    assert!(orphans.take_errors().is_empty());
    assert_eq!(
        PANICS_PRINTED.load(Ordering::SeqCst),
        0,
        "the probe reached the panic hook"
    );

    // A real panic elsewhere still reaches the hook.
    let _ = std::thread::spawn(|| panic!("[expected] a real panic")).join();
    assert_eq!(PANICS_PRINTED.load(Ordering::SeqCst), 1);
}
