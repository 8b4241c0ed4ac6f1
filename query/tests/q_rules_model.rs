//! Model test for recursive rules: reachability over random `:next` graphs, written as right-,
//! left- and doubly-recursive rules, called with a constant, with a variable bound by an
//! earlier clause, with a repeated bound variable, and unbound, must equal the transitive
//! closure computed directly. Bound calls go through the magic-set rewrite; unbound ones
//! through the whole-component fixpoint.

use levin_query::DbQuery;
use std::collections::BTreeSet;

use levin_datalog::Conn;
use levin_edn::read;
use levin_query::Input;
use proptest::prelude::*;

const RULES: [&str; 3] = [
    "[[(reach ?a ?b) [?a :next ?b]] [(reach ?a ?b) [?a :next ?c] (reach ?c ?b)]]",
    "[[(reach ?a ?b) [?a :next ?b]] [(reach ?a ?b) (reach ?a ?c) [?c :next ?b]]]",
    "[[(reach ?a ?b) [?a :next ?b]] [(reach ?a ?b) (reach ?a ?c) (reach ?c ?b)]]",
];

fn closure(edges: &BTreeSet<(i64, i64)>) -> BTreeSet<(i64, i64)> {
    let mut t = edges.clone();
    loop {
        let mut add = vec![];
        for &(a, b) in &t {
            for &(c, d) in edges {
                if b == c && !t.contains(&(a, d)) {
                    add.push((a, d));
                }
            }
        }
        if add.is_empty() {
            return t;
        }
        t.extend(add);
    }
}

fn rows(conn: &Conn, q: &str, rules: &str) -> BTreeSet<Vec<i64>> {
    let db = conn.db().expect("db");
    let r = db
        .q(q, &[Input::Value(read(rules).expect("rules"))])
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    r.rows
        .iter()
        .map(|row| row.iter().map(|v| v.as_long().expect("long")).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn reach_matches_closure(
        edges in proptest::collection::btree_set((1i64..9, 1i64..9), 0..16),
        tagged in proptest::collection::btree_set(1i64..9, 0..4),
        k in 1i64..9,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Conn::open(dir.path(), "{:next {:db/cardinality :db.cardinality/many}}")
            .expect("open");
        let mut tx = vec![];
        for (a, b) in &edges {
            tx.push(format!("[:db/add {a} :next {b}]"));
        }
        for t in &tagged {
            tx.push(format!("[:db/add {t} :tag \"s\"]"));
        }
        if !tx.is_empty() {
            conn.transact(&read(&format!("[{}]", tx.join(" "))).expect("tx"))
                .expect("transact");
        }
        let t = closure(&edges);
        let from_k: BTreeSet<Vec<i64>> =
            t.iter().filter(|p| p.0 == k).map(|p| vec![p.1]).collect();
        let to_k: BTreeSet<Vec<i64>> =
            t.iter().filter(|p| p.1 == k).map(|p| vec![p.0]).collect();
        let from_tagged: BTreeSet<Vec<i64>> = t
            .iter()
            .filter(|p| tagged.contains(&p.0))
            .map(|p| vec![p.0, p.1])
            .collect();
        let cyclic: BTreeSet<Vec<i64>> =
            t.iter().filter(|p| p.0 == p.1).map(|p| vec![p.0]).collect();
        let all: BTreeSet<Vec<i64>> = t.iter().map(|p| vec![p.0, p.1]).collect();
        for rules in RULES {
            let q = format!("[:find ?y :in $ % :where (reach {k} ?y)]");
            prop_assert_eq!(&rows(&conn, &q, rules), &from_k, "{} {}", q, rules);
            let q = format!("[:find ?x :in $ % :where (reach ?x {k})]");
            prop_assert_eq!(&rows(&conn, &q, rules), &to_k, "{} {}", q, rules);
            let q = "[:find ?x ?y :in $ % :where [?x :tag \"s\"] (reach ?x ?y)]";
            prop_assert_eq!(&rows(&conn, q, rules), &from_tagged, "{} {}", q, rules);
            let q = "[:find ?x :in $ % :where [?x :next] (reach ?x ?x)]";
            prop_assert_eq!(&rows(&conn, q, rules), &cyclic, "{} {}", q, rules);
            let q = "[:find ?x ?y :in $ % :where (reach ?x ?y)]";
            prop_assert_eq!(&rows(&conn, q, rules), &all, "{} {}", q, rules);
        }
    }
}
