//! Batch pull's columns: the values of one spec for every entity of a level, read from the
//! level's EAV lists in one pass (decoded as the cursor visits them), and taken out entity
//! by entity as the level's result maps are built.

use std::mem;

use crate::error::{Error, Result};
use crate::layout;
use crate::scan::EidIndex;

use super::Puller;
use levin_edn::Edn;

/// The values of one spec for every entity of a level: entity `i`'s are
/// `starts[i]..starts[i + 1]`, indices into `vals` (plain values) or into `shared` (the
/// results of a sub-pattern, one per distinct target).
pub(super) struct Column {
    pub(super) starts: Vec<u32>,
    pub(super) vals: Vals,
    /// Whether the result is a vector (else the first value).
    pub(super) many: bool,
    /// At most this many values of `Shared` results per entity, counting only those kept
    /// (a nil result does not use up a place, as in Datalevin). `Own` values are limited
    /// as they are read.
    pub(super) limit: Option<usize>,
}

pub(super) enum Vals {
    /// Values owned by this column, each taken once.
    Own(Vec<Edn>),
    /// Ref targets pulled with a sub-pattern: `at[k]` is the index in `results` (one per
    /// distinct target) of the `k`th value, `uses[j]` how many of `at` not yet taken point
    /// at result `j`, so the last use moves the result and the others clone it. A nil
    /// result (a target the sub-pattern finds nothing in) is left out, as in Datalevin.
    Shared {
        at: Vec<u32>,
        results: Vec<Edn>,
        uses: Vec<u32>,
    },
}

impl Column {
    /// Entity `i`'s value (`None` when it has none), taken out of the column; entities are
    /// taken each once, in any order.
    pub(super) fn take(&mut self, i: usize) -> Option<Edn> {
        let r = self.starts[i] as usize..self.starts[i + 1] as usize;
        if r.is_empty() {
            return None;
        }
        match &mut self.vals {
            Vals::Own(vals) => {
                if !self.many {
                    return Some(mem::replace(&mut vals[r.start], Edn::Nil));
                }
                Some(Edn::Vector(
                    vals[r]
                        .iter_mut()
                        .map(|v| mem::replace(v, Edn::Nil))
                        .collect(),
                ))
            }
            Vals::Shared { at, results, uses } => {
                // Every use is counted off, kept or not, so that a later entity's last use
                // moves its result; a nil result is left out.
                let mut out: Option<Vec<Edn>> = None;
                let mut first = None;
                for &j in &at[r.clone()] {
                    let j = j as usize;
                    uses[j] -= 1;
                    let full = match &out {
                        Some(o) => self.limit.is_some_and(|n| o.len() >= n),
                        None => self.limit == Some(0),
                    };
                    if results[j].is_nil() || (!self.many && first.is_some()) || full {
                        continue;
                    }
                    let v = if uses[j] == 0 {
                        mem::replace(&mut results[j], Edn::Nil)
                    } else {
                        results[j].clone()
                    };
                    if self.many {
                        out.get_or_insert_with(|| Vec::with_capacity(r.len()))
                            .push(v);
                    } else {
                        // Only the first non-nil value counts for a single value.
                        first = Some(v);
                    }
                }
                if self.many {
                    out.map(Edn::Vector)
                } else {
                    first
                }
            }
        }
    }
}

/// One forward attribute a level reads.
pub(super) struct Wanted {
    pub(super) aid: u32,
    /// At most this many values per entity.
    pub(super) limit: Option<usize>,
    /// A ref attribute: its values are read as entity ids, not as EDN.
    pub(super) is_ref: bool,
}

/// The values one [`Wanted`] read: decoded EDN, or the entity ids of a ref attribute (the
/// targets of the next level, which never need an EDN long each).
pub(super) enum Values {
    Edn(Vec<Edn>),
    Refs(Vec<u64>),
}

/// The forward attributes a level reads, each with its values per entity.
pub(super) struct Read {
    /// For each [`Wanted`], entity `i`'s values are `vals[starts[i]..starts[i + 1]]`, in
    /// list order.
    pub(super) cols: Vec<(Vec<u32>, Values)>,
    /// Whether the entity has any datom at all.
    pub(super) has_datoms: Vec<bool>,
}

impl Puller<'_> {
    /// The values of each of `wanted` (attribute id, at most this many values) for every
    /// entity of `ids` (ascending), read with one cursor over EAV and decoded as visited.
    pub(super) fn read_level(&self, ids: &[u64], wanted: &[Wanted]) -> Result<Read> {
        let n = ids.len();
        let keys: Vec<[u8; 8]> = ids.iter().map(|&e| layout::eid_bytes(e)).collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
        let mut cols: Vec<ColumnRead> = wanted
            .iter()
            .map(|w| ColumnRead {
                aid: w.aid,
                limit: w
                    .limit
                    .map_or(u32::MAX, |l| u32::try_from(l).unwrap_or(u32::MAX)),
                is_ref: w.is_ref,
                counts: vec![0; n],
                vals: Vec::with_capacity(if w.is_ref { 0 } else { n }),
                refs: Vec::with_capacity(if w.is_ref { n } else { 0 }),
                last_part: Vec::new(),
                last_at: None,
            })
            .collect();
        let limit = self.view.limit;
        let mut has_datoms = vec![false; n];
        let mut bad: Option<Error> = None;
        self.view
            .r
            .visit_lists(&self.view.dbs.eav, &key_refs, &mut |i, item| {
                if let Some(h) = has_datoms.get_mut(i) {
                    *h = true;
                }
                let (aid, part) = match layout::split_item(item) {
                    Ok(x) => x,
                    Err(e) => {
                        bad.get_or_insert(e);
                        return Ok(());
                    }
                };
                for col in cols.iter_mut() {
                    if col.aid != aid {
                        continue;
                    }
                    let Some(count) = col.counts.get_mut(i) else {
                        continue;
                    };
                    if *count >= col.limit {
                        continue;
                    }
                    if col.is_ref {
                        // What `part_edn` gives a ref's part (a long; else its EDN as a
                        // long, or 0), without building the EDN.
                        let fast = if part.len() <= limit {
                            levin_codec::decode_tagged_long(part)
                        } else {
                            None
                        };
                        let t = match fast {
                            Some(t) => t,
                            None => match self.view.part_edn(part) {
                                Ok(v) => v.as_long().unwrap_or(0),
                                Err(e) => {
                                    bad.get_or_insert(e);
                                    continue;
                                }
                            },
                        };
                        col.refs.push(t as u64);
                        *count += 1;
                        continue;
                    }
                    let v = match col.last_at {
                        Some(k) if col.last_part.as_slice() == part => col.vals[k].clone(),
                        _ => match self.view.part_edn(part) {
                            Ok(v) => {
                                if !matches!(v, Edn::Long(_)) {
                                    col.last_part.clear();
                                    col.last_part.extend_from_slice(part);
                                    col.last_at = Some(col.vals.len());
                                }
                                v
                            }
                            Err(e) => {
                                bad.get_or_insert(e);
                                continue;
                            }
                        },
                    };
                    col.vals.push(v);
                    *count += 1;
                }
                Ok(())
            })
            .map_err(Error::from)?;
        if let Some(e) = bad {
            return Err(e);
        }
        // The cursor visits the keys in order, so each column's values are grouped by
        // entity already: the counts give where each entity's start.
        let cols = cols
            .into_iter()
            .map(|col| {
                let mut starts = Vec::with_capacity(n + 1);
                let mut at = 0u32;
                starts.push(0);
                for k in col.counts {
                    at += k;
                    starts.push(at);
                }
                let vals = if col.is_ref {
                    Values::Refs(col.refs)
                } else {
                    Values::Edn(col.vals)
                };
                (starts, vals)
            })
            .collect();
        Ok(Read { cols, has_datoms })
    }
}

/// One [`Wanted`] while a level is read: its values so far and how many each entity has.
struct ColumnRead {
    aid: u32,
    /// At most this many values per entity (`u32::MAX`: no limit).
    limit: u32,
    is_ref: bool,
    counts: Vec<u32>,
    vals: Vec<Edn>,
    refs: Vec<u64>,
    /// The last decoded value other than a long (its encoded bytes, its index in `vals`): a
    /// value many entities share (a status keyword, a category name) tends to come again and
    /// again in id order, and a clone is cheaper than decoding it anew.
    last_part: Vec<u8>,
    last_at: Option<usize>,
}

/// The results of the distinct ascending `ids` laid out in the order of `eids` (each of
/// which is among `ids`), cloned for repeats.
pub(super) fn spread(ids: &[u64], mut results: Vec<Edn>, eids: &[u64]) -> Vec<Edn> {
    if ids == eids {
        return results;
    }
    let pos = positions(ids, eids);
    let mut uses = vec![0u32; ids.len()];
    for &p in &pos {
        uses[p as usize] += 1;
    }
    pos.into_iter()
        .map(|p| {
            let p = p as usize;
            uses[p] -= 1;
            if uses[p] == 0 {
                mem::replace(&mut results[p], Edn::Nil)
            } else {
                results[p].clone()
            }
        })
        .collect()
}

/// The index of each of `eids` in the ascending, distinct `ids`, which hold them all.
pub(super) fn positions(ids: &[u64], eids: &[u64]) -> Vec<u32> {
    let index = EidIndex::new(ids);
    eids.iter().map(|&e| index.get(e).unwrap_or(0)).collect()
}
