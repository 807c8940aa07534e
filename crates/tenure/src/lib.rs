//! # tenure
//!
//! Deterministic resource management: whatever is acquired is released exactly once, on
//! every path — success, error, panic and (async) cancellation — in reverse order of
//! acquisition, and no error raised while releasing is silently lost.
//!
//! | idea | module | Python counterpart |
//! |---|---|---|
//! | cleanup errors: the cause, every suppressed one, a full report | [`error`] | exception chaining, `ExceptionGroup` |
//! | how a scope ended | [`outcome`] | `__exit__(exc_type, exc, tb)` |
//! | scope guards, `defer!` | [`guard`] | `@contextmanager` with `try/finally` |
//! | fallible, consuming release | [`close`] | `close()` and `with` |
//! | dynamic LIFO stack of cleanups | [`stack`] | `contextlib.ExitStack` |
//! | async release, async stack and scopes that survive cancellation | [`async_close`], [`async_stack`], [`async_guard`], [`orphan`] | `__aexit__`, `contextlib.AsyncExitStack` |
//! | explicit, narrow suppression | [`suppress`] | `contextlib.suppress`, `__exit__` returning `True` |
//! | where errors go that nothing can return (a `Drop`, orphaned cleanup) | [`sink`] | `sys.unraisablehook` |
//! | one resource pool for async and blocking code: leases, limits, leak reports | [`pool`] | an async connection pool (`asyncpg.create_pool`) |
//! | the one clock the pool and the streams read: the TSC, `Instant`, a manual one for tests | [`clock`] | `time.perf_counter` |
//! | O(n) stream accumulation, UTF-8 across chunks | [`stream`] | `StreamingResult`, `"".join(chunks)` |
//! | timed blocks via `tracing` | [`timed`] | a `timed_block` context manager |
//! | transactions: commit on `Ok`, roll back on error, panic and cancellation; savepoints; retry | [`tx`] | a `database_transaction` context manager |
//! | leak ledger and fault injection | `testing` (feature `testing`) | — |
//!
//! Every item lives at its module path (`tenure::close::Closing`, `tenure::stack::Handle`,
//! `tenure::stream::Meter`); the crate root re-exports only the handful nearly every user
//! names: [`Close`], [`AsyncClose`], [`Error`], [`ErrorKind`], [`Outcome`], [`Exit`],
//! [`ExitStack`], [`AsyncExitStack`], [`ScopeError`] and the [`defer!`] macro.
//!
//! Features: `tokio` (default: orphaned async cleanup runs as a task on the current
//! runtime), `stream` (default: [`stream`]), `pool` (default: [`pool`], on tokio), `metrics`
//! (the pool's figures through the `metrics` facade), `futures`, `bytes`, `serde` (stream adapters),
//! `tempfile` (`Close` for `tempfile`'s types), `testing` (the ledger, fault injection and
//! [`tx`]'s scripted connection), `anyhow` ([`tx`]'s retry sees inside `anyhow::Error`s).
//!
//! ```
//! use tenure::{ExitStack, ScopeError};
//! use std::io::Write;
//!
//! let dir = tempfile::tempdir()?;
//! let result = ExitStack::scope(|s| {
//!     let out = s.enter(std::io::BufWriter::new(std::fs::File::create(dir.path().join("out.txt"))?));
//!     let scratch = s.enter(tempfile::NamedTempFile::new_in(dir.path()).map(tenure::close::Dropping)?);
//!     writeln!(s[scratch].as_file(), "scratch work")?;
//!     writeln!(s[out], "result")?;
//!     Ok::<_, std::io::Error>(())
//! }); // the scratch file is deleted, then the output is flushed and closed
//! result?;
//! assert_eq!(std::fs::read_to_string(dir.path().join("out.txt"))?, "result\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// One `unsafe` block in the whole crate, in `stream/append.rs` (appending a `&str`'s bytes to a
// `String` through its vector, for an inline small-chunk copy): it allows itself, so the
// crate denies rather than forbids.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod async_close;
pub mod async_guard;
pub mod async_stack;
#[cfg(any(feature = "pool", feature = "stream"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "pool", feature = "stream"))))]
pub mod clock;
pub mod close;
mod dyn_error;
pub mod error;
mod exit_rules;
pub mod guard;
mod handle;
#[cfg(any(feature = "pool", feature = "stream"))]
mod histogram;
pub mod orphan;
pub mod outcome;
#[cfg(feature = "pool")]
#[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
pub mod pool;
mod runtime;
mod scope_error;
pub mod sink;
pub mod stack;
mod stack_base;
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub mod stream;
pub mod suppress;
mod sync;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod timed;
pub mod tx;

// The handful of items nearly every user names; everything else lives at its module path
// (`tenure::close::Closing`, `tenure::stack::Handle`, `tenure::stream::Meter`, ...).
pub use async_close::AsyncClose;
pub use async_stack::AsyncExitStack;
pub use close::Close;
pub use error::{Error, ErrorKind};
pub use outcome::{Exit, Outcome};
pub use stack::{ExitStack, ScopeError};
