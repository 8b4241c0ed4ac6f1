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

    /// One pass over entity `e`'s EAV list: for each wanted `(attribute id, want)`, the
    /// values found (`Bind`) or whether a match was found (`Exists`, `Equals`: one `Nil`
    /// pushed). Returns false as soon as it is known that some want has no match.
    pub(crate) fn entity_values(
        &self,
        e: u64,
        wants: &[(u32, Want)],
        out: &mut [Vec<Edn>],
    ) -> Result<bool> {
        let view = self.view();
        for o in out.iter_mut() {
            o.clear();
        }
        let max_aid = wants.iter().map(|(a, _)| *a).max().unwrap_or(0);
        for kv in view
            .r
            .list(&view.dbs.eav, &layout::eid_bytes(e))
            .map_err(Error::from)?
        {
            let (_, item) = kv.map_err(Error::from)?;
            let (aid, part) = layout::split_item(item)?;
            if aid > max_aid {
                break;
            }
            let mut decoded: Option<Edn> = None;
            for (i, (want_aid, want)) in wants.iter().enumerate() {
                if *want_aid != aid {
                    continue;
                }
                match want {
                    Want::Exists => {
                        if out[i].is_empty() {
                            out[i].push(Edn::Nil);
                        }
                    }
                    Want::Bind | Want::Equals(_) => {
                        if decoded.is_none() {
                            decoded = Some(view.part_edn(part)?);
                        }
                        let v = decoded.as_ref().unwrap_or(&Edn::Nil);
                        match want {
                            Want::Equals(c) => {
                                if out[i].is_empty() && v == c {
                                    out[i].push(Edn::Nil);
                                }
                            }
                            _ => out[i].push(v.clone()),
                        }
                    }
                }
            }
        }
        Ok(out.iter().all(|o| !o.is_empty()))
    }
}
