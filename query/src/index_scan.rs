//! Raw index reads for the query engine that never build a [`Datom`](crate::Datom): the
//! entities of one attribute value and an attribute's values over a range (AVE), and the
//! merge scan that reads several attributes of one entity in a single pass over its EAV
//! list. They are `Db` methods, so the byte layout stays inside the store.

use crate::db::Db;
use crate::edn::Edn;
use crate::error::{Error, Result};
use crate::layout;
use crate::schema::Attr;

/// What the merge scan does with one pattern's attribute.
#[derive(Debug, Clone)]
pub enum Want {
    /// Collect every value (the pattern binds a new variable).
    Bind,
    /// The entity must have some value (`_`).
    Exists,
    /// The entity must have this value (compared decoded, so only for values stored as
    /// themselves).
    Equals(Edn),
}

impl Db {
    /// Entities whose `attr` has value `v`, in id order (empty when `v` cannot be a value of
    /// `attr` or is not stored).
    pub(crate) fn entities_with(&self, attr: &Attr, v: &Edn) -> Result<Vec<u64>> {
        let view = self.view();
        let Some(part) = view.lookup_part(attr, v)? else {
            return Ok(vec![]);
        };
        layout::entities_of(view.r, view.dbs, &layout::item(attr.id, &part))
    }

    /// Calls `f(value, entity)` for every datom of `attr` with a value in `range` (inclusive
    /// bounds, either optional; the whole attribute when `None`), in AVE order. Each distinct
    /// value is decoded once.
    pub(crate) fn scan_attr<E: From<Error>>(
        &self,
        attr: &Attr,
        range: Option<&(Option<Edn>, Option<Edn>)>,
        mut f: impl FnMut(&Edn, u64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let (lo, hi) = match range {
            Some((lo, hi)) => (lo.as_ref(), hi.as_ref()),
            None => (None, None),
        };
        let Some(range) = self.attr_value_range(attr, lo, hi)? else {
            return Ok(());
        };
        let view = self.view();
        let mut last_key: Vec<u8> = Vec::new();
        let mut last_value = Edn::Nil;
        for kv in view.r.range(&view.dbs.ave, range).map_err(Error::from)? {
            let (k, e) = kv.map_err(Error::from)?;
            if k != last_key.as_slice() {
                let (_, part) = layout::split_item(k)?;
                last_value = view.part_edn(part)?;
                last_key.clear();
                last_key.extend_from_slice(k);
            }
            f(&last_value, layout::eid_of(e)?)?;
        }
        Ok(())
    }

    /// The merge scan of many entities at once: `eids` (ascending, distinct) are read with
    /// one cursor over EAV, so neighbouring entities cost no descent from the root. Calls
    /// `found(i, values)` for each `eids[i]` that has a match for every want, with, per want, the values found (`Bind`) or one `Nil` (`Exists`,
    /// `Equals`).
    pub(crate) fn entities_values<E: From<Error>>(
        &self,
        eids: &[u64],
        wants: &[(u32, Want)],
        mut found: impl FnMut(usize, &mut [Vec<Edn>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let view = self.view();
        let keys: Vec<[u8; 8]> = eids.iter().map(|&e| layout::eid_bytes(e)).collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        // The wanted items' value parts, copied into one buffer: (entity index, attribute
        // id, start, end).
        let mut bytes: Vec<u8> = Vec::new();
        let mut hits: Vec<(u32, u32, u32, u32)> = Vec::new();
        let mut bad: Option<Error> = None;
        view.r
            .visit_lists(&view.dbs.eav, &key_refs, &mut |i, item| {
                match layout::split_item(item) {
                    Ok((aid, part)) => {
                        if wants.iter().any(|(a, _)| *a == aid) {
                            let start = bytes.len() as u32;
                            bytes.extend_from_slice(part);
                            hits.push((i as u32, aid, start, bytes.len() as u32));
                        }
                    }
                    Err(e) => {
                        bad.get_or_insert(e);
                    }
                }
                Ok(())
            })
            .map_err(Error::from)?;
        if let Some(e) = bad {
            return Err(e.into());
        }
        let mut out: Vec<Vec<Edn>> = vec![vec![]; wants.len()];
        let mut h = 0;
        while h < hits.len() {
            let entity = hits[h].0;
            for o in out.iter_mut() {
                o.clear();
            }
            while h < hits.len() && hits[h].0 == entity {
                let (_, aid, start, end) = hits[h];
                let part = &bytes[start as usize..end as usize];
                let mut decoded: Option<Edn> = None;
                for (w, (want_aid, want)) in wants.iter().enumerate() {
                    if *want_aid != aid {
                        continue;
                    }
                    match want {
                        Want::Exists => {
                            if out[w].is_empty() {
                                out[w].push(Edn::Nil);
                            }
                        }
                        Want::Bind | Want::Equals(_) => {
                            if decoded.is_none() {
                                decoded = Some(view.part_edn(part)?);
                            }
                            let v = decoded.as_ref().unwrap_or(&Edn::Nil);
                            match want {
                                Want::Equals(c) => {
                                    if out[w].is_empty() && v == c {
                                        out[w].push(Edn::Nil);
                                    }
                                }
                                _ => out[w].push(v.clone()),
                            }
                        }
                    }
                }
                h += 1;
            }
            if out.iter().all(|o| !o.is_empty()) {
                found(entity as usize, &mut out)?;
            }
        }
        Ok(())
    }
}
