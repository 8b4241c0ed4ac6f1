//! Randomised transactions checked against a model: a set of `(e, a, v)` datoms kept by
//! the rules of the schema (cardinality one replaces, many accumulates, retractions,
//! retractEntity removing refs). After each transaction both indexes must equal the
//! model, and a failed transaction (a unique conflict) must change nothing.

use std::collections::BTreeSet;

use levin_datalog::{Conn, Index};
use levin_edn::{Edn, Keyword};
use proptest::prelude::*;

const SCHEMA: &str = r#"{:one {:db/valueType :db.type/long}
                         :many {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}
                         :ref {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                         :uniq {:db/valueType :db.type/long :db/unique :db.unique/value}}"#;

#[derive(Debug, Clone)]
enum Op {
    Add(u64, &'static str, i64),
    Retract(u64, &'static str, i64),
    RetractAttr(u64, &'static str),
    RetractEntity(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let attr = prop_oneof![Just("one"), Just("many"), Just("ref"), Just("uniq")];
    prop_oneof![
        6 => (1u64..6, attr.clone(), 1i64..6).prop_map(|(e, a, v)| Op::Add(e, a, v)),
        2 => (1u64..6, attr.clone(), 1i64..6).prop_map(|(e, a, v)| Op::Retract(e, a, v)),
        1 => (1u64..6, attr).prop_map(|(e, a)| Op::RetractAttr(e, a)),
        1 => (1u64..6).prop_map(Op::RetractEntity),
    ]
}

type Model = BTreeSet<(u64, &'static str, String)>;

fn value(a: &str, v: i64) -> (Edn, String) {
    if a == "many" {
        (Edn::string(format!("s{v}")), format!("\"s{v}\""))
    } else {
        (Edn::Long(v), v.to_string())
    }
}

/// Applies `ops` to the model; `None` when the transaction must fail.
fn apply(model: &Model, ops: &[Op]) -> Option<Model> {
    let mut m = model.clone();
    for op in ops {
        match op {
            Op::Add(e, a, v) => {
                let (_, s) = value(a, *v);
                if *a == "uniq" && m.iter().any(|(x, b, w)| x != e && b == a && *w == s) {
                    return None;
                }
                if *a == "one" || *a == "uniq" {
                    m.retain(|(x, b, _)| !(x == e && b == a));
                }
                m.insert((*e, a, s));
            }
            Op::Retract(e, a, v) => {
                let (_, s) = value(a, *v);
                m.remove(&(*e, *a, s));
            }
            Op::RetractAttr(e, a) => m.retain(|(x, b, _)| !(x == e && b == a)),
            Op::RetractEntity(e) => {
                let es = e.to_string();
                m.retain(|(x, b, w)| x != e && !(*b == "ref" && *w == es));
            }
        }
    }
    Some(m)
}

fn form(op: &Op) -> String {
    match op {
        Op::Add(e, a, v) => format!("[:db/add {e} :{a} {}]", value(a, *v).0),
        Op::Retract(e, a, v) => format!("[:db/retract {e} :{a} {}]", value(a, *v).0),
        Op::RetractAttr(e, a) => format!("[:db.fn/retractAttribute {e} :{a}]"),
        Op::RetractEntity(e) => format!("[:db/retractEntity {e}]"),
    }
}

fn stored(conn: &Conn) -> (Model, Model) {
    let db = conn.db().unwrap();
    let name = |k: &Keyword| -> &'static str {
        match k.name() {
            "one" => "one",
            "many" => "many",
            "ref" => "ref",
            _ => "uniq",
        }
    };
    let mut eav = Model::new();
    for d in db.datoms(Index::Eav, &[]).unwrap() {
        let d = d.unwrap();
        eav.insert((d.e, name(&d.a), d.v.to_string()));
    }
    let mut ave = Model::new();
    for d in db.datoms(Index::Ave, &[]).unwrap() {
        let d = d.unwrap();
        if d.a.name() != "ident" {
            ave.insert((d.e, name(&d.a), d.v.to_string()));
        }
    }
    (eav, ave)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn transactions_match_the_model(txs in prop::collection::vec(prop::collection::vec(op(), 1..6), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(dir.path(), SCHEMA).unwrap();
        let mut model = Model::new();
        for tx in &txs {
            let text = format!("[{}]", tx.iter().map(form).collect::<Vec<_>>().join(" "));
            let expected = apply(&model, tx);
            let got = conn.transact_str(&text);
            match (&expected, &got) {
                (Some(m), Ok(_)) => model = m.clone(),
                (None, Err(e)) => prop_assert!(e.to_string().contains("unique"), "{e}"),
                _ => prop_assert!(false, "{text}: model {:?} vs {:?}", expected.is_some(), got),
            }
            let (eav, ave) = stored(&conn);
            prop_assert_eq!(&eav, &model, "{}", text);
            prop_assert_eq!(&ave, &model, "{}", text);
        }
        drop(conn);
        let conn = Conn::open(dir.path(), ()).unwrap();
        prop_assert_eq!(stored(&conn).0, model);
    }
}
