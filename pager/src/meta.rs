//! The two meta pages (pages 0 and 1): magic, format version, page size, the committed
//! transaction id, the file's page high-water mark and the roots of the catalog and free
//! trees, sealed by a CRC32.

use crate::error::{Pgno, Result};
use crate::format::*;

/// Where a B+tree lives and how big it is; stored in the meta page (catalog and free tree),
/// in the catalog (named databases) and in leaf entries (nested list trees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeInfo {
    /// Root page, or 0 for an empty tree (page 0 is a meta page, never a tree page).
    pub root: Pgno,
    /// Entries in the tree: keys for a plain tree, (key, value) pairs for a list tree.
    pub entries: u64,
    /// Levels from root to leaf; 0 when empty.
    pub depth: u32,
    /// [`TREE_FLAG_LIST`] and future flags.
    pub flags: u32,
    /// Branch pages in the tree (nested trees included).
    pub branch_pages: u64,
    /// Leaf pages in the tree (nested trees included).
    pub leaf_pages: u64,
    /// Overflow pages holding large values.
    pub overflow_pages: u64,
}

impl TreeInfo {
    /// An empty tree with the given flags.
    pub fn empty(flags: u32) -> Self {
        TreeInfo {
            flags,
            ..TreeInfo::default()
        }
    }

    /// True for a list (sorted-duplicate) database.
    pub fn is_list(&self) -> bool {
        self.flags & TREE_FLAG_LIST != 0
    }

    /// Serialises into exactly [`TREE_INFO_SIZE`] bytes.
    pub fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.root.to_le_bytes());
        out[8..16].copy_from_slice(&self.entries.to_le_bytes());
        out[16..20].copy_from_slice(&self.depth.to_le_bytes());
        out[20..24].copy_from_slice(&self.flags.to_le_bytes());
        out[24..32].copy_from_slice(&self.branch_pages.to_le_bytes());
        out[32..40].copy_from_slice(&self.leaf_pages.to_le_bytes());
        out[40..48].copy_from_slice(&self.overflow_pages.to_le_bytes());
    }

    /// Parses [`TREE_INFO_SIZE`] bytes; `None` if the slice is too short.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < TREE_INFO_SIZE {
            return None;
        }
        Some(TreeInfo {
            root: u64_at(b, 0),
            entries: u64_at(b, 8),
            depth: u32_at(b, 16),
            flags: u32_at(b, 20),
            branch_pages: u64_at(b, 24),
            leaf_pages: u64_at(b, 32),
            overflow_pages: u64_at(b, 40),
        })
    }
}

/// The decoded contents of a meta page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Page size of the file, fixed at creation.
    pub page_size: u32,
    /// Id of the transaction that wrote this meta.
    pub txn_id: u64,
    /// One past the highest page number in use: the file's allocation high-water mark.
    pub npages: Pgno,
    /// The catalog tree: database name to [`TreeInfo`].
    pub catalog: TreeInfo,
    /// The free tree: freeing transaction id to freed page numbers.
    pub free: TreeInfo,
}

/// Why a meta page could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaProblem {
    /// The magic bytes are wrong: not a Levin file, or never written.
    BadMagic,
    /// Written by another format version.
    Version(u32),
    /// The checksum does not match: a torn or damaged write.
    Checksum,
}

impl Meta {
    /// Serialises into a page-sized buffer (the tail past the checksum is zero).
    pub fn encode(&self, page: &mut [u8]) {
        page.fill(0);
        page[META_MAGIC_OFF..META_MAGIC_OFF + 8].copy_from_slice(&MAGIC);
        page[META_VERSION_OFF..META_VERSION_OFF + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        page[META_PAGE_SIZE_OFF..META_PAGE_SIZE_OFF + 4]
            .copy_from_slice(&self.page_size.to_le_bytes());
        page[META_TXN_ID_OFF..META_TXN_ID_OFF + 8].copy_from_slice(&self.txn_id.to_le_bytes());
        page[META_NPAGES_OFF..META_NPAGES_OFF + 8].copy_from_slice(&self.npages.to_le_bytes());
        self.catalog
            .encode(&mut page[META_CATALOG_OFF..META_CATALOG_OFF + TREE_INFO_SIZE]);
        self.free
            .encode(&mut page[META_FREE_OFF..META_FREE_OFF + TREE_INFO_SIZE]);
        let crc = crc32fast::hash(&page[..META_CRC_OFF]);
        page[META_CRC_OFF..META_CRC_OFF + 4].copy_from_slice(&crc.to_le_bytes());
    }

    /// Parses and verifies a meta page.
    pub fn decode(page: &[u8]) -> std::result::Result<Meta, MetaProblem> {
        if page.len() < META_SIZE || page[META_MAGIC_OFF..META_MAGIC_OFF + 8] != MAGIC {
            return Err(MetaProblem::BadMagic);
        }
        let version = u32_at(page, META_VERSION_OFF);
        let crc = crc32fast::hash(&page[..META_CRC_OFF]);
        if crc != u32_at(page, META_CRC_OFF) {
            return Err(MetaProblem::Checksum);
        }
        if version != FORMAT_VERSION {
            return Err(MetaProblem::Version(version));
        }
        let tree =
            |off: usize| TreeInfo::decode(&page[off..off + TREE_INFO_SIZE]).unwrap_or_default();
        Ok(Meta {
            page_size: u32_at(page, META_PAGE_SIZE_OFF),
            txn_id: u64_at(page, META_TXN_ID_OFF),
            npages: u64_at(page, META_NPAGES_OFF),
            catalog: tree(META_CATALOG_OFF),
            free: tree(META_FREE_OFF),
        })
    }

    /// The meta slot (0 or 1) this meta is written to: transactions alternate slots.
    pub fn slot(&self) -> Pgno {
        self.txn_id % 2
    }
}

/// Reads a little-endian u64 at `off` (the caller guarantees `off + 8 <= b.len()`).
pub fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Reads a little-endian u32 at `off` (the caller guarantees `off + 4 <= b.len()`).
pub fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Checks that a decoded meta is self-consistent enough to trust its page numbers.
pub fn validate(meta: &Meta, expected_page_size: usize) -> Result<()> {
    use crate::error::PagerError;
    if meta.page_size as usize != expected_page_size {
        return Err(PagerError::corrupted(
            meta.slot(),
            format!(
                "meta page size {} disagrees with {}",
                meta.page_size, expected_page_size
            ),
        ));
    }
    for (name, t) in [("catalog", &meta.catalog), ("free", &meta.free)] {
        if t.root != 0 && (t.root < FIRST_DATA_PAGE || t.root >= meta.npages) {
            return Err(PagerError::corrupted(
                meta.slot(),
                format!(
                    "{name} root {} outside the file's {} pages",
                    t.root, meta.npages
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Meta {
        Meta {
            page_size: 4096,
            txn_id: 42,
            npages: 99,
            catalog: TreeInfo {
                root: 5,
                entries: 3,
                depth: 1,
                flags: 0,
                branch_pages: 0,
                leaf_pages: 1,
                overflow_pages: 0,
            },
            free: TreeInfo {
                root: 7,
                entries: 2,
                depth: 1,
                flags: 0,
                branch_pages: 0,
                leaf_pages: 1,
                overflow_pages: 0,
            },
        }
    }

    #[test]
    fn meta_round_trips_and_picks_its_slot() {
        let mut page = vec![0u8; 4096];
        sample().encode(&mut page);
        assert_eq!(Meta::decode(&page), Ok(sample()));
        assert_eq!(sample().slot(), 0);
        assert!(page[META_SIZE..].iter().all(|b| *b == 0));
    }

    #[test]
    fn any_flipped_bit_fails_the_checksum() {
        let mut page = vec![0u8; 4096];
        sample().encode(&mut page);
        for byte in [
            META_TXN_ID_OFF,
            META_NPAGES_OFF + 3,
            META_CATALOG_OFF,
            META_FREE_OFF + 47,
            META_CRC_OFF,
        ] {
            let mut bad = page.clone();
            bad[byte] ^= 0x10;
            assert_eq!(
                Meta::decode(&bad),
                Err(MetaProblem::Checksum),
                "byte {byte}"
            );
        }
        let mut bad = page.clone();
        bad[0] = b'X';
        assert_eq!(Meta::decode(&bad), Err(MetaProblem::BadMagic));
    }

    #[test]
    fn another_version_is_named() {
        let mut page = vec![0u8; 4096];
        sample().encode(&mut page);
        page[META_VERSION_OFF..META_VERSION_OFF + 4].copy_from_slice(&7u32.to_le_bytes());
        let crc = crc32fast::hash(&page[..META_CRC_OFF]);
        page[META_CRC_OFF..META_CRC_OFF + 4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Meta::decode(&page), Err(MetaProblem::Version(7)));
    }

    #[test]
    fn roots_outside_the_file_are_corruption() {
        let mut m = sample();
        m.catalog.root = 500;
        assert!(validate(&m, 4096).unwrap_err().is_corruption());
        assert!(validate(&sample(), 4096).is_ok());
        assert!(validate(&sample(), 512).is_err());
    }
}
