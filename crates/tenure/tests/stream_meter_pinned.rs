//! A `Meter` over async sources that are not `Unpin` (an `async`-built stream, readers that
//! must stay where they are): metered in place, same figures as any other source, and a
//! pinned meter dropped midway still reports once.
#![cfg(feature = "stream")]
#![cfg(all(feature = "futures", feature = "tokio"))]

mod common;

use std::cell::Cell;
use std::marker::PhantomPinned;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt as _;
use tenure::clock::ManualClock;
use tenure::stream::{Meter, StreamStatus};

const MS: Duration = Duration::from_millis(1);

/// Chunks produced by `async` blocks (so the stream is not `Unpin`), the clock advanced by
/// `step` before each one.
fn async_chunks(
    chunks: &'static [&'static str],
    clock: ManualClock,
    step: Duration,
) -> impl futures::Stream<Item = &'static str> {
    futures::stream::unfold(0, move |i| {
        let clock = clock.clone();
        async move {
            clock.advance(step);
            // An await point inside: a real suspension, not a ready future.
            tokio::task::yield_now().await;
            chunks.get(i).map(|&c| (c, i + 1))
        }
    })
}

trait AmbiguousIfUnpin<A> {}
impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
impl<T: ?Sized + Unpin> AmbiguousIfUnpin<u8> for T {}

/// Compiles only for a type that is not `Unpin`: for an `Unpin` one both impls above apply
/// and the call is ambiguous. (The sources here must really need pinning.)
fn assert_not_unpin<T: ?Sized + AmbiguousIfUnpin<A>, A>(_: &T) {}

#[tokio::test]
async fn an_async_built_stream_is_metered_in_place() {
    let clock = ManualClock::new();
    let source = async_chunks(&["Hel", "lo, ", "world"], clock.clone(), 2 * MS);
    assert_not_unpin(&source);
    let (ended, on_end) = common::end_reports();
    let mut meter = pin!(Meter::with_clock(source, clock).on_end(on_end));
    let mut text = String::new();
    while let Some(chunk) = meter.next().await {
        text.push_str(chunk);
    }
    assert_eq!(text, "Hello, world");
    let m = meter.metrics();
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!((m.chunks, m.bytes), (3, 12));
    assert_eq!(m.ttfb, Some(2 * MS));
    assert_eq!(m.total, 8 * MS); // 3 chunks + the end, 2 ms each
    let itl = m.inter_chunk.expect("3 chunks give 2 gaps");
    assert_eq!((itl.min, itl.max), (2 * MS, 2 * MS));
    assert_eq!(ended.lock().unwrap().len(), 1, "reported once, at the end");
}

#[tokio::test]
async fn a_pinned_meter_dropped_midway_reports_dropped_early_once() {
    let clock = ManualClock::new();
    let source = async_chunks(&["a", "bb", "ccc", "dddd"], clock.clone(), MS);
    let (ended, on_end) = common::end_reports();
    {
        let mut meter = Box::pin(Meter::with_clock(source, clock).on_end(on_end));
        assert_eq!(meter.next().await, Some("a"));
        assert_eq!(meter.next().await, Some("bb"));
        assert!(ended.lock().unwrap().is_empty(), "not ended yet");
    }
    let ended = ended.lock().unwrap();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].status, StreamStatus::DroppedEarly);
    assert_eq!((ended[0].chunks, ended[0].bytes), (2, 3));
}

/// A reader that must not move (`PhantomPinned`), serving `data` in reads of at most
/// `step` bytes, pending once before each read.
struct Reader {
    data: &'static [u8],
    at: Cell<usize>,
    step: usize,
    pending: Cell<bool>,
    _pinned: PhantomPinned,
}

impl Reader {
    fn new(data: &'static [u8], step: usize) -> Self {
        Reader {
            data,
            at: Cell::new(0),
            step,
            pending: Cell::new(false),
            _pinned: PhantomPinned,
        }
    }

    /// The next read into `out`, or `Pending` (waking at once) every other poll.
    fn poll_chunk(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<usize> {
        let this = self.into_ref().get_ref();
        if !this.pending.replace(!this.pending.get()) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let at = this.at.get();
        let n = this.step.min(this.data.len() - at).min(out.len());
        out[..n].copy_from_slice(&this.data[at..at + n]);
        this.at.set(at + n);
        Poll::Ready(n)
    }
}

impl tokio::io::AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut tmp = vec![0; buf.remaining()];
        let n = std::task::ready!(self.poll_chunk(cx, &mut tmp));
        buf.put_slice(&tmp[..n]);
        Poll::Ready(Ok(()))
    }
}

impl futures::io::AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        self.poll_chunk(cx, buf).map(Ok)
    }
}

const TEXT: &[u8] = b"a reader that must stay where it is";

#[tokio::test]
async fn a_tokio_reader_that_must_not_move_is_metered_in_place() {
    let reader = Reader::new(TEXT, 8);
    assert_not_unpin(&reader);
    let mut meter = pin!(Meter::new(reader));
    let mut out = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut meter, &mut out)
        .await
        .unwrap();
    assert_eq!(out, TEXT);
    let m = meter.metrics();
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!((m.chunks, m.bytes), (5, TEXT.len() as u64)); // 8+8+8+8+3
}

#[tokio::test]
async fn a_futures_reader_that_must_not_move_is_metered_in_place() {
    let mut meter = pin!(Meter::new(Reader::new(TEXT, 16)));
    let mut out = Vec::new();
    futures::io::AsyncReadExt::read_to_end(&mut meter, &mut out)
        .await
        .unwrap();
    assert_eq!(out, TEXT);
    let m = meter.metrics();
    assert_eq!(m.status, StreamStatus::Completed);
    assert_eq!((m.chunks, m.bytes), (3, TEXT.len() as u64)); // 16+16+3
}
