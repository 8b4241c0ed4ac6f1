//! Model-based check of `Db::entities_with_each` (the AVE lookups of many values with one
//! cursor, as the query engine's join through an attribute value does): for random data and
//! random lists of values (repeated, absent, nil, of the wrong type, lookup refs), it gives
//! for each value exactly what `Db::entities_with` gives for it alone.

use levin_datalog::Conn;
use levin_edn::{read, Edn, Keyword};
use proptest::prelude::*;

const SCHEMA: &str = "{:email {:db/unique :db.unique/identity}
                       :owner {:db/valueType :db.type/ref}
                       :tag {:db/cardinality :db.cardinality/many}
                       :n {:db/valueType :db.type/long}}";

/// One datom: entity 1..=40, an attribute, a small value.
fn datom() -> impl Strategy<Value = (i64, usize, i64)> {
    (1i64..=40, 0usize..4, 0i64..45)
}

fn form((e, a, v): (i64, usize, i64)) -> String {
    match a {
        0 => format!("[:db/add {e} :email \"e{e}\"]"),
        1 => format!("[:db/add {e} :owner {}]", v % 41 + 1),
        2 => format!("[:db/add {e} :tag \"t{}\"]", v % 6),
        _ => format!("[:db/add {e} :n {}]", v % 7),
    }
}

/// A value to look up for attribute `a`: mostly plausible ones, some of the wrong type.
fn value(a: usize, k: u8, n: i64) -> Edn {
    let text = match (a, k % 5) {
        (_, 0) => "nil".to_string(),
        (_, 1) => format!("\"e{n}\""),
        (1, 2) => format!("[:email \"e{n}\"]"),
        (2, _) => format!("\"t{}\"", n % 8),
        (_, 3) => format!("{}", n % 9),
        _ => format!("{n}"),
    };
    read(&text).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn entities_with_each_matches_entities_with(
        datoms in prop::collection::vec(datom(), 0..120),
        a in 0usize..4,
        probes in prop::collection::vec((any::<u8>(), 0i64..50), 0..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let c = Conn::open(dir.path(), SCHEMA).unwrap();
        for d in &datoms {
            let _ = c.transact_str(&format!("[{}]", form(*d)));
        }
        let db = c.db().unwrap();
        let name = ["email", "owner", "tag", "n"][a];
        let attr = db.schema().get(&Keyword::new(None, name)).unwrap().clone();
        let values: Vec<Edn> = probes.iter().map(|&(k, n)| value(a, k, n)).collect();
        let refs: Vec<&Edn> = values.iter().collect();
        let each = db.entities_with_each(&attr, &refs);
        let alone: Result<Vec<Vec<u64>>, _> = values
            .iter()
            .map(|v| if v.is_nil() { Ok(vec![]) } else { db.entities_with(&attr, v) })
            .collect();
        match (each, alone) {
            (Ok(got), Ok(want)) => prop_assert_eq!(got, want),
            (Err(_), Err(_)) => {}
            (got, want) => prop_assert!(false, "each {:?} but alone {:?}", got, want),
        }
    }
}
