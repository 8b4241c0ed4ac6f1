//! The stored schema: attribute definitions in the `datalog/schema` database, merging a
//! new schema into the stored one where the data allows it, deleting unused attributes and
//! renaming attributes.

use levin_edn::{Edn, Keyword};
use levin_engine::{Range, Read, RwTxn};

use crate::error::{Error, Result};
use crate::layout::{self, Dbs, Meta};
use crate::schema::{db_ident, Attr, Cardinality, Schema};

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
        let edn = levin_edn::read(text)?;
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

pub(crate) fn merge_schema(
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
        let mut a = match stored.get(&a.ident) {
            // A stored attribute keeps the properties the new definition leaves out.
            Some(old) => new.merged_into(old)?,
            None => a.clone(),
        };
        match stored.get(&a.ident) {
            Some(old) if same_definition(old, &a) => continue,
            Some(old) => {
                check_change(w, dbs, old, &a)?;
                a.id = old.id;
            }
            None => {
                meta.max_aid = meta.max_aid.checked_add(1).ok_or_else(|| Error::Schema {
                    attr: a.ident.to_string(),
                    reason: "attribute ids are exhausted".into(),
                })?;
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

/// A schema change beyond adding and changing attributes: attributes to delete (each must
/// hold no datom) and attributes to rename (`(old, new)`; the data keeps its attribute ids,
/// so a rename touches only the definition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaUpdate {
    /// Attributes to remove from the schema.
    pub delete: Vec<Keyword>,
    /// Attributes to rename, old name first.
    pub rename: Vec<(Keyword, Keyword)>,
}

impl SchemaUpdate {
    /// Nothing to delete or rename.
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.rename.is_empty()
    }
}

/// Deletes and renames attributes as `update` says, in `w`; `stored` and `meta` follow.
pub(crate) fn delete_and_rename(
    w: &mut RwTxn,
    dbs: &Dbs,
    stored: &mut Schema,
    meta: &mut Meta,
    update: &SchemaUpdate,
) -> Result<()> {
    let refuse = |attr: &Keyword, reason: String| Error::SchemaChange {
        attr: attr.to_string(),
        reason,
    };
    for k in &update.delete {
        let Some(a) = stored.get(k).cloned() else {
            return Err(refuse(k, "it is not in the schema".into()));
        };
        if a.id == db_ident().id {
            return Err(refuse(k, "it is built in".into()));
        }
        let n = w.count(&dbs.ave, &Range::prefix(layout::aid_bytes(a.id)))?;
        if n > 0 {
            return Err(refuse(
                k,
                format!("it is in use by {n} datoms; retract them before deleting it"),
            ));
        }
        if let Some(t) = stored.tuples_of(k).first() {
            return Err(refuse(
                k,
                format!("the composite tuple {} is made of it", t.ident),
            ));
        }
        w.delete(&dbs.schema, &layout::aid_bytes(a.id))?;
        stored.remove(k);
    }
    for (old, new) in &update.rename {
        let Some(a) = stored.get(old).cloned() else {
            return Err(refuse(old, "it is not in the schema".into()));
        };
        if a.id == db_ident().id {
            return Err(refuse(old, "it is built in".into()));
        }
        if stored.get(new).is_some() {
            return Err(refuse(old, format!("{new} is already in the schema")));
        }
        if new.name().starts_with('_') {
            return Err(refuse(
                old,
                format!("{new}: attribute names cannot start with _ (reserved for reverse refs)"),
            ));
        }
        let mut renamed = a.clone();
        renamed.ident = new.clone();
        stored.remove(old);
        stored.insert(renamed.clone());
        store_attr(w, dbs, &renamed)?;
        // Composite tuples name their parts: follow the rename.
        let tuples: Vec<Attr> = stored.tuples_of(old).into_iter().cloned().collect();
        for mut t in tuples {
            if let Some(parts) = &mut t.tuple_attrs {
                for p in parts.iter_mut().filter(|p| *p == old) {
                    *p = new.clone();
                }
            }
            store_attr(w, dbs, &t)?;
            stored.insert(t);
        }
    }
    if !update.is_empty() {
        meta.schema_gen += 1;
    }
    Ok(())
}
