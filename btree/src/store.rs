//! The seam between the tree and the transaction layer: how trees read pages and how a write
//! transaction hands out writable (copy-on-write) pages.

use levin_pager::Pgno;

use crate::error::Result;

/// Read access to the pages of one snapshot.
pub trait PageSource {
    /// Borrows page `pgno` of the snapshot.
    fn page(&self, pgno: Pgno) -> Result<&[u8]>;
    /// Borrows `count` consecutive pages (an overflow run).
    fn pages(&self, pgno: Pgno, count: u64) -> Result<&[u8]>;
    /// The page size.
    fn page_size(&self) -> usize;
}

/// Write access for one write transaction.
///
/// **Invariant (copy-on-write):** a page is modified only after [`PageStore::touch`] made it
/// dirty in this transaction; a page that a committed snapshot can reach is never modified,
/// it is copied to a fresh page and the old one is freed.
pub trait PageStore: PageSource {
    /// Makes `pgno` writable: returns it if it is already dirty in this transaction,
    /// otherwise copies it to a newly allocated page, frees the original, and returns the copy.
    /// The copy's free gap is zero (see [`crate::copy`]).
    fn touch(&mut self, pgno: Pgno) -> Result<Pgno> {
        self.touch_with(pgno, |src, dst| {
            crate::copy::copy_page(src, dst);
            Ok(())
        })
        .map(|(p, _)| p)
    }
    /// As [`PageStore::touch`], but a copy is built by `build(original, buf)`, which must
    /// write every byte of the page-sized `buf` (whose bytes on entry are unspecified; it
    /// may change the page on the way, as long as the result is what the caller would
    /// otherwise get by editing a plain copy).
    /// Returns the writable page and whether `build` ran; when the page was already dirty
    /// it did not, and the caller edits the page itself.
    fn touch_with(
        &mut self,
        pgno: Pgno,
        build: impl FnOnce(&[u8], &mut [u8]) -> Result<()>,
    ) -> Result<(Pgno, bool)>;
    /// True if `pgno` is dirty: copied or allocated in this transaction and held in memory,
    /// so that it can be edited without a copy.
    fn is_dirty(&self, pgno: Pgno) -> bool;
    /// The bytes of a dirty page. Panics if `pgno` is not dirty (a bug in the tree code).
    fn page_mut(&mut self, pgno: Pgno) -> &mut [u8];
    /// Allocates a new, zeroed, dirty page.
    fn alloc_page(&mut self) -> Result<Pgno>;
    /// Stores `value` in a new run of overflow pages, writing `header` first; returns the
    /// first page number and the number of pages.
    fn alloc_overflow(&mut self, header: &[u8], value: &[u8]) -> Result<(Pgno, u64)>;
    /// Frees `count` pages starting at `pgno`: they may be reused once no snapshot that can
    /// reach them is alive.
    fn free(&mut self, pgno: Pgno, count: u64);
    /// Writes dirty pages out if they take too much memory; returns true if it did. Only
    /// long-running builders call it, between pages, and touch the pages they hold again
    /// afterwards (a spilled page is no longer dirty). The default never spills.
    fn spill_if_needed(&mut self) -> Result<bool> {
        Ok(false)
    }
}
