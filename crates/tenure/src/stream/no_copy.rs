//! [`BytesAccumulator`]: the no-copy mode for chunks that are already `bytes::Bytes`
//! (feature `bytes`) — what `hyper`, `reqwest` and `tokio-util` codecs hand out.

use bytes::{Bytes, BytesMut};

use super::AccumulateError;

/// Accumulates `bytes::Bytes` chunks without copying them: each chunk is kept as the
/// reference-counted handle it arrived as, so a push is O(1) whatever its size.
///
/// The price is that the content is not one contiguous slice while there is more than one
/// chunk: [`chunks`](Self::chunks) gives the pieces, and [`finalize`](Self::finalize) returns
/// the content as one `Bytes` — the chunk itself, uncopied, when there is only one (the
/// common case of a body that arrives whole), else one concatenation. When you need a
/// contiguous view at every step, use [`Accumulator<[u8]>`](super::Accumulator) (one copy
/// per byte, O(n) overall).
///
/// ```
/// use bytes::Bytes;
/// use tenure::stream::BytesAccumulator;
///
/// let body = Bytes::from(vec![7u8; 1 << 20]);
/// let mut acc = BytesAccumulator::new();
/// acc.push(body.clone())?;
/// let all = acc.finalize();
/// assert_eq!(all.as_ptr(), body.as_ptr()); // the same memory: nothing was copied
/// assert!(acc.push(Bytes::from_static(b"late")).unwrap_err().is_sealed());
/// # Ok::<(), tenure::stream::AccumulateError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct BytesAccumulator {
    chunks: Vec<Bytes>,
    len: usize,
    max_len: Option<usize>,
    sealed: bool,
}

impl BytesAccumulator {
    /// An empty, unbounded accumulator.
    ///
    /// ```
    /// assert!(tenure::stream::BytesAccumulator::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the content to `max_len` bytes; see
    /// [`Accumulator::with_max_len`](super::Accumulator::with_max_len).
    ///
    /// ```
    /// use bytes::Bytes;
    /// let mut acc = tenure::stream::BytesAccumulator::new().with_max_len(4);
    /// acc.push(Bytes::from_static(b"abc"))?;
    /// assert!(acc.push(Bytes::from_static(b"de")).is_err());
    /// assert_eq!(acc.len(), 3);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// Keeps `chunk` (a reference count, no copy). Refused, leaving everything as it was,
    /// when sealed or over the limit.
    ///
    /// ```
    /// let mut acc = tenure::stream::BytesAccumulator::new();
    /// acc.push(bytes::Bytes::from_static(b"ab"))?;
    /// acc.push(b"cd".to_vec())?; // anything that converts into Bytes (a Vec is moved, not copied)
    /// assert_eq!(acc.chunk_count(), 2);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn push(&mut self, chunk: impl Into<Bytes>) -> Result<(), AccumulateError> {
        let chunk = chunk.into();
        if self.sealed {
            return Err(AccumulateError::Sealed {
                len: self.len,
                chunks: self.chunks.len(),
            });
        }
        if let Some(max_len) = self.max_len {
            if chunk.len() > max_len - self.len {
                return Err(AccumulateError::TooLarge {
                    max_len,
                    len: self.len,
                    chunk_len: chunk.len(),
                });
            }
        }
        self.len += chunk.len();
        self.chunks.push(chunk);
        Ok(())
    }

    /// The chunks as pushed.
    ///
    /// ```
    /// let mut acc = tenure::stream::BytesAccumulator::new();
    /// acc.push(bytes::Bytes::from_static(b"ab"))?;
    /// assert_eq!(acc.chunks()[0], b"ab"[..]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// Bytes accumulated.
    ///
    /// ```
    /// let mut acc = tenure::stream::BytesAccumulator::new();
    /// acc.push(bytes::Bytes::from_static(b"abc"))?;
    /// assert_eq!(acc.len(), 3);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been accumulated.
    ///
    /// ```
    /// assert!(tenure::stream::BytesAccumulator::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many chunks were pushed.
    ///
    /// ```
    /// assert_eq!(tenure::stream::BytesAccumulator::new().chunk_count(), 0);
    /// ```
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The content as one `Bytes`: the only chunk itself (no copy), or one concatenation.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let mut acc = tenure::stream::BytesAccumulator::new();
    /// acc.push(Bytes::from_static(b"ab"))?;
    /// acc.push(Bytes::from_static(b"cd"))?;
    /// assert_eq!(acc.to_bytes(), Bytes::from_static(b"abcd"));
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        match self.chunks.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => {
                let mut all = BytesMut::with_capacity(self.len);
                for c in many {
                    all.extend_from_slice(c);
                }
                all.freeze()
            }
        }
    }

    /// Seals the accumulator and returns the content as one `Bytes` (see
    /// [`to_bytes`](Self::to_bytes)); later pushes are refused with
    /// [`AccumulateError::Sealed`].
    ///
    /// ```
    /// let mut acc = tenure::stream::BytesAccumulator::new();
    /// acc.push(bytes::Bytes::from_static(b"done"))?;
    /// assert_eq!(acc.finalize(), bytes::Bytes::from_static(b"done"));
    /// assert!(acc.is_sealed());
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn finalize(&mut self) -> Bytes {
        self.sealed = true;
        self.to_bytes()
    }

    /// Whether `finalize()` was called.
    ///
    /// ```
    /// assert!(!tenure::stream::BytesAccumulator::new().is_sealed());
    /// ```
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// The chunks, as pushed, without copying.
    ///
    /// ```
    /// let mut acc = tenure::stream::BytesAccumulator::new();
    /// acc.push(bytes::Bytes::from_static(b"a"))?;
    /// assert_eq!(acc.into_chunks().len(), 1);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn into_chunks(self) -> Vec<Bytes> {
        self.chunks
    }
}
