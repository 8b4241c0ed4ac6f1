//! Anonymous memory in 2 MiB blocks that the kernel may back with transparent huge pages:
//! the write transaction keeps its dirty pages here.
//!
//! Reason: a large transaction copies tens of thousands of pages. Held in separate 4 KiB
//! heap allocations, each first touch of fresh memory is a page fault and each page a TLB
//! entry; in a 2 MiB block aligned to 2 MiB and advised `MADV_HUGEPAGE`, the first touch of
//! the block faults once for all of it and one TLB entry covers 512 pages.

use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// The size and alignment of a block.
pub const HUGE_BLOCK: usize = 2 << 20;

/// One zero-initialised, `HUGE_BLOCK`-byte block of private anonymous memory, aligned to
/// `HUGE_BLOCK` and advised for transparent huge pages. Derefs to `[u8]`.
#[derive(Debug)]
pub struct HugeBlock {
    ptr: NonNull<u8>,
}

// SAFETY: the block is private memory owned by this value alone (like a `Box<[u8]>`): it
// can be moved to another thread, and shared references only allow reads.
unsafe impl Send for HugeBlock {}
// SAFETY: as for `Send`: `&HugeBlock` gives only `&[u8]`.
unsafe impl Sync for HugeBlock {}

impl HugeBlock {
    /// Maps a new block, or returns `None` if the system refuses the memory.
    pub fn new() -> Option<HugeBlock> {
        // Map twice the size and keep the aligned block inside, so that the kernel can back
        // it with one huge page whatever address it picked.
        let len = 2 * HUGE_BLOCK;
        // SAFETY: a fresh private anonymous mapping (null hint, no MAP_FIXED) replaces no
        // existing memory; it is readable, writable and zero-filled.
        let base = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE,
            )
        }
        .ok()?
        .cast::<u8>();
        let addr = base as usize;
        let start = addr.next_multiple_of(HUGE_BLOCK);
        let head = start - addr;
        let tail = len - head - HUGE_BLOCK;
        // SAFETY: `head` bytes at `base` and `tail` bytes after the block lie inside the
        // mapping made above and are not used: unmapping them leaves exactly the block
        // `start..start + HUGE_BLOCK` mapped. Both lengths are multiples of the base page
        // size (all three addresses are page-aligned).
        unsafe {
            if head > 0 {
                let _ = rustix::mm::munmap(base.cast(), head);
            }
            if tail > 0 {
                let _ = rustix::mm::munmap((start + HUGE_BLOCK) as *mut _, tail);
            }
        }
        let ptr = NonNull::new(start as *mut u8)?;
        // SAFETY: the range is exactly the block mapped above and owned by us; the advice
        // changes only how the kernel backs it, never its contents or protection. If the
        // kernel has huge pages turned off, the call fails and the block stays in 4 KiB
        // pages, which is fine.
        let _ = unsafe {
            rustix::mm::madvise(
                ptr.as_ptr().cast(),
                HUGE_BLOCK,
                rustix::mm::Advice::LinuxHugepage,
            )
        };
        Some(HugeBlock { ptr })
    }
}

impl Deref for HugeBlock {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points to `HUGE_BLOCK` readable bytes mapped in `new` and unmapped
        // only in `drop`; the slice borrows `self`, so it cannot outlive the mapping. The
        // memory is initialised (anonymous mappings are zero-filled) and any bit pattern is
        // a valid `u8`; no `&mut` to it can exist while `&self` is borrowed.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), HUGE_BLOCK) }
    }
}

impl DerefMut for HugeBlock {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and the memory is writable; `&mut self` makes this the
        // only reference to the block for the slice's lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), HUGE_BLOCK) }
    }
}

impl Drop for HugeBlock {
    fn drop(&mut self) {
        // SAFETY: the block mapped in `new`, unmapped only here; no slice outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), HUGE_BLOCK) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_zeroed_writable_and_separate() {
        let mut a = HugeBlock::new().unwrap();
        let mut b = HugeBlock::new().unwrap();
        assert_eq!(a.len(), HUGE_BLOCK);
        assert_eq!(a.as_ptr() as usize % HUGE_BLOCK, 0);
        assert!(a.iter().all(|&x| x == 0));
        a[0] = 1;
        a[HUGE_BLOCK - 1] = 2;
        b[0] = 3;
        assert_eq!((a[0], a[HUGE_BLOCK - 1], b[0]), (1, 2, 3));
        let moved = std::thread::spawn(move || a[HUGE_BLOCK - 1])
            .join()
            .unwrap();
        assert_eq!(moved, 2);
    }
}
