//! [`Db`]: an immutable snapshot of a Datalog database (a read transaction plus the schema
//! it was written with), with raw index access (`datoms`, `seek_datoms`, `index_range`),
//! O(log n) counts for the query planner, entity-id resolution, pull and entities.

use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;
use std::sync::Arc;

use levin_engine::{Range, Read, RoTxn, RwTxn};

use crate::convert;
use crate::datom_scan::{DatomScan, Segment};
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::layout::{self, Dbs, Meta};
use crate::schema::{Attr, AttrType, Schema, Unique};
use levin_edn::{Edn, Keyword};

/// One datom: entity, attribute, value, and (in transaction reports) whether it was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datom {
    /// Entity id.
    pub e: u64,
    /// Attribute name.
    pub a: Keyword,
    /// Value (refs are entity ids as `Edn::Long`).
    pub v: Edn,
    /// True when asserted, false when retracted (always true when read from an index).
    pub added: bool,
}

impl Datom {
    /// `[e a v]`, or `[e a v false]` for a retraction.
    pub fn to_edn(&self) -> Edn {
        let mut v = vec![
            Edn::Long(self.e as i64),
            Edn::Keyword(self.a.clone()),
            self.v.clone(),
        ];
        if !self.added {
            v.push(Edn::Bool(false));
        }
        Edn::Vector(v)
    }
}

impl std::fmt::Display for Datom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_edn())
    }
}

/// The two indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// Entity, attribute, value: everything about one entity together.
    Eav,
    /// Attribute, value, entity: one attribute's values in value order (and reverse refs).
    Ave,
}

impl Index {
    /// `:eav`/`:eavt` or `:ave`/`:avet`.
    pub fn from_keyword(k: &Keyword) -> Option<Index> {
        match k.name() {
            "eav" | "eavt" => Some(Index::Eav),
            "ave" | "avet" => Some(Index::Ave),
            _ => None,
        }
    }
}

/// A lazy sequence of datoms borrowing a [`Db`].
pub type Datoms<'a> = Box<dyn Iterator<Item = Result<Datom>> + 'a>;

/// Index reads over any transaction (snapshot or the writer's own view).
pub(crate) struct View<'a> {
    pub r: &'a dyn Read,
    pub dbs: &'a Dbs,
    pub schema: &'a Schema,
    pub limit: usize,
}

impl<'a> View<'a> {
    pub fn attr_by_id(&self, aid: u32) -> Result<&'a Attr> {
        self.schema
            .by_id(aid)
            .ok_or_else(|| Error::Corrupt(format!("unknown attribute id {aid}")))
    }

    pub fn attr(&self, k: &Keyword) -> Option<&'a Attr> {
        self.schema.get(k)
    }

    /// Decodes a value part.
    pub fn part_edn(&self, part: &[u8]) -> Result<Edn> {
        // Longs (entity ids, counts, most numbers) skip the general decoder. (A part
        // longer than `limit` is a giant's prefix and id, never a value.)
        if part.len() <= self.limit {
            if let Some(n) = levin_codec::decode_tagged_long(part) {
                return Ok(Edn::Long(n));
            }
            // Strings are shared text: built straight from the stored bytes, one copy.
            if let Some(s) = levin_codec::decode_tagged_str(part) {
                return Ok(Edn::string(s));
            }
            if part.first() == Some(&levin_codec::tag::KEYWORD) {
                return crate::keywords::shared(part, || {
                    match layout::part_value(self.r, self.dbs, self.limit, part)? {
                        levin_codec::Value::Keyword { ns, name } => {
                            Ok(Keyword::new(ns.as_deref(), &name))
                        }
                        other => Err(Error::Corrupt(format!(
                            "a value tagged as a keyword decoded as {other:?}"
                        ))),
                    }
                })
                .map(Edn::Keyword);
            }
        }
        Ok(convert::to_edn(layout::part_value(
            self.r, self.dbs, self.limit, part,
        )?))
    }

    pub fn eav_datom(&self, k: &[u8], item: &[u8]) -> Result<Datom> {
        let e = layout::eid_of(k)?;
        let (aid, part) = layout::split_item(item)?;
        Ok(Datom {
            e,
            a: self.attr_by_id(aid)?.ident.clone(),
            v: self.part_edn(part)?,
            added: true,
        })
    }

    pub fn ave_datom(&self, key: &[u8], e: &[u8]) -> Result<Datom> {
        self.eav_datom(e, key)
    }

    /// The value part of `v` for `attr` if it can be stored at all (`Ok(None)` when `v`
    /// is not a value of the attribute or, for a giant, not stored).
    pub fn lookup_part(&self, attr: &Attr, v: &Edn) -> Result<Option<Vec<u8>>> {
        match self.lookup_value(attr, v)? {
            Some(value) => self.part_of(attr, &value),
            None => Ok(None),
        }
    }

    /// The value part under which `value`, stored as a value of `attr`, is indexed.
    fn part_of(&self, attr: &Attr, value: &levin_codec::Value) -> Result<Option<Vec<u8>>> {
        if let levin_codec::Value::Long(n) = value {
            // Entity ids and longs, the usual lookups of a join, skip the general encoder.
            let enc = levin_codec::encode_tagged_long(*n);
            return layout::find_part(self.r, self.dbs, self.limit, attr.id, &enc);
        }
        let Ok(enc) = layout::encode(value) else {
            return Ok(None);
        };
        layout::find_part(self.r, self.dbs, self.limit, attr.id, &enc)
    }

    /// The stored form of `v` as a value of `attr` (an entity id for a reference), or
    /// `None` when `v` names no entity or is not a value of the attribute.
    fn lookup_value(&self, attr: &Attr, v: &Edn) -> Result<Option<levin_codec::Value>> {
        if attr.is_ref() {
            return Ok(self.entid(v)?.map(|e| levin_codec::Value::Long(e as i64)));
        }
        Ok(convert::to_value(attr, v).ok())
    }

    /// The entity id `id` names: a positive number, a lookup ref `[attr value]`, or a
    /// keyword (an entity's `:db/ident`). `Ok(None)` when a lookup finds nothing.
    pub fn entid(&self, id: &Edn) -> Result<Option<u64>> {
        match id {
            Edn::Long(n) if *n > 0 => Ok(Some(*n as u64)),
            Edn::Keyword(_) => {
                let ident = self.schema.get(&Keyword::new(Some("db"), "ident"));
                match ident {
                    Some(a) => self.lookup(a, id),
                    None => Ok(None),
                }
            }
            Edn::Vector(lr) | Edn::List(lr) if lr.len() == 2 && lr[0].as_keyword().is_some() => {
                let k = lr[0]
                    .as_keyword()
                    .cloned()
                    .unwrap_or_else(|| Keyword::new(None, ""));
                let Some(a) = self.schema.get(&k) else {
                    return Err(Error::Invalid(format!(
                        "lookup ref {id}: {k} is not in the schema"
                    )));
                };
                if a.unique.is_none() {
                    return Err(Error::Invalid(format!(
                        "lookup ref {id}: {k} is not :db/unique"
                    )));
                }
                if lr[1].is_nil() {
                    return Ok(None);
                }
                self.lookup(a, &lr[1])
            }
            _ => Err(Error::Invalid(format!(
                "expected an entity id, a lookup ref or an ident, got {id}"
            ))),
        }
    }

    /// The AVE key (attribute id, then value part) under which `attr`'s datoms with value `v`
    /// are indexed: [`lookup_part`](Self::lookup_part) with the attribute id in front, built
    /// in one vector.
    pub fn lookup_key(&self, attr: &Attr, v: &Edn) -> Result<Option<Vec<u8>>> {
        let Some(value) = self.lookup_value(attr, v)? else {
            return Ok(None);
        };
        if let levin_codec::Value::Long(n) = &value {
            // A reference or a long (the usual lookup of a join, a `not`, a lookup ref):
            // its nine tagged bytes straight behind the attribute id.
            let enc = levin_codec::encode_tagged_long(*n);
            if enc.len() <= self.limit {
                let mut key = Vec::with_capacity(4 + enc.len());
                key.extend_from_slice(&layout::aid_bytes(attr.id));
                key.extend_from_slice(&enc);
                return Ok(Some(key));
            }
        }
        Ok(self
            .part_of(attr, &value)?
            .map(|part| layout::item(attr.id, &part)))
    }

    fn lookup(&self, a: &Attr, v: &Edn) -> Result<Option<u64>> {
        let Some(key) = self.lookup_key(a, v)? else {
            return Ok(None);
        };
        Ok(layout::entities_of(self.r, self.dbs, &key)?
            .first()
            .copied())
    }

    /// The values of `attr` on `e`, in index order.
    pub fn values(&self, e: u64, attr: &Attr) -> Result<Vec<Edn>> {
        let mut out = Vec::new();
        layout::for_each_item_of_attr(self.r, self.dbs, e, attr.id, |it| {
            let part = it.get(4..).ok_or_else(|| {
                Error::Corrupt(format!(
                    "an item of entity {e} is shorter than its attribute id"
                ))
            })?;
            out.push(self.part_edn(part)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Entities whose `attr` (a ref) points at `e`.
    pub fn referrers(&self, e: u64, attr: &Attr) -> Result<Vec<u64>> {
        let enc = layout::encode(&levin_codec::Value::Long(e as i64))
            .map_err(|err| Error::Corrupt(err.to_string()))?;
        layout::entities_of(self.r, self.dbs, &layout::item(attr.id, &enc))
    }

    /// `(attribute, value)` of every datom of `e`.
    pub fn entity_datoms(&self, e: u64) -> Result<Vec<(&'a Attr, Edn)>> {
        let mut out = Vec::new();
        layout::for_each_item_of(self.r, self.dbs, e, |it| {
            let (aid, part) = layout::split_item(it)?;
            out.push((self.attr_by_id(aid)?, self.part_edn(part)?));
            Ok(())
        })?;
        Ok(out)
    }
}

/// What a [`Db`] reads through: a snapshot it owns, or an open write transaction it
/// borrows (the view of an explicit transaction, which sees its own uncommitted writes).
enum Txn<'t> {
    Snapshot(RoTxn),
    Writer(&'t RwTxn),
}

/// A database value: the data as of one moment, with index access, pull and entities.
///
/// [`Conn::db`](crate::Conn::db) gives a snapshot (`Db<'static>`): it owns a read
/// transaction, so it sees the data as of when it was taken however long it lives, and it
/// can move to another thread (`Send`). [`Transaction::db`](crate::Transaction::db) gives a
/// view of an explicit write transaction that borrows it and sees its uncommitted writes.
/// Values read borrow nothing: they are decoded into [`Edn`].
pub struct Db<'t> {
    txn: Txn<'t>,
    dbs: Dbs,
    schema: Arc<Schema>,
    meta: Meta,
    /// [`Db::value_fanout`] by attribute id, sampled once per database: what it reads
    /// cannot change while this `Db` lives (a writer's view borrows the transaction).
    fanouts: RefCell<HashMap<u32, f64>>,
    /// [`Db::attr_count`] by attribute id, counted once per database, for the same reason.
    counts: RefCell<HashMap<u32, u64>>,
}

fn kw_arg(v: &Edn) -> Result<Keyword> {
    v.as_keyword()
        .cloned()
        .ok_or_else(|| Error::Invalid(format!("expected an attribute keyword, got {v}")))
}

impl std::fmt::Debug for Db<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("max_eid", &self.meta.max_eid)
            .finish_non_exhaustive()
    }
}

/// A database snapshot shared by a [`TxReport`](crate::TxReport) (its `db_before` and
/// `db_after`): cheap to clone, `Send` and `Sync`. A [`Db`] is not `Sync` (its read
/// transaction is one reader's), so threads sharing a snapshot take turns through
/// [`Snapshot::db`]; one that wants its own can call [`Snapshot::into_db`] or read another.
#[derive(Clone, Debug)]
pub struct Snapshot(Arc<std::sync::Mutex<Db<'static>>>);

impl Snapshot {
    pub(crate) fn new(db: Db<'static>) -> Snapshot {
        Snapshot(Arc::new(std::sync::Mutex::new(db)))
    }

    /// The database, held until the guard is dropped.
    pub fn db(&self) -> std::sync::MutexGuard<'_, Db<'static>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The database itself, if this is the last clone of the snapshot.
    pub fn into_db(self) -> Option<Db<'static>> {
        Arc::try_unwrap(self.0)
            .ok()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Db<'static> {
    /// A snapshot over `txn`; `cached` is the connection's schema and its generation, used
    /// unless the snapshot's schema is newer (then it is read from the snapshot).
    pub(crate) fn new(txn: RoTxn, dbs: Dbs, cached: (u64, Arc<Schema>)) -> Result<Db<'static>> {
        let meta = Meta::read(&txn, &dbs)?;
        let schema = if meta.schema_gen == cached.0 {
            cached.1
        } else {
            Arc::new(crate::schema_store::load_schema(&txn, &dbs)?)
        };
        Ok(Db {
            txn: Txn::Snapshot(txn),
            dbs,
            schema,
            meta,
            fanouts: RefCell::default(),
            counts: RefCell::default(),
        })
    }
}

impl<'t> Db<'t> {
    /// A view of the open write transaction `w`, whose schema and meta are `schema` and
    /// `meta` (the transaction's own, which may be ahead of what is committed).
    pub(crate) fn of_writer(w: &'t RwTxn, dbs: Dbs, schema: Arc<Schema>, meta: Meta) -> Db<'t> {
        Db {
            txn: Txn::Writer(w),
            dbs,
            schema,
            meta,
            fanouts: RefCell::default(),
            counts: RefCell::default(),
        }
    }

    /// The engine transaction under this database value.
    fn r(&self) -> &dyn Read {
        match &self.txn {
            Txn::Snapshot(t) => t,
            Txn::Writer(w) => *w,
        }
    }

    pub(crate) fn view(&self) -> View<'_> {
        View {
            r: self.r(),
            dbs: &self.dbs,
            schema: &self.schema,
            limit: self.meta.giant_limit,
        }
    }

    /// The values of `attr` on the entity `e`, in index order.
    pub fn attr_values(&self, e: u64, attr: &Attr) -> Result<Vec<Edn>> {
        self.view().values(e, attr)
    }

    /// The id of the last transaction this database shows (Datalevin's `max-tx`): the
    /// engine commit of a snapshot, or the open transaction's own id for a
    /// [`Transaction::db`](crate::Transaction::db) view. It is [`TxReport::tx`](crate::TxReport::tx)
    /// of the transaction that made it (schema changes and key-value writes count too).
    pub fn max_tx(&self) -> u64 {
        match &self.txn {
            Txn::Snapshot(t) => t.id(),
            Txn::Writer(w) => w.id(),
        }
    }

    /// The schema this snapshot was written with.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The largest entity id in use.
    pub fn max_eid(&self) -> u64 {
        self.meta.max_eid
    }

    /// Total number of datoms (O(1)).
    pub fn datom_count(&self) -> Result<u64> {
        Ok(self.r().len(&self.dbs.eav)?)
    }

    /// Value encodings longer than this many bytes are stored as giants.
    pub fn giant_limit(&self) -> usize {
        self.meta.giant_limit
    }

    /// The key-value transaction under this database (a snapshot, or the writer's own
    /// transaction for the view of an explicit transaction).
    pub fn kv(&self) -> &dyn Read {
        self.r()
    }

    /// Resolves an entity id, lookup ref `[attr value]` or ident keyword.
    pub fn entid(&self, id: &Edn) -> Result<Option<u64>> {
        self.view().entid(id)
    }

    /// The entity `id` names, if it has any datom.
    pub fn entity(&self, id: &Edn) -> Result<Option<Entity<'_>>> {
        match self.entid(id)? {
            Some(e) if self.r().list_count(&self.dbs.eav, &layout::eid_bytes(e))? > 0 => {
                Ok(Some(Entity::new(self, e)))
            }
            _ => Ok(None),
        }
    }

    /// Pulls `pattern` for the entity `id` (see [`crate::pull`]); `Edn::Nil` when nothing
    /// matches.
    pub fn pull(&self, pattern: &Edn, id: &Edn) -> Result<Edn> {
        crate::pull::pull(self, pattern, id)
    }

    /// [`Db::pull`] that fails with [`Error::Timeout`] once `deadline` has passed.
    pub fn pull_until(
        &self,
        pattern: &Edn,
        id: &Edn,
        deadline: Option<std::time::Instant>,
    ) -> Result<Edn> {
        crate::pull::pull_until(self, pattern, id, deadline)
    }

    /// Pulls `pattern` for each id, in order.
    pub fn pull_many(&self, pattern: &Edn, ids: &[Edn]) -> Result<Vec<Edn>> {
        crate::pull::pull_many(self, pattern, ids)
    }

    fn attr_arg(&self, v: &Edn) -> Result<Option<&Attr>> {
        Ok(self.schema.get(&kw_arg(v)?))
    }

    /// An entity component of an index read: as [`Db::entid`], but a lookup ref that
    /// finds nothing is an error (as in Datalevin), not an empty read.
    fn entid_arg(&self, v: &Edn) -> Result<Option<u64>> {
        match self.entid(v)? {
            None if matches!(v, Edn::Vector(_) | Edn::List(_)) => Err(Error::Invalid(format!(
                "nothing found for the lookup ref {v}: no entity has that value"
            ))),
            found => Ok(found),
        }
    }

    /// The datoms of `index` whose leading components equal `components` (for EAV:
    /// entity, attribute, value; for AVE: attribute, value, entity), in index order.
    pub fn datoms(&self, index: Index, components: &[Edn]) -> Result<Datoms<'_>> {
        self.plan_datoms(index, components)?.datoms()
    }

    /// The datoms of `index` from the position `components` names on, to the end, each
    /// component a lower bound of its own, as Datalevin reads them: `[e :a v]` on EAV is
    /// every datom of `:a` with an entity at or after `e` and a value at or after `v`;
    /// `[:a v e]` on AVE every datom of `:a` with a value at or after `v` and an entity at
    /// or after `e`; `[e]` every datom from entity `e` on.
    pub fn seek_datoms(&self, index: Index, components: &[Edn]) -> Result<Datoms<'_>> {
        self.plan_seek_datoms(index, components)?.datoms()
    }

    /// [`Db::seek_datoms`] backwards: from the position `components` names back to the
    /// start, in reverse index order, each component an upper bound (Datalevin's
    /// `rseek-datoms`).
    pub fn rseek_datoms(&self, index: Index, components: &[Edn]) -> Result<Datoms<'_>> {
        self.plan_rseek_datoms(index, components)?.datoms()
    }

    /// [`Db::datoms`] planned, not started: its count and its datoms (see [`DatomScan`]).
    pub fn plan_datoms(&self, index: Index, components: &[Edn]) -> Result<DatomScan<'_>> {
        Ok(DatomScan::new(self, index, self.scan(index, components)?))
    }

    /// [`Db::seek_datoms`] planned, not started.
    pub fn plan_seek_datoms(&self, index: Index, components: &[Edn]) -> Result<DatomScan<'_>> {
        Ok(DatomScan::new(
            self,
            index,
            self.seek_box(index, components, false)?,
        ))
    }

    /// [`Db::rseek_datoms`] planned, not started.
    pub fn plan_rseek_datoms(&self, index: Index, components: &[Edn]) -> Result<DatomScan<'_>> {
        Ok(DatomScan::new(
            self,
            index,
            self.seek_box(index, components, true)?,
        ))
    }

    /// The segments of `index` that `datoms` reads: the datoms whose leading components
    /// equal `c`.
    fn scan(&self, index: Index, c: &[Edn]) -> Result<Vec<Segment>> {
        if c.len() > 3 {
            return Err(Error::Invalid(format!(
                "an index has 3 components, got {}",
                c.len()
            )));
        }
        let Some(first) = c.first() else {
            return Ok(vec![Segment::Pairs(Range::all())]);
        };
        match index {
            Index::Eav => {
                let Some(e) = self.entid_arg(first)? else {
                    return Ok(vec![]);
                };
                let k = layout::eid_bytes(e);
                // The value range within entity e.
                let vr = match (c.get(1), c.get(2)) {
                    (None, _) => Range::all(),
                    (Some(a), v) => {
                        let Some(attr) = self.attr_arg(a)? else {
                            return Ok(vec![]);
                        };
                        match v {
                            None => Range::prefix(layout::aid_bytes(attr.id)),
                            Some(v) => match self.view().lookup_part(attr, v)? {
                                Some(p) => {
                                    let it = layout::item(attr.id, &p);
                                    Range::closed(it.clone(), it)
                                }
                                None => return Ok(vec![]),
                            },
                        }
                    }
                };
                Ok(vec![Segment::list(k.to_vec(), vr, false)])
            }
            Index::Ave => {
                let Some(attr) = self.attr_arg(first)? else {
                    return Ok(vec![]);
                };
                let Some(v) = c.get(1) else {
                    return Ok(vec![Segment::Pairs(Range::prefix(layout::aid_bytes(
                        attr.id,
                    )))]);
                };
                let Some(p) = self.view().lookup_part(attr, v)? else {
                    return Ok(vec![]);
                };
                let key = layout::item(attr.id, &p);
                let er = match c.get(2) {
                    None => Range::all(),
                    Some(e) => match self.entid_arg(e)? {
                        Some(e) => Range::closed(layout::eid_bytes(e), layout::eid_bytes(e)),
                        None => return Ok(vec![]),
                    },
                };
                Ok(vec![Segment::list(key, er, false)])
            }
        }
    }

    /// The segments of `index` that `seek_datoms` (or, with `reverse`, `rseek_datoms`)
    /// reads, as Datalevin reads them: from the position `c` names, onward in the read's
    /// direction, each given component a bound on its own. An attribute bounds the read to
    /// itself; an entity (EAV) or a value (AVE) bounds the keys; a value (EAV) or an entity
    /// (AVE) bounds each key's values: `[e :a v]` is every datom of `:a` whose entity is at
    /// or after `e` and whose value is at or after `v` (at or before, reversed).
    fn seek_box(&self, index: Index, c: &[Edn], reverse: bool) -> Result<Vec<Segment>> {
        use std::ops::Bound::Included;
        if c.len() > 3 {
            return Err(Error::Invalid(format!(
                "an index has 3 components, got {}",
                c.len()
            )));
        }
        let direct = |r: Range| if reverse { r.rev() } else { r };
        // The part of `within` from `b` on, in the read's direction.
        let from = |b: Vec<u8>, within: Range| {
            let mut r = within;
            if reverse {
                r.hi = Included(b);
            } else {
                r.lo = Included(b);
            }
            r
        };
        let Some(first) = c.first() else {
            return Ok(vec![Segment::Pairs(direct(Range::all()))]);
        };
        match index {
            Index::Eav => {
                let Some(e) = self.entid_arg(first)? else {
                    return Ok(vec![]);
                };
                let keys = from(layout::eid_bytes(e).to_vec(), Range::all());
                let Some(a) = c.get(1) else {
                    return Ok(vec![Segment::Pairs(direct(keys))]);
                };
                let Some(attr) = self.attr_arg(a)? else {
                    return Ok(vec![]);
                };
                let within = Range::prefix(layout::aid_bytes(attr.id));
                let values = match c.get(2) {
                    None => within,
                    Some(v) => from(self.position_of(attr, v)?, within),
                };
                Ok(vec![Segment::Bounded {
                    keys: direct(keys),
                    values,
                }])
            }
            Index::Ave => {
                let Some(attr) = self.attr_arg(first)? else {
                    return Ok(vec![]);
                };
                let within = Range::prefix(layout::aid_bytes(attr.id));
                let keys = match c.get(1) {
                    None => within,
                    Some(v) => from(self.position_of(attr, v)?, within),
                };
                let Some(e) = c.get(2) else {
                    return Ok(vec![Segment::Pairs(direct(keys))]);
                };
                let Some(e) = self.entid_arg(e)? else {
                    return Ok(vec![]);
                };
                Ok(vec![Segment::Bounded {
                    keys: direct(keys),
                    values: from(layout::eid_bytes(e).to_vec(), Range::all()),
                }])
            }
        }
    }

    /// Where value `v` of `attr` is, or would be, in the index: its stored part, else its
    /// encoding (cut to the giant limit, as stored values are).
    fn position_of(&self, attr: &Attr, v: &Edn) -> Result<Vec<u8>> {
        if let Some(p) = self.view().lookup_part(attr, v)? {
            return Ok(layout::item(attr.id, &p));
        }
        let value = convert::to_value(attr, v)?;
        let enc = layout::encode(&value).map_err(|err| Error::Invalid(err.to_string()))?;
        Ok(layout::item(
            attr.id,
            &enc[..enc.len().min(self.meta.giant_limit)],
        ))
    }

    /// The datoms of `attr` with values in `[lo, hi]` (either bound optional), in value
    /// order (AVE).
    pub fn index_range(
        &self,
        attr: &Keyword,
        lo: Option<&Edn>,
        hi: Option<&Edn>,
    ) -> Result<Datoms<'_>> {
        self.plan_index_range(attr, lo, hi)?.datoms()
    }

    /// [`Db::index_range`] planned, not started.
    pub fn plan_index_range(
        &self,
        attr: &Keyword,
        lo: Option<&Edn>,
        hi: Option<&Edn>,
    ) -> Result<DatomScan<'_>> {
        let segments = match self.value_range(attr, lo, hi)? {
            Some(range) => vec![Segment::Pairs(range)],
            None => vec![],
        };
        Ok(DatomScan::new(self, Index::Ave, segments))
    }

    /// The engine's database of `index`.
    pub(crate) fn index_db(&self, index: Index) -> &levin_engine::Db {
        match index {
            Index::Eav => &self.dbs.eav,
            Index::Ave => &self.dbs.ave,
        }
    }

    fn bound_key(&self, attr: &Attr, v: &Edn) -> Result<Vec<u8>> {
        let value = if attr.is_ref() {
            let e = self
                .entid(v)?
                .ok_or_else(|| Error::Invalid(format!("no entity {v}")))?;
            levin_codec::Value::Long(e as i64)
        } else {
            convert::to_value(attr, v)
                .map_err(|m| Error::Invalid(format!("{}: {m}", attr.ident)))?
        };
        let enc = layout::encode(&value).map_err(|err| Error::Invalid(err.to_string()))?;
        Ok(layout::item(
            attr.id,
            &enc[..enc.len().min(self.meta.giant_limit)],
        ))
    }

    fn value_range(
        &self,
        attr: &Keyword,
        lo: Option<&Edn>,
        hi: Option<&Edn>,
    ) -> Result<Option<Range>> {
        match self.schema.get(attr) {
            Some(a) => self.attr_value_range(a, lo, hi),
            None => Ok(None),
        }
    }

    /// The AVE key range of `a`'s values in `[lo, hi]`.
    pub fn attr_value_range(
        &self,
        a: &Attr,
        lo: Option<&Edn>,
        hi: Option<&Edn>,
    ) -> Result<Option<Range>> {
        let prefix = layout::aid_bytes(a.id);
        let mut range = Range::prefix(prefix);
        if let Some(lo) = lo {
            range.lo = std::ops::Bound::Included(self.bound_key(a, lo)?);
        }
        if let Some(hi) = hi {
            let mut k = self.bound_key(a, hi)?;
            // Include giants whose prefix equals the bound.
            if k.len() - 4 == self.meta.giant_limit {
                k.extend_from_slice(&[0xFF; layout::GID_LEN]);
            }
            range.hi = std::ops::Bound::Included(k);
        }
        Ok(Some(range))
    }

    /// Number of datoms `datoms(index, components)` would return: O(log n) for every shape,
    /// counted in the tree over the segments the read would walk ([`DatomScan::count`]).
    pub fn count_datoms(&self, index: Index, c: &[Edn]) -> Result<u64> {
        self.plan_datoms(index, c)?.count()
    }

    /// Whether every value of the untyped attribute `a` has the same type as `v` (compared
    /// through two O(log n) counts: values with `v`'s type tag against all values). Then
    /// the value order of the index is the comparison order of query predicates.
    pub fn values_all_like(&self, a: &Attr, v: &Edn) -> Result<bool> {
        let Ok(value) = convert::to_value(a, v) else {
            return Ok(false);
        };
        let prefix = layout::aid_bytes(a.id);
        let mut tagged = prefix.to_vec();
        tagged.push(value.tag());
        let all = self.r().count(&self.dbs.ave, &Range::prefix(prefix))?;
        let like = self.r().count(&self.dbs.ave, &Range::prefix(tagged))?;
        Ok(all == like)
    }

    /// Estimated datoms per distinct value of `a` (how many entities a bound value joins
    /// to), from a sample: 32 evenly spaced datoms of the attribute are read by rank, each
    /// with its value's entity count `s`; the number of distinct values is then about
    /// `N * mean(1/s)` for `N` datoms. O(32 log n) the first time, remembered for the
    /// life of this `Db`. 1 for an empty attribute.
    pub fn value_fanout(&self, a: &Attr) -> Result<f64> {
        if let Some(&f) = self.fanouts.borrow().get(&a.id) {
            return Ok(f);
        }
        let f = self.sample_fanout(a)?;
        self.fanouts.borrow_mut().insert(a.id, f);
        Ok(f)
    }

    /// [`value_fanout`](Self::value_fanout), sampled.
    fn sample_fanout(&self, a: &Attr) -> Result<f64> {
        const SAMPLES: u64 = 32;
        let prefix = layout::aid_bytes(a.id);
        let n = self.r().count(&self.dbs.ave, &Range::prefix(prefix))?;
        if n == 0 {
            return Ok(1.0);
        }
        if n <= 4 * SAMPLES {
            // Few datoms: count the distinct values exactly, in one pass.
            let mut distinct = 0u64;
            for key in self.r().keys(&self.dbs.ave, Range::prefix(prefix))? {
                key?;
                distinct += 1;
            }
            return Ok((n as f64 / distinct.max(1) as f64).max(1.0));
        }
        let start = self.r().count(&self.dbs.ave, &Range::less_than(prefix))?;
        let k = SAMPLES.min(n);
        let mut inverse_sum = 0.0;
        for i in 0..k {
            let rank = start + (2 * i + 1) * n / (2 * k);
            let Some((key, _)) = self.r().get_by_rank(&self.dbs.ave, rank)? else {
                continue;
            };
            let s = self.r().list_count(&self.dbs.ave, key)?.max(1);
            inverse_sum += 1.0 / s as f64;
        }
        let distinct = (n as f64 * inverse_sum / k as f64).max(1.0);
        Ok((n as f64 / distinct).max(1.0))
    }

    /// Number of datoms of `attr` with values in `[lo, hi]` (O(log n)).
    pub fn count_range(&self, attr: &Keyword, lo: Option<&Edn>, hi: Option<&Edn>) -> Result<u64> {
        match self.value_range(attr, lo, hi)? {
            Some(range) => Ok(self.r().count(&self.dbs.ave, &range)?),
            None => Ok(0),
        }
    }

    /// Number of distinct entities that have `attr` — exact for cardinality one (O(log n)
    /// the first time, remembered for the life of this `Db`), the datom count (an upper
    /// bound) for cardinality many.
    pub fn attr_count(&self, attr: &Keyword) -> Result<u64> {
        match self.schema.get(attr) {
            Some(a) => {
                if let Some(&n) = self.counts.borrow().get(&a.id) {
                    return Ok(n);
                }
                let n = self
                    .r()
                    .count(&self.dbs.ave, &Range::prefix(layout::aid_bytes(a.id)))?;
                self.counts.borrow_mut().insert(a.id, n);
                Ok(n)
            }
            None => Ok(0),
        }
    }

    /// Number of distinct values of `attr` (Datalevin's `cardinality`); 0 for an
    /// attribute the schema lacks. O(distinct values).
    pub fn cardinality(&self, attr: &Keyword) -> Result<u64> {
        let Some(a) = self.schema.get(attr) else {
            return Ok(0);
        };
        let mut n = 0;
        for key in self
            .r()
            .keys(&self.dbs.ave, Range::prefix(layout::aid_bytes(a.id)))?
        {
            key?;
            n += 1;
        }
        Ok(n)
    }

    /// The datoms matching entity `e`, attribute `a` and value `v`, each `None` for any
    /// (Datalevin's `search-datoms`). The index follows from what is given: EAV when `e`
    /// is, AVE when `a` is and `e` is not, and a scan of EAV keeping value `v` when only
    /// `v` is. `e` may be an id, a lookup ref or an ident; for a ref attribute `v` may be
    /// one too. Nothing matches an entity that does not exist.
    pub fn search_datoms(
        &self,
        e: Option<&Edn>,
        a: Option<&Edn>,
        v: Option<&Edn>,
    ) -> Result<Datoms<'_>> {
        let e = match e {
            None => None,
            Some(x) => match self.entid(x)? {
                Some(n) => Some(Edn::Long(n as i64)),
                None => return Ok(Box::new(std::iter::empty())),
            },
        };
        match (e, a, v) {
            (Some(e), Some(a), Some(v)) => self.datoms(Index::Eav, &[e, a.clone(), v.clone()]),
            (Some(e), Some(a), None) => self.datoms(Index::Eav, &[e, a.clone()]),
            (Some(e), None, None) => self.datoms(Index::Eav, &[e]),
            (None, Some(a), Some(v)) => self.datoms(Index::Ave, &[a.clone(), v.clone()]),
            (None, Some(a), None) => self.datoms(Index::Ave, std::slice::from_ref(a)),
            (e, None, Some(v)) => {
                let all = match e {
                    Some(e) => self.datoms(Index::Eav, &[e])?,
                    None => self.datoms(Index::Eav, &[])?,
                };
                let v = v.clone();
                Ok(Box::new(all.filter(move |d| match d {
                    Ok(d) => d.v == v,
                    Err(_) => true,
                })))
            }
            (None, None, None) => self.datoms(Index::Eav, &[]),
        }
    }

    /// Whether `attr` is a ref attribute.
    pub fn is_ref(&self, attr: &Keyword) -> bool {
        self.schema
            .get(attr)
            .is_some_and(|a| a.value_type == Some(AttrType::Ref))
    }

    /// Whether `attr` is unique (either kind).
    pub fn is_unique(&self, attr: &Keyword) -> Option<Unique> {
        self.schema.get(attr).and_then(|a| a.unique)
    }
}

#[cfg(test)]
mod lookup_key_tests {
    use crate::{layout, Conn};
    use levin_edn::{read, Keyword};

    /// `lookup_key`'s path for longs and entity ids gives what the general path gives: the
    /// value part of `lookup_part` behind the attribute id, or nothing for both.
    #[test]
    fn lookup_key_is_the_item_of_lookup_part() {
        let dir = tempfile::tempdir().unwrap();
        let schema = "{:email {:db/unique :db.unique/identity}
                       :owner {:db/valueType :db.type/ref}
                       :n {:db/valueType :db.type/long}
                       :x {:db/valueType :db.type/double}
                       :any {}}";
        let c = Conn::open(dir.path(), schema).unwrap();
        c.transact_str(
            "[{:db/id 1 :email \"a@x\" :n 5 :x 5.0 :any 7}
              {:db/id 2 :email \"b@x\" :owner 1 :any \"s\" :n -3}]",
        )
        .unwrap();
        let db = c.db().unwrap();
        let view = db.view();
        let values = [
            "1",
            "2",
            "99",
            "-4",
            "0",
            "5",
            "-3",
            "5.0",
            "7",
            "\"s\"",
            "nil",
            ":kw",
            "[:email \"a@x\"]",
            "[:email \"none\"]",
            "9223372036854775807",
        ];
        for name in ["owner", "n", "x", "any", "email"] {
            let attr = db.schema().get(&Keyword::new(None, name)).unwrap();
            for text in values {
                let v = read(text).unwrap();
                let general = view
                    .lookup_part(attr, &v)
                    .map(|p| p.map(|p| layout::item(attr.id, &p)));
                let key = view.lookup_key(attr, &v);
                match (key, general) {
                    (Ok(k), Ok(g)) => assert_eq!(k, g, ":{name} {text}"),
                    (Err(_), Err(_)) => {}
                    (k, g) => panic!(":{name} {text}: {k:?} against {g:?}"),
                }
            }
        }
    }
}
