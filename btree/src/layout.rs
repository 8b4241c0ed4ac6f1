//! Page layout constants of B+tree pages (branch, leaf, overflow) and the size limits they
//! imply. docs/FORMAT.md documents each; a test keeps the two in step.

use levin_pager::format::TREE_INFO_SIZE;

/// Bytes of the header at the start of every branch, leaf and overflow page.
pub const PAGE_HEADER_SIZE: usize = 16;
/// Header: page kind (u8).
pub const HDR_KIND_OFF: usize = 0;
/// Header: flags (u8), zero in format versions 1 and 2.
pub const HDR_FLAGS_OFF: usize = 1;
/// Header: number of entries (u16).
pub const HDR_NKEYS_OFF: usize = 2;
/// Header: offset of the lowest entry byte, the top of the free gap (u16).
pub const HDR_UPPER_OFF: usize = 4;
/// Header: CRC32 of the page (of the whole run for overflow pages) with this field zeroed.
pub const HDR_CHECKSUM_OFF: usize = 8;
/// Header: the low 32 bits of the page's own number, to catch misplaced writes.
pub const HDR_PGNO_OFF: usize = 12;

/// Page kind: branch page.
pub const KIND_BRANCH: u8 = 2;
/// Page kind: leaf page.
pub const KIND_LEAF: u8 = 3;
/// Page kind: first page of an overflow run.
pub const KIND_OVERFLOW: u8 = 4;

/// Leaf entry header: key length (u16), value kind (u8), value length (u32).
pub const LEAF_ENTRY_HEADER: usize = 7;
/// Branch entry header: key length (u16), child page (u64), entries beneath (u64).
pub const BRANCH_ENTRY_HEADER: usize = 18;
/// Bytes of one slot in the slot array after the header.
pub const SLOT_SIZE: usize = 2;

/// Leaf value kind: the value bytes follow the key.
pub const VAL_INLINE: u8 = 0;
/// Leaf value kind: the value lives in an overflow run; 16 bytes follow the key:
/// first page (u64) and value length (u64).
pub const VAL_OVERFLOW: u8 = 1;
/// Leaf value kind (list databases): a sorted list of values inline, each a u16 length
/// then its bytes.
pub const VAL_LIST: u8 = 2;
/// Leaf value kind (list databases): the values are the keys of a nested tree whose
/// 48-byte tree descriptor follows the key.
pub const VAL_TREE: u8 = 3;

/// Bytes after the key of an overflow reference.
pub const OVERFLOW_REF_SIZE: usize = 16;
/// The longest key any page size allows (as LMDB).
pub const MAX_KEY_SIZE: usize = 511;

/// Size limits that follow from a page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The page size.
    pub page_size: usize,
    /// The largest entry (header, key and inline value) plus its slot; two always fit a page.
    pub max_entry: usize,
    /// The longest key, and the longest list value.
    pub max_key: usize,
    /// The largest inline list entry before it becomes a nested tree.
    pub list_inline_max: usize,
}

impl Limits {
    /// The limits for `page_size` (a valid page size).
    pub fn new(page_size: usize) -> Limits {
        let usable = page_size - PAGE_HEADER_SIZE;
        let max_entry = usable / 2 - SLOT_SIZE;
        let leaf_key = max_entry - LEAF_ENTRY_HEADER - TREE_INFO_SIZE;
        let branch_key = max_entry - BRANCH_ENTRY_HEADER;
        let max_key = MAX_KEY_SIZE.min(leaf_key).min(branch_key);
        Limits {
            page_size,
            max_entry,
            max_key,
            list_inline_max: max_entry / 2,
        }
    }

    /// Bytes of a page available to the slot array and entries.
    pub fn usable(&self) -> usize {
        self.page_size - PAGE_HEADER_SIZE
    }

    /// True if a plain value of `vlen` bytes is stored inline with a key of `klen` bytes.
    pub fn value_inline(&self, klen: usize, vlen: usize) -> bool {
        LEAF_ENTRY_HEADER + klen + vlen <= self.max_entry
    }

    /// Pages in an overflow run for a value of `len` bytes.
    pub fn overflow_pages(&self, len: u64) -> u64 {
        (PAGE_HEADER_SIZE as u64)
            .saturating_add(len)
            .div_ceil(self.page_size as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_largest_entries_always_fit_a_page() {
        let mut size = 512;
        while size <= 32768 {
            let l = Limits::new(size);
            assert!(2 * (l.max_entry + SLOT_SIZE) <= l.usable(), "page {size}");
            // The largest key still fits a branch entry and a nested-list leaf entry.
            assert!(BRANCH_ENTRY_HEADER + l.max_key <= l.max_entry);
            assert!(LEAF_ENTRY_HEADER + l.max_key + TREE_INFO_SIZE <= l.max_entry);
            size *= 2;
        }
        assert_eq!(Limits::new(4096).max_key, 511);
        assert_eq!(Limits::new(512).max_key, 191);
    }

    #[test]
    fn overflow_page_counts() {
        let l = Limits::new(512);
        assert_eq!(l.overflow_pages(0), 1);
        assert_eq!(l.overflow_pages(496), 1);
        assert_eq!(l.overflow_pages(497), 2);
        assert_eq!(
            l.overflow_pages(u64::MAX),
            u64::MAX / 512 + 1,
            "no overflow on damaged lengths"
        );
    }
}
