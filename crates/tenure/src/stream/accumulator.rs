//! [`Accumulator`]: chunks in, the accumulated content out — one contiguous buffer plus the
//! end offset of every chunk, so the content is a free borrow and each chunk a slice of it.

use std::fmt;
use std::ops::Range;

use super::ends::Ends;

/// The largest content an allocation can hold.
const MAX_CONTENT: usize = isize::MAX as usize;

/// Why a push was refused. The accumulator is left exactly as it was before the push: a
/// refused chunk is never half-appended, and nothing accumulated so far is lost.
///
/// ```
/// use tenure::stream::{AccumulateError, Accumulator};
///
/// let mut acc = Accumulator::<str>::new();
/// acc.push("hello")?;
/// acc.finalize();
/// let err = acc.push(" world").unwrap_err();
/// assert!(matches!(err, AccumulateError::Sealed { len: 5, chunks: 1 }));
/// assert_eq!(acc.content(), "hello");
/// # Ok::<(), AccumulateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccumulateError {
    /// The accumulator was sealed by `finalize()`; it takes no more chunks.
    #[error(
        "cannot push to a finalized accumulator: finalize() sealed it with {len} bytes in {chunks} chunks"
    )]
    Sealed {
        /// Bytes accumulated when it was sealed.
        len: usize,
        /// Chunks accumulated when it was sealed.
        chunks: usize,
    },
    /// The chunk would grow the content past the configured maximum; the content
    /// accumulated so far is kept, unchanged.
    #[error(
        "accumulator limit exceeded: a {chunk_len}-byte chunk would grow the {len} bytes accumulated so far past the maximum of {max_len} bytes (the {len} bytes are kept)"
    )]
    TooLarge {
        /// The configured maximum, in bytes.
        max_len: usize,
        /// Bytes accumulated so far (kept).
        len: usize,
        /// Size of the refused chunk.
        chunk_len: usize,
    },
    /// The bytes are not valid UTF-8 (a [`Utf8Accumulator`](super::Utf8Accumulator) only).
    #[error(transparent)]
    Utf8(#[from] super::Utf8Error),
}

impl AccumulateError {
    /// Whether this is the error of a push after `finalize()`.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<[u8]>::new();
    /// acc.finalize();
    /// assert!(acc.push(b"x").unwrap_err().is_sealed());
    /// ```
    pub fn is_sealed(&self) -> bool {
        matches!(self, AccumulateError::Sealed { .. })
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for str {}
    impl Sealed for [u8] {}
}

/// What an [`Accumulator`] holds: text (`str`, stored in a `String`) or bytes (`[u8]`,
/// stored in a `Vec<u8>`). Sealed: only these two.
///
/// ```
/// use tenure::stream::{Accumulator, Content};
///
/// fn total<T: Content + ?Sized>(acc: &Accumulator<T>) -> usize { acc.len() }
/// let mut text = Accumulator::<str>::new();
/// text.push("héllo")?;
/// assert_eq!(total(&text), 6);
/// # Ok::<(), tenure::stream::AccumulateError>(())
/// ```
pub trait Content: sealed::Sealed {
    /// The owned buffer: `String` for `str`, `Vec<u8>` for `[u8]`.
    type Owned: Default + Clone + fmt::Debug + Send + Sync + 'static;
    #[doc(hidden)]
    fn view(owned: &Self::Owned) -> &Self;
    #[doc(hidden)]
    fn append(owned: &mut Self::Owned, chunk: &Self);
    #[doc(hidden)]
    fn reserve(owned: &mut Self::Owned, additional: usize);
    #[doc(hidden)]
    fn byte_len(&self) -> usize;
    #[doc(hidden)]
    fn range(&self, range: Range<usize>) -> &Self;
}

impl Content for str {
    type Owned = String;
    #[inline]
    fn view(owned: &String) -> &str {
        owned
    }
    #[inline(always)]
    fn append(owned: &mut String, chunk: &str) {
        super::append::text(owned, chunk)
    }
    #[inline]
    fn reserve(owned: &mut String, additional: usize) {
        owned.reserve(additional)
    }
    #[inline]
    fn byte_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn range(&self, range: Range<usize>) -> &str {
        &self[range]
    }
}

impl Content for [u8] {
    type Owned = Vec<u8>;
    #[inline]
    fn view(owned: &Vec<u8>) -> &[u8] {
        owned
    }
    #[inline(always)]
    fn append(owned: &mut Vec<u8>, chunk: &[u8]) {
        super::append::bytes(owned, chunk)
    }
    #[inline]
    fn reserve(owned: &mut Vec<u8>, additional: usize) {
        owned.reserve(additional)
    }
    #[inline]
    fn byte_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn range(&self, range: Range<usize>) -> &[u8] {
        &self[range]
    }
}

/// Accumulates the chunks of a stream in O(n): the content so far is a borrow at any moment
/// (O(1)), every chunk stays available as pushed, and `finalize()` seals it and hands the
/// content back without copying. Pushing after `finalize()` is [`AccumulateError::Sealed`].
///
/// `Accumulator<str>` (the default) holds text, `Accumulator<[u8]>` bytes; for bytes that
/// must be decoded as UTF-8 across chunk boundaries use [`Utf8Accumulator`](super::Utf8Accumulator).
///
/// This is the seed's `StreamingResult`, without its trap: there `content` re-joins every
/// chunk on each call, so reading it per chunk is O(n²); here it is a slice of one buffer.
///
/// ```
/// use tenure::stream::Accumulator;
///
/// let mut acc = Accumulator::<str>::new();
/// for chunk in ["The ", "quick ", "fox"] {
///     acc.push(chunk)?;
///     println!("so far: {:?}", acc.content()); // a borrow, no join
/// }
/// assert_eq!(acc.chunks().collect::<Vec<_>>(), ["The ", "quick ", "fox"]);
/// assert_eq!(acc.finalize(), "The quick fox");
/// assert!(acc.push("!").unwrap_err().is_sealed());
/// let owned: String = acc.into_inner(); // the same buffer, not a copy
/// # assert_eq!(owned, "The quick fox");
/// # Ok::<(), tenure::stream::AccumulateError>(())
/// ```
pub struct Accumulator<T: Content + ?Sized = str> {
    buf: T::Owned,
    ends: Ends,
    max_len: usize,
    sealed: bool,
    /// A push whose content would end below this is accepted and its end recorded as a
    /// 16-bit offset, without further checks: the limit plus one (capped at
    /// [`MAX_CONTENT`]), lowered to [`Ends::short_end`]; 0 once sealed. One comparison per
    /// push checks the seal, the limit and the width of the offsets' block.
    open_short: usize,
    /// The same for 32-bit offsets ([`Ends::narrow_end`]); at or past both,
    /// [`stage_slow`](Self::stage_slow) decides exactly.
    open_narrow: usize,
}

impl<T: Content + ?Sized> Accumulator<T> {
    /// An empty, unbounded accumulator.
    ///
    /// ```
    /// let acc = tenure::stream::Accumulator::<[u8]>::new();
    /// assert!(acc.is_empty());
    /// ```
    pub fn new() -> Self {
        let mut acc = Accumulator {
            buf: T::Owned::default(),
            ends: Ends::default(),
            max_len: usize::MAX,
            sealed: false,
            open_short: 0,
            open_narrow: 0,
        };
        acc.reopen();
        acc
    }

    /// An empty accumulator with room for `bytes` bytes in `chunks` chunks — use it when the
    /// stream announces its size (e.g. a `Content-Length`).
    ///
    /// ```
    /// let acc = tenure::stream::Accumulator::<str>::with_capacity(1 << 20, 256);
    /// assert_eq!(acc.len(), 0);
    /// ```
    pub fn with_capacity(bytes: usize, chunks: usize) -> Self {
        let mut acc = Self::new();
        acc.reserve(bytes, chunks);
        acc
    }

    /// Limits the content to `max_len` bytes: a push that would exceed it is refused with
    /// [`AccumulateError::TooLarge`] and the content accumulated so far is kept.
    ///
    /// ```
    /// use tenure::stream::{AccumulateError, Accumulator};
    ///
    /// let mut acc = Accumulator::<[u8]>::new().with_max_len(8);
    /// acc.push(b"12345")?;
    /// let err = acc.push(b"6789").unwrap_err();
    /// assert_eq!(err, AccumulateError::TooLarge { max_len: 8, len: 5, chunk_len: 4 });
    /// assert_eq!(acc.content(), b"12345");
    /// # Ok::<(), AccumulateError>(())
    /// ```
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self.reopen();
        self
    }

    /// Recomputes `open_short` and `open_narrow` from the seal, the limit and the current
    /// block of ends.
    fn reopen(&mut self) {
        let open = if self.sealed {
            0
        } else {
            self.max_len.min(MAX_CONTENT) + 1
        };
        self.open_short = open.min(self.ends.short_end());
        self.open_narrow = open.min(self.ends.narrow_end());
    }

    /// The maximum content size in bytes, if one was set.
    ///
    /// ```
    /// let acc = tenure::stream::Accumulator::<str>::new().with_max_len(1024);
    /// assert_eq!(acc.max_len(), Some(1024));
    /// ```
    pub fn max_len(&self) -> Option<usize> {
        (self.max_len != usize::MAX).then_some(self.max_len)
    }

    /// Reserves room for `bytes` more bytes in `chunks` more chunks (from a size hint).
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.reserve(4096, 64);
    /// ```
    pub fn reserve(&mut self, bytes: usize, chunks: usize) {
        let room = self.max_len.saturating_sub(self.len());
        T::reserve(&mut self.buf, bytes.min(room));
        self.ends.reserve(chunks);
    }

    /// Appends one chunk. Refused, leaving everything as it was, when the accumulator is
    /// sealed or the chunk would exceed the maximum size.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("ab")?;
    /// acc.push(String::from("cd"))?;
    /// assert_eq!(acc.content(), "abcd");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    #[inline]
    pub fn push(&mut self, chunk: impl AsRef<T>) -> Result<(), AccumulateError> {
        self.push_one(chunk.as_ref())
    }

    #[inline]
    fn push_one(&mut self, chunk: &T) -> Result<(), AccumulateError> {
        // Both lengths are at most `isize::MAX`: the sum cannot overflow.
        let end = self.len() + chunk.byte_len();
        // The chunk's end is stored first (a fast store, or anything else out of line) and
        // counted after the one append: with a single path through the append and the
        // count, the compiler keeps both lengths in registers across a caller's loop.
        let slot = self.ends.slot();
        let slot = 'stored: {
            if end < self.open_short {
                if let Some(entry) = self.ends.short_at(slot) {
                    *entry = end as u16;
                    break 'stored slot;
                }
            } else if end < self.open_narrow {
                if let Some(entry) = self.ends.narrow_at(slot) {
                    *entry = end as u32;
                    break 'stored slot;
                }
            }
            self.stage_slow(chunk.byte_len(), end)?
        };
        T::append(&mut self.buf, chunk);
        self.ends.commit(slot);
        Ok(())
    }

    /// Every push but the common one, before its append: refused if sealed or over the
    /// limit; else its end is staged in the next block of ends, or in the current one
    /// widened or grown. Returns the slot to commit.
    #[cold]
    #[inline(never)]
    fn stage_slow(&mut self, chunk_len: usize, end: usize) -> Result<usize, AccumulateError> {
        self.check(chunk_len)?;
        let slot = self.ends.stage(end);
        self.reopen();
        Ok(slot)
    }

    /// Refuses a push of `chunk_len` bytes if sealed or over the limit.
    #[inline]
    pub(crate) fn check(&self, chunk_len: usize) -> Result<(), AccumulateError> {
        if self.sealed || chunk_len > self.max_len.min(MAX_CONTENT).saturating_sub(self.len()) {
            return Err(self.refusal(chunk_len));
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn refusal(&self, chunk_len: usize) -> AccumulateError {
        if self.sealed {
            AccumulateError::Sealed {
                len: self.len(),
                chunks: self.ends.len(),
            }
        } else {
            AccumulateError::TooLarge {
                max_len: self.max_len,
                len: self.len(),
                chunk_len,
            }
        }
    }

    /// Appends already-checked parts as one chunk (the UTF-8 accumulator's decoded pieces).
    pub(crate) fn push_checked(&mut self, parts: &[&T]) {
        for part in parts {
            T::append(&mut self.buf, part);
        }
        self.ends.push(T::view(&self.buf).byte_len());
        self.reopen();
    }

    /// The content accumulated so far: a borrow of the buffer, O(1).
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("x")?;
    /// assert_eq!(acc.content(), "x");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    #[inline]
    pub fn content(&self) -> &T {
        T::view(&self.buf)
    }

    /// Bytes accumulated so far.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("é")?;
    /// assert_eq!(acc.len(), 2);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.content().byte_len()
    }

    /// Whether nothing has been accumulated (empty chunks count as chunks, not as content).
    ///
    /// ```
    /// assert!(tenure::stream::Accumulator::<str>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many chunks were pushed.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("a")?;
    /// acc.push("")?;
    /// assert_eq!(acc.chunk_count(), 2);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn chunk_count(&self) -> usize {
        self.ends.len()
    }

    fn bounds(&self, i: usize) -> Option<Range<usize>> {
        let end = self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends.get(i - 1)? };
        Some(start..end)
    }

    /// The `i`-th chunk as pushed (a slice of the content).
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("ab")?;
    /// acc.push("cd")?;
    /// assert_eq!(acc.chunk(1), Some("cd"));
    /// assert_eq!(acc.chunk(2), None);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn chunk(&self, i: usize) -> Option<&T> {
        self.bounds(i).map(|r| self.content().range(r))
    }

    /// The most recent chunk, if any.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<[u8]>::new();
    /// acc.push(b"ab")?;
    /// acc.push(b"cd")?;
    /// assert_eq!(acc.last_chunk(), Some(&b"cd"[..]));
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn last_chunk(&self) -> Option<&T> {
        if self.ends.len() == 0 {
            return None;
        }
        let content = self.content();
        Some(content.range(self.ends.last_start()..content.byte_len()))
    }

    /// The chunks as pushed, in order.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("a")?;
    /// acc.push("bc")?;
    /// assert_eq!(acc.chunks().rev().collect::<Vec<_>>(), ["bc", "a"]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn chunks(&self) -> Chunks<'_, T> {
        Chunks {
            content: self.content(),
            ends: &self.ends,
            front: 0,
            back: self.ends.len(),
        }
    }

    /// The end offset (in bytes) of each chunk: chunk `i` is `content[ends[i-1]..ends[i]]`.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("ab")?;
    /// acc.push("c")?;
    /// assert_eq!(acc.chunk_ends().collect::<Vec<_>>(), [2, 3]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn chunk_ends(&self) -> impl Iterator<Item = usize> + '_ {
        self.ends.iter()
    }

    /// Seals the accumulator and returns the content, without copying. Later pushes are
    /// refused with [`AccumulateError::Sealed`]; calling `finalize` again is harmless.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<str>::new();
    /// acc.push("done")?;
    /// assert_eq!(acc.finalize(), "done");
    /// assert!(acc.is_sealed());
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn finalize(&mut self) -> &T {
        self.sealed = true;
        self.open_short = 0;
        self.open_narrow = 0;
        self.content()
    }

    /// Whether `finalize()` was called.
    ///
    /// ```
    /// assert!(!tenure::stream::Accumulator::<str>::new().is_sealed());
    /// ```
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// The accumulated content as its owned buffer (`String` or `Vec<u8>`), without copying.
    ///
    /// ```
    /// let mut acc = tenure::stream::Accumulator::<[u8]>::new();
    /// acc.push([1u8, 2])?;
    /// assert_eq!(acc.into_inner(), vec![1, 2]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn into_inner(self) -> T::Owned {
        self.buf
    }
}

impl<T: Content + ?Sized> Default for Accumulator<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Content + ?Sized> Clone for Accumulator<T> {
    fn clone(&self) -> Self {
        Accumulator {
            buf: self.buf.clone(),
            ends: self.ends.clone(),
            max_len: self.max_len,
            sealed: self.sealed,
            open_short: self.open_short,
            open_narrow: self.open_narrow,
        }
    }
}

impl<T: Content + ?Sized> fmt::Debug for Accumulator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accumulator")
            .field("len", &self.len())
            .field("chunks", &self.ends.len())
            .field("max_len", &self.max_len())
            .field("sealed", &self.sealed)
            .finish()
    }
}

/// Each `write` is one chunk, so `std::io::copy` from a reader (a metered one, say) fills an
/// accumulator. A refused chunk (sealed, over the limit) is an `io::Error` of kind `Other`
/// whose inner error is the [`AccumulateError`]; nothing of it is written.
///
/// ```
/// use std::io::Write;
/// use tenure::stream::{AccumulateError, Accumulator, Meter};
///
/// let body = vec![b'x'; 20_000];
/// let mut reader = Meter::new(&body[..]);
/// let mut acc = Accumulator::<[u8]>::new().with_max_len(1 << 20);
/// std::io::copy(&mut reader, &mut acc)?;
/// assert_eq!(acc.content(), &body[..]);
/// assert_eq!(reader.metrics().bytes, 20_000);
///
/// acc.finalize();
/// let err = acc.write(b"late").unwrap_err();
/// let cause = err.get_ref().unwrap().downcast_ref::<AccumulateError>().unwrap();
/// assert!(cause.is_sealed());
/// # Ok::<(), std::io::Error>(())
/// ```
impl std::io::Write for Accumulator<[u8]> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The chunks of an [`Accumulator`], as pushed; see [`Accumulator::chunks`].
///
/// ```
/// let mut acc = tenure::stream::Accumulator::<str>::new();
/// acc.push("a")?;
/// assert_eq!(acc.chunks().len(), 1);
/// # Ok::<(), tenure::stream::AccumulateError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Chunks<'a, T: Content + ?Sized> {
    content: &'a T,
    ends: &'a Ends,
    front: usize,
    back: usize,
}

impl<'a, T: Content + ?Sized> Chunks<'a, T> {
    fn get(&self, i: usize) -> &'a T {
        let end = self.ends.get(i).unwrap_or_default();
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).unwrap_or_default()
        };
        self.content.range(start..end)
    }
}

impl<'a, T: Content + ?Sized> Iterator for Chunks<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        Some(self.get(self.front - 1))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }
}

impl<T: Content + ?Sized> DoubleEndedIterator for Chunks<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.get(self.back))
    }
}

impl<T: Content + ?Sized> ExactSizeIterator for Chunks<'_, T> {}
