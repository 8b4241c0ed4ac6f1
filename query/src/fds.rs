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
pub struct Deps {
    pairs: Vec<(Var, Var)>,
    /// Variables that hold only entity ids: first bound in the entity position of a
    /// database pattern, or in the value position of a reference attribute. Two of their
    /// values name the same entity exactly when they are equal (no lookup refs or idents).
    ids: Vec<Var>,
}

impl Deps {
    /// Learns what pattern `p` implies, given the variables `before` it bound (a variable
    /// bound earlier may hold a non-canonical form of an entity, e.g. a lookup ref, so it
    /// is recorded as a dependent only when it holds entity ids and the attribute is a
    /// reference one, whose stored values are entity ids):
    /// - a cardinality-one attribute: the value is fixed by the entity;
    /// - a unique attribute: the entity is fixed by the value.
    pub fn learn(&mut self, db: &Db, p: &Pattern, bound_before: impl Fn(&Var) -> bool) {
        if p.terms.len() > 3 {
            return;
        }
        let attr = match &p.a {
            Term::Const(Edn::Keyword(k)) => db.schema().get(k),
            _ => None,
        };
        let is_ref = attr.is_some_and(|a| a.value_type == Some(levin_datalog::AttrType::Ref));
        if let (Term::Var(e), Term::Var(v), Some(attr)) = (&p.e, &p.v, attr) {
            if e != v {
                if !attr.is_many() && (!bound_before(v) || (is_ref && self.ids.contains(v))) {
                    self.pairs.push((v.clone(), e.clone()));
                }
                if attr.unique.is_some() && (!bound_before(e) || self.ids.contains(e)) {
                    self.pairs.push((e.clone(), v.clone()));
                }
            }
        }
        if let Some(e) = p.e.var().filter(|x| !bound_before(x)) {
            self.mark(e);
        }
        if let Some(v) = p.v.var().filter(|x| is_ref && !bound_before(x)) {
            self.mark(v);
        }
    }

    fn mark(&mut self, x: &Var) {
        if !self.ids.contains(x) {
            self.ids.push(x.clone());
        }
    }

    /// Whether every variable of `dropped` is fixed by the variables of `kept` (directly or
    /// through a chain of dependencies).
    pub fn fixed_by(&self, kept: &[Var], dropped: &[Var]) -> bool {
        if dropped.is_empty() {
            return true;
        }
        if self.pairs.is_empty() {
            return false;
        }
        let mut known: Vec<&Var> = kept.iter().collect();
        loop {
            let before = known.len();
            for (dep, det) in &self.pairs {
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
        Deps {
            pairs: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ids: vec![],
        }
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
