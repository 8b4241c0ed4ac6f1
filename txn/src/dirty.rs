//! The write transaction's dirty pages by page number: which pages have an in-memory copy
//! and where its bytes are (an arena slot, or a heap buffer for overflow runs).
//!
//! Reason: a write looks up every page of its descent here several times (read, touch,
//! edit), and a delete-heavy transaction holds a hundred thousand dirty pages. A hash map
//! of `(page, location)` pairs then spans megabytes, and each lookup of a cold page missed
//! the cache twice (control bytes, then the pair). This table is indexed by page number
//! directly: one four-byte load per lookup, a table of a megabyte per 256k pages of file,
//! and a flush walks it in page order without sorting.

use levin_pager::Pgno;

use crate::arena::Slot;
use crate::pgno_hash::PgnoMap;

/// Page numbers per chunk of the table (a chunk is four bytes each: 4 KiB).
const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Table entry: no dirty copy.
const ABSENT: u32 = 0;
/// Table entry: the copy is a heap buffer, in `DirtyPages::heap`. Every other entry is a
/// slot index plus one (slot indexes stay far below this: 2^32 slots would be 16 TiB).
const HEAP: u32 = u32::MAX;

/// A dirty page (or overflow run): a slot of the transaction's arena, or (overflow runs,
/// and single pages when the arena could not get memory) a heap buffer.
#[derive(Debug)]
pub(crate) enum Dirty {
    Slot(Slot),
    Heap(Vec<u8>),
}

/// Where the bytes of a dirty page are, for reading.
pub(crate) enum Loc<'a> {
    Slot(Slot),
    Heap(&'a [u8]),
}

/// Where the bytes of a dirty page are, for writing.
pub(crate) enum LocMut<'a> {
    Slot(Slot),
    Heap(&'a mut [u8]),
}

/// Dirty pages by page number. A two-level table: `top[pgno >> CHUNK_BITS]` names the
/// chunk that holds the entry of `pgno` (plus one; zero for none), so memory follows the
/// page numbers touched, not the file size.
#[derive(Debug, Default)]
pub(crate) struct DirtyPages {
    top: Vec<u32>,
    chunks: Vec<Box<[u32; CHUNK]>>,
    heap: PgnoMap<Vec<u8>>,
    len: usize,
}

impl DirtyPages {
    /// Number of dirty pages and runs.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn entry(&self, pgno: Pgno) -> u32 {
        let c = (pgno >> CHUNK_BITS) as usize;
        match self.top.get(c) {
            Some(&ci) if ci != 0 => self.chunks[ci as usize - 1][pgno as usize & (CHUNK - 1)],
            _ => ABSENT,
        }
    }

    /// The entry of `pgno`, creating its chunk if needed.
    fn entry_mut(&mut self, pgno: Pgno) -> &mut u32 {
        let c = (pgno >> CHUNK_BITS) as usize;
        if c >= self.top.len() {
            self.top.resize(c + 1, 0);
        }
        if self.top[c] == 0 {
            self.chunks.push(Box::new([ABSENT; CHUNK]));
            self.top[c] = self.chunks.len() as u32;
        }
        let ci = self.top[c] as usize - 1;
        &mut self.chunks[ci][pgno as usize & (CHUNK - 1)]
    }

    #[inline(always)]
    pub fn contains(&self, pgno: Pgno) -> bool {
        self.entry(pgno) != ABSENT
    }

    #[inline(always)]
    pub fn get(&self, pgno: Pgno) -> Option<Loc<'_>> {
        match self.entry(pgno) {
            ABSENT => None,
            HEAP => Some(Loc::Heap(self.heap_copy(pgno))),
            e => Some(Loc::Slot(Slot::from_index(e - 1))),
        }
    }

    /// The heap buffer of `pgno`, which the table marks as one (off the hot path: overflow
    /// runs and pages the arena could not place).
    #[cold]
    fn heap_copy(&self, pgno: Pgno) -> &[u8] {
        self.heap.get(&pgno).expect("heap entry listed")
    }

    #[inline]
    pub fn get_mut(&mut self, pgno: Pgno) -> Option<LocMut<'_>> {
        match self.entry(pgno) {
            ABSENT => None,
            HEAP => Some(LocMut::Heap(
                self.heap.get_mut(&pgno).expect("heap entry listed"),
            )),
            e => Some(LocMut::Slot(Slot::from_index(e - 1))),
        }
    }

    /// Records `d` as the copy of `pgno`, which must not have one.
    pub fn insert(&mut self, pgno: Pgno, d: Dirty) {
        let e = match d {
            Dirty::Slot(s) => s.index() + 1,
            Dirty::Heap(v) => {
                self.heap.insert(pgno, v);
                HEAP
            }
        };
        let slot = self.entry_mut(pgno);
        debug_assert_eq!(*slot, ABSENT, "page {pgno} is dirty already");
        *slot = e;
        self.len += 1;
    }

    /// Takes the copy of `pgno` out, if it has one.
    pub fn remove(&mut self, pgno: Pgno) -> Option<Dirty> {
        if !self.contains(pgno) {
            return None;
        }
        let slot = self.entry_mut(pgno);
        let e = std::mem::replace(slot, ABSENT);
        self.len -= 1;
        Some(self.take(pgno, e))
    }

    fn take(&mut self, pgno: Pgno, e: u32) -> Dirty {
        if e == HEAP {
            Dirty::Heap(self.heap.remove(&pgno).expect("heap entry listed"))
        } else {
            Dirty::Slot(Slot::from_index(e - 1))
        }
    }

    /// Takes every copy out, in ascending page order.
    pub fn drain_sorted(&mut self) -> Vec<(Pgno, Dirty)> {
        let mut out = Vec::with_capacity(self.len);
        for c in 0..self.top.len() {
            let ci = self.top[c];
            if ci == 0 {
                continue;
            }
            for i in 0..CHUNK {
                let e = std::mem::replace(&mut self.chunks[ci as usize - 1][i], ABSENT);
                if e != ABSENT {
                    let pgno = ((c << CHUNK_BITS) | i) as Pgno;
                    let d = self.take(pgno, e);
                    out.push((pgno, d));
                }
            }
        }
        self.len = 0;
        out
    }

    /// Forgets every entry (the caller frees what they referred to).
    pub fn clear(&mut self) {
        self.top.clear();
        self.chunks.clear();
        self.heap.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The table against a `BTreeMap`, over page numbers that share and cross chunks.
    #[test]
    fn agrees_with_a_map() {
        let mut t = DirtyPages::default();
        // The model keeps each page's slot index, or for heap copies the fill byte.
        let mut model: BTreeMap<Pgno, (bool, u32)> = BTreeMap::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pgno = x % 5000;
            if x % 3 != 2 && !model.contains_key(&pgno) {
                let heap = step % 5 == 0;
                let d = if heap {
                    Dirty::Heap(vec![step as u8; 3])
                } else {
                    Dirty::Slot(Slot::from_index(step))
                };
                t.insert(pgno, d);
                model.insert(
                    pgno,
                    (heap, if heap { u32::from(step as u8) } else { step }),
                );
            } else {
                match (t.remove(pgno), model.remove(&pgno)) {
                    (None, None) => {}
                    (Some(Dirty::Slot(s)), Some((false, m))) => assert_eq!(s.index(), m),
                    (Some(Dirty::Heap(v)), Some((true, m))) => assert_eq!(v, vec![m as u8; 3]),
                    (g, m) => panic!("page {pgno}: table {g:?}, model {m:?}"),
                }
            }
            assert_eq!(t.len(), model.len());
            assert_eq!(t.contains(pgno), model.contains_key(&pgno));
        }
        let drained: Vec<Pgno> = t.drain_sorted().into_iter().map(|(p, _)| p).collect();
        assert_eq!(drained, model.keys().copied().collect::<Vec<_>>());
        assert!(t.is_empty());
        assert!(!t.contains(*model.keys().next().unwrap()));
    }
}
