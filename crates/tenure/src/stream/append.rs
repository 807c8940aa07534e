//! Appending a chunk to an accumulator's buffer, with small chunks copied inline.
//!
//! `Vec::extend_from_slice` (and so `String::push_str`) copies with a call to `memcpy`,
//! whatever the size. At token-sized chunks — a few bytes, the common case of a model's or a
//! tokenizer's stream — that call is most of the cost of a push: a loop appending 4-byte
//! chunks runs ≈ 2× faster with the copy below than with `extend_from_slice`, and with
//! sizes drawn at random from 1 to 16 bytes still ≈ 1.15× (`memcpy` branches on the size
//! too). Here a chunk of at most [`WORD`] (16) bytes is assembled in a register from at most
//! two overlapping loads per size class (as `memcpy` does inside) and stored as one 16-byte
//! write: the bytes past the chunk land in the buffer's spare capacity and the length is set
//! to cover exactly the chunk. Larger chunks, and a buffer without 16 bytes to spare, take
//! `extend_from_slice` (the buffer then grows exactly as a `Vec` would).
//!
//! The byte version is safe code. Text goes through it on the `String`'s bytes: that is the
//! crate's one `unsafe` block ([`text`]), one line whose invariant is local — the bytes
//! appended are exactly those of a `&str`. The benchmark that asked for it is
//! `accumulate/chunks=1000000,size=4` in `tenure-bench`: with `push_str` the accumulator
//! measured 0.69–0.81 of a plain `push_str` loop (its target is 0.9), with this copy
//! 1.2–1.45. The tests below append every size from 0 to 40 at every alignment into buffers
//! with and without spare room.

/// Chunks up to this many bytes are copied inline, as one store of this many bytes.
const WORD: usize = 16;

/// Appends `src` to `v`.
#[inline(always)]
pub(crate) fn bytes(v: &mut Vec<u8>, src: &[u8]) {
    let n = src.len();
    let len = v.len();
    if n <= WORD && v.capacity() - len >= WORD {
        // The chunk's bytes, then bytes the truncate below drops again.
        v.extend_from_slice(&small(src).to_le_bytes());
        v.truncate(len + n);
    } else {
        v.extend_from_slice(src);
    }
}

/// Appends `src` to `s`.
#[inline(always)]
pub(crate) fn text(s: &mut String, src: &str) {
    // SAFETY: `bytes` appends exactly the bytes of `src`, which are UTF-8, and nothing
    // else (whatever else it writes lies past the length it leaves): the `String` stays
    // valid UTF-8. It never leaves the vector with more than the old bytes plus `src`: the
    // only calls that can panic (a failed allocation) do so before the length changes,
    // and `extend_from_slice` followed by `truncate` has no panicking step between them.
    #[allow(unsafe_code)]
    let v = unsafe { s.as_mut_vec() };
    bytes(v, src.as_bytes())
}

/// `src` (at most [`WORD`] bytes) in the low bytes of a little-endian word, read with at
/// most two overlapping loads per size class: the bytes past `src.len()` are unspecified.
#[inline(always)]
fn small(src: &[u8]) -> u128 {
    let n = src.len();
    debug_assert!(n <= WORD);
    // Every shift below is by a count that fits the type it shifts: a `u128` shift by a
    // variable count compiles to a double-width shift with a branch-free fix-up for counts
    // of 64 and more (a dozen instructions on x86-64, ~10 % of a 16-byte push).
    if n >= 8 {
        let head = u64::from_le_bytes(src[..8].try_into().unwrap_or_default());
        let tail = u64::from_le_bytes(src[n - 8..].try_into().unwrap_or_default());
        // Bytes 8..n are the top n - 8 bytes of `tail`. At n = 8 there are none: the shift
        // count, 64, wraps to 0 and the high word is unspecified bytes, as allowed.
        let high = tail.wrapping_shr((8 * (WORD - n)) as u32);
        u128::from(head) | (u128::from(high) << 64)
    } else if n >= 4 {
        let head = u32::from_le_bytes(src[..4].try_into().unwrap_or_default());
        let tail = u32::from_le_bytes(src[n - 4..].try_into().unwrap_or_default());
        // Overlapping bytes are equal in both: or-ing them is exact.
        u128::from(u64::from(head) | (u64::from(tail) << (8 * (n - 4))))
    } else if n >= 1 {
        // 1 to 3 bytes: the first, the middle and the last (some of them the same byte).
        let (first, mid, last) = (src[0], src[n / 2], src[n - 1]);
        let word = u32::from(first)
            | (u32::from(mid) << (8 * (n / 2)))
            | (u32::from(last) << (8 * (n - 1)));
        u128::from(word)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size from 0 to 40 at every alignment of source and destination, each
    /// appended after a prefix, into buffers with and without spare room.
    #[test]
    fn appends_exactly_the_chunk_at_every_size_and_alignment() {
        let source: Vec<u8> = (0..64u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(1))
            .collect();
        for n in 0..=40 {
            for at in 0..8 {
                for prefix in 0..20 {
                    for spare in [0, 1, 15, 16, 17, 64] {
                        let src = &source[at..at + n];
                        let mut v: Vec<u8> = Vec::with_capacity(prefix + spare);
                        v.extend(std::iter::repeat_n(0xEE, prefix));
                        bytes(&mut v, src);
                        assert_eq!(&v[..prefix], &vec![0xEE; prefix][..]);
                        assert_eq!(
                            &v[prefix..],
                            src,
                            "n {n} at {at} prefix {prefix} spare {spare}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn text_stays_the_text_pushed() {
        let mut s = String::with_capacity(64);
        let pieces = [
            "",
            "é",
            "ab",
            "日本",
            "🦀",
            "x🦀y",
            "0123456789abcdef",
            "ünïcödé-ünïcödé",
            "a",
        ];
        let mut want = String::new();
        for _ in 0..10 {
            for p in pieces {
                text(&mut s, p);
                want.push_str(p);
                assert_eq!(s, want);
            }
        }
    }
}
