//! Scalar `:in` values used only as arguments of top-level predicates and functions are
//! written into those clauses as constants, so `[(> ?s ?min)]` with `?min` passed in runs
//! exactly as `[(> ?s 50000)]`: no column carried through every row, no projection to drop
//! it afterwards.

use levin_edn::Edn;

use crate::ast::{Binding, Clause, In, Query, Term, Var};
use crate::Input;

/// The scalar inputs that can be inlined, with their values: a variable bound by exactly
/// one `:in` scalar binding to a value (not a function), named by no find element or
/// `:with`, and occurring in the `:where` clauses only as an argument of top-level
/// predicates and functions (never as a function's name or binding, in a pattern, rule
/// call, `not` or `or`). Predicates and functions read a constant argument and a bound
/// variable's value alike, so the answers do not change.
pub fn scalar_inputs(query: &Query, inputs: &[Input<'_>]) -> Vec<(Var, Edn)> {
    let mut bound: Vec<Var> = vec![];
    for spec in &query.inputs {
        if let In::Bind(b) = spec {
            let mut vs = vec![];
            b.vars(&mut vs);
            bound.extend(vs);
        }
    }
    let mut named: Vec<Var> = query.with.clone();
    query.find.iter().for_each(|f| f.vars(&mut named));
    let mut out = vec![];
    for (spec, input) in query.inputs.iter().zip(inputs) {
        let (In::Bind(Binding::Scalar(x)), Input::Value(v)) = (spec, input) else {
            continue;
        };
        if bound.iter().filter(|b| *b == x).count() != 1 || named.contains(x) {
            continue;
        }
        if query.clauses.iter().all(|c| only_as_argument(c, x)) {
            out.push((x.clone(), v.clone()));
        }
    }
    out
}

/// Whether `x` occurs in `c` only as an argument of a predicate or function (or not at all).
fn only_as_argument(c: &Clause, x: &Var) -> bool {
    match c {
        Clause::Pred { name, .. } => name != x,
        Clause::Fn { name, binding, .. } => {
            let mut outs = vec![];
            binding.vars(&mut outs);
            name != x && !outs.contains(x)
        }
        _ => {
            let mut vs = vec![];
            c.vars(&mut vs);
            !vs.contains(x)
        }
    }
}

/// `clauses` with each inlined variable replaced by its value in the arguments of
/// top-level predicates and functions; `None` when there is nothing to replace.
pub fn substitute(clauses: &[Clause], values: &[(Var, Edn)]) -> Option<Vec<Clause>> {
    if values.is_empty() {
        return None;
    }
    let swap = |args: &[Term]| -> Vec<Term> {
        args.iter()
            .map(|t| match t {
                Term::Var(v) => match values.iter().find(|(x, _)| x == v) {
                    Some((_, value)) => Term::Const(value.clone()),
                    None => t.clone(),
                },
                _ => t.clone(),
            })
            .collect()
    };
    Some(
        clauses
            .iter()
            .map(|c| match c {
                Clause::Pred { name, args, form } => Clause::Pred {
                    name: name.clone(),
                    args: swap(args),
                    form: form.clone(),
                },
                Clause::Fn {
                    name,
                    args,
                    binding,
                    form,
                } => Clause::Fn {
                    name: name.clone(),
                    args: swap(args),
                    binding: binding.clone(),
                    form: form.clone(),
                },
                other => other.clone(),
            })
            .collect(),
    )
}
