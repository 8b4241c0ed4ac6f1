//! The data-driven test runner: each `tests/data/*.edn` file is a vector of cases
//! `{:name "..." :schema {...} :steps [[:tx [...]] [:pull pattern id expected] ...]}`,
//! run against a fresh database; after the last step every handle is dropped, the
//! database is reopened and its datoms and schema must be unchanged.
#![allow(dead_code)]

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

fn step(conn: &mut Conn, dir: &std::path::Path, page: usize, s: &[Edn]) -> Result<(), String> {
    let op = s[0]
        .as_keyword()
        .map(|k| k.name().to_string())
        .unwrap_or_default();
    let arg = |i: usize| -> &Edn { s.get(i).unwrap_or(&Edn::Nil) };
    let eq = |got: Edn, expected: &Edn| -> Result<(), String> {
        if got == *expected {
            Ok(())
        } else {
            Err(format!("expected {expected}\n      got {got}"))
        }
    };
    let db = || conn.db().map_err(|e| e.to_string());
    match op.as_str() {
        "tx" => {
            let r = conn
                .transact(arg(1))
                .map_err(|e| format!("tx failed: {e}"))?;
            if s.len() > 2 {
                subset(&r.to_edn(), arg(2))?;
            }
            Ok(())
        }
        "tx-error" => {
            let before = dump(&db()?);
            match conn.transact(arg(1)) {
                Ok(r) => Err(format!("expected an error, got {}", r.to_edn())),
                Err(e) => {
                    let msg = e.to_string();
                    let want = arg(2).as_str().unwrap_or("");
                    if !msg.contains(want) {
                        return Err(format!("error {msg:?} does not contain {want:?}"));
                    }
                    eq(dump(&db()?), &before).map_err(|m| format!("failed tx changed the db: {m}"))
                }
            }
        }
        "pull" => eq(
            db()?.pull(arg(1), arg(2)).map_err(|e| e.to_string())?,
            arg(3),
        ),
        "pull-error" => match db()?.pull(arg(1), arg(2)) {
            Ok(v) => Err(format!("expected an error, got {v}")),
            Err(e) if e.to_string().contains(arg(3).as_str().unwrap_or("")) => Ok(()),
            Err(e) => Err(format!("wrong error {e}")),
        },
        "pull-many" => {
            let ids = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let got = db()?.pull_many(arg(1), &ids).map_err(|e| e.to_string())?;
            eq(Edn::Vector(got), arg(3))
        }
        "entity" => {
            let d = db()?;
            let got = match d.entity(arg(1)).map_err(|e| e.to_string())? {
                None => Edn::Nil,
                Some(ent) => {
                    let k = arg(2).as_keyword().expect("attr").clone();
                    ent.get_kw(&k)
                        .map_err(|e| e.to_string())?
                        .unwrap_or(Edn::Nil)
                }
            };
            eq(got, arg(3))
        }
        "touch" => {
            let d = db()?;
            let got = match d.entity(arg(1)).map_err(|e| e.to_string())? {
                None => Edn::Nil,
                Some(ent) => ent.touch().map_err(|e| e.to_string())?,
            };
            eq(got, arg(2))
        }
        "datoms" => {
            let d = db()?;
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let got = datoms_edn(
                d.datoms(index(arg(1)), &comps).map_err(|e| e.to_string())?,
                usize::MAX,
            );
            let n = d
                .count_datoms(index(arg(1)), &comps)
                .map_err(|e| e.to_string())?;
            let len = arg(3).as_seq().map_or(0, <[Edn]>::len) as u64;
            if n != len {
                return Err(format!("count_datoms {n} but {len} datoms expected"));
            }
            eq(got, arg(3))
        }
        "seek" => {
            let d = db()?;
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let n = arg(3).as_long().unwrap_or(0) as usize;
            let got = datoms_edn(
                d.seek_datoms(index(arg(1)), &comps)
                    .map_err(|e| e.to_string())?,
                n,
            );
            eq(got, arg(4))
        }
        "index-range" => {
            let d = db()?;
            let a = arg(1).as_keyword().expect("attr").clone();
            let it = d
                .index_range(&a, opt(arg(2)), opt(arg(3)))
                .map_err(|e| e.to_string())?;
            let got = datoms_edn(it, usize::MAX);
            let n = d
                .count_range(&a, opt(arg(2)), opt(arg(3)))
                .map_err(|e| e.to_string())?;
            let len = arg(4).as_seq().map_or(0, <[Edn]>::len) as u64;
            if n != len {
                return Err(format!("count_range {n} but {len} datoms expected"));
            }
            eq(got, arg(4))
        }
        "count" => {
            let comps = arg(2).as_seq().unwrap_or(&[]).to_vec();
            let n = db()?
                .count_datoms(index(arg(1)), &comps)
                .map_err(|e| e.to_string())?;
            eq(Edn::Long(n as i64), arg(3))
        }
        "entid" => {
            let got = db()?.entid(arg(1)).map_err(|e| e.to_string())?;
            eq(got.map_or(Edn::Nil, |e| Edn::Long(e as i64)), arg(2))
        }
        "max-eid" => eq(Edn::Long(db()?.max_eid() as i64), arg(1)),
        "schema" => conn.update_schema(arg(1)).map_err(|e| e.to_string()),
        "schema-error" => match conn.update_schema(arg(1)) {
            Ok(()) => Err("expected a schema error".into()),
            Err(e) if e.to_string().contains(arg(2).as_str().unwrap_or("")) => Ok(()),
            Err(e) => Err(format!("wrong error {e}")),
        },
        "open-error" => {
            // Open again with a schema that must be refused; nothing changes.
            match open(dir, Some(arg(1)), page) {
                Ok(_) => Err("expected open to refuse the schema".into()),
                Err(e) if e.to_string().contains(arg(2).as_str().unwrap_or("")) => Ok(()),
                Err(e) => Err(format!("wrong error {e}")),
            }
        }
        "schema-is" => {
            let a = arg(1).as_keyword().expect("attr");
            let got = conn.schema().get(a).map(|a| a.to_edn()).unwrap_or(Edn::Nil);
            eq(got, arg(2))
        }
        "reopen" => {
            let schema = opt(arg(1)).cloned();
            // Drop every handle first: the old connection closes before the new one opens.
            let placeholder = tempfile::tempdir().unwrap();
            let old = std::mem::replace(conn, open(placeholder.path(), None, page).unwrap());
            drop(old);
            *conn = open(dir, schema.as_ref(), page).map_err(|e| e.to_string())?;
            Ok(())
        }
        _ => Err(format!("unknown step {}", s[0])),
    }
}

/// Runs every case of `tests/data/{file}` with `page_size`-byte pages; returns the number
/// of steps run.
pub fn run_suite(file: &str, page_size: usize) -> usize {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let cases = read(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
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
        for (i, s) in ss.iter().enumerate() {
            steps += 1;
            let s = s.as_seq().expect("a step is a vector");
            if let Err(m) = step(&mut conn, dir.path(), page_size, s) {
                failures.push(format!("{name} step {i} {}:\n      {m}", s[0]));
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
    assert!(
        failures.is_empty(),
        "{} failures in {file}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    steps
}
