//! Model-based checks of `search_datoms`, `cardinality` and `re_index` over random data:
//! `search_datoms(e, a, v)` equals filtering every datom, `cardinality` equals counting
//! distinct values, and `re_index` without a schema change keeps every datom and index.

use std::collections::BTreeSet;

use levin_datalog::{attr, Conn, Db, Index};
use levin_edn::{read, Edn};
use proptest::prelude::*;

const SCHEMA: &str = "{:name {:db/unique :db.unique/identity}
                       :tag {:db/cardinality :db.cardinality/many}
                       :n {:db/valueType :db.type/long}
                       :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                       :big {:db/valueType :db.type/string}}";

/// One datom to assert: entity 1..=6, an attribute, a small value.
fn datom() -> impl Strategy<Value = (i64, usize, i64)> {
    (1i64..=6, 0usize..5, 0i64..4)
}

fn form((e, a, v): (i64, usize, i64)) -> String {
    match a {
        0 => format!("[:db/add {e} :name \"n{e}-{v}\"]"),
        1 => format!("[:db/add {e} :tag \"t{v}\"]"),
        2 => format!("[:db/add {e} :n {v}]"),
        3 => format!("[:db/add {e} :friend {}]", v + 1),
        // Values past the giant limit for some, to cover the giants store.
        _ => format!(
            "[:db/add {e} :big \"{}\"]",
            "x".repeat(1500 * v as usize + 1)
        ),
    }
}

fn all(db: &Db<'_>) -> Vec<String> {
    db.datoms(Index::Eav, &[])
        .unwrap()
        .map(|d| d.unwrap().to_edn().to_string())
        .collect()
}

/// The AVE datoms, sorted: giants with a common prefix sort by their giant id, which a
/// rebuild assigns afresh, so only the set is kept.
fn ave(db: &Db<'_>) -> Vec<String> {
    ["name", "tag", "n", "friend", "big"]
        .iter()
        .flat_map(|a| {
            db.datoms(Index::Ave, &[Edn::Keyword(attr(a))])
                .unwrap()
                .map(|d| d.unwrap().to_edn().to_string())
                .collect::<Vec<_>>()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn setup(datoms: &[(i64, usize, i64)]) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let c = Conn::open(dir.path(), SCHEMA).unwrap();
    // Entities 1..=7 exist so refs resolve; each datom in its own transaction so a
    // unique clash only drops that datom.
    let seed: String = (1..=7).map(|e| format!("[:db/add {e} :n 0]")).collect();
    c.transact_str(&format!("[{seed}]")).unwrap();
    for d in datoms {
        let _ = c.transact_str(&format!("[{}]", form(*d)));
    }
    (dir, c)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn search_datoms_matches_a_filter(datoms in prop::collection::vec(datom(), 0..30),
                                      e in prop::option::of(1i64..=8),
                                      a in prop::option::of(0usize..5),
                                      v in prop::option::of(0i64..4)) {
        let (_d, c) = setup(&datoms);
        let db = c.db().unwrap();
        let names = ["name", "tag", "n", "friend", "big"];
        let a_kw = a.map(|i| Edn::Keyword(attr(names[i])));
        // A value of the chosen attribute's kind (or a long when no attribute is chosen).
        let v_edn = v.map(|v| match a {
            Some(0) => read(&format!("\"n{}-{v}\"", e.unwrap_or(1))).unwrap(),
            Some(1) => Edn::string(format!("t{v}")),
            Some(3) => Edn::Long(v + 1),
            Some(4) => Edn::string("x".repeat(1500 * v as usize + 1)),
            _ => Edn::Long(v),
        });
        let got: BTreeSet<String> = db
            .search_datoms(e.map(Edn::Long).as_ref(), a_kw.as_ref(), v_edn.as_ref())
            .unwrap()
            .map(|d| d.unwrap().to_edn().to_string())
            .collect();
        let want: BTreeSet<String> = db
            .datoms(Index::Eav, &[])
            .unwrap()
            .map(|d| d.unwrap())
            .filter(|d| e.is_none_or(|e| d.e == e as u64))
            .filter(|d| a_kw.as_ref().is_none_or(|a| Edn::Keyword(d.a.clone()) == *a))
            .filter(|d| v_edn.as_ref().is_none_or(|v| d.v == *v))
            .map(|d| d.to_edn().to_string())
            .collect();
        prop_assert_eq!(got, want);
        for (i, n) in names.iter().enumerate() {
            let distinct: BTreeSet<String> = db
                .datoms(Index::Eav, &[])
                .unwrap()
                .map(|d| d.unwrap())
                .filter(|d| d.a.name() == names[i])
                .map(|d| d.v.to_string())
                .collect();
            prop_assert_eq!(db.cardinality(&attr(n)).unwrap(), distinct.len() as u64);
        }
    }

    #[test]
    fn re_index_keeps_every_datom(datoms in prop::collection::vec(datom(), 0..30)) {
        let (_d, c) = setup(&datoms);
        let (eav, ave_before, max) = {
            let db = c.db().unwrap();
            (all(&db), ave(&db), db.max_eid())
        };
        c.re_index(()).unwrap();
        let db = c.db().unwrap();
        prop_assert_eq!(all(&db), eav);
        prop_assert_eq!(ave(&db), ave_before);
        prop_assert_eq!(db.max_eid(), max);
        prop_assert!(levin_datalog::check::check(c.env()).unwrap().is_empty());
    }
}
