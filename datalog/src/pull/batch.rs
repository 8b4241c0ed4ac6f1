//! Batch pull: one pattern over many entities at once, a level of the pattern at a time.
//! Each level reads its entities' EAV lists in ascending id order with one cursor (no
//! descent from the root between neighbours), resolves the pattern's attributes once, and
//! pulls each sub-pattern for all the targets of the level together, each distinct target
//! once.
//!
//! It is only for patterns whose result for an entity depends on nothing but the entity and
//! the pattern ([`batchable`]): without recursion or component expansion, a pull never
//! consults the entities it has already expanded, so sharing one target's result between
//! referrers (or between roots) gives what pulling each root alone gives.

use std::mem;
use std::time::Instant;

use crate::db::View;
use crate::error::{Error, Result};
use crate::layout;
use crate::schema::{reverse_of, Attr};
use levin_edn::Edn;

use super::pattern::{Pattern, Sub};
use super::{id_map, only_id, push_value, timeout, Puller};

/// Whether pulling `pat` expands nothing through recursion, a wildcard or a component
/// attribute without a sub-pattern: the cases whose results depend on what else the pull
/// has expanded.
pub(super) fn batchable(pat: &Pattern, view: &View<'_>) -> bool {
    !pat.wildcard
        && pat.specs.iter().all(|s| match &s.sub {
            Sub::Recurse(_) => false,
            Sub::Pattern(p) => batchable(p, view),
            Sub::None => {
                reverse_of(&s.attr).is_some()
                    || !view
                        .attr(&s.attr)
                        .is_some_and(|a| a.is_ref() && a.is_component)
            }
        })
}

/// How one spec of a level gets its values.
enum Col<'a> {
    /// `:db/id`.
    Id,
    /// An attribute the schema lacks (or a reverse of a non-ref): never a value.
    Missing,
    Forward(&'a Attr),
    /// A reverse ref; the attribute is the forward one.
    Reverse(&'a Attr),
}

/// The values of one spec for every entity of a level: entity `i`'s are
/// `vals[starts[i]..starts[i + 1]]`, taken out as the results are built.
struct Column {
    starts: Vec<u32>,
    vals: Vec<Edn>,
    /// Whether the result is a vector (else the first value).
    many: bool,
}

/// The wanted items of a level's entities, copied out of the EAV lists: entity `i`'s are
/// `hits[first[i]..first[i + 1]]`, each (attribute id, start, end) in `bytes`, in list
/// order.
struct Items {
    first: Vec<u32>,
    hits: Vec<(u32, u32, u32)>,
    bytes: Vec<u8>,
    /// Whether the entity has any datom at all.
    has_datoms: Vec<bool>,
}

impl Puller<'_> {
    /// `pat` ([`batchable`]) pulled for each of `eids` (any order, repeats allowed), in
    /// `eids`' order. At the `root` level an entity without datoms whose result would hold
    /// only its id gives nil, as [`pull`](super::pull) does.
    pub(super) fn batch(&self, eids: &[u64], pat: &Pattern, root: bool) -> Result<Vec<Edn>> {
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(timeout());
        }
        let mut ids = eids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let cols: Vec<Col> = pat
            .specs
            .iter()
            .map(|s| {
                if s.attr.is("db", "id") {
                    Col::Id
                } else if let Some(fwd) = reverse_of(&s.attr) {
                    match self.view.attr(&fwd).filter(|a| a.is_ref()) {
                        Some(a) => Col::Reverse(a),
                        None => Col::Missing,
                    }
                } else {
                    match self.view.attr(&s.attr) {
                        Some(a) => Col::Forward(a),
                        None => Col::Missing,
                    }
                }
            })
            .collect();
        let wanted: Vec<u32> = cols
            .iter()
            .filter_map(|c| match c {
                Col::Forward(a) => Some(a.id),
                _ => None,
            })
            .collect();
        let items = if root || !wanted.is_empty() {
            Some(self.items(&ids, &wanted)?)
        } else {
            None
        };
        let mut columns: Vec<Option<Column>> = Vec::with_capacity(cols.len());
        for (spec, col) in pat.specs.iter().zip(&cols) {
            let (targets, starts, a, many) = match col {
                Col::Id | Col::Missing => {
                    columns.push(None);
                    continue;
                }
                Col::Forward(a) => {
                    let limit = if a.is_many() { spec.limit } else { None };
                    let items = items.as_ref().ok_or_else(|| {
                        Error::Corrupt("batch pull read no items for a forward attribute".into())
                    })?;
                    let (starts, vals) = self.forward_values(&ids, items, a, limit)?;
                    if !a.is_ref() {
                        columns.push(Some(Column {
                            starts,
                            vals,
                            many: a.is_many(),
                        }));
                        continue;
                    }
                    let targets = vals
                        .iter()
                        .map(|v| v.as_long().unwrap_or(0) as u64)
                        .collect();
                    (targets, starts, *a, a.is_many())
                }
                Col::Reverse(a) => {
                    let mut starts = Vec::with_capacity(ids.len() + 1);
                    let mut targets = Vec::new();
                    starts.push(0);
                    for &e in &ids {
                        self.tick()?;
                        let mut es = self.view.referrers(e, a)?;
                        if let Some(n) = spec.limit {
                            es.truncate(n);
                        }
                        targets.extend(es);
                        starts.push(targets.len() as u32);
                    }
                    (targets, starts, *a, !a.is_component)
                }
            };
            let (starts, vals) = match &spec.sub {
                // A target the sub-pattern finds nothing in is left out (as in Datalevin).
                Sub::Pattern(p) => without_nils(&starts, self.batch(&targets, p, false)?),
                // `batchable` leaves only plain refs here (components need a sub-pattern).
                _ => {
                    debug_assert!(!a.is_component || matches!(col, Col::Reverse(_)));
                    (starts, targets.iter().map(|&x| id_map(x)).collect())
                }
            };
            columns.push(Some(Column { starts, vals, many }));
        }
        let mut results = Vec::with_capacity(ids.len());
        for (i, &e) in ids.iter().enumerate() {
            self.tick()?;
            let mut out: Vec<(Edn, Edn)> = Vec::with_capacity(pat.specs.len());
            for (spec, column) in pat.specs.iter().zip(&mut columns) {
                if spec.attr.is("db", "id") {
                    if !out.iter().any(|(k, _)| *k == spec.key) {
                        out.push((spec.key.clone(), Edn::Long(e as i64)));
                    }
                    continue;
                }
                push_value(&mut out, spec, column.as_mut().and_then(|c| c.take(i)));
            }
            let v = if out.is_empty() {
                Edn::Nil
            } else {
                Edn::Map(out)
            };
            let lone = root && items.as_ref().is_some_and(|it| !it.has_datoms[i]);
            results.push(if lone && only_id(pat, &v) {
                Edn::Nil
            } else {
                v
            });
        }
        Ok(spread(&ids, results, eids))
    }

    /// The items of `ids` (ascending) whose attribute is among `wanted`, read with one
    /// cursor.
    fn items(&self, ids: &[u64], wanted: &[u32]) -> Result<Items> {
        let keys: Vec<[u8; 8]> = ids.iter().map(|&e| layout::eid_bytes(e)).collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let mut per_entity: Vec<u32> = vec![0; ids.len()];
        let mut has_datoms = vec![false; ids.len()];
        let mut hits: Vec<(u32, u32, u32, u32)> = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        let mut bad: Option<Error> = None;
        self.view
            .r
            .visit_lists(&self.view.dbs.eav, &key_refs, &mut |i, item| {
                has_datoms[i] = true;
                match layout::split_item(item) {
                    Ok((aid, part)) => {
                        if wanted.contains(&aid) {
                            let start = bytes.len() as u32;
                            bytes.extend_from_slice(part);
                            hits.push((i as u32, aid, start, bytes.len() as u32));
                            per_entity[i] += 1;
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
            return Err(e);
        }
        // The cursor visits the keys in order, so the hits are grouped by entity already.
        let mut first = Vec::with_capacity(ids.len() + 1);
        let mut at = 0u32;
        first.push(0);
        for n in per_entity {
            at += n;
            first.push(at);
        }
        Ok(Items {
            first,
            hits: hits.into_iter().map(|(_, a, s, e)| (a, s, e)).collect(),
            bytes,
            has_datoms,
        })
    }

    /// The decoded values of `a` for each of `ids`, at most `limit` each, as a column's
    /// (starts, values).
    fn forward_values(
        &self,
        ids: &[u64],
        items: &Items,
        a: &Attr,
        limit: Option<usize>,
    ) -> Result<(Vec<u32>, Vec<Edn>)> {
        let mut starts = Vec::with_capacity(ids.len() + 1);
        let mut vals = Vec::new();
        starts.push(0);
        for i in 0..ids.len() {
            let hits = &items.hits[items.first[i] as usize..items.first[i + 1] as usize];
            let mut n = 0;
            for &(aid, s, e) in hits {
                if aid != a.id || limit.is_some_and(|l| n >= l) {
                    continue;
                }
                vals.push(self.view.part_edn(&items.bytes[s as usize..e as usize])?);
                n += 1;
            }
            starts.push(vals.len() as u32);
        }
        Ok((starts, vals))
    }
}

impl Column {
    /// Entity `i`'s value (`None` when it has none), moved out of the column.
    fn take(&mut self, i: usize) -> Option<Edn> {
        let r = self.starts[i] as usize..self.starts[i + 1] as usize;
        if r.is_empty() {
            return None;
        }
        Some(if self.many {
            Edn::Vector(
                self.vals[r]
                    .iter_mut()
                    .map(|v| mem::replace(v, Edn::Nil))
                    .collect(),
            )
        } else {
            mem::replace(&mut self.vals[r.start], Edn::Nil)
        })
    }
}

/// The column (`starts`, `vals`) without its nil values.
fn without_nils(starts: &[u32], vals: Vec<Edn>) -> (Vec<u32>, Vec<Edn>) {
    let mut out_starts = Vec::with_capacity(starts.len());
    let mut out = Vec::with_capacity(vals.len());
    out_starts.push(0);
    let mut vals = vals.into_iter();
    for w in starts.windows(2) {
        for v in vals.by_ref().take((w[1] - w[0]) as usize) {
            if !v.is_nil() {
                out.push(v);
            }
        }
        out_starts.push(out.len() as u32);
    }
    (out_starts, out)
}

/// The results of the distinct ascending `ids` laid out in the order of `eids` (each of
/// which is among `ids`), cloned for repeats.
fn spread(ids: &[u64], mut results: Vec<Edn>, eids: &[u64]) -> Vec<Edn> {
    if ids == eids {
        return results;
    }
    let mut uses = vec![0u32; ids.len()];
    let pos: Vec<usize> = eids
        .iter()
        .map(|e| ids.binary_search(e).unwrap_or(0))
        .collect();
    for &p in &pos {
        uses[p] += 1;
    }
    pos.into_iter()
        .map(|p| {
            uses[p] -= 1;
            if uses[p] == 0 {
                mem::replace(&mut results[p], Edn::Nil)
            } else {
                results[p].clone()
            }
        })
        .collect()
}
