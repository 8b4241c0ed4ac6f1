//! The index writes of a transaction in progress: assertions not yet put into EAV/AVE (put
//! in key order when flushed), and the current items of the entities that had no datom
//! when the transaction began, so that asserting on such an entity reads no index.
//!
//! A datom is held as one byte string `e ++ item` (8-byte entity id, then the index item
//! `aid ++ part`): sorting these sorts by EAV key and value, and the EAV and AVE entries
//! are slices of it.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use levin_engine::RwTxn;

use crate::error::Result;
use crate::layout::Dbs;

/// Bytes of the entity id at the front of a datom string.
pub(crate) const E_LEN: usize = 8;

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
    /// Fresh entities, cardinality-one attributes: `(e, aid)` -> its one datom string.
    one: HashMap<(u64, u32), Rc<[u8]>>,
    /// Fresh entities, cardinality-many attributes: their datom strings.
    many: HashSet<Rc<[u8]>>,
    /// Datom strings asserted but not yet in the indexes, no two equal.
    pending: Vec<Rc<[u8]>>,
}

/// The entity id of a datom string.
fn eid(d: &[u8]) -> u64 {
    let mut b = [0; E_LEN];
    b.copy_from_slice(&d[..E_LEN]);
    u64::from_be_bytes(b)
}

/// The attribute id of a datom string.
fn aid(d: &[u8]) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&d[E_LEN..E_LEN + 4]);
    u32::from_be_bytes(b)
}

impl Writes {
    /// Nothing pending; entities above `fresh_above` have no EAV entry.
    pub fn new(fresh_above: u64) -> Writes {
        Writes {
            fresh_above,
            one: HashMap::new(),
            many: HashSet::new(),
            pending: Vec::new(),
        }
    }

    /// True if `e` had no datom when the transaction began: its items are known here.
    pub fn is_fresh(&self, e: u64) -> bool {
        e > self.fresh_above
    }

    /// For a fresh entity: true if EAV holds datom string `d`.
    pub fn holds(&self, many: bool, d: &[u8]) -> bool {
        if many {
            self.many.contains(d)
        } else {
            self.one.get(&(eid(d), aid(d))).is_some_and(|x| **x == *d)
        }
    }

    /// For a fresh entity `e` and a cardinality-one attribute: its datom string, if any.
    pub fn one_of(&self, e: u64, aid: u32) -> Option<Rc<[u8]>> {
        self.one.get(&(e, aid)).cloned()
    }

    /// Records the assertion of datom string `d` (not yet held).
    pub fn assert(&mut self, many: bool, d: Rc<[u8]>) {
        if self.is_fresh(eid(&d)) {
            if many {
                self.many.insert(d.clone());
            } else {
                self.one.insert((eid(&d), aid(&d)), d.clone());
            }
        }
        self.pending.push(d);
    }

    /// Records that datom string `d` was removed from the indexes.
    pub fn retracted(&mut self, many: bool, d: &[u8]) {
        if !self.is_fresh(eid(d)) {
            return;
        }
        if many {
            self.many.remove(d);
        } else if self.holds(false, d) {
            self.one.remove(&(eid(d), aid(d)));
        }
    }

    /// Puts the pending assertions into EAV and AVE, each in key order so that
    /// consecutive inserts land on the same pages.
    pub fn flush(&mut self, w: &mut RwTxn, dbs: &Dbs) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending.sort_unstable();
        for d in &self.pending {
            w.put_list(&dbs.eav, &d[..E_LEN], &d[E_LEN..])?;
        }
        self.pending
            .sort_unstable_by(|a, b| (&a[E_LEN..], &a[..E_LEN]).cmp(&(&b[E_LEN..], &b[..E_LEN])));
        for d in &self.pending {
            w.put_list(&dbs.ave, &d[E_LEN..], &d[..E_LEN])?;
        }
        self.pending.clear();
        Ok(())
    }
}
