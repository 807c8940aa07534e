//! [`Meter`] over async sources: `futures_core::Stream` and `futures_io::AsyncRead`
//! (feature `futures`), `tokio::io::AsyncRead` (feature `tokio`). Same rules as the
//! synchronous ones; a meter dropped while its future is pending reports `DroppedEarly`
//! (the cancellation case). The source is pinned in place (`pin-project-lite`): it need not
//! be `Unpin`.

#[cfg(any(feature = "futures", feature = "tokio"))]
use std::pin::Pin;
#[cfg(any(feature = "futures", feature = "tokio"))]
use std::task::{Context, Poll};

#[cfg(any(feature = "futures", feature = "tokio"))]
use super::Meter;
use crate::clock::Clock;

#[cfg(feature = "futures")]
impl<S, C> futures_core::Stream for Meter<S, C>
where
    S: futures_core::Stream,
    S::Item: super::Measure,
    C: Clock,
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.rec.item(&item);
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.rec.complete();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(feature = "futures")]
impl<R, C> futures_io::AsyncRead for Meter<R, C>
where
    R: futures_io::AsyncRead,
    C: Clock,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll_read(cx, buf));
        this.rec.read_result(buf.len(), result.as_ref().copied());
        Poll::Ready(result)
    }
}

#[cfg(feature = "tokio")]
impl<R, C> tokio::io::AsyncRead for Meter<R, C>
where
    R: tokio::io::AsyncRead,
    C: Clock,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let capacity = buf.remaining();
        let result = std::task::ready!(this.inner.poll_read(cx, buf));
        let read = result.as_ref().map(|()| buf.filled().len() - before);
        this.rec.read_result(capacity, read);
        Poll::Ready(result)
    }
}
