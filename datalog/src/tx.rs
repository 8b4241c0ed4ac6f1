//! Transactions: parsing tx forms (entity maps, `:db/add`, `:db/retract`,
//! `:db/retractEntity`, `:db.fn/retractAttribute`, `:db/cas`), resolving tempids, lookup
//! refs and identity upserts, then applying the datoms to EAV/AVE in one KV write
//! transaction, enforcing the schema; and the [`TxReport`].

mod fresh;
mod writes;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use levin_codec::Value;
use levin_engine::{Read, RwTxn};
use rustc_hash::FxHashMap;

use crate::convert;
use crate::db::{Datom, Snapshot, View};
use crate::error::{Error, Result};
use crate::layout::{self, Dbs, Meta};
use crate::schema::{reverse_of, Attr, Schema, Unique};
use levin_edn::{Edn, Keyword};

use writes::{Fresh, Writes};

/// Identity values a transaction asserts for known entities, by (attribute id, encoded
/// value): the index of the first operation asserting each, and its entity.
type IdentityAssertions = HashMap<(u32, Vec<u8>), (usize, u64)>;

/// What a transaction did.
///
/// `db_before` and `db_after` are set on reports of [`Conn::transact`](crate::Conn::transact)
/// and its variants: snapshots of the database just before and just after the commit (each
/// holds a read transaction, so keeping a report keeps its two versions readable). Reports
/// of calls inside an explicit [`Transaction`](crate::Transaction) have neither, as nothing
/// is committed yet; [`Conn::with`](crate::Conn::with) hands over the speculative database
/// separately.
#[derive(Debug, Clone)]
pub struct TxReport {
    /// The datoms asserted and retracted, in the order they were applied.
    pub tx_data: Vec<Datom>,
    /// Each tempid of the transaction (string or negative number) and its entity id;
    /// `:db/current-tx` is here when the transaction used it as an entity.
    pub tempids: Vec<(Edn, u64)>,
    /// The largest entity id after the transaction.
    pub max_eid: u64,
    /// The transaction's id: the engine transaction it commits in (several reports share
    /// one in an explicit transaction). Datalevin calls it `:db/current-tx`.
    pub tx: u64,
    /// The metadata given to [`Conn::transact_with_meta`](crate::Conn::transact_with_meta)
    /// (Datalevin's `:tx-meta`); not stored in the database.
    pub tx_meta: Option<Edn>,
    /// The database as of just before the transaction.
    pub db_before: Option<Snapshot>,
    /// The database as of just after the commit.
    pub db_after: Option<Snapshot>,
}

/// Reports are equal when their data are: the snapshots are compared by whether they are
/// present, not by content.
impl PartialEq for TxReport {
    fn eq(&self, o: &TxReport) -> bool {
        self.tx_data == o.tx_data
            && self.tempids == o.tempids
            && self.max_eid == o.max_eid
            && self.tx == o.tx
            && self.tx_meta == o.tx_meta
            && self.db_before.is_some() == o.db_before.is_some()
            && self.db_after.is_some() == o.db_after.is_some()
    }
}

impl Eq for TxReport {}

impl TxReport {
    /// The entity id a tempid resolved to.
    pub fn tempid(&self, t: &Edn) -> Option<u64> {
        self.tempids.iter().find(|(k, _)| k == t).map(|(_, e)| *e)
    }

    /// `{:tx-data [[e a v] [e a v false] ...] :tempids {"t" 1 :db/current-tx tx} :max-eid n}`,
    /// with `:tx-meta` when there is metadata. `:db/current-tx` is the entity the
    /// transaction used as `:db/current-tx` if it did, else the transaction's id.
    pub fn to_edn(&self) -> Edn {
        let current = Edn::kw("db", "current-tx");
        let has_current = self.tempids.iter().any(|(k, _)| *k == current);
        let mut m = vec![
            (
                Edn::kw("", "tx-data"),
                Edn::Vector(self.tx_data.iter().map(Datom::to_edn).collect()),
            ),
            (
                Edn::kw("", "tempids"),
                Edn::Map(
                    self.tempids
                        .iter()
                        .map(|(k, e)| (k.clone(), Edn::Long(*e as i64)))
                        .chain((!has_current).then(|| (current.clone(), Edn::Long(self.tx as i64))))
                        .collect(),
                ),
            ),
            (Edn::kw("", "max-eid"), Edn::Long(self.max_eid as i64)),
        ];
        if let Some(meta) = &self.tx_meta {
            m.push((Edn::kw("", "tx-meta"), meta.clone()));
        }
        Edn::Map(m)
    }
}

/// Connection options that change how a transaction runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TxOpts {
    /// Refuse attributes the schema lacks instead of adding them untyped.
    pub closed_schema: bool,
    /// Stamp `:db/created-at` / `:db/updated-at` (milliseconds since the epoch) on the
    /// entities the transaction changes.
    pub entity_time: Option<i64>,
}

/// An entity in a form: a known id or a tempid (index into the tempid table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum E {
    Id(u64),
    Temp(usize),
}

/// A value in a form: plain (borrowed from the transaction, or boxed when made up while
/// parsing, to keep ops small), or an entity (for refs).
#[derive(Debug, Clone)]
enum V<'f> {
    Val(&'f Edn),
    Own(Box<Edn>),
    Ref(E),
}

/// One operation; attributes and values borrow from the transaction's forms, and `form`
/// is the form it came from (for error messages).
#[derive(Debug)]
enum Op<'f> {
    Add {
        e: E,
        /// The attribute's slot in [`Tx::slots`].
        slot: usize,
        v: V<'f>,
        form: &'f Edn,
    },
    Retract {
        e: E,
        a: &'f Keyword,
        v: Option<V<'f>>,
        form: &'f Edn,
    },
    RetractAttr {
        e: E,
        a: &'f Keyword,
    },
    RetractEntity {
        e: E,
    },
    Cas {
        e: E,
        a: &'f Keyword,
        old: Option<V<'f>>,
        new: V<'f>,
        form: &'f Edn,
    },
}

struct Temp {
    name: Option<Edn>,
    eid: Option<u64>,
    used_as_entity: bool,
}

/// A transaction in progress over a KV write transaction, reading forms that live for `'f`.
pub(crate) struct Tx<'w, 'f> {
    w: &'w mut RwTxn,
    dbs: &'w Dbs,
    schema: &'w mut Schema,
    meta: Meta,
    temps: Vec<Temp>,
    temp_names: HashMap<Edn, usize>,
    ops: Vec<Op<'f>>,
    tx_data: Vec<Datom>,
    tuples_touched: BTreeSet<(u64, Keyword)>,
    new_attrs: Vec<Keyword>,
    /// The slot in `slots` of each attribute keyword met, filled on first use.
    attrs: FxHashMap<Keyword, usize>,
    /// Attribute definitions as shared values: `(true, the schema's)` or, for a keyword
    /// the schema lacks, `(false, an untyped one with id 0)`. The schema changes during a
    /// transaction only through [`Tx::ensure_slot`], which updates the slot.
    slots: Vec<(bool, Rc<Attr>)>,
    /// Whether any attribute is a composite tuple (new attributes never are).
    has_tuples: bool,
    /// Index writes not yet made, and the items of entities new to the database.
    writes: Writes,
    /// Scratch buffer for encoding datoms.
    buf: Vec<u8>,
    opts: TxOpts,
    /// Values given for unique composite tuples in entity maps: they only identify the
    /// entity (the tuple itself is computed from its parts).
    tuple_keys: Vec<(E, Keyword, &'f Edn, &'f Edn)>,
}

fn is_lookup_ref(schema: &Schema, v: &Edn) -> bool {
    match v.as_seq() {
        Some([Edn::Keyword(k), _]) => schema.get(k).is_some_and(|a| a.unique.is_some()),
        _ => false,
    }
}

impl<'w, 'f> Tx<'w, 'f> {
    pub fn new(w: &'w mut RwTxn, dbs: &'w Dbs, schema: &'w mut Schema, meta: Meta) -> Self {
        let has_tuples = schema.attrs().any(|a| a.tuple_attrs.is_some());
        Tx {
            w,
            dbs,
            schema,
            meta,
            temps: Vec::new(),
            temp_names: HashMap::new(),
            ops: Vec::new(),
            tx_data: Vec::new(),
            tuples_touched: BTreeSet::new(),
            new_attrs: Vec::new(),
            attrs: FxHashMap::default(),
            slots: Vec::new(),
            has_tuples,
            writes: Writes::new(u64::MAX, 0, 0),
            buf: Vec::new(),
            opts: TxOpts::default(),
            tuple_keys: Vec::new(),
        }
    }

    pub fn with_opts(mut self, opts: TxOpts) -> Self {
        self.opts = opts;
        self
    }

    fn view(&self) -> View<'_> {
        View {
            r: &*self.w,
            dbs: self.dbs,
            schema: self.schema,
            limit: self.meta.giant_limit,
        }
    }

    /// Runs the whole transaction; the caller commits on `Ok`.
    pub fn run(mut self, tx: &'f Edn) -> Result<(TxReport, Meta, Vec<Keyword>)> {
        let forms = tx.as_seq().ok_or_else(|| {
            Error::tx(
                tx,
                format!("a transaction is a vector of forms, got {}", tx.type_name()),
            )
        })?;
        for f in forms {
            self.parse_form(f)?;
        }
        self.resolve_tempids()?;
        // The largest entity id with an EAV entry: those above it have no datom yet.
        let last = match self.w.last(&self.dbs.eav)? {
            Some((k, _)) => layout::eid_of(k)?,
            None => 0,
        };
        self.writes = Writes::new(last, self.meta.max_eid, self.ops.len());
        self.tx_data.reserve(self.ops.len());
        let ops = std::mem::take(&mut self.ops);
        for op in &ops {
            self.apply(op)?;
        }
        if let Some(now) = self.opts.entity_time {
            self.stamp_entities(now)?;
        }
        self.update_tuples()?;
        self.flush()?;
        if !self.new_attrs.is_empty() {
            self.meta.schema_gen += 1;
        }
        self.meta.write(self.w, self.dbs)?;
        for k in &self.new_attrs {
            if let Some(a) = self.schema.get(k) {
                crate::schema_store::store_attr(self.w, self.dbs, a)?;
            }
        }
        let mut tempids = Vec::new();
        for t in &self.temps {
            if let (Some(n), Some(e)) = (&t.name, t.eid) {
                tempids.push((n.clone(), e));
            }
        }
        let report = TxReport {
            tx_data: self.tx_data,
            tempids,
            max_eid: self.meta.max_eid,
            tx: self.w.id(),
            tx_meta: None,
            db_before: None,
            db_after: None,
        };
        Ok((report, self.meta, self.new_attrs))
    }

    // ---- parsing -------------------------------------------------------------------

    fn temp(&mut self, name: Option<Edn>) -> E {
        if let Some(n) = &name {
            if let Some(&i) = self.temp_names.get(n) {
                return E::Temp(i);
            }
            self.temp_names.insert(n.clone(), self.temps.len());
        }
        self.temps.push(Temp {
            name,
            eid: None,
            used_as_entity: false,
        });
        E::Temp(self.temps.len() - 1)
    }

    fn entity_ref(&mut self, id: &Edn, form: &Edn) -> Result<E> {
        match id {
            Edn::Long(n) if *n > 0 && *n as u64 > layout::MAX_EID => Err(Error::tx(
                form,
                format!(
                    "entity id {n} is too large: ids go up to {} so that new entities \
                     can still be numbered after it",
                    layout::MAX_EID
                ),
            )),
            Edn::Long(n) if *n > 0 => Ok(E::Id(*n as u64)),
            Edn::Long(n) if *n < 0 => Ok(self.temp(Some(id.clone()))),
            // The transaction's own entity (for transaction metadata): a new entity,
            // reported as the tempid :db/current-tx.
            Edn::Keyword(k) if k.is("db", "current-tx") => {
                let e = self.temp(Some(id.clone()));
                self.mark_entity(e);
                Ok(e)
            }
            Edn::String(_) => Ok(self.temp(Some(id.clone()))),
            Edn::Keyword(_) | Edn::Vector(_) | Edn::List(_) => match self.view().entid(id) {
                Ok(Some(e)) => Ok(E::Id(e)),
                Ok(None) if matches!(id, Edn::Keyword(_)) => {
                    Err(Error::tx(form, format!("no entity has :db/ident {id}")))
                }
                Ok(None) => Err(Error::LookupRef(id.to_string())),
                Err(Error::Invalid(m)) => Err(Error::tx(form, m)),
                Err(e) => Err(e),
            },
            _ => Err(Error::tx(
                form,
                format!(
                    "expected an entity id, tempid, lookup ref or ident, got {} {id}",
                    id.type_name()
                ),
            )),
        }
    }

    fn mark_entity(&mut self, e: E) {
        if let E::Temp(i) = e {
            self.temps[i].used_as_entity = true;
        }
    }

    /// The schema's definition of `k`, if any.
    fn known_attr(&mut self, k: &Keyword) -> Option<Rc<Attr>> {
        let i = self.slot_of(k);
        match &self.slots[i] {
            (true, a) => Some(a.clone()),
            (false, _) => None,
        }
    }

    /// The definition of `k`, or an untyped one (id 0) if the schema lacks it.
    fn attr_of(&mut self, k: &Keyword) -> Rc<Attr> {
        let i = self.slot_of(k);
        self.slots[i].1.clone()
    }

    /// The slot of `k` in `slots`.
    fn slot_of(&mut self, k: &Keyword) -> usize {
        if let Some(&i) = self.attrs.get(k) {
            return i;
        }
        let a = match self.schema.get(k) {
            Some(a) => (true, Rc::new(a.clone())),
            None => (false, Rc::new(Attr::untyped(k.clone()))),
        };
        self.slots.push(a);
        self.attrs.insert(k.clone(), self.slots.len() - 1);
        self.slots.len() - 1
    }

    fn value(&mut self, attr: &Attr, v: Cow<'f, Edn>, form: &'f Edn) -> Result<V<'f>> {
        if v.is_nil() {
            return Err(Error::tx(
                form,
                format!("nil is not a valid value for {}", attr.ident),
            ));
        }
        if attr.is_ref() {
            return Ok(V::Ref(match v {
                Cow::Borrowed(m) if m.as_map().is_some() => self.explode(m, Some(attr))?,
                v => self.entity_ref(&v, form)?,
            }));
        }
        Ok(match v {
            Cow::Borrowed(x) => V::Val(x),
            Cow::Owned(x) => V::Own(Box::new(x)),
        })
    }

    fn parse_form(&mut self, f: &'f Edn) -> Result<()> {
        if f.as_map().is_some() {
            self.explode(f, None)?;
            return Ok(());
        }
        let Some(items) = f.as_seq() else {
            return Err(Error::tx(
                f,
                format!(
                    "expected an entity map or a [:db/add ...] form, got {}",
                    f.type_name()
                ),
            ));
        };
        let Some(op) = items.first().and_then(Edn::as_keyword) else {
            return Err(Error::tx(f, "a form starts with an operation keyword"));
        };
        let name = (op.namespace().unwrap_or(""), op.name());
        let arity = |n: &[usize]| -> Result<()> {
            if n.contains(&items.len()) {
                Ok(())
            } else {
                Err(Error::tx(f, format!("wrong number of arguments for {op}")))
            }
        };
        let attr_kw = |x: &'f Edn| -> Result<&'f Keyword> {
            x.as_keyword()
                .ok_or_else(|| Error::tx(f, format!("expected an attribute keyword, got {x}")))
        };
        match name {
            ("db", "add") => {
                arity(&[4])?;
                let e = self.entity_ref(&items[1], f)?;
                self.mark_entity(e);
                let mut a = Cow::Borrowed(attr_kw(&items[2])?);
                let mut e = e;
                let mut v = Cow::Borrowed(&items[3]);
                if let Some(fwd) = reverse_of(&a) {
                    // [:db/add e :ns/_attr v] == [:db/add v :ns/attr e]
                    let target = self.entity_ref(&v, f)?;
                    self.mark_entity(target);
                    v = Cow::Owned(match e {
                        E::Id(n) => Edn::Long(n as i64),
                        E::Temp(i) => self.temps[i].name.clone().unwrap_or(Edn::Nil),
                    });
                    e = target;
                    a = Cow::Owned(fwd);
                }
                let slot = self.slot_of(&a);
                let attr = self.slots[slot].1.clone();
                self.check_writable(&attr, f)?;
                let v = self.value(&attr, v, f)?;
                self.ops.push(Op::Add {
                    e,
                    slot,
                    v,
                    form: f,
                });
            }
            ("db", "retract") => {
                arity(&[3, 4])?;
                // Retracting through a lookup ref that finds nothing retracts nothing
                // (as Datalevin), but an entity named as the value of a ref attribute must
                // still resolve, as in Datalevin: a lookup ref there that finds nothing
                // refuses the transaction, and a tempid there is one used only as a value.
                let e = match self.entity_ref(&items[1], f) {
                    Err(Error::LookupRef(_)) => {
                        let is_ref = items[2]
                            .as_keyword()
                            .and_then(|a| self.schema.get(a))
                            .is_some_and(|a| a.is_ref());
                        if let (true, Some(v)) = (is_ref, items.get(3)) {
                            let named = is_lookup_ref(self.schema, v)
                                || matches!(v, Edn::String(_))
                                || matches!(v, Edn::Long(n) if *n < 0);
                            if named {
                                self.entity_ref(v, f)?;
                            }
                        }
                        return Ok(());
                    }
                    r => r?,
                };
                let a = attr_kw(&items[2])?;
                let attr = self.attr_of(a);
                let v = match items.get(3) {
                    None | Some(Edn::Nil) => None,
                    Some(v) => Some(self.value(&attr, Cow::Borrowed(v), f)?),
                };
                self.ops.push(Op::Retract { e, a, v, form: f });
            }
            ("db.fn", "retractAttribute") | ("db", "retractAttribute") => {
                arity(&[3])?;
                let e = self.entity_ref(&items[1], f)?;
                let a = attr_kw(&items[2])?;
                self.ops.push(Op::RetractAttr { e, a });
            }
            ("db.fn", "retractEntity") | ("db", "retractEntity") => {
                arity(&[2])?;
                let e = match self.entity_ref(&items[1], f) {
                    Err(Error::LookupRef(_)) => return Ok(()),
                    r => r?,
                };
                self.ops.push(Op::RetractEntity { e });
            }
            ("db.fn", "cas") | ("db", "cas") => {
                arity(&[5])?;
                let e = self.entity_ref(&items[1], f)?;
                let a = attr_kw(&items[2])?;
                let attr = self.attr_of(a);
                self.check_writable(&attr, f)?;
                let old = match &items[3] {
                    Edn::Nil => None,
                    v => Some(self.value(&attr, Cow::Borrowed(v), f)?),
                };
                let new = self.value(&attr, Cow::Borrowed(&items[4]), f)?;
                self.ops.push(Op::Cas {
                    e,
                    a,
                    old,
                    new,
                    form: f,
                });
            }
            _ => {
                return Err(Error::tx(
                    f,
                    format!("unknown operation {op} (expected :db/add, :db/retract, :db/retractEntity, :db.fn/retractAttribute, :db/cas, :db.fn/call or a transaction function registered with Conn::register_tx_fn)"),
                ))
            }
        }
        Ok(())
    }

    fn check_writable(&self, attr: &Attr, form: &Edn) -> Result<()> {
        if attr.tuple_attrs.is_some() {
            return Err(Error::tx(
                form,
                format!(
                    "{} is a composite tuple, kept up to date from its :db/tupleAttrs; it cannot be written directly",
                    attr.ident
                ),
            ));
        }
        Ok(())
    }

    /// Explodes an entity map into `:db/add` ops; returns the entity.
    fn explode(&mut self, m: &'f Edn, parent: Option<&Attr>) -> Result<E> {
        let entries = m.as_map().unwrap_or(&[]);
        let e = match m.get_kw("db", "id") {
            Some(id) => self.entity_ref(id, m)?,
            None => self.temp(None),
        };
        self.mark_entity(e);
        if parent.is_some() && entries.len() == usize::from(m.get_kw("db", "id").is_some()) {
            return Ok(e);
        }
        for (k, v) in entries {
            let Some(k) = k.as_keyword() else {
                return Err(Error::tx(m, format!("attribute {k} is not a keyword")));
            };
            if k.is("db", "id") {
                continue;
            }
            if let Some(fwd) = reverse_of(k) {
                let slot = self.slot_of(&fwd);
                let attr = self.slots[slot].1.clone();
                if !attr.is_ref() {
                    return Err(Error::tx(
                        m,
                        format!("{k}: reverse attributes need {fwd} to be a ref"),
                    ));
                }
                let targets: &'f [Edn] = match v {
                    Edn::Vector(xs) | Edn::List(xs) | Edn::Set(xs)
                        if !is_lookup_ref(self.schema, v) =>
                    {
                        xs
                    }
                    x => std::slice::from_ref(x),
                };
                for t in targets {
                    let te = if t.as_map().is_some() {
                        self.explode(t, None)?
                    } else {
                        self.entity_ref(t, m)?
                    };
                    self.mark_entity(te);
                    self.ops.push(Op::Add {
                        e: te,
                        slot,
                        v: V::Ref(e),
                        form: m,
                    });
                }
                continue;
            }
            let slot = self.slot_of(k);
            let attr = self.slots[slot].1.clone();
            if attr.tuple_attrs.is_some() && attr.unique == Some(Unique::Identity) {
                self.tuple_keys.push((e, k.clone(), v, m));
                continue;
            }
            self.check_writable(&attr, m)?;
            let multi = attr.is_many()
                && matches!(v, Edn::Vector(_) | Edn::List(_) | Edn::Set(_))
                && !(attr.is_ref() && is_lookup_ref(self.schema, v));
            let values: &'f [Edn] = match v {
                Edn::Vector(xs) | Edn::List(xs) | Edn::Set(xs) if multi => xs,
                x => std::slice::from_ref(x),
            };
            for x in values {
                let val = self.value(&attr, Cow::Borrowed(x), m)?;
                self.ops.push(Op::Add {
                    e,
                    slot,
                    v: val,
                    form: m,
                });
            }
        }
        Ok(e)
    }

    // ---- tempids -------------------------------------------------------------------

    fn resolved(&self, e: E) -> Option<u64> {
        match e {
            E::Id(n) => Some(n),
            E::Temp(i) => self.temps[i].eid,
        }
    }

    /// The encoded value of `v` for `attr` if it can be known now.
    fn known_value(&self, attr: &Attr, v: &V) -> Option<Value> {
        let x = match v {
            V::Ref(e) => return self.resolved(*e).map(|n| Value::Long(n as i64)),
            V::Val(x) => x,
            V::Own(x) => &**x,
        };
        if attr.is_ref() {
            let n = self.view().entid(x).ok().flatten()?;
            return Some(Value::Long(n as i64));
        }
        convert::to_value(attr, x).ok()
    }

    /// The entity holding `value` for the unique attribute `attr`, if any.
    fn owner_of(&self, attr: &Attr, value: &Value) -> Result<Option<u64>> {
        let Ok(enc) = layout::encode(value) else {
            return Ok(None);
        };
        let view = self.view();
        let Some(part) = layout::find_part(view.r, view.dbs, view.limit, attr.id, &enc)? else {
            return Ok(None);
        };
        let found = layout::entities_of(view.r, view.dbs, &layout::item(attr.id, &part))?;
        Ok(found.first().copied())
    }

    /// Tempids that are existing entities by a unique identity composite tuple: given
    /// directly in an entity map, or made of the parts the tempid asserts (a part it does
    /// not assert counts as nil, as in the stored tuple).
    fn resolve_tuple_upserts(&mut self) -> Result<()> {
        let tuples: Vec<Attr> = self
            .schema
            .attrs()
            .filter(|a| a.tuple_attrs.is_some() && a.unique == Some(Unique::Identity))
            .cloned()
            .collect();
        if tuples.is_empty() {
            return Ok(());
        }
        let mut found: Vec<(usize, u64, &'f Edn, Keyword)> = Vec::new();
        for (e, k, v, form) in std::mem::take(&mut self.tuple_keys) {
            let Some(attr) = self.schema.get(&k) else {
                continue;
            };
            let value = convert::to_value(attr, v)
                .map_err(|m| Error::tx(form, format!("bad value for {k}: {m}")))?;
            match (e, self.owner_of(attr, &value)?) {
                (E::Temp(t), Some(x)) => found.push((t, x, form, k)),
                (E::Id(n), Some(x)) if n != x => {
                    return Err(Error::tx(
                        form,
                        format!("{k} {v} belongs to entity {x}, not to entity {n}"),
                    ))
                }
                _ => {}
            }
        }
        let mut vals: HashMap<(usize, &Keyword), (Value, &'f Edn)> = HashMap::new();
        for op in &self.ops {
            if let Op::Add {
                e: E::Temp(t),
                slot,
                v,
                form,
            } = op
            {
                let a = &self.slots[*slot].1.ident;
                if let Some(attr) = self.schema.get(a) {
                    if let Some(x) = self.known_value(attr, v) {
                        vals.insert((*t, &attr.ident), (x, *form));
                    }
                }
            }
        }
        let temps: BTreeSet<usize> = vals.keys().map(|k| k.0).collect();
        for t in temps {
            for ta in &tuples {
                let parts = ta.tuple_attrs.as_deref().unwrap_or(&[]);
                let elems: Vec<Option<&(Value, &'f Edn)>> =
                    parts.iter().map(|p| vals.get(&(t, p))).collect();
                let Some(form) = elems.iter().flatten().map(|x| x.1).next() else {
                    continue;
                };
                let value = Value::Tuple(
                    elems
                        .iter()
                        .map(|x| x.map_or_else(convert::nil_value, |x| x.0.clone()))
                        .collect(),
                );
                if let Some(x) = self.owner_of(ta, &value)? {
                    found.push((t, x, form, ta.ident.clone()));
                }
            }
        }
        for (t, x, form, k) in found {
            match self.temps[t].eid {
                None => self.temps[t].eid = Some(x),
                Some(y) if y != x => {
                    return Err(Error::tx(
                        form,
                        format!("conflicting upsert: {k} resolves to entity {x}, but the tempid already resolved to entity {y}"),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The :db.unique/identity attribute of `slot` and the encoded value `v` asserts for it,
    /// when the attribute is one and the value can be known now (an upsert's key).
    fn identity_value(&self, slot: usize, v: &V) -> Option<(&Attr, Vec<u8>)> {
        // A slot holds the schema's definition (the schema gains attributes only when ops
        // are applied, after this).
        let (true, attr) = &self.slots[slot] else {
            return None;
        };
        if attr.unique != Some(Unique::Identity) {
            return None;
        }
        let enc = layout::encode(&self.known_value(attr, v)?).ok()?;
        Some((attr, enc))
    }

    /// The :db.unique/identity values this transaction asserts for entities already known
    /// (an explicit id, or a tempid resolved so far), by (attribute id, encoded value): the
    /// index of the first operation asserting each, and its entity.
    fn identity_assertions_of_known_entities(&self) -> IdentityAssertions {
        let mut asserted = HashMap::new();
        for (i, op) in self.ops.iter().enumerate() {
            let Op::Add { e, slot, v, .. } = op else {
                continue;
            };
            let Some(n) = self.resolved(*e) else {
                continue;
            };
            let Some((attr, enc)) = self.identity_value(*slot, v) else {
                continue;
            };
            asserted.entry((attr.id, enc)).or_insert((i, n));
        }
        asserted
    }

    fn resolve_tempids(&mut self) -> Result<()> {
        self.resolve_tuple_upserts()?;
        // Upserts: a tempid asserting an existing :db.unique/identity value is that entity;
        // so is a tempid asserting a value that an earlier operation of this transaction
        // asserts for a known entity (an id, or a tempid resolved so far), as in Datalevin,
        // which applies a transaction's operations in order.
        loop {
            let mut changed = false;
            // Built at the first value not stored, once a pass (a pass may resolve more).
            let mut asserted: Option<IdentityAssertions> = None;
            for i in 0..self.ops.len() {
                let Op::Add {
                    e: E::Temp(t),
                    slot,
                    v,
                    form,
                } = &self.ops[i]
                else {
                    continue;
                };
                let Some((attr, enc)) = self.identity_value(*slot, v) else {
                    continue;
                };
                let a = &attr.ident;
                let view = self.view();
                let stored = match layout::find_part(view.r, view.dbs, view.limit, attr.id, &enc)? {
                    Some(part) => {
                        layout::entities_of(view.r, view.dbs, &layout::item(attr.id, &part))?
                            .first()
                            .copied()
                    }
                    None => None,
                };
                let existing = match stored {
                    Some(x) => x,
                    None => {
                        let asserted = asserted
                            .get_or_insert_with(|| self.identity_assertions_of_known_entities());
                        match asserted.get(&(attr.id, enc)) {
                            Some(&(at, x)) if at < i => x,
                            _ => continue,
                        }
                    }
                };
                match self.temps[*t].eid {
                    None => {
                        self.temps[*t].eid = Some(existing);
                        changed = true;
                    }
                    Some(x) if x != existing => {
                        return Err(Error::tx(
                            form,
                            format!(
                                "conflicting upsert: {} resolves to entity {existing}, but the tempid already resolved to entity {x}",
                                a
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            if !changed {
                break;
            }
        }
        // Two new tempids asserting the same identity value are one new entity.
        let mut owner: HashMap<(u32, Vec<u8>), usize> = HashMap::new();
        let mut alias: HashMap<usize, usize> = HashMap::new();
        for op in &self.ops {
            let Op::Add {
                e: E::Temp(t),
                slot,
                v,
                ..
            } = op
            else {
                continue;
            };
            if self.temps[*t].eid.is_some() {
                continue;
            }
            let Some((attr, enc)) = self.identity_value(*slot, v) else {
                continue;
            };
            match owner.get(&(attr.id, enc.clone())) {
                Some(&o) => {
                    let (rt, ro) = (find(&alias, *t), find(&alias, o));
                    if rt != ro {
                        alias.insert(rt, ro);
                    }
                }
                None => {
                    owner.insert((attr.id, enc), *t);
                }
            }
        }
        // Allocate new ids in the order entities appear, except that a `:db/add` form whose
        // entity and value are both tempids takes the value's first, as Datalevin does
        // (an entity map takes its own id before those of its values).
        let mut order: Vec<E> = Vec::new();
        for op in &self.ops {
            match op {
                Op::Add { e, v, form, .. } => match v {
                    V::Ref(r @ E::Temp(_))
                        if matches!(e, E::Temp(_)) && form.as_map().is_none() =>
                    {
                        order.push(*r);
                        order.push(*e);
                    }
                    V::Ref(r) => {
                        order.push(*e);
                        order.push(*r);
                    }
                    _ => order.push(*e),
                },
                Op::Retract { e, .. }
                | Op::RetractAttr { e, .. }
                | Op::RetractEntity { e }
                | Op::Cas { e, .. } => order.push(*e),
            }
        }
        for e in order {
            match e {
                E::Id(n) => self.meta.max_eid = self.meta.max_eid.max(n),
                E::Temp(t) => {
                    if self.temps[t].eid.is_some() {
                        continue;
                    }
                    let o = find(&alias, t);
                    if self.temps[o].eid.is_none() {
                        self.meta.max_eid = next_eid(self.meta.max_eid)?;
                        self.temps[o].eid = Some(self.meta.max_eid);
                    }
                    self.temps[t].eid = self.temps[o].eid;
                }
            }
        }
        for t in &self.temps {
            if !t.used_as_entity {
                if let Some(n) = &t.name {
                    return Err(Error::tx(
                        n,
                        "tempid used only as a value: no entity in the transaction has it as :db/id",
                    ));
                }
            }
        }
        Ok(())
    }

    fn eid(&self, e: E) -> u64 {
        self.resolved(e).unwrap_or(0)
    }

    // ---- applying ------------------------------------------------------------------

    /// Puts the pending assertions into the indexes: called before every read or removal
    /// of EAV/AVE (see [`Writes`]).
    fn flush(&mut self) -> Result<()> {
        self.writes.flush(self.w, self.dbs)
    }

    /// The definition of `k`, adding an untyped attribute to the schema if it lacks one.
    fn ensure_attr(&mut self, k: &Keyword) -> Result<Rc<Attr>> {
        let i = self.slot_of(k);
        self.ensure_slot(i)
    }

    /// The definition in slot `i`, adding an untyped attribute to the schema if it is not
    /// one of the schema's.
    fn ensure_slot(&mut self, i: usize) -> Result<Rc<Attr>> {
        if let (true, a) = &self.slots[i] {
            return Ok(a.clone());
        }
        let k = self.slots[i].1.ident.clone();
        if self.opts.closed_schema {
            return Err(Error::ClosedSchema {
                attr: k.to_string(),
            });
        }
        self.meta.max_aid += 1;
        let mut a = Attr::untyped(k.clone());
        a.id = self.meta.max_aid;
        self.schema.insert(a.clone());
        self.new_attrs.push(k);
        let a = Rc::new(a);
        self.slots[i] = (true, a.clone());
        Ok(a)
    }

    fn to_value(&self, attr: &Attr, v: &V, form: &Edn) -> Result<Value> {
        let x = match v {
            V::Ref(e) => return Ok(Value::Long(self.eid(*e) as i64)),
            V::Val(x) => x,
            V::Own(x) => &**x,
        };
        convert::to_value(attr, x)
            .map_err(|m| Error::tx(form, format!("bad value for {}: {m}", attr.ident)))
    }

    fn apply(&mut self, op: &Op<'f>) -> Result<()> {
        if !matches!(op, Op::Add { .. }) {
            self.flush()?;
        }
        match op {
            Op::Add { e, slot, v, form } => {
                let attr = self.ensure_slot(*slot)?;
                let value = self.to_value(&attr, v, form)?;
                self.add(self.eid(*e), &attr, value, form)
            }
            Op::Retract { e, a, v, form } => {
                let Some(attr) = self.known_attr(a) else {
                    return Ok(());
                };
                let e = self.eid(*e);
                match v {
                    None => {
                        for it in layout::items_of(&*self.w, self.dbs, e, attr.id)? {
                            self.retract_item(e, &attr, &it)?;
                        }
                    }
                    Some(v) => {
                        let Ok(value) = self.to_value(&attr, v, form) else {
                            return Ok(());
                        };
                        let Ok(enc) = layout::encode(&value) else {
                            return Ok(());
                        };
                        let view = self.view();
                        if let Some(part) =
                            layout::find_part(view.r, view.dbs, view.limit, attr.id, &enc)?
                        {
                            let it = layout::item(attr.id, &part);
                            if self.w.in_list(&self.dbs.eav, &layout::eid_bytes(e), &it)? {
                                self.retract_item(e, &attr, &it)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            Op::RetractAttr { e, a, .. } => {
                let Some(attr) = self.known_attr(a) else {
                    return Ok(());
                };
                let e = self.eid(*e);
                let mut cascade = Vec::new();
                for it in layout::items_of(&*self.w, self.dbs, e, attr.id)? {
                    if attr.is_component {
                        cascade.push(self.ref_target(&it)?);
                    }
                    self.retract_item(e, &attr, &it)?;
                }
                for c in cascade {
                    self.retract_entity(c)?;
                }
                Ok(())
            }
            Op::RetractEntity { e } => self.retract_entity(self.eid(*e)),
            Op::Cas {
                e,
                a,
                old,
                new,
                form,
            } => {
                let attr = self.ensure_attr(a)?;
                let e = self.eid(*e);
                let mut current = Vec::new();
                for it in layout::items_of(&*self.w, self.dbs, e, attr.id)? {
                    current.push(layout::part_value(
                        &*self.w,
                        self.dbs,
                        self.meta.giant_limit,
                        &it[4..],
                    )?);
                }
                let ok = match old {
                    None => current.is_empty(),
                    Some(old) => {
                        let old = self.to_value(&attr, old, form)?;
                        current.contains(&old)
                    }
                };
                if !ok {
                    let cur: Vec<Edn> = current.into_iter().map(convert::to_edn).collect();
                    return Err(Error::Cas {
                        form: form.to_string(),
                        current: match cur.len() {
                            0 => "nil".to_string(),
                            1 => cur[0].to_string(),
                            _ => Edn::Vector(cur).to_string(),
                        },
                    });
                }
                let value = self.to_value(&attr, new, form)?;
                self.add(e, &attr, value, form)
            }
        }
    }

    fn ref_target(&self, item: &[u8]) -> Result<u64> {
        match layout::part_value(&*self.w, self.dbs, self.meta.giant_limit, &item[4..])? {
            Value::Long(n) => Ok(n as u64),
            v => Err(Error::Corrupt(format!("ref value {v:?}"))),
        }
    }

    fn datom(&self, e: u64, attr: &Attr, item: &[u8], added: bool) -> Result<Datom> {
        Ok(Datom {
            e,
            a: attr.ident.clone(),
            v: convert::to_edn(layout::part_value(
                &*self.w,
                self.dbs,
                self.meta.giant_limit,
                &item[4..],
            )?),
            added,
        })
    }

    fn touch_tuples(&mut self, e: u64, attr: &Attr) {
        if !self.has_tuples {
            return;
        }
        for t in self.schema.tuples_of(&attr.ident) {
            self.tuples_touched.insert((e, t.ident.clone()));
        }
    }

    /// Asserts `[e attr value]`. On an entity new to the database (see [`Writes`]) with
    /// a value that is not a giant and an attribute that is not unique, this reads no index.
    fn add(&mut self, e: u64, attr: &Attr, value: Value, form: &Edn) -> Result<()> {
        // The item aid ++ part, built in the scratch buffer.
        let mut it = std::mem::take(&mut self.buf);
        let r = self.add_item(e, attr, value, form, &mut it);
        self.buf = it;
        r
    }

    fn add_item(
        &mut self,
        e: u64,
        attr: &Attr,
        value: Value,
        form: &Edn,
        it: &mut Vec<u8>,
    ) -> Result<()> {
        it.clear();
        it.extend_from_slice(&layout::aid_bytes(attr.id));
        if let Err(m) = levin_codec::encode_value(&value, it) {
            return Err(Error::tx(
                form,
                format!("bad value for {}: {m}", attr.ident),
            ));
        }
        let limit = self.meta.giant_limit;
        if it.len() - 4 > limit {
            // A giant: stored once in the giants database, indexed by a prefix and its id.
            self.flush()?;
            let enc = it.split_off(4);
            let part = match layout::find_part(&*self.w, self.dbs, limit, attr.id, &enc)? {
                Some(p) => p,
                None => {
                    self.meta.max_gid += 1;
                    let gid = self.meta.max_gid.to_be_bytes();
                    self.w.put(&self.dbs.giants, &gid, &enc)?;
                    let mut p = enc[..limit].to_vec();
                    p.extend_from_slice(&gid);
                    p
                }
            };
            it.extend_from_slice(&part);
        }
        let ek = layout::eid_bytes(e);
        let many = attr.is_many();
        let fresh = self.writes.is_fresh(e);
        if fresh && attr.unique.is_none() {
            // The common case of a load: no index read.
            match self.writes.assert_fresh(e, attr.id, many, it) {
                Fresh::Held => return Ok(()),
                Fresh::New => {}
                Fresh::Replaced(old) => self.retract_item(e, attr, &old)?,
            }
            return self.added(e, attr, value);
        }
        let held = if fresh {
            self.writes.holds(e, attr.id, many, it)
        } else {
            self.flush()?;
            self.w.in_list(&self.dbs.eav, &ek, it)?
        };
        if held {
            return Ok(());
        }
        if attr.unique.is_some() {
            // The owners are those in AVE and those of pending assertions: no flush, so a
            // load of entities with unique attributes writes its indexes in one go.
            let other = match self.writes.pending_owner(it) {
                Some(o) if o != e => Some(o),
                _ => layout::entities_of(&*self.w, self.dbs, it)?
                    .into_iter()
                    .find(|&x| x != e),
            };
            if let Some(other) = other {
                let enc = layout::encode(&value).map_err(|err| Error::Corrupt(err.to_string()))?;
                let shown = convert::to_edn(value_of(&enc)).to_string();
                return Err(Error::Unique {
                    datom: format!("[{e} {} {shown}]", attr.ident),
                    attr: attr.ident.to_string(),
                    value: shown,
                    existing: other,
                });
            }
        }
        if !many {
            let old: Vec<Vec<u8>> = if fresh {
                self.writes.one_of(e, attr.id).into_iter().collect()
            } else {
                layout::items_of(&*self.w, self.dbs, e, attr.id)?
            };
            for old in old {
                self.retract_item(e, attr, &old)?;
            }
        }
        self.writes.assert(e, attr.id, many, it);
        if attr.unique.is_some() {
            self.writes.note_unique(it, e);
        }
        self.added(e, attr, value)
    }

    /// Reports the assertion of `[e attr value]`, once recorded.
    fn added(&mut self, e: u64, attr: &Attr, value: Value) -> Result<()> {
        self.meta.max_eid = self.meta.max_eid.max(e);
        self.tx_data.push(Datom {
            e,
            a: attr.ident.clone(),
            v: convert::to_edn(value),
            added: true,
        });
        self.touch_tuples(e, attr);
        Ok(())
    }

    /// Retracts one stored item of `e`.
    fn retract_item(&mut self, e: u64, attr: &Attr, it: &[u8]) -> Result<()> {
        self.flush()?;
        let d = self.datom(e, attr, it, false)?;
        let ek = layout::eid_bytes(e);
        self.w.delete_list(&self.dbs.eav, &ek, it)?;
        self.w.delete_list(&self.dbs.ave, it, &ek)?;
        if it.len() - 4 > self.meta.giant_limit && self.w.list_count(&self.dbs.ave, it)? == 0 {
            self.w
                .delete(&self.dbs.giants, &it[it.len() - layout::GID_LEN..])?;
        }
        self.writes.retracted(e, attr.id, attr.is_many(), it);
        self.tx_data.push(d);
        self.touch_tuples(e, attr);
        Ok(())
    }

    /// Retracts every datom of `e`, every ref to it, and its components, recursively.
    fn retract_entity(&mut self, e: u64) -> Result<()> {
        let mut stack = vec![e];
        let mut seen = BTreeSet::new();
        while let Some(e) = stack.pop() {
            if !seen.insert(e) {
                continue;
            }
            for it in layout::all_items_of(&*self.w, self.dbs, e)? {
                let (aid, _) = layout::split_item(&it)?;
                let attr = self.view().attr_by_id(aid)?.clone();
                if attr.is_component {
                    stack.push(self.ref_target(&it)?);
                }
                self.retract_item(e, &attr, &it)?;
            }
            let refs: Vec<Attr> = self
                .schema
                .attrs()
                .filter(|a| a.is_ref())
                .cloned()
                .collect();
            for attr in refs {
                let enc = layout::encode(&Value::Long(e as i64))
                    .map_err(|err| Error::Corrupt(err.to_string()))?;
                let it = layout::item(attr.id, &enc);
                for x in layout::entities_of(&*self.w, self.dbs, &it)? {
                    self.retract_item(x, &attr, &it)?;
                }
            }
        }
        Ok(())
    }

    /// Sets `:db/updated-at` to `now` on every entity the transaction changed that still
    /// has datoms, and `:db/created-at` on those that lack it; an entity left with only
    /// these two loses them too.
    fn stamp_entities(&mut self, now: i64) -> Result<()> {
        let created = Keyword::new(Some("db"), "created-at");
        let updated = Keyword::new(Some("db"), "updated-at");
        let touched: BTreeSet<u64> = self
            .tx_data
            .iter()
            .filter(|d| d.a != created && d.a != updated)
            .map(|d| d.e)
            .collect();
        if touched.is_empty() {
            return Ok(());
        }
        let c_attr = self.ensure_attr(&created)?;
        let u_attr = self.ensure_attr(&updated)?;
        for e in touched {
            self.flush()?;
            let items = layout::all_items_of(&*self.w, self.dbs, e)?;
            let stamp = |it: &Vec<u8>| {
                layout::split_item(it).is_ok_and(|(aid, _)| aid == c_attr.id || aid == u_attr.id)
            };
            if items.iter().all(stamp) {
                for it in &items {
                    let attr = if layout::split_item(it)?.0 == c_attr.id {
                        &c_attr
                    } else {
                        &u_attr
                    };
                    self.retract_item(e, attr, it)?;
                }
                continue;
            }
            let form = Edn::Vector(vec![Edn::kw("db", "add"), Edn::Long(e as i64)]);
            if !items
                .iter()
                .any(|it| layout::split_item(it).is_ok_and(|(aid, _)| aid == c_attr.id))
            {
                self.add(e, &c_attr, Value::Long(now), &form)?;
            }
            self.add(e, &u_attr, Value::Long(now), &form)?;
        }
        Ok(())
    }

    /// Recomputes the composite tuples of the entities whose parts changed.
    fn update_tuples(&mut self) -> Result<()> {
        let touched = std::mem::take(&mut self.tuples_touched);
        for (e, t) in touched {
            // The parts are read from EAV.
            self.flush()?;
            let Some(tattr) = self.schema.get(&t).cloned() else {
                continue;
            };
            let parts = tattr.tuple_attrs.clone().unwrap_or_default();
            let mut elems = Vec::new();
            let mut any = false;
            for p in &parts {
                let v = match self.schema.get(p) {
                    Some(pa) => layout::items_of(&*self.w, self.dbs, e, pa.id)?
                        .first()
                        .map(|it| {
                            layout::part_value(&*self.w, self.dbs, self.meta.giant_limit, &it[4..])
                        })
                        .transpose()?,
                    None => None,
                };
                any |= v.is_some();
                elems.push(v.unwrap_or_else(convert::nil_value));
            }
            let tattr = self.ensure_attr(&t)?;
            if any {
                let form = Edn::Vector(vec![
                    Edn::kw("db", "add"),
                    Edn::Long(e as i64),
                    Edn::Keyword(t.clone()),
                ]);
                self.add(e, &tattr, Value::Tuple(elems), &form)?;
            } else {
                for it in layout::items_of(&*self.w, self.dbs, e, tattr.id)? {
                    self.retract_item(e, &tattr, &it)?;
                }
            }
        }
        Ok(())
    }
}

/// The representative of `t` among tempids unified by identity.
fn find(alias: &HashMap<usize, usize>, mut t: usize) -> usize {
    while let Some(&o) = alias.get(&t) {
        t = o;
    }
    t
}

fn value_of(enc: &[u8]) -> Value {
    levin_codec::decode_value(enc).unwrap_or(Value::Data(Vec::new()))
}

/// The id after `max`, or an error when ids are exhausted.
fn next_eid(max: u64) -> Result<u64> {
    match max.checked_add(1) {
        Some(n) if n <= layout::NEW_EID_LIMIT => Ok(n),
        _ => Err(Error::tx(
            Edn::Long(max.min(i64::MAX as u64) as i64),
            format!(
                "entity ids are exhausted: the largest in use is {max} and new ones stop at {}",
                layout::NEW_EID_LIMIT
            ),
        )),
    }
}
