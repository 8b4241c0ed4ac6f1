//! Model-based check of pulling many entities at once: `pull_many` (which pulls a pattern
//! without recursion, wildcards or component expansion level by level for all the ids
//! together) gives, for random data, patterns and ids, exactly what `pull` gives for each id
//! alone, map key order included.

use levin_datalog::{Conn, PullFns, PullPattern};
use levin_edn::{read, Edn};
use proptest::prelude::*;

const SCHEMA: &str = "{:name {:db/unique :db.unique/identity}
                       :tag {:db/cardinality :db.cardinality/many}
                       :n {:db/valueType :db.type/long}
                       :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                       :parent {:db/valueType :db.type/ref}
                       :profile {:db/valueType :db.type/ref :db/isComponent true}
                       :lines {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many
                               :db/isComponent true}}";

/// One datom to assert: entity 1..=10, an attribute, a small value (refs point at 1..=12,
/// so some targets have no datoms of their own).
fn datom() -> impl Strategy<Value = (i64, usize, i64)> {
    (1i64..=10, 0usize..7, 0i64..12)
}

fn form((e, a, v): (i64, usize, i64)) -> String {
    match a {
        0 => format!("[:db/add {e} :name \"n{e}\"]"),
        1 => format!("[:db/add {e} :tag \"t{}\"]", v % 5),
        2 => format!("[:db/add {e} :n {v}]"),
        3 => format!("[:db/add {e} :friend {}]", v + 1),
        4 => format!("[:db/add {e} :parent {}]", v + 1),
        5 => format!("[:db/add {e} :profile {}]", v + 1),
        _ => format!("[:db/add {e} :lines {}]", v + 1),
    }
}

const ATTRS: [&str; 14] = [
    ":name",
    ":tag",
    ":n",
    ":friend",
    ":parent",
    ":profile",
    ":lines",
    ":_friend",
    ":_parent",
    ":_profile",
    ":_lines",
    ":db/id",
    ":nope",
    ":_nope",
];

/// An attribute spec: a name, or a name with options.
fn attr_spec() -> impl Strategy<Value = String> {
    (0..ATTRS.len(), 0usize..7, 0usize..4).prop_map(|(a, opt, n)| {
        let a = ATTRS[a];
        match opt {
            0 => format!("[{a} :limit {n}]"),
            1 => format!("[{a} :default \"d{n}\"]"),
            2 => format!("[{a} :as :k{n}]"),
            3 => format!("[{a} :limit nil]"),
            _ => a.to_string(),
        }
    })
}

/// A pull pattern up to three levels deep; now and then with a wildcard or recursion (which
/// `pull_many` pulls entity by entity).
fn pattern() -> impl Strategy<Value = String> {
    let leaf = prop::collection::vec(attr_spec(), 0..4).prop_map(|v| format!("[{}]", v.join(" ")));
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            prop::collection::vec(attr_spec(), 0..3),
            prop::collection::vec((0usize..11, inner), 0..3),
            0usize..12,
        )
            .prop_map(|(plain, nested, extra)| {
                let mut items = plain;
                for (a, sub) in nested {
                    items.push(format!("{{{} {sub}}}", ATTRS[a]));
                }
                match extra {
                    0 => items.push("*".into()),
                    1 => items.push("{:friend ...}".into()),
                    2 => items.push("{:parent 2}".into()),
                    _ => {}
                }
                format!("[{}]", items.join(" "))
            })
    })
}

fn setup(datoms: &[(i64, usize, i64)]) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let c = Conn::open(dir.path(), SCHEMA).unwrap();
    for d in datoms {
        let _ = c.transact_str(&format!("[{}]", form(*d)));
    }
    (dir, c)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pull_many_matches_pull(datoms in prop::collection::vec(datom(), 0..40),
                              pat in pattern(),
                              ids in prop::collection::vec(1i64..=13, 0..12),
                              lookup in any::<bool>()) {
        let (_d, c) = setup(&datoms);
        let db = c.db().unwrap();
        let pat = read(&pat).unwrap();
        let mut ids: Vec<Edn> = ids.into_iter().map(Edn::Long).collect();
        if lookup {
            ids.push(read("[:name \"n3\"]").unwrap());
        }
        let parsed = PullPattern::parse(&pat, &PullFns::new()).unwrap();
        let many = parsed.pull_many(&db, &ids, None).unwrap();
        let one: Vec<Edn> = ids.iter().map(|id| parsed.pull(&db, id, None).unwrap()).collect();
        // Debug shows the maps' keys in order, which `==` may not compare.
        prop_assert_eq!(format!("{many:?}"), format!("{one:?}"), "pattern {}", pat);
        let via_db = db.pull_many(&pat, &ids).unwrap();
        prop_assert_eq!(format!("{via_db:?}"), format!("{one:?}"));
    }
}

/// The shape the query benchmark pulls (orders, component lines, product refs), products
/// shared between lines and orders repeated.
#[test]
fn nested_components_shared_targets() {
    let dir = tempfile::tempdir().unwrap();
    let c = Conn::open(
        dir.path(),
        "{:order/lines {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many
                        :db/isComponent true}
          :line/product {:db/valueType :db.type/ref}}",
    )
    .unwrap();
    c.transact_str(
        "[{:db/id 1 :product/name \"p1\"} {:db/id 2 :product/name \"p2\"}
          {:db/id 10 :order/status :new
           :order/lines [{:line/qty 1 :line/product 1} {:line/qty 2 :line/product 2}]}
          {:db/id 11 :order/status :paid :order/lines [{:line/qty 3 :line/product 1}]}
          {:db/id 12 :order/status :new}]",
    )
    .unwrap();
    let db = c.db().unwrap();
    let pat =
        read("[:order/status {:order/lines [:line/qty {:line/product [:product/name]}]}]").unwrap();
    let ids: Vec<Edn> = [11, 10, 12, 11, 99].into_iter().map(Edn::Long).collect();
    let got = db.pull_many(&pat, &ids).unwrap();
    let one: Vec<Edn> = ids.iter().map(|id| db.pull(&pat, id).unwrap()).collect();
    assert_eq!(format!("{got:?}"), format!("{one:?}"));
    assert_eq!(
        got[0],
        read("{:order/status :paid :order/lines [{:line/qty 3 :line/product {:product/name \"p1\"}}]}")
            .unwrap()
    );
    assert_eq!(got[2], read("{:order/status :new}").unwrap());
    assert_eq!(got[4], Edn::Nil);
}
