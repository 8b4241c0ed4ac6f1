//! Nested calls as arguments inside `or` and `not` bodies: Datalevin refuses these ("Join
//! variables should not be empty"); Levin runs them like any other nested call.
mod q_support;

use levin_edn::read;
use levin_query::{q_with, Input};

#[test]
fn nested_calls_inside_or_and_not() {
    let (_d, conn) = q_support::db_with(
        None,
        Some(
            &read(
                r#"[{:db/id 1 :age 15} {:db/id 2 :age 22} {:db/id 3 :age 37} {:db/id 6 :age 40}]"#,
            )
            .unwrap(),
        ),
    );
    let db = conn.db().unwrap();
    let reg = q_support::registry();
    for (q, want) in [
        (
            "[:find ?e :where [?e :age ?a] (or [(> (inc ?a) 39)] [(< (dec ?a) 15)])]",
            "#{[1] [6]}",
        ),
        (
            "[:find ?e :where [?e :age ?a] (or [(> (inc ?a) 39)] (and [(< ?a 30)] [(odd? (inc ?a))]))]",
            "#{[2] [6]}",
        ),
        (
            "[:find ?e :where [?e :age ?a] (not [(< (* ?a 2) 70)])]",
            "#{[3] [6]}",
        ),
    ] {
        let r = q_with(q, &[Input::Db(&db)], &reg).unwrap();
        assert_eq!(r.to_edn(), read(want).unwrap(), "{q}");
    }
}

#[test]
fn malformed_new_forms_are_errors_not_panics() {
    let (_d, conn) = q_support::db_with(
        None,
        Some(&read(r#"[{:db/id 1 :age 15 :name "Ivan"}]"#).unwrap()),
    );
    let db = conn.db().unwrap();
    let reg = q_support::registry();
    for q in [
        "[:find (+) :where [?e :age ?a]]",
        "[:find (aggregate) :where [?e :age ?a]]",
        "[:find (aggregate ?f) :in $ ?f :where [?e :age ?a]]",
        "[:find ?e (count ?a) :where [?e :age ?a] :having [[]]]",
        "[:find ?e (count ?a) :where [?e :age ?a] :having [(> (count ?a))]]",
        "[:find ?e (count ?a) :where [?e :age ?a] :having [(> (+) 1)]]",
        "[:find ?x :where [?e :age ?a] [(q) ?x]]",
        "[:find ?x :where [?e :age ?a] [(q 1 $) ?x]]",
        "[:find ?x :where [?e :age ?a] [(q [:find ?y :where [?y :age]] $9) ?x]]",
        "[:find ?x :where [?e :age ?a] [(apply) ?x]]",
        "[:find ?x :where [?e :age ?a] [(apply +) ?x]]",
        "[:find ?x :where [?e :age ?a] [(apply + 1) ?x]]",
        "[:find ?x :where [?e :age ?a] [(complement 1) ?x]]",
        "[:find ?x :where [?e :age ?a] [(range 1 2 3 4) ?x]]",
        "[:find ?x :where [?e :age ?a] [(range 0 1e300 1e-300) ?x]]",
        "[:find ?x :where [?e :age ?a] [(range 0 ##Inf) ?x]]",
        "[:find ?x :where [?e :age ?a] [(range 0 ##NaN) ?x]]",
        "[:find ?x :where [?e :name ?n] [(clojure.string/split ?n \"\") ?x]]",
        "[:find ?x :where [?e :name ?n] [(clojure.string/index-of ?n \"v\" 99) ?x]]",
        "[:find ?x :where [?e :name ?n] [(clojure.string/last-index-of ?n \"v\" -5) ?x]]",
        "[:find ?x :where [?e :name ?n] [(clojure.string/last-index-of \"ééé\" \"é\" 1) ?x]]",
        "[:find ?x :where [?e :name ?n] [(clojure.string/replace ?n 1 2) ?x]]",
        "[:find ?x :where [?e :name ?n] [(clojure.string/escape ?n 1) ?x]]",
        "[:find ?x :where [?e :name ?n] [(type) ?x]]",
        "[:find ?x :where [?e :name ?n] [(pr-str (range 3) (re-pattern \"a\")) ?x]]",
        "[:find ?x :in $ $2 % :where ($2 r ?x)]",
        "[:find ?x :in $ % :where ($2 r ?x)]",
    ] {
        let inputs: Vec<Input> = match q {
            q if q.contains("$2 %") => vec![
                Input::Db(&db),
                Input::Value(read("[[1] [2]]").unwrap()),
                Input::Value(read("[[(r ?x) [?x]]]").unwrap()),
            ],
            q if q.contains("$ %") => vec![
                Input::Db(&db),
                Input::Value(read("[[(r ?x) [?x :age]]]").unwrap()),
            ],
            q if q.contains("?f") => vec![Input::Db(&db), Input::Value(read("1").unwrap())],
            _ => vec![Input::Db(&db)],
        };
        // Either answer is fine; neither may panic.
        let _ = q_with(q, &inputs, &reg);
    }
}
