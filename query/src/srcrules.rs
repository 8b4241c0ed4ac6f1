//! Source-prefixed rule calls: `($2 rule ?x)` runs `rule` with `$2` as its default source.
//! Each such call becomes a call of `rule@$2`, a copy of the rule whose clauses read `$2`
//! where they read `$` (rules it calls get copies too), so the rule engine sees ordinary
//! rules.

use rustc_hash::FxHashMap as HashMap;

use levin_edn::Edn;

use crate::ast::{Clause, Rule};
use crate::parse::set_default_src;

/// The source prefix of a rule call as written, other than `$`.
fn prefix(form: &Edn) -> Option<String> {
    let s = form.as_list()?.first()?.as_symbol()?;
    (s.namespace().is_none() && s.name().starts_with('$') && s.name() != "$")
        .then(|| s.name().to_owned())
}

/// Renames `($src rule ...)` calls in `clauses` (and, with `default` set, every unprefixed
/// call: the clauses are a copy's) to the copies they need, which are added to `rules`.
/// Returns whether anything changed.
fn rewrite(
    clauses: &mut [Clause],
    default: Option<&str>,
    rules: &mut HashMap<String, Vec<Rule>>,
) -> bool {
    let mut changed = false;
    for c in clauses {
        match c {
            Clause::RuleCall { name, form, .. } => {
                let src = prefix(form).or_else(|| default.map(str::to_string));
                if let Some(src) = src {
                    if rules.contains_key(name.as_str()) {
                        *name = copy(name, &src, rules);
                        changed = true;
                    }
                }
            }
            Clause::Not { body, .. } => changed |= rewrite(body, default, rules),
            Clause::Or { branches, .. } => {
                for b in branches {
                    changed |= rewrite(b, default, rules);
                }
            }
            _ => {}
        }
    }
    changed
}

/// The name of `rule`'s copy reading `src`, made (with the copies it calls) if needed.
fn copy(rule: &str, src: &str, rules: &mut HashMap<String, Vec<Rule>>) -> String {
    let name = format!("{rule}@{src}");
    if rules.contains_key(&name) {
        return name;
    }
    let mut copies = rules.get(rule).cloned().unwrap_or_default();
    // Registered before the bodies are rewritten: a recursive rule calls this copy.
    rules.insert(name.clone(), vec![]);
    for r in &mut copies {
        r.name = name.clone();
        for c in &mut r.body {
            set_default_src(c, src);
        }
        rewrite(&mut r.body, Some(src), rules);
    }
    rules.insert(name.clone(), copies);
    name
}

/// Whether any rule call in `clauses` has a source prefix.
fn any_prefixed(clauses: &[Clause]) -> bool {
    clauses.iter().any(|c| match c {
        Clause::RuleCall { form, .. } => prefix(form).is_some(),
        Clause::Not { body, .. } => any_prefixed(body),
        Clause::Or { branches, .. } => branches.iter().any(|b| any_prefixed(b)),
        _ => false,
    })
}

/// Rewrites the source-prefixed rule calls of `clauses` and of the rules' bodies; `None`
/// when there are none (the common case costs one walk, no copies).
pub fn resolve(clauses: &[Clause], rules: &mut HashMap<String, Vec<Rule>>) -> Option<Vec<Clause>> {
    if !any_prefixed(clauses) && !rules.values().flatten().any(|r| any_prefixed(&r.body)) {
        return None;
    }
    let names: Vec<String> = rules.keys().cloned().collect();
    for n in names {
        if let Some(mut rs) = rules.remove(&n) {
            for r in &mut rs {
                rewrite(&mut r.body, None, rules);
            }
            rules.insert(n, rs);
        }
    }
    let mut out = clauses.to_vec();
    rewrite(&mut out, None, rules).then_some(out)
}
