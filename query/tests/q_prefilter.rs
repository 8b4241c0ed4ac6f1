//! The AVE lookup per value that filters its entities by a later pattern on them (which
//! then needs no step of its own)
//! (`[?o :status :new]` after `[?o :customer ?c]` with `?c` bound to one or two gold
//! customers, the plan's first step): on random data big enough for the pre-filter to run
//! (hundreds of candidates), its answers must equal those
//! of the same filter written so that nothing is pre-filtered (a bound variable and a
//! predicate), for a constant held by few entities, by many, by none, and for a constant
//! of another kind than the attribute's values.

use levin_datalog::Conn;
use levin_edn::read;
use levin_query::DbQuery;
use proptest::prelude::*;
use std::collections::BTreeSet;

const SCHEMA: &str = "{:o/customer {:db/valueType :db.type/ref}
                       :o/status {:db/valueType :db.type/keyword}
                       :o/n {}
                       :c/tier {:db/valueType :db.type/keyword}}";

fn rows(conn: &Conn, q: &str) -> BTreeSet<String> {
    let db = conn.db().expect("db");
    let r = db.q(q, &[]).unwrap_or_else(|e| panic!("{q}: {e}"));
    r.rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn prefiltered_lookups_give_the_filtered_answer(
        orders in prop::collection::vec((0u64..12, 0usize..4, 0i64..3), 1500..2500),
        gold in prop::collection::btree_set(0u64..12, 1..3),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Conn::open(dir.path(), SCHEMA).expect("open");
        let mut tx = String::from("[");
        for c in 0..12u64 {
            let tier = if gold.contains(&c) { ":gold" } else { ":plain" };
            tx.push_str(&format!("{{:db/id {} :c/tier {tier}}}", 1 + c));
        }
        // `:rare` goes to about one order in 50, so it is few next to the candidates.
        let statuses = [":new", ":shipped", ":done", ":rare"];
        for (i, (c, s, n)) in orders.iter().enumerate() {
            let status = if *s == 3 && i % 13 != 0 { ":done" } else { statuses[*s] };
            tx.push_str(&format!(
                "{{:db/id {} :o/customer {} :o/status {status} :o/n {n}}}",
                100 + i,
                1 + c
            ));
        }
        tx.push(']');
        conn.transact(&read(&tx).expect("tx")).expect("transact");
        for constant in [":new", ":rare", ":absent", "\"new\"", "1"] {
            let (attr, var) = if constant == "1" { (":o/n", "?n") } else { (":o/status", "?s") };
            let pre = format!(
                "[:find ?o ?c :where [?c :c/tier :gold] [?o :o/customer ?c] [?o {attr} {constant}]]"
            );
            let post = format!(
                "[:find ?o ?c :where [?c :c/tier :gold] [?o :o/customer ?c] [?o {attr} {var}] [(= {var} {constant})]]"
            );
            prop_assert_eq!(rows(&conn, &pre), rows(&conn, &post), "{}", pre);
        }
    }
}
