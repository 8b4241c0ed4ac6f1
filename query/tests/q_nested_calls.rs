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
