//! [`Conn`]: a connection to a Datalog database in a directory — opening it with a schema
//! (stored in the database and changed only where the data allows), transacting, and
//! taking [`Db`] snapshots.
//!
//! A remote connection will later stand behind the same API: `Conn` is the one handle an
//! application holds, chosen by a directory today and by a `levin://host/db` URI once the
//! server lands; `transact` returns a plain [`TxReport`] and `db()` a snapshot value, so
//! neither leaks the storage engine.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use levin_engine::{Env, EnvOptions, Range, Read, RwTxn};

use crate::db::Db;
use crate::edn::{Edn, Keyword};
use crate::error::{Error, Result};
use crate::layout::{self, Dbs, Meta};
use crate::schema::{db_ident, Attr, Cardinality, Schema};
use crate::tx::{Tx, TxReport};

/// Something that gives a schema: `()` (none), EDN text, an [`Edn`] map, a [`Schema`], or
/// an `Option` of one of these.
pub trait AsSchema {
    /// The schema, or `None` to keep the stored one.
    fn as_schema(&self) -> Result<Option<Schema>>;
}

impl AsSchema for () {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Ok(None)
    }
}

impl AsSchema for &str {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Schema::parse(self).map(Some)
    }
}

impl AsSchema for Edn {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Schema::from_edn(self).map(Some)
    }
}

impl AsSchema for &Edn {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Schema::from_edn(self).map(Some)
    }
}

impl AsSchema for Schema {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Ok(Some(self.clone()))
    }
}

impl AsSchema for &Schema {
    fn as_schema(&self) -> Result<Option<Schema>> {
        Ok(Some((*self).clone()))
    }
}

impl<T: AsSchema> AsSchema for Option<T> {
    fn as_schema(&self) -> Result<Option<Schema>> {
        match self {
            Some(s) => s.as_schema(),
            None => Ok(None),
        }
    }
}

/// A connection to a Datalog database. Clone-free and `Sync`: share it with `Arc`.
/// Transactions run one at a time; snapshots ([`Conn::db`]) never wait for them.
pub struct Conn {
    env: Env,
    dbs: Dbs,
    /// The cached schema and the generation it was read at.
    schema: Mutex<(u64, Arc<Schema>)>,
    writer: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Conn {
    /// Opens (creating if needed) the database in `dir` with 4 KiB pages. A schema given
    /// here is merged into the stored one: new attributes are added, changed ones are
    /// changed when existing data allows it ([`Error::SchemaChange`] otherwise); attributes
    /// not mentioned are kept.
    pub fn open(dir: impl AsRef<Path>, schema: impl AsSchema) -> Result<Conn> {
        Conn::open_with(dir, schema, EnvOptions::new())
    }

    /// [`Conn::open`] with engine options (page size, durability, ...).
    pub fn open_with(
        dir: impl AsRef<Path>,
        schema: impl AsSchema,
        opts: EnvOptions,
    ) -> Result<Conn> {
        let new_schema = schema.as_schema()?;
        let env = Env::open_with(dir, opts)?;
        let mut w = env.write()?;
        let fresh = w.open_db(layout::META).is_err();
        let dbs = Dbs::create(&mut w)?;
        let mut meta = if fresh {
            let m = Meta {
                max_eid: 0,
                max_aid: 1,
                max_gid: 0,
                giant_limit: layout::giant_limit_for(env.max_key_size()),
                schema_gen: 0,
            };
            store_attr(&mut w, &dbs, &db_ident())?;
            m
        } else {
            Meta::read(&w, &dbs)?
        };
        let mut stored = load_schema(&w, &dbs)?;
        if let Some(new) = new_schema {
            merge_schema(&mut w, &dbs, &mut stored, &mut meta, &new)?;
        }
        meta.write(&mut w, &dbs)?;
        w.commit()?;
        Ok(Conn {
            env,
            dbs,
            schema: Mutex::new((meta.schema_gen, Arc::new(stored))),
            writer: Mutex::new(()),
        })
    }

    /// The current schema (with attribute ids).
    pub fn schema(&self) -> Arc<Schema> {
        lock(&self.schema).1.clone()
    }

    /// The schema as of the write transaction `w` (the cache, unless another connection
    /// changed it since).
    fn schema_in(&self, w: &RwTxn, meta: &Meta) -> Result<Schema> {
        let cached = lock(&self.schema).clone();
        if cached.0 == meta.schema_gen {
            Ok((*cached.1).clone())
        } else {
            load_schema(w, &self.dbs)
        }
    }

    fn set_schema(&self, gen: u64, schema: Schema) {
        *lock(&self.schema) = (gen, Arc::new(schema));
    }

    /// The engine environment under the connection.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Adds or changes attributes, as [`Conn::open`] does with a schema.
    pub fn update_schema(&self, schema: impl AsSchema) -> Result<()> {
        let Some(new) = schema.as_schema()? else {
            return Ok(());
        };
        let _w = lock(&self.writer);
        let mut txn = self.env.write()?;
        let mut meta = Meta::read(&txn, &self.dbs)?;
        let mut stored = self.schema_in(&txn, &meta)?;
        merge_schema(&mut txn, &self.dbs, &mut stored, &mut meta, &new)?;
        meta.write(&mut txn, &self.dbs)?;
        txn.commit()?;
        self.set_schema(meta.schema_gen, stored);
        Ok(())
    }

    /// A snapshot of the database as of now.
    pub fn db(&self) -> Result<Db> {
        let cached = lock(&self.schema).clone();
        let txn = self.env.read()?;
        Db::new(txn, self.dbs.clone(), cached)
    }

    /// Runs a transaction (a vector of forms) atomically: either every datom is applied
    /// and committed, or (on any error) nothing changes.
    pub fn transact(&self, tx: &Edn) -> Result<TxReport> {
        let _w = lock(&self.writer);
        let mut txn = self.env.write()?;
        let meta = Meta::read(&txn, &self.dbs)?;
        let stale = lock(&self.schema).0 != meta.schema_gen;
        let mut schema = self.schema_in(&txn, &meta)?;
        let (report, meta, new_attrs) = Tx::new(&mut txn, &self.dbs, &mut schema, meta).run(tx)?;
        txn.commit()?;
        if stale || !new_attrs.is_empty() {
            self.set_schema(meta.schema_gen, schema);
        }
        Ok(report)
    }

    /// [`Conn::transact`] on EDN text.
    pub fn transact_str(&self, tx: &str) -> Result<TxReport> {
        self.transact(&crate::edn::read(tx)?)
    }
}

/// Writes one attribute definition: key = id, value = `{:db/ident ... props}` as EDN text.
pub(crate) fn store_attr(w: &mut RwTxn, dbs: &Dbs, a: &Attr) -> Result<()> {
    let mut m = vec![(Edn::kw("db", "ident"), Edn::Keyword(a.ident.clone()))];
    if let Edn::Map(props) = a.to_edn() {
        m.extend(props);
    }
    w.put(
        &dbs.schema,
        &layout::aid_bytes(a.id),
        Edn::Map(m).to_string().as_bytes(),
    )?;
    Ok(())
}

pub(crate) fn load_schema(r: &dyn Read, dbs: &Dbs) -> Result<Schema> {
    let mut s = Schema::new();
    for kv in r.iter(&dbs.schema)? {
        let (k, v) = kv?;
        let id = u32::from_be_bytes(
            k.try_into()
                .map_err(|_| Error::Corrupt("schema key is not 4 bytes".into()))?,
        );
        let text = std::str::from_utf8(v).map_err(|e| Error::Corrupt(e.to_string()))?;
        let edn = crate::edn::read(text)?;
        let ident = edn
            .get_kw("db", "ident")
            .and_then(Edn::as_keyword)
            .cloned()
            .ok_or_else(|| Error::Corrupt(format!("schema entry {id} has no :db/ident")))?;
        let mut a = Attr::from_edn(ident, &edn)?;
        a.id = id;
        s.insert(a);
    }
    Ok(s)
}

fn same_definition(a: &Attr, b: &Attr) -> bool {
    let mut b = b.clone();
    b.id = a.id;
    *a == b
}

fn merge_schema(
    w: &mut RwTxn,
    dbs: &Dbs,
    stored: &mut Schema,
    meta: &mut Meta,
    new: &Schema,
) -> Result<()> {
    let mut changed = false;
    for a in new.attrs() {
        if a.ident == db_ident().ident {
            return Err(Error::Schema {
                attr: a.ident.to_string(),
                reason: "built in; it cannot be redefined".into(),
            });
        }
        let mut a = a.clone();
        match stored.get(&a.ident) {
            Some(old) if same_definition(old, &a) => continue,
            Some(old) => {
                check_change(w, dbs, old, &a)?;
                a.id = old.id;
            }
            None => {
                meta.max_aid += 1;
                a.id = meta.max_aid;
            }
        }
        store_attr(w, dbs, &a)?;
        stored.insert(a);
        changed = true;
    }
    if changed {
        meta.schema_gen += 1;
    }
    stored.check_tuples()
}

fn check_change(r: &dyn Read, dbs: &Dbs, old: &Attr, new: &Attr) -> Result<()> {
    let prefix = layout::aid_bytes(old.id);
    let n = r.count(&dbs.ave, &Range::prefix(prefix))?;
    if n == 0 {
        return Ok(());
    }
    let refuse = |reason: String| {
        Err(Error::SchemaChange {
            attr: old.ident.to_string(),
            reason,
        })
    };
    if old.value_type != new.value_type
        || old.tuple_attrs != new.tuple_attrs
        || old.tuple_type != new.tuple_type
        || old.tuple_types != new.tuple_types
    {
        // Allowed only when every stored value is, unchanged, a value of the new
        // definition (then its bytes and index position stay right).
        let name = |t: Option<crate::schema::AttrType>| t.map_or("untyped", |t| t.name());
        if new.tuple_attrs.is_some() || old.tuple_attrs.is_some() {
            return refuse(format!(
                "it has {n} composite tuple datoms of the old shape"
            ));
        }
        let limit = Meta::read(r, dbs)?.giant_limit;
        for kv in r.range(&dbs.ave, Range::prefix(prefix))? {
            let (k, e) = kv?;
            let stored = layout::part_value(r, dbs, limit, &k[4..])?;
            let edn = crate::convert::to_edn(stored.clone());
            let same = if new.is_ref() {
                matches!(stored, levin_codec::Value::Long(x) if x > 0)
            } else {
                crate::convert::to_value(new, &edn)
                    .is_ok_and(|v| layout::encode(&v).ok() == layout::encode(&stored).ok())
            };
            if !same {
                return refuse(format!(
                    "its value type is {} and entity {} has the value {edn}, which is not a value of type {}",
                    name(old.value_type),
                    layout::eid_of(e)?,
                    name(new.value_type)
                ));
            }
        }
    }
    if old.cardinality == Cardinality::Many && new.cardinality == Cardinality::One {
        let mut seen = std::collections::HashMap::<u64, u32>::new();
        for kv in r.range(&dbs.ave, Range::prefix(prefix))? {
            let e = layout::eid_of(kv?.1)?;
            let c = seen.entry(e).or_default();
            *c += 1;
            if *c > 1 {
                return refuse(format!(
                    "entity {e} has several values, so it cannot become cardinality one"
                ));
            }
        }
    }
    if old.unique.is_none() && new.unique.is_some() {
        for k in r.keys(&dbs.ave, Range::prefix(prefix))? {
            let k = k?;
            if r.list_count(&dbs.ave, k)? > 1 {
                let v = crate::convert::to_edn(layout::part_value(
                    r,
                    dbs,
                    Meta::read(r, dbs)?.giant_limit,
                    &k[4..],
                )?);
                let es = layout::entities_of(r, dbs, k)?;
                return refuse(format!(
                    "the value {v} is held by entities {es:?}, so it cannot become unique"
                ));
            }
        }
    }
    Ok(())
}

/// The attribute keyword for `:ns/name` text (a convenience for callers).
pub fn attr(name: &str) -> Keyword {
    crate::entity::keyword(name)
}
