//! Test helpers that prove cleanup paths release everything: a [`Ledger`] of live
//! resources and [`Faults`] that make the Nth acquire or close of a kind fail (or panic);
//! with feature `pool`, `TestManager`, the pool manager for tests that need "some
//! resource".
//!
//! Enabled by the `testing` feature (use it from `[dev-dependencies]`).
//!
//! ```
//! use tenure::testing::{Faults, Ledger, Op};
//! use tenure::ExitStack;
//!
//! let faults = Faults::new();
//! faults.fail_nth(Op::Acquire, "conn", 3); // the third connection cannot be opened
//! let ledger = Ledger::with_faults(faults);
//!
//! let opened = ExitStack::scope(|s| {
//!     for _ in 0..5 {
//!         let conn = ledger.acquire("conn")?;
//!         s.enter(conn);
//!     }
//!     Ok::<_, tenure::testing::InjectedFault>(())
//! });
//! assert!(opened.is_err());
//! ledger.assert_all_released();                       // the two opened ones were closed
//! assert_eq!(ledger.release_order(), [2, 1]);          // last acquired, first released
//! ```

mod faults;
mod ledger;
#[cfg(feature = "pool")]
mod pool;
pub mod tx;

pub use faults::{Fault, Faults, InjectedFault, Op};
pub use ledger::{Ending, Event, Leaks, Ledger, Live, NotClosed, TestResource, Token};
#[cfg(feature = "pool")]
#[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
pub use pool::TestManager;

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, recovering the state if a test panicked while holding the lock: a test that
/// panicked must not hide what the ledger knows.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
