//! The index writes of a transaction in progress: assertions not yet put into EAV/AVE (put
//! grouped by key when flushed: one list insert per entity and one per item), and the
//! current items of the entities that had no datom when the transaction began, so that
//! asserting on such an entity reads no index.
//!
//! Items (`aid ++ part`) are copied back to back into one buffer and referred to by their
//! span in it, so a large transaction makes no allocation per datom here (except for an
//! entity given more than [`FEW`] values of cardinality-many attributes, whose items are
//! then hashed as boxes).

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
/// - for an entity above `fresh_above`, its [`Ent`] holds exactly the items EAV holds for
///   it (written or pending): every EAV write goes through [`Writes::assert`] or
///   [`Writes::assert_fresh`] and every EAV removal through [`Writes::retracted`].
pub(crate) struct Writes {
    /// Entities above this id had no EAV entry when the transaction began.
    fresh_above: u64,
    /// The items of every assertion recorded, back to back (kept for the whole
    /// transaction: [`Ent`] refers to it).
    bytes: Vec<u8>,
    /// Fresh entities given an item so far: entity id -> index in `ents`.
    index: HashMap<u64, usize>,
    ents: Vec<Ent>,
    /// The entity last looked up and its index: an entity map asserts on one entity
    /// several times in a row.
    last: Option<(u64, usize)>,
    /// Assertions not yet in the indexes: entity and the span of the item, no two equal.
    pending: Vec<(u64, Range<usize>)>,
}

/// The items a fresh entity holds.
#[derive(Default)]
struct Ent {
    /// Cardinality-one attributes: the attribute id and the span of its one item.
    one: Vec<(u32, Range<usize>)>,
    /// Cardinality-many attributes: the spans of their items, while at most [`FEW`].
    many: Vec<Range<usize>>,
    /// Cardinality-many attributes, once more than [`FEW`] (then `many` is empty): the
    /// items, hashed, so that a large set is not scanned per assertion.
    many_set: HashSet<Box<[u8]>>,
}

/// Cardinality-many items of one entity kept in a list (scanned) before they are hashed.
const FEW: usize = 16;

impl Ent {
    fn one(&self, aid: u32) -> Option<&Range<usize>> {
        self.one.iter().find(|(a, _)| *a == aid).map(|(_, r)| r)
    }

    fn holds_many(&self, bytes: &[u8], item: &[u8]) -> bool {
        self.many.iter().any(|r| bytes[r.clone()] == *item) || self.many_set.contains(item)
    }

    /// Adds a cardinality-many item not held, whose bytes are (or will be) at `span`.
    fn add_many(&mut self, bytes: &[u8], item: &[u8], span: Range<usize>) {
        if self.many.len() < FEW && self.many_set.is_empty() {
            self.many.push(span);
            return;
        }
        for r in self.many.drain(..) {
            self.many_set.insert(bytes[r].into());
        }
        self.many_set.insert(item.into());
    }
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
    /// Nothing pending; entities above `fresh_above` have no EAV entry; room for about
    /// `datoms` assertions.
    pub fn new(fresh_above: u64, datoms: usize) -> Writes {
        Writes {
            fresh_above,
            bytes: Vec::with_capacity(datoms * 16),
            index: HashMap::new(),
            ents: Vec::new(),
            last: None,
            pending: Vec::with_capacity(datoms),
        }
    }

    /// True if `e` had no datom when the transaction began: its items are known here.
    pub fn is_fresh(&self, e: u64) -> bool {
        e > self.fresh_above
    }

    /// The [`Ent`] of fresh entity `e`, if it has one.
    fn ent(&self, e: u64) -> Option<&Ent> {
        match self.last {
            Some((l, i)) if l == e => Some(&self.ents[i]),
            _ => self.index.get(&e).map(|&i| &self.ents[i]),
        }
    }

    /// The index of the [`Ent`] of fresh entity `e`, made if needed.
    fn ent_index(&mut self, e: u64) -> usize {
        if let Some((l, i)) = self.last {
            if l == e {
                return i;
            }
        }
        let ents = &mut self.ents;
        let i = *self.index.entry(e).or_insert_with(|| {
            ents.push(Ent::default());
            ents.len() - 1
        });
        self.last = Some((e, i));
        i
    }

    /// For a fresh entity `e`: true if EAV holds `item` (of attribute `aid`).
    pub fn holds(&self, e: u64, aid: u32, many: bool, item: &[u8]) -> bool {
        let Some(ent) = self.ent(e) else {
            return false;
        };
        if many {
            ent.holds_many(&self.bytes, item)
        } else {
            ent.one(aid).is_some_and(|r| self.bytes[r.clone()] == *item)
        }
    }

    /// For a fresh entity `e` and a cardinality-one attribute: its item, if any.
    pub fn one_of(&self, e: u64, aid: u32) -> Option<Vec<u8>> {
        let r = self.ent(e)?.one(aid)?;
        Some(self.bytes[r.clone()].to_vec())
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
    /// `e` holds it already, replacing the item a cardinality-one attribute held. No
    /// hashing when `e` is the entity of the previous call: the common path of a load.
    pub fn assert_fresh(&mut self, e: u64, aid: u32, many: bool, item: &[u8]) -> Fresh {
        debug_assert!(self.is_fresh(e));
        let i = self.ent_index(e);
        let span = self.bytes.len()..self.bytes.len() + item.len();
        let ent = &mut self.ents[i];
        let found = if many {
            if ent.holds_many(&self.bytes, item) {
                return Fresh::Held;
            }
            ent.add_many(&self.bytes, item, span.clone());
            Fresh::New
        } else {
            match ent.one.iter_mut().find(|(a, _)| *a == aid) {
                Some((_, r)) => {
                    let old = &self.bytes[r.clone()];
                    if old == item {
                        return Fresh::Held;
                    }
                    let old = old.to_vec();
                    *r = span.clone();
                    Fresh::Replaced(old)
                }
                None => {
                    ent.one.push((aid, span.clone()));
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
        let Some(&i) = self.index.get(&e) else {
            return;
        };
        let bytes = &self.bytes;
        let ent = &mut self.ents[i];
        if many {
            if let Some(j) = ent.many.iter().position(|r| bytes[r.clone()] == *item) {
                ent.many.swap_remove(j);
            }
            ent.many_set.remove(item);
        } else if let Some(j) = ent
            .one
            .iter()
            .position(|(a, r)| *a == aid && bytes[r.clone()] == *item)
        {
            ent.one.swap_remove(j);
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
