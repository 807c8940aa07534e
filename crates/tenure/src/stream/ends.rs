//! The end offsets of an accumulator's chunks: 2 to 8 bytes per chunk, in fixed-size blocks.
//!
//! Two costs of a flat `Vec<usize>` showed in the 4-byte-chunk benchmark: 8 bytes of
//! offsets per 4 bytes of content, and the copies and fresh pages of a vector that doubles.
//! Here each block of [`BLOCK`] chunks stores its offsets relative to the block's base (the
//! end of the chunk before it) in the narrowest integer that fits its span: `u16` while the
//! block spans under 64 KiB (small chunks: tokens, lines), `u32` under 4 GiB, `usize` beyond.
//! A block widens at most twice, converting at most `BLOCK` entries, so pushes stay O(1)
//! amortized. The first block grows like a `Vec` (small streams stay small); after it, full
//! blocks are set aside and never copied again. Lookup is O(1): block `i / BLOCK`, slot
//! `i % BLOCK`.

/// Chunks per block.
const BLOCK: usize = 2048;

#[derive(Debug, Clone)]
enum Block {
    Short { base: usize, ends: Vec<u16> },
    Narrow { base: usize, ends: Vec<u32> },
    Wide(Vec<usize>),
}

impl Default for Block {
    fn default() -> Self {
        Block::Short {
            base: 0,
            ends: Vec::new(),
        }
    }
}

impl Block {
    #[inline]
    fn get(&self, slot: usize) -> Option<usize> {
        match self {
            Block::Short { base, ends } => ends.get(slot).map(|&d| base + d as usize),
            Block::Narrow { base, ends } => ends.get(slot).map(|&d| base + d as usize),
            Block::Wide(ends) => ends.get(slot).copied(),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            Block::Short { ends, .. } => ends.len(),
            Block::Narrow { ends, .. } => ends.len(),
            Block::Wide(ends) => ends.len(),
        }
    }

    fn reserve(&mut self, additional: usize) {
        let n = additional.min(BLOCK.saturating_sub(self.len()));
        match self {
            Block::Short { ends, .. } => ends.reserve_exact(n),
            Block::Narrow { ends, .. } => ends.reserve_exact(n),
            Block::Wide(ends) => ends.reserve_exact(n),
        }
    }
}

/// Pushes `x`, growing a first block by doubling up to `BLOCK` (later blocks start full size).
fn push_grow<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        let len = v.len();
        v.reserve_exact((len * 2).clamp(8, BLOCK) - len);
    }
    v.push(x);
}

/// `ends` widened to `U`, with room for at least as many entries as before.
fn widen<T: Copy, U>(ends: &[T], capacity: usize, f: impl Fn(T) -> U) -> Vec<U> {
    let mut v = Vec::with_capacity(capacity.max(8));
    v.extend(ends.iter().map(|&d| f(d)));
    v
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ends {
    full: Vec<Block>,
    cur: Block,
}

impl Ends {
    #[inline]
    pub(crate) fn push(&mut self, end: usize) {
        match &mut self.cur {
            Block::Short { base, ends } => {
                let delta = end - *base;
                if delta <= u16::MAX as usize && ends.len() < ends.capacity() {
                    ends.push(delta as u16);
                    return;
                }
            }
            Block::Narrow { base, ends } => {
                let delta = end - *base;
                if delta <= u32::MAX as usize && ends.len() < ends.capacity() {
                    ends.push(delta as u32);
                    return;
                }
            }
            Block::Wide(_) => {}
        }
        self.push_slow(end);
    }

    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, end: usize) {
        if self.cur.len() == BLOCK {
            // The next block's base is the end of the last chunk.
            let base = self.cur.get(BLOCK - 1).unwrap_or_default();
            let next = Block::Short {
                base,
                ends: Vec::with_capacity(BLOCK),
            };
            self.full.push(std::mem::replace(&mut self.cur, next));
        }
        let widened = match &mut self.cur {
            Block::Short { base, ends } => {
                let (base, delta) = (*base, end - *base);
                if delta <= u16::MAX as usize {
                    push_grow(ends, delta as u16);
                    None
                } else if delta <= u32::MAX as usize {
                    let mut v = widen(ends, ends.capacity(), u32::from);
                    push_grow(&mut v, delta as u32);
                    Some(Block::Narrow { base, ends: v })
                } else {
                    let mut v = widen(ends, ends.capacity(), |d| base + d as usize);
                    push_grow(&mut v, end);
                    Some(Block::Wide(v))
                }
            }
            Block::Narrow { base, ends } => {
                let (base, delta) = (*base, end - *base);
                if delta <= u32::MAX as usize {
                    push_grow(ends, delta as u32);
                    None
                } else {
                    let mut v = widen(ends, ends.capacity(), |d| base + d as usize);
                    push_grow(&mut v, end);
                    Some(Block::Wide(v))
                }
            }
            Block::Wide(ends) => {
                push_grow(ends, end);
                None
            }
        };
        if let Some(block) = widened {
            self.cur = block;
        }
    }

    /// Makes room for `additional` more entries in the current block.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.cur.reserve(additional);
        self.full.reserve(additional / BLOCK);
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.full.len() * BLOCK + self.cur.len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<usize> {
        let (b, slot) = (i / BLOCK, i % BLOCK);
        match self.full.get(b) {
            Some(block) => block.get(slot),
            None if b == self.full.len() => self.cur.get(slot),
            None => None,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sizes: impl IntoIterator<Item = usize>) -> Ends {
        let mut ends = Ends::default();
        let mut want = Vec::new();
        let mut end = 0;
        for size in sizes {
            end += size;
            ends.push(end);
            want.push(end);
            assert_eq!(ends.len(), want.len());
        }
        for (i, &w) in want.iter().enumerate() {
            assert_eq!(ends.get(i), Some(w), "chunk {i}");
        }
        assert_eq!(ends.get(want.len()), None);
        assert_eq!(ends.get(want.len() + 10 * BLOCK), None);
        assert!(ends.iter().eq(want.iter().copied()));
        ends
    }

    fn kinds(ends: &Ends) -> Vec<&'static str> {
        ends.full
            .iter()
            .chain([&ends.cur])
            .map(|b| match b {
                Block::Short { .. } => "short",
                Block::Narrow { .. } => "narrow",
                Block::Wide(_) => "wide",
            })
            .collect()
    }

    #[test]
    fn small_chunks_use_short_offsets_across_blocks() {
        let ends = check((0..3 * BLOCK + 17).map(|i| i % 9));
        assert_eq!(kinds(&ends), ["short"; 4]);
    }

    #[test]
    fn a_block_widens_when_its_span_grows() {
        // Block 0: 64-byte chunks pass 64 KiB mid-block (short -> narrow);
        // block 1: small again; block 2: small, then one giant chunk (short -> wide).
        let giant = if cfg!(target_pointer_width = "64") {
            5 << 30
        } else {
            1 << 20
        };
        let sizes = (0..3 * BLOCK).map(|i| match i {
            i if i < BLOCK => 64,
            i if i == 2 * BLOCK + 100 => giant,
            _ => 3,
        });
        let ends = check(sizes);
        let want = if cfg!(target_pointer_width = "64") {
            ["narrow", "short", "wide"]
        } else {
            ["narrow", "short", "narrow"]
        };
        assert_eq!(kinds(&ends)[..3], want);
    }

    #[test]
    fn the_first_block_grows_from_small() {
        let mut ends = Ends::default();
        ends.push(1);
        match &ends.cur {
            Block::Short { ends, .. } => assert!(ends.capacity() <= 8),
            other => panic!("{other:?}"),
        }
    }
}
