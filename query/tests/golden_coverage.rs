//! Every data file in tests/data has Datalevin's answers in tests/golden (written by
//! scripts/regen-datalevin-golden) and is run by some test, so no case escapes the oracle.

use std::path::Path;

fn edn_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".edn"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_data_file_has_golden_answers_and_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let data = edn_files(&root.join("data"));
    let golden = edn_files(&root.join("golden"));
    let tests: String = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let mut missing = vec![];
    for f in &data {
        if !golden.contains(f) {
            missing.push(format!(
                "{f}: no tests/golden/{f}: run scripts/regen-datalevin-golden"
            ));
        }
        if !tests.contains(&format!("\"{f}\"")) {
            missing.push(format!("{f}: no test in tests/*.rs runs it"));
        }
    }
    for f in &golden {
        if !data.contains(f) {
            missing.push(format!("tests/golden/{f} answers no data file: delete it"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert!(data.len() >= 19, "{} data files", data.len());
}

#[path = "q_support/golden.rs"]
mod golden;

use golden::{agree, check, normalise, Answer, Order};
use levin_edn::{read, Edn};

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

#[test]
fn agreement_rules() {
    let v = |s: &str| Answer::Value(e(s));
    let ok = |s: &str| Ok::<Edn, String>(e(s));
    // Both refusing agrees, whatever the messages.
    assert!(agree(&Err("a".into()), &Answer::Error("b".into()), Order::Exact).is_ok());
    assert!(agree(&Err("a".into()), &v("1"), Order::Exact).is_err());
    assert!(agree(&ok("1"), &Answer::Error("b".into()), Order::Exact).is_err());
    // Unordered answers compare as multisets; ordered ones as sequences, list or vector.
    assert!(agree(&ok("[1 2 2]"), &v("[2 1 2]"), Order::Multiset).is_ok());
    assert!(agree(&ok("[1 2]"), &v("[2 1 2]"), Order::Multiset).is_err());
    assert!(agree(&ok("#{[1] [2]}"), &v("#{[2] [1]}"), Order::Multiset).is_ok());
    assert!(agree(&ok("[1 2]"), &v("(1 2)"), Order::Sequence).is_ok());
    assert!(agree(&ok("[1 2]"), &v("(2 1)"), Order::Sequence).is_err());
    // A tuple is exact.
    assert!(agree(&ok("[1 2]"), &v("[2 1]"), Order::Exact).is_err());
    // Doubles to 12 significant digits, inside collections too.
    assert_eq!(normalise(&e("0.30000000000000004")), e("0.3"));
    assert!(agree(
        &ok("#{[0.30000000000000004]}"),
        &v("#{[0.3]}"),
        Order::Multiset
    )
    .is_ok());
    assert!(agree(&ok("0.3001"), &v("0.3"), Order::Exact).is_err());
    assert!(agree(&ok("1"), &v("1.0"), Order::Exact).is_err());
}

#[test]
fn marks_must_really_differ_and_answers_must_exist() {
    let same = Answer::Value(e("1"));
    let other = Answer::Value(e("2"));
    let reason = e("\"why\"");
    let levin = Ok(e("1"));
    assert!(check(Ok(&same), &levin, Order::Exact, None, None).is_none());
    assert!(check(Ok(&other), &levin, Order::Exact, None, None).is_some());
    // A stale :datalevin-differs or :known-gap fails.
    assert!(check(Ok(&same), &levin, Order::Exact, Some(&reason), None).is_some());
    assert!(check(Ok(&same), &levin, Order::Exact, None, Some(&reason)).is_some());
    assert!(check(Ok(&other), &levin, Order::Exact, Some(&reason), None).is_none());
    // No golden answer fails, naming the script.
    let m = check(
        Err("no golden answer: run scripts/regen-datalevin-golden".into()),
        &levin,
        Order::Exact,
        None,
        None,
    );
    assert!(m.unwrap().contains("regen-datalevin-golden"));
    let g = golden::Golden::load("q_or.edn");
    let first = e("[:find ?e :where (or [?e :name \"Oleg\"] [?e :age 10])]");
    assert!(g
        .answer("or, or-join, and (DataScript query-or)", 0, &first)
        .is_ok());
    let msg = g.answer(
        "or, or-join, and (DataScript query-or)",
        0,
        &e("[:find ?x]"),
    );
    assert!(msg.unwrap_err().contains("regen-datalevin-golden"));
    assert!(g.answer("no such group", 0, &first).is_err());
    assert!(g
        .answer("or, or-join, and (DataScript query-or)", 9999, &first)
        .is_err());
}
