//! Raw index reads for the query engine that never build a [`Datom`](crate::Datom): the
//! entities of one attribute value and an attribute's values over a range (AVE), and the
//! merge scan that reads several attributes of one entity in a single pass over its EAV
//! list. They are `Db` methods, so the byte layout stays inside the store.

use crate::db::Db;
use crate::error::{Error, Result};
use crate::layout;
use crate::schema::{Attr, AttrType};
use levin_edn::Edn;

/// How a merge scan reads its entities' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupRead {
    /// Whichever of the two below reads less, by the index counts.
    #[default]
    Cheapest,
    /// Each entity's EAV list.
    Eav,
    /// Each wanted attribute's AVE entries, kept when their entity is one of those asked for.
    Ave,
}

// Costs of the two ways, in datoms of an AVE scan that decodes and keeps its values (about
// 120 instructions each for a reference or long attribute, 155 for others, measured with
// callgrind on the orders benchmark's `:order/lines`). An entity read through EAV (a
// forward seek, its list visited, the wanted items picked and decoded) costs about 1,200
// to 1,400 instructions with one want (an order of the same data), more with each further
// want; a datom of one value's list (an `Equals` want) needs no decoding. The constants
// are that ratio: about 10 datoms per entity read.
const ENTITY_READ_COST: f64 = 10.0;
const WANT_COST: f64 = 2.5;
const EQUALS_DATOM_COST: f64 = 0.2;

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

impl Db<'_> {
    /// Entities whose `attr` has value `v`, in id order (empty when `v` cannot be a value of
    /// `attr` or is not stored).
    pub fn entities_with(&self, attr: &Attr, v: &Edn) -> Result<Vec<u64>> {
        let view = self.view();
        let Some(part) = view.lookup_part(attr, v)? else {
            return Ok(vec![]);
        };
        layout::entities_of(view.r, view.dbs, &layout::item(attr.id, &part))
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
            if let Some(part) = view.lookup_part(attr, v)? {
                keyed.push((layout::item(attr.id, &part), i));
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
        let Some(part) = view.lookup_part(attr, v)? else {
            return Ok(false);
        };
        Ok(view
            .r
            .contains_key(&view.dbs.ave, &layout::item(attr.id, &part))?)
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

    /// Appends the values of `attr` on entity `e` to `out` as plain integers, in index
    /// order (one seek into EAV, no [`Edn`] built); `false` when one is not a positive
    /// long (what is in `out` then is unspecified).
    pub fn id_values_into(&self, e: u64, attr: &Attr, out: &mut Vec<u64>) -> Result<bool> {
        let view = self.view();
        let mut ok = true;
        layout::for_each_item_of_attr(view.r, view.dbs, e, attr.id, |it| {
            match it.get(4..).and_then(levin_codec::decode_tagged_long) {
                Some(v) if v > 0 && ok => out.push(v as u64),
                _ => ok = false,
            }
            Ok(())
        })?;
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

    /// The merge scan of many entities at once: calls `found(i, values)` for each `eids[i]`
    /// (ascending, distinct), in order, that has a match for every want, with, per want, the
    /// values found (`Bind`, in index order) or one `Nil` (`Exists`, `Equals`).
    ///
    /// Reads each entity's EAV list, or, when the entities are many next to the wanted
    /// attributes' datoms, scans those attributes in AVE instead (see [`GroupRead`]);
    /// returns which it did.
    pub fn entities_values<E: From<Error>>(
        &self,
        eids: &[u64],
        wants: &[(u32, Want)],
        how: GroupRead,
        found: impl FnMut(usize, &mut [Vec<Edn>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<GroupRead, E> {
        let by_ave = match how {
            GroupRead::Eav => false,
            GroupRead::Ave => true,
            GroupRead::Cheapest => {
                let mut scan_cost = 0.0;
                for (aid, want) in wants {
                    let attr = self.view().attr_by_id(*aid)?;
                    scan_cost += match want {
                        Want::Equals(c) => {
                            EQUALS_DATOM_COST
                                * self.count_range(&attr.ident, Some(c), Some(c))? as f64
                        }
                        _ => self.attr_count(&attr.ident)? as f64,
                    };
                }
                let entity_cost = ENTITY_READ_COST + WANT_COST * wants.len() as f64;
                scan_cost < entity_cost * eids.len() as f64
            }
        };
        if by_ave {
            self.entities_values_ave(eids, wants, found)?;
            Ok(GroupRead::Ave)
        } else {
            self.entities_values_eav(eids, wants, found)?;
            Ok(GroupRead::Eav)
        }
    }

    /// [`entities_values`](Self::entities_values) through EAV: `eids` are read with one
    /// cursor, so neighbouring entities cost no descent from the root, and each wanted
    /// item is decoded as it is visited; an entity's values go to `found` when the visit
    /// moves past it.
    fn entities_values_eav<E: From<Error>>(
        &self,
        eids: &[u64],
        wants: &[(u32, Want)],
        mut found: impl FnMut(usize, &mut [Vec<Edn>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let view = self.view();
        let keys: Vec<[u8; 8]> = eids.iter().map(|&e| layout::eid_bytes(e)).collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let mut out: Vec<Vec<Edn>> = vec![vec![]; wants.len()];
        // Reports the entity whose values `out` holds if every want matched, and empties it.
        let mut finish = |i: usize, out: &mut [Vec<Edn>]| -> std::result::Result<(), E> {
            if out.iter().all(|o| !o.is_empty()) {
                found(i, out)?;
            }
            out.iter_mut().for_each(Vec::clear);
            Ok(())
        };
        let mut current: Option<usize> = None;
        // Errors wait here while the engine's callback reports a stop.
        let mut failed: Option<E> = None;
        let visited = view
            .r
            .visit_lists(&view.dbs.eav, &key_refs, &mut |i, item| {
                let step = (|| -> std::result::Result<(), E> {
                    if current != Some(i) {
                        if let Some(done) = current {
                            finish(done, &mut out)?;
                        }
                        current = Some(i);
                    }
                    let (aid, part) = layout::split_item(item)?;
                    for ((want_aid, want), o) in wants.iter().zip(out.iter_mut()) {
                        if *want_aid != aid {
                            continue;
                        }
                        match want {
                            Want::Exists => {
                                if o.is_empty() {
                                    o.push(Edn::Nil);
                                }
                            }
                            Want::Bind => o.push(view.part_edn(part)?),
                            Want::Equals(c) => {
                                if o.is_empty() && view.part_edn(part)? == *c {
                                    o.push(Edn::Nil);
                                }
                            }
                        }
                    }
                    Ok(())
                })();
                step.map_err(|err| {
                    failed = Some(err);
                    levin_engine::Error::Stopped
                })
            });
        match (failed, visited) {
            (Some(err), _) => return Err(err),
            (None, r) => r.map_err(|e| E::from(Error::from(e)))?,
        }
        if let Some(done) = current {
            finish(done, &mut out)?;
        }
        Ok(())
    }
}

/// `ids` ascending, each once. Ids within a span of at most 64 per id are gathered through
/// a bitmap over the span (linear, where a sort of thousands of ids is the larger share of
/// a join step); others are sorted.
pub fn sorted_distinct(mut ids: Vec<u64>) -> Vec<u64> {
    if ids.is_sorted() {
        ids.dedup();
        return ids;
    }
    let (Some(&lo), Some(&hi)) = (ids.iter().min(), ids.iter().max()) else {
        return ids;
    };
    let span = hi - lo;
    if span / 64 > ids.len() as u64 {
        ids.sort_unstable();
        ids.dedup();
        return ids;
    }
    let mut words = vec![0u64; (span / 64) as usize + 1];
    for &e in &ids {
        let at = e - lo;
        words[(at / 64) as usize] |= 1 << (at % 64);
    }
    ids.clear();
    for (w, &bits) in words.iter().enumerate() {
        let mut rest = bits;
        while rest != 0 {
            ids.push(lo + w as u64 * 64 + u64::from(rest.trailing_zeros()));
            rest &= rest - 1;
        }
    }
    ids
}

/// Position of each asked-for entity id in the ascending `eids`: a table indexed by id when
/// the ids are dense, a hash map otherwise.
pub enum EidIndex {
    Dense { base: u64, slots: Vec<u32> },
    Sparse(rustc_hash::FxHashMap<u64, u32>),
}

impl EidIndex {
    const ABSENT: u32 = u32::MAX;

    pub fn new(eids: &[u64]) -> EidIndex {
        let (Some(&first), Some(&last)) = (eids.first(), eids.last()) else {
            return EidIndex::Sparse(Default::default());
        };
        let span = last - first;
        if span < 16 * eids.len() as u64 + 4096 {
            let mut slots = vec![Self::ABSENT; span as usize + 1];
            for (i, &e) in eids.iter().enumerate() {
                slots[(e - first) as usize] = i as u32;
            }
            EidIndex::Dense { base: first, slots }
        } else {
            EidIndex::Sparse(
                eids.iter()
                    .enumerate()
                    .map(|(i, &e)| (e, i as u32))
                    .collect(),
            )
        }
    }

    #[inline]
    pub fn get(&self, e: u64) -> Option<u32> {
        match self {
            EidIndex::Dense { base, slots } => {
                let i = *slots.get(e.checked_sub(*base)? as usize)?;
                (i != Self::ABSENT).then_some(i)
            }
            EidIndex::Sparse(m) => m.get(&e).copied(),
        }
    }
}

impl Db<'_> {
    /// [`entities_values`](Self::entities_values) through AVE: every wanted attribute (for
    /// `Equals`, only that value) is scanned once, each entity found among `eids` noted with
    /// the value; then the entities are visited in order. A scan meets an entity's values of
    /// one attribute in index order, as EAV gives them.
    fn entities_values_ave<E: From<Error>>(
        &self,
        eids: &[u64],
        wants: &[(u32, Want)],
        mut found: impl FnMut(usize, &mut [Vec<Edn>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let index = EidIndex::new(eids);
        let view = self.view();
        // Per want: the entities that matched, and for `Bind` the values (decoded once per
        // distinct value into `values`), as (entity position, value number) pairs.
        let mut present: Vec<Vec<bool>> = Vec::with_capacity(wants.len());
        let mut pairs: Vec<Vec<(u32, u32)>> = Vec::with_capacity(wants.len());
        // Sized for a value per asked entity and want (the usual join through a reference):
        // growing them copies everything found so far.
        let mut values: Vec<Edn> = Vec::with_capacity(eids.len() * wants.len());
        for (aid, want) in wants {
            let attr = view.attr_by_id(*aid)?;
            let mut hit = vec![false; eids.len()];
            let mut got: Vec<(u32, u32)> = Vec::with_capacity(eids.len());
            match want {
                Want::Bind if holds_longs(attr) => {
                    self.scan_longs(attr, |v, e| {
                        if let Some(i) = index.get(e) {
                            hit[i as usize] = true;
                            got.push((i, values.len() as u32));
                            values.push(Edn::Long(v));
                        }
                    })?;
                }
                Want::Bind => {
                    // One stored value per run of datoms with that value.
                    let mut stored = false;
                    self.scan_attr_runs::<Error>(attr, None, |v, fresh, e| {
                        if fresh {
                            stored = false;
                        }
                        if let Some(i) = index.get(e) {
                            if !stored {
                                values.push(v.clone());
                                stored = true;
                            }
                            hit[i as usize] = true;
                            got.push((i, values.len() as u32 - 1));
                        }
                        Ok(())
                    })?;
                }
                Want::Exists => {
                    self.scan_attr::<Error>(attr, None, |_, e| {
                        if let Some(i) = index.get(e) {
                            hit[i as usize] = true;
                        }
                        Ok(())
                    })?;
                }
                Want::Equals(c) => {
                    for e in self.entities_with(attr, c)? {
                        if let Some(i) = index.get(e) {
                            hit[i as usize] = true;
                        }
                    }
                }
            }
            present.push(hit);
            pairs.push(by_entity(got, eids.len()));
        }
        let mut cursor = vec![0usize; wants.len()];
        let mut out: Vec<Vec<Edn>> = vec![vec![]; wants.len()];
        for i in 0..eids.len() {
            if !present.iter().all(|hit| hit[i]) {
                continue;
            }
            for (w, (_, want)) in wants.iter().enumerate() {
                out[w].clear();
                match want {
                    Want::Bind => {
                        let got = &pairs[w];
                        let c = &mut cursor[w];
                        while *c < got.len() && (got[*c].0 as usize) < i {
                            *c += 1;
                        }
                        while *c < got.len() && got[*c].0 as usize == i {
                            out[w].push(values[got[*c].1 as usize].clone());
                            *c += 1;
                        }
                    }
                    Want::Exists | Want::Equals(_) => out[w].push(Edn::Nil),
                }
            }
            found(i, &mut out)?;
        }
        Ok(())
    }
}

/// Whether every value of `attr` is a long: it is declared a long or a reference.
fn holds_longs(attr: &Attr) -> bool {
    matches!(attr.value_type, Some(AttrType::Long | AttrType::Ref))
}

/// `pairs` (entity position below `n`, value number) in entity order, each entity's pairs in
/// their original order: a counting sort.
fn by_entity(pairs: Vec<(u32, u32)>, n: usize) -> Vec<(u32, u32)> {
    if pairs.windows(2).all(|w| w[0].0 <= w[1].0) {
        return pairs;
    }
    let mut start = vec![0u32; n + 1];
    for &(i, _) in &pairs {
        start[i as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut out = vec![(0u32, 0u32); pairs.len()];
    for p in pairs {
        let slot = &mut start[p.0 as usize];
        out[*slot as usize] = p;
        *slot += 1;
    }
    out
}
