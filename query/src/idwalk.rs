//! Transitive closures through one reference attribute, walked over entity ids: edges are
//! read as `u64`s (per reached node, or the whole attribute at once into a compact
//! adjacency once that is cheaper), each seed's walk marks nodes in an integer table, and
//! an `Edn` row is built only for each answer.
//!
//! Served: a [`Linear`] closure whose step body is one pattern over a `:db.type/ref`
//! attribute (see `Ctx::edge_pattern`), from seeds that are positive entity ids. Every
//! value of a ref attribute is an entity id, so the walk never meets a node the general
//! search would treat otherwise (a non-integer, or an integer that is not an entity id).

use rustc_hash::FxHashMap as HashMap;

use levin_datalog::{Attr, AttrType, Db};
use levin_edn::Edn;

use crate::error::QResult;
use crate::eval::{Ctx, Row};
use crate::linear::Linear;

/// A per-node read (a seek into the index) costs about this many datoms of a scan over
/// the whole attribute; the walk reads per node until it has read that many nodes per
/// datom of the attribute, then reads everything (so it never reads more than about twice
/// the cheaper of the two).
const SEEK_COST: u64 = 16;

/// One attribute's edges in one direction, as compressed rows over node numbers.
struct Csr {
    /// Entity id of each node number; empty when node numbers are entity ids.
    ids: Vec<u64>,
    /// Node number of each entity id, when `ids` is not empty.
    numbers: HashMap<u64, u32>,
    /// `next[start[n]..start[n + 1]]` are the node numbers one edge away from node `n`.
    start: Vec<u32>,
    next: Vec<u32>,
}

impl Csr {
    /// The graph of `edges` (from, to). Node numbers are the ids themselves when the ids
    /// are dense enough for a table indexed by id.
    fn new(edges: &[(u64, u64)]) -> Csr {
        let max = edges.iter().map(|&(a, b)| a.max(b)).max().unwrap_or(0);
        let direct = max < u32::MAX as u64 && max <= 16 * edges.len() as u64 + 4096;
        let mut ids = vec![];
        let mut numbers: HashMap<u64, u32> = HashMap::default();
        let mut number = |e: u64| -> u32 {
            if direct {
                return e as u32;
            }
            *numbers.entry(e).or_insert_with(|| {
                ids.push(e);
                (ids.len() - 1) as u32
            })
        };
        let pairs: Vec<(u32, u32)> = edges.iter().map(|&(a, b)| (number(a), number(b))).collect();
        let nodes = if direct { max as usize + 1 } else { ids.len() };
        let mut start = vec![0u32; nodes + 1];
        for &(a, _) in &pairs {
            start[a as usize + 1] += 1;
        }
        for i in 0..nodes {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut next = vec![0u32; pairs.len()];
        for &(a, b) in &pairs {
            next[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
        }
        Csr {
            ids,
            numbers,
            start,
            next,
        }
    }

    fn nodes(&self) -> usize {
        self.start.len() - 1
    }

    fn number(&self, e: u64) -> Option<u32> {
        if self.ids.is_empty() {
            (e < self.nodes() as u64).then_some(e as u32)
        } else {
            self.numbers.get(&e).copied()
        }
    }

    fn id(&self, n: u32) -> u64 {
        if self.ids.is_empty() {
            n as u64
        } else {
            self.ids[n as usize]
        }
    }

    fn out(&self, n: u32) -> &[u32] {
        &self.next[self.start[n as usize] as usize..self.start[n as usize + 1] as usize]
    }
}

/// A closure's attribute and the direction of its steps.
pub(crate) struct Edges<'a> {
    db: &'a Db<'a>,
    attr: &'a Attr,
    /// Steps go from entity to value (`[?node :a ?next]`), else from value to entity.
    forward: bool,
    /// Answers are (seed, node) rows, else (node, seed).
    seed_first: bool,
}

impl Ctx<'_> {
    /// The id walk's view of closure `lin`, when its step is one pattern over a ref
    /// attribute.
    pub(crate) fn id_edges(&self, lin: &Linear<'_>) -> QResult<Option<Edges<'_>>> {
        let Some((db, attr, forward)) = self.edge_pattern(lin)? else {
            return Ok(None);
        };
        let Edn::Keyword(k) = attr else {
            return Ok(None);
        };
        match db.schema().get(&k) {
            Some(attr) if attr.value_type == Some(AttrType::Ref) => Ok(Some(Edges {
                db,
                attr,
                forward,
                seed_first: lin.seed_first(),
            })),
            _ => Ok(None),
        }
    }

    /// Every edge of the attribute, as (from, to) in the step's direction.
    fn all_edges(&self, g: &Edges<'_>) -> QResult<Option<Vec<(u64, u64)>>> {
        let mut edges = Vec::with_capacity(self.stats.attr_count(g.db, &g.attr.ident)? as usize);
        let mut bad = false;
        g.db.scan_attr(g.attr, None, |v, e| -> QResult<()> {
            self.tick()?;
            match v {
                Edn::Long(v) if *v > 0 => {
                    let v = *v as u64;
                    edges.push(if g.forward { (e, v) } else { (v, e) });
                }
                _ => bad = true,
            }
            Ok(())
        })?;
        Ok((!bad).then_some(edges))
    }

    /// The whole closure: a walk from every node with an edge out. `None` when a value of
    /// the attribute is not an entity id.
    pub(crate) fn id_closure_all(&self, g: &Edges<'_>) -> QResult<Option<Vec<Row>>> {
        let Some(edges) = self.all_edges(g)? else {
            return Ok(None);
        };
        let csr = Csr::new(&edges);
        drop(edges);
        let seeds: Vec<u32> = (0..csr.nodes() as u32)
            .filter(|&n| !csr.out(n).is_empty())
            .collect();
        self.walk_csr(&csr, &seeds, g.seed_first).map(Some)
    }

    /// The closure from each of the distinct `seeds`. `None` when a seed is not a positive
    /// integer or a value of the attribute is not an entity id.
    pub(crate) fn id_closure_from(
        &self,
        g: &Edges<'_>,
        seeds: &[Row],
    ) -> QResult<Option<Vec<Row>>> {
        let mut ids = Vec::with_capacity(seeds.len());
        for s in seeds {
            match s[..] {
                [Edn::Long(n)] if n > 0 => ids.push(n as u64),
                _ => return Ok(None),
            }
        }
        let budget = self.stats.attr_count(g.db, &g.attr.ident)? / SEEK_COST;
        if let Some(rows) = self.walk_reading(g, &ids, budget)? {
            return Ok(Some(rows));
        }
        let Some(edges) = self.all_edges(g)? else {
            return Ok(None);
        };
        let csr = Csr::new(&edges);
        drop(edges);
        // Seeds with no node number have no edge out: no answer.
        let seeds: Vec<u32> = ids.iter().filter_map(|&e| csr.number(e)).collect();
        self.walk_csr(&csr, &seeds, g.seed_first).map(Some)
    }

    /// One walk per seed over `csr`, a node's mark the number of the last walk that
    /// reached it: (seed, node) rows for every node one or more steps from a seed (the
    /// seed itself only through a cycle).
    fn walk_csr(&self, csr: &Csr, seeds: &[u32], seed_first: bool) -> QResult<Vec<Row>> {
        let mut mark = vec![u32::MAX; csr.nodes()];
        let mut stack: Vec<u32> = vec![];
        let mut out: Vec<Row> = vec![];
        for (k, &s) in seeds.iter().enumerate() {
            self.check_time()?;
            let k = k as u32;
            let seed = Edn::Long(csr.id(s) as i64);
            stack.extend_from_slice(csr.out(s));
            while let Some(n) = stack.pop() {
                if mark[n as usize] == k {
                    continue;
                }
                mark[n as usize] = k;
                self.check_rows(out.len(), 2)?;
                out.push(pair(seed.clone(), Edn::Long(csr.id(n) as i64), seed_first));
                stack.extend_from_slice(csr.out(n));
            }
        }
        Ok(out)
    }

    /// The walks with one index read per reached node (each node's next nodes read once
    /// for all seeds), while at most `budget` nodes have been read; `None` past it.
    fn walk_reading(&self, g: &Edges<'_>, seeds: &[u64], budget: u64) -> QResult<Option<Vec<Row>>> {
        // Node -> its next nodes, `flat[from..to]`.
        let mut read: HashMap<u64, (usize, usize)> = HashMap::default();
        let mut flat: Vec<u64> = vec![];
        let mut mark: HashMap<u64, u32> = HashMap::default();
        let mut stack: Vec<u64> = vec![];
        let mut out: Vec<Row> = vec![];
        for (k, &s) in seeds.iter().enumerate() {
            self.check_time()?;
            let k = k as u32;
            let seed = Edn::Long(s as i64);
            let mut node = s;
            loop {
                let (from, to) = match read.get(&node) {
                    Some(&r) => r,
                    None => {
                        if read.len() as u64 >= budget {
                            return Ok(None);
                        }
                        let from = flat.len();
                        if !self.read_next(g, node, &mut flat)? {
                            return Ok(None);
                        }
                        read.insert(node, (from, flat.len()));
                        (from, flat.len())
                    }
                };
                stack.extend_from_slice(&flat[from..to]);
                let Some(n) = pop_unmarked(&mut stack, &mut mark, k) else {
                    break;
                };
                self.check_rows(out.len(), 2)?;
                out.push(pair(seed.clone(), Edn::Long(n as i64), g.seed_first));
                node = n;
            }
        }
        Ok(Some(out))
    }

    /// Appends the nodes one step from `node` to `flat`; `false` when one is not an
    /// entity id.
    fn read_next(&self, g: &Edges<'_>, node: u64, flat: &mut Vec<u64>) -> QResult<bool> {
        self.tick()?;
        if g.forward {
            for v in g.db.attr_values(node, g.attr)? {
                match v {
                    Edn::Long(n) if n > 0 => flat.push(n as u64),
                    _ => return Ok(false),
                }
            }
        } else {
            flat.extend(g.db.entities_with(g.attr, &Edn::Long(node as i64))?);
        }
        Ok(true)
    }
}

/// Pops `stack` until a node not yet marked `k`, which it marks and returns.
fn pop_unmarked(stack: &mut Vec<u64>, mark: &mut HashMap<u64, u32>, k: u32) -> Option<u64> {
    while let Some(n) = stack.pop() {
        let m = mark.entry(n).or_insert(u32::MAX);
        if *m != k {
            *m = k;
            return Some(n);
        }
    }
    None
}

fn pair(seed: Edn, node: Edn, seed_first: bool) -> Row {
    if seed_first {
        vec![seed, node]
    } else {
        vec![node, seed]
    }
}
