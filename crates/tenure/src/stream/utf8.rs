//! UTF-8 decoding across chunk boundaries: [`Utf8Accumulator`] and its [`Utf8Error`].
//!
//! A multi-byte character split between chunks is held back (at most 3 bytes) until the
//! next chunk completes it. Validation uses `simdutf8` on the body of each chunk, so it does
//! not dominate the cost of accumulating; only the ≤ 4 bytes around a boundary are checked
//! one by one. Error offsets count bytes from the start of the stream and are exactly what
//! `std::str::from_utf8` on the whole stream would report as `valid_up_to`.

use std::fmt;

use super::{AccumulateError, Accumulator};

/// Bytes of a stream that are not UTF-8: where (a byte offset from the start of the
/// stream), which bytes, and whether they were invalid or the stream ended in the middle
/// of a character (reported by `finalize()`).
///
/// ```
/// use tenure::stream::{AccumulateError, Utf8Accumulator};
///
/// let mut acc = Utf8Accumulator::new();
/// acc.push(b"ab")?;
/// let Err(AccumulateError::Utf8(e)) = acc.push(b"c\xFFd") else { panic!() };
/// assert_eq!((e.offset(), e.bytes(), e.is_incomplete()), (3, &[0xFF][..], false));
/// assert_eq!(e.to_string(), "invalid UTF-8 at byte offset 3: [ff] is not a valid sequence");
/// # Ok::<(), AccumulateError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error {
    offset: u64,
    bytes: [u8; 4],
    n: u8,
    incomplete: bool,
}

impl Utf8Error {
    fn new(offset: u64, bytes: &[u8], incomplete: bool) -> Self {
        let n = bytes.len().min(4);
        let mut b = [0; 4];
        b[..n].copy_from_slice(&bytes[..n]);
        Utf8Error {
            offset,
            bytes: b,
            n: n as u8,
            incomplete,
        }
    }

    /// Offset from the start of the stream of the first byte that is not part of valid
    /// UTF-8 (`valid_up_to` of the whole stream).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// let err = acc.push(b"\xC3").and_then(|_| acc.push(b"(")).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid UTF-8 at byte offset 0: [c3] is not a valid sequence");
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The offending bytes: the invalid sequence, or the incomplete character at the end.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"\xE2\x82")?;
    /// let err = acc.finalize().unwrap_err();
    /// assert_eq!(err.bytes(), [0xE2, 0x82]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.n as usize]
    }

    /// Whether the stream ended in the middle of a character (rather than containing
    /// invalid bytes).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push("€".as_bytes()[..2].to_vec())?;
    /// assert!(acc.finalize().unwrap_err().is_incomplete());
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn is_incomplete(&self) -> bool {
        self.incomplete
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.incomplete {
            write!(
                f,
                "stream ended in the middle of a UTF-8 character: {} at byte offset {} starts a sequence that was never completed",
                Hex(self.bytes()),
                self.offset
            )
        } else {
            write!(
                f,
                "invalid UTF-8 at byte offset {}: {} is not a valid sequence",
                self.offset,
                Hex(self.bytes())
            )
        }
    }
}

impl fmt::Debug for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Utf8Error")
            .field("offset", &self.offset)
            .field("bytes", &Hex(self.bytes()).to_string())
            .field("incomplete", &self.incomplete)
            .finish()
    }
}

impl std::error::Error for Utf8Error {}

/// Length of the sequence a (valid) lead byte starts.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// Where a trailing, not yet complete sequence starts in `bytes` (`bytes.len()` if none).
fn incomplete_tail(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for i in (len.saturating_sub(3)..len).rev() {
        let b = bytes[i];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for its lead
        }
        return if b >= 0xC0 && sequence_len(b) > len - i {
            i
        } else {
            len
        };
    }
    len
}

/// The outcome of decoding one chunk, not yet applied to the decoder's state.
struct Decoded<'a> {
    /// The character completed by this chunk from the bytes held back before it.
    head: Option<char>,
    /// The chunk's complete characters after the head.
    body: &'a str,
    pending: [u8; 4],
    pending_len: usize,
}

/// Decoding state between chunks: the held-back bytes of a split character.
#[derive(Debug, Clone, Default)]
struct Decoder {
    pending: [u8; 4],
    pending_len: usize,
    /// Bytes accepted so far, including the held-back ones.
    offset: u64,
}

impl Decoder {
    /// Decodes `chunk` without changing the state, so a refused push leaves no trace.
    fn decode<'a>(&self, chunk: &'a [u8]) -> Result<Decoded<'a>, Utf8Error> {
        let mut rest = chunk;
        let mut head = None;
        let mut base = self.offset;
        let plen = self.pending_len;
        if plen > 0 {
            let take = (sequence_len(self.pending[0]) - plen).min(chunk.len());
            let mut buf = self.pending;
            buf[plen..plen + take].copy_from_slice(&chunk[..take]);
            let seq = &buf[..plen + take];
            let start = self.offset - plen as u64;
            match std::str::from_utf8(seq) {
                Ok(s) => head = s.chars().next(),
                Err(e) => match e.error_len() {
                    None => {
                        return Ok(Decoded {
                            head: None,
                            body: "",
                            pending: buf,
                            pending_len: plen + take,
                        })
                    }
                    Some(n) => return Err(Utf8Error::new(start, &seq[..n], false)),
                },
            }
            rest = &chunk[take..];
            base += take as u64;
        }
        let split = incomplete_tail(rest);
        let (body, tail) = rest.split_at(split);
        let body = match simdutf8::basic::from_utf8(body) {
            Ok(s) => s,
            Err(_) => return Err(invalid(body, base)),
        };
        let mut pending = [0; 4];
        if !tail.is_empty() {
            // The tail must be the valid beginning of a character, or it is invalid now.
            if let Err(e) = std::str::from_utf8(tail) {
                if let Some(n) = e.error_len() {
                    let at = e.valid_up_to();
                    return Err(Utf8Error::new(
                        base + (split + at) as u64,
                        &tail[at..at + n],
                        false,
                    ));
                }
            }
            pending[..tail.len()].copy_from_slice(tail);
        }
        Ok(Decoded {
            head,
            body,
            pending,
            pending_len: tail.len(),
        })
    }

    fn commit(&mut self, chunk_len: usize, decoded: &Decoded<'_>) {
        self.pending = decoded.pending;
        self.pending_len = decoded.pending_len;
        self.offset += chunk_len as u64;
    }

    fn pending(&self) -> &[u8] {
        &self.pending[..self.pending_len]
    }
}

/// The exact error in `bytes`, known to be invalid (`base`: its offset in the stream).
fn invalid(bytes: &[u8], base: u64) -> Utf8Error {
    let e = simdutf8::compat::from_utf8(bytes).expect_err("simdutf8 basic and compat disagree");
    let at = e.valid_up_to();
    // A truncated sequence inside the body is followed by something that cannot continue it:
    // the whole truncated prefix is the invalid sequence (as std reports it).
    let n = e.error_len().unwrap_or(bytes.len() - at);
    Utf8Error::new(base + at as u64, &bytes[at..at + n], false)
}

/// Accumulates a byte stream as text, decoding UTF-8 across chunk boundaries: a character
/// split between chunks is completed by the next chunk; invalid bytes are refused with an
/// [`Utf8Error`] that names their byte offset; a stream ending mid-character is reported by
/// [`finalize`](Utf8Accumulator::finalize).
///
/// The content is always whole characters, a borrow of one `String` (O(1)). Chunk `i` of
/// [`chunks`](Utf8Accumulator::chunks) is the text *completed* by push `i`: a character split
/// across pushes belongs to the push that completed it.
///
/// ```
/// use tenure::stream::Utf8Accumulator;
///
/// let euro = "€".as_bytes(); // e2 82 ac
/// let mut acc = Utf8Accumulator::new();
/// acc.push([b'5', euro[0]])?;
/// assert_eq!((acc.content(), acc.pending()), ("5", &euro[..1]));
/// acc.push(&euro[1..])?;
/// assert_eq!(acc.finalize()?, "5€");
/// assert_eq!(acc.chunks().collect::<Vec<_>>(), ["5", "€"]);
/// # Ok::<(), tenure::stream::AccumulateError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Accumulator {
    text: Accumulator<str>,
    decoder: Decoder,
}

impl Utf8Accumulator {
    /// An empty, unbounded accumulator.
    ///
    /// ```
    /// assert!(tenure::stream::Utf8Accumulator::new().content().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty accumulator with room for `bytes` bytes in `chunks` chunks.
    ///
    /// ```
    /// let acc = tenure::stream::Utf8Accumulator::with_capacity(4096, 16);
    /// assert_eq!(acc.len(), 0);
    /// ```
    pub fn with_capacity(bytes: usize, chunks: usize) -> Self {
        Utf8Accumulator {
            text: Accumulator::with_capacity(bytes, chunks),
            decoder: Decoder::default(),
        }
    }

    /// Reserves room for `bytes` more bytes in `chunks` more chunks (from a size hint).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.reserve(4096, 16);
    /// ```
    pub fn reserve(&mut self, bytes: usize, chunks: usize) {
        self.text.reserve(bytes, chunks);
    }

    /// Limits the bytes received (text plus held-back bytes) to `max_len`; see
    /// [`Accumulator::with_max_len`].
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new().with_max_len(3);
    /// acc.push(b"ab")?;
    /// assert!(acc.push(b"cd").is_err());
    /// assert_eq!(acc.content(), "ab");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.text = self.text.with_max_len(max_len);
        self
    }

    /// Decodes and appends one chunk of bytes. Refused, leaving everything as it was, when
    /// sealed, over the limit, or not UTF-8.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push("héllo".as_bytes())?;
    /// assert_eq!(acc.content(), "héllo");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn push(&mut self, chunk: impl AsRef<[u8]>) -> Result<(), AccumulateError> {
        let chunk = chunk.as_ref();
        // Nothing held back and an ASCII last byte (so no character split at the end): the
        // chunk is text if it validates, and a plain text push (its seal and limit checks
        // are the ones below with nothing held back). Otherwise — and to report invalid
        // bytes exactly — the chunk is decoded, validated once.
        if self.decoder.pending_len == 0 && chunk.last().is_some_and(u8::is_ascii) {
            if let Ok(text) = simdutf8::basic::from_utf8(chunk) {
                self.text.push(text)?;
                self.decoder.offset += chunk.len() as u64;
                return Ok(());
            }
        }
        // Held-back bytes count against the limit as well: they were received.
        self.text.check(chunk.len() + self.decoder.pending_len)?;
        let decoded = self.decoder.decode(chunk)?;
        match decoded.head {
            // No character completed from held-back bytes (the common case): the body is
            // an ordinary text push, which cannot refuse what `check` let through.
            None => self.text.push(decoded.body)?,
            Some(c) => self
                .text
                .push_checked(&[c.encode_utf8(&mut [0; 4]), decoded.body]),
        }
        self.decoder.commit(chunk.len(), &decoded);
        Ok(())
    }

    /// The complete characters received so far, O(1).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"ok")?;
    /// assert_eq!(acc.content(), "ok");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn content(&self) -> &str {
        self.text.content()
    }

    /// The bytes of a character not yet completed (at most 3).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push([0xC3])?;
    /// assert_eq!(acc.pending(), [0xC3]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn pending(&self) -> &[u8] {
        self.decoder.pending()
    }

    /// Bytes of complete characters (the length of [`content`](Self::content)).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push([b'a', 0xC3])?;
    /// assert_eq!(acc.len(), 1);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether no complete character has been received.
    ///
    /// ```
    /// assert!(tenure::stream::Utf8Accumulator::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The text completed by each push, in order.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"a\xC3")?;
    /// acc.push(b"\xA9b")?;
    /// assert_eq!(acc.chunks().collect::<Vec<_>>(), ["a", "éb"]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn chunks(&self) -> super::Chunks<'_, str> {
        self.text.chunks()
    }

    /// The text completed by the most recent push.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"ab")?;
    /// assert_eq!(acc.last_chunk(), Some("ab"));
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn last_chunk(&self) -> Option<&str> {
        self.text.last_chunk()
    }

    /// Bytes received so far, including held-back ones.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push([b'a', 0xC3])?;
    /// assert_eq!(acc.bytes_received(), 2);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn bytes_received(&self) -> u64 {
        self.decoder.offset
    }

    /// Seals the accumulator and returns the text, without copying. If the stream ended in
    /// the middle of a character, the accumulator is sealed all the same and the error names
    /// the incomplete bytes and their offset; the complete text stays in
    /// [`content`](Self::content).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"caf\xC3")?;
    /// let err = acc.finalize().unwrap_err();
    /// assert_eq!(err.to_string(), "stream ended in the middle of a UTF-8 character: [c3] at byte offset 3 starts a sequence that was never completed");
    /// assert_eq!(acc.content(), "caf");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn finalize(&mut self) -> Result<&str, Utf8Error> {
        self.text.finalize();
        let pending = self.decoder.pending();
        if !pending.is_empty() {
            let at = self.decoder.offset - pending.len() as u64;
            return Err(Utf8Error::new(at, pending, true));
        }
        Ok(self.text.content())
    }

    /// Whether `finalize()` was called.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.finalize()?;
    /// assert!(acc.is_sealed());
    /// # Ok::<(), tenure::stream::Utf8Error>(())
    /// ```
    pub fn is_sealed(&self) -> bool {
        self.text.is_sealed()
    }

    /// The decoded text as a `String` (complete characters only), without copying.
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"hi")?;
    /// assert_eq!(acc.into_string(), "hi");
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn into_string(self) -> String {
        self.text.into_inner()
    }

    /// The text accumulator underneath (chunk ends, limit, seal).
    ///
    /// ```
    /// let mut acc = tenure::stream::Utf8Accumulator::new();
    /// acc.push(b"ab")?;
    /// assert_eq!(acc.text().chunk_ends().collect::<Vec<_>>(), [2]);
    /// # Ok::<(), tenure::stream::AccumulateError>(())
    /// ```
    pub fn text(&self) -> &Accumulator<str> {
        &self.text
    }
}
