//! The Datalog schema: attribute definitions as in Datalevin (`:db/valueType`,
//! `:db/cardinality`, `:db/unique`, `:db/isComponent`, tuples, `:db/doc`), read from and
//! printed to EDN, and the rules for changing it when data exists.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use levin_edn::{Edn, Keyword};

/// A declared value type (`:db.type/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    /// `:db.type/keyword`
    Keyword,
    /// `:db.type/symbol`
    Symbol,
    /// `:db.type/string`
    String,
    /// `:db.type/boolean`
    Boolean,
    /// `:db.type/long`
    Long,
    /// `:db.type/double`
    Double,
    /// `:db.type/float`
    Float,
    /// `:db.type/ref`: an entity id.
    Ref,
    /// `:db.type/bigint`
    BigInt,
    /// `:db.type/bigdec`
    BigDec,
    /// `:db.type/instant`
    Instant,
    /// `:db.type/uuid`
    Uuid,
    /// `:db.type/bytes`
    Bytes,
    /// `:db.type/tuple`
    Tuple,
}

const TYPES: [(&str, AttrType); 14] = [
    ("keyword", AttrType::Keyword),
    ("symbol", AttrType::Symbol),
    ("string", AttrType::String),
    ("boolean", AttrType::Boolean),
    ("long", AttrType::Long),
    ("double", AttrType::Double),
    ("float", AttrType::Float),
    ("ref", AttrType::Ref),
    ("bigint", AttrType::BigInt),
    ("bigdec", AttrType::BigDec),
    ("instant", AttrType::Instant),
    ("uuid", AttrType::Uuid),
    ("bytes", AttrType::Bytes),
    ("tuple", AttrType::Tuple),
];

impl AttrType {
    /// The name after `:db.type/`.
    pub fn name(self) -> &'static str {
        TYPES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }

    /// Parses `:db.type/NAME`.
    pub fn from_keyword(k: &Keyword) -> Option<AttrType> {
        if k.namespace() != Some("db.type") {
            return None;
        }
        TYPES.iter().find(|(n, _)| *n == k.name()).map(|(_, t)| *t)
    }

    /// `:db.type/NAME` as EDN.
    pub fn to_edn(self) -> Edn {
        Edn::kw("db.type", self.name())
    }
}

/// `:db/cardinality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cardinality {
    /// `:db.cardinality/one` (the default): a new value replaces the old one.
    #[default]
    One,
    /// `:db.cardinality/many`: a set of values.
    Many,
}

/// `:db/unique`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// `:db.unique/identity`: unique, and entity maps with it upsert.
    Identity,
    /// `:db.unique/value`: unique; a second entity asserting it is an error.
    Value,
}

/// One attribute's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The attribute's name.
    pub ident: Keyword,
    /// Its id in the indexes (assigned when first stored; 0 before).
    pub id: u32,
    /// `:db/valueType`; `None` stores any EDN value with an opaque type.
    pub value_type: Option<AttrType>,
    /// `:db/cardinality`.
    pub cardinality: Cardinality,
    /// `:db/unique`.
    pub unique: Option<Unique>,
    /// `:db/isComponent` (refs only).
    pub is_component: bool,
    /// `:db/tupleAttrs`: a composite tuple kept up to date from these attributes.
    pub tuple_attrs: Option<Vec<Keyword>>,
    /// `:db/tupleType`: a homogeneous tuple's element type.
    pub tuple_type: Option<AttrType>,
    /// `:db/tupleTypes`: a heterogeneous tuple's element types.
    pub tuple_types: Option<Vec<AttrType>>,
    /// `:db/doc`.
    pub doc: Option<String>,
}

impl Attr {
    /// An attribute without a schema: any value, cardinality one.
    pub fn untyped(ident: Keyword) -> Attr {
        Attr {
            ident,
            id: 0,
            value_type: None,
            cardinality: Cardinality::One,
            unique: None,
            is_component: false,
            tuple_attrs: None,
            tuple_type: None,
            tuple_types: None,
            doc: None,
        }
    }

    /// True for `:db.cardinality/many`.
    pub fn is_many(&self) -> bool {
        self.cardinality == Cardinality::Many
    }

    /// True for `:db.type/ref`.
    pub fn is_ref(&self) -> bool {
        self.value_type == Some(AttrType::Ref)
    }

    /// Reads an attribute definition map such as
    /// `{:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}`.
    pub fn from_edn(ident: Keyword, props: &Edn) -> Result<Attr> {
        let bad = |reason: String| Error::Schema {
            attr: ident.to_string(),
            reason,
        };
        let map = props
            .as_map()
            .ok_or_else(|| bad(format!("expected a map of properties, got {props}")))?;
        let mut a = Attr::untyped(ident.clone());
        let kw_in = |v: &Edn, ns: &str, what: &str| -> Result<String> {
            match v.as_keyword() {
                Some(k) if k.namespace() == Some(ns) => Ok(k.name().to_string()),
                _ => Err(bad(format!("{what} must be a :{ns}/... keyword, got {v}"))),
            }
        };
        let unsupported = |what: &str| Error::Unsupported {
            attr: ident.to_string(),
            what: what.to_string(),
        };
        let ty = |v: &Edn| -> Result<AttrType> {
            match v.as_keyword() {
                Some(k) if k.is("db.type", "vec") => {
                    return Err(unsupported("vector search (:db.type/vec)"))
                }
                Some(k) if k.is("db.type", "idoc") => {
                    return Err(unsupported("idoc search (:db.type/idoc)"))
                }
                _ => {}
            }
            v.as_keyword()
                .and_then(AttrType::from_keyword)
                .ok_or_else(|| bad(format!("unknown value type {v}")))
        };
        for (k, v) in map {
            let Some(key) = k.as_keyword() else {
                return Err(bad(format!("property {k} is not a keyword")));
            };
            match (key.namespace(), key.name()) {
                (Some("db"), "valueType") => a.value_type = Some(ty(v)?),
                (Some("db"), "cardinality") => {
                    a.cardinality = match kw_in(v, "db.cardinality", ":db/cardinality")?.as_str() {
                        "one" => Cardinality::One,
                        "many" => Cardinality::Many,
                        _ => return Err(bad(format!("unknown cardinality {v}"))),
                    }
                }
                (Some("db"), "unique") => {
                    a.unique = if v.is_nil() {
                        None
                    } else {
                        match kw_in(v, "db.unique", ":db/unique")?.as_str() {
                            "identity" => Some(Unique::Identity),
                            "value" => Some(Unique::Value),
                            _ => return Err(bad(format!("unknown uniqueness {v}"))),
                        }
                    }
                }
                (Some("db"), "isComponent") => {
                    a.is_component = v
                        .as_bool()
                        .ok_or_else(|| bad(format!(":db/isComponent must be a boolean, got {v}")))?
                }
                (Some("db"), "doc") => {
                    a.doc = Some(
                        v.as_str()
                            .ok_or_else(|| bad(format!(":db/doc must be a string, got {v}")))?
                            .to_string(),
                    )
                }
                (Some("db"), "tupleAttrs") => {
                    let items = v
                        .as_seq()
                        .ok_or_else(|| bad(format!(":db/tupleAttrs must be a vector, got {v}")))?;
                    let mut attrs = Vec::new();
                    for i in items {
                        attrs.push(i.as_keyword().cloned().ok_or_else(|| {
                            bad(format!(":db/tupleAttrs must hold keywords, got {i}"))
                        })?);
                    }
                    if attrs.len() < 2 {
                        return Err(bad(":db/tupleAttrs needs at least two attributes".into()));
                    }
                    a.tuple_attrs = Some(attrs);
                }
                (Some("db"), "tupleType") => a.tuple_type = Some(ty(v)?),
                (Some("db"), "tupleTypes") => {
                    let items = v
                        .as_seq()
                        .ok_or_else(|| bad(format!(":db/tupleTypes must be a vector, got {v}")))?;
                    a.tuple_types = Some(items.iter().map(ty).collect::<Result<_>>()?);
                }
                (Some("db"), "index") | (Some("db"), "ident") | (Some("db"), "id") => {}
                // Full-text search is refused rather than silently not indexed.
                (Some("db"), "fulltext") if v.as_bool() != Some(false) => {
                    return Err(unsupported("full-text search (:db/fulltext)"))
                }
                (Some("db.fulltext"), _) => {
                    return Err(unsupported("full-text search (:db.fulltext/...)"))
                }
                (Some("db"), "embedding") if v.as_bool() != Some(false) => {
                    return Err(unsupported("embeddings (:db/embedding)"))
                }
                _ => {} // other properties (:db/fulltext false, :db/index, ...) are accepted and ignored
            }
        }
        a.validate()?;
        Ok(a)
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::Schema {
                attr: self.ident.to_string(),
                reason: reason.to_string(),
            })
        };
        if self.is_component && !self.is_ref() {
            return bad(":db/isComponent needs :db/valueType :db.type/ref");
        }
        let tupled =
            self.tuple_attrs.is_some() || self.tuple_type.is_some() || self.tuple_types.is_some();
        if tupled && self.value_type.is_none() {
            // Datalevin infers the tuple type from the tuple properties.
        } else if tupled && self.value_type != Some(AttrType::Tuple) {
            return bad("tuple properties need :db/valueType :db.type/tuple");
        }
        let n = [
            self.tuple_attrs.is_some(),
            self.tuple_type.is_some(),
            self.tuple_types.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n > 1 {
            return bad("use only one of :db/tupleAttrs, :db/tupleType, :db/tupleTypes");
        }
        if self.value_type == Some(AttrType::Tuple) && n == 0 {
            return bad(":db.type/tuple needs :db/tupleAttrs, :db/tupleType or :db/tupleTypes");
        }
        if self.tuple_attrs.is_some() && self.is_many() {
            return bad("a composite tuple (:db/tupleAttrs) must have cardinality one");
        }
        if matches!(self.tuple_type, Some(AttrType::Tuple))
            || self
                .tuple_types
                .as_ref()
                .is_some_and(|t| t.contains(&AttrType::Tuple))
        {
            return bad("tuples cannot nest");
        }
        Ok(())
    }

    /// The definition as an EDN map (without the name and id).
    pub fn to_edn(&self) -> Edn {
        let mut m = Vec::new();
        let kv = |m: &mut Vec<(Edn, Edn)>, k: &str, v: Edn| m.push((Edn::kw("db", k), v));
        if let Some(t) = self.value_type {
            kv(&mut m, "valueType", t.to_edn());
        }
        if self.is_many() {
            kv(&mut m, "cardinality", Edn::kw("db.cardinality", "many"));
        }
        match self.unique {
            Some(Unique::Identity) => kv(&mut m, "unique", Edn::kw("db.unique", "identity")),
            Some(Unique::Value) => kv(&mut m, "unique", Edn::kw("db.unique", "value")),
            None => {}
        }
        if self.is_component {
            kv(&mut m, "isComponent", Edn::Bool(true));
        }
        if let Some(ts) = &self.tuple_attrs {
            let v = ts.iter().cloned().map(Edn::Keyword).collect();
            kv(&mut m, "tupleAttrs", Edn::Vector(v));
        }
        if let Some(t) = self.tuple_type {
            kv(&mut m, "tupleType", t.to_edn());
        }
        if let Some(ts) = &self.tuple_types {
            let v = ts.iter().map(|t| t.to_edn()).collect();
            kv(&mut m, "tupleTypes", Edn::Vector(v));
        }
        if let Some(d) = &self.doc {
            kv(&mut m, "doc", Edn::string(d.clone()));
        }
        Edn::Map(m)
    }

    /// The definition with the value type filled in where Datalevin infers it.
    pub(crate) fn normalized(mut self) -> Attr {
        if self.value_type.is_none()
            && (self.tuple_attrs.is_some()
                || self.tuple_type.is_some()
                || self.tuple_types.is_some())
        {
            self.value_type = Some(AttrType::Tuple);
        }
        self
    }
}

/// A schema: attribute definitions by name, with their ids once stored.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    attrs: BTreeMap<Keyword, Attr>,
    by_id: HashMap<u32, Keyword>,
    /// For a schema read from EDN, each attribute's properties as written: a change of a
    /// stored attribute merges them into its definition (see [`Schema::merged_into`]).
    written: BTreeMap<Keyword, Edn>,
}

/// Two schemas are equal when they define the same attributes with the same ids.
impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.attrs == other.attrs && self.by_id == other.by_id
    }
}

impl Eq for Schema {}

impl Schema {
    /// An empty schema.
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Reads a schema map `{:attr {:db/valueType ...} ...}`.
    pub fn from_edn(edn: &Edn) -> Result<Schema> {
        let map = edn.as_map().ok_or_else(|| Error::Schema {
            attr: "the schema".into(),
            reason: format!("expected a map of attribute -> properties, got {edn}"),
        })?;
        let mut s = Schema::new();
        for (k, v) in map {
            let ident = k.as_keyword().cloned().ok_or_else(|| Error::Schema {
                attr: k.to_string(),
                reason: "attribute names must be keywords".into(),
            })?;
            if ident.name().starts_with('_') {
                return Err(Error::Schema {
                    attr: ident.to_string(),
                    reason: "attribute names cannot start with _ (reserved for reverse refs)"
                        .into(),
                });
            }
            s.insert(Attr::from_edn(ident.clone(), v)?.normalized());
            s.written.insert(ident, v.clone());
        }
        s.check_tuples()?;
        Ok(s)
    }

    /// The definition `ident` takes when this schema changes `stored`, as Datalevin's
    /// `update-schema` merges: the properties written here replace those of `stored`, a
    /// property written as `nil` is removed, and the others stay (`{:name {:db/doc "x"}}`
    /// keeps the value type and uniqueness of `:name`). An attribute of a schema built in
    /// Rust, not read from EDN, is taken whole.
    pub(crate) fn merged_into(&self, stored: &Attr) -> Result<Attr> {
        let Some(new) = self.attrs.get(&stored.ident) else {
            return Ok(stored.clone());
        };
        let Some(written) = self.written.get(&stored.ident).and_then(Edn::as_map) else {
            return Ok(new.clone());
        };
        let mut props = match stored.to_edn() {
            Edn::Map(m) => m,
            _ => vec![],
        };
        for (k, v) in written {
            props.retain(|(old, _)| old != k);
            if !v.is_nil() {
                props.push((k.clone(), v.clone()));
            }
        }
        Ok(Attr::from_edn(stored.ident.clone(), &Edn::Map(props))?.normalized())
    }

    /// Reads a schema from EDN text.
    pub fn parse(text: &str) -> Result<Schema> {
        Schema::from_edn(&levin_edn::read(text)?)
    }

    pub(crate) fn check_tuples(&self) -> Result<()> {
        for a in self.attrs.values() {
            if let Some(ts) = &a.tuple_attrs {
                for t in ts {
                    if let Some(x) = self.attrs.get(t) {
                        if x.is_many() {
                            return Err(Error::Schema {
                                attr: a.ident.to_string(),
                                reason: format!("{t} in :db/tupleAttrs has cardinality many"),
                            });
                        }
                        if x.value_type == Some(AttrType::Tuple) {
                            return Err(Error::Schema {
                                attr: a.ident.to_string(),
                                reason: format!("{t} in :db/tupleAttrs is itself a tuple"),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The schema as an EDN map.
    pub fn to_edn(&self) -> Edn {
        Edn::Map(
            self.attrs
                .values()
                .map(|a| (Edn::Keyword(a.ident.clone()), a.to_edn()))
                .collect(),
        )
    }

    /// The definition of `ident`.
    pub fn get(&self, ident: &Keyword) -> Option<&Attr> {
        self.attrs.get(ident)
    }

    /// The attribute with id `id`.
    pub fn by_id(&self, id: u32) -> Option<&Attr> {
        self.by_id.get(&id).and_then(|k| self.attrs.get(k))
    }

    /// Every attribute, by name.
    pub fn attrs(&self) -> impl Iterator<Item = &Attr> {
        self.attrs.values()
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.attrs.len()
    }

    /// True when no attribute is defined.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// Adds or replaces a definition.
    pub fn insert(&mut self, attr: Attr) {
        if attr.id != 0 {
            self.by_id.insert(attr.id, attr.ident.clone());
        }
        self.attrs.insert(attr.ident.clone(), attr);
    }

    /// Whether every attribute of `other` is defined here the same way (ids aside).
    pub fn contains_all(&self, other: &Schema) -> bool {
        other.attrs().all(|a| {
            self.get(&a.ident).is_some_and(|mine| {
                let mut theirs = a.clone();
                theirs.id = mine.id;
                *mine == theirs
            })
        })
    }

    /// Removes a definition.
    pub(crate) fn remove(&mut self, ident: &Keyword) {
        if let Some(a) = self.attrs.remove(ident) {
            self.by_id.remove(&a.id);
        }
    }

    /// Composite tuple attributes that include `ident`.
    pub(crate) fn tuples_of(&self, ident: &Keyword) -> Vec<&Attr> {
        self.attrs
            .values()
            .filter(|a| a.tuple_attrs.as_ref().is_some_and(|t| t.contains(ident)))
            .collect()
    }
}

/// `:ns/_name` -> `Some(:ns/name)`.
pub fn reverse_of(k: &Keyword) -> Option<Keyword> {
    k.name()
        .strip_prefix('_')
        .filter(|n| !n.is_empty())
        .map(|n| Keyword::new(k.namespace(), n))
}

/// `:ns/name` -> `:ns/_name`.
pub fn reverse_name(k: &Keyword) -> Keyword {
    Keyword::new(k.namespace(), &format!("_{}", k.name()))
}

/// The built-in `:db/ident` attribute (id 1): unique identity keywords naming entities.
pub(crate) fn db_ident() -> Attr {
    Attr {
        id: 1,
        value_type: Some(AttrType::Keyword),
        unique: Some(Unique::Identity),
        ..Attr::untyped(Keyword::new(Some("db"), "ident"))
    }
}
