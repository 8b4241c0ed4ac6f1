//! The data-driven test runner: each `tests/data/*.edn` file is a vector of cases
//! `{:name "..." :schema {...} :steps [[:tx [...]] [:pull pattern id expected] ...]}`,
//! run against a fresh database; after the last step every handle is dropped, the
//! database is reopened and its datoms and schema must be unchanged.
//!
//! Every step's answer is also compared with Datalevin's in `tests/golden/` (see
//! `q_support/golden.rs`): the report of a transaction (its datoms as a set, its
//! tempids), a pull, datoms, counts, or a refusal. A group's
//! `:datalevin-differs {step-index "reason"}` marks deliberate differences and
//! `:known-gap {step-index "reason"}` Levin bugs not fixed yet; both must really differ.
#![allow(dead_code)]

#[path = "../q_support/golden.rs"]
pub mod golden;

use levin_datalog::{Conn, Db, Index};
use levin_edn::{read, Edn};
use levin_engine::EnvOptions;

/// Opens `dir` with `page_size`-byte pages.
pub fn open(
    dir: &std::path::Path,
    schema: Option<&Edn>,
    page_size: usize,
) -> levin_datalog::Result<Conn> {
    Conn::open_with(dir, schema, EnvOptions::new().page_size(page_size))
}

fn index(e: &Edn) -> Index {
    match e.as_keyword().and_then(Index::from_keyword) {
        Some(i) => i,
        None => panic!("bad index {e}"),
    }
}

fn opt(e: &Edn) -> Option<&Edn> {
    (!e.is_nil()).then_some(e)
}

/// Every datom, as EDN, plus the max eid: what must survive a failed tx or a reopen.
pub fn dump(db: &Db) -> Edn {
    let ds: Vec<Edn> = db
        .datoms(Index::Eav, &[])
        .unwrap()
        .map(|d| d.unwrap().to_edn())
        .collect();
    Edn::Vector(vec![Edn::Long(db.max_eid() as i64), Edn::Vector(ds)])
}

fn datoms_edn(it: levin_datalog::Datoms<'_>, take: usize) -> Edn {
    Edn::Vector(it.take(take).map(|d| d.unwrap().to_edn()).collect())
}

/// Checks that the report `r` contains the keys of `expected` with equal values.
fn subset(r: &Edn, expected: &Edn) -> Result<(), String> {
    for (k, v) in expected.as_map().unwrap_or(&[]) {
        let mut got = r.get(k).cloned().unwrap_or(Edn::Nil);
        // The transaction id depends on how many commits came before; a case that does
        // not name it does not check it.
        if let (Edn::Map(m), Some(want)) = (&mut got, v.as_map()) {
            let current_tx = Edn::kw("db", "current-tx");
            if !want.iter().any(|(k, _)| *k == current_tx) {
                m.retain(|(k, _)| *k != current_tx);
            }
        }
        if got != *v {
            return Err(format!("{k}: expected {v}, got {got}"));
        }
    }
    Ok(())
}

/// A transaction report as the oracle sees it: its datoms as a set and its tempids.
fn tx_answer(r: &Edn) -> Edn {
    let data = r
        .get(&Edn::kw("", "tx-data"))
        .and_then(Edn::as_seq)
        .unwrap_or(&[]);
    let mut tempids = r.get(&Edn::kw("", "tempids")).cloned().unwrap_or(Edn::Nil);
    if let Edn::Map(m) = &mut tempids {
        m.retain(|(k, _)| *k != Edn::kw("db", "current-tx"));
    }
    Edn::Map(vec![
        (Edn::kw("", "tx-data"), Edn::Set(data.to_vec())),
        (Edn::kw("", "tempids"), tempids),
    ])
}

type Answer = Result<Edn, String>;

/// A step's missing argument.
static NONE: Edn = Edn::Nil;

/// Runs one step: its answer (what the oracle compares) and whether it met the step's
/// own expectation.
fn step(
    conn: &mut Conn,
    dir: &std::path::Path,
    page: usize,
    s: &[Edn],
) -> (Answer, Result<(), String>) {
    let op = s[0]
        .as_keyword()
        .map(|k| k.name().to_string())
        .unwrap_or_default();
    let arg = |i: usize| -> &Edn { s.get(i).unwrap_or(&NONE) };
    // A step without its expected value (`[:pull pattern id]`) is the oracle's alone.
    let eq = |got: &Answer, expected: &Edn| -> Result<(), String> {
        if std::ptr::eq(expected, &NONE) {
            return Ok(());
        }
        match got {
            Ok(g) if g == expected => Ok(()),
            Ok(g) => Err(format!("expected {expected}\n      got {g}")),
            Err(e) => Err(e.clone()),
        }
    };
    let refused = |got: &Answer, want: &Edn| -> Result<(), String> {
        match got {
            Ok(v) => Err(format!("expected an error, got {v}")),
            Err(e) if e.contains(want.as_str().unwrap_or("")) => Ok(()),
            Err(e) => Err(format!("wrong error {e}")),
        }
    };
    let db = |conn: &Conn| conn.db().map_err(|e| e.to_string());
    let db = match db(conn) {
        Ok(d) => d,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    let unit = |r: Result<(), String>| r.map(|()| Edn::Nil);
    match op.as_str() {
        "tx" => {
            let r = conn
                .transact(arg(1))
                .map(|r| r.to_edn())
                .map_err(|e| e.to_string());
            let check = match &r {
                Err(e) => Err(format!("tx failed: {e}")),
                Ok(r) if s.len() > 2 => subset(r, arg(2)),
                Ok(_) => Ok(()),
            };
            (r.map(|r| tx_answer(&r)), check)
        }
        "tx-error" => {
            let before = dump(&db);
            let r = conn
                .transact(arg(1))
                .map(|r| tx_answer(&r.to_edn()))
                .map_err(|e| e.to_string());
            let mut check = refused(&r, arg(2));
            if check.is_ok() && r.is_err() {
                let after = conn.db().map(|d| dump(&d)).map_err(|e| e.to_string());
                check = eq(&after, &before).map_err(|m| format!("failed tx changed the db: {m}"));
            }
            (r, check)
        }
        // A transaction that may or may not succeed (random transactions): its answer is
        // only compared with Datalevin's, and a refusal must leave the database unchanged.
        "try-tx" => {
            let before = dump(&db);
            let r = conn
                .transact(arg(1))
                .map(|r| tx_answer(&r.to_edn()))
                .map_err(|e| e.to_string());
            let mut check = Ok(());
            if r.is_err() {
                let after = conn.db().map(|d| dump(&d)).map_err(|e| e.to_string());
                check = eq(&after, &before).map_err(|m| format!("failed tx changed the db: {m}"));
            }
            (r, check)
        }
        "pull" | "pull-error" => {
            let r = db.pull(arg(1), arg(2)).map_err(|e| e.to_string());
            let check = if op == "pull" {
                eq(&r, arg(3))
            } else {
                refused(&r, arg(3))
            };
            (r, check)
        }
        "pull-many" => {
            let ids = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let r = db
                .pull_many(arg(1), &ids)
                .map(Edn::Vector)
                .map_err(|e| e.to_string());
            let check = eq(&r, arg(3));
            (r, check)
        }
        "entity" => {
            let r = (|| match db.entity(arg(1)).map_err(|e| e.to_string())? {
                None => Ok(Edn::Nil),
                Some(ent) => {
                    let k = arg(2).as_keyword().expect("attr").clone();
                    Ok(ent
                        .get_kw(&k)
                        .map_err(|e| e.to_string())?
                        .unwrap_or(Edn::Nil))
                }
            })();
            let check = eq(&r, arg(3));
            (r, check)
        }
        "touch" => {
            let r = (|| match db.entity(arg(1)).map_err(|e| e.to_string())? {
                None => Ok(Edn::Nil),
                Some(ent) => ent.touch().map_err(|e| e.to_string()),
            })();
            let check = eq(&r, arg(2));
            (r, check)
        }
        // Every datom, compared with Datalevin's as a set: Datalevin numbers the attributes
        // of a schema map in its hash order, so an entity's datoms come in another order.
        "all-datoms" => {
            let r = db
                .datoms(Index::Eav, &[])
                .map(|it| datoms_edn(it, usize::MAX))
                .map_err(|e| e.to_string());
            let check = r.clone().map(drop);
            (r, check)
        }
        "datoms" => {
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let r = db
                .datoms(index(arg(1)), &comps)
                .map(|it| datoms_edn(it, usize::MAX))
                .map_err(|e| e.to_string());
            let mut check = eq(&r, arg(3));
            if check.is_ok() && s.len() > 3 {
                let n = db
                    .count_datoms(index(arg(1)), &comps)
                    .map_err(|e| e.to_string());
                let len = arg(3).as_seq().map_or(0, <[Edn]>::len) as u64;
                if n != Ok(len) {
                    check = Err(format!("count_datoms {n:?} but {len} datoms expected"));
                }
            }
            (r, check)
        }
        "seek" => {
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let n = arg(3).as_long().unwrap_or(0) as usize;
            let r = db
                .seek_datoms(index(arg(1)), &comps)
                .map(|it| datoms_edn(it, n))
                .map_err(|e| e.to_string());
            let check = eq(&r, arg(4));
            (r, check)
        }
        "rseek" => {
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let n = arg(3).as_long().unwrap_or(0) as usize;
            let r = db
                .rseek_datoms(index(arg(1)), &comps)
                .map(|it| datoms_edn(it, n))
                .map_err(|e| e.to_string());
            (r, Ok(()))
        }
        "search" => {
            let r = db
                .search_datoms(opt(arg(1)), opt(arg(2)), opt(arg(3)))
                .map(|it| datoms_edn(it, usize::MAX))
                .map_err(|e| e.to_string());
            (r, Ok(()))
        }
        "cardinality" => {
            let a = arg(1).as_keyword().expect("an attribute");
            let r = db
                .cardinality(a)
                .map(|n| Edn::Long(n as i64))
                .map_err(|e| e.to_string());
            (r, Ok(()))
        }
        "index-range" => {
            let a = arg(1).as_keyword().expect("attr").clone();
            let r = db
                .index_range(&a, opt(arg(2)), opt(arg(3)))
                .map(|it| datoms_edn(it, usize::MAX))
                .map_err(|e| e.to_string());
            let mut check = eq(&r, arg(4));
            if check.is_ok() && s.len() > 4 {
                let n = db
                    .count_range(&a, opt(arg(2)), opt(arg(3)))
                    .map_err(|e| e.to_string());
                let len = arg(4).as_seq().map_or(0, <[Edn]>::len) as u64;
                if n != Ok(len) {
                    check = Err(format!("count_range {n:?} but {len} datoms expected"));
                }
            }
            (r, check)
        }
        "count" => {
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let r = db
                .count_datoms(index(arg(1)), &comps)
                .map(|n| Edn::Long(n as i64))
                .map_err(|e| e.to_string());
            let check = eq(&r, arg(3));
            (r, check)
        }
        "entid" => {
            let r = db
                .entid(arg(1))
                .map(|e| e.map_or(Edn::Nil, |e| Edn::Long(e as i64)))
                .map_err(|e| e.to_string());
            let check = eq(&r, arg(2));
            (r, check)
        }
        "max-eid" => {
            let r = Ok(Edn::Long(db.max_eid() as i64));
            let check = eq(&r, arg(1));
            (r, check)
        }
        "schema" | "schema-error" => {
            let r = unit(conn.update_schema(arg(1)).map_err(|e| e.to_string()));
            let check = match (op.as_str(), &r) {
                ("schema", Ok(_)) => Ok(()),
                ("schema", Err(e)) => Err(e.clone()),
                _ => refused(&r, arg(2)),
            };
            (r, check)
        }
        "open-error" => {
            // Open again with a schema that must be refused; nothing changes.
            let r = unit(
                open(dir, Some(arg(1)), page)
                    .map(drop)
                    .map_err(|e| e.to_string()),
            );
            let check = refused(&r, arg(2));
            (r, check)
        }
        "schema-is" => {
            let a = arg(1).as_keyword().expect("attr");
            let r = Ok(conn.schema().get(a).map(|a| a.to_edn()).unwrap_or(Edn::Nil));
            let check = eq(&r, arg(2));
            (r, check)
        }
        "reopen" => {
            let schema = opt(arg(1)).cloned();
            drop(db);
            // Drop every handle first: the old connection closes before the new one opens.
            let placeholder = tempfile::tempdir().unwrap();
            let old = std::mem::replace(conn, open(placeholder.path(), None, page).unwrap());
            drop(old);
            let r = match open(dir, schema.as_ref(), page) {
                Ok(c) => {
                    *conn = c;
                    Ok(Edn::Nil)
                }
                Err(e) => Err(e.to_string()),
            };
            let check = r.clone().map(drop);
            (r, check)
        }
        _ => {
            let m = format!("unknown step {}", s[0]);
            (Err(m.clone()), Err(m))
        }
    }
}

/// Runs every case of `tests/data/{file}` with `page_size`-byte pages; returns the number
/// of steps run.
pub fn run_suite(file: &str, page_size: usize) -> usize {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let (steps, failures) =
        run_suite_in(&tests.join("data"), &tests.join("golden"), file, page_size);
    assert!(
        failures.is_empty(),
        "{} failures in {file}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    steps
}

/// Runs every case of `{data}/{file}`, comparing with Datalevin's answers in
/// `{golden}/{file}`; returns the number of steps run and a message per failure.
pub fn run_suite_in(
    data: &std::path::Path,
    golden_dir: &std::path::Path,
    file: &str,
    page_size: usize,
) -> (usize, Vec<String>) {
    let path = data.join(file).display().to_string();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cases = read(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let oracle = golden::Golden::load_from(golden_dir, file);
    let mut failures = Vec::new();
    let mut steps = 0;
    for case in cases.as_seq().expect("a vector of cases") {
        let name = case
            .get_kw("", "name")
            .map_or("?".to_string(), |n| n.to_string());
        let dir = tempfile::tempdir().unwrap();
        let schema = case.get_kw("", "schema").cloned();
        let mut conn = match open(dir.path(), schema.as_ref(), page_size) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: open: {e}"));
                continue;
            }
        };
        let empty = Vec::new();
        let ss = case
            .get_kw("", "steps")
            .and_then(Edn::as_seq)
            .unwrap_or(&empty);
        let marks = |k: &str| case.get_kw("", k).cloned().unwrap_or(Edn::Map(vec![]));
        let (differs, gaps) = (marks("datalevin-differs"), marks("known-gap"));
        for (i, st) in ss.iter().enumerate() {
            steps += 1;
            let s = st.as_seq().expect("a step is a vector");
            let (answer, check) = step(&mut conn, dir.path(), page_size, s);
            if let Err(m) = check {
                failures.push(format!("{name} step {i} {}:\n      {m}", s[0]));
            }
            let order = if s[0] == Edn::kw("", "entity") || s[0] == Edn::kw("", "all-datoms") {
                golden::Order::Multiset
            } else {
                golden::Order::Exact
            };
            let idx = Edn::Long(i as i64);
            if let Some(m) = golden::check(
                oracle.answer(
                    &golden::plain(case.get_kw("", "name").unwrap_or(&Edn::Nil)),
                    i,
                    st,
                ),
                &answer,
                order,
                differs.get(&idx),
                gaps.get(&idx),
            ) {
                failures.push(format!("{name} step {i} {}:\n  {m}", s[0]));
            }
        }
        // Persistence: everything survives dropping every handle and reopening.
        let before = dump(&conn.db().unwrap());
        let schema_before = conn.schema().to_edn();
        drop(conn);
        let conn = open(dir.path(), None, page_size).unwrap();
        let after = dump(&conn.db().unwrap());
        if before != after {
            failures.push(format!(
                "{name}: reopen changed the datoms:\n  {before}\n  {after}"
            ));
        }
        if schema_before != conn.schema().to_edn() {
            failures.push(format!("{name}: reopen changed the schema"));
        }
        assert!(
            conn.env().check().unwrap().is_ok(),
            "{name}: integrity check"
        );
    }
    (steps, failures)
}
