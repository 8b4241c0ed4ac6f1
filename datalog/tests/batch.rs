//! One transaction of many forms must do what the same forms do as one transaction each:
//! the same tx-data (concatenated, in order), the same max-eid and the same datoms in both
//! indexes, and it fails exactly when one of the single transactions fails, changing
//! nothing. The batch asserts mostly on entities new to the database, where the
//! transaction keeps their items in memory and defers index writes; the single
//! transactions mostly read the indexes instead.

use levin_datalog::{Conn, Index, TxReport};
use levin_edn::read;
use levin_engine::{Durability, EnvOptions};
use proptest::prelude::*;

const SCHEMA: &str = r#"{:one {:db/valueType :db.type/long}
                         :many {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}
                         :ref {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                         :comp {:db/valueType :db.type/ref :db/isComponent true}
                         :uniq {:db/valueType :db.type/long :db/unique :db.unique/value}
                         :ident {:db/unique :db.unique/identity}}"#;

/// A value for `attr` from `v` in 1..48: numbers 1..8 (entities, for refs), or strings
/// some of which are giants (longer than a 512-byte page's key limit). `:many` takes all
/// 48, so one entity can hold more values than the transaction keeps in a list.
fn value(attr: &str, v: u8) -> String {
    let small = v % 7 + 1;
    match attr {
        "many" | "big" => match v % 8 {
            0 => format!("\"{}\"", "g".repeat(300)),
            1 => format!("\"{}{v}\"", "h".repeat(300)),
            _ => format!("\"s{v}\""),
        },
        "ident" => format!("\"i{small}\""),
        _ => small.to_string(),
    }
}

/// One form on entities 1..8 (the value of a ref is an entity too).
fn form() -> impl Strategy<Value = String> {
    let attr = prop_oneof![
        4 => Just("one"),
        4 => Just("many"),
        2 => Just("ref"),
        1 => Just("comp"),
        1 => Just("uniq"),
        1 => Just("ident"),
        2 => Just("big"),
        1 => Just("fresh-attr"),
    ];
    let e = 1u8..8;
    let v = 1u8..48;
    prop_oneof![
        8 => (e.clone(), attr.clone(), v.clone())
            .prop_map(|(e, a, v)| format!("[:db/add {e} :{a} {}]", value(a, v))),
        3 => (e.clone(), 1u8..8, prop::collection::vec(1u8..48, 0..24), v.clone())
            .prop_map(|(e, one, many, r)| {
                let many: Vec<String> = many.iter().map(|m| value("many", *m)).collect();
                let r = value("ref", r);
                format!("{{:db/id {e} :one {one} :many [{}] :ref {r}}}", many.join(" "))
            }),
        2 => (e.clone(), attr.clone(), v.clone())
            .prop_map(|(e, a, v)| format!("[:db/retract {e} :{a} {}]", value(a, v))),
        1 => (e.clone(), attr).prop_map(|(e, a)| format!("[:db.fn/retractAttribute {e} :{a}]")),
        1 => e.clone().prop_map(|e| format!("[:db/retractEntity {e}]")),
        1 => (e, v.clone(), v).prop_map(|(e, o, n)| {
            format!("[:db/cas {e} :one {} {}]", value("one", o), value("one", n))
        }),
    ]
}

fn open(dir: &std::path::Path) -> Conn {
    // No fsync per commit: durability is not what this tests, and a case commits up to
    // 40 single-form transactions.
    let opts = EnvOptions::new()
        .page_size(512)
        .durability(Durability::NoSync);
    Conn::open_with(dir, SCHEMA, opts).unwrap()
}

/// Both indexes as text, in index order.
fn datoms(conn: &Conn) -> Vec<String> {
    let db = conn.db().unwrap();
    let mut out = Vec::new();
    for index in [Index::Eav, Index::Ave] {
        for d in db.datoms(index, &[]).unwrap() {
            out.push(d.unwrap().to_edn().to_string());
        }
    }
    out
}

fn tx_data(r: &TxReport) -> Vec<String> {
    r.tx_data.iter().map(|d| d.to_edn().to_string()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn a_batch_equals_its_forms_one_by_one(
        seed in prop::collection::vec(form(), 0..6),
        forms in prop::collection::vec(form(), 1..40),
    ) {
        let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (batch, single) = (open(da.path()), open(db.path()));
        // The same starting state on both: entities the seed touched are not new.
        let seed = format!("[{}]", seed.join(" "));
        let seeded = (batch.transact_str(&seed).is_ok(), single.transact_str(&seed).is_ok());
        prop_assert_eq!(seeded.0, seeded.1);
        let before = datoms(&batch);

        let mut expected = Vec::new();
        let mut max_eid = None;
        let mut failed = false;
        for f in &forms {
            match single.transact(&read(&format!("[{f}]")).unwrap()) {
                Ok(r) => {
                    expected.extend(tx_data(&r));
                    max_eid = Some(r.max_eid);
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let text = format!("[{}]", forms.join(" "));
        match batch.transact_str(&text) {
            Ok(r) => {
                prop_assert!(!failed, "the batch succeeded but a single form failed: {}", text);
                prop_assert_eq!(tx_data(&r), expected, "{}", text);
                prop_assert_eq!(Some(r.max_eid), max_eid, "{}", text);
                prop_assert_eq!(datoms(&batch), datoms(&single), "{}", text);
            }
            Err(e) => {
                prop_assert!(failed, "the batch failed ({}) but every single form passed: {}", e, text);
                prop_assert_eq!(datoms(&batch), before, "{}", text);
            }
        }
    }
}
