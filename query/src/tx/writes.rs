//! The index writes of a transaction in progress: assertions not yet put into EAV/AVE (put
//! grouped by key when flushed: one list insert per entity and one per item), and the
//! current items of the entities that had no datom when the transaction began, so that
//! asserting on such an entity reads no index.
//!
//! Items (`aid ++ part`) are copied back to back into one buffer and referred to by their
//! span in it, so a large transaction makes no allocation per datom here.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use levin_engine::RwTxn;

use crate::error::Result;
use crate::layout::{self, Dbs};

/// Pending assertions and the items of fresh entities.
///
/// Invariants, kept by the transaction:
/// - every read or removal of EAV/AVE happens right after [`Writes::flush`], so the
///   indexes then hold every assertion made so far;
/// - for an entity above `fresh_above`, `one` and `many` hold exactly the items EAV holds
///   for it (written or pending): every EAV write goes through [`Writes::assert`] and every
///   EAV removal through [`Writes::retracted`].
pub(crate) struct Writes {
    /// Entities above this id had no EAV entry when the transaction began.
    fresh_above: u64,
    /// The items of every assertion recorded, back to back (kept for the whole
    /// transaction: `one` refers to it).
    bytes: Vec<u8>,
    /// Fresh entities, cardinality-one attributes: `(e, aid)` -> the span of its item.
    one: HashMap<(u64, u32), Range<usize>>,
    /// Fresh entities, cardinality-many attributes: `e ++ item` of each datom.
    many: HashSet<Box<[u8]>>,
    /// Assertions not yet in the indexes: entity and the span of the item, no two equal.
    pending: Vec<(u64, Range<usize>)>,
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

fn many_key(e: u64, item: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + item.len());
    k.extend_from_slice(&layout::eid_bytes(e));
    k.extend_from_slice(item);
    k
}

impl Writes {
    /// Nothing pending; entities above `fresh_above` have no EAV entry; room for about
    /// `datoms` assertions.
    pub fn new(fresh_above: u64, datoms: usize) -> Writes {
        Writes {
            fresh_above,
            bytes: Vec::with_capacity(datoms * 16),
            one: HashMap::with_capacity(datoms),
            many: HashSet::new(),
            pending: Vec::with_capacity(datoms),
        }
    }

    /// True if `e` had no datom when the transaction began: its items are known here.
    pub fn is_fresh(&self, e: u64) -> bool {
        e > self.fresh_above
    }

    /// For a fresh entity `e`: true if EAV holds `item` (of attribute `aid`).
    pub fn holds(&self, e: u64, aid: u32, many: bool, item: &[u8]) -> bool {
        if many {
            self.many.contains(&many_key(e, item)[..])
        } else {
            self.one
                .get(&(e, aid))
                .is_some_and(|r| self.bytes[r.clone()] == *item)
        }
    }

    /// For a fresh entity `e` and a cardinality-one attribute: its item, if any.
    pub fn one_of(&self, e: u64, aid: u32) -> Option<Vec<u8>> {
        self.one
            .get(&(e, aid))
            .map(|r| self.bytes[r.clone()].to_vec())
    }

    /// Records the assertion of `item` (of attribute `aid`, not yet held) on `e`.
    pub fn assert(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(item);
        let span = start..self.bytes.len();
        if self.is_fresh(e) {
            if many {
                self.many.insert(many_key(e, item).into_boxed_slice());
            } else {
                self.one.insert((e, aid), span.clone());
            }
        }
        self.pending.push((e, span));
    }

    /// For a fresh entity `e`: records the assertion of `item` (of attribute `aid`) unless
    /// `e` holds it already, replacing the item a cardinality-one attribute held. One hash
    /// lookup: the common path of a load.
    pub fn assert_fresh(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) -> Fresh {
        debug_assert!(self.is_fresh(e));
        let start = self.bytes.len();
        let span = start..start + item.len();
        let found = if many {
            if !self.many.insert(many_key(e, item).into_boxed_slice()) {
                return Fresh::Held;
            }
            Fresh::New
        } else {
            match self.one.entry((e, aid)) {
                Entry::Occupied(mut o) => {
                    let old = &self.bytes[o.get().clone()];
                    if old == item {
                        return Fresh::Held;
                    }
                    let old = old.to_vec();
                    o.insert(span.clone());
                    Fresh::Replaced(old)
                }
                Entry::Vacant(v) => {
                    v.insert(span.clone());
                    Fresh::New
                }
            }
        };
        self.bytes.extend_from_slice(item);
        self.pending.push((e, span));
        found
    }

    /// Records that `item` (of attribute `aid`) of `e` was removed from the indexes.
    pub fn retracted(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) {
        if !self.is_fresh(e) {
            return;
        }
        if many {
            self.many.remove(&many_key(e, item)[..]);
        } else if self.holds(e, aid, false, item) {
            self.one.remove(&(e, aid));
        }
    }

    /// Puts the pending assertions into EAV (each entity's items in one list insert) and
    /// AVE (each item's entities in one list insert), in key order so that consecutive
    /// inserts land on the same pages.
    pub fn flush(&mut self, w: &mut RwTxn, dbs: &Dbs) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = &self.bytes;
        self.pending.sort_unstable_by_key(|p| p.0);
        let mut values: Vec<&[u8]> = Vec::new();
        // AVE: the entities of each item, in entity order (the order they are added in).
        let mut slot: HashMap<&[u8], usize> = HashMap::new();
        let mut ave: Vec<(&[u8], Vec<[u8; 8]>)> = Vec::new();
        for run in self.pending.chunk_by(|a, b| a.0 == b.0) {
            let e = layout::eid_bytes(run[0].0);
            values.clear();
            for (_, span) in run {
                let item = &bytes[span.clone()];
                values.push(item);
                let i = *slot.entry(item).or_insert_with(|| {
                    ave.push((item, Vec::new()));
                    ave.len() - 1
                });
                ave[i].1.push(e);
            }
            w.put_list_many(&dbs.eav, &e, &values)?;
        }
        ave.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (item, es) in &ave {
            values.clear();
            values.extend(es.iter().map(|e| &e[..]));
            w.put_list_many(&dbs.ave, item, &values)?;
        }
        self.pending.clear();
        Ok(())
    }
}
