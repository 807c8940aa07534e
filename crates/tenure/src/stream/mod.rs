//! Streams done right: O(n) accumulation that stays readable at every step, sealing,
//! UTF-8 decoding across chunk boundaries, and stream metrics (TTFB, total, inter-chunk
//! latency) — the seed's patterns 6, 7 and 8.
//!
//! | you have | use |
//! |---|---|
//! | text chunks (`&str`, `String`) | [`Accumulator<str>`](Accumulator) |
//! | byte chunks | [`Accumulator<[u8]>`](Accumulator) |
//! | bytes that are UTF-8 text, split anywhere | [`Utf8Accumulator`] |
//! | `bytes::Bytes` chunks, kept without copying (feature `bytes`) | `BytesAccumulator` |
//! | a stream to read *and* accumulate, `(accumulated, chunk)` per step | [`Accumulate`] |
//! | a stream to measure (`Iterator`, `Read`, `Stream`, `AsyncRead`) | [`Meter`] → [`StreamMetrics`] |
//! | the gaps between chunks, bucket by bucket (a picture of the distribution) | [`Meter::gaps`] → [`Gaps`] |
//!
//! The seed's `"".join(chunks)` per chunk is O(n²); here the content lives in one buffer
//! with the end offset of each chunk, so the content is a borrow and each chunk a slice of
//! it, at any moment, for free.
//!
//! ```
//! use tenure::stream::{AccumulateError, Utf8Accumulator};
//!
//! let body = "naïve café ☕ 🦀".as_bytes();
//! let mut acc = Utf8Accumulator::new();
//! for chunk in body.chunks(3) {   // splits characters between chunks
//!     acc.push(chunk)?;
//! }
//! assert_eq!(acc.finalize()?, "naïve café ☕ 🦀");
//! assert!(matches!(acc.push(b"!"), Err(AccumulateError::Sealed { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Metering yields the same items and keeps the figures — readable at any moment, and
//! reported once (a `tracing` event, an optional callback) however the stream ends:
//!
//! ```
//! use tenure::stream::{Accumulator, Meter, StreamStatus};
//!
//! let response = vec![Ok("Hello"), Ok(", "), Err("connection reset")];
//! let mut steps = Meter::new(response.into_iter()).name("chat").accumulate(Accumulator::<str>::new());
//! while let Some(step) = steps.next_step() {
//!     match step {
//!         Ok((so_far, chunk)) => println!("+{chunk:?} -> {so_far:?}"),
//!         Err(e) => println!("stream failed: {e}"),
//!     }
//! }
//! let m = steps.get_ref().metrics();
//! assert_eq!((m.chunks, m.bytes), (2, 7));
//! assert_eq!(m.status, StreamStatus::Failed { error: "connection reset".into() });
//! assert_eq!(steps.accumulator().content(), "Hello, "); // what arrived is kept
//! println!("{m}"); // failed (connection reset): 2 chunks, 7 B in … (TTFB …)
//! ```
//!
//! Performance (`cargo run --release -p tenure-bench -- accumulate meter`): reading the
//! accumulated content at every step grows linearly (the seed's join per step grows with n²);
//! metering costs one clock read per chunk plus ~1–2 ns (TSC clock via `quanta`); chunk
//! offsets take 2 bytes per small chunk. Inter-chunk latency percentiles come from a
//! log-linear histogram of a few KiB per stream rather than `hdrhistogram`'s 36–264 KiB.

mod accumulator;
mod adapter;
mod append;
mod ends;
mod histogram;
mod meter;
mod meter_async;
mod metrics;
#[cfg(feature = "bytes")]
mod no_copy;
mod utf8;

pub use accumulator::{AccumulateError, Accumulator, Chunks, Content};
pub use adapter::{Accumulate, Push, StepError, StreamItem};
pub use histogram::{GapBucket, Gaps};
pub use meter::{Measure, Meter};
pub use metrics::{Latency, StreamMetrics, StreamStatus};
#[cfg(feature = "bytes")]
pub use no_copy::BytesAccumulator;
pub use utf8::{Utf8Accumulator, Utf8Error};
