//! Rules: non-recursive rules run as sub-queries seeded with the caller's bound arguments;
//! recursive (and mutually recursive) rules are evaluated bottom-up, semi-naive, to a
//! fixpoint per strongly connected component, with no recursion on the Rust stack.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::rc::Rc;

use levin_edn::Edn;

use crate::ast::*;
use crate::error::{ErrorKind, QResult, QueryError};
use crate::eval::{row_hash, unknown_fn, Ctx, Fixed, FixedRows, Rel, Row};
use crate::linear;
use crate::magic;

const DELTA: &str = "\u{0}delta:";

fn calls(c: &Clause, negated: bool, out: &mut Vec<(String, bool)>) {
    match c {
        Clause::RuleCall { name, .. } => out.push((name.clone(), negated)),
        Clause::Not { body, .. } => body.iter().for_each(|c| calls(c, true, out)),
        Clause::Or { branches, .. } => branches
            .iter()
            .flatten()
            .for_each(|c| calls(c, negated, out)),
        _ => {}
    }
}

/// Finds the strongly connected components of recursive rules: name -> members.
pub fn sccs(rules: &HashMap<String, Vec<Rule>>) -> QResult<HashMap<String, Vec<String>>> {
    let mut deps: HashMap<&str, Vec<(String, bool)>> = HashMap::default();
    for (name, rs) in rules {
        let mut out = vec![];
        for r in rs {
            r.body.iter().for_each(|c| calls(c, false, &mut out));
        }
        deps.insert(name, out);
    }
    let reach = |from: &str| -> HashSet<String> {
        let mut seen = HashSet::default();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for (d, _) in deps.get(n.as_str()).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    };
    let reaches: HashMap<&str, HashSet<String>> =
        rules.keys().map(|n| (n.as_str(), reach(n))).collect();
    let mut out = HashMap::default();
    for name in rules.keys() {
        if !reaches[name.as_str()].contains(name) {
            continue;
        }
        let mut members: Vec<String> = rules
            .keys()
            .filter(|m| reaches[name.as_str()].contains(*m) && reaches[m.as_str()].contains(name))
            .cloned()
            .collect();
        members.sort();
        for m in &members {
            if deps[m.as_str()]
                .iter()
                .any(|(d, neg)| *neg && members.contains(d))
            {
                return Err(QueryError::unsupported(format!(
                    "recursion through negation (rule {m} negates a rule it depends on)"
                )));
            }
        }
        out.insert(name.clone(), members);
    }
    Ok(out)
}

/// The recursive rules whose fixpoint one call uses alone: called once, directly in the
/// query's `:where` (not under `not` or `or`), and from no rule outside their own
/// component. Their rows need not be kept for later calls.
pub fn single_use(
    clauses: &[Clause],
    rules: &HashMap<String, Vec<Rule>>,
    sccs: &HashMap<String, Vec<String>>,
) -> HashSet<String> {
    let mut top: HashMap<&str, usize> = HashMap::default();
    let mut nested: Vec<(String, bool)> = vec![];
    for c in clauses {
        match c {
            Clause::RuleCall { name, .. } => *top.entry(name).or_default() += 1,
            other => calls(other, false, &mut nested),
        }
    }
    let mut out = HashSet::default();
    for (name, n) in top {
        let Some(members) = sccs.get(name) else {
            continue;
        };
        let called_elsewhere = nested.iter().any(|(c, _)| c == name)
            || rules
                .iter()
                .filter(|(r, _)| !members.contains(r))
                .flat_map(|(_, rs)| rs)
                .any(|r| {
                    let mut cs = vec![];
                    r.body.iter().for_each(|c| calls(c, false, &mut cs));
                    cs.iter().any(|(c, _)| c == name)
                });
        if n == 1 && !called_elsewhere {
            out.insert(name.to_string());
        }
    }
    out
}

/// The rows of a list no one else holds, without a copy (a copy otherwise).
fn owned(rows: Rc<Vec<Row>>) -> Vec<Row> {
    Rc::try_unwrap(rows).unwrap_or_else(|shared| (*shared).clone())
}

/// Every definition of rule `name` must take `arity` arguments.
pub(crate) fn check_rule_arity(name: &str, rs: &[Rule], arity: usize, form: &Edn) -> QResult<()> {
    for r in rs {
        if r.head.len() != arity {
            return Err(QueryError::at(
                ErrorKind::Rule,
                format!(
                    "rule {name} takes {} argument(s), called with {arity}",
                    r.head.len()
                ),
                form,
            ));
        }
    }
    Ok(())
}

impl Ctx<'_> {
    fn check_arity(&self, name: &str, args: &[Term], form: &Edn) -> QResult<&Vec<Rule>> {
        let Some(rs) = self.rules.get(name) else {
            return Err(unknown_fn(name, form));
        };
        check_rule_arity(name, rs, args.len(), form)?;
        Ok(rs)
    }

    /// Evaluates a rule call and joins it into `cur`, leaving room for `spare` more
    /// columns in each row. Columns of variables not in `needed` may be left out of the
    /// result.
    #[expect(
        clippy::too_many_arguments,
        reason = "the call, its rows, and what the steps after it read, as the caller has them"
    )]
    pub fn rule_call(
        &self,
        name: &str,
        args: &[Term],
        form: &Edn,
        mut cur: Rel,
        fixed: &Fixed,
        spare: usize,
        needed: &[Var],
    ) -> QResult<Rel> {
        if let Some(rows) = fixed.get(name) {
            return self.join_call(args, rows.slice(), cur, spare);
        }
        let rs = self.check_arity(name, args, form)?;
        if let Some(members) = self.sccs.get(name) {
            let mask: Vec<bool> = args
                .iter()
                .map(|t| match t {
                    Term::Const(_) => true,
                    Term::Var(v) => cur.col(v).is_some(),
                    Term::Blank => false,
                })
                .collect();
            if !self.reg.no_frontier {
                if let Some(lin) = linear::analyse(&self.rules, members, name, &mask) {
                    let seeds = crate::eval::distinct(bound_seeds(args, &mask, &cur));
                    cur = match self.id_call(&lin, args, &seeds, cur, spare, needed)? {
                        Ok(rel) => return Ok(rel),
                        Err(cur) => cur,
                    };
                    if let Some(rows) = self.linear_call(&lin, &seeds)? {
                        return self.join_call_owned(args, rows, cur, spare);
                    }
                }
                if let Some(rows) = self.closure_unbound(members, name, &mask)? {
                    return self.join_call_owned(args, rows, cur, spare);
                }
            }
            if let Some(rw) = magic::rewrite(&self.rules, members, name, &mask) {
                // Seeded by the caller's distinct bound values.
                let seeds = bound_seeds(args, &mask, &cur);
                let mut base: Fixed = HashMap::default();
                base.insert(
                    rw.seed.clone(),
                    FixedRows::all(Rc::new(crate::eval::distinct(seeds))),
                );
                let mut lists = self.fixpoint_of(&rw.members, &rw.rules, &base)?;
                let rows = lists.remove(&rw.goal).unwrap_or_default();
                return self.join_call_owned(args, owned(rows), cur, spare);
            }
            if self.single_use.contains(name) {
                let mut lists = self.fixpoint_of(members, &self.rules, &HashMap::default())?;
                let rows = lists.remove(name).unwrap_or_default();
                return self.join_call_owned(args, owned(rows), cur, spare);
            }
            let rows = self.fixpoint(name, members)?;
            return self.join_call(args, &rows, cur, spare);
        }
        // Non-recursive: each clause runs seeded with the caller's bound arguments.
        let bound: Vec<usize> = (0..args.len())
            .filter(|&i| match &args[i] {
                Term::Const(_) => true,
                Term::Var(v) => cur.col(v).is_some(),
                Term::Blank => false,
            })
            .collect();
        let mut seed_rows: Vec<Row> = vec![];
        let mut seen = HashSet::default();
        for r in &cur.rows {
            let k: Row = bound
                .iter()
                .map(|&i| match &args[i] {
                    Term::Const(c) => c.clone(),
                    Term::Var(v) => cur.col(v).map(|c| r[c].clone()).unwrap_or(Edn::Nil),
                    Term::Blank => Edn::Nil,
                })
                .collect();
            if seen.insert(k.clone()) {
                seed_rows.push(k);
            }
        }
        let mut out: Vec<Row> = vec![];
        let mut seen = HashSet::default();
        for r in rs {
            // A head repeating a variable needs equal arguments.
            let mut seed = Rel {
                vars: vec![],
                rows: vec![],
                distinct: false,
            };
            let mut keep: Vec<usize> = vec![];
            for &i in &bound {
                if !seed.vars.contains(&r.head[i]) {
                    seed.vars.push(r.head[i].clone());
                    keep.push(i);
                }
            }
            let pos: Vec<usize> = keep
                .iter()
                .map(|i| bound.iter().position(|b| b == i).unwrap_or(0))
                .collect();
            let mut s2 = HashSet::default();
            for row in &seed_rows {
                let ok = bound.iter().enumerate().all(|(j, &i)| {
                    let k = bound
                        .iter()
                        .position(|&b| r.head[b] == r.head[i])
                        .unwrap_or(j);
                    row[k] == row[j]
                });
                if ok {
                    let k: Row = pos.iter().map(|&p| row[p].clone()).collect();
                    if s2.insert(k.clone()) {
                        seed.rows.push(k);
                    }
                }
            }
            let res = self.eval_clauses(&r.body, seed, fixed, false, &r.head)?;
            for row in head_rows(r, res, form)? {
                if seen.insert(row.clone()) {
                    self.check_rows(out.len(), row.len())?;
                    out.push(row);
                }
            }
        }
        self.join_call(args, &out, cur, spare)
    }

    /// The whole relation of recursive rule `name` (its component `members` evaluated
    /// together), cached for the rest of the query.
    fn fixpoint(&self, name: &str, members: &[String]) -> QResult<Rc<Vec<Row>>> {
        if let Some(r) = self.rule_cache.borrow().get(name) {
            return Ok(r.clone());
        }
        let lists = self.fixpoint_of(members, &self.rules, &HashMap::default())?;
        let mut cache = self.rule_cache.borrow_mut();
        for (m, rows) in lists {
            cache.insert(m, rows);
        }
        Ok(cache.get(name).cloned().unwrap_or_default())
    }

    /// Semi-naive evaluation of the rules `members` (looked up in `rules`) to a fixpoint,
    /// with the fixed relations `base` visible to their bodies.
    fn fixpoint_of(
        &self,
        members: &[String],
        rules: &HashMap<String, Vec<Rule>>,
        base: &Fixed,
    ) -> QResult<HashMap<String, Rc<Vec<Row>>>> {
        let depth = &self.fixpoint_depth;
        depth.set(depth.get() + 1);
        let lists = self.fixpoint_rounds(members, rules, base);
        depth.set(depth.get() - 1);
        lists
    }

    /// The rounds of [`fixpoint_of`](Self::fixpoint_of).
    fn fixpoint_rounds(
        &self,
        members: &[String],
        rules: &HashMap<String, Vec<Rule>>,
        base: &Fixed,
    ) -> QResult<HashMap<String, Rc<Vec<Row>>>> {
        // Per member: a hash table of (hash, row number) into its list (each row stored
        // once; the hash kept so that growing the table rehashes no row).
        let mut sets: HashMap<String, hashbrown::HashTable<(u64, usize)>> = members
            .iter()
            .map(|m| (m.clone(), hashbrown::HashTable::new()))
            .collect();
        let mut lists: HashMap<String, Rc<Vec<Row>>> = members
            .iter()
            .map(|m| (m.clone(), Rc::new(vec![])))
            .collect();
        // Per member: where the rows added by the last round begin in its list.
        let mut delta: HashMap<String, usize> = HashMap::default();
        let mut first = true;
        loop {
            self.check_time()?;
            let mut fixed: Fixed = base.clone();
            for (m, rows) in &lists {
                fixed.insert(m.clone(), FixedRows::all(rows.clone()));
            }
            for (m, &from) in &delta {
                let rows = lists.get(m).expect("member").clone();
                fixed.insert(format!("{DELTA}{m}"), FixedRows { rows, from });
            }
            let mut new: HashMap<String, Vec<Row>> = HashMap::default();
            for m in members {
                let rs = rules.get(m).map(|v| v.as_slice()).unwrap_or(&[]);
                for r in rs {
                    let occs: Vec<usize> = r
                        .body
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| matches!(c, Clause::RuleCall { name, .. } if members.contains(name)))
                        .map(|(i, _)| i)
                        .collect();
                    let mut nested = vec![];
                    r.body.iter().for_each(|c| {
                        if !matches!(c, Clause::RuleCall { .. }) {
                            calls(c, false, &mut nested)
                        }
                    });
                    let nested_rec = nested.iter().any(|(n, _)| members.contains(n));
                    let mut bodies: Vec<Vec<Clause>> = vec![];
                    if first || nested_rec {
                        bodies.push(r.body.clone());
                    } else {
                        for &i in &occs {
                            let mut b = r.body.clone();
                            if let Clause::RuleCall { name, args, form } = &b[i] {
                                let grown = match (delta.get(name), lists.get(name)) {
                                    (Some(&from), Some(list)) => list.len() > from,
                                    _ => false,
                                };
                                if !grown {
                                    continue;
                                }
                                b[i] = Clause::RuleCall {
                                    name: format!("{DELTA}{name}"),
                                    args: args.clone(),
                                    form: form.clone(),
                                };
                            }
                            bodies.push(b);
                        }
                    }
                    for b in bodies {
                        for c in &b {
                            if let Clause::RuleCall {
                                name: n,
                                args,
                                form,
                            } = c
                            {
                                if self.rules.contains_key(n) {
                                    self.check_arity(n, args, form)?;
                                }
                            }
                        }
                        let res = self.eval_clauses(&b, Rel::unit(), &fixed, false, &r.head)?;
                        let rows = head_rows(r, res, &Edn::sym(magic::source_name(&r.name)))?;
                        new.entry(m.clone()).or_default().extend(rows);
                    }
                }
            }
            first = false;
            drop(fixed);
            let mut any = false;
            delta.clear();
            for (m, rows) in new {
                let set = sets.get_mut(&m).expect("member");
                // No other holder of the list is left (`fixed` is gone): no copy.
                let list = Rc::make_mut(lists.get_mut(&m).expect("member"));
                let from = list.len();
                for row in rows {
                    let h = row_hash(&row);
                    if set.find(h, |&(_, i)| list[i] == row).is_none() {
                        set.insert_unique(h, (h, list.len()), |&(h, _)| h);
                        self.check_rows(list.len(), row.len())?;
                        list.push(row);
                    }
                }
                any |= list.len() > from;
                delta.insert(m, from);
            }
            if !any {
                break;
            }
        }
        Ok(lists)
    }
}

/// The values of a call's bound arguments (`mask`) in each row of `cur`.
fn bound_seeds(args: &[Term], mask: &[bool], cur: &Rel) -> Vec<Row> {
    let cols: Vec<Result<usize, &Edn>> = args
        .iter()
        .zip(mask)
        .filter(|(_, &b)| b)
        .map(|(t, _)| match t {
            Term::Var(v) => Ok(cur.col(v).unwrap_or(0)),
            Term::Const(c) => Err(c),
            Term::Blank => Err(&Edn::Nil),
        })
        .collect();
    cur.rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| match c {
                    Ok(i) => r[*i].clone(),
                    Err(v) => (*v).clone(),
                })
                .collect()
        })
        .collect()
}

/// The rule's head tuples from its body's result.
fn head_rows(r: &Rule, res: Rel, form: &Edn) -> QResult<Vec<Row>> {
    let mut cols = vec![];
    for v in &r.head {
        match res.col(v) {
            Some(c) => cols.push(c),
            None => {
                return Err(QueryError::at(
                    ErrorKind::Unbound,
                    format!(
                        "insufficient bindings: rule {} does not bind {v}",
                        magic::source_name(&r.name)
                    ),
                    form,
                ))
            }
        }
    }
    let repeats = (1..cols.len()).any(|i| cols[..i].contains(&cols[i]));
    if !repeats {
        // Each row is rearranged in place (its allocation reused), values moved, not copied.
        let mut rows = res.rows;
        let mut scratch: Vec<Edn> = Vec::with_capacity(cols.len());
        for row in &mut rows {
            scratch.extend(
                cols.iter()
                    .map(|&c| std::mem::replace(&mut row[c], Edn::Nil)),
            );
            row.clear();
            row.append(&mut scratch);
        }
        return Ok(rows);
    }
    Ok(res
        .rows
        .iter()
        .map(|row| cols.iter().map(|&c| row[c].clone()).collect())
        .collect())
}
