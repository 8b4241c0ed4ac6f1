//! The planner's statistics: index counts and sampled fan-outs of the databases a query
//! reads, each asked of the store once per query and remembered.

use std::cell::RefCell;

use levin_datalog::{Attr, Db};
use levin_edn::Keyword;
use rustc_hash::FxHashMap as HashMap;

use crate::error::QResult;

/// A database's identity within one query: its address (the sources outlive the query's
/// evaluation and do not move).
fn db_key(db: &Db) -> usize {
    std::ptr::from_ref(db) as usize
}

/// Statistics gathered while planning one query.
#[derive(Default)]
pub(crate) struct Stats {
    /// Sampled entities per value, by database and attribute id.
    fanouts: RefCell<HashMap<(usize, u32), f64>>,
    /// Datoms per attribute, by database and attribute id.
    attr_counts: RefCell<HashMap<(usize, u32), u64>>,
}

impl Stats {
    /// Estimated entities per value of `attr` in `db` ([`Db::value_fanout`]), sampled
    /// once per query.
    pub(crate) fn value_fanout(&self, db: &Db, attr: &Attr) -> QResult<f64> {
        let key = (db_key(db), attr.id);
        if let Some(f) = self.fanouts.borrow().get(&key) {
            return Ok(*f);
        }
        let f = db.value_fanout(attr)?;
        self.fanouts.borrow_mut().insert(key, f);
        Ok(f)
    }

    /// [`Db::attr_count`], counted once per query (the planner asks again in every round
    /// of a fixpoint).
    pub(crate) fn attr_count(&self, db: &Db, attr: &Keyword) -> QResult<u64> {
        let Some(a) = db.schema().get(attr) else {
            return Ok(0);
        };
        let key = (db_key(db), a.id);
        if let Some(n) = self.attr_counts.borrow().get(&key) {
            return Ok(*n);
        }
        let n = db.attr_count(attr)?;
        self.attr_counts.borrow_mut().insert(key, n);
        Ok(n)
    }
}
