//! On-disk constants of the pager's part of the format: magic, version, meta page layout.
//! docs/FORMAT.md documents each; a test keeps the two in step.

/// The first 8 bytes of every meta page.
pub const MAGIC: [u8; 8] = *b"LEVIN\0DB";
/// The on-disk format version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads: version 1 metas carry no written-pages
/// record and are read as version 2 metas without one.
pub const OLDEST_READABLE_VERSION: u32 = 1;
/// Smallest supported page size.
pub const MIN_PAGE_SIZE: usize = 512;
/// Largest supported page size (page offsets are u16).
pub const MAX_PAGE_SIZE: usize = 32768;
/// Default page size for new files.
pub const DEFAULT_PAGE_SIZE: usize = 4096;
/// Pages 0 and 1 are the meta pages; data pages start here.
pub const FIRST_DATA_PAGE: u64 = 2;

/// Size of a serialised tree descriptor.
pub const TREE_INFO_SIZE: usize = 48;
/// Tree flag: the tree is a list (sorted-duplicate) database.
pub const TREE_FLAG_LIST: u32 = 1;

/// Meta page: magic bytes.
pub const META_MAGIC_OFF: usize = 0;
/// Meta page: format version (u32).
pub const META_VERSION_OFF: usize = 8;
/// Meta page: page size (u32).
pub const META_PAGE_SIZE_OFF: usize = 12;
/// Meta page: transaction id (u64).
pub const META_TXN_ID_OFF: usize = 16;
/// Meta page: pages in use, the allocation high-water mark (u64).
pub const META_NPAGES_OFF: usize = 24;
/// Meta page: catalog tree descriptor (48 bytes).
pub const META_CATALOG_OFF: usize = 32;
/// Meta page: free tree descriptor (48 bytes).
pub const META_FREE_OFF: usize = 80;
/// Meta page: CRC32 (u32) of bytes `0..META_CRC_OFF`, then (version 2) of the written-pages
/// record from `META_RUN_COUNT_OFF` to the end of its run list.
pub const META_CRC_OFF: usize = 128;
/// Meta page: bytes of the fixed part, CRC included (all of a version 1 meta).
pub const META_SIZE: usize = 132;
/// Meta page (version 2): runs in the written-pages record (u32); 0 when the commit synced
/// its pages before writing the meta.
pub const META_RUN_COUNT_OFF: usize = 132;
/// Meta page (version 2): XXH3-128 digest of the recorded pages' bytes (u128).
pub const META_DIGEST_OFF: usize = 136;
/// Meta page (version 2): the record's runs, `META_RUN_SIZE` bytes each.
pub const META_RUNS_OFF: usize = 152;
/// One run of the written-pages record: first page (u64), then page count (u32).
pub const META_RUN_SIZE: usize = 12;
/// Most runs a written-pages record holds (fewer when the page is too small for these).
pub const MAX_RECORD_RUNS: usize = 64;
/// Most bytes of pages a written-pages record covers: what recovery reads to verify it.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
