//! Frontier search for linear recursive rules called with bound arguments: each node the
//! bound values reach is expanded once, so a transitive closure from a bound node costs
//! O(answer), where magic sets plus a semi-naive fixpoint compute the closure of every node
//! the magic set reaches.
//!
//! The shape served (anything else goes to magic sets): a recursive component of one rule
//! `p`, called with bound argument positions `α` (at least one), whose every definition
//! either calls `p` nowhere (a *base* rule) or calls it exactly once, at the top level of
//! its body (a *step* rule `p(h) :- B, p(a)`), where
//!
//! - the head's variables are distinct;
//! - at each free position `i`, `a[i]` is the head's own `h[i]`, which `B` does not mention;
//! - at each bound position, `a[j]` is a variable or a constant (not `_`) and not a free
//!   head variable.
//!
//! Then `p(s, y)` holds, for bound values `s`, exactly when some node `z` (a tuple of values
//! at the bound positions) is reachable from `s` by steps `z -> a|α` of `B` (with `h|α = z`)
//! and a base rule derives `y` from `z`: the free values travel unchanged down the recursion,
//! so they come from the last node's base rule alone. The search keeps (seed, node) pairs,
//! each expanded once, and evaluates each step and base body on a whole frontier at once.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use levin_edn::Edn;

use crate::ast::{Clause, Rule, Term, Var};
use crate::error::QResult;
use crate::eval::{db_match, row_hash, Ctx, Fixed, Rel, Row, Source};
use levin_datalog::Db;

/// Column of the seed number in the search's relations (not a valid symbol: never a user
/// variable).
const SEED: &str = "\u{0}seed";

/// A step rule: its body without the recursive call, and the call's arguments at the bound
/// positions.
struct Step<'r> {
    rule: &'r Rule,
    body: Vec<Clause>,
    next: Vec<Term>,
}

/// A call that the frontier search can answer.
pub struct Linear<'r> {
    bases: Vec<&'r Rule>,
    steps: Vec<Step<'r>>,
    /// A transitive closure: one base and one step rule, one bound and one free position,
    /// the step's body being the base's with the free head variable renamed to the next
    /// node. The base's answers from the reached nodes are then exactly the step's
    /// outputs, collected during the search; no base pass.
    closure: bool,
    /// The bound argument positions, in order.
    bound: Vec<usize>,
    /// The free argument positions, in order.
    free: Vec<usize>,
}

impl Linear<'_> {
    /// Whether a closure's facts are (seed, node), the bound position being the first.
    pub(crate) fn seed_first(&self) -> bool {
        self.bound.first() == Some(&0)
    }
}

/// Whether `c` calls `name` below `not`, `or` or `and`.
fn nested_call(c: &Clause, name: &str) -> bool {
    fn any(cs: &[Clause], name: &str) -> bool {
        cs.iter().any(|c| match c {
            Clause::RuleCall { name: n, .. } => n == name,
            other => nested_call(other, name),
        })
    }
    match c {
        Clause::Not { body, .. } => any(body, name),
        Clause::Or { branches, .. } => branches.iter().any(|b| any(b, name)),
        _ => false,
    }
}

/// The frontier search for a call of `name` (whose recursive component is `members`) with
/// bound positions `mask`, when the rules have the shape it serves.
pub fn analyse<'r>(
    rules: &'r HashMap<String, Vec<Rule>>,
    members: &[String],
    name: &str,
    mask: &[bool],
) -> Option<Linear<'r>> {
    if members.len() != 1 || members[0] != name || !mask.iter().any(|&b| b) {
        return None;
    }
    let bound: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    let free: Vec<usize> = (0..mask.len()).filter(|&i| !mask[i]).collect();
    let mut bases = vec![];
    let mut steps = vec![];
    for r in rules.get(name)? {
        if r.head.len() != mask.len()
            || (1..r.head.len()).any(|i| r.head[..i].contains(&r.head[i]))
            || r.body.iter().any(|c| nested_call(c, name))
        {
            return None;
        }
        let calls: Vec<usize> = (0..r.body.len())
            .filter(|&i| matches!(&r.body[i], Clause::RuleCall { name: n, .. } if n == name))
            .collect();
        match calls[..] {
            [] => bases.push(r),
            [at] => {
                let Clause::RuleCall { args, .. } = &r.body[at] else {
                    return None;
                };
                if args.len() != mask.len() {
                    return None;
                }
                let body: Vec<Clause> = r
                    .body
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != at)
                    .map(|(_, c)| c.clone())
                    .collect();
                let mut used: Vec<Var> = vec![];
                body.iter().for_each(|c| c.vars(&mut used));
                let free_vars: Vec<&Var> = free.iter().map(|&i| &r.head[i]).collect();
                for &i in &free {
                    if args[i] != Term::Var(r.head[i].clone()) || used.contains(&r.head[i]) {
                        return None;
                    }
                }
                for &j in &bound {
                    match &args[j] {
                        Term::Blank => return None,
                        Term::Var(v) if free_vars.contains(&v) => return None,
                        _ => {}
                    }
                }
                steps.push(Step {
                    rule: r,
                    body,
                    next: bound.iter().map(|&j| args[j].clone()).collect(),
                });
            }
            _ => return None,
        }
    }
    let closure = match (&bases[..], &steps[..], &bound[..], &free[..]) {
        ([b], [st], &[j], &[i]) => same_body(b, st, j, i),
        _ => false,
    };
    Some(Linear {
        bases,
        steps,
        closure,
        bound,
        free,
    })
}

/// Whether step `st`'s body is base `b`'s with `b`'s head variables at bound position `j`
/// and free position `i` renamed to the step's head variable at `j` and its next node
/// (patterns only; every other variable the same in both and distinct from those).
fn same_body(b: &Rule, st: &Step<'_>, j: usize, i: usize) -> bool {
    let [Term::Var(next)] = &st.next[..] else {
        return false;
    };
    let from = [&b.head[j], &b.head[i]];
    let to = [&st.rule.head[j], next];
    if b.body.len() != st.body.len() || from[0] == from[1] || to[0] == to[1] {
        return false;
    }
    let rename = |t: &Term| -> Option<Term> {
        match t {
            Term::Var(v) => match from.iter().position(|f| *f == v) {
                Some(k) => Some(Term::Var(to[k].clone())),
                None if to.contains(&v) => None,
                None => Some(t.clone()),
            },
            other => Some(other.clone()),
        }
    };
    b.body.iter().zip(&st.body).all(|(bc, sc)| {
        let (Clause::Pattern(bp), Clause::Pattern(sp)) = (bc, sc) else {
            return false;
        };
        let renamed = (|| {
            Some(crate::ast::Pattern {
                src: bp.src.clone(),
                e: rename(&bp.e)?,
                a: rename(&bp.a)?,
                v: rename(&bp.v)?,
                terms: bp.terms.iter().map(&rename).collect::<Option<Vec<_>>>()?,
            })
        })();
        renamed.as_ref() == Some(sp)
    })
}

/// The state of one frontier search.
struct Search {
    /// Every (seed number, node...) pair reached, in the order reached.
    reached: Vec<Row>,
    /// `reached` as a set: (hash, index into `reached`).
    seen: hashbrown::HashTable<(u64, usize)>,
    /// A closure's facts.
    out: Vec<Row>,
    /// A closure's seeds already found reachable from themselves.
    seed_hit: Vec<bool>,
}

impl Search {
    /// Adds `row` to `reached` unless there; whether it was new.
    fn add(&mut self, row: Row) -> bool {
        let h = row_hash(&row);
        let reached = &self.reached;
        if self.seen.find(h, |&(_, i)| reached[i] == row).is_some() {
            return false;
        }
        self.seen
            .insert_unique(h, (h, self.reached.len()), |&(h, _)| h);
        self.reached.push(row);
        true
    }
}

impl Ctx<'_> {
    /// The facts `p(args)` of a [`Linear`] call for each of the distinct bound tuples
    /// `seeds` (values at the bound positions, in order), as full argument tuples.
    /// `None` when a step's next node is not bound by its body (the caller then uses the
    /// general evaluation, which reports the problem).
    pub(crate) fn linear_call(&self, lin: &Linear<'_>, seeds: &[Row]) -> QResult<Option<Vec<Row>>> {
        let fixed: Fixed = HashMap::default();
        let mut s = Search {
            reached: vec![],
            seen: hashbrown::HashTable::new(),
            out: vec![],
            seed_hit: vec![false; seeds.len()],
        };
        for (n, sd) in seeds.iter().enumerate() {
            let mut row = Vec::with_capacity(sd.len() + 1);
            row.push(Edn::Long(n as i64));
            row.extend(sd.iter().cloned());
            s.add(row);
        }
        // A closure's edges, once reading them all is cheaper than a lookup per node.
        let mut adjacency: Option<HashMap<Edn, Vec<Edn>>> = None;
        let edges = if lin.closure {
            self.closure_edges_estimate(lin)?
        } else {
            None
        };
        // A closure stepping through one attribute, from entity-id seeds: direct index reads.
        let direct = match self.edge_pattern(lin)? {
            Some(e) if seeds.iter().all(|sd| matches!(sd[..], [Edn::Long(_)])) => Some(e),
            _ => None,
        };
        let mut from = 0;
        while from < s.reached.len() && !lin.steps.is_empty() {
            self.check_time()?;
            if adjacency.is_none() && edges.is_some_and(|e| (s.reached.len() as u64) * 4 >= e) {
                match self.adjacency(lin)? {
                    Some(a) => adjacency = Some(a),
                    None => return Ok(None),
                }
            }
            let to = s.reached.len();
            if let Some(adj) = &adjacency {
                for k in from..to {
                    let Some(ts) = adj.get(&s.reached[k][1]) else {
                        continue;
                    };
                    let n = s.reached[k][0].clone();
                    for t in ts {
                        self.visit(&mut s, lin, seeds, vec![n.clone(), t.clone()])?;
                    }
                }
                from = to;
                continue;
            }
            if let Some((db, attr, forward)) = &direct {
                for k in from..to {
                    let node = s.reached[k][1].clone();
                    let n = s.reached[k][0].clone();
                    let ds = if *forward {
                        db_match(db, Some(&node), Some(attr), None, None)?
                    } else {
                        db_match(db, None, Some(attr), Some(&node), None)?
                    };
                    for d in ds {
                        let t = if *forward { d.v } else { Edn::Long(d.e as i64) };
                        self.visit(&mut s, lin, seeds, vec![n.clone(), t])?;
                    }
                }
                from = to;
                continue;
            }
            let frontier = s.reached[from..to].to_vec();
            from = to;
            for st in &lin.steps {
                let mut keep: Vec<Var> = vec![SEED.into()];
                for t in &st.next {
                    if let Term::Var(v) = t {
                        keep.push(v.clone());
                    }
                }
                let rel = self.node_rel(st.rule, &lin.bound, frontier.clone());
                let res = self.eval_clauses(&st.body, rel, &fixed, false, &keep)?;
                let Some(seed_col) = res.col(SEED) else {
                    return Ok(None);
                };
                let mut cols: Vec<Result<usize, &Edn>> = vec![];
                for t in &st.next {
                    cols.push(match t {
                        Term::Var(v) => match res.col(v) {
                            Some(c) => Ok(c),
                            None => return Ok(None),
                        },
                        Term::Const(c) => Err(c),
                        Term::Blank => return Ok(None),
                    });
                }
                for r in &res.rows {
                    let mut node = Vec::with_capacity(cols.len() + 1);
                    node.push(r[seed_col].clone());
                    node.extend(cols.iter().map(|c| match c {
                        Ok(i) => r[*i].clone(),
                        Err(v) => (*v).clone(),
                    }));
                    self.visit(&mut s, lin, seeds, node)?;
                }
            }
        }
        if lin.closure {
            return Ok(Some(s.out));
        }
        let mut reached = s.reached;
        drop(s.seen);
        let mut out: Vec<Row> = vec![];
        let mut facts: HashSet<Row> = HashSet::default();
        let arity = lin.bound.len() + lin.free.len();
        for (k, r) in lin.bases.iter().enumerate() {
            let mut keep: Vec<Var> = vec![SEED.into()];
            keep.extend(lin.free.iter().map(|&i| r.head[i].clone()));
            let rows = if k + 1 == lin.bases.len() {
                std::mem::take(&mut reached)
            } else {
                reached.clone()
            };
            let rel = self.node_rel(r, &lin.bound, rows);
            let res = self.eval_clauses(&r.body, rel, &fixed, false, &keep)?;
            let Some(seed_col) = res.col(SEED) else {
                return Ok(None);
            };
            let mut cols = vec![];
            for &i in &lin.free {
                match res.col(&r.head[i]) {
                    Some(c) => cols.push(c),
                    None => return Ok(None),
                }
            }
            for row in &res.rows {
                let Edn::Long(n) = row[seed_col] else {
                    continue;
                };
                let seed = &seeds[n as usize];
                let mut fact = vec![Edn::Nil; arity];
                for (v, &j) in seed.iter().zip(&lin.bound) {
                    fact[j] = v.clone();
                }
                for (&c, &i) in cols.iter().zip(&lin.free) {
                    fact[i] = row[c].clone();
                }
                if !facts.contains(&fact) {
                    facts.insert(fact.clone());
                    self.check_rows(out.len(), arity)?;
                    out.push(fact);
                }
            }
        }
        Ok(Some(out))
    }

    /// Records a (seed, node) pair a step reached: kept for expansion when new, and for a
    /// closure, its (seed, node) fact.
    fn visit(&self, s: &mut Search, lin: &Linear<'_>, seeds: &[Row], node: Row) -> QResult<()> {
        if !lin.closure {
            if s.add(node) {
                self.check_rows(s.reached.len(), lin.bound.len() + 1)?;
            }
            return Ok(());
        }
        let Edn::Long(n) = node[0] else {
            return Ok(());
        };
        let n = n as usize;
        let seed = &seeds[n][0];
        // A node other than the seed enters `reached` only through a step: new means a new
        // fact. The seed is there from the start: its fact comes with its first step.
        let fact = if node[1] == *seed {
            if s.seed_hit[n] {
                return Ok(());
            }
            s.seed_hit[n] = true;
            true
        } else {
            s.add(node.clone())
        };
        if fact {
            self.check_rows(s.out.len(), 2)?;
            let (a, b) = (seed.clone(), node[1].clone());
            s.out.push(if lin.bound[0] == 0 {
                vec![a, b]
            } else {
                vec![b, a]
            });
        }
        Ok(())
    }

    /// For a closure whose step body is one pattern `[?node :attr ?next]` (forward, `true`)
    /// or `[?next :attr ?node]` on a database, with an attribute of its schema: the
    /// database and attribute, so that each node's next nodes are one index read.
    pub(crate) fn edge_pattern(&self, lin: &Linear<'_>) -> QResult<Option<(&Db<'_>, Edn, bool)>> {
        if !lin.closure {
            return Ok(None);
        }
        let st = &lin.steps[0];
        let ([Clause::Pattern(p)], [Term::Var(next)]) = (&st.body[..], &st.next[..]) else {
            return Ok(None);
        };
        let node = &st.rule.head[lin.bound[0]];
        let Term::Const(Edn::Keyword(k)) = &p.a else {
            return Ok(None);
        };
        if p.terms.len() > 3
            || !self
                .sources
                .get(&p.src)
                .is_some_and(|s| matches!(s, Source::Db(_)))
        {
            return Ok(None);
        }
        let db = self.db(&p.src, &Edn::Nil)?;
        if db.schema().get(k).is_none() {
            return Ok(None);
        }
        let var = |t: &Term, v: &Var| matches!(t, Term::Var(x) if x == v);
        let forward = if var(&p.e, node) && var(&p.v, next) {
            true
        } else if var(&p.e, next) && var(&p.v, node) {
            false
        } else {
            return Ok(None);
        };
        Ok(Some((db, Edn::Keyword(k.clone()), forward)))
    }

    /// For a closure: the fewest datoms of any attribute its step body's patterns read
    /// (a bound on the edges), when every pattern names its attribute.
    fn closure_edges_estimate(&self, lin: &Linear<'_>) -> QResult<Option<u64>> {
        let mut best: Option<u64> = None;
        for c in &lin.steps[0].body {
            let Clause::Pattern(p) = c else {
                return Ok(None);
            };
            let Term::Const(Edn::Keyword(k)) = &p.a else {
                return Ok(None);
            };
            let db = self.db(&p.src, &Edn::Nil)?;
            let n = self.stats.attr_count(db, k)?;
            best = Some(best.map_or(n, |b| b.min(n)));
        }
        Ok(best)
    }

    /// For a closure: every edge (node -> next node) of its step body, read from the whole
    /// database at once. `None` when the body does not bind both.
    fn adjacency(&self, lin: &Linear<'_>) -> QResult<Option<HashMap<Edn, Vec<Edn>>>> {
        let st = &lin.steps[0];
        let (Some(Term::Var(next)), Some(node)) = (st.next.first(), st.rule.head.get(lin.bound[0]))
        else {
            return Ok(None);
        };
        let keep = [node.clone(), next.clone()];
        let res = self.eval_clauses(&st.body, Rel::unit(), &HashMap::default(), false, &keep)?;
        let (Some(a), Some(b)) = (res.col(node), res.col(next)) else {
            return Ok(None);
        };
        let mut adj: HashMap<Edn, Vec<Edn>> = HashMap::default();
        for mut r in res.rows {
            let t = std::mem::replace(&mut r[b], Edn::Nil);
            let x = std::mem::replace(&mut r[a], Edn::Nil);
            adj.entry(x).or_default().push(t);
        }
        Ok(Some(adj))
    }

    /// The whole relation of a transitive closure (see [`Linear`]) called with no argument
    /// bound: a frontier search from every node the base body starts from (the only nodes
    /// with an answer, the step's body being the base's); through a ref attribute, the id
    /// walk of `idwalk`. `None` for other calls.
    pub(crate) fn closure_unbound(
        &self,
        members: &[String],
        name: &str,
        mask: &[bool],
    ) -> QResult<Option<Vec<Row>>> {
        if mask.len() != 2 || mask.iter().any(|&b| b) {
            return Ok(None);
        }
        for m in [[true, false], [false, true]] {
            let Some(lin) = analyse(&self.rules, members, name, &m) else {
                continue;
            };
            if !lin.closure {
                continue;
            }
            if let Some(g) = self.id_edges(&lin)? {
                if let Some(rows) = self.id_closure_all(&g)? {
                    return Ok(Some(rows));
                }
            }
            let b = lin.bases[0];
            let from = &b.head[lin.bound[0]];
            let res = self.eval_clauses(
                &b.body,
                Rel::unit(),
                &HashMap::default(),
                false,
                std::slice::from_ref(from),
            )?;
            let Some(c) = res.col(from) else {
                return Ok(None);
            };
            let seeds: Vec<Row> = res
                .rows
                .into_iter()
                .map(|mut r| vec![r.swap_remove(c)])
                .collect();
            let seeds = crate::eval::distinct(seeds);
            if let Some(rows) = self.closure_of_ids(&lin, &seeds)? {
                return Ok(Some(rows));
            }
            return self.linear_call(&lin, &seeds);
        }
        Ok(None)
    }

    /// A whole closure whose nodes are all integers (entity ids): every edge is read at
    /// once (each source node is a seed, so every edge is walked at least once anyway) into
    /// an integer graph, then one walk per seed marks nodes with the seed's number, so a
    /// (seed, node) pair costs a probe of an integer table and no row of its own until it
    /// is an answer. `None` when a node is not an integer.
    ///
    /// Measured on wide trees, where the general search lost to the fixpoint (qprof, whole
    /// closure of `follows`): see docs/BENCHMARKS.md, "`not`, `or` and whole closures on wide
    /// trees".
    fn closure_of_ids(&self, lin: &Linear<'_>, seeds: &[Row]) -> QResult<Option<Vec<Row>>> {
        let id = |v: &Edn| match v {
            Edn::Long(n) => Some(*n),
            _ => None,
        };
        let Some(seed_ids) = seeds
            .iter()
            .map(|s| id(&s[0]))
            .collect::<Option<Vec<i64>>>()
        else {
            return Ok(None);
        };
        let Some(adj) = self.adjacency(lin)? else {
            return Ok(None);
        };
        let mut next: HashMap<i64, Vec<i64>> = HashMap::default();
        for (k, ts) in &adj {
            let (Some(k), Some(ts)) = (id(k), ts.iter().map(id).collect::<Option<Vec<i64>>>())
            else {
                return Ok(None);
            };
            next.insert(k, ts);
        }
        drop(adj);
        // Node -> number of the last seed whose walk reached it.
        let mut mark: HashMap<i64, usize> = HashMap::default();
        let mut stack: Vec<i64> = vec![];
        let mut out: Vec<Row> = vec![];
        let forward = lin.bound[0] == 0;
        for (n, &seed) in seed_ids.iter().enumerate() {
            self.check_time()?;
            // Nodes reached by one step or more; the seed only if a cycle leads back to it.
            stack.extend(next.get(&seed).into_iter().flatten());
            while let Some(node) = stack.pop() {
                let m = mark.entry(node).or_insert(usize::MAX);
                if *m == n {
                    continue;
                }
                *m = n;
                self.check_rows(out.len(), 2)?;
                let (a, b) = (Edn::Long(seed), Edn::Long(node));
                out.push(if forward { vec![a, b] } else { vec![b, a] });
                stack.extend(next.get(&node).into_iter().flatten());
            }
        }
        Ok(Some(out))
    }

    /// The relation (seed, the rule's head variables at the bound positions) of `rows`.
    fn node_rel(&self, r: &Rule, bound: &[usize], rows: Vec<Row>) -> Rel {
        let mut vars: Vec<Var> = vec![SEED.into()];
        vars.extend(bound.iter().map(|&j| r.head[j].clone()));
        Rel {
            vars,
            rows,
            distinct: true,
        }
    }
}
