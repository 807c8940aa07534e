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

mod accumulator;
mod adapter;
mod clock;
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
pub use clock::{Clock, InstantClock, ManualClock, TscClock};
pub use meter::{Measure, Meter};
pub use metrics::{Latency, StreamMetrics, StreamStatus};
#[cfg(feature = "bytes")]
pub use no_copy::BytesAccumulator;
pub use utf8::{Utf8Accumulator, Utf8Error};
