//! The current items of the entities that had no datom when a transaction began (fresh
//! entities), kept without an allocation per entity: each entity's items are two chains
//! (cardinality-one, cardinality-many) of links in one shared vector, and entities are
//! found by a dense table when their ids are packed (as in a load) or else a hash map.
//!
//! Items themselves live in the caller's byte buffer; a link holds an item's span in it.

use std::collections::HashSet;
use std::ops::Range;

use rustc_hash::FxHashMap;

/// End of a chain.
const NONE: usize = usize::MAX;

/// Cardinality-many items of one entity kept in its chain (scanned) before they are
/// hashed.
const FEW: usize = 16;

/// One item of an entity, in its chain.
struct Link {
    /// The attribute id (used for cardinality-one items only).
    aid: u32,
    span: Range<usize>,
    next: usize,
}

/// The heads of an entity's chains.
struct Ent {
    one: usize,
    many: usize,
    /// Items in the `many` chain.
    n_many: usize,
    /// Index in [`Fresh::sets`] once the entity has more than [`FEW`] cardinality-many
    /// items (then its `many` chain is empty).
    set: Option<usize>,
}

/// The items of fresh entities.
///
/// Invariant: an entity's chains and set hold exactly its current items; a link's span
/// is a range of the caller's byte buffer, which only grows.
pub(crate) struct FreshItems {
    /// Entities above this id are fresh.
    above: u64,
    /// For ids `above + 1 ..= above + dense.len()`: 1 + the entity's index in `ents`, or 0.
    dense: Vec<u32>,
    /// The other fresh entities: id -> index in `ents`.
    sparse: FxHashMap<u64, usize>,
    ents: Vec<Ent>,
    links: Vec<Link>,
    /// Cardinality-many items of entities with many of them.
    sets: Vec<HashSet<Box<[u8]>>>,
}

impl FreshItems {
    /// No items; entities above `above` are fresh; `max_eid` is the largest id the
    /// transaction is expected to use and `datoms` about how many items it records (a
    /// dense table is used when the ids in between are not many more than that).
    pub fn new(above: u64, max_eid: u64, datoms: usize) -> FreshItems {
        let span = max_eid.saturating_sub(above);
        let dense = if span <= 2 * datoms as u64 + 1024 && span < u32::MAX as u64 {
            vec![0; span as usize]
        } else {
            Vec::new()
        };
        FreshItems {
            above,
            dense,
            sparse: FxHashMap::default(),
            ents: Vec::new(),
            links: Vec::with_capacity(datoms),
            sets: Vec::new(),
        }
    }

    /// The slot of `e` in the dense table, if it has one.
    fn dense_slot(&self, e: u64) -> Option<usize> {
        let i = e.checked_sub(self.above + 1)?;
        (i < self.dense.len() as u64).then_some(i as usize)
    }

    /// The index in `ents` of fresh entity `e`, if it has items.
    pub fn find(&self, e: u64) -> Option<usize> {
        match self.dense_slot(e) {
            Some(s) => match self.dense[s] {
                0 => None,
                i => Some(i as usize - 1),
            },
            None => self.sparse.get(&e).copied(),
        }
    }

    /// The index in `ents` of fresh entity `e`, made if needed.
    pub fn entry(&mut self, e: u64) -> usize {
        if let Some(i) = self.find(e) {
            return i;
        }
        let i = self.ents.len();
        self.ents.push(Ent {
            one: NONE,
            many: NONE,
            n_many: 0,
            set: None,
        });
        match self.dense_slot(e) {
            // More than u32::MAX entities cannot fit in memory: ents.len() < u32::MAX.
            Some(s) => self.dense[s] = u32::try_from(i + 1).unwrap_or(u32::MAX),
            None => {
                self.sparse.insert(e, i);
            }
        }
        i
    }

    /// The span of the item of cardinality-one attribute `aid` of entity `ent`.
    pub fn one(&self, ent: usize, aid: u32) -> Option<Range<usize>> {
        let mut l = self.ents[ent].one;
        while l != NONE {
            let link = &self.links[l];
            if link.aid == aid {
                return Some(link.span.clone());
            }
            l = link.next;
        }
        None
    }

    /// Sets the item of cardinality-one attribute `aid` of entity `ent` to `span`;
    /// returns the span it replaces.
    pub fn set_one(&mut self, ent: usize, aid: u32, span: Range<usize>) -> Option<Range<usize>> {
        let mut l = self.ents[ent].one;
        while l != NONE {
            let link = &mut self.links[l];
            if link.aid == aid {
                return Some(std::mem::replace(&mut link.span, span));
            }
            l = link.next;
        }
        let head = &mut self.ents[ent].one;
        self.links.push(Link {
            aid,
            span,
            next: *head,
        });
        *head = self.links.len() - 1;
        None
    }

    /// True if entity `ent` holds cardinality-many `item` (`bytes` is the buffer spans
    /// refer to).
    pub fn holds_many(&self, ent: usize, bytes: &[u8], item: &[u8]) -> bool {
        let e = &self.ents[ent];
        if let Some(s) = e.set {
            return self.sets[s].contains(item);
        }
        let mut l = e.many;
        while l != NONE {
            let link = &self.links[l];
            if bytes[link.span.clone()] == *item {
                return true;
            }
            l = link.next;
        }
        false
    }

    /// Adds cardinality-many `item`, not held, whose bytes are (or will be) at `span`.
    pub fn add_many(&mut self, ent: usize, bytes: &[u8], item: &[u8], span: Range<usize>) {
        let e = &mut self.ents[ent];
        if let Some(s) = e.set {
            self.sets[s].insert(item.into());
            return;
        }
        if e.n_many < FEW {
            self.links.push(Link {
                aid: 0,
                span,
                next: e.many,
            });
            e.many = self.links.len() - 1;
            e.n_many += 1;
            return;
        }
        let mut set = HashSet::with_capacity(2 * FEW);
        let mut l = std::mem::replace(&mut e.many, NONE);
        while l != NONE {
            let link = &self.links[l];
            set.insert(bytes[link.span.clone()].into());
            l = link.next;
        }
        set.insert(item.into());
        e.n_many = 0;
        e.set = Some(self.sets.len());
        self.sets.push(set);
    }

    /// Removes `item` (of attribute `aid`) from fresh entity `e`, if it holds it.
    pub fn remove(&mut self, e: u64, aid: u32, many: bool, bytes: &[u8], item: &[u8]) {
        let Some(ent) = self.find(e) else {
            return;
        };
        if many {
            if let Some(s) = self.ents[ent].set {
                self.sets[s].remove(item);
                return;
            }
        }
        // Unlink the first matching link of the chain.
        let mut prev = NONE;
        let mut l = if many {
            self.ents[ent].many
        } else {
            self.ents[ent].one
        };
        while l != NONE {
            let link = &self.links[l];
            if (many || link.aid == aid) && bytes[link.span.clone()] == *item {
                let next = link.next;
                match (prev, many) {
                    (NONE, true) => self.ents[ent].many = next,
                    (NONE, false) => self.ents[ent].one = next,
                    (p, _) => self.links[p].next = next,
                }
                if many {
                    self.ents[ent].n_many -= 1;
                }
                return;
            }
            prev = l;
            l = link.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A step: entity (small id), attribute (one of 3), cardinality-many, value, retract.
    type Step = (u64, u32, bool, u8, bool);

    /// Applies `steps` to [`FreshItems`] and to a naive model (a map of sets), checking
    /// that both hold the same items after each step.
    fn check(above: u64, max: u64, steps: &[Step]) {
        let mut f = FreshItems::new(above, max, 4);
        let mut bytes: Vec<u8> = Vec::new();
        let mut model: HashMap<u64, Vec<(u32, bool, Vec<u8>)>> = HashMap::new();
        for &(e, aid, many, v, retract) in steps {
            let e = above + 1 + e;
            // A cardinality-many attribute has ids 10.., so that one and many never share one.
            let aid = if many { 10 + aid } else { aid };
            let item = vec![aid as u8, v];
            let m = model.entry(e).or_default();
            if retract {
                f.remove(e, aid, many, &bytes, &item);
                m.retain(|(a, mm, it)| !(*a == aid && *mm == many && *it == item));
            } else {
                let ent = f.entry(e);
                let span = bytes.len()..bytes.len() + item.len();
                if many {
                    if !f.holds_many(ent, &bytes, &item) {
                        f.add_many(ent, &bytes, &item, span);
                        bytes.extend_from_slice(&item);
                    }
                    if !m.iter().any(|x| x.0 == aid && x.2 == item) {
                        m.push((aid, true, item.clone()));
                    }
                } else {
                    f.set_one(ent, aid, span);
                    bytes.extend_from_slice(&item);
                    m.retain(|x| x.0 != aid);
                    m.push((aid, false, item.clone()));
                }
            }
            for (&e, items) in &model {
                for aid in 0..3u32 {
                    let want = items.iter().find(|x| x.0 == aid).map(|x| x.2.clone());
                    let got = f
                        .find(e)
                        .and_then(|i| f.one(i, aid))
                        .map(|r| bytes[r].to_vec());
                    assert_eq!(got, want, "one {e} {aid}");
                }
                for aid in 10..13u32 {
                    for v in 0..20u8 {
                        let it = vec![aid as u8, v];
                        let want = items.iter().any(|x| x.1 && x.2 == it);
                        let got = f.find(e).is_some_and(|i| f.holds_many(i, &bytes, &it));
                        assert_eq!(got, want, "many {e} {it:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn matches_a_naive_model(
            steps in prop::collection::vec(
                (0u64..6, 0u32..3, any::<bool>(), 0u8..20, prop::bool::weighted(0.2)),
                0..120,
            ),
            dense in any::<bool>(),
        ) {
            // Dense: every id has a table slot; else none has (all in the hash map).
            let max = if dense { 10 + 6 } else { 10 };
            check(10, max, &steps);
        }
    }

    #[test]
    fn many_items_move_to_a_set_and_back_out() {
        let steps: Vec<Step> = (0..20u8)
            .map(|v| (0, 0, true, v, false))
            .chain((0..8u8).map(|v| (0, 0, true, v, true)))
            .chain((0..20u8).map(|v| (0, 0, true, v, false)))
            .collect();
        check(0, 100, &steps);
    }
}
