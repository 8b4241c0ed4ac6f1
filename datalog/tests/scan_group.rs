//! The merge scan's two ways of reading entities (`Db::entities_values` through EAV and
//! through AVE) against each other on random data, with an attribute of no declared type
//! whose values mix longs, strings and keywords: the AVE scan compares longs as numbers
//! and anything else by its encoded bytes, and must find the same values either way (a
//! reference or long attribute, negative longs too, is scanned as plain integers). The
//! numbered form (`Db::entities_value_numbers`) must give the same values both ways, with
//! equal numbers exactly for equal values (a map value written in two orders is one value
//! under two encodings). Also
//! `scan::sorted_distinct`, which orders the entities a merge scan reads, against a sort,
//! and `scan::EidIndex`, which finds an entity's position among them, against a search.

use levin_datalog::scan::{GroupRead, Want};
use levin_datalog::{Conn, Db, Error};
use levin_edn::{read, Edn};
use proptest::prelude::*;

const SCHEMA: &str = "{:s/any {:db/cardinality :db.cardinality/many}
                       :s/one {}
                       :s/ref {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                       :s/long {:db/valueType :db.type/long :db/cardinality :db.cardinality/many}}";

/// One value of the untyped attributes: a long (negative ones too), a string or a keyword,
/// from small pools so that entities share values and runs of one value form.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i64..6).prop_map(|n| n.to_string()),
        (0u8..4).prop_map(|n| format!("\"s{n}\"")),
        (0u8..3).prop_map(|n| format!(":k/v{n}")),
        // One map value written in two orders: two encodings, one value.
        prop_oneof![
            Just("{:m/a 1 :m/b 2}".to_string()),
            Just("{:m/b 2 :m/a 1}".to_string())
        ],
    ]
}

type Found = Vec<(usize, Vec<Vec<Edn>>)>;

fn read_with(db: &Db, eids: &[u64], wants: &[(u32, Want)], how: GroupRead) -> Found {
    let mut out = vec![];
    db.entities_values::<Error>(eids, wants, how, |i, values| {
        out.push((i, values.to_vec()));
        Ok(())
    })
    .unwrap();
    out
}

type Numbered = Vec<(usize, Vec<Vec<u32>>)>;

fn read_numbered(
    db: &Db,
    eids: &[u64],
    wants: &[(u32, Want)],
    how: GroupRead,
) -> (Numbered, Vec<Edn>) {
    let mut out = vec![];
    let (read, numbered) = db
        .entities_value_numbers::<Error>(eids, wants, how, |i, numbers| {
            out.push((i, numbers.to_vec()));
            Ok(())
        })
        .unwrap();
    assert_eq!(read, how);
    assert_eq!(numbered.one_per_value, how == GroupRead::Ave);
    (out, numbered.values)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ave_reads_equal_eav_reads(
        datoms in prop::collection::vec((1u64..30, 0usize..4, value(), 1u64..30), 1..120),
        asked in prop::collection::btree_set(1u64..32, 1..20),
    ) {
        let d = tempfile::tempdir().unwrap();
        let conn = Conn::open(d.path(), SCHEMA).unwrap();
        let mut tx = String::from("[");
        for (e, which, v, target) in &datoms {
            match which {
                0 => tx.push_str(&format!("[:db/add {e} :s/any {v}]")),
                1 => tx.push_str(&format!("[:db/add {e} :s/one {v}]")),
                2 => tx.push_str(&format!("[:db/add {e} :s/ref {target}]")),
                _ => tx.push_str(&format!("[:db/add {e} :s/long {}]", *target as i64 - 10)),
            }
        }
        tx.push(']');
        conn.transact(&read(&tx).unwrap()).unwrap();
        let db = conn.db().unwrap();
        let id = |a: &str| db.schema().get(&levin_datalog::keyword(a)).unwrap().id;
        let eids: Vec<u64> = asked.into_iter().collect();
        let wanted = [
            vec![(id("s/any"), Want::Bind)],
            vec![(id("s/any"), Want::Bind), (id("s/one"), Want::Bind)],
            vec![(id("s/ref"), Want::Bind), (id("s/any"), Want::Exists)],
            vec![(id("s/one"), Want::Bind), (id("s/any"), Want::Equals(Edn::Long(2)))],
            vec![(id("s/long"), Want::Bind), (id("s/ref"), Want::Bind)],
        ];
        for wants in &wanted {
            let eav = read_with(&db, &eids, wants, GroupRead::Eav);
            let ave = read_with(&db, &eids, wants, GroupRead::Ave);
            prop_assert_eq!(&eav, &ave, "wants {:?}", wants);
            for how in [GroupRead::Eav, GroupRead::Ave] {
                let (numbered, values) = read_numbered(&db, &eids, wants, how);
                let decoded: Found = numbered
                    .iter()
                    .map(|(i, per_want)| {
                        let vals = per_want
                            .iter()
                            .map(|ns| ns.iter().map(|&n| values[n as usize].clone()).collect())
                            .collect();
                        (*i, vals)
                    })
                    .collect();
                // `Exists` and `Equals` come as one nil either way.
                prop_assert_eq!(&decoded, &eav, "numbered, {:?}, wants {:?}", how, wants);
                // Through AVE, equal numbers exactly for equal values; through EAV, every
                // value found has its own number.
                for w in 0..wants.len() {
                    let numbers: Vec<u32> =
                        numbered.iter().flat_map(|(_, per_want)| per_want[w].clone()).collect();
                    for (x, &a) in numbers.iter().enumerate() {
                        for (y, &b) in numbers.iter().enumerate() {
                            let same = match how {
                                GroupRead::Ave => values[a as usize] == values[b as usize],
                                _ => x == y,
                            };
                            prop_assert_eq!(
                                a == b,
                                same,
                                "numbers {} and {} of want {} ({:?})", a, b, w, how
                            );
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn sorted_distinct_sorts_and_dedups(
        base in prop_oneof![Just(0u64), Just(1u64 << 40), Just(u64::MAX - 5000)],
        offsets in prop::collection::vec(prop_oneof![0u64..200, 0u64..5000], 0..300),
    ) {
        // Dense and sparse spans, near zero and near the top of the id space.
        let ids: Vec<u64> = offsets.iter().map(|o| base.saturating_add(*o)).collect();
        let mut expected = ids.clone();
        expected.sort_unstable();
        expected.dedup();
        prop_assert_eq!(levin_datalog::scan::sorted_distinct(ids), expected);
    }
}

proptest! {
    #[test]
    fn eid_index_gives_each_position_and_nothing_else(
        base in prop_oneof![Just(1u64), Just(1u64 << 40), Just(u64::MAX - 2_000_000)],
        offsets in prop::collection::vec(prop_oneof![0u64..300, 0u64..1_000_000], 0..400),
        probes in prop::collection::vec(0u64..1_000_100, 0..200),
    ) {
        // Dense spans (a rank bitmap) and sparse ones (a hash map), near the ends of the
        // id space; every member, and ids around, between and outside them.
        let mut eids: Vec<u64> = offsets.iter().map(|o| base.saturating_add(*o)).collect();
        eids.sort_unstable();
        eids.dedup();
        let index = levin_datalog::scan::EidIndex::new(&eids);
        for (i, &e) in eids.iter().enumerate() {
            prop_assert_eq!(index.get(e), Some(i as u32));
        }
        let outside = [0, base.saturating_sub(1), base.saturating_add(1_000_050), u64::MAX];
        for e in probes.iter().map(|p| base.saturating_add(*p)).chain(outside) {
            prop_assert_eq!(index.get(e), eids.binary_search(&e).ok().map(|i| i as u32));
        }
    }
}
