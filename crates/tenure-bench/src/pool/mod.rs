//! The pool benches: tenure's `Pool` against deadpool, bb8 (async) and r2d2 (blocking).
//!
//! This module is the family's dispatcher: [`run`] (the `pool` prefix) runs the async rows
//! ([`rows`]), the scenarios reported beside them ([`scenarios`]: cancellation storm,
//! backend down) and the uncontended floor ([`floor`]) on one runtime; [`run_blocking`]
//! (the `pool_blocking` prefix) the blocking rows ([`blocking`]). What they all build —
//! pools, no-op managers, the runtime — lives beneath them in [`fixtures`]; none of them
//! imports another.
//!
//! Configurations (the same sizes, timeouts and pre-warming on every side; checks that
//! tenure does not run here are off in the peers too):
//! - tenure: `PoolConfig { max_size: S, validation: Validation::Never, ..default }` — as
//!   a user gets it otherwise: statistics on, acquire and create timeouts 30 s, lifetime
//!   30 min, idle timeout 10 min, `max_concurrent_creates` 2; `Pool::new` inside the
//!   runtime. Its manager is a sync no-op (`Work::ready`).
//! - deadpool 0.13 (`managed`, feature `rt_tokio_1`): `Pool::builder(m).max_size(S)`,
//!   wait and create timeouts 30 s on `Runtime::Tokio1`, no recycle timeout, FIFO queue
//!   mode (its default), no hooks; its manager's `create` and `recycle` are no-op
//!   `async fn`s returning `Ok` (deadpool always calls `recycle` on checkout: that is its
//!   check, and it costs one poll of a ready future).
//! - bb8 0.9: `Pool::builder().max_size(S).test_on_check_out(false)`, connection timeout
//!   30 s, its default lifetime (30 min) and idle timeout (10 min), FIFO queue strategy
//!   (default), `build_unchecked` then pre-warmed like the others; `connect` / `is_valid`
//!   no-op, `has_broken` false; leases through `Pool::get` (the borrowing one). bb8's
//!   default features include `parking_lot`, which turns on tokio's `parking_lot` feature
//!   for every side of this binary (tokio's internal locks); a build with it off gave the
//!   same ratios within noise (2026-12-02, two processes).
//!

pub mod blocking;
pub mod fixtures;
pub mod floor;
pub mod rows;
pub mod scenarios;

use crate::harness::Harness;

/// Runs the `pool` comparisons on a 2-worker runtime, then the pool scenarios and the floor
/// on the same runtime.
pub fn run(h: &mut Harness) {
    let Some(rt) = fixtures::runtime() else {
        return;
    };
    rows::run(h, &rt);
    scenarios::run(h, &rt);
    floor::run(h, &rt);
}

/// Runs the `pool_blocking` comparisons (threads, no runtime).
pub fn run_blocking(h: &mut Harness) {
    blocking::run(h);
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let mut h = Harness::smoke();
        super::run(&mut h);
        let rows = h.rows();
        // 2 uncontended + 8 contended + 4 yield + 2 hold shapes, two peers each.
        assert_eq!(rows.len(), 32, "{rows:?}");
        for r in rows {
            assert!(r.bench.starts_with("pool/tasks="), "{}", r.bench);
            assert!(["deadpool", "bb8"].contains(&r.peer.as_str()), "{}", r.peer);
            assert!(
                r.tenure_ns > 0.0 && r.peer_ns > 0.0 && r.ratio > 0.0,
                "{r:?}"
            );
        }
        let names: Vec<&str> = rows.iter().map(|r| r.bench.as_str()).collect();
        assert!(names.contains(&"pool/tasks=1,size=2"), "{names:?}");
        assert!(names.contains(&"pool/tasks=8,size=8,hold=1ms"), "{names:?}");
        assert!(names.contains(&"pool/tasks=4,size=2"), "{names:?}");
        // Contended rows carry both acquire-latency p99s; uncontended ones none.
        for r in rows
            .iter()
            .filter(|r| !r.bench.starts_with("pool/tasks=1,"))
        {
            assert!(r.p99_ns.is_some_and(|p| p >= 0.0), "{r:?}");
            assert!(r.peer_p99_ns.is_some(), "{r:?}");
        }
        let hold = rows.iter().find(|r| r.bench.ends_with("hold=1ms")).unwrap();
        assert!(hold.params.contains_key("p99_target"), "{hold:?}");
        let names: Vec<&str> = h.scenarios().iter().map(|s| s.bench.as_str()).collect();
        assert!(names.contains(&"pool/scenario=cancel_storm"), "{names:?}");
        assert!(names.contains(&"pool/scenario=backend_down"), "{names:?}");
        // The floor: every figure measured, against bb8, and the ratios it bounds.
        let floor = h
            .scenarios()
            .iter()
            .find(|s| s.bench == "pool/scenario=floor")
            .expect("the floor scenario ran");
        assert_eq!(floor.peer, "bb8");
        for key in [
            "floor_ns",
            "floor_without_clock_ns",
            "two_clock_reads_ns",
            "floor_blocking_ns",
            "tenure_blocking_ns",
            "r2d2_ns",
            "max_ratio_vs_bb8",
            "max_ratio_vs_r2d2",
        ] {
            let v = floor.params[key].as_f64().unwrap_or(0.0);
            assert!(v > 0.0, "{key}: {floor:?}");
        }
    }
}
