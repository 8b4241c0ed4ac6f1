//! Transactions of the KV API: [`RoTxn`] (a snapshot), [`RwTxn`] (the writer), and the
//! [`Read`] trait of operations both offer. Every value read borrows the transaction.

use std::cell::RefCell;
use std::ops::Bound;

use levin_btree::{append, build, read, tree, BtreeError, Cursor, PageSource};
use levin_pager::TreeInfo;
use levin_txn::{ReadTxn, TxnError, WriteTxn};

use crate::db::{Db, DbKind};
use crate::error::{Error, Result};
use crate::iter::{Iter, Keys};
use crate::range::Range;

/// The callback of [`Read::visit_range`]: `(key, value)`; an error ends the visit.
pub type PairVisitor<'f> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'f;

/// Read operations, offered by both [`RoTxn`] and [`RwTxn`].
pub trait Read {
    /// The pages of this transaction's view.
    #[doc(hidden)]
    fn source(&self) -> &(dyn PageSource + '_);
    /// The tree of `db` in this view.
    #[doc(hidden)]
    fn tree_info(&self, db: &Db) -> Result<TreeInfo>;

    /// Opens an existing database by name.
    fn open_db(&self, name: &str) -> Result<Db>;

    /// Names of all databases.
    fn db_names(&self) -> Result<Vec<String>>;

    /// The value of `key` (in a list database, its first value).
    fn get<'t>(&'t self, db: &Db, key: &[u8]) -> Result<Option<&'t [u8]>> {
        let t = self.tree_info(db)?;
        Ok(read::get(self.source(), &t, key)?)
    }

    /// True if `key` is present.
    fn contains_key(&self, db: &Db, key: &[u8]) -> Result<bool> {
        let t = self.tree_info(db)?;
        Ok(read::find(self.source(), &t, key)?.is_some())
    }

    /// Lazily iterates a range of (key, value) pairs.
    fn range<'t>(&'t self, db: &Db, range: Range) -> Result<Iter<'t>> {
        let t = self.tree_info(db)?;
        Ok(Iter::new(Cursor::new(self.source(), &t), range))
    }

    /// Iterates the whole database in key order.
    fn iter<'t>(&'t self, db: &Db) -> Result<Iter<'t>> {
        self.range(db, Range::all())
    }

    /// Iterates the keys of a range, each once (list databases included).
    fn keys<'t>(&'t self, db: &Db, range: Range) -> Result<Keys<'t>> {
        let t = self.tree_info(db)?;
        Ok(Keys(
            Iter::new(Cursor::new(self.source(), &t), range).keys_only(),
        ))
    }

    /// The first entry, if any.
    fn first<'t>(&'t self, db: &Db) -> Result<Option<(&'t [u8], &'t [u8])>> {
        self.iter(db)?.next().transpose()
    }

    /// The last entry, if any.
    fn last<'t>(&'t self, db: &Db) -> Result<Option<(&'t [u8], &'t [u8])>> {
        self.range(db, Range::all().rev())?.next().transpose()
    }

    /// Entries (keys, or pairs in a list database): O(1).
    fn len(&self, db: &Db) -> Result<u64> {
        Ok(self.tree_info(db)?.entries)
    }

    /// True if the database is empty.
    fn is_empty(&self, db: &Db) -> Result<bool> {
        Ok(self.len(db)? == 0)
    }

    /// Entries in `range` (pairs in a list database), in O(log n) through the counted tree.
    fn count(&self, db: &Db, range: &Range) -> Result<u64> {
        let t = self.tree_info(db)?;
        let s = self.source();
        let lo = match &range.lo {
            Bound::Unbounded => 0,
            Bound::Included(k) => read::rank(s, &t, k, false)?,
            Bound::Excluded(k) => read::rank(s, &t, k, true)?,
        };
        let hi = match &range.hi {
            Bound::Unbounded => t.entries,
            Bound::Included(k) => read::rank(s, &t, k, true)?,
            Bound::Excluded(k) => read::rank(s, &t, k, false)?,
        };
        Ok(hi.saturating_sub(lo))
    }

    /// The position of `key` in key order (counting pairs before it in a list database),
    /// or None if absent. O(log n).
    fn rank(&self, db: &Db, key: &[u8]) -> Result<Option<u64>> {
        let t = self.tree_info(db)?;
        if read::find(self.source(), &t, key)?.is_none() {
            return Ok(None);
        }
        Ok(Some(read::rank(self.source(), &t, key, false)?))
    }

    /// The entry at position `rank` (0-based). O(log n).
    fn get_by_rank<'t>(&'t self, db: &Db, rank: u64) -> Result<Option<(&'t [u8], &'t [u8])>> {
        let t = self.tree_info(db)?;
        let mut c = Cursor::new(self.source(), &t);
        if !c.seek_rank(rank)? {
            return Ok(None);
        }
        Ok(c.current()?)
    }

    /// The first `n` entries in key order.
    fn first_n<'t>(&'t self, db: &Db, n: usize) -> Result<Vec<(&'t [u8], &'t [u8])>> {
        self.iter(db)?.take(n).collect()
    }

    /// `n` entries chosen uniformly at random without repetition (all of them, in order,
    /// if the database has at most `n`), each found by rank in O(log n). `seed` makes the
    /// choice repeatable.
    fn sample<'t>(&'t self, db: &Db, n: usize, seed: u64) -> Result<Vec<(&'t [u8], &'t [u8])>> {
        let len = self.len(db)?;
        if n as u64 >= len {
            return self.iter(db)?.collect();
        }
        // Floyd's algorithm: n distinct ranks in O(n) draws.
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut ranks = std::collections::BTreeSet::new();
        for j in (len - n as u64)..len {
            let t = next() % (j + 1);
            if !ranks.insert(t) {
                ranks.insert(j);
            }
        }
        let mut out = Vec::with_capacity(n);
        for r in ranks {
            if let Some(kv) = self.get_by_rank(db, r)? {
                out.push(kv);
            }
        }
        Ok(out)
    }

    /// Calls `f(key, value)` for every pair in `range`, in order (for a list database,
    /// every value of every key). One cursor; a key's values are handed over in one pass,
    /// which makes this the fast way to scan. A `reverse` range is visited high to low.
    fn visit_range(&self, db: &Db, range: &Range, f: &mut PairVisitor<'_>) -> Result<()> {
        if range.reverse {
            for kv in self.range(db, range.clone())? {
                let (k, v) = kv?;
                f(k, v)?;
            }
            return Ok(());
        }
        let t = self.tree_info(db)?;
        let mut c = Cursor::new(self.source(), &t);
        let on = match &range.lo {
            Bound::Unbounded => c.first()?,
            Bound::Included(k) => c.seek(k)?,
            Bound::Excluded(k) => c.seek(k)? && (c.key()? != k.as_slice() || c.next_key()?),
        };
        if !on {
            return Ok(());
        }
        c.each_pair_while(|k| range.below_hi(k), f)
    }

    /// Calls `f(i, value)` for every value of each `keys[i]` in a list database, keys
    /// in the order given, values in order. One cursor serves all keys: given in
    /// ascending order, a key on the leaf the cursor is on is found there without a
    /// descent from the root (the fast way to read many lists).
    fn visit_lists(
        &self,
        db: &Db,
        keys: &[&[u8]],
        f: &mut dyn FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        expect_kind(db, DbKind::List, "visit_lists")?;
        let t = self.tree_info(db)?;
        Cursor::new(self.source(), &t).visit_keys(keys, f)
    }

    /// The values of `key` in a list database, in order.
    fn list<'t>(&'t self, db: &Db, key: &[u8]) -> Result<Iter<'t>> {
        expect_kind(db, DbKind::List, "list")?;
        let t = self.tree_info(db)?;
        Ok(Iter::new(
            Cursor::new(self.source(), &t),
            Range::closed(key, key),
        ))
    }

    /// The (key, value) pairs of a list database with the key in `keys` and the value in
    /// `values`.
    fn list_range<'t>(&'t self, db: &Db, keys: Range, values: Range) -> Result<Iter<'t>> {
        expect_kind(db, DbKind::List, "list_range")?;
        let t = self.tree_info(db)?;
        Ok(Iter::new(Cursor::new(self.source(), &t), keys).with_values(values))
    }

    /// Number of values of `key` (0 if absent). O(1) for a key's list.
    fn list_count(&self, db: &Db, key: &[u8]) -> Result<u64> {
        expect_kind(db, DbKind::List, "list_count")?;
        let t = self.tree_info(db)?;
        Ok(read::list_count(self.source(), &t, key)?)
    }

    /// Number of values of `key` inside `values` (its direction is ignored). O(log n).
    fn list_count_range(&self, db: &Db, key: &[u8], values: &Range) -> Result<u64> {
        expect_kind(db, DbKind::List, "list_count_range")?;
        let t = self.tree_info(db)?;
        let s = self.source();
        let lo = match &values.lo {
            Bound::Unbounded => read::rank_pair(s, &t, key, &[], false)?,
            Bound::Included(v) => read::rank_pair(s, &t, key, v, false)?,
            Bound::Excluded(v) => read::rank_pair(s, &t, key, v, true)?,
        };
        let hi = match &values.hi {
            Bound::Unbounded => read::rank(s, &t, key, true)?,
            Bound::Included(v) => read::rank_pair(s, &t, key, v, true)?,
            Bound::Excluded(v) => read::rank_pair(s, &t, key, v, false)?,
        };
        Ok(hi.saturating_sub(lo))
    }

    /// True if `value` is in the list of `key`. O(log n).
    fn in_list(&self, db: &Db, key: &[u8], value: &[u8]) -> Result<bool> {
        expect_kind(db, DbKind::List, "in_list")?;
        let t = self.tree_info(db)?;
        Ok(read::list_contains(self.source(), &t, key, value)?)
    }
}

pub(crate) fn expect_kind(db: &Db, kind: DbKind, op: &'static str) -> Result<()> {
    if db.kind != kind {
        return Err(Error::WrongDatabaseKind {
            name: db.name.to_string(),
            actual: db.kind.name(),
            expected: kind.name(),
            op,
        });
    }
    Ok(())
}

fn db_from(name: &str, t: &TreeInfo) -> Db {
    Db {
        name: name.into(),
        kind: if t.is_list() {
            DbKind::List
        } else {
            DbKind::Plain
        },
    }
}

/// A read-only snapshot of the latest commit at the time it began. `Send`: it may move to
/// another thread. Values it returns are borrowed straight from the memory map.
pub struct RoTxn {
    txn: ReadTxn,
    trees: RefCell<Vec<(std::sync::Arc<str>, TreeInfo)>>,
}

impl RoTxn {
    pub(crate) fn new(txn: ReadTxn) -> Self {
        RoTxn {
            txn,
            trees: RefCell::new(Vec::new()),
        }
    }

    /// The id of the commit this snapshot shows.
    pub fn id(&self) -> u64 {
        self.txn.meta().txn_id
    }
}

impl Read for RoTxn {
    fn source(&self) -> &(dyn PageSource + '_) {
        &self.txn
    }

    fn tree_info(&self, db: &Db) -> Result<TreeInfo> {
        if let Some((_, t)) = self
            .trees
            .borrow()
            .iter()
            .find(|(n, _)| std::sync::Arc::ptr_eq(n, &db.name) || **n == *db.name)
        {
            return Ok(*t);
        }
        let t = levin_txn::catalog::lookup(&self.txn, &self.txn.meta().catalog, &db.name)?
            .ok_or_else(|| Error::NoSuchDatabase(db.name.to_string()))?;
        self.trees.borrow_mut().push((db.name.clone(), t));
        Ok(t)
    }

    fn open_db(&self, name: &str) -> Result<Db> {
        let t = levin_txn::catalog::lookup(&self.txn, &self.txn.meta().catalog, name)?
            .ok_or_else(|| Error::NoSuchDatabase(name.to_string()))?;
        Ok(db_from(name, &t))
    }

    fn db_names(&self) -> Result<Vec<String>> {
        Ok(levin_txn::catalog::names(
            &self.txn,
            &self.txn.meta().catalog,
        )?)
    }
}

/// Options for [`RwTxn::put_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutFlags {
    /// Do nothing if the key exists (the put returns false).
    pub no_overwrite: bool,
    /// The key sorts after every key in the database (an error otherwise); pages are kept
    /// full, as for a sorted bulk load.
    pub append: bool,
}

/// The write transaction. Commit with [`RwTxn::commit`]; dropping it aborts.
///
/// If an operation fails part-way for a reason other than bad input (an I/O error, a
/// damaged page), the transaction refuses further work and must be dropped.
pub struct RwTxn {
    txn: WriteTxn,
    failed: Option<String>,
}

impl RwTxn {
    pub(crate) fn new(txn: WriteTxn) -> Self {
        RwTxn { txn, failed: None }
    }

    /// The id this transaction commits as.
    pub fn id(&self) -> u64 {
        self.txn.id()
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(why) => Err(Error::Invalid(format!(
                "this write transaction failed earlier ({why}) and must be dropped"
            ))),
            None => Ok(()),
        }
    }

    /// Creates a plain database if it does not exist; opens it if it does (an error if it
    /// exists as a list database).
    pub fn create_db(&mut self, name: &str) -> Result<Db> {
        self.create(name, DbKind::Plain)
    }

    /// Creates a list database if it does not exist; opens it if it does.
    pub fn create_list_db(&mut self, name: &str) -> Result<Db> {
        self.create(name, DbKind::List)
    }

    fn create(&mut self, name: &str, kind: DbKind) -> Result<Db> {
        self.check_usable()?;
        let t = self
            .txn
            .create_tree(name, kind.flags())
            .map_err(Error::from);
        let t = self.note_failure(t)?;
        let db = db_from(name, &t);
        if db.kind != kind {
            return Err(Error::WrongDatabaseKind {
                name: name.to_string(),
                actual: db.kind.name(),
                expected: kind.name(),
                op: "create",
            });
        }
        Ok(db)
    }

    /// Deletes a database and frees its pages.
    ///
    /// Freeing may fail part-way (a damaged page of the tree): the transaction is then
    /// marked failed like after any other failed write, so the half-freed tree is never
    /// committed.
    pub fn drop_db(&mut self, db: &Db) -> Result<()> {
        self.check_usable()?;
        let r = self.txn.drop_tree(&db.name).map_err(|e| match e {
            TxnError::NoSuchDatabase(n) => Error::NoSuchDatabase(n),
            e => e.into(),
        });
        self.note_failure(r)
    }

    /// Marks the transaction failed if `r` is an error other than bad input.
    fn note_failure<R>(&mut self, r: Result<R>) -> Result<R> {
        if let Err(e) = &r {
            if !is_input_error(e) {
                self.failed = Some(e.to_string());
            }
        }
        r
    }

    /// Removes every entry of a database, keeping the database.
    pub fn clear_db(&mut self, db: &Db) -> Result<()> {
        self.modify(db, |w, t| Ok(tree::clear(w, t)?))
    }

    fn modify<R>(
        &mut self,
        db: &Db,
        f: impl FnOnce(&mut WriteTxn, &mut TreeInfo) -> Result<R>,
    ) -> Result<R> {
        self.check_usable()?;
        let mut t = self
            .txn
            .tree(&db.name)?
            .ok_or_else(|| Error::NoSuchDatabase(db.name.to_string()))?;
        let before = t;
        match f(&mut self.txn, &mut t) {
            Ok(r) => {
                if t != before {
                    self.txn.set_tree(&db.name, t);
                }
                if let Err(e) = self.txn.maybe_spill() {
                    self.failed = Some(e.to_string());
                    return Err(e.into());
                }
                Ok(r)
            }
            Err(e) => self.note_failure(Err(e)),
        }
    }

    /// Replaces the (empty) tree of `db` by the one `build` writes and describes, e.g. a
    /// compacted copy built bottom-up.
    pub(crate) fn build_db(
        &mut self,
        db: &Db,
        build: impl FnOnce(&mut WriteTxn) -> Result<TreeInfo>,
    ) -> Result<()> {
        self.modify(db, |w, t| {
            if t.root != 0 {
                return Err(Error::Invalid(format!(
                    "building database {} over existing entries",
                    db.name
                )));
            }
            *t = build(w)?;
            Ok(())
        })
    }

    /// Puts `key` = `value` into a plain database, replacing any old value.
    pub fn put(&mut self, db: &Db, key: &[u8], value: &[u8]) -> Result<()> {
        self.put_with(db, key, value, PutFlags::default())
            .map(|_| ())
    }

    /// Puts with flags; returns false if `no_overwrite` found the key present.
    pub fn put_with(&mut self, db: &Db, key: &[u8], value: &[u8], flags: PutFlags) -> Result<bool> {
        expect_kind(db, DbKind::Plain, "put")?;
        if flags.no_overwrite && self.contains_key(db, key)? {
            return Ok(false);
        }
        if flags.append {
            // Ok(false) rather than an error when out of order: the right edge may have been
            // copied on the way down, and the tree must keep pointing at the copy.
            let appended = self.modify(db, |w, t| Ok(append::append(w, t, key, value)?))?;
            if !appended {
                return Err(Error::AppendOutOfOrder {
                    db: db.name.to_string(),
                });
            }
            return Ok(true);
        }
        self.modify(db, |w, t| {
            tree::put(w, t, key, value, false)?;
            Ok(true)
        })
    }

    /// Deletes `key` (in a list database, with all its values). Returns true if it existed.
    pub fn delete(&mut self, db: &Db, key: &[u8]) -> Result<bool> {
        self.modify(db, |w, t| Ok(tree::delete(w, t, key)? > 0))
    }

    /// Adds `value` to the list of `key`; returns false if it was already there.
    pub fn put_list(&mut self, db: &Db, key: &[u8], value: &[u8]) -> Result<bool> {
        expect_kind(db, DbKind::List, "put_list")?;
        self.modify(db, |w, t| Ok(tree::list_add(w, t, key, value)?))
    }

    /// Adds each of `values` (any order, repeats allowed) to the list of `key`, descending
    /// the tree once; returns how many were not already there. Cheaper than one
    /// [`RwTxn::put_list`] per value when a key gets several values.
    pub fn put_list_many(&mut self, db: &Db, key: &[u8], values: &[&[u8]]) -> Result<u64> {
        expect_kind(db, DbKind::List, "put_list_many")?;
        self.modify(db, |w, t| Ok(tree::list_add_many(w, t, key, values)?))
    }

    /// Adds `(key, value)` pairs, given in strictly ascending order of key then value, to
    /// a list database; returns how many were not already there. Into an empty database
    /// the tree is built bottom-up (pages filled in order, no descent or split per key),
    /// which makes this the fast way to load; otherwise each key's values go in as with
    /// [`RwTxn::put_list_many`].
    pub fn put_list_sorted(&mut self, db: &Db, pairs: &[(&[u8], &[u8])]) -> Result<u64> {
        expect_kind(db, DbKind::List, "put_list_sorted")?;
        if let Some(i) = pairs.windows(2).position(|w| w[0] >= w[1]) {
            return Err(Error::NotSorted {
                db: db.name.to_string(),
                index: i + 1,
            });
        }
        if pairs.is_empty() {
            return Ok(0);
        }
        let empty = self
            .txn
            .tree(&db.name)?
            .ok_or_else(|| Error::NoSuchDatabase(db.name.to_string()))?
            .root
            == 0;
        if empty {
            self.modify(db, |w, t| {
                *t = build::build_lists(w, t.flags, pairs)?;
                Ok(())
            })?;
            return Ok(pairs.len() as u64);
        }
        let mut added = 0;
        let mut values: Vec<&[u8]> = Vec::new();
        for run in pairs.chunk_by(|x, y| x.0 == y.0) {
            values.clear();
            values.extend(run.iter().map(|p| p.1));
            added += self.put_list_many(db, run[0].0, &values)?;
        }
        Ok(added)
    }

    /// Removes `value` from the list of `key`; returns false if it was not there.
    pub fn delete_list(&mut self, db: &Db, key: &[u8], value: &[u8]) -> Result<bool> {
        expect_kind(db, DbKind::List, "delete_list")?;
        self.modify(db, |w, t| Ok(tree::list_remove(w, t, key, value)?))
    }

    /// Commits. On success the changes are visible to new readers and, with the default
    /// durability, on stable storage.
    pub fn commit(self) -> Result<()> {
        self.check_usable()?;
        Ok(self.txn.commit()?)
    }

    /// Aborts (the same as dropping).
    pub fn abort(self) {
        self.txn.abort();
    }
}

fn is_input_error(e: &Error) -> bool {
    match e {
        Error::Txn(TxnError::Btree(b)) => matches!(
            b,
            BtreeError::KeyTooLong { .. }
                | BtreeError::ListValueTooLong { .. }
                | BtreeError::ValueTooLarge { .. }
        ),
        Error::Txn(TxnError::InvalidName { .. }) => true,
        Error::AppendOutOfOrder { .. }
        | Error::WrongDatabaseKind { .. }
        | Error::NoSuchDatabase(_)
        | Error::Invalid(_) => true,
        _ => false,
    }
}

impl Read for RwTxn {
    fn source(&self) -> &(dyn PageSource + '_) {
        &self.txn
    }

    fn tree_info(&self, db: &Db) -> Result<TreeInfo> {
        self.txn
            .tree_peek(&db.name)?
            .ok_or_else(|| Error::NoSuchDatabase(db.name.to_string()))
    }

    fn open_db(&self, name: &str) -> Result<Db> {
        let t = self
            .txn
            .tree_peek(name)?
            .ok_or_else(|| Error::NoSuchDatabase(name.to_string()))?;
        Ok(db_from(name, &t))
    }

    fn db_names(&self) -> Result<Vec<String>> {
        Ok(self.txn.tree_names()?)
    }
}
