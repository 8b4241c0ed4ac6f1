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

use crate::ast::{Term, Var};
use crate::error::QResult;
use crate::eval::{Ctx, Rel, Row};
use crate::linear::Linear;

/// A per-node read (a seek into the index) costs about this many datoms of a scan over
/// the whole attribute; the walk reads per node until it has read that many nodes per
/// datom of the attribute, then reads everything (so it never reads more than about twice
/// the cheaper of the two). Measured on the bench's `:follows` trees: ~11 (97 reads took
/// 2/3 of a 1,554-datom scan).
const SEEK_COST: u64 = 16;

/// An attribute this small is read whole at once: its scan costs at most as much as this
/// many per-node reads, less than the call's other fixed costs.
const SMALL: u64 = 32 * SEEK_COST;

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

/// The nodes each seed's walk reached: seed `k`'s are `nodes[ends[k - 1]..ends[k]]`.
#[derive(Default)]
pub(crate) struct Reach {
    pub(crate) nodes: Vec<u64>,
    pub(crate) ends: Vec<usize>,
}

impl Reach {
    /// The nodes seed `k` reached.
    pub(crate) fn of(&self, k: usize) -> &[u64] {
        let from = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.nodes[from..self.ends[k]]
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

    /// A bound call of closure `lin` (arguments `args`, distinct bound values `seeds`)
    /// joined into `cur`: each row of `cur` extended with each node its seed reaches, no
    /// fact row built on the way; columns not `needed` may be left out. `Err(cur)` when the
    /// id walk does not serve the call.
    pub(crate) fn id_call(
        &self,
        lin: &Linear<'_>,
        args: &[Term],
        seeds: &[Row],
        cur: Rel,
        spare: usize,
        needed: &[Var],
    ) -> QResult<Result<Rel, Rel>> {
        let Some(g) = self.id_edges(lin)? else {
            return Ok(Err(cur));
        };
        let (bound, free) = if g.seed_first { (0, 1) } else { (1, 0) };
        let key = match &args[bound] {
            Term::Var(v) => match cur.col(v) {
                Some(c) => Ok(c),
                None => return Ok(Err(cur)),
            },
            Term::Const(c) => Err(c),
            Term::Blank => return Ok(Err(cur)),
        };
        let out = match &args[free] {
            Term::Var(v) if cur.col(v).is_none() => v.clone(),
            _ => return Ok(Err(cur)),
        };
        let Some(reach) = self.id_closure_from(&g, seeds)? else {
            return Ok(Err(cur));
        };
        let index: HashMap<&Edn, usize> = seeds
            .iter()
            .enumerate()
            .filter_map(|(k, s)| Some((s.first()?, k)))
            .collect();
        // From a single row (the usual bound call: an input, a constant), columns nothing
        // reads later are left out now: the rows stay distinct by their nodes alone.
        let kept: Vec<usize> = (0..cur.vars.len())
            .filter(|&c| {
                cur.rows.len() > 1 || !needed.contains(&out) || needed.contains(&cur.vars[c])
            })
            .collect();
        let width = kept.len() + 1;
        let mut rows: Vec<Row> = Vec::with_capacity(reach.nodes.len());
        for r in &cur.rows {
            let value = match key {
                Ok(c) => &r[c],
                Err(c) => c,
            };
            let Some(&k) = index.get(value) else {
                continue;
            };
            let nodes = reach.of(k);
            // One check for the seed's rows: it fails when the last of them would.
            if let Some(last) = (rows.len() + nodes.len()).checked_sub(1) {
                self.check_rows(last, width)?;
            }
            for &n in nodes {
                let mut row = Vec::with_capacity(width + spare);
                row.extend(kept.iter().map(|&c| r[c].clone()));
                row.push(Edn::Long(n as i64));
                rows.push(row);
            }
        }
        // Each walk reaches a node once, and each row of `cur` has one seed: distinct rows
        // of `cur` (one row always is) give distinct rows.
        let distinct = cur.distinct || cur.rows.len() <= 1;
        let mut vars: Vec<Var> = kept.iter().map(|&c| cur.vars[c].clone()).collect();
        vars.push(out);
        Ok(Ok(Rel {
            vars,
            rows,
            distinct,
        }))
    }

    /// Every edge of the attribute, as (from, to) in the step's direction.
    fn all_edges(&self, g: &Edges<'_>) -> QResult<Option<Vec<(u64, u64)>>> {
        let mut edges = Vec::with_capacity(self.stats.attr_count(g.db, &g.attr.ident)? as usize);
        let all_ids = g.db.scan_id_pairs(g.attr, |v, e| -> QResult<()> {
            self.tick()?;
            edges.push(if g.forward { (e, v) } else { (v, e) });
            Ok(())
        })?;
        Ok(all_ids.then_some(edges))
    }

    /// The whole closure: a walk from every node with an edge out, as (from, to) facts in
    /// the call's argument order. `None` when a value of the attribute is not an entity id.
    pub(crate) fn id_closure_all(&self, g: &Edges<'_>) -> QResult<Option<Vec<Row>>> {
        let Some(edges) = self.all_edges(g)? else {
            return Ok(None);
        };
        let csr = Csr::new(&edges);
        drop(edges);
        let seeds: Vec<u32> = (0..csr.nodes() as u32)
            .filter(|&n| !csr.out(n).is_empty())
            .collect();
        let reach = self.walk_csr(&csr, &seeds)?;
        let mut out: Vec<Row> = Vec::with_capacity(reach.nodes.len());
        for (k, &s) in seeds.iter().enumerate() {
            let nodes = reach.of(k);
            // One check for the seed's rows: it fails when the last of them would.
            if let Some(last) = (out.len() + nodes.len()).checked_sub(1) {
                self.check_rows(last, 2)?;
            }
            let seed = csr.id(s) as i64;
            out.extend(
                nodes
                    .iter()
                    .map(|&n| pair(Edn::Long(seed), Edn::Long(n as i64), g.seed_first)),
            );
        }
        Ok(Some(out))
    }

    /// The nodes one step or more from each of the distinct `seeds` (single values). `None`
    /// when a seed is not a positive integer or a value of the attribute is not an entity
    /// id.
    pub(crate) fn id_closure_from(&self, g: &Edges<'_>, seeds: &[Row]) -> QResult<Option<Reach>> {
        let mut ids = Vec::with_capacity(seeds.len());
        for s in seeds {
            match s[..] {
                [Edn::Long(n)] if n > 0 => ids.push(n as u64),
                _ => return Ok(None),
            }
        }
        let count = self.stats.attr_count(g.db, &g.attr.ident)?;
        let budget = if count < SMALL { 0 } else { count / SEEK_COST };
        if let Some(reach) = self.walk_reading(g, &ids, budget)? {
            return Ok(Some(reach));
        }
        let Some(edges) = self.all_edges(g)? else {
            return Ok(None);
        };
        let csr = Csr::new(&edges);
        drop(edges);
        // A seed without a node number has no edge out: an empty walk.
        let numbered: Vec<u32> = ids
            .iter()
            .map(|&e| csr.number(e).unwrap_or(u32::MAX))
            .collect();
        Ok(Some(self.walk_csr(&csr, &numbered)?))
    }

    /// One walk per seed over `csr` (`u32::MAX`: no edge out), a node's mark the number of
    /// the last walk that reached it: seed `k`'s nodes are every node one or more steps
    /// from it (itself only through a cycle), each once.
    fn walk_csr(&self, csr: &Csr, seeds: &[u32]) -> QResult<Reach> {
        let mut mark = vec![u32::MAX; csr.nodes()];
        let mut stack: Vec<u32> = vec![];
        let mut reach = Reach::default();
        for (k, &s) in seeds.iter().enumerate() {
            // A walk adds at most one node per node of the graph: checking between walks
            // bounds the list by one graph more than the limit.
            self.check_rows(reach.nodes.len(), 1)?;
            self.check_time()?;
            if s != u32::MAX {
                stack.extend_from_slice(csr.out(s));
            }
            while let Some(n) = stack.pop() {
                if mark[n as usize] == k as u32 {
                    continue;
                }
                mark[n as usize] = k as u32;
                reach.nodes.push(csr.id(n));
                stack.extend_from_slice(csr.out(n));
            }
            reach.ends.push(reach.nodes.len());
        }
        Ok(reach)
    }

    /// The walks with one index read per reached node (each node's next nodes read once
    /// for all seeds), while the nodes read, about to be and expected next fit in `budget`;
    /// `None` past it. Breadth first, a level of a walk at a time, so that the nodes of a
    /// level are read together in id order, and a bushy graph gives up after few reads.
    fn walk_reading(&self, g: &Edges<'_>, seeds: &[u64], budget: u64) -> QResult<Option<Reach>> {
        // Node -> its next nodes, `flat[from..to]`.
        let mut read: HashMap<u64, (usize, usize)> = HashMap::default();
        let mut flat: Vec<u64> = vec![];
        let mut mark: HashMap<u64, u32> = HashMap::default();
        let mut reach = Reach::default();
        // The nodes of this level of the walk, of the next, and those of this one not read.
        let (mut level, mut next, mut unread): (Vec<u64>, Vec<u64>, Vec<u64>) =
            (vec![], vec![], vec![]);
        for (k, &s) in seeds.iter().enumerate() {
            self.check_time()?;
            let k = k as u32;
            level.clear();
            level.push(s);
            let mut before = 1;
            while !level.is_empty() {
                unread.clear();
                unread.extend(level.iter().filter(|n| !read.contains_key(n)));
                unread.sort_unstable();
                unread.dedup();
                // The next level is expected to grow as this one did: when it would not fit
                // in the budget either, the scan is cheaper now than after this level's reads.
                let expected = (level.len() * level.len()).div_ceil(before);
                if (read.len() + unread.len() + expected) as u64 > budget {
                    return Ok(None);
                }
                before = level.len();
                if !self.read_next(g, &unread, &mut read, &mut flat)? {
                    return Ok(None);
                }
                next.clear();
                for n in &level {
                    // Every node of the level has been read: before, or just now.
                    let (from, to) = read[n];
                    for &m in &flat[from..to] {
                        let seen = mark.entry(m).or_insert(u32::MAX);
                        if *seen != k {
                            *seen = k;
                            self.check_rows(reach.nodes.len(), 2)?;
                            reach.nodes.push(m);
                            next.push(m);
                        }
                    }
                }
                std::mem::swap(&mut level, &mut next);
            }
            reach.ends.push(reach.nodes.len());
        }
        Ok(Some(reach))
    }

    /// Reads the nodes one step from each of `nodes` (ascending, none read yet) into `flat`,
    /// noting where in `read`; `false` when one is not an entity id.
    fn read_next(
        &self,
        g: &Edges<'_>,
        nodes: &[u64],
        read: &mut HashMap<u64, (usize, usize)>,
        flat: &mut Vec<u64>,
    ) -> QResult<bool> {
        self.tick()?;
        let mut from = flat.len();
        if g.forward {
            let mut ends = Vec::with_capacity(nodes.len());
            if !g.db.id_values_of_each(nodes, g.attr, flat, &mut ends)? {
                return Ok(false);
            }
            for (&n, to) in nodes.iter().zip(ends) {
                read.insert(n, (from, to));
                from = to;
            }
        } else {
            let values: Vec<Edn> = nodes.iter().map(|&n| Edn::Long(n as i64)).collect();
            let refs: Vec<&Edn> = values.iter().collect();
            for (&n, es) in nodes.iter().zip(g.db.entities_with_each(g.attr, &refs)?) {
                flat.extend(es);
                read.insert(n, (from, flat.len()));
                from = flat.len();
            }
        }
        Ok(true)
    }
}

fn pair(seed: Edn, node: Edn, seed_first: bool) -> Row {
    if seed_first {
        vec![seed, node]
    } else {
        vec![node, seed]
    }
}
