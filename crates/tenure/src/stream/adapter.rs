//! [`Accumulate`]: the seed's `stream_with_accumulation` — each step yields the content
//! accumulated so far *and* the new chunk, both borrowed, so no step copies the content.

use std::convert::Infallible;
use std::fmt;

use super::{AccumulateError, Accumulator, Content, Utf8Accumulator, Utf8Error};

/// An item of a stream: a chunk, or a `Result` whose `Err` ends the stream with an error.
///
/// ```
/// use tenure::stream::StreamItem;
///
/// assert_eq!("abc".into_result(), Ok("abc"));
/// let owned = vec![String::from("a")];
/// assert_eq!(owned.iter().next().unwrap().into_result(), Ok(&owned[0])); // `vec.iter()` works too
/// let failed: Result<&str, std::io::Error> = Err(std::io::Error::other("reset"));
/// assert!(failed.into_result().is_err());
/// ```
pub trait StreamItem {
    /// The chunk type.
    type Chunk;
    /// The stream's error (`Infallible` for plain chunks).
    type Error;
    /// The chunk, or the error that ended the stream.
    fn into_result(self) -> Result<Self::Chunk, Self::Error>;
}

impl<T, E> StreamItem for Result<T, E> {
    type Chunk = T;
    type Error = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

macro_rules! infallible_items {
    ($($(#[$m:meta])* [$($g:tt)*] $t:ty),* $(,)?) => {$(
        $(#[$m])*
        impl<$($g)*> StreamItem for $t {
            type Chunk = $t;
            type Error = Infallible;
            fn into_result(self) -> Result<$t, Infallible> {
                Ok(self)
            }
        }
    )*};
}

infallible_items! {
    ['a] &'a str,
    ['a, 'b] &'a &'b str,
    [] String,
    ['a] &'a String,
    ['a] &'a [u8],
    ['a, 'b] &'a &'b [u8],
    [] Vec<u8>,
    ['a] &'a Vec<u8>,
    ['a] std::borrow::Cow<'a, str>,
    ['a] std::borrow::Cow<'a, [u8]>,
    [const N: usize] [u8; N],
    ['a, const N: usize] &'a [u8; N],
    #[cfg(feature = "bytes")]
    [] bytes::Bytes,
}

/// Something chunks of type `C` can be pushed into: the accumulators of this module.
///
/// ```
/// use tenure::stream::{Accumulator, Push};
///
/// fn feed<A: Push<&'static str>>(acc: &mut A) { acc.push_chunk("hi").unwrap(); }
/// let mut acc = Accumulator::<str>::new();
/// feed(&mut acc);
/// assert_eq!(acc.content(), "hi");
/// ```
pub trait Push<C> {
    /// What the content and the chunks read as (`str` or `[u8]`).
    type View: ?Sized;
    /// Appends a chunk.
    fn push_chunk(&mut self, chunk: C) -> Result<(), AccumulateError>;
    /// The content so far.
    fn view(&self) -> &Self::View;
    /// The part appended by the last push.
    fn last_view(&self) -> &Self::View;
    /// Makes room for `chunks` more chunks (from a stream's size hint); a no-op by default.
    fn reserve_chunks(&mut self, chunks: usize) {
        let _ = chunks;
    }
    /// Appends a chunk and returns `(content, last)`: [`push_chunk`](Push::push_chunk),
    /// then [`view`](Push::view) and [`last_view`](Push::last_view). The accumulators of this
    /// module slice the last part off the content by its length before the push instead of
    /// looking up the recorded chunk end.
    ///
    /// ```
    /// use tenure::stream::{Accumulator, Push};
    ///
    /// let mut acc = Accumulator::<str>::new();
    /// acc.push_chunk("ab")?;
    /// assert_eq!(acc.push_step("cd")?, ("abcd", "cd"));
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    #[allow(clippy::type_complexity)]
    fn push_step(&mut self, chunk: C) -> Result<(&Self::View, &Self::View), AccumulateError> {
        self.push_chunk(chunk)?;
        Ok((self.view(), self.last_view()))
    }
}

/// The three accumulators expose the same inherent API; one impl each, written once.
macro_rules! impl_push {
    ($($acc:ty: $chunk:ty => $view:ty;)*) => {$(
        impl<C: AsRef<$chunk>> Push<C> for $acc {
            type View = $view;
            fn reserve_chunks(&mut self, chunks: usize) {
                self.reserve(0, chunks);
            }
            fn push_chunk(&mut self, chunk: C) -> Result<(), AccumulateError> {
                self.push(chunk)
            }
            fn view(&self) -> &$view {
                self.content()
            }
            fn last_view(&self) -> &$view {
                self.last_chunk().unwrap_or_default()
            }
            #[inline]
            fn push_step(&mut self, chunk: C) -> Result<(&$view, &$view), AccumulateError> {
                let start = self.len();
                self.push(chunk)?;
                let content = self.content();
                Ok((content, content.get(start..).unwrap_or_default()))
            }
        }
    )*};
}

impl_push! {
    Accumulator<str>: str => str;
    Accumulator<[u8]>: [u8] => [u8];
    Utf8Accumulator: [u8] => str;
}

/// Why a step of [`Accumulate`] failed: the stream's own error, or the accumulator refused
/// the chunk (limit, invalid UTF-8). Either way the content accumulated so far is kept.
///
/// ```
/// use tenure::stream::{Accumulate, Accumulator, StepError};
///
/// let chunks = vec![Ok("a"), Err("connection reset")];
/// let mut steps = Accumulate::new(chunks, Accumulator::<str>::new());
/// steps.next_step().unwrap()?;
/// assert!(matches!(steps.next_step(), Some(Err(StepError::Stream("connection reset")))));
/// assert_eq!(steps.accumulator().content(), "a");
/// # Ok::<(), StepError<&str>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError<E> {
    /// The stream failed.
    Stream(E),
    /// The accumulator refused the chunk.
    Accumulate(AccumulateError),
}

impl<E: fmt::Display> fmt::Display for StepError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Stream(_) => f.write_str("stream failed"),
            // Transparent: the accumulator's error says what happened to the chunk.
            StepError::Accumulate(e) => write!(f, "{e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for StepError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StepError::Stream(e) => Some(e),
            StepError::Accumulate(e) => e.source(),
        }
    }
}

/// Streams and accumulates at once: each [`next_step`](Accumulate::next_step) pulls one
/// chunk, appends it, and yields `(accumulated, chunk)` — both borrows of the accumulator's
/// buffer, so a step costs O(chunk), never O(content). This is the seed's
/// `stream_with_accumulation` generator; being a borrow of its own state, it is a *lending*
/// iterator (use `while let`), not an `Iterator`.
///
/// ```
/// use tenure::stream::{Accumulate, Accumulator};
///
/// let response = ["Hel", "lo, ", "world"];
/// let mut stream = Accumulate::new(response, Accumulator::<str>::new());
/// while let Some(step) = stream.next_step() {
///     let (accumulated, chunk) = step?;
///     println!("+{chunk:?} -> {accumulated:?}");
/// }
/// assert_eq!(stream.finalize(), "Hello, world");
/// # Ok::<(), tenure::stream::StepError<std::convert::Infallible>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Accumulate<S, A> {
    inner: S,
    acc: A,
    started: bool,
}

impl<S, A> Accumulate<S, A> {
    /// Accumulates the chunks of `stream` (an `IntoIterator`, or an async `Stream` with the
    /// `futures` feature) into `acc`.
    ///
    /// ```
    /// let steps = tenure::stream::Accumulate::new(vec!["a"], tenure::stream::Accumulator::<str>::new());
    /// assert!(steps.accumulator().is_empty());
    /// ```
    pub fn new<I>(stream: I, acc: A) -> Self
    where
        I: IntoIterator<IntoIter = S>,
    {
        Accumulate {
            inner: stream.into_iter(),
            acc,
            started: false,
        }
    }

    /// Accumulates an async `Stream` (which is not an `IntoIterator`) into `acc`; step it
    /// with `next_step_async` (feature `futures`).
    ///
    /// ```
    /// use tenure::stream::{Accumulate, Accumulator};
    ///
    /// let chunks = futures::stream::iter(["a", "b"]);
    /// let steps = Accumulate::from_stream(chunks, Accumulator::<str>::new());
    /// assert_eq!(steps.accumulator().chunk_count(), 0);
    /// ```
    pub fn from_stream(stream: S, acc: A) -> Self {
        Accumulate {
            inner: stream,
            acc,
            started: false,
        }
    }

    /// The accumulator: content, chunks, seal.
    ///
    /// ```
    /// let s = tenure::stream::Accumulate::new(["x"], tenure::stream::Accumulator::<str>::new());
    /// assert_eq!(s.accumulator().chunk_count(), 0);
    /// ```
    pub fn accumulator(&self) -> &A {
        &self.acc
    }

    /// The accumulator, mutably (e.g. to `finalize` it).
    ///
    /// ```
    /// let mut s = tenure::stream::Accumulate::new(["x"], tenure::stream::Accumulator::<str>::new());
    /// s.accumulator_mut().finalize();
    /// ```
    pub fn accumulator_mut(&mut self) -> &mut A {
        &mut self.acc
    }

    /// The wrapped stream (e.g. a meter, to read its metrics).
    ///
    /// ```
    /// let s = tenure::stream::Accumulate::new(vec!["x"], tenure::stream::Accumulator::<str>::new());
    /// assert_eq!(s.get_ref().len(), 1);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream and the accumulator.
    ///
    /// ```
    /// let s = tenure::stream::Accumulate::new(["x"], tenure::stream::Accumulator::<str>::new());
    /// let (_rest, acc) = s.into_parts();
    /// assert!(acc.is_empty());
    /// ```
    pub fn into_parts(self) -> (S, A) {
        (self.inner, self.acc)
    }
}

impl<S, T: Content + ?Sized> Accumulate<S, Accumulator<T>> {
    /// Seals the accumulator and returns the content (see [`Accumulator::finalize`]).
    ///
    /// ```
    /// let mut s = tenure::stream::Accumulate::new(["a", "b"], tenure::stream::Accumulator::<str>::new());
    /// while s.next_step().is_some() {}
    /// assert_eq!(s.finalize(), "ab");
    /// ```
    pub fn finalize(&mut self) -> &T {
        self.acc.finalize()
    }
}

impl<S> Accumulate<S, Utf8Accumulator> {
    /// Seals the accumulator and returns the text, or the error of a stream that ended in the
    /// middle of a character (see [`Utf8Accumulator::finalize`]).
    ///
    /// ```
    /// let chunks: [&[u8]; 2] = [b"caf", b"\xC3\xA9"];
    /// let mut s = tenure::stream::Accumulate::new(chunks, tenure::stream::Utf8Accumulator::new());
    /// while s.next_step().is_some() {}
    /// assert_eq!(s.finalize()?, "café");
    /// # Ok::<(), tenure::stream::Utf8Error>(())
    /// ```
    pub fn finalize(&mut self) -> Result<&str, Utf8Error> {
        self.acc.finalize()
    }
}

impl<S, A> Accumulate<S, A>
where
    S: Iterator,
    S::Item: StreamItem,
    A: Push<<S::Item as StreamItem>::Chunk>,
{
    /// Pulls the next chunk, appends it and returns `(accumulated, chunk)`; `None` when the
    /// stream is exhausted. A failed step (stream error, refused chunk) leaves the content
    /// accumulated so far untouched.
    ///
    /// ```
    /// use tenure::stream::{Accumulate, Accumulator};
    ///
    /// let mut s = Accumulate::new(["a", "b"], Accumulator::<str>::new());
    /// assert_eq!(s.next_step().unwrap().unwrap(), ("a", "a"));
    /// assert_eq!(s.next_step().unwrap().unwrap(), ("ab", "b"));
    /// assert!(s.next_step().is_none());
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn next_step(
        &mut self,
    ) -> Option<Result<(&A::View, &A::View), StepError<<S::Item as StreamItem>::Error>>> {
        if !self.started {
            // Room for the chunks the stream says are coming (a `Vec`'s or a slice's length).
            self.started = true;
            self.acc.reserve_chunks(self.inner.size_hint().0);
        }
        let item = self.inner.next()?;
        Some(self.apply(item.into_result()))
    }
}

impl<S, A> Accumulate<S, A> {
    #[allow(clippy::type_complexity)]
    fn apply<C, E>(&mut self, item: Result<C, E>) -> Result<(&A::View, &A::View), StepError<E>>
    where
        A: Push<C>,
    {
        let chunk = item.map_err(StepError::Stream)?;
        self.acc.push_step(chunk).map_err(StepError::Accumulate)
    }
}

#[cfg(feature = "futures")]
impl<S, A> Accumulate<S, A>
where
    S: futures_core::Stream + Unpin,
    S::Item: StreamItem,
    A: Push<<S::Item as StreamItem>::Chunk>,
{
    /// The async [`next_step`](Accumulate::next_step), for a `Stream` (feature `futures`).
    /// The stream must be `Unpin`, as for `StreamExt::next`: give one that is not as
    /// `Box::pin(stream)` or `std::pin::pin!(stream)`.
    ///
    /// ```
    /// use tenure::stream::{Accumulate, Accumulator};
    ///
    /// let chunks = futures::stream::iter(["Hel", "lo"]);
    /// let mut s = Accumulate::from_stream(chunks, Accumulator::<str>::new());
    /// futures::executor::block_on(async {
    ///     while let Some(step) = s.next_step_async().await {
    ///         let (accumulated, chunk) = step?;
    ///         println!("+{chunk:?} -> {accumulated:?}");
    ///     }
    ///     Ok::<(), tenure::stream::StepError<std::convert::Infallible>>(())
    /// })?;
    /// assert_eq!(s.finalize(), "Hello");
    /// # Ok::<(), tenure::stream::StepError<std::convert::Infallible>>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub async fn next_step_async(
        &mut self,
    ) -> Option<Result<(&A::View, &A::View), StepError<<S::Item as StreamItem>::Error>>> {
        let item =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut self.inner).poll_next(cx)).await?;
        Some(self.apply(item.into_result()))
    }
}
