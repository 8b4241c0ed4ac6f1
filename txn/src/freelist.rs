//! Free-list records: keys (freeing transaction, writing transaction, chunk) and values
//! (packed little-endian page numbers), stored in the free tree.

use levin_btree::layout::{Limits, LEAF_ENTRY_HEADER};
use levin_pager::Pgno;

/// Bytes of a free-list key.
pub const FREE_KEY_SIZE: usize = 18;

/// Key of a free-list record. Records sort by the transaction that freed the pages, so the
/// oldest (the first to become reusable) come first. `freed_by` 0 marks pages that were
/// already reusable when written (the unused part of a transaction's pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FreeKey {
    /// The transaction that freed the pages (0: reusable at once).
    pub freed_by: u64,
    /// The transaction that wrote the record (makes keys unique).
    pub writer: u64,
    /// Chunk number within that transaction's record.
    pub chunk: u16,
}

impl FreeKey {
    /// Big-endian bytes, so byte order is numeric order.
    pub fn encode(&self) -> [u8; FREE_KEY_SIZE] {
        let mut k = [0u8; FREE_KEY_SIZE];
        k[..8].copy_from_slice(&self.freed_by.to_be_bytes());
        k[8..16].copy_from_slice(&self.writer.to_be_bytes());
        k[16..].copy_from_slice(&self.chunk.to_be_bytes());
        k
    }

    /// Parses a key; None if it has the wrong length.
    pub fn decode(b: &[u8]) -> Option<FreeKey> {
        if b.len() != FREE_KEY_SIZE {
            return None;
        }
        Some(FreeKey {
            freed_by: u64::from_be_bytes(b[..8].try_into().ok()?),
            writer: u64::from_be_bytes(b[8..16].try_into().ok()?),
            chunk: u16::from_be_bytes(b[16..].try_into().ok()?),
        })
    }
}

/// How many page numbers fit in one record (so records always stay inline in a leaf).
pub fn pages_per_chunk(limits: &Limits) -> usize {
    (limits.max_entry - LEAF_ENTRY_HEADER - FREE_KEY_SIZE) / 8
}

/// Packs page numbers.
pub fn encode_pages(pages: &[Pgno]) -> Vec<u8> {
    let mut v = Vec::with_capacity(pages.len() * 8);
    for p in pages {
        v.extend_from_slice(&p.to_le_bytes());
    }
    v
}

/// Unpacks page numbers; None if the length is not a multiple of 8 or the record is empty.
pub fn decode_pages(b: &[u8]) -> Option<Vec<Pgno>> {
    if b.is_empty() || !b.len().is_multiple_of(8) {
        return None;
    }
    Some(
        b.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
    )
}
