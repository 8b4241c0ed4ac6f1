//! The id-only reads (`Db::scan_id_pairs`, `Db::id_values_of_each`) against the general ones
//! (`scan_attr`, `attr_values`) on random graphs, with long attributes that hold
//! non-positive values too.

use levin_datalog::{Conn, Db, Error};
use levin_edn::{read, Edn};
use proptest::prelude::*;

const SCHEMA: &str = "{:g/next {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                       :g/one {:db/valueType :db.type/ref}
                       :g/n {:db/valueType :db.type/long :db/cardinality :db.cardinality/many}}";

/// What the general scan says: (value, entity) pairs in AVE order, or `None` when some
/// value is not a positive long.
fn by_scan_attr(db: &Db, attr: &str) -> Option<Vec<(u64, u64)>> {
    let a = db.schema().get(&levin_datalog::keyword(attr)).unwrap();
    let mut out = vec![];
    let mut bad = false;
    db.scan_attr(a, None, |v, e| -> Result<(), Error> {
        match v {
            Edn::Long(n) if *n > 0 => out.push((*n as u64, e)),
            _ => bad = true,
        }
        Ok(())
    })
    .unwrap();
    (!bad).then_some(out)
}

fn by_scan_ids(db: &Db, attr: &str) -> Option<Vec<(u64, u64)>> {
    let a = db.schema().get(&levin_datalog::keyword(attr)).unwrap();
    let mut out = vec![];
    let ok = db
        .scan_id_pairs(a, |v, e| -> Result<(), Error> {
            out.push((v, e));
            Ok(())
        })
        .unwrap();
    ok.then_some(out)
}

fn values_general(db: &Db, attr: &str, e: u64) -> Option<Vec<u64>> {
    let a = db.schema().get(&levin_datalog::keyword(attr)).unwrap();
    db.attr_values(e, a)
        .unwrap()
        .into_iter()
        .map(|v| match v {
            Edn::Long(n) if n > 0 => Some(n as u64),
            _ => None,
        })
        .collect()
}

fn values_ids(db: &Db, attr: &str, e: u64) -> Option<Vec<u64>> {
    let a = db.schema().get(&levin_datalog::keyword(attr)).unwrap();
    let (mut out, mut ends) = (vec![], vec![]);
    let ok = db.id_values_of_each(&[e], a, &mut out, &mut ends).unwrap();
    ok.then(|| {
        assert_eq!(ends, [out.len()]);
        out
    })
}

/// Entities 1..=nodes; `edges` (from, to) over them on `:g/next` and `:g/one`, and
/// `longs` (entity, value) on `:g/n`.
fn load(nodes: u64, edges: &[(u64, u64)], longs: &[(u64, i64)]) -> (tempfile::TempDir, Conn) {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let mut tx = String::from("[");
    for e in 1..=nodes {
        tx.push_str(&format!("{{:db/id {e} :g/n {}}}", e as i64 * 7));
    }
    for (a, b) in edges {
        tx.push_str(&format!(
            "[:db/add {a} :g/next {b}] [:db/add {a} :g/one {b}]"
        ));
    }
    for (e, v) in longs {
        tx.push_str(&format!("[:db/add {e} :g/n {v}]"));
    }
    tx.push(']');
    conn.transact(&read(&tx).unwrap()).unwrap();
    (d, conn)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn id_reads_agree_with_general_reads(
        nodes in 1u64..40,
        edges in prop::collection::vec((1u64..40, 1u64..40), 0..80),
        longs in prop::collection::vec((1u64..40, -5i64..5), 0..6),
    ) {
        let edges: Vec<(u64, u64)> =
            edges.into_iter().map(|(a, b)| (1 + a % nodes, 1 + b % nodes)).collect();
        let longs: Vec<(u64, i64)> =
            longs.into_iter().map(|(e, v)| (1 + e % nodes, v)).collect();
        let (_d, conn) = load(nodes, &edges, &longs);
        let db = conn.db().unwrap();
        for attr in [":g/next", ":g/one", ":g/n"] {
            prop_assert_eq!(by_scan_ids(&db, attr), by_scan_attr(&db, attr), "{}", attr);
            for e in 0..=nodes + 1 {
                prop_assert_eq!(values_ids(&db, attr, e), values_general(&db, attr, e));
            }
        }
    }
}

#[test]
fn a_non_positive_value_stops_the_id_scan() {
    let (_d, conn) = load(3, &[(1, 2), (2, 3)], &[(3, 0)]);
    let db = conn.db().unwrap();
    assert_eq!(by_scan_ids(&db, ":g/n"), None);
    assert_eq!(values_ids(&db, ":g/n", 3), None);
    assert_eq!(by_scan_ids(&db, ":g/next"), Some(vec![(2, 1), (3, 2)]));
    assert_eq!(values_ids(&db, ":g/next", 1), Some(vec![2]));
    assert_eq!(values_ids(&db, ":g/next", 3), Some(vec![]));
}
