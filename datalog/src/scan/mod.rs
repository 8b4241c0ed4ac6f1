//! Raw index reads for the query engine that never build a [`Datom`](crate::Datom): the
//! entities of one attribute value, an attribute's values over a range (AVE), the ref
//! values of entities as plain ids, and (in `group`) the merge scan that reads several
//! attributes of many entities at once. They are `Db` methods, so the byte layout stays
//! inside the store.

mod group;

pub use group::{sorted_distinct, EidIndex, GroupRead, ValueNumbers, Want};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::layout;
use crate::schema::{Attr, AttrType};
use levin_edn::Edn;

impl Db<'_> {
    /// Entities whose `attr` has value `v`, in id order (empty when `v` cannot be a value of
    /// `attr` or is not stored).
    pub fn entities_with(&self, attr: &Attr, v: &Edn) -> Result<Vec<u64>> {
        let view = self.view();
        let Some(key) = view.lookup_key(attr, v)? else {
            return Ok(vec![]);
        };
        layout::entities_of(view.r, view.dbs, &key)
    }

    /// [`entities_with`](Self::entities_with) for each of `values`, in their order (none for
    /// nil, which is no value). Their AVE keys are visited in ascending order with one
    /// cursor, so the lookups of values near one another share the descent from the root
    /// (a join through a ref attribute looks up hundreds of neighbouring ids).
    pub fn entities_with_each(&self, attr: &Attr, values: &[&Edn]) -> Result<Vec<Vec<u64>>> {
        let view = self.view();
        let mut keyed: Vec<(Vec<u8>, usize)> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            if v.is_nil() {
                continue;
            }
            if let Some(key) = view.lookup_key(attr, v)? {
                keyed.push((key, i));
            }
        }
        keyed.sort_unstable();
        let keys: Vec<&[u8]> = keyed.iter().map(|(k, _)| k.as_slice()).collect();
        let mut out: Vec<Vec<u64>> = vec![Vec::new(); values.len()];
        let found = layout::entities_of_each(view.r, view.dbs, &keys)?;
        for ((_, i), ids) in keyed.iter().zip(found) {
            out[*i] = ids;
        }
        Ok(out)
    }

    /// Whether some entity's `attr` has value `v`: one lookup of the value's AVE key, none
    /// of its entities read.
    pub fn has_entity_with(&self, attr: &Attr, v: &Edn) -> Result<bool> {
        let view = self.view();
        let Some(key) = view.lookup_key(attr, v)? else {
            return Ok(false);
        };
        Ok(view.r.contains_key(&view.dbs.ave, &key)?)
    }

    /// Every entity that has some value of `attr`, ascending and each once: one pass over
    /// the attribute's AVE entries that decodes no value.
    pub fn entities_having(&self, attr: &Attr) -> Result<Vec<u64>> {
        let Some(range) = self.attr_value_range(attr, None, None)? else {
            return Ok(vec![]);
        };
        let view = self.view();
        let mut out = vec![];
        let mut bad = None;
        view.r.visit_range(&view.dbs.ave, &range, &mut |_, e| {
            match layout::eid_of(e) {
                Ok(e) => out.push(e),
                Err(err) => {
                    bad.get_or_insert(err);
                }
            }
            Ok(())
        })?;
        if let Some(err) = bad {
            return Err(err);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Calls `f(value, entity)` for every datom of `attr` whose value is a long, in AVE
    /// order, with both as plain integers: one pass that builds no [`Edn`] (what closure
    /// walks over a ref attribute read). Returns `false` (stopping there) at the first
    /// value that is not a positive long, which no ref value is.
    pub fn scan_id_pairs<E: From<Error>>(
        &self,
        attr: &Attr,
        mut f: impl FnMut(u64, u64) -> std::result::Result<(), E>,
    ) -> std::result::Result<bool, E> {
        let mut all = true;
        self.visit_long_pairs::<E>(attr, |v, e| match v {
            Some(v) if v > 0 => {
                f(v as u64, layout::eid_of(e).map_err(E::from)?)?;
                Ok(true)
            }
            _ => {
                all = false;
                Ok(false)
            }
        })?;
        Ok(all)
    }

    /// Calls `f(value, entity)` for every datom of `attr`, an attribute whose values are all
    /// longs ([`holds_longs`]), in AVE order: the scan a merge scan makes of a reference or
    /// long attribute, with no [`Edn`] built and no run of values tracked.
    fn scan_longs(&self, attr: &Attr, mut f: impl FnMut(i64, u64)) -> Result<()> {
        self.visit_long_pairs(attr, |v, e| match v {
            Some(v) => {
                f(v, layout::eid_of(e)?);
                Ok(true)
            }
            None => Err(Error::Corrupt(format!(
                "a value of {}, declared a long or a reference, is not a long",
                attr.ident
            ))),
        })
    }

    /// The walk under [`scan_id_pairs`](Self::scan_id_pairs) and `scan_longs`: calls
    /// `f(value, entity bytes)` for every datom of `attr` in AVE order, the value as a long
    /// read straight from its key (`None` when it is not one), until `f` returns `false`.
    fn visit_long_pairs<E: From<Error>>(
        &self,
        attr: &Attr,
        mut f: impl FnMut(Option<i64>, &[u8]) -> std::result::Result<bool, E>,
    ) -> std::result::Result<(), E> {
        let Some(range) = self.attr_value_range(attr, None, None)? else {
            return Ok(());
        };
        let view = self.view();
        // Errors of `f` wait here while the engine's callback reports a stop.
        let mut failed: Option<E> = None;
        let mut stopped = false;
        let visited = view.r.visit_range(&view.dbs.ave, &range, &mut |k, e| {
            // Decoding the 9-byte part again per datom costs less than comparing keys.
            let v = k.get(4..).and_then(levin_codec::decode_tagged_long);
            match f(v, e) {
                Ok(true) => Ok(()),
                Ok(false) => {
                    stopped = true;
                    Err(levin_engine::Error::Stopped)
                }
                Err(err) => {
                    failed = Some(err);
                    Err(levin_engine::Error::Stopped)
                }
            }
        });
        match (failed, stopped, visited) {
            (Some(err), _, _) => Err(err),
            (None, true, _) => Ok(()),
            (None, false, r) => r.map_err(|e| Error::from(e).into()),
        }
    }

    /// The values of `attr` on each of `es` (ascending, distinct) as plain integers, no
    /// [`Edn`] built: appends those of `es[0]`, then of `es[1]`, ... to `out` in index
    /// order, and the end of each entity's values in `out` to `ends`; `false` (`out` and
    /// `ends` then unspecified) when a value is not a positive long. The entities' EAV
    /// lists are visited with one cursor, each list whole: for entities of few datoms, as
    /// the nodes of a graph walk.
    pub fn id_values_of_each(
        &self,
        es: &[u64],
        attr: &Attr,
        out: &mut Vec<u64>,
        ends: &mut Vec<usize>,
    ) -> Result<bool> {
        let view = self.view();
        let keys: Vec<[u8; 8]> = es.iter().map(|&e| layout::eid_bytes(e)).collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let mut ok = true;
        let mut bad: Option<Error> = None;
        // Entities before `done` have their end in `ends`.
        let mut done = 0;
        view.r
            .visit_lists(&view.dbs.eav, &key_refs, &mut |i, item| {
                while done < i {
                    ends.push(out.len());
                    done += 1;
                }
                let (aid, part) = match layout::split_item(item) {
                    Ok(x) => x,
                    Err(e) => {
                        bad.get_or_insert(e);
                        return Err(levin_engine::Error::Stopped);
                    }
                };
                if aid == attr.id {
                    match levin_codec::decode_tagged_long(part) {
                        Some(v) if v > 0 => out.push(v as u64),
                        _ => {
                            ok = false;
                            return Err(levin_engine::Error::Stopped);
                        }
                    }
                }
                Ok(())
            })
            .or_else(|e| match e {
                levin_engine::Error::Stopped => Ok(()),
                e => Err(Error::from(e)),
            })?;
        if let Some(e) = bad {
            return Err(e);
        }
        while done < es.len() {
            ends.push(out.len());
            done += 1;
        }
        Ok(ok)
    }

    /// Calls `f(value, entity)` for every datom of `attr` with a value in `range` (inclusive
    /// bounds, either optional; the whole attribute when `None`), in AVE order. Each distinct
    /// value is decoded once.
    pub fn scan_attr<E: From<Error>>(
        &self,
        attr: &Attr,
        range: Option<&(Option<Edn>, Option<Edn>)>,
        mut f: impl FnMut(&Edn, u64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.scan_attr_runs(attr, range, |v, _, e| f(v, e))
    }

    /// [`scan_attr`](Self::scan_attr), also telling `f` whether the value differs from the
    /// previous call's (the first datom of a run of one value).
    fn scan_attr_runs<E: From<Error>>(
        &self,
        attr: &Attr,
        range: Option<&(Option<Edn>, Option<Edn>)>,
        mut f: impl FnMut(&Edn, bool, u64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let (lo, hi) = match range {
            Some((lo, hi)) => (lo.as_ref(), hi.as_ref()),
            None => (None, None),
        };
        let Some(range) = self.attr_value_range(attr, lo, hi)? else {
            return Ok(());
        };
        let view = self.view();
        // The previous call's value: a long (every ref, count or quantity) is compared as
        // one, anything else by its encoded key. Attributes of another declared type hold
        // no longs and skip the test.
        let longs = !matches!(
            attr.value_type,
            Some(t) if t != AttrType::Long && t != AttrType::Ref
        );
        let mut last_long: Option<i64> = None;
        let mut last_key: Vec<u8> = Vec::new();
        let mut last_value = Edn::Nil;
        let mut long_value = Edn::Long(0);
        // Errors of `f` wait here while the engine's callback reports a stop.
        let mut failed: Option<E> = None;
        let visited = view.r.visit_range(&view.dbs.ave, &range, &mut |k, e| {
            let step = (|| {
                let long = if longs {
                    k.get(4..).and_then(levin_codec::decode_tagged_long)
                } else {
                    None
                };
                if let Some(v) = long {
                    let fresh = last_long != Some(v);
                    if fresh {
                        last_long = Some(v);
                        last_key.clear();
                        // Set in place: the previous long needs no drop.
                        if let Edn::Long(x) = &mut long_value {
                            *x = v;
                        }
                    }
                    return f(&long_value, fresh, layout::eid_of(e)?);
                }
                let fresh = k != last_key.as_slice();
                if fresh {
                    let (_, part) = layout::split_item(k)?;
                    last_value = view.part_edn(part)?;
                    last_long = None;
                    last_key.clear();
                    last_key.extend_from_slice(k);
                }
                f(&last_value, fresh, layout::eid_of(e)?)
            })();
            step.map_err(|err| {
                failed = Some(err);
                levin_engine::Error::Stopped
            })
        });
        match (failed, visited) {
            (Some(err), _) => Err(err),
            (None, r) => r.map_err(|e| Error::from(e).into()),
        }
    }
}

/// Whether every value of `attr` is a long: it is declared a long or a reference.
fn holds_longs(attr: &Attr) -> bool {
    matches!(attr.value_type, Some(AttrType::Long | AttrType::Ref))
}
