//! Magic sets: a call to a recursive rule with some arguments bound is rewritten into rules
//! that derive only the facts the call can need, then evaluated by the ordinary semi-naive
//! fixpoint. The bound values reach the rule bodies, so a recursive rule touches only what
//! is reachable from them, and bodies that need caller-bound variables (a function of an
//! argument, a comparison) can run at all.
//!
//! For a rule `p` called with bound argument positions `α` (its adornment), the rewrite
//! makes `p^α` and a magic relation `m:p^α` of the bound arguments:
//!
//! - each rule `p(h) :- B1 .. Bn` becomes `p^α(h) :- m:p^α(h|α), B1' .. Bn'`, where a call
//!   `q(args)` to a rule of the same recursive component becomes `q^β(args)`, `β` being the
//!   arguments that are constants or variables bound by the head's bound variables or by
//!   the clauses before it (the left-to-right order in which the rule was written);
//! - each such call adds `m:q^β(args|β) :- m:p^α(h|α), B1' .. B(i-1)'`;
//! - the caller's bound values seed `m:p^α` through a base relation.
//!
//! The evaluation order chosen by the planner does not matter for correctness: the
//! rewritten program derives every `p^α` fact the seed can reach, and the caller's join
//! keeps the ones matching its bound values.

use rustc_hash::FxHashMap as HashMap;

use levin_edn::Edn;

use crate::ast::{Binding, Clause, Rule, Term, Var};

/// Prefix of generated names (not a valid symbol, so never a user rule's name).
const GEN: &str = "\u{0}magic:";

/// The rewritten program of one call.
pub struct Rewritten {
    /// Every generated rule, by name.
    pub rules: HashMap<String, Vec<Rule>>,
    /// Their names (evaluated together as one fixpoint).
    pub members: Vec<String>,
    /// The adorned rule whose facts answer the call.
    pub goal: String,
    /// The base relation holding the caller's bound values (one column per bound
    /// argument, in argument order).
    pub seed: String,
}

/// The user's rule name behind a generated one (`m:` relations included).
pub fn source_name(name: &str) -> &str {
    match name.strip_prefix(GEN) {
        Some(rest) => {
            let rest = rest.strip_prefix("m:").unwrap_or(rest);
            let rest = rest.strip_prefix("seed:").unwrap_or(rest);
            rest.rsplit_once('^').map_or(rest, |(n, _)| n)
        }
        None => name,
    }
}

fn adorned(name: &str, mask: &[bool]) -> String {
    let a: String = mask.iter().map(|&b| if b { 'b' } else { 'f' }).collect();
    format!("{GEN}{name}^{a}")
}

fn magic(name: &str, mask: &[bool]) -> String {
    format!("{GEN}m:{}", &adorned(name, mask)[GEN.len()..])
}

fn call_form(name: &str, args: &[Term]) -> Edn {
    let mut v = vec![Edn::sym(name)];
    for t in args {
        v.push(match t {
            Term::Var(x) => Edn::sym(x),
            Term::Blank => Edn::sym("_"),
            Term::Const(c) => c.clone(),
        });
    }
    Edn::List(v)
}

/// Whether `c` calls a member of `scc` anywhere below `or`, `not` or `and`.
fn nested_call(c: &Clause, scc: &[String]) -> bool {
    fn any_call(cs: &[Clause], scc: &[String]) -> bool {
        cs.iter().any(|c| match c {
            Clause::RuleCall { name, .. } => scc.contains(name),
            Clause::Not { body, .. } => any_call(body, scc),
            Clause::Or { branches, .. } => branches.iter().any(|b| any_call(b, scc)),
            _ => false,
        })
    }
    match c {
        Clause::Not { body, .. } => any_call(body, scc),
        Clause::Or { branches, .. } => branches.iter().any(|b| any_call(b, scc)),
        _ => false,
    }
}

/// Variables a clause binds when it runs (patterns, calls and `or` bind all theirs,
/// functions their binding; predicates and `not` none).
fn binds(c: &Clause, out: &mut Vec<Var>) {
    match c {
        Clause::Pattern(_) | Clause::RuleCall { .. } | Clause::Or { .. } => c.vars(out),
        Clause::Fn { binding, .. } => binding_vars(binding, out),
        Clause::Pred { .. } | Clause::Not { .. } => {}
    }
}

fn binding_vars(b: &Binding, out: &mut Vec<Var>) {
    b.vars(out)
}

fn bound_args(args: &[Term], bound: &[Var]) -> Vec<bool> {
    args.iter()
        .map(|t| match t {
            Term::Const(_) => true,
            Term::Var(v) => bound.contains(v),
            Term::Blank => false,
        })
        .collect()
}

fn masked(args: &[Term], mask: &[bool]) -> Vec<Term> {
    args.iter()
        .zip(mask)
        .filter(|(_, &b)| b)
        .map(|(t, _)| t.clone())
        .collect()
}

/// Whether [`rewrite`] gives a program for a call with bound positions `mask` to a member
/// of `scc`, without building it (what the planner's description needs).
pub fn applies(rules: &HashMap<String, Vec<Rule>>, scc: &[String], mask: &[bool]) -> bool {
    mask.iter().any(|&b| b)
        && scc.iter().all(|m| {
            rules.get(m).is_some_and(|rs| {
                rs.iter()
                    .all(|r| !r.body.iter().any(|c| nested_call(c, scc)))
            })
        })
}

/// Rewrites the call of `name` (a member of the recursive component `scc`) with bound
/// argument positions `mask`. `None` when the rewrite does not apply (no argument bound,
/// or a member's body calls the component inside `or`/`not`); the caller then evaluates
/// the whole component.
pub fn rewrite(
    rules: &HashMap<String, Vec<Rule>>,
    scc: &[String],
    name: &str,
    mask: &[bool],
) -> Option<Rewritten> {
    if !applies(rules, scc, mask) {
        return None;
    }
    let seed = format!("{GEN}seed:{}", &adorned(name, mask)[GEN.len()..]);
    let mut out: HashMap<String, Vec<Rule>> = HashMap::default();
    let mut members: Vec<String> = vec![];
    // The seed rule: m:name^mask(x..) :- (seed x..).
    let seed_vars: Vec<Var> = (0..mask.iter().filter(|&&b| b).count())
        .map(|i| format!("?__m{i}"))
        .collect();
    let seed_args: Vec<Term> = seed_vars.iter().cloned().map(Term::Var).collect();
    let m0 = magic(name, mask);
    out.entry(m0.clone()).or_default().push(Rule {
        name: m0.clone(),
        head: seed_vars,
        body: vec![Clause::RuleCall {
            form: call_form(&seed, &seed_args),
            name: seed.clone(),
            args: seed_args,
        }],
    });
    members.push(m0);
    let mut work: Vec<(String, Vec<bool>)> = vec![(name.to_string(), mask.to_vec())];
    let mut done: Vec<(String, Vec<bool>)> = vec![];
    while let Some((p, alpha)) = work.pop() {
        if done.contains(&(p.clone(), alpha.clone())) {
            continue;
        }
        done.push((p.clone(), alpha.clone()));
        let pa = adorned(&p, &alpha);
        let mp = magic(&p, &alpha);
        members.push(pa.clone());
        for r in rules.get(&p)? {
            let head_terms: Vec<Term> = r.head.iter().cloned().map(Term::Var).collect();
            let magic_args = masked(&head_terms, &alpha);
            let magic_call = Clause::RuleCall {
                form: call_form(&mp, &magic_args),
                name: mp.clone(),
                args: magic_args,
            };
            let mut bound: Vec<Var> = r
                .head
                .iter()
                .zip(&alpha)
                .filter(|(_, &b)| b)
                .map(|(v, _)| v.clone())
                .collect();
            let mut body = vec![magic_call];
            for c in &r.body {
                let next = match c {
                    Clause::RuleCall {
                        name: q,
                        args,
                        form,
                    } if scc.contains(q) => {
                        let beta = bound_args(args, &bound);
                        if !done.contains(&(q.clone(), beta.clone()))
                            && !work.contains(&(q.clone(), beta.clone()))
                        {
                            work.push((q.clone(), beta.clone()));
                        }
                        // m:q^β(args|β) :- the body so far.
                        let mq = magic(q, &beta);
                        let margs = masked(args, &beta);
                        let mut head = vec![];
                        let mut mbody = body.clone();
                        for (i, t) in margs.iter().enumerate() {
                            match t {
                                Term::Var(v) if !head.contains(v) => head.push(v.clone()),
                                other => {
                                    // A constant or a repeated variable: bind a fresh head
                                    // variable to it.
                                    let fresh = format!("?__c{i}");
                                    mbody.push(Clause::Fn {
                                        name: "identity".into(),
                                        args: vec![other.clone()],
                                        binding: Binding::Scalar(fresh.clone()),
                                        form: form.clone(),
                                    });
                                    head.push(fresh);
                                }
                            }
                        }
                        if !members.contains(&mq) && !out.contains_key(&mq) {
                            members.push(mq.clone());
                        }
                        out.entry(mq.clone()).or_default().push(Rule {
                            name: mq,
                            head,
                            body: mbody,
                        });
                        let qa = adorned(q, &beta);
                        Clause::RuleCall {
                            form: call_form(&qa, args),
                            name: qa,
                            args: args.clone(),
                        }
                    }
                    other => other.clone(),
                };
                binds(&next, &mut bound);
                body.push(next);
            }
            out.entry(pa.clone()).or_default().push(Rule {
                name: pa.clone(),
                head: r.head.clone(),
                body,
            });
        }
    }
    members.sort();
    members.dedup();
    Some(Rewritten {
        rules: out,
        members,
        goal: adorned(name, mask),
        seed,
    })
}
