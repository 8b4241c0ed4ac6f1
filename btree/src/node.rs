//! Reading and editing one branch or leaf page: the slot array, entry decoding with bounds
//! checks (a damaged page yields a corruption error, never a panic), search, insert, remove.

use std::cmp::Ordering;

use levin_pager::Pgno;

use crate::error::{BtreeError, Result};
use crate::layout::*;

/// Byte-wise (lexicographic) order of two keys, as `a.cmp(b)`, with the first eight bytes
/// compared as one big-endian integer: most keys (entity ids, attribute-value prefixes) differ
/// there, and a call into `memcmp` for a few bytes costs more than the comparison itself.
/// Keys shorter than eight bytes (branch separators are often two or three) are padded with
/// zeros: unequal padded prefixes are ordered as the keys are (a zero pad sorts before any
/// byte that is not zero and before nothing), and equal ones leave only the lengths or the
/// rest to compare.
#[inline(always)]
pub fn key_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let (x, y) = (prefix8(a), prefix8(b));
    if x != y {
        return x.cmp(&y);
    }
    if a.len() <= 8 || b.len() <= 8 {
        // The shorter key's bytes are all equal to the other's prefix.
        return a.len().cmp(&b.len());
    }
    a[8..].cmp(&b[8..])
}

/// The first eight bytes of `k` as a big-endian integer, zero-padded if `k` is shorter.
#[inline]
fn prefix8(k: &[u8]) -> u64 {
    if let Some(x) = k.first_chunk::<8>() {
        return u64::from_be_bytes(*x);
    }
    let mut x = 0u64;
    for (i, &c) in k.iter().enumerate() {
        x |= u64::from(c) << (56 - 8 * i);
    }
    x
}

#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize) -> usize {
    // One bounds check for both bytes; the two-byte slice always converts.
    let two: [u8; 2] = b[off..off + 2].try_into().unwrap_or([0; 2]);
    u16::from_le_bytes(two) as usize
}

#[inline]
pub(crate) fn put_u16(b: &mut [u8], off: usize, v: usize) {
    b[off..off + 2].copy_from_slice(&(v as u16).to_le_bytes());
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// A leaf entry: key, value kind and the raw value field.
#[derive(Debug, Clone, Copy)]
pub struct LeafEntry<'a> {
    /// The key.
    pub key: &'a [u8],
    /// One of the `VAL_*` kinds.
    pub kind: u8,
    /// The value field (inline bytes, overflow reference, packed list or tree descriptor).
    pub val: &'a [u8],
}

/// A branch entry: separator key (ignored for entry 0), child page, entries beneath it.
#[derive(Debug, Clone, Copy)]
pub struct BranchEntry<'a> {
    /// Separator: every key in `child` is >= it (not meaningful for entry 0).
    pub key: &'a [u8],
    /// The child page.
    pub child: Pgno,
    /// Entries (pairs, for list trees) in the child's subtree.
    pub count: u64,
}

/// A read-only view of a branch or leaf page.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// The page number, for error messages.
    pub pgno: Pgno,
    /// The page bytes.
    pub data: &'a [u8],
    /// The header's entry count and start of the entry area, read once: [`Node::new`] checked
    /// that the slots end before `upper` and `upper` lies within the page.
    nkeys: u16,
    upper: u16,
}

impl<'a> Node<'a> {
    /// Wraps a page, checking its header.
    #[inline]
    pub fn new(pgno: Pgno, data: &'a [u8]) -> Result<Node<'a>> {
        let mut node = Node {
            pgno,
            data,
            nkeys: 0,
            upper: 0,
        };
        if data.len() < PAGE_HEADER_SIZE {
            return Err(node.bad_header());
        }
        let kind = data[HDR_KIND_OFF];
        let n = u16_at(data, HDR_NKEYS_OFF);
        let upper = u16_at(data, HDR_UPPER_OFF);
        let lower = PAGE_HEADER_SIZE + n * SLOT_SIZE;
        if (kind != KIND_BRANCH && kind != KIND_LEAF) || lower > upper || upper > data.len() {
            return Err(node.bad_header());
        }
        // Both read as u16 above.
        node.nkeys = n as u16;
        node.upper = upper as u16;
        Ok(node)
    }

    /// The error for a page whose header does not describe a valid branch or leaf page
    /// (out of line: the checks above are on every page visit, the messages never are).
    #[cold]
    #[inline(never)]
    fn bad_header(&self) -> BtreeError {
        let d = self.data;
        if d.len() < PAGE_HEADER_SIZE {
            return self.corrupt(format!("page of {} bytes has no header", d.len()));
        }
        let kind = d[HDR_KIND_OFF];
        if kind != KIND_BRANCH && kind != KIND_LEAF {
            return self.corrupt(format!("expected a branch or leaf page, found kind {kind}"));
        }
        let n = u16_at(d, HDR_NKEYS_OFF);
        let upper = u16_at(d, HDR_UPPER_OFF);
        self.corrupt(format!(
            "header says {n} entries with data from byte {upper}, which does not fit"
        ))
    }

    #[cold]
    #[inline(never)]
    fn corrupt(&self, what: String) -> BtreeError {
        BtreeError::corrupted(self.pgno, what)
    }

    #[cold]
    #[inline(never)]
    fn bad_entry(&self, i: usize) -> BtreeError {
        // Re-decode slowly to say precisely what is wrong.
        let err = if self.is_leaf() {
            self.leaf_slow(i).err()
        } else {
            self.branch_slow(i).err()
        };
        err.unwrap_or_else(|| self.corrupt(format!("entry {i} is damaged")))
    }

    /// True for a leaf page.
    #[inline]
    pub fn is_leaf(&self) -> bool {
        self.data[HDR_KIND_OFF] == KIND_LEAF
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.nkeys)
    }

    /// True if the page has no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes used by slots and entries.
    #[inline]
    pub fn used(&self) -> usize {
        let n = self.len();
        n * SLOT_SIZE + (self.data.len() - usize::from(self.upper))
    }

    /// The offset of entry `i` if it lies in the entry area, checked without building an
    /// error (the hot paths below report damage through [`Node::bad_entry`]).
    #[inline(always)]
    fn offset_checked(&self, i: usize) -> Option<usize> {
        if i >= self.len() {
            return None;
        }
        let off = u16_at(self.data, PAGE_HEADER_SIZE + i * SLOT_SIZE);
        if off < usize::from(self.upper).max(PAGE_HEADER_SIZE) || off >= self.data.len() {
            return None;
        }
        Some(off)
    }

    /// The key of entry `i` of this leaf page, checking only what reading the key needs (the
    /// rest of the entry is checked when it is read).
    #[inline]
    pub fn leaf_key(&self, i: usize) -> Result<&'a [u8]> {
        match self.leaf_key_fast(i) {
            Some(k) => Ok(k),
            None => Err(self.bad_entry(i)),
        }
    }

    /// The key of leaf entry `i`, checking only what reading the key needs.
    #[inline]
    fn leaf_key_fast(&self, i: usize) -> Option<&'a [u8]> {
        self.key_fast(i, LEAF_ENTRY_HEADER)
    }

    /// The key of branch entry `i`, checking only what reading the key needs.
    #[inline]
    fn branch_key_fast(&self, i: usize) -> Option<&'a [u8]> {
        self.key_fast(i, BRANCH_ENTRY_HEADER)
    }

    /// The key of entry `i` whose header (starting with the key length) is `header` bytes.
    #[inline]
    fn key_fast(&self, i: usize, header: usize) -> Option<&'a [u8]> {
        let off = self.offset_checked(i)?;
        let d = self.data;
        let kstart = off + header;
        if kstart > d.len() {
            return None;
        }
        let klen = u16_at(d, off);
        d.get(kstart..kstart + klen)
    }

    fn entry_offset(&self, i: usize) -> Result<usize> {
        let off = u16_at(self.data, PAGE_HEADER_SIZE + i * SLOT_SIZE);
        // Entries live between `upper` and the page end; editing relies on it.
        if off < usize::from(self.upper).max(PAGE_HEADER_SIZE) || off >= self.data.len() {
            return Err(self.corrupt(format!(
                "slot {i} points to byte {off}, outside the entry area"
            )));
        }
        Ok(off)
    }

    /// Entry `i` of a leaf page.
    #[inline]
    pub fn leaf(&self, i: usize) -> Result<LeafEntry<'a>> {
        match self.leaf_fast(i) {
            Some(e) => Ok(e),
            None => Err(self.bad_entry(i)),
        }
    }

    /// Entry `i` of a leaf page, or None if it is damaged (see [`Node::leaf`] for why).
    #[inline(always)]
    fn leaf_fast(&self, i: usize) -> Option<LeafEntry<'a>> {
        let off = self.offset_checked(i)?;
        let d = self.data;
        let kstart = off + LEAF_ENTRY_HEADER;
        if kstart > d.len() {
            return None;
        }
        let klen = u16_at(d, off);
        let kind = d[off + 2];
        let vlen = u32_at(d, off + 3) as usize;
        let end = kstart + klen + vlen;
        if end > d.len() || kind > VAL_TREE {
            return None;
        }
        Some(LeafEntry {
            key: &d[kstart..kstart + klen],
            kind,
            val: &d[kstart + klen..end],
        })
    }

    fn leaf_slow(&self, i: usize) -> Result<LeafEntry<'a>> {
        let off = self.entry_offset(i)?;
        let d = self.data;
        if off + LEAF_ENTRY_HEADER > d.len() {
            return Err(self.corrupt(format!("leaf entry {i} header runs past the page end")));
        }
        let klen = u16_at(d, off);
        let kind = d[off + 2];
        let vlen = u32_at(d, off + 3) as usize;
        let kstart = off + LEAF_ENTRY_HEADER;
        let end = kstart + klen + vlen;
        if end > d.len() {
            return Err(self.corrupt(format!(
                "leaf entry {i} ({klen}-byte key, {vlen}-byte value) runs past the page end"
            )));
        }
        if kind > VAL_TREE {
            return Err(self.corrupt(format!("leaf entry {i} has unknown value kind {kind}")));
        }
        Ok(LeafEntry {
            key: &d[kstart..kstart + klen],
            kind,
            val: &d[kstart + klen..end],
        })
    }

    /// The key of entry `i` (leaf or branch).
    pub fn key(&self, i: usize) -> Result<&'a [u8]> {
        if self.is_leaf() {
            Ok(self.leaf(i)?.key)
        } else {
            Ok(self.branch(i)?.key)
        }
    }

    /// Entry `i` of a branch page.
    #[inline]
    pub fn branch(&self, i: usize) -> Result<BranchEntry<'a>> {
        let fast = (|| {
            let off = self.offset_checked(i)?;
            let d = self.data;
            let kstart = off + BRANCH_ENTRY_HEADER;
            if kstart > d.len() {
                return None;
            }
            let klen = u16_at(d, off);
            Some(BranchEntry {
                key: d.get(kstart..kstart + klen)?,
                child: u64_at(d, off + 2),
                count: u64_at(d, off + 10),
            })
        })();
        fast.ok_or_else(|| self.bad_entry(i))
    }

    fn branch_slow(&self, i: usize) -> Result<BranchEntry<'a>> {
        let off = self.entry_offset(i)?;
        let d = self.data;
        if off + BRANCH_ENTRY_HEADER > d.len() {
            return Err(self.corrupt(format!("branch entry {i} header runs past the page end")));
        }
        let klen = u16_at(d, off);
        let kstart = off + BRANCH_ENTRY_HEADER;
        if kstart + klen > d.len() {
            return Err(self.corrupt(format!("branch entry {i} key runs past the page end")));
        }
        Ok(BranchEntry {
            key: &d[kstart..kstart + klen],
            child: u64_at(d, off + 2),
            count: u64_at(d, off + 10),
        })
    }

    /// The raw bytes of entry `i` (header, key and value), for moving entries between pages.
    pub fn raw_entry(&self, i: usize) -> Result<&'a [u8]> {
        let off = self.entry_offset(i)?;
        let len = if self.is_leaf() {
            let e = self.leaf(i)?;
            LEAF_ENTRY_HEADER + e.key.len() + e.val.len()
        } else {
            BRANCH_ENTRY_HEADER + self.branch(i)?.key.len()
        };
        Ok(&self.data[off..off + len])
    }

    /// Leaf search: `Ok(i)` if entry `i` has `key`, `Err(i)` with the insertion point otherwise.
    #[inline]
    pub fn search_leaf(&self, key: &[u8]) -> Result<std::result::Result<usize, usize>> {
        self.search_leaf_in(0, self.len(), key)
    }

    /// The leaf search among entries `lo..hi` only, when `key` follows every entry before
    /// `lo` and precedes entry `hi` (if any).
    #[inline]
    fn search_leaf_in(
        &self,
        lo: usize,
        hi: usize,
        key: &[u8],
    ) -> Result<std::result::Result<usize, usize>> {
        let (mut lo, mut hi) = (lo.min(self.len()), hi.min(self.len()));
        while lo < hi {
            let mid = (lo + hi) / 2;
            let Some(k) = self.leaf_key_fast(mid) else {
                return Err(self.bad_entry(mid));
            };
            match key_cmp(k, key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Ok(mid)),
            }
        }
        Ok(Err(lo))
    }

    /// [`search_leaf`](Self::search_leaf) among entries `from..`, when `key` follows every
    /// entry before `from` and is expected near it (keys visited in ascending order): entries `from`, `from + 1`, `from + 3`, `from + 7`,
    /// ... are compared until one is not below `key`, then the last gap is searched. The
    /// probes of a near answer are neighbours in the page, where a search over the whole
    /// rest of the leaf jumps to its middle first (a cache miss per probe, a fifth of the
    /// nested pull benchmark's time); a far answer costs about twice the probes.
    #[inline]
    pub(crate) fn search_leaf_near(
        &self,
        from: usize,
        key: &[u8],
    ) -> Result<std::result::Result<usize, usize>> {
        let len = self.len();
        let mut lo = from.min(len);
        let mut step = 1;
        loop {
            // Every entry before `lo` is below `key`.
            let probe = lo + step - 1;
            if probe >= len {
                return self.search_leaf_in(lo, len, key);
            }
            let Some(k) = self.leaf_key_fast(probe) else {
                return Err(self.bad_entry(probe));
            };
            match key_cmp(k, key) {
                Ordering::Less => {
                    lo = probe + 1;
                    step *= 2;
                }
                Ordering::Equal => return Ok(Ok(probe)),
                Ordering::Greater => return self.search_leaf_in(lo, probe, key),
            }
        }
    }

    /// [`search_branch`](Self::search_branch) when the answer is known not to be before
    /// entry `from` (`key` lies past child `from`'s keys): keys visited in ascending order
    /// mostly go on to the next child, so `from` and `from + 1` are tried before a search.
    #[inline]
    pub fn search_branch_from(&self, from: usize, key: &[u8]) -> Result<usize> {
        let n = self.len();
        for j in [from, from + 1] {
            if j + 1 >= n {
                // The last entry, and the answer is not before it.
                return if j < n {
                    Ok(j)
                } else {
                    self.search_branch(key)
                };
            }
            let Some(next) = self.branch_key_fast(j + 1) else {
                return Err(self.bad_entry(j + 1));
            };
            if key_cmp(next, key) == Ordering::Greater {
                return Ok(j);
            }
        }
        self.search_branch(key)
    }

    /// Branch search: the child whose subtree may hold `key` (the last entry whose separator
    /// is <= key; entry 0's separator counts as minus infinity).
    #[inline]
    pub fn search_branch(&self, key: &[u8]) -> Result<usize> {
        let n = self.len();
        if n == 0 {
            return Err(self.corrupt("branch page with no entries".into()));
        }
        let (mut lo, mut hi) = (1usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let Some(k) = self.branch_key_fast(mid) else {
                return Err(self.bad_entry(mid));
            };
            if key_cmp(k, key) != Ordering::Greater {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo - 1)
    }
}

/// Number of values in an entry: 1 for plain values, the list length for list entries.
pub fn entry_count(pgno: Pgno, e: &LeafEntry<'_>) -> Result<u64> {
    match e.kind {
        VAL_LIST => crate::list::InlineList::count(pgno, e.val),
        VAL_TREE => Ok(crate::list::tree_info(pgno, e.val)?.entries),
        _ => Ok(1),
    }
}

/// Initialises `page` as an empty page of `kind`.
pub fn init(page: &mut [u8], kind: u8, pgno: Pgno) {
    page[..PAGE_HEADER_SIZE].fill(0);
    page[HDR_KIND_OFF] = kind;
    put_u16(page, HDR_NKEYS_OFF, 0);
    put_u16(page, HDR_UPPER_OFF, page.len());
    page[HDR_PGNO_OFF..HDR_PGNO_OFF + 4].copy_from_slice(&(pgno as u32).to_le_bytes());
}

/// Free bytes between the slot array and the entries.
pub fn free_space(page: &[u8]) -> usize {
    let n = u16_at(page, HDR_NKEYS_OFF);
    // Saturating: a damaged header must read as "full", never underflow.
    u16_at(page, HDR_UPPER_OFF).saturating_sub(PAGE_HEADER_SIZE + n * SLOT_SIZE)
}

/// Inserts raw entry bytes at slot `idx`; returns false (changing nothing) if they do not fit.
pub fn insert(page: &mut [u8], idx: usize, entry: &[u8]) -> bool {
    if free_space(page) < entry.len() + SLOT_SIZE {
        return false;
    }
    let n = u16_at(page, HDR_NKEYS_OFF);
    let upper = u16_at(page, HDR_UPPER_OFF) - entry.len();
    page[upper..upper + entry.len()].copy_from_slice(entry);
    let slot = PAGE_HEADER_SIZE + idx * SLOT_SIZE;
    let slots_end = PAGE_HEADER_SIZE + n * SLOT_SIZE;
    page.copy_within(slot..slots_end, slot + SLOT_SIZE);
    put_u16(page, slot, upper);
    put_u16(page, HDR_NKEYS_OFF, n + 1);
    put_u16(page, HDR_UPPER_OFF, upper);
    true
}

/// Appends a leaf entry built in place (no intermediate buffer) after the last slot;
/// returns false, changing nothing, if it does not fit.
pub fn push_leaf(page: &mut [u8], key: &[u8], kind: u8, val: &[u8]) -> bool {
    let n = u16_at(page, HDR_NKEYS_OFF);
    insert_leaf(page, n, key, kind, val)
}

/// Inserts a leaf entry built in place (no intermediate buffer) at slot `idx`; returns
/// false, changing nothing, if it does not fit.
pub fn insert_leaf(page: &mut [u8], idx: usize, key: &[u8], kind: u8, val: &[u8]) -> bool {
    let len = LEAF_ENTRY_HEADER + key.len() + val.len();
    if free_space(page) < len + SLOT_SIZE {
        return false;
    }
    let n = u16_at(page, HDR_NKEYS_OFF);
    let upper = u16_at(page, HDR_UPPER_OFF) - len;
    let e = &mut page[upper..upper + len];
    e[..2].copy_from_slice(&(key.len() as u16).to_le_bytes());
    e[2] = kind;
    e[3..7].copy_from_slice(&(val.len() as u32).to_le_bytes());
    e[LEAF_ENTRY_HEADER..LEAF_ENTRY_HEADER + key.len()].copy_from_slice(key);
    e[LEAF_ENTRY_HEADER + key.len()..].copy_from_slice(val);
    let slot = PAGE_HEADER_SIZE + idx * SLOT_SIZE;
    let slots_end = PAGE_HEADER_SIZE + n * SLOT_SIZE;
    page.copy_within(slot..slots_end, slot + SLOT_SIZE);
    put_u16(page, slot, upper);
    put_u16(page, HDR_NKEYS_OFF, n + 1);
    put_u16(page, HDR_UPPER_OFF, upper);
    true
}

/// Appends raw entry bytes after the last slot; returns false if they do not fit.
pub fn push(page: &mut [u8], entry: &[u8]) -> bool {
    let n = u16_at(page, HDR_NKEYS_OFF);
    insert(page, n, entry)
}

/// Removes the entry at slot `idx` (which must be a valid, checked entry of `len` bytes),
/// keeping the entry area packed.
pub fn remove(page: &mut [u8], idx: usize, len: usize) {
    let n = u16_at(page, HDR_NKEYS_OFF);
    let upper = u16_at(page, HDR_UPPER_OFF);
    let slot = PAGE_HEADER_SIZE + idx * SLOT_SIZE;
    let off = u16_at(page, slot);
    // Close the gap: move the entries below `off` up by `len`.
    page.copy_within(upper..off, upper + len);
    for s in 0..n {
        let so = PAGE_HEADER_SIZE + s * SLOT_SIZE;
        let o = u16_at(page, so);
        if o < off {
            put_u16(page, so, o + len);
        }
    }
    let slots_end = PAGE_HEADER_SIZE + n * SLOT_SIZE;
    page.copy_within(slot + SLOT_SIZE..slots_end, slot);
    put_u16(page, HDR_NKEYS_OFF, n - 1);
    put_u16(page, HDR_UPPER_OFF, upper + len);
}

/// Byte offset of entry `idx` (the slot must be valid).
pub fn offset(page: &[u8], idx: usize) -> usize {
    u16_at(page, PAGE_HEADER_SIZE + idx * SLOT_SIZE)
}

/// Sets the child and count of branch entry `idx` of page `pgno` in place. A slot or entry
/// outside the page (a damaged page met on the write path) is a corruption error, not a
/// panic.
pub fn set_branch(page: &mut [u8], pgno: Pgno, idx: usize, child: Pgno, count: u64) -> Result<()> {
    let slot = PAGE_HEADER_SIZE + idx * SLOT_SIZE;
    if slot + SLOT_SIZE > page.len() {
        return Err(BtreeError::corrupted(
            pgno,
            format!("branch slot {idx} past the page end"),
        ));
    }
    let off = offset(page, idx);
    if off < PAGE_HEADER_SIZE || off + 18 > page.len() {
        return Err(BtreeError::corrupted(
            pgno,
            format!("branch entry {idx} runs past the page end"),
        ));
    }
    page[off + 2..off + 10].copy_from_slice(&child.to_le_bytes());
    page[off + 10..off + 18].copy_from_slice(&count.to_le_bytes());
    Ok(())
}

/// Builds a leaf entry.
pub fn leaf_entry(key: &[u8], kind: u8, val: &[u8]) -> Vec<u8> {
    let mut e = Vec::with_capacity(LEAF_ENTRY_HEADER + key.len() + val.len());
    e.extend_from_slice(&(key.len() as u16).to_le_bytes());
    e.push(kind);
    e.extend_from_slice(&(val.len() as u32).to_le_bytes());
    e.extend_from_slice(key);
    e.extend_from_slice(val);
    e
}

/// Builds a branch entry.
pub fn branch_entry(key: &[u8], child: Pgno, count: u64) -> Vec<u8> {
    let mut e = Vec::with_capacity(BRANCH_ENTRY_HEADER + key.len());
    e.extend_from_slice(&(key.len() as u16).to_le_bytes());
    e.extend_from_slice(&child.to_le_bytes());
    e.extend_from_slice(&count.to_le_bytes());
    e.extend_from_slice(key);
    e
}

/// Replaces the key of a raw branch entry (used when entry 0 of a page moves elsewhere).
pub fn branch_entry_with_key(raw: &[u8], key: &[u8]) -> Vec<u8> {
    branch_entry(key, u64_at(raw, 2), u64_at(raw, 10))
}

/// Computes and stores the checksum of a page run (the checksum field counts as zero).
pub fn seal(run: &mut [u8]) {
    run[HDR_CHECKSUM_OFF..HDR_CHECKSUM_OFF + 4].fill(0);
    let crc = crc32fast::hash(run);
    run[HDR_CHECKSUM_OFF..HDR_CHECKSUM_OFF + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Verifies the checksum of a page run written by [`seal`].
pub fn checksum_ok(run: &[u8]) -> bool {
    let stored = u32_at(run, HDR_CHECKSUM_OFF);
    let mut h = crc32fast::Hasher::new();
    h.update(&run[..HDR_CHECKSUM_OFF]);
    h.update(&[0u8; 4]);
    h.update(&run[HDR_CHECKSUM_OFF + 4..]);
    h.finalize() == stored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_page(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut p = vec![0u8; 512];
        init(&mut p, KIND_LEAF, 7);
        for (k, v) in entries {
            assert!(push(&mut p, &leaf_entry(k, VAL_INLINE, v)));
        }
        p
    }

    #[test]
    fn insert_keeps_slots_sorted_and_entries_packed() {
        let mut p = leaf_page(&[(b"a", b"1"), (b"c", b"3")]);
        assert!(insert(&mut p, 1, &leaf_entry(b"b", VAL_INLINE, b"2")));
        let n = Node::new(7, &p).unwrap();
        let keys: Vec<&[u8]> = (0..n.len()).map(|i| n.leaf(i).unwrap().key).collect();
        assert_eq!(keys, vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(
            n.used() + free_space(&p) + PAGE_HEADER_SIZE,
            512,
            "used + free + header = page"
        );
        assert_eq!(n.search_leaf(b"b").unwrap(), Ok(1));
        assert_eq!(n.search_leaf(b"bb").unwrap(), Err(2));
        assert_eq!(n.search_leaf(b"").unwrap(), Err(0));
    }

    #[test]
    fn the_near_search_answers_as_the_whole_leaf_search() {
        // Keys 10, 20, ..., 200: every probe key, from every start the key follows.
        let keys: Vec<[u8; 1]> = (1..=20u8).map(|i| [i * 10]).collect();
        let mut p = vec![0u8; 1024];
        init(&mut p, KIND_LEAF, 7);
        for k in &keys {
            assert!(push(&mut p, &leaf_entry(k, VAL_INLINE, b"v")));
        }
        let n = Node::new(7, &p).unwrap();
        for probe in 0..=210u8 {
            let key = [probe];
            let whole = n.search_leaf(&key).unwrap();
            let (Ok(at) | Err(at)) = whole;
            for from in 0..=at {
                assert_eq!(
                    n.search_leaf_near(from, &key).unwrap(),
                    whole,
                    "{probe} from {from}"
                );
            }
        }
        assert_eq!(
            n.search_leaf_near(25, &[255]).unwrap(),
            Err(20),
            "from past the end"
        );
    }

    #[test]
    fn in_place_leaf_inserts_equal_built_entries() {
        let mut a = leaf_page(&[(b"a", b"1"), (b"c", b"3")]);
        let mut b = a.clone();
        assert!(insert(&mut a, 1, &leaf_entry(b"b", VAL_INLINE, b"22")));
        assert!(insert_leaf(&mut b, 1, b"b", VAL_INLINE, b"22"));
        assert_eq!(a, b);
        assert!(push(&mut a, &leaf_entry(b"d", VAL_INLINE, b"4")));
        assert!(push_leaf(&mut b, b"d", VAL_INLINE, b"4"));
        assert_eq!(a, b);
        let big = vec![0u8; 600];
        let copy = b.clone();
        assert!(!insert_leaf(&mut b, 0, b"0", VAL_INLINE, &big));
        assert_eq!(b, copy, "a refused insert changes nothing");
    }

    #[test]
    fn remove_closes_the_gap() {
        let mut p = leaf_page(&[(b"a", b"11"), (b"b", b"2222"), (b"c", b"3")]);
        let before = free_space(&p);
        let len = Node::new(7, &p).unwrap().raw_entry(1).unwrap().len();
        remove(&mut p, 1, len);
        assert_eq!(free_space(&p), before + len + SLOT_SIZE);
        let n = Node::new(7, &p).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n.leaf(0).unwrap().val, b"11");
        assert_eq!(n.leaf(1).unwrap().key, b"c");
        assert_eq!(n.leaf(1).unwrap().val, b"3");
    }

    #[test]
    fn insert_refuses_what_does_not_fit() {
        let mut p = leaf_page(&[]);
        let big = vec![9u8; 200];
        assert!(insert(&mut p, 0, &leaf_entry(b"a", VAL_INLINE, &big)));
        assert!(insert(&mut p, 1, &leaf_entry(b"b", VAL_INLINE, &big)));
        let copy = p.clone();
        assert!(!insert(&mut p, 2, &leaf_entry(b"c", VAL_INLINE, &big)));
        assert_eq!(p, copy, "a refused insert changes nothing");
    }

    #[test]
    fn branch_search_treats_entry_zero_as_minus_infinity() {
        let mut p = vec![0u8; 512];
        init(&mut p, KIND_BRANCH, 3);
        assert!(push(&mut p, &branch_entry(b"zzz", 10, 5)));
        assert!(push(&mut p, &branch_entry(b"m", 11, 6)));
        let n = Node::new(3, &p).unwrap();
        assert_eq!(n.search_branch(b"a").unwrap(), 0);
        assert_eq!(n.search_branch(b"m").unwrap(), 1);
        assert_eq!(n.search_branch(b"z").unwrap(), 1);
        set_branch(&mut p, 0, 1, 12, 7).unwrap();
        let n = Node::new(3, &p).unwrap();
        let e = n.branch(1).unwrap();
        assert_eq!((e.child, e.count), (12, 7));
    }

    #[test]
    fn damaged_pages_are_errors_not_panics() {
        let p = leaf_page(&[(b"a", b"1")]);
        // Unknown kind.
        let mut bad = p.clone();
        bad[HDR_KIND_OFF] = 9;
        assert!(Node::new(1, &bad).unwrap_err().is_corruption());
        // More slots than fit below `upper`.
        let mut bad = p.clone();
        bad[HDR_NKEYS_OFF..HDR_NKEYS_OFF + 2].copy_from_slice(&300u16.to_le_bytes());
        assert!(Node::new(1, &bad).is_err());
        // A slot pointing past the page.
        let mut bad = p.clone();
        bad[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + 2].copy_from_slice(&600u16.to_le_bytes());
        assert!(Node::new(1, &bad).unwrap().leaf(0).is_err());
        // An entry whose value length runs off the page.
        let mut bad = p.clone();
        let off = offset(&bad, 0);
        bad[off + 3..off + 7].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(Node::new(1, &bad).unwrap().leaf(0).is_err());
        // An unknown value kind.
        let mut bad = p;
        bad[off + 2] = 7;
        assert!(Node::new(1, &bad).unwrap().leaf(0).is_err());
    }

    #[test]
    fn seal_and_verify_checksums() {
        let mut p = leaf_page(&[(b"k", b"v")]);
        seal(&mut p);
        assert!(checksum_ok(&p));
        p[300] ^= 1;
        assert!(!checksum_ok(&p));
    }
}

#[cfg(test)]
mod key_cmp_tests {
    use super::key_cmp;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_cmp_is_byte_order(a in proptest::collection::vec(0u8..4, 0..26),
                                 b in proptest::collection::vec(0u8..4, 0..26)) {
            prop_assert_eq!(key_cmp(&a, &b), a.cmp(&b));
        }

        /// Keys sharing a prefix of any length (an attribute id, a tag), then differing in
        /// bytes of any value.
        #[test]
        fn key_cmp_after_a_shared_prefix(
            prefix in proptest::collection::vec(any::<u8>(), 0..18),
            a in proptest::collection::vec(prop_oneof![Just(0u8), Just(0x80u8), any::<u8>()], 0..12),
            b in proptest::collection::vec(prop_oneof![Just(0u8), Just(0x80u8), any::<u8>()], 0..12),
        ) {
            let (mut x, mut y) = (prefix.clone(), prefix);
            x.extend_from_slice(&a);
            y.extend_from_slice(&b);
            prop_assert_eq!(key_cmp(&x, &y), x.cmp(&y));
            prop_assert_eq!(key_cmp(&y, &x), y.cmp(&x));
        }

        /// Short keys against keys that extend them with zeros (the padding) or other bytes.
        #[test]
        fn key_cmp_pads_short_keys(a in proptest::collection::vec(0u8..3, 0..9),
                                   tail in proptest::collection::vec(0u8..2, 0..10)) {
            let mut b = a.clone();
            b.extend_from_slice(&tail);
            prop_assert_eq!(key_cmp(&a, &b), a.cmp(&b));
            prop_assert_eq!(key_cmp(&b, &a), b.cmp(&a));
        }
    }
}
