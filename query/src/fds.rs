//! Functional dependencies between the variables of a `:where` evaluation, learnt from
//! the patterns applied so far: they let a projection skip deduplication when every column
//! it drops is fixed by a column it keeps (distinct rows then stay distinct).

use levin_datalog::Db;
use levin_edn::Edn;

use crate::ast::{Pattern, Term, Var};

/// Pairs (dependent, determinant): in every row built since they were learnt, rows with
/// equal determinant values have equal dependent values. Rows are only filtered and
/// extended afterwards, so a dependency, once true, stays true.
#[derive(Debug, Default)]
pub struct Deps(Vec<(Var, Var)>);

impl Deps {
    /// Learns what pattern `p` implies, given the variables `before` it bound (a variable
    /// bound earlier may hold a non-canonical form of an entity, e.g. a lookup ref, so only
    /// a newly bound variable is recorded as a dependent):
    /// - a cardinality-one attribute: the value is fixed by the entity;
    /// - a unique attribute: the entity is fixed by the value.
    pub fn learn(&mut self, db: &Db, p: &Pattern, bound_before: impl Fn(&Var) -> bool) {
        let (Term::Var(e), Term::Const(Edn::Keyword(k)), Term::Var(v)) = (&p.e, &p.a, &p.v) else {
            return;
        };
        if e == v || p.terms.len() > 3 {
            return;
        }
        let Some(attr) = db.schema().get(k) else {
            return;
        };
        if !attr.is_many() && !bound_before(v) {
            self.0.push((v.clone(), e.clone()));
        }
        if attr.unique.is_some() && !bound_before(e) {
            self.0.push((e.clone(), v.clone()));
        }
    }

    /// Whether every variable of `dropped` is fixed by the variables of `kept` (directly or
    /// through a chain of dependencies).
    pub fn fixed_by(&self, kept: &[Var], dropped: &[Var]) -> bool {
        if dropped.is_empty() {
            return true;
        }
        if self.0.is_empty() {
            return false;
        }
        let mut known: Vec<&Var> = kept.iter().collect();
        loop {
            let before = known.len();
            for (dep, det) in &self.0 {
                if known.contains(&det) && !known.contains(&dep) {
                    known.push(dep);
                }
            }
            if known.len() == before {
                break;
            }
        }
        dropped.iter().all(|d| known.contains(&d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &[(&str, &str)]) -> Deps {
        Deps(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn closure_follows_chains_only_from_kept_variables() {
        let d = deps(&[("?p", "?l"), ("?pr", "?p"), ("?c", "?o")]);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(d.fixed_by(&s(&["?l"]), &s(&["?p", "?pr"])));
        assert!(!d.fixed_by(&s(&["?p"]), &s(&["?l"])));
        assert!(!d.fixed_by(&s(&["?l"]), &s(&["?p", "?c"])));
        assert!(d.fixed_by(&s(&["?x"]), &[]));
        assert!(!Deps::default().fixed_by(&s(&["?l"]), &s(&["?p"])));
    }
}
