//! On-disk constants of the pager's part of the format: magic, version, meta page layout.
//! docs/FORMAT.md documents each; a test keeps the two in step.

/// The first 8 bytes of every meta page.
pub const MAGIC: [u8; 8] = *b"LEVIN\0DB";
/// The on-disk format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
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
/// Meta page: CRC32 of bytes `0..META_CRC_OFF` (u32).
pub const META_CRC_OFF: usize = 128;
/// Meta page: bytes used; the rest of the page is zero.
pub const META_SIZE: usize = 132;
