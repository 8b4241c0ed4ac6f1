//! Model test for the frontier search of linear recursive rules: on random graphs with
//! cycles, a call with bound arguments (which the frontier search answers) must give the
//! same rows as the same call made unbound and filtered afterwards with the frontier search
//! turned off (`Registry::frontier_search(false)`: the general semi-naive fixpoint), and so
//! must the bound call through magic sets and the unbound call (a whole transitive closure
//! is a frontier search from every node). The rule sets cover transitive closures (answered during
//! the search, bound at either position), several base and step rules, a filter
//! in a step, a constant at a bound position of the recursive call, a bound argument carried
//! unchanged, bound arguments that swap places, a rule body calling a non-recursive rule, and
//! bodies the frontier search does not serve (which must fall back unchanged). Each case
//! runs again with `:next` a reference attribute (`:link`, the same edges), whose closures
//! the walk over entity ids answers; a second property does that on larger graphs, with
//! or without many unrelated edges (with them, the walk reads nodes a level at a time
//! before it scans the whole attribute), entity ids dense or spread apart, and with the
//! seed in a column of the call's one input row (left out of the rows when not read later).

use levin_query::DbQuery;
use std::collections::BTreeSet;

use levin_datalog::Conn;
use levin_edn::read;
use levin_query::{Input, Registry};
use proptest::prelude::*;

/// (rules, arity, bound positions to try).
const CASES: &[(&str, usize, &[&[usize]])] = &[
    (
        "[[(p ?a ?b) [?a :next ?b]] [(p ?a ?b) [?a :next ?c] (p ?c ?b)]]",
        2,
        &[&[0], &[1], &[0, 1]],
    ),
    (
        "[[(p ?a ?b) [?a :next ?b]] [(p ?a ?b) [?a :alt ?b]] \
          [(p ?a ?b) [?a :next ?c] [(< ?a ?c)] (p ?c ?b)] [(p ?a ?b) [?a :alt ?c] (p ?c ?b)]]",
        2,
        &[&[0], &[1]],
    ),
    (
        "[[(p ?a ?b) [?a :next ?b]] [(p ?a ?b) [?a :tag _] (p 3 ?b)]]",
        2,
        &[&[0]],
    ),
    (
        "[[(p ?a ?k ?b) [?a :next ?b] [?b :tag ?k]] [(p ?a ?k ?b) [?a :next ?c] (p ?c ?k ?b)]]",
        3,
        &[&[0], &[0, 1], &[1], &[0, 2]],
    ),
    (
        "[[(p ?a ?c ?b) [?a :next ?b] [?c :alt ?b]] [(p ?a ?c ?b) [?a :next ?x] (p ?c ?x ?b)]]",
        3,
        &[&[0, 1], &[0]],
    ),
    (
        "[[(e ?a ?b) [?a :next ?b]] [(e ?a ?b) [?b :alt ?a]] \
          [(p ?a ?b) (e ?a ?b)] [(p ?a ?b) (e ?a ?c) (p ?c ?b)]]",
        2,
        &[&[0]],
    ),
    (
        // A closure whose bound argument is the second.
        "[[(p ?a ?b) [?b :next ?a]] [(p ?a ?b) [?b :next ?t] (p ?a ?t)]]",
        2,
        &[&[1], &[0], &[0, 1]],
    ),
    (
        // A closure walking its attribute backwards (from value to entity).
        "[[(p ?a ?b) [?b :next ?a]] [(p ?a ?b) [?t :next ?a] (p ?t ?b)]]",
        2,
        &[&[0], &[1]],
    ),
    (
        // A closure with a shared variable in both bodies.
        "[[(p ?a ?b) [?a :next ?b] [?a :tag ?k] [?b :tag ?k]] \
          [(p ?a ?b) [?a :next ?c] [?a :tag ?k] [?c :tag ?k] (p ?c ?b)]]",
        2,
        &[&[0], &[1]],
    ),
    (
        // Looks like a closure but the base's ?c is another variable than the step's.
        "[[(p ?a ?b) [?a :next ?b] [?c :tag 1]] [(p ?a ?b) [?a :next ?c] [?c :tag 1] (p ?c ?b)]]",
        2,
        &[&[0]],
    ),
    (
        // Left-recursive: not the frontier search's shape.
        "[[(p ?a ?b) [?a :next ?b]] [(p ?a ?b) (p ?a ?c) [?c :next ?b]]]",
        2,
        &[&[0], &[1]],
    ),
    (
        // The free argument is used in the step body: not the frontier search's shape.
        "[[(p ?a ?b) [?a :next ?b]] [(p ?a ?b) [?a :next ?c] [?b :tag _] (p ?c ?b)]]",
        2,
        &[&[0]],
    ),
];

/// The rows of `q`, with the frontier search allowed or not.
fn run(conn: &Conn, q: &str, rules: &str, frontier: bool) -> BTreeSet<Vec<i64>> {
    let db = conn.db().expect("db");
    let reg = Registry::new().frontier_search(frontier);
    let r = db
        .q_with(q, &[Input::Value(read(rules).expect("rules"))], &reg)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    r.rows
        .iter()
        .map(|row| row.iter().map(|v| v.as_long().expect("long")).collect())
        .collect()
}

/// The bound call (constants `vals` at `bound`) and the same call unbound, filtered.
fn queries(arity: usize, bound: &[usize], vals: &[i64]) -> (String, String) {
    let vars: Vec<String> = (0..arity).map(|i| format!("?v{i}")).collect();
    let mut call = vec![];
    let mut filters = vec![];
    for (i, var) in vars.iter().enumerate() {
        match bound.iter().position(|&b| b == i) {
            Some(k) => {
                call.push(vals[k].to_string());
                filters.push(format!("[(= {var} {})]", vals[k]));
            }
            None => call.push(var.clone()),
        }
    }
    let find: Vec<&String> = (0..arity)
        .filter(|i| !bound.contains(i))
        .map(|i| &vars[i])
        .collect();
    let find = if find.is_empty() {
        "?ok".to_string()
    } else {
        find.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let ok = if find == "?ok" {
        " [(ground 1) ?ok]"
    } else {
        ""
    };
    let bound_q = format!("[:find {find} :in $ % :where (p {}){ok}]", call.join(" "));
    let free_q = format!(
        "[:find {find} :in $ % :where (p {}) {}{ok}]",
        vars.join(" "),
        filters.join(" ")
    );
    (bound_q, free_q)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn bound_call_matches_filtered_fixpoint(
        next in proptest::collection::btree_set((1i64..8, 1i64..8), 0..18),
        alt in proptest::collection::btree_set((1i64..8, 1i64..8), 0..6),
        tags in proptest::collection::btree_set((1i64..8, 1i64..4), 0..6),
        vals in proptest::collection::vec(1i64..8, 3),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Conn::open(
            dir.path(),
            "{:next {:db/cardinality :db.cardinality/many}
              :link {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
              :alt {:db/cardinality :db.cardinality/many}
              :tag {:db/cardinality :db.cardinality/many}}",
        )
        .expect("open");
        let mut tx = vec![];
        for (a, b) in &next {
            tx.push(format!("[:db/add {a} :next {b}]"));
            tx.push(format!("[:db/add {a} :link {b}]"));
        }
        for (a, b) in &alt {
            tx.push(format!("[:db/add {a} :alt {b}]"));
        }
        for (a, k) in &tags {
            tx.push(format!("[:db/add {a} :tag {k}]"));
        }
        if !tx.is_empty() {
            conn.transact(&read(&format!("[{}]", tx.join(" "))).expect("tx"))
                .expect("transact");
        }
        let linked: Vec<(String, usize, &[&[usize]])> = CASES
            .iter()
            .map(|(r, a, m)| (r.replace(":next", ":link"), *a, *m))
            .collect();
        let all = CASES.iter().map(|(r, a, m)| (r.to_string(), *a, *m)).chain(linked);
        for (rules, arity, masks) in all {
            let (rules, arity) = (rules.as_str(), &arity);
            for bound in masks.iter() {
                let (bq, fq) = queries(*arity, bound, &vals);
                let want = run(&conn, &fq, rules, false);
                for (q, frontier) in [(&bq, true), (&bq, false), (&fq, true)] {
                    prop_assert_eq!(
                        &run(&conn, q, rules, frontier), &want,
                        "{} (frontier {}) vs {} with {}", q, frontier, fq, rules
                    );
                }
            }
        }
        // Seeds bound by an earlier clause, several at once, with a repeated variable.
        for rules in [CASES[0].0.to_string(), CASES[0].0.replace(":next", ":link")] {
        let rules = rules.as_str();
        let bq = "[:find ?x ?y :in $ % :where [?x :tag _] (p ?x ?y)]";
        let fq = "[:find ?x ?y :in $ % :where (p ?z ?y) [?x :tag _] [(= ?z ?x)]]";
        prop_assert_eq!(run(&conn, bq, rules, true), run(&conn, fq, rules, false));
        let bq = "[:find ?x :in $ % :where [?x :tag _] (p ?x ?x)]";
        let fq = "[:find ?x :in $ % :where (p ?x ?y) [?x :tag _] [(= ?x ?y)]]";
        prop_assert_eq!(run(&conn, bq, rules, true), run(&conn, fq, rules, false));
        }
        // Whole closures, unbound, in either direction.
        for rules in [CASES[0].0, CASES[6].0, CASES[7].0, CASES[8].0, CASES[9].0] {
            for rules in [rules.to_string(), rules.replace(":next", ":link")] {
                let q = "[:find ?x ?y :in $ % :where (p ?x ?y)]";
                prop_assert_eq!(run(&conn, q, &rules, true), run(&conn, q, &rules, false), "{}", rules);
            }
        }
    }

    #[test]
    fn id_walk_matches_fixpoint_on_larger_graphs(
        link in proptest::collection::btree_set((1u64..70, 1u64..70), 0..160),
        spread in any::<bool>(),
        bulk in any::<bool>(),
        seeds in proptest::collection::vec(1u64..70, 1..4),
    ) {
        // Entity ids far apart leave the walk no table indexed by id.
        let eid = |n: u64| if spread { n * 100_003 } else { n };
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Conn::open(
            dir.path(),
            "{:link {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
              :tag {:db/cardinality :db.cardinality/one}}",
        )
        .expect("open");
        let mut tx = vec![];
        for (a, b) in &link {
            tx.push(format!("[:db/add {} :link {}]", eid(*a), eid(*b)));
        }
        for s in &seeds {
            tx.push(format!("[:db/add {} :tag 1]", eid(*s)));
        }
        // Separate edges elsewhere make the attribute big enough for the walk to read
        // nodes one by one before it scans the whole attribute.
        if bulk {
            for i in 0..700 {
                tx.push(format!("[:db/add {} :link {}]", eid(100 + 2 * i), eid(101 + 2 * i)));
            }
        }
        conn.transact(&read(&format!("[{}]", tx.join(" "))).expect("tx"))
            .expect("transact");
        let forward = "[[(p ?a ?b) [?a :link ?b]] [(p ?a ?b) [?a :link ?c] (p ?c ?b)]]";
        let backward = "[[(p ?a ?b) [?b :link ?a]] [(p ?a ?b) [?t :link ?a] (p ?t ?b)]]";
        for rules in [forward, backward] {
            let s = eid(seeds[0]);
            for (bq, fq) in [
                (
                    format!("[:find ?y :in $ % :where (p {s} ?y)]"),
                    format!("[:find ?y :in $ % :where (p ?x ?y) [(= ?x {s})]]"),
                ),
                (
                    format!("[:find ?x :in $ % :where (p ?x {s})]"),
                    format!("[:find ?x :in $ % :where (p ?x ?y) [(= ?y {s})]]"),
                ),
                (
                    "[:find ?x ?y :in $ % :where [?x :tag 1] (p ?x ?y)]".to_string(),
                    "[:find ?x ?y :in $ % :where (p ?z ?y) [?x :tag 1] [(= ?z ?x)]]".to_string(),
                ),
                (
                    "[:find ?x ?y :in $ % :where (p ?x ?y)]".to_string(),
                    "[:find ?x ?y :in $ % :where (p ?x ?y)]".to_string(),
                ),
                // The seed in a column of the one row the call extends: left out of the
                // rows when nothing reads it later, kept when the find or a clause does.
                (
                    format!("[:find ?y :in $ % :where [(ground {s}) ?x] (p ?x ?y)]"),
                    format!("[:find ?y :in $ % :where (p ?x ?y) [(= ?x {s})]]"),
                ),
                (
                    format!("[:find ?x ?y :in $ % :where [(ground {s}) ?x] (p ?x ?y)]"),
                    format!("[:find ?x ?y :in $ % :where (p ?x ?y) [(= ?x {s})]]"),
                ),
                (
                    format!("[:find ?y :in $ % :where [(ground {s}) ?x] (p ?x ?y) [?x :tag _]]"),
                    format!("[:find ?y :in $ % :where (p ?x ?y) [(= ?x {s})] [?x :tag _]]"),
                ),
            ] {
                prop_assert_eq!(
                    run(&conn, &bq, rules, true), run(&conn, &fq, rules, false),
                    "{} vs {} with {}", bq, fq, rules
                );
            }
        }
    }
}
