//! Memory for a write transaction's dirty pages: page-sized slots in 2 MiB huge-page blocks
//! (`levin_pager::hugebuf`), reused as pages are freed or written out, and kept between
//! transactions up to a bound.
//!
//! Reason: one heap allocation per copied page cost a page fault per fresh 4 KiB and a TLB
//! entry per page; removals of half of 200,000 keys spent about 8% of their time there.

use levin_pager::hugebuf::{HugeBlock, HUGE_BLOCK};

/// Blocks kept by an idle arena (between transactions): 8 MiB.
const KEEP_BLOCKS: usize = 4;

/// A slot: which block, and the page-sized piece of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(u32);

impl Slot {
    /// The slot's number (slots are numbered from zero in the order first handed out).
    pub fn index(self) -> u32 {
        self.0
    }

    /// The slot numbered `i`.
    pub(crate) fn from_index(i: u32) -> Slot {
        Slot(i)
    }
}

/// Page-sized slots. Slots handed out are disjoint; a freed slot is handed out again.
#[derive(Debug)]
pub struct PageArena {
    page_size: usize,
    /// Slots per block: `1 << block_shift` (both sizes are powers of two, so finding a
    /// slot's block takes a shift, not a division).
    block_shift: u32,
    blocks: Vec<HugeBlock>,
    /// Slots free for reuse, and the first never-used slot.
    free: Vec<Slot>,
    next: u32,
}

impl PageArena {
    /// An empty arena for pages of `page_size` bytes (a power of two, at most `HUGE_BLOCK`).
    pub fn new(page_size: usize) -> Self {
        debug_assert!(page_size.is_power_of_two() && page_size <= HUGE_BLOCK);
        PageArena {
            page_size,
            block_shift: (HUGE_BLOCK / page_size).trailing_zeros(),
            blocks: Vec::new(),
            free: Vec::new(),
            next: 0,
        }
    }

    /// The page size of the slots.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// A slot (its bytes are whatever it last held), or `None` if no memory could be
    /// mapped (the caller then uses the heap).
    pub fn alloc(&mut self) -> Option<Slot> {
        if let Some(s) = self.free.pop() {
            return Some(s);
        }
        if self.next == (self.blocks.len() as u32) << self.block_shift {
            self.blocks.push(HugeBlock::new()?);
        }
        let s = Slot(self.next);
        self.next += 1;
        Some(s)
    }

    /// Returns a slot for reuse. It must not be used again until handed out anew.
    pub fn free(&mut self, s: Slot) {
        self.free.push(s);
    }

    fn range(&self, s: Slot) -> (usize, std::ops::Range<usize>) {
        let block = (s.0 >> self.block_shift) as usize;
        let at = (s.0 & ((1 << self.block_shift) - 1)) as usize * self.page_size;
        (block, at..at + self.page_size)
    }

    /// The bytes of slot `s`.
    pub fn get(&self, s: Slot) -> &[u8] {
        let (b, r) = self.range(s);
        &self.blocks[b][r]
    }

    /// The bytes of slot `s`, writable.
    pub fn get_mut(&mut self, s: Slot) -> &mut [u8] {
        let (b, r) = self.range(s);
        &mut self.blocks[b][r]
    }

    /// Forgets every slot (all become free) and unmaps blocks beyond those an idle arena
    /// keeps. Called when a transaction ends: its slots are no longer referenced.
    pub fn reset(&mut self) {
        self.blocks.truncate(KEEP_BLOCKS);
        self.free.clear();
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_disjoint_reused_and_span_blocks() {
        let ps = 4096;
        let mut a = PageArena::new(ps);
        let n = 2 * (HUGE_BLOCK / ps) + 3; // into a third block
        let slots: Vec<Slot> = (0..n).map(|_| a.alloc().unwrap()).collect();
        for (i, &s) in slots.iter().enumerate() {
            a.get_mut(s).fill(i as u8);
        }
        for (i, &s) in slots.iter().enumerate() {
            assert!(a.get(s).iter().all(|&x| x == i as u8), "slot {i}");
        }
        assert_eq!(a.blocks.len(), 3);
        a.free(slots[5]);
        assert_eq!(a.alloc().unwrap(), slots[5]);
        a.reset();
        assert_eq!(a.alloc().unwrap(), slots[0]);
        assert_eq!(a.blocks.len(), 3.min(KEEP_BLOCKS));
    }
}
