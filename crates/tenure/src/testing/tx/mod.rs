//! Testing transactions (feature `testing`): a scripted connection whose control
//! statements can be delayed, hung, failed or rejected and which records what reached "the
//! server" ([`Server`], [`ScriptedConnection`], [`ScriptedManager`] to pool them), and the
//! conformance suite every adapter of [`tx`](crate::tx) runs ([`Harness`] /
//! [`run_blocking`], [`AsyncHarness`] / [`run_async`]).
//!
//! # Running the conformance suite on an adapter
//!
//! Implement [`Harness`] (blocking) or [`AsyncHarness`] for a small struct that knows the
//! test database — connect, write a row, count committed rows from a connection of its
//! own, provoke a retryable conflict (or say it cannot), build a pool of one connection;
//! an async harness also says how a lease becomes the connection it drives
//! ([`AsyncHarness::lend`]: the lease itself, or the adapter's handle over it) — and call
//! the entry point from a test:
//!
//! ```text
//! #[test]
//! fn tx_conformance_blocking() {
//!     let summary = tenure::testing::tx::run_blocking(&SqliteHarness::new());
//!     assert!(summary.skipped.iter().all(|(case, _)| *case == "unknown commit"), "{summary}");
//! }
//! ```
//!
//! ([`run_blocking`] and [`run_async`] show complete harnesses, on the scripted connection.)
//!
//! Each case panics at its first failure, naming the case; the [`Summary`] lists what ran
//! and what was skipped. `tests/tx_conformance.rs` in this crate runs both on the scripted
//! connection (every case, in-flight cancellations and lost replies included).

mod cancel;
#[cfg(feature = "pool")]
mod manager;
mod scripted;
#[cfg(feature = "pool")]
mod suite;

pub use cancel::CancelAfter;
#[cfg(feature = "pool")]
pub use manager::ScriptedManager;
pub use scripted::{Rejection, ScriptedConnection, ScriptedError, Server};
#[cfg(feature = "pool")]
pub use suite::{run_async, run_blocking, AsyncHarness, ErrorOf, Harness, Lent, Refused, Summary};
