//! The merge scan: several attributes of many entities read at once, through each entity's
//! EAV list or each attribute's AVE entries (whichever reads less), the values handed on
//! decoded or as numbers; and the entity-id sets it reads with.

use super::holds_longs;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::layout;
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
        if self.reads_by_ave(eids, wants, how)? {
            self.entities_values_ave(eids, wants, found)?;
            Ok(GroupRead::Ave)
        } else {
            self.entities_values_eav(eids, wants, found)?;
            Ok(GroupRead::Eav)
        }
    }

    /// Whether a merge scan of `eids` for `wants` reads AVE (else EAV), `how` deciding.
    fn reads_by_ave(&self, eids: &[u64], wants: &[(u32, Want)], how: GroupRead) -> Result<bool> {
        Ok(match how {
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
        })
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

    /// [`entities_values`](Self::entities_values) through AVE: see
    /// [`ave_matches`](Self::ave_matches).
    fn entities_values_ave<E: From<Error>>(
        &self,
        eids: &[u64],
        wants: &[(u32, Want)],
        mut found: impl FnMut(usize, &mut [Vec<Edn>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let m = self.ave_matches(eids, wants)?;
        // The walk of `AveMatches::each_match`, inlined: through it (a slice per want and
        // entity), o-revenue's merge scans took 1.8% more instructions.
        let mut cursor = vec![0usize; wants.len()];
        let mut out: Vec<Vec<Edn>> = vec![vec![]; wants.len()];
        for i in 0..eids.len() {
            if !m.present.iter().all(|hit| hit[i]) {
                continue;
            }
            for (w, (_, want)) in wants.iter().enumerate() {
                out[w].clear();
                match want {
                    Want::Bind => {
                        let got = &m.pairs[w];
                        let c = &mut cursor[w];
                        while *c < got.len() && (got[*c].0 as usize) < i {
                            *c += 1;
                        }
                        while *c < got.len() && got[*c].0 as usize == i {
                            out[w].push(m.values[got[*c].1 as usize].clone());
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

    /// The merge scan's matches through AVE: every wanted attribute (for `Equals`, only that
    /// value) is scanned once, each entity found among `eids` noted with the value; values
    /// are decoded once per distinct value. A scan meets an entity's values of one
    /// attribute in index order, as EAV gives them.
    fn ave_matches(&self, eids: &[u64], wants: &[(u32, Want)]) -> Result<AveMatches> {
        let index = EidIndex::new(eids);
        let view = self.view();
        let mut present: Vec<Vec<bool>> = Vec::with_capacity(wants.len());
        let mut pairs: Vec<Vec<(u32, u32)>> = Vec::with_capacity(wants.len());
        // Sized for a value per asked entity and want (the usual join through a reference):
        // growing them copies everything found so far.
        let mut values: Vec<Edn> = Vec::with_capacity(eids.len() * wants.len());
        let mut firsts = Vec::with_capacity(wants.len() + 1);
        for (aid, want) in wants {
            firsts.push(values.len() as u32);
            let attr = view.attr_by_id(*aid)?;
            let mut hit = vec![false; eids.len()];
            let mut got: Vec<(u32, u32)> = Vec::with_capacity(eids.len());
            match want {
                Want::Bind if holds_longs(attr) => {
                    // AVE order puts equal longs together: one stored value per run.
                    let mut last: Option<i64> = None;
                    self.scan_longs(attr, |v, e| {
                        if let Some(i) = index.get(e) {
                            if last != Some(v) {
                                values.push(Edn::Long(v));
                                last = Some(v);
                            }
                            hit[i as usize] = true;
                            got.push((i, values.len() as u32 - 1));
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
        firsts.push(values.len() as u32);
        Ok(AveMatches {
            entities: eids.len(),
            present,
            pairs,
            values,
            firsts,
        })
    }

    /// [`entities_values`](Self::entities_values) with each value given as a number instead
    /// of a clone: `found(i, numbers)` gets, per want, the numbers of entity `eids[i]`'s
    /// values (`Bind`; one number of nil for `Exists` and `Equals`), and the call returns
    /// the values by number (see [`ValueNumbers`] for when equal values share a number).
    pub fn entities_value_numbers<E: From<Error>>(
        &self,
        eids: &[u64],
        wants: &[(u32, Want)],
        how: GroupRead,
        mut found: impl FnMut(usize, &[Vec<u32>]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(GroupRead, ValueNumbers), E> {
        let mut numbers: Vec<Vec<u32>> = vec![vec![]; wants.len()];
        if self.reads_by_ave(eids, wants, how)? {
            let m = self.ave_matches(eids, wants)?;
            let same = m.first_equal();
            let nil = m.values.len() as u32;
            m.each_match(|i, got| {
                for ((w, (_, want)), o) in wants.iter().enumerate().zip(numbers.iter_mut()) {
                    o.clear();
                    match want {
                        Want::Bind => o.extend(got[w].iter().map(|&(_, n)| same[n as usize])),
                        Want::Exists | Want::Equals(_) => o.push(nil),
                    }
                }
                found(i, &numbers)
            })?;
            let mut values = m.values;
            values.push(Edn::Nil);
            let numbered = ValueNumbers {
                values,
                one_per_value: true,
            };
            return Ok((GroupRead::Ave, numbered));
        }
        // Through EAV each value comes decoded, and is moved in as it comes.
        let mut values: Vec<Edn> = Vec::with_capacity(eids.len() * wants.len());
        self.entities_values_eav(eids, wants, |i, vals| {
            for (vs, o) in vals.iter_mut().zip(numbers.iter_mut()) {
                o.clear();
                o.extend(values.len() as u32..(values.len() + vs.len()) as u32);
                values.append(vs);
            }
            found(i, &numbers)
        })?;
        let numbered = ValueNumbers {
            values,
            one_per_value: false,
        };
        Ok((GroupRead::Eav, numbered))
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

/// The values of [`Db::entities_value_numbers`], by number.
#[derive(Debug)]
#[non_exhaustive]
pub struct ValueNumbers {
    pub values: Vec<Edn>,
    /// Whether two numbers of one want are equal exactly when their values are (the scan
    /// read AVE, where equal values come together), so that rows can be told apart by
    /// numbers alone. Otherwise (EAV) every value found has a number of its own.
    pub one_per_value: bool,
}

/// What [`Db::ave_matches`] found: per want, which entities matched and (for `Bind`) their
/// (entity position, value number) pairs in entity order; the values by number, each want's
/// in the range `firsts[w]..firsts[w + 1]`.
struct AveMatches {
    /// How many entities were asked for.
    entities: usize,
    present: Vec<Vec<bool>>,
    pairs: Vec<Vec<(u32, u32)>>,
    values: Vec<Edn>,
    firsts: Vec<u32>,
}

impl AveMatches {
    /// Calls `f(i, numbers)` for each entity position `i`, ascending, that every want
    /// matched, with per want the numbers of its values (empty but for `Bind`).
    fn each_match<E>(
        &self,
        mut f: impl FnMut(usize, &[&[(u32, u32)]]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut cursor = vec![0usize; self.pairs.len()];
        let mut slices: Vec<&[(u32, u32)]> = vec![&[]; self.pairs.len()];
        for i in 0..self.entities {
            if !self.present.iter().all(|hit| hit[i]) {
                continue;
            }
            for ((got, c), slice) in self.pairs.iter().zip(&mut cursor).zip(&mut slices) {
                while *c < got.len() && (got[*c].0 as usize) < i {
                    *c += 1;
                }
                let from = *c;
                while *c < got.len() && got[*c].0 as usize == i {
                    *c += 1;
                }
                *slice = &got[from..*c];
            }
            f(i, &slices)?;
        }
        Ok(())
    }

    /// For each value number, the first number of its want whose value is equal: one
    /// number per distinct value. Two runs of a scan hold different encodings, but these can
    /// still be equal values: a map or a set stored with its entries in two orders.
    fn first_equal(&self) -> Vec<u32> {
        let mut same: Vec<u32> = (0..self.values.len() as u32).collect();
        for w in self.firsts.windows(2) {
            let want_values = &self.values[w[0] as usize..w[1] as usize];
            if want_values.iter().all(one_encoding) {
                continue;
            }
            let mut first: rustc_hash::FxHashMap<&Edn, u32> = Default::default();
            for n in w[0]..w[1] {
                let f = *first.entry(&self.values[n as usize]).or_insert(n);
                same[n as usize] = f;
            }
        }
        same
    }
}

/// Whether `v` is of a kind whose equal values all have one encoding, so that runs of an AVE
/// scan tell them apart: not a collection (whose entries may be stored in another order),
/// a double (NaNs are equal whatever their bits) or a big number.
fn one_encoding(v: &Edn) -> bool {
    matches!(
        v,
        Edn::Nil
            | Edn::Bool(_)
            | Edn::Long(_)
            | Edn::String(_)
            | Edn::Char(_)
            | Edn::Keyword(_)
            | Edn::Symbol(_)
            | Edn::Inst(_)
            | Edn::Uuid(_)
    )
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
