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
    /// A single-sync commit whose pages did not all land: a crash came before its sync
    /// returned, after its meta page reached the disk.
    NotLanded,
}

impl Meta {
    /// Serialises into a page-sized buffer: the fixed part, then the written-pages record
    /// (`written`, or an empty one), sealed by the CRC; the rest of the page is zero.
    /// `written` must come from a [`WrittenPagesBuilder`] for this page size, so it fits.
    pub fn encode(&self, page: &mut [u8], written: Option<&WrittenPages>) {
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
        let runs: &[(Pgno, u32)] = written.map_or(&[], |w| &w.runs);
        page[META_RUN_COUNT_OFF..META_RUN_COUNT_OFF + 4]
            .copy_from_slice(&(runs.len() as u32).to_le_bytes());
        if let Some(w) = written {
            page[META_DIGEST_OFF..META_DIGEST_OFF + 16].copy_from_slice(&w.digest.to_le_bytes());
        }
        for (i, &(first, count)) in runs.iter().enumerate() {
            let at = META_RUNS_OFF + i * META_RUN_SIZE;
            page[at..at + 8].copy_from_slice(&first.to_le_bytes());
            page[at + 8..at + 12].copy_from_slice(&count.to_le_bytes());
        }
        let crc = v2_crc(page, runs.len());
        page[META_CRC_OFF..META_CRC_OFF + 4].copy_from_slice(&crc.to_le_bytes());
    }

    /// Parses and verifies a meta page (version 1 or 2), returning the meta and its
    /// written-pages record, if it has one. `page` may be longer than the meta's page (the
    /// first slot is read before its page size is known); a record that would not fit in
    /// the meta's own page size is damage. The record is only decoded here: whether its
    /// pages landed is for the pager to check (`Pager::open`, `Pager::read_meta`).
    pub fn decode(page: &[u8]) -> std::result::Result<(Meta, Option<WrittenPages>), MetaProblem> {
        if page.len() < META_SIZE || page[META_MAGIC_OFF..META_MAGIC_OFF + 8] != MAGIC {
            return Err(MetaProblem::BadMagic);
        }
        let stored = u32_at(page, META_CRC_OFF);
        let v1_crc_ok = crc32fast::hash(&page[..META_CRC_OFF]) == stored;
        // A version 2 meta's run count is trusted only once the CRC over it matches.
        let runs = (page.len() >= META_RUNS_OFF)
            .then(|| u32_at(page, META_RUN_COUNT_OFF) as usize)
            .filter(|&n| n <= MAX_RECORD_RUNS && META_RUNS_OFF + n * META_RUN_SIZE <= page.len());
        let v2_crc_ok = runs.is_some_and(|n| v2_crc(page, n) == stored);
        let version = u32_at(page, META_VERSION_OFF);
        let known = (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version);
        let written = match version {
            // Version 1 is the fixed part alone.
            OLDEST_READABLE_VERSION if v1_crc_ok => None,
            FORMAT_VERSION if v2_crc_ok => {
                let n = runs.unwrap_or(0);
                // The record must fit in the meta's own page, not just in the bytes read.
                let page_size = u32_at(page, META_PAGE_SIZE_OFF) as usize;
                if n > max_record_runs(page_size) {
                    return Err(MetaProblem::Checksum);
                }
                (n > 0).then(|| WrittenPages {
                    runs: (0..n)
                        .map(|i| {
                            let at = META_RUNS_OFF + i * META_RUN_SIZE;
                            (u64_at(page, at), u32_at(page, at + 8))
                        })
                        .collect(),
                    digest: u128_at(page, META_DIGEST_OFF),
                })
            }
            _ if known || !(v1_crc_ok || v2_crc_ok) => return Err(MetaProblem::Checksum),
            _ => return Err(MetaProblem::Version(version)),
        };
        let tree =
            |off: usize| TreeInfo::decode(&page[off..off + TREE_INFO_SIZE]).unwrap_or_default();
        let meta = Meta {
            page_size: u32_at(page, META_PAGE_SIZE_OFF),
            txn_id: u64_at(page, META_TXN_ID_OFF),
            npages: u64_at(page, META_NPAGES_OFF),
            catalog: tree(META_CATALOG_OFF),
            free: tree(META_FREE_OFF),
        };
        Ok((meta, written))
    }

    /// The meta slot (0 or 1) this meta is written to: transactions alternate slots.
    pub fn slot(&self) -> Pgno {
        self.txn_id % 2
    }
}

/// The CRC of a version 2 meta page with `runs` runs in its record: bytes
/// `0..META_CRC_OFF`, then `META_RUN_COUNT_OFF` to the end of the run list.
fn v2_crc(page: &[u8], runs: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&page[..META_CRC_OFF]);
    h.update(&page[META_RUN_COUNT_OFF..META_RUNS_OFF + runs * META_RUN_SIZE]);
    h.finalize()
}

/// The pages a commit wrote without syncing them before its meta page (a single-sync
/// commit), and their digest. Recovery accepts such a meta only if these pages hold the
/// bytes the commit wrote: a crash may have kept the meta and lost some of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WrittenPages {
    /// Runs of consecutive pages, `(first page, page count)`, in the order written.
    pub runs: Vec<(Pgno, u32)>,
    /// XXH3-128 (seed 0) of the runs' bytes, run after run.
    pub digest: u128,
}

impl WrittenPages {
    /// Pages in all runs.
    pub fn pages(&self) -> u64 {
        self.runs.iter().map(|&(_, n)| u64::from(n)).sum()
    }
}

/// Most runs a written-pages record can hold in a meta page of `page_size` bytes.
pub fn max_record_runs(page_size: usize) -> usize {
    (page_size.saturating_sub(META_RUNS_OFF) / META_RUN_SIZE).min(MAX_RECORD_RUNS)
}

/// Collects the record of a flush's writes, page run by page run, and gives up once they
/// no longer fit in one (too many runs or bytes): the commit then syncs its pages before
/// writing its meta, as in version 1.
#[derive(Default)]
pub struct WrittenPagesBuilder {
    runs: Vec<(Pgno, u32)>,
    hasher: xxhash_rust::xxh3::Xxh3Default,
    bytes: usize,
    page_size: usize,
    max_runs: usize,
    gave_up: bool,
}

impl WrittenPagesBuilder {
    /// An empty record for pages of `page_size` bytes.
    pub fn new(page_size: usize) -> Self {
        WrittenPagesBuilder {
            page_size,
            max_runs: max_record_runs(page_size),
            ..WrittenPagesBuilder::default()
        }
    }

    /// Adds the write of `bytes` (whole pages) at page `first`. A write that continues the
    /// previous one extends its run.
    pub fn add(&mut self, first: Pgno, bytes: &[u8]) {
        if self.gave_up {
            return;
        }
        let count = bytes.len() / self.page_size;
        self.bytes += bytes.len();
        if self.bytes > MAX_RECORD_BYTES {
            self.gave_up = true;
            return;
        }
        let full = self.runs.len() == self.max_runs;
        match self.runs.last_mut() {
            Some((p, n)) if *p + u64::from(*n) == first => *n += count as u32,
            _ if full => {
                self.gave_up = true;
                return;
            }
            _ => self.runs.push((first, count as u32)),
        }
        self.hasher.update(bytes);
    }

    /// The record, or `None` if the writes did not fit in one (or there were none).
    pub fn finish(self) -> Option<WrittenPages> {
        (!self.gave_up && !self.runs.is_empty()).then(|| WrittenPages {
            runs: self.runs,
            digest: self.hasher.digest128(),
        })
    }
}

impl std::fmt::Debug for WrittenPagesBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrittenPagesBuilder")
            .field("runs", &self.runs)
            .field("bytes", &self.bytes)
            .field("gave_up", &self.gave_up)
            .finish()
    }
}

/// Reads a little-endian u128 at `off` (the caller guarantees `off + 16 <= b.len()`).
fn u128_at(b: &[u8], off: usize) -> u128 {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[off..off + 16]);
    u128::from_le_bytes(a)
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
        sample().encode(&mut page, None);
        assert_eq!(Meta::decode(&page), Ok((sample(), None)));
        assert_eq!(sample().slot(), 0);
        assert!(page[META_SIZE..].iter().all(|b| *b == 0));
    }

    #[test]
    fn any_flipped_bit_fails_the_checksum() {
        let mut page = vec![0u8; 4096];
        let written = WrittenPages {
            runs: vec![(9, 2), (40, 1)],
            digest: 77,
        };
        sample().encode(&mut page, Some(&written));
        assert_eq!(Meta::decode(&page), Ok((sample(), Some(written))));
        for byte in [
            META_TXN_ID_OFF,
            META_NPAGES_OFF + 3,
            META_CATALOG_OFF,
            META_FREE_OFF + 47,
            META_CRC_OFF,
            META_RUN_COUNT_OFF,
            META_DIGEST_OFF + 15,
            META_RUNS_OFF + 2 * META_RUN_SIZE - 1,
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
        sample().encode(&mut page, None);
        page[META_VERSION_OFF..META_VERSION_OFF + 4].copy_from_slice(&7u32.to_le_bytes());
        let crc = crc32fast::hash(&page[..META_CRC_OFF]);
        page[META_CRC_OFF..META_CRC_OFF + 4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Meta::decode(&page), Err(MetaProblem::Version(7)));
    }

    /// A run count too large for the page, or past `MAX_RECORD_RUNS`, is damage even if a
    /// CRC over the bytes it claims would match: decoding never reads past the page.
    #[test]
    fn a_run_count_past_the_page_is_damage() {
        let mut page = vec![0u8; 512];
        sample().encode(&mut page, None);
        for n in [30u32, 31, 1000, u32::MAX] {
            let mut bad = page.clone();
            bad[META_RUN_COUNT_OFF..META_RUN_COUNT_OFF + 4].copy_from_slice(&n.to_le_bytes());
            let fits = (n as usize) <= max_record_runs(512);
            if !fits {
                assert_eq!(Meta::decode(&bad), Err(MetaProblem::Checksum), "{n} runs");
            }
        }
        assert_eq!(max_record_runs(512), 30);
        assert_eq!(max_record_runs(4096), MAX_RECORD_RUNS);
    }

    /// The builder merges a write that continues the last run, and gives up past the run
    /// or byte limit (so the commit falls back to syncing before its meta).
    #[test]
    fn the_builder_merges_runs_and_gives_up_past_its_limits() {
        let page = [5u8; 512];
        let mut b = WrittenPagesBuilder::new(512);
        b.add(10, &page);
        b.add(11, &page);
        b.add(20, &page);
        let w = b.finish().expect("fits");
        assert_eq!(w.runs, vec![(10, 2), (20, 1)]);
        let mut h = xxhash_rust::xxh3::Xxh3Default::new();
        for _ in 0..3 {
            h.update(&page);
        }
        assert_eq!(w.digest, h.digest128());

        let mut b = WrittenPagesBuilder::new(512);
        for i in 0..=max_record_runs(512) as u64 {
            b.add(10 + 2 * i, &page);
        }
        assert_eq!(b.finish(), None, "one run too many");

        let big = vec![0u8; MAX_RECORD_BYTES + 512];
        let mut b = WrittenPagesBuilder::new(512);
        b.add(10, &big);
        assert_eq!(b.finish(), None, "too many bytes");
        assert_eq!(
            WrittenPagesBuilder::new(512).finish(),
            None,
            "nothing written"
        );
    }

    #[test]
    fn roots_outside_the_file_are_corruption() {
        let mut m = sample();
        m.catalog.root = 500;
        assert!(validate(&m, 4096).unwrap_err().is_corruption());
        assert!(validate(&sample(), 4096).is_ok());
        assert!(validate(&sample(), 512).is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn record(page_size: usize) -> impl Strategy<Value = Option<WrittenPages>> {
            let runs = prop::collection::vec(
                (2u64..u64::MAX / 2, 1u32..u32::MAX),
                1..=max_record_runs(page_size),
            );
            prop::option::of(
                (runs, any::<u128>()).prop_map(|(runs, digest)| WrittenPages { runs, digest }),
            )
        }

        proptest! {
            /// Any bytes decode to a meta or a problem, never a panic.
            #[test]
            fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
                let _ = Meta::decode(&bytes);
                let mut with_magic = bytes.clone();
                if with_magic.len() >= 8 {
                    with_magic[..8].copy_from_slice(&MAGIC);
                    let _ = Meta::decode(&with_magic);
                }
            }

            /// Encoding then decoding gives back the meta and its record, and flipping any
            /// bit the CRC covers makes the page invalid.
            #[test]
            fn round_trips_and_detects_any_flipped_bit(
                shift in 9u32..=12,
                txn_id in any::<u64>(),
                npages in any::<u64>(),
                seed in any::<u64>(),
                flip in any::<prop::sample::Index>(),
                bit in 0u8..8,
                written in record(512),
            ) {
                let page_size = 1usize << shift;
                let meta = Meta {
                    page_size: page_size as u32,
                    txn_id,
                    npages,
                    catalog: TreeInfo { root: seed, entries: seed ^ 1, ..TreeInfo::default() },
                    free: TreeInfo { root: seed.rotate_left(7), ..TreeInfo::default() },
                };
                let mut page = vec![0u8; page_size];
                meta.encode(&mut page, written.as_ref());
                prop_assert_eq!(Meta::decode(&page), Ok((meta, written.clone())));
                let covered = META_RUNS_OFF + written.as_ref().map_or(0, |w| w.runs.len()) * META_RUN_SIZE;
                let at = flip.index(covered);
                page[at] ^= 1 << bit;
                prop_assert!(Meta::decode(&page).is_err(), "byte {} bit {}", at, bit);
            }
        }
    }
}
