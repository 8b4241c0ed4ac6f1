//! [`Entity`]: a lazy view of one entity in a [`Db`] snapshot — look up attributes, follow
//! refs forward and backward, and `touch` it into a map.

use std::collections::HashSet;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::schema::reverse_of;
use levin_edn::{Edn, Keyword};

/// One entity of a snapshot. Attributes are read when asked for.
#[derive(Clone, Copy)]
pub struct Entity<'a> {
    db: &'a Db<'a>,
    eid: u64,
}

/// Parses `":ns/name"` or `"ns/name"` into a keyword.
pub fn keyword(attr: &str) -> Keyword {
    let s = attr.strip_prefix(':').unwrap_or(attr);
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => Keyword::new(Some(ns), name),
        _ => Keyword::new(None, s),
    }
}

impl<'a> Entity<'a> {
    pub(crate) fn new(db: &'a Db<'a>, eid: u64) -> Self {
        Entity { db, eid }
    }

    /// The entity id.
    pub fn id(&self) -> u64 {
        self.eid
    }

    /// The value of `attr` (`":ns/name"`): a single value for cardinality one, a set for
    /// cardinality many and for reverse refs (`":ns/_name"`); refs are entity ids.
    /// `None` when the entity has no such datom.
    pub fn get(&self, attr: &str) -> Result<Option<Edn>> {
        self.get_kw(&keyword(attr))
    }

    /// [`Entity::get`] with a keyword.
    pub fn get_kw(&self, k: &Keyword) -> Result<Option<Edn>> {
        if k.is("db", "id") {
            return Ok(Some(Edn::Long(self.eid as i64)));
        }
        let view = self.db.view();
        if let Some(fwd) = reverse_of(k) {
            let Some(a) = view.attr(&fwd).filter(|a| a.is_ref()) else {
                return Ok(None);
            };
            let es = view.referrers(self.eid, a)?;
            if es.is_empty() {
                return Ok(None);
            }
            let items: Vec<Edn> = es.into_iter().map(|e| Edn::Long(e as i64)).collect();
            return Ok(Some(if a.is_component {
                items.into_iter().next().unwrap_or(Edn::Nil)
            } else {
                Edn::Set(items)
            }));
        }
        let Some(a) = view.attr(k) else {
            return Ok(None);
        };
        let mut vs = view.values(self.eid, a)?;
        Ok(match vs.len() {
            0 => None,
            _ if a.is_many() => Some(Edn::Set(vs)),
            _ => vs.pop(),
        })
    }

    /// The entity a cardinality-one ref points to (or the one referring, for `:ns/_name`).
    pub fn get_ref(&self, attr: &str) -> Result<Option<Entity<'a>>> {
        Ok(self.get_refs(attr)?.into_iter().next())
    }

    /// The entities a ref attribute points to (or, reversed, that point here).
    pub fn get_refs(&self, attr: &str) -> Result<Vec<Entity<'a>>> {
        let k = keyword(attr);
        let fwd = reverse_of(&k).unwrap_or_else(|| k.clone());
        if !self.db.is_ref(&fwd) {
            return Err(Error::Invalid(format!("{fwd} is not a ref attribute")));
        }
        let ids = match self.get_kw(&k)? {
            None => vec![],
            Some(Edn::Set(items)) => items,
            Some(x) => vec![x],
        };
        Ok(ids
            .into_iter()
            .filter_map(|x| x.as_long())
            .map(|e| Entity::new(self.db, e as u64))
            .collect())
    }

    /// The attribute names the entity has, in attribute-id order.
    pub fn keys(&self) -> Result<Vec<Keyword>> {
        let mut out: Vec<Keyword> = Vec::new();
        for (a, _) in self.db.view().entity_datoms(self.eid)? {
            if out.last() != Some(&a.ident) {
                out.push(a.ident.clone());
            }
        }
        Ok(out)
    }

    /// Every attribute as a map with `:db/id`; refs as `{:db/id n}`, component entities
    /// touched recursively.
    pub fn touch(&self) -> Result<Edn> {
        let mut seen = HashSet::new();
        self.touch_in(&mut seen)
    }

    fn touch_in(&self, seen: &mut HashSet<u64>) -> Result<Edn> {
        seen.insert(self.eid);
        let view = self.db.view();
        let mut m: Vec<(Edn, Edn)> = vec![(Edn::kw("db", "id"), Edn::Long(self.eid as i64))];
        let mut many: Vec<Edn> = Vec::new();
        let datoms = view.entity_datoms(self.eid)?;
        for (i, (a, v)) in datoms.iter().enumerate() {
            let v = if a.is_ref() {
                let e = v.as_long().unwrap_or(0) as u64;
                if a.is_component && !seen.contains(&e) {
                    Entity::new(self.db, e).touch_in(seen)?
                } else {
                    Edn::Map(vec![(Edn::kw("db", "id"), v.clone())])
                }
            } else {
                v.clone()
            };
            if a.is_many() {
                many.push(v);
                let last = !matches!(datoms.get(i + 1), Some((b, _)) if b.id == a.id);
                if last {
                    m.push((
                        Edn::Keyword(a.ident.clone()),
                        Edn::Set(std::mem::take(&mut many)),
                    ));
                }
            } else {
                m.push((Edn::Keyword(a.ident.clone()), v));
            }
        }
        Ok(Edn::Map(m))
    }
}

impl std::fmt::Debug for Entity<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#entity {{:db/id {}}}", self.eid)
    }
}
