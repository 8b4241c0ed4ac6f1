//! The index writes of a transaction in progress: assertions not yet put into EAV/AVE (put
//! grouped by key when flushed: one list insert per entity and one per item), and the
//! current items of the entities that had no datom when the transaction began (see
//! [`FreshItems`]), so that asserting on such an entity reads no index.
//!
//! Items (`aid ++ part`) are copied back to back into one buffer and referred to by their
//! span in it, so a large transaction makes no allocation per datom or per entity here.

use std::ops::Range;

use levin_engine::RwTxn;
use rustc_hash::FxHashMap;

use super::fresh::FreshItems;
use crate::error::Result;
use crate::layout::{self, Dbs};

/// Pending assertions and the items of fresh entities.
///
/// Invariants, kept by the transaction:
/// - every read or removal of EAV/AVE happens right after [`Writes::flush`], so the
///   indexes then hold every assertion made so far; the one exception is the lookup of the
///   owners of a unique item, which reads AVE and [`Writes::pending_owner`] together
///   (pending assertions are never retractions: a removal flushes first);
/// - for an entity above `fresh_above`, `fresh` holds exactly the items EAV holds for
///   it (written or pending): every EAV write goes through [`Writes::assert`] or
///   [`Writes::assert_fresh`] and every EAV removal through [`Writes::retracted`].
pub(crate) struct Writes {
    /// Entities above this id had no EAV entry when the transaction began.
    fresh_above: u64,
    /// The items of every assertion recorded, back to back (kept for the whole
    /// transaction: `fresh` refers to it).
    bytes: Vec<u8>,
    fresh: FreshItems,
    /// Assertions not yet in the indexes: entity and the span of the item, no two equal.
    pending: Vec<(u64, Range<usize>)>,
    /// The entity of each pending item of a unique attribute (one each: a second owner is
    /// refused before it is recorded).
    pending_unique: FxHashMap<Box<[u8]>, u64>,
}

/// What [`Writes::assert_fresh`] found.
pub(crate) enum Fresh {
    /// The entity already has the item: nothing recorded.
    Held,
    /// Recorded.
    New,
    /// Recorded in place of this item of the same cardinality-one attribute, which the
    /// caller must retract from the indexes.
    Replaced(Vec<u8>),
}

impl Writes {
    /// Nothing pending; entities above `fresh_above` have no EAV entry; the transaction
    /// uses ids up to about `max_eid` and makes about `datoms` assertions.
    pub fn new(fresh_above: u64, max_eid: u64, datoms: usize) -> Writes {
        Writes {
            fresh_above,
            bytes: Vec::with_capacity(datoms * 16),
            fresh: FreshItems::new(fresh_above, max_eid, datoms),
            pending: Vec::with_capacity(datoms),
            pending_unique: FxHashMap::default(),
        }
    }

    /// True if `e` had no datom when the transaction began: its items are known here.
    pub fn is_fresh(&self, e: u64) -> bool {
        e > self.fresh_above
    }

    /// For a fresh entity `e`: true if EAV holds `item` (of attribute `aid`).
    pub fn holds(&self, e: u64, aid: u32, many: bool, item: &[u8]) -> bool {
        let Some(ent) = self.fresh.find(e) else {
            return false;
        };
        if many {
            self.fresh.holds_many(ent, &self.bytes, item)
        } else {
            self.fresh
                .one(ent, aid)
                .is_some_and(|r| self.bytes[r] == *item)
        }
    }

    /// For a fresh entity `e` and a cardinality-one attribute: its item, if any.
    pub fn one_of(&self, e: u64, aid: u32) -> Option<Vec<u8>> {
        let r = self.fresh.one(self.fresh.find(e)?, aid)?;
        Some(self.bytes[r].to_vec())
    }

    /// Records the assertion of `item` (of attribute `aid`, not yet held) on `e`; for a
    /// cardinality-one attribute of a fresh entity, the caller has retracted the old item.
    pub fn assert(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) {
        if self.is_fresh(e) {
            match self.assert_fresh(e, aid, many, item) {
                Fresh::New => {}
                // The caller checked both; kept as a no-op rather than a panic.
                Fresh::Held | Fresh::Replaced(_) => debug_assert!(false, "assert: held"),
            }
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(item);
        self.pending.push((e, start..self.bytes.len()));
    }

    /// For a fresh entity `e`: records the assertion of `item` (of attribute `aid`) unless
    /// `e` holds it already, replacing the item a cardinality-one attribute held.
    pub fn assert_fresh(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) -> Fresh {
        debug_assert!(self.is_fresh(e));
        let ent = self.fresh.entry(e);
        let span = self.bytes.len()..self.bytes.len() + item.len();
        let found = if many {
            if self.fresh.holds_many(ent, &self.bytes, item) {
                return Fresh::Held;
            }
            self.fresh.add_many(ent, &self.bytes, item, span.clone());
            Fresh::New
        } else {
            match self.fresh.one(ent, aid) {
                Some(r) if self.bytes[r.clone()] == *item => return Fresh::Held,
                Some(r) => {
                    let old = self.bytes[r].to_vec();
                    self.fresh.set_one(ent, aid, span.clone());
                    Fresh::Replaced(old)
                }
                None => {
                    self.fresh.set_one(ent, aid, span.clone());
                    Fresh::New
                }
            }
        };
        self.bytes.extend_from_slice(item);
        self.pending.push((e, span));
        found
    }

    /// Notes that the assertion of `item` on `e` just recorded is of a unique attribute.
    pub fn note_unique(&mut self, item: &[u8], e: u64) {
        self.pending_unique.insert(item.into(), e);
    }

    /// The entity of a pending assertion of `item` (of a unique attribute), if any: AVE
    /// does not have it yet.
    pub fn pending_owner(&self, item: &[u8]) -> Option<u64> {
        self.pending_unique.get(item).copied()
    }

    /// Records that `item` (of attribute `aid`) of `e` was removed from the indexes.
    pub fn retracted(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) {
        if self.is_fresh(e) {
            self.fresh.remove(e, aid, many, &self.bytes, item);
        }
    }

    /// Puts the pending assertions into EAV and AVE as pairs in key order (see
    /// [`RwTxn::put_list_sorted`]: a bottom-up build when the index is empty, as in the
    /// first load of a database; one list insert per key otherwise).
    pub fn flush(&mut self, w: &mut RwTxn, dbs: &Dbs) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = &self.bytes;
        // EAV order: entity, then item (pending pairs are distinct). Entities first (an
        // integer sort), then each entity's few items.
        self.pending.sort_unstable_by_key(|p| p.0);
        for run in self.pending.chunk_by_mut(|a, b| a.0 == b.0) {
            if run.len() > 1 {
                run.sort_unstable_by(|a, b| bytes[a.1.clone()].cmp(&bytes[b.1.clone()]));
            }
        }
        let ekeys: Vec<[u8; 8]> = self
            .pending
            .iter()
            .map(|p| layout::eid_bytes(p.0))
            .collect();
        let mut pairs: Vec<(&[u8], &[u8])> = self
            .pending
            .iter()
            .zip(&ekeys)
            .map(|(p, e)| (&e[..], &bytes[p.1.clone()]))
            .collect();
        w.put_list_sorted(&dbs.eav, &pairs)?;
        // AVE order: item, then entity. Number the distinct items, rank them in key order,
        // then place each assertion in its item's run (a counting sort: entities stay in
        // ascending order within a run, and no list is made per item).
        let mut slot: FxHashMap<&[u8], u32> = FxHashMap::default();
        slot.reserve(self.pending.len());
        let mut items: Vec<&[u8]> = Vec::new();
        let mut slot_of: Vec<u32> = Vec::with_capacity(self.pending.len());
        for (_, span) in &self.pending {
            let item = &bytes[span.clone()];
            let next = items.len() as u32;
            let s = *slot.entry(item).or_insert(next);
            if s == next {
                items.push(item);
            }
            slot_of.push(s);
        }
        drop(slot);
        let mut order: Vec<u32> = (0..items.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| items[a as usize].cmp(items[b as usize]));
        let mut rank = vec![0u32; items.len()];
        for (r, &s) in order.iter().enumerate() {
            rank[s as usize] = r as u32;
        }
        // fill[r]: where the next assertion of the item ranked r goes.
        let mut fill = vec![0usize; items.len() + 1];
        for &s in &slot_of {
            fill[rank[s as usize] as usize + 1] += 1;
        }
        for r in 0..items.len() {
            fill[r + 1] += fill[r];
        }
        let mut placed: Vec<(u32, usize)> = vec![(0, 0); self.pending.len()];
        for (i, &s) in slot_of.iter().enumerate() {
            let r = rank[s as usize] as usize;
            placed[fill[r]] = (s, i);
            fill[r] += 1;
        }
        pairs.clear();
        pairs.extend(
            placed
                .iter()
                .map(|&(s, i)| (items[s as usize], &ekeys[i][..])),
        );
        w.put_list_sorted(&dbs.ave, &pairs)?;
        self.pending.clear();
        self.pending_unique.clear();
        Ok(())
    }
}
