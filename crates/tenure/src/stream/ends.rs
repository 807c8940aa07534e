//! The end offsets of an accumulator's chunks: 4 bytes per chunk, in fixed-size blocks.
//!
//! Two costs of a flat `Vec<usize>` showed in the 4-byte-chunk benchmark: 8 bytes of
//! offsets per 4 bytes of content, and the copies and fresh pages of a vector that doubles.
//! Here each block of [`BLOCK`] chunks stores `u32` offsets relative to the block's base
//! (the end of the chunk before it); a block whose span exceeds 4 GiB (giant chunks)
//! switches to full `usize` offsets. The first block grows like a `Vec` (small streams stay
//! small); after it, full blocks are set aside and never copied again. Lookup stays O(1):
//! block `i / BLOCK`, slot `i % BLOCK`.

/// Chunks per block: 8 KiB of `u32`.
const BLOCK: usize = 2048;

#[derive(Debug, Clone)]
enum Block {
    Narrow { base: usize, ends: Vec<u32> },
    Wide(Vec<usize>),
}

impl Block {
    #[inline]
    fn get(&self, slot: usize) -> Option<usize> {
        match self {
            Block::Narrow { base, ends } => ends.get(slot).map(|&d| base + d as usize),
            Block::Wide(ends) => ends.get(slot).copied(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ends {
    full: Vec<Block>,
    /// The current block, narrow: offsets relative to `base`. Empty with no capacity once
    /// the block went wide, so the fast path falls through to `wide`.
    base: usize,
    narrow: Vec<u32>,
    wide: Option<Vec<usize>>,
}

impl Ends {
    #[inline]
    pub(crate) fn push(&mut self, end: usize) {
        let delta = end - self.base;
        if delta <= u32::MAX as usize && self.narrow.len() < self.narrow.capacity() {
            self.narrow.push(delta as u32);
        } else {
            self.push_slow(end);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, end: usize) {
        if self.current_len() == BLOCK {
            // The new block's base is the end of the last chunk.
            let last = self.get(self.len() - 1).unwrap_or_default();
            let block = match self.wide.take() {
                Some(wide) => Block::Wide(wide),
                None => Block::Narrow {
                    base: self.base,
                    ends: std::mem::replace(&mut self.narrow, Vec::with_capacity(BLOCK)),
                },
            };
            self.full.push(block);
            self.base = last;
            if self.narrow.capacity() == 0 {
                self.narrow.reserve_exact(BLOCK);
            }
        }
        let delta = end - self.base;
        if let Some(wide) = &mut self.wide {
            wide.push(end);
        } else if delta > u32::MAX as usize {
            // A span over 4 GiB: this block keeps full offsets from now on.
            let mut wide = Vec::with_capacity(BLOCK);
            wide.extend(self.narrow.iter().map(|&d| self.base + d as usize));
            wide.push(end);
            self.wide = Some(wide);
            self.narrow = Vec::new();
        } else {
            // The first block grows by doubling up to BLOCK.
            let len = self.narrow.len();
            self.narrow.reserve_exact((len * 2).clamp(8, BLOCK) - len);
            self.narrow.push(delta as u32);
        }
    }

    fn current_len(&self) -> usize {
        match &self.wide {
            Some(wide) => wide.len(),
            None => self.narrow.len(),
        }
    }

    /// Makes room for `additional` more entries in the current block.
    pub(crate) fn reserve(&mut self, additional: usize) {
        if self.wide.is_none() {
            let room = BLOCK.saturating_sub(self.narrow.len());
            self.narrow.reserve_exact(additional.min(room));
        }
        self.full.reserve(additional / BLOCK);
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.full.len() * BLOCK + self.current_len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<usize> {
        let (b, slot) = (i / BLOCK, i % BLOCK);
        match self.full.get(b) {
            Some(block) => block.get(slot),
            None if b == self.full.len() => match &self.wide {
                Some(wide) => wide.get(slot).copied(),
                None => self.narrow.get(slot).map(|&d| self.base + d as usize),
            },
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

    #[test]
    fn entries_across_blocks_are_found_in_order() {
        let mut ends = Ends::default();
        let n = 3 * BLOCK + 17;
        for i in 0..n {
            ends.push(i * 3);
        }
        assert_eq!(ends.len(), n);
        assert_eq!(ends.full.len(), 3);
        for i in 0..n {
            assert_eq!(ends.get(i), Some(i * 3));
        }
        assert_eq!(ends.get(n), None);
        assert_eq!(ends.get(10 * BLOCK), None);
        assert!(ends.iter().eq((0..n).map(|i| i * 3)));
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn spans_over_4_gib_switch_a_block_to_wide_offsets() {
        const GIB: usize = 1 << 30;
        let mut ends = Ends::default();
        let mut want = Vec::new();
        let mut end = 0;
        for i in 0..(3 * BLOCK) {
            // Mostly small chunks, a few giant ones (offsets only: no memory is touched).
            end += if i == BLOCK + 5 || i == BLOCK + 900 {
                5 * GIB
            } else {
                7
            };
            ends.push(end);
            want.push(end);
        }
        assert!(ends.full.iter().any(|b| matches!(b, Block::Wide(_))));
        assert!(ends.full.iter().any(|b| matches!(b, Block::Narrow { .. })));
        for (i, &w) in want.iter().enumerate() {
            assert_eq!(ends.get(i), Some(w), "chunk {i}");
        }
        assert!(ends.iter().eq(want.iter().copied()));
    }
}
