//! Planning: which clause runs next. Filters (predicates, functions, `not`) run as soon as
//! their inputs are bound; among the clauses that bind variables (patterns, rule calls,
//! `or`) the one with the smallest estimated result runs next, estimated from the store's
//! exact O(log n) counts given the variables bound so far. Comparisons of a pattern's value
//! variable with a constant become AVE range bounds (for an attribute without a declared
//! type, when all its values have the constant's type, so index order is comparison order).

use levin_datalog::AttrType;
use levin_edn::Edn;

use crate::ast::*;
use crate::error::{ErrorKind, QResult, QueryError};
use crate::eval::{Ctx, Fixed, Rel, Source};
use levin_datalog::Index;

/// The planner's pick.
pub struct Choice {
    /// Index into the pending clauses.
    pub index: usize,
    /// Estimated rows after the step.
    pub estimate: f64,
    /// How it will run.
    pub strategy: String,
}

fn is_bound(cur: &Rel, t: &Term) -> bool {
    match t {
        Term::Var(v) => cur.col(v).is_some(),
        Term::Const(_) => true,
        Term::Blank => false,
    }
}

/// The value `t` stands for when the planner knows it: a constant, or a variable of a
/// relation with exactly one row (a scalar `:in` value), so its exact index count can be
/// read instead of an average.
fn known_value<'r>(cur: &'r Rel, t: &'r Term) -> Option<&'r Edn> {
    match t {
        Term::Const(c) => Some(c),
        Term::Var(v) if cur.rows.len() == 1 => cur.col(v).map(|i| &cur.rows[0][i]),
        _ => None,
    }
}

fn term_vars(ts: &[Term]) -> Vec<&Var> {
    ts.iter().filter_map(|t| t.var()).collect()
}

/// Variables a clause can bind.
fn binds(c: &Clause, out: &mut Vec<Var>) {
    match c {
        Clause::Pattern(_) | Clause::RuleCall { .. } | Clause::Or { .. } => c.vars(out),
        Clause::Fn { binding, .. } => binding.vars(out),
        Clause::Pred { .. } | Clause::Not { .. } => {}
    }
}

/// Picks the next clause.
pub fn choose(
    ctx: &Ctx<'_>,
    pending: &[&Clause],
    cur: &Rel,
    fixed: &Fixed,
    order: Option<&[&Clause]>,
) -> QResult<Choice> {
    let rows = cur.rows.len() as f64;
    // Ready filters first.
    for (i, c) in pending.iter().enumerate() {
        let ready = match c {
            Clause::Pred { args, .. } | Clause::Fn { args, .. } => {
                term_vars(args).iter().all(|v| cur.col(v).is_some())
            }
            Clause::Not { vars: Some(vs), .. } => vs.iter().all(|v| cur.col(v).is_some()),
            Clause::Not { vars: None, .. } => {
                let mut future = vec![];
                for (j, o) in pending.iter().enumerate() {
                    if j != i {
                        binds(o, &mut future);
                    }
                }
                let mut vs = vec![];
                c.vars(&mut vs);
                vs.iter()
                    .all(|v| cur.col(v).is_some() || !future.contains(v))
            }
            _ => false,
        };
        if ready {
            let strategy = match c {
                Clause::Pred { .. } => "filter",
                Clause::Fn { .. } => "function",
                _ => "anti-join",
            };
            return Ok(Choice {
                index: i,
                estimate: rows,
                strategy: strategy.into(),
            });
        }
    }
    // The dynamic-programming order, when there is one: its first clause still pending.
    if let Some(order) = order {
        let next = order
            .iter()
            .find_map(|o| pending.iter().position(|p| std::ptr::eq(*p, *o)));
        if let Some(i) = next {
            if let Some(mut c) = estimate_clause(ctx, pending, cur, fixed, i)? {
                c.strategy = format!("{} (join order by dynamic programming)", c.strategy);
                return Ok(c);
            }
        }
    }
    let mut best: Option<Choice> = None;
    for i in 0..pending.len() {
        if let Some(c) = estimate_clause(ctx, pending, cur, fixed, i)? {
            if best.as_ref().is_none_or(|b| c.estimate < b.estimate) {
                best = Some(c);
            }
        }
    }
    if let Some(b) = best {
        return Ok(b);
    }
    stuck(pending, cur)
}

/// The estimate and strategy of binding clause `pending[i]` given `cur`; `None` for a
/// clause that cannot run yet (or is not a binding clause).
fn estimate_clause(
    ctx: &Ctx<'_>,
    pending: &[&Clause],
    cur: &Rel,
    fixed: &Fixed,
    i: usize,
) -> QResult<Option<Choice>> {
    let rows = cur.rows.len() as f64;
    let c = pending[i];
    {
        let (est, strategy) = match c {
            Clause::Pattern(p) => estimate_pattern(ctx, p, cur, pending)?,
            Clause::RuleCall { name, args, .. } => {
                let connected = args
                    .iter()
                    .any(|t| matches!(t, Term::Var(v) if cur.col(v).is_some()));
                match fixed.get(name) {
                    // A relation of this fixpoint round: its size is known.
                    Some(known) => {
                        let n = known.slice().len() as f64;
                        let est = if connected { rows.min(n) } else { rows * n };
                        (
                            est,
                            format!("hash join with {} rows of {name}", known.slice().len()),
                        )
                    }
                    None => {
                        let per = if connected { 10.0 } else { 1e6 };
                        let bound: Vec<String> = args
                            .iter()
                            .filter(|t| is_bound(cur, t))
                            .map(|t| match t {
                                Term::Var(v) => v.clone(),
                                Term::Const(c) => c.to_string(),
                                Term::Blank => "_".into(),
                            })
                            .collect();
                        let mask: Vec<bool> = args.iter().map(|t| is_bound(cur, t)).collect();
                        let magic = ctx.sccs.get(name).is_some_and(|members| {
                            crate::magic::applies(&ctx.rules, members, &mask)
                        });
                        let how = match (ctx.sccs.contains_key(name), magic) {
                            (true, false) => "recursive rule: whole fixpoint (semi-naive)".into(),
                            (true, true) => format!(
                                "recursive rule: magic sets seeded with {} (semi-naive)",
                                bound.join(" ")
                            ),
                            (false, _) if bound.is_empty() => {
                                "rule: bodies evaluated, then hash join".into()
                            }
                            (false, _) => format!("rule: bodies seeded with {}", bound.join(" ")),
                        };
                        (rows * per, how)
                    }
                }
            }
            Clause::Or {
                required,
                vars,
                branches,
                ..
            } => {
                if !required.iter().all(|v| cur.col(v).is_some()) {
                    return Ok(None);
                }
                let mut vs = vec![];
                match vars {
                    Some(v) => vs.extend(v.iter().cloned()),
                    None => branches.iter().flatten().for_each(|c| c.vars(&mut vs)),
                }
                let connected = vs.iter().any(|v| cur.col(v).is_some());
                let per = if connected { 10.0 } else { 1e6 };
                (rows * per, "or: union of branches, hash join".to_string())
            }
            _ => return Ok(None),
        };
        Ok(Some(Choice {
            index: i,
            estimate: est,
            strategy,
        }))
    }
}

/// The error when no pending clause can run: the first stuck one.
fn stuck(pending: &[&Clause], cur: &Rel) -> QResult<Choice> {
    let c = pending[0];
    let (msg, form) = match c {
        Clause::Pred { args, form, .. } | Clause::Fn { args, form, .. } => {
            let v = term_vars(args)
                .into_iter()
                .find(|v| cur.col(v).is_none())
                .cloned()
                .unwrap_or_default();
            (format!("insufficient bindings: {v} is not bound"), form)
        }
        Clause::Not { vars, form, .. } => {
            let v = vars
                .iter()
                .flatten()
                .find(|v| cur.col(v).is_none())
                .cloned()
                .unwrap_or_default();
            (
                format!("insufficient bindings: {v} is not bound before not-join"),
                form,
            )
        }
        Clause::Or {
            vars: None, form, ..
        } => {
            // A plain `or` whose branches differ in a variable nothing binds first.
            return Err(QueryError::at(
                ErrorKind::OrVars,
                "all branches of or must use the same variables (use or-join)",
                form,
            ));
        }
        Clause::Or { required, form, .. } => {
            let v = required
                .iter()
                .find(|v| cur.col(v).is_none())
                .cloned()
                .unwrap_or_default();
            (
                format!("insufficient bindings: required variable {v} of or-join is not bound"),
                form,
            )
        }
        Clause::RuleCall { form, .. } => ("cannot run".to_string(), form),
        Clause::Pattern(_) => ("cannot run".to_string(), &Edn::Nil),
    };
    Err(QueryError::at(ErrorKind::Unbound, msg, form))
}

fn count(n: u64) -> f64 {
    n as f64
}

fn estimate_pattern(
    ctx: &Ctx<'_>,
    p: &Pattern,
    cur: &Rel,
    pending: &[&Clause],
) -> QResult<(f64, String)> {
    let rows = cur.rows.len() as f64;
    let range = range_for(ctx, p, cur, pending);
    let known = known_value(cur, &p.v);
    let (per, strategy) = per_row_estimate(ctx, p, &|t| is_bound(cur, t), known, range)?;
    Ok((rows * per, strategy))
}

/// Rows a pattern yields per input row when the terms for which `bound` holds are known,
/// with `value` the pattern's value when it is known before the query runs (see
/// [`known_value`]) and `range` the AVE bounds of its value (if any), and how it will be
/// read.
fn per_row_estimate(
    ctx: &Ctx<'_>,
    p: &Pattern,
    bound: &dyn Fn(&Term) -> bool,
    value: Option<&Edn>,
    range: Option<(Option<Edn>, Option<Edn>)>,
) -> QResult<(f64, String)> {
    let Some(src) = ctx.sources.get(&p.src) else {
        return Ok((1.0, "source missing".into()));
    };
    let db = match src {
        Source::Coll(c) => return Ok((c.len() as f64, format!("scan collection {}", p.src))),
        Source::Db(db) => *db,
    };
    let e_b = bound(&p.e);
    let v_b = bound(&p.v);
    let a_const = match &p.a {
        Term::Const(Edn::Keyword(k)) => Some(k),
        Term::Const(_) => return Ok((0.0, "attribute is not a keyword: empty".into())),
        _ => None,
    };
    let a_bound = a_const.is_some() || bound(&p.a);
    let (per, strat) = if e_b {
        let many = a_const
            .and_then(|k| db.schema().get(k))
            .is_some_and(|a| a.is_many());
        let per = if a_bound {
            if many {
                3.0
            } else {
                1.0
            }
        } else {
            10.0
        };
        (per, "EAV lookup per entity".to_string())
    } else if let Some(k) = a_const {
        // A known value is counted exactly; one the store cannot count (a lookup ref, say)
        // falls back to the average per value.
        let exact = value.and_then(|v| {
            db.count_datoms(Index::Ave, &[Edn::Keyword(k.clone()), v.clone()])
                .ok()
                .map(|n| (v, n))
        });
        match (&p.v, exact) {
            (_, Some((v, n))) => (count(n), format!("AVE {k} = {v} (exact count)")),
            (Term::Const(v), None) => (
                count(db.count_datoms(Index::Ave, &[Edn::Keyword(k.clone()), v.clone()])?),
                format!("AVE {k} = {v} (exact count)"),
            ),
            _ if v_b => match db.schema().get(k) {
                Some(attr) => {
                    let fanout = ctx.stats.value_fanout(db, attr)?;
                    (
                        fanout,
                        format!("AVE {k} lookup per value (~{fanout:.1} per value, sampled)"),
                    )
                }
                None => (0.0, format!("{k} is not in the schema: empty")),
            },
            _ => match range {
                Some((lo, hi)) => (
                    count(db.count_range(k, lo.as_ref(), hi.as_ref())?),
                    format!(
                        "AVE {k} range [{} {}]",
                        lo.map_or("-inf".to_string(), |x| x.to_string()),
                        hi.map_or("+inf".to_string(), |x| x.to_string())
                    ),
                ),
                None => (count(ctx.stats.attr_count(db, k)?), format!("AVE {k} scan")),
            },
        }
    } else {
        let n = count(db.datom_count()?);
        (if v_b { n / 10.0 } else { n }, "full EAV scan".to_string())
    };
    Ok((per, strat))
}

/// The most binding clauses a query may have for its join order to be found by dynamic
/// programming over subsets (2^n states); beyond it the planner is greedy.
pub const DP_MAX: usize = 10;

/// A join order for the clauses that bind variables (patterns, rule calls, `or`), chosen by
/// dynamic programming over subsets: the order with the least total of estimated
/// intermediate rows, where each clause's rows per input row come from the store's counts
/// given the variables bound before it, functions bind their outputs as soon as their
/// inputs are bound, and each predicate or `not` that becomes runnable halves the rows.
/// `None` when there are fewer than 3 or more than [`DP_MAX`] such clauses (greedy is as
/// good or the search too large), or when no order can run them all.
pub fn dp_order<'c>(
    ctx: &Ctx<'_>,
    pending: &[&'c Clause],
    cur: &Rel,
) -> QResult<Option<Vec<&'c Clause>>> {
    let joins: Vec<&Clause> = pending
        .iter()
        .copied()
        .filter(|c| {
            matches!(
                c,
                Clause::Pattern(_) | Clause::RuleCall { .. } | Clause::Or { .. }
            )
        })
        .collect();
    let n = joins.len();
    if !(3..=DP_MAX).contains(&n) {
        return Ok(None);
    }
    // Variables are numbered so that a set of them is a bit mask: the search below visits
    // up to 2^DP_MAX subsets and must not build strings for each.
    let mut names: Vec<Var> = cur.vars.clone();
    pending.iter().for_each(|c| c.vars(&mut names));
    names.sort_unstable();
    names.dedup();
    if names.len() > 64 {
        return Ok(None);
    }
    let bit = |v: &Var| -> u64 { names.binary_search(v).map_or(0, |i| 1u64 << i) };
    let mask = |vs: &[Var]| vs.iter().fold(0u64, |m, v| m | bit(v));
    let clause_mask = |c: &Clause, f: fn(&Clause, &mut Vec<Var>)| {
        let mut vs = vec![];
        f(c, &mut vs);
        mask(&vs)
    };
    // Functions as (inputs, outputs); filters (predicates, `not`) as the variables they read.
    let fns: Vec<(u64, u64)> = pending
        .iter()
        .filter_map(|c| match c {
            Clause::Fn { args, binding, .. } => {
                let mut outs = vec![];
                binding.vars(&mut outs);
                let ins = term_vars(args).into_iter().fold(0, |m, v| m | bit(v));
                Some((ins, mask(&outs)))
            }
            _ => None,
        })
        .collect();
    let filters: Vec<u64> = pending
        .iter()
        .filter_map(|c| match c {
            Clause::Pred { args, .. } => {
                Some(term_vars(args).into_iter().fold(0, |m, v| m | bit(v)))
            }
            Clause::Not { .. } => Some(clause_mask(c, Clause::vars)),
            _ => None,
        })
        .collect();
    let join_vars: Vec<u64> = joins.iter().map(|c| clause_mask(c, Clause::vars)).collect();
    let join_binds: Vec<u64> = joins.iter().map(|c| clause_mask(c, binds)).collect();
    let required: Vec<u64> = joins
        .iter()
        .map(|c| match c {
            Clause::Or { required, .. } => mask(required),
            _ => 0,
        })
        .collect();
    let initial = mask(&cur.vars);
    // Variables bound after the clauses in `set`: theirs, then function outputs to a fixpoint.
    let bound_after = |set: usize| -> u64 {
        let mut b = initial;
        for (i, m) in join_binds.iter().enumerate() {
            if set & (1 << i) != 0 {
                b |= m;
            }
        }
        loop {
            let before = b;
            for &(ins, outs) in &fns {
                if ins & b == ins {
                    b |= outs;
                }
            }
            if b == before {
                return b;
            }
        }
    };
    // Estimates per (clause, which of its variables are bound), memoised: each is an index
    // count at most.
    let mut memo: std::collections::HashMap<(usize, u64), f64> = Default::default();
    let mut per_row = |i: usize, b: u64| -> QResult<f64> {
        let key = (i, b & join_vars[i]);
        if let Some(x) = memo.get(&key) {
            return Ok(*x);
        }
        let is_b = |t: &Term| match t {
            Term::Var(v) => bit(v) & b != 0,
            Term::Const(_) => true,
            Term::Blank => false,
        };
        let est = match joins[i] {
            Clause::Pattern(p) => {
                let range = match (&p.e, &p.v) {
                    (Term::Var(e), Term::Var(v)) if bit(e) & b == 0 && bit(v) & b == 0 => {
                        range_for(ctx, p, cur, pending)
                    }
                    _ => None,
                };
                // `cur` is the relation before every clause: its one row's values hold
                // whatever order runs.
                per_row_estimate(ctx, p, &is_b, known_value(cur, &p.v), range)?.0
            }
            _ => {
                if join_vars[i] & b != 0 {
                    10.0
                } else {
                    1e6
                }
            }
        };
        memo.insert(key, est);
        Ok(est)
    };
    let full = (1usize << n) - 1;
    // best[set] = (cost, rows, last clause, previous set)
    let mut best: Vec<Option<(f64, f64, usize, usize)>> = vec![None; 1 << n];
    best[0] = Some((0.0, cur.rows.len().max(1) as f64, usize::MAX, 0));
    for set in 0..full {
        let Some((cost, rows, _, _)) = best[set] else {
            continue;
        };
        let b = bound_after(set);
        for (i, &req) in required.iter().enumerate() {
            if set & (1 << i) != 0 || req & b != req {
                continue;
            }
            let next = set | (1 << i);
            let b2 = bound_after(next);
            let mut r = rows * per_row(i, b)?;
            for &f in &filters {
                if f & b2 == f && f & b != f {
                    r *= 0.5;
                }
            }
            let r = r.max(1.0);
            let c2 = cost + r;
            if best[next].is_none_or(|(bc, ..)| c2 < bc) {
                best[next] = Some((c2, r, i, set));
            }
        }
    }
    let mut order = vec![];
    let mut set = full;
    while set != 0 {
        let Some((_, _, i, prev)) = best[set] else {
            return Ok(None);
        };
        order.push(joins[i]);
        set = prev;
    }
    order.reverse();
    Ok(Some(order))
}

fn range_type_ok(t: Option<AttrType>, v: &Edn) -> bool {
    matches!(
        (t, v),
        (Some(AttrType::Long), Edn::Long(_))
            | (Some(AttrType::Double), Edn::Double(_))
            | (Some(AttrType::String), Edn::String(_))
            | (Some(AttrType::Instant), Edn::Inst(_))
    )
}

/// AVE bounds (inclusive; the predicates still filter) for a pattern whose value is an
/// unbound variable compared with constants (or single-valued bound variables) in pending
/// predicates.
pub fn range_for(
    ctx: &Ctx<'_>,
    p: &Pattern,
    cur: &Rel,
    pending: &[&Clause],
) -> Option<(Option<Edn>, Option<Edn>)> {
    let Term::Var(v) = &p.v else { return None };
    if cur.col(v).is_some() || is_bound(cur, &p.e) {
        return None;
    }
    let Term::Const(Edn::Keyword(k)) = &p.a else {
        return None;
    };
    let Some(Source::Db(db)) = ctx.sources.get(&p.src) else {
        return None;
    };
    let attr = db.schema().get(k)?;
    let value_of = |t: &Term| -> Option<Edn> {
        match t {
            Term::Const(c) => Some(c.clone()),
            Term::Var(x) => {
                let c = cur.col(x)?;
                let first = cur.rows.first()?[c].clone();
                cur.rows.iter().all(|r| r[c] == first).then_some(first)
            }
            Term::Blank => None,
        }
    };
    let mut lo: Option<Edn> = None;
    let mut hi: Option<Edn> = None;
    for c in pending {
        let Clause::Pred { name, args, .. } = c else {
            continue;
        };
        if args.len() != 2 || !matches!(name.as_str(), "<" | ">" | "<=" | ">=") {
            continue;
        }
        let (other, var_first) = match (&args[0], &args[1]) {
            (Term::Var(x), o) if x == v => (o, true),
            (o, Term::Var(x)) if x == v => (o, false),
            _ => continue,
        };
        let Some(c) = value_of(other) else { continue };
        let comparable = range_type_ok(attr.value_type, &c)
            || (attr.value_type.is_none()
                && matches!(c, Edn::Long(_) | Edn::String(_) | Edn::Inst(_))
                && db.values_all_like(attr, &c).unwrap_or(false));
        if !comparable {
            continue;
        }
        // ?v < c  or  c > ?v  => upper bound; otherwise lower bound.
        let upper = matches!(
            (name.as_str(), var_first),
            ("<" | "<=", true) | (">" | ">=", false)
        );
        if upper {
            if hi.as_ref().is_none_or(|h| c < *h) {
                hi = Some(c);
            }
        } else if lo.as_ref().is_none_or(|l| c > *l) {
            lo = Some(c);
        }
    }
    if lo.is_none() && hi.is_none() {
        return None;
    }
    Some((lo, hi))
}

/// Datoms a pattern matches with only its constants (and value range), when that is an
/// O(log n) count: constant attribute, no constant entity.
pub fn scan_count(
    ctx: &Ctx<'_>,
    db: &levin_datalog::Db,
    p: &Pattern,
    range: Option<&(Option<Edn>, Option<Edn>)>,
) -> QResult<Option<u64>> {
    if matches!(p.e, Term::Const(_)) {
        return Ok(None);
    }
    let Term::Const(Edn::Keyword(k)) = &p.a else {
        return Ok(None);
    };
    Ok(Some(match (&p.v, range) {
        (Term::Const(v), _) => {
            db.count_datoms(Index::Ave, &[Edn::Keyword(k.clone()), v.clone()])?
        }
        (_, Some((lo, hi))) => db.count_range(k, lo.as_ref(), hi.as_ref())?,
        _ => ctx.stats.attr_count(db, k)?,
    }))
}
