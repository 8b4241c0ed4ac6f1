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

use std::time::Instant;

use crate::db::View;
use crate::error::{Error, Result};
use crate::scan::sorted_distinct;
use crate::schema::{reverse_of, Attr};
use levin_edn::Edn;

use super::columns::{positions, spread, Column, Vals, Values, Wanted};
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

impl Puller<'_> {
    /// `pat` ([`batchable`]) pulled for each of `eids` (any order, repeats allowed), in
    /// `eids`' order. At the `root` level an entity without datoms whose result would hold
    /// only its id gives nil, as [`pull`](super::pull) does.
    pub(super) fn batch(&self, eids: &[u64], pat: &Pattern, root: bool) -> Result<Vec<Edn>> {
        let ids = sorted_distinct(eids.to_vec());
        let results = self.level(&ids, pat, root)?;
        Ok(spread(&ids, results, eids))
    }

    /// `pat` pulled for each of the distinct ascending `ids`, in that order.
    fn level(&self, ids: &[u64], pat: &Pattern, root: bool) -> Result<Vec<Edn>> {
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(timeout());
        }
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
        // Each forward spec's attribute, in spec order: the read's columns.
        let wanted: Vec<Wanted> = pat
            .specs
            .iter()
            .zip(&cols)
            .filter_map(|(spec, c)| match c {
                Col::Forward(a) => Some(Wanted {
                    aid: a.id,
                    // With a sub-pattern the limit counts the targets it finds something
                    // in: it is applied as the results are taken.
                    limit: if a.is_many() && !matches!(spec.sub, Sub::Pattern(_)) {
                        spec.limit
                    } else {
                        None
                    },
                    is_ref: a.is_ref(),
                }),
                _ => None,
            })
            .collect();
        let read = if root || !wanted.is_empty() {
            Some(self.read_level(ids, &wanted)?)
        } else {
            None
        };
        let (mut read_vals, has_datoms) = match read {
            Some(r) => (r.cols.into_iter(), r.has_datoms),
            None => (Vec::new().into_iter(), Vec::new()),
        };
        let mut columns: Vec<Option<Column>> = Vec::with_capacity(cols.len());
        for (spec, col) in pat.specs.iter().zip(&cols) {
            let has_sub = matches!(spec.sub, Sub::Pattern(_));
            let (targets, starts, a, many) = match col {
                Col::Id | Col::Missing => {
                    columns.push(None);
                    continue;
                }
                Col::Forward(a) => {
                    // The read's columns are the forward specs', in spec order.
                    let (starts, vals) = read_vals.next().ok_or_else(|| {
                        Error::Corrupt("batch pull read no values for a forward attribute".into())
                    })?;
                    let targets = match vals {
                        Values::Refs(targets) => targets,
                        Values::Edn(vals) => {
                            columns.push(Some(Column {
                                starts,
                                vals: Vals::Own(vals),
                                many: a.is_many(),
                                limit: None,
                            }));
                            continue;
                        }
                    };
                    (targets, starts, *a, a.is_many())
                }
                Col::Reverse(a) => {
                    let mut starts = Vec::with_capacity(ids.len() + 1);
                    let mut targets = Vec::new();
                    starts.push(0);
                    for &e in ids {
                        self.tick()?;
                        let mut es = self.view.referrers(e, a)?;
                        if let (Some(n), false) = (spec.limit, has_sub) {
                            es.truncate(n);
                        }
                        targets.extend(es);
                        starts.push(targets.len() as u32);
                    }
                    (targets, starts, *a, !a.is_component)
                }
            };
            let vals = match &spec.sub {
                Sub::Pattern(p) => {
                    // Each distinct target pulled once, shared by the entities naming it.
                    // Targets are often ascending already (a level's entities are read in
                    // id order and components are allocated in order): then they are their
                    // own distinct list, and each one's position is its index.
                    let (distinct, at): (Vec<u64>, Vec<u32>) =
                        if targets.windows(2).all(|w| w[0] < w[1]) {
                            let at = (0..targets.len() as u32).collect();
                            (targets, at)
                        } else {
                            let d = sorted_distinct(targets.clone());
                            let at = positions(&d, &targets);
                            (d, at)
                        };
                    let results = self.level(&distinct, p, false)?;
                    let mut uses = vec![0u32; distinct.len()];
                    for &j in &at {
                        uses[j as usize] += 1;
                    }
                    Vals::Shared { at, results, uses }
                }
                // `batchable` leaves only plain refs here (components need a sub-pattern).
                _ => {
                    debug_assert!(!a.is_component || matches!(col, Col::Reverse(_)));
                    Vals::Own(targets.iter().map(|&x| id_map(x)).collect())
                }
            };
            let limit = spec.limit.filter(|_| many && has_sub);
            columns.push(Some(Column {
                starts,
                vals,
                many,
                limit,
            }));
        }
        let mut results = Vec::with_capacity(ids.len());
        for (i, &e) in ids.iter().enumerate() {
            self.tick()?;
            let mut out: Vec<(Edn, Edn)> = Vec::with_capacity(pat.specs.len());
            for ((spec, column), col) in pat.specs.iter().zip(&mut columns).zip(&cols) {
                if matches!(col, Col::Id) {
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
            let lone = root && has_datoms.get(i).is_some_and(|h| !h);
            results.push(if lone && only_id(pat, &v) {
                Edn::Nil
            } else {
                v
            });
        }
        Ok(results)
    }
}
