//! `guard`: a scope guard set and run, against `scopeguard` (target ratio ≥ 0.95 — tenure's
//! guards should cost nothing more).
//!
//! One operation sets a guard around a shared counter (a `Cell<u64>` reached through a
//! reference that passes [`black_box`], so neither side can fold the work away) and lets
//! it go out of scope; its closure increments the counter. Rows:
//!
//! - `guard/strategy=always`: [`tenure::guard::always()`] vs [`scopeguard::guard()`];
//! - `guard/form=defer`: [`tenure::defer!`] vs [`scopeguard::defer!`];
//! - `guard/strategy=on_success`: `on_success` on both sides; both ask
//!   [`std::thread::panicking`] at drop, and both run the closure;
//! - `guard/strategy=on_failure,defused=true`: the commit path — tenure's
//!   `on_failure` vs scopeguard's `guard_on_unwind` (its nearest strategy: tenure's
//!   also runs when the guard is marked failed), the value used through the guard, then
//!   defused with `into_inner` on both sides, so the closure never runs.
//!
//! Peer configuration: `scopeguard` 1 with its default features (`use_std`, needed for
//! `on_success` / `guard_on_unwind`); same closure, same counter, same loop.

use std::cell::Cell;
use std::hint::black_box;

use scopeguard::ScopeGuard;
use tenure::guard::{on_failure, on_success, Guard};

use crate::harness::{op, Case, Harness};

/// The ratio every guard row should reach.
const TARGET: f64 = 0.95;

/// Runs the `guard` comparisons.
pub fn run(h: &mut Harness) {
    let counter = Cell::new(0_u64);
    let bump = |c: &Cell<u64>| c.set(c.get() + 1);

    h.compare(
        op(|| {
            let _g = tenure::guard::always(black_box(&counter), bump);
        }),
        vec![(
            case().param("strategy", "always"),
            op(|| {
                let _g = scopeguard::guard(black_box(&counter), bump);
            }),
        )],
    );

    h.compare(
        op(|| {
            let c = black_box(&counter);
            tenure::defer! { c.set(c.get() + 1); }
        }),
        vec![(
            case().param("form", "defer"),
            op(|| {
                let c = black_box(&counter);
                scopeguard::defer! { c.set(c.get() + 1); }
            }),
        )],
    );

    h.compare(
        op(|| {
            let _g = on_success(black_box(&counter), bump);
        }),
        vec![(
            case().param("strategy", "on_success"),
            op(|| {
                let _g = scopeguard::guard_on_success(black_box(&counter), bump);
            }),
        )],
    );

    h.compare(
        op(|| {
            let g = on_failure(black_box(&counter), |c| c.set(0));
            bump(&g);
            Guard::into_inner(g).get()
        }),
        vec![(
            case()
                .param("strategy", "on_failure")
                .param("defused", true),
            op(|| {
                let g = scopeguard::guard_on_unwind(black_box(&counter), |c| c.set(0));
                bump(&g);
                ScopeGuard::into_inner(g).get()
            }),
        )],
    );

    black_box(counter.get());
}

fn case() -> Case {
    Case::new("guard", "scopeguard").target(TARGET).allocs()
}

#[cfg(test)]
mod tests {
    use crate::harness::Harness;

    #[test]
    fn smoke() {
        let rows = Harness::smoke_rows(super::run, "guard/", &["scopeguard"]);
        assert_eq!(rows.len(), 4);
    }
}
