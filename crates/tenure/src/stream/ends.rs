//! The end offsets of an accumulator's chunks: 2 to 8 bytes per chunk, in fixed-size blocks.
//!
//! Two costs of a flat `Vec<usize>` showed in the 4-byte-chunk benchmark: 8 bytes of
//! offsets per 4 bytes of content, and the copies and fresh pages of a vector that doubles.
//! Here each block of [`BLOCK`] chunks stores its offsets in the narrowest integer that fits
//! its span (from the block's base, the end of the chunk before it): `u16` while the block
//! spans under 64 KiB (small chunks: tokens, lines), `u32` under 4 GiB, `usize` beyond. A
//! block widens at most twice, converting at most `BLOCK` entries, so pushes stay O(1)
//! amortized. The first block grows like a `Vec` (small streams stay small); after it, full
//! blocks are set aside and never copied again. Lookup is O(1): block `i / BLOCK`, slot
//! `i % BLOCK`.
//!
//! The push path matches no enum. The block being filled is a concrete array per width
//! (`short`, then `narrow`), each entry the low 16 or 32 bits of the end — exact while the
//! block's span fits, which the accumulator checks with the comparison it already makes per
//! push, against [`Ends::short_end`] / [`Ends::narrow_end`] — so a push is an index check
//! and a store ([`Ends::short_at`], [`Ends::narrow_at`]), counted by [`Ends::commit`].
//! Everything else (a full block, a span outgrowing its width, the first block growing)
//! goes through [`Ends::stage`], out of line.

/// Chunks per block.
const BLOCK: usize = 2048;

/// A full block: exactly [`BLOCK`] ends.
#[derive(Debug, Clone)]
enum Block {
    /// The low 16 bits of each end; the block spans at most `u16::MAX` from `base`.
    Short {
        base: usize,
        ends: Box<[u16]>,
    },
    /// The low 32 bits of each end; the block spans at most `u32::MAX` from `base`.
    Narrow {
        base: usize,
        ends: Box<[u32]>,
    },
    Wide(Box<[usize]>),
}

/// The end whose low 16 bits are `low`, at most `u16::MAX` past `base`.
#[inline]
fn from_short(base: usize, low: u16) -> usize {
    base + low.wrapping_sub(base as u16) as usize
}

/// The end whose low 32 bits are `low`, at most `u32::MAX` past `base`.
#[inline]
fn from_narrow(base: usize, low: u32) -> usize {
    base + low.wrapping_sub(base as u32) as usize
}

impl Block {
    #[inline]
    fn get(&self, slot: usize) -> Option<usize> {
        match self {
            Block::Short { base, ends } => ends.get(slot).map(|&l| from_short(*base, l)),
            Block::Narrow { base, ends } => ends.get(slot).map(|&l| from_narrow(*base, l)),
            Block::Wide(ends) => ends.get(slot).copied(),
        }
    }
}

/// The width of the block being filled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Width {
    #[default]
    Short,
    Narrow,
    Wide,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ends {
    full: Vec<Block>,
    /// The end of the chunk before the current block (0 for the first block).
    base: usize,
    /// Entries in the current block.
    len: usize,
    /// Which of the arrays below holds the current block.
    width: Width,
    /// The current block while `Short`: its ends in `short[..len]`, the rest is room (zeros).
    /// `BLOCK` long, except in the first block, where it grows from small.
    short: Vec<u16>,
    /// The current block once `Narrow`: as `short`.
    narrow: Vec<u32>,
    /// The current block once `Wide`: its ends, full width.
    wide: Vec<usize>,
}

impl Ends {
    /// Ends below this may be recorded with [`short_at`](Self::short_at); 0 unless
    /// the current block is `Short`. Changes only in [`stage`](Self::stage).
    #[inline]
    pub(crate) fn short_end(&self) -> usize {
        match self.width {
            Width::Short => self.base.saturating_add(1 << 16),
            _ => 0,
        }
    }

    /// Ends below this may be recorded with [`narrow_at`](Self::narrow_at); 0 unless
    /// the current block is `Narrow`. Changes only in [`stage`](Self::stage).
    #[inline]
    pub(crate) fn narrow_end(&self) -> usize {
        match self.width {
            Width::Narrow => self
                .base
                .saturating_add(u32::MAX as usize)
                .saturating_add(1),
            _ => 0,
        }
    }

    /// Entries in the current block: the slot of the next one.
    #[inline]
    pub(crate) fn slot(&self) -> usize {
        self.len
    }

    /// Entry `slot` of the current block while it is `Short`, if it has room there: store
    /// the low 16 bits of an end below [`short_end`](Self::short_end), then
    /// [`commit`](Self::commit) it. `None`: use [`stage`](Self::stage).
    #[inline]
    pub(crate) fn short_at(&mut self, slot: usize) -> Option<&mut u16> {
        self.short.get_mut(slot)
    }

    /// As [`short_at`](Self::short_at), for 32 bits below
    /// [`narrow_end`](Self::narrow_end) while `Narrow`.
    #[inline]
    pub(crate) fn narrow_at(&mut self, slot: usize) -> Option<&mut u32> {
        self.narrow.get_mut(slot)
    }

    /// Counts the entry stored at `slot` (the current [`slot`](Self::slot)) through
    /// [`short_at`](Self::short_at), [`narrow_at`](Self::narrow_at) or
    /// [`stage`](Self::stage).
    #[inline]
    pub(crate) fn commit(&mut self, slot: usize) {
        debug_assert_eq!(slot, self.len);
        self.len = slot + 1;
    }

    /// Records `end`, whatever the state of the current block.
    pub(crate) fn push(&mut self, end: usize) {
        let slot = self.stage(end);
        self.commit(slot);
    }

    /// Stores `end` as the next entry, not yet counted (then [`commit`](Self::commit)),
    /// whatever the state of the current block: starts the next block, widens the current
    /// one or grows the first one as needed. The entries counted so far are unchanged.
    /// Returns the entry's slot.
    #[inline(never)]
    pub(crate) fn stage(&mut self, end: usize) -> usize {
        if self.len == BLOCK {
            self.seal_block();
        }
        let span = end - self.base;
        if self.width == Width::Short && span > u16::MAX as usize {
            let (base, room) = (self.base, self.short.len());
            let mut narrow = Vec::with_capacity(room);
            narrow.extend(
                self.short[..self.len]
                    .iter()
                    .map(|&l| from_short(base, l) as u32),
            );
            narrow.resize(room, 0);
            self.narrow = narrow;
            self.width = Width::Narrow;
        }
        if self.width == Width::Narrow && span > u32::MAX as usize {
            let base = self.base;
            let narrow = &self.narrow[..self.len];
            self.wide.clear();
            self.wide.reserve_exact(BLOCK);
            self.wide
                .extend(narrow.iter().map(|&l| from_narrow(base, l)));
            self.width = Width::Wide;
        }
        match self.width {
            Width::Short => {
                grow(&mut self.short, self.len);
                self.short[self.len] = end as u16;
            }
            Width::Narrow => {
                grow(&mut self.narrow, self.len);
                self.narrow[self.len] = end as u32;
            }
            Width::Wide => {
                self.wide.truncate(self.len);
                self.wide.push(end);
            }
        }
        self.len
    }

    /// The current block's `slot`-th end (`slot < self.len`).
    #[inline]
    fn cur_at(&self, slot: usize) -> usize {
        match self.width {
            Width::Short => from_short(self.base, self.short[slot]),
            Width::Narrow => from_narrow(self.base, self.narrow[slot]),
            Width::Wide => self.wide[slot],
        }
    }

    /// Sets the full current block aside (no copy) and starts the next one, `Short`.
    fn seal_block(&mut self) {
        let base = self.base;
        let last = self.cur_at(BLOCK - 1);
        let block = match self.width {
            Width::Short => Block::Short {
                base,
                ends: std::mem::replace(&mut self.short, vec![0; BLOCK]).into_boxed_slice(),
            },
            Width::Narrow => Block::Narrow {
                base,
                ends: std::mem::take(&mut self.narrow).into_boxed_slice(),
            },
            Width::Wide => {
                let mut wide = std::mem::take(&mut self.wide);
                wide.truncate(BLOCK);
                Block::Wide(wide.into_boxed_slice())
            }
        };
        self.full.push(block);
        self.base = last;
        self.len = 0;
        self.width = Width::Short;
    }

    /// Makes room for `additional` more entries in the current block.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let room = self.len.saturating_add(additional).min(BLOCK);
        match self.width {
            Width::Short if room > self.short.len() => self.short.resize(room, 0),
            Width::Narrow if room > self.narrow.len() => self.narrow.resize(room, 0),
            Width::Wide => self.wide.reserve_exact(room - self.len),
            _ => {}
        }
        self.full.reserve(additional / BLOCK);
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.full.len() * BLOCK + self.len
    }

    /// Where the last chunk starts (the end of the one before it); 0 without chunks.
    #[inline]
    pub(crate) fn last_start(&self) -> usize {
        match self.len {
            0 | 1 => self.base,
            n => self.cur_at(n - 2),
        }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<usize> {
        let (b, slot) = (i / BLOCK, i % BLOCK);
        match self.full.get(b) {
            Some(block) => block.get(slot),
            None if b == self.full.len() && slot < self.len => Some(self.cur_at(slot)),
            None => None,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or_default())
    }
}

/// Makes room for entry `len` in a current-block array that is full: doubles it, from 8 up
/// to `BLOCK` (only the first block's array is ever shorter than `BLOCK`).
fn grow<T: Copy + Default>(v: &mut Vec<T>, len: usize) {
    if len == v.len() {
        v.resize((len * 2).clamp(8, BLOCK), T::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes as the accumulator does: the fast paths below their bounds, else `push`.
    fn record(ends: &mut Ends, end: usize) {
        let (short_end, narrow_end, slot) = (ends.short_end(), ends.narrow_end(), ends.slot());
        if end < short_end {
            if let Some(entry) = ends.short_at(slot) {
                *entry = end as u16;
                return ends.commit(slot);
            }
        } else if end < narrow_end {
            if let Some(entry) = ends.narrow_at(slot) {
                *entry = end as u32;
                return ends.commit(slot);
            }
        }
        let slot = ends.stage(end);
        ends.commit(slot);
    }

    fn check(sizes: impl IntoIterator<Item = usize>) -> Ends {
        let mut ends = Ends::default();
        let mut want = Vec::new();
        let mut end = 0;
        for size in sizes {
            end += size;
            record(&mut ends, end);
            want.push(end);
            assert_eq!(ends.len(), want.len());
            let start = want.len().checked_sub(2).map_or(0, |i| want[i]);
            assert_eq!(ends.last_start(), start);
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
        let mut kinds: Vec<_> = ends
            .full
            .iter()
            .map(|b| match b {
                Block::Short { .. } => "short",
                Block::Narrow { .. } => "narrow",
                Block::Wide(_) => "wide",
            })
            .collect();
        kinds.push(match ends.width {
            Width::Short => "short",
            Width::Narrow => "narrow",
            Width::Wide => "wide",
        });
        kinds
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
    fn the_first_block_widens_while_it_grows() {
        // Widened at chunk 3 (narrow, array of 8), grown past 8, 16, ...; then wide.
        let giant = if cfg!(target_pointer_width = "64") {
            5 << 30
        } else {
            1 << 20
        };
        let sizes = (0..BLOCK + 40).map(|i| match i {
            3 => 70_000,
            30 => giant,
            _ => 1,
        });
        let ends = check(sizes);
        let first = if cfg!(target_pointer_width = "64") {
            "wide"
        } else {
            "narrow"
        };
        assert_eq!(kinds(&ends), [first, "short"]);
    }

    #[test]
    fn the_first_block_grows_from_small() {
        let mut ends = Ends::default();
        record(&mut ends, 1);
        assert!(ends.short.capacity() <= 8);
    }
}
