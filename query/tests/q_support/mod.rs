//! The data-driven query test runner. Each `tests/data/q_*.edn` file is a vector of groups
//! `{:name "..." :schema {...} :tx [...] :cases [...]}`; each case is
//! `{:q query :in [inputs after $] :expect result}` or `{:q .. :error "substring"}`, with
//! optional `:count n` (result size only) and `:db2 [tx]` (a second database passed as the
//! first input). Results compare as EDN, so sets compare as sets.
//!
//! Every case is also compared with Datalevin's answer in `tests/golden/` (see
//! [`golden`]): a case needs no `:expect` to be tested. `:datalevin-differs "reason"`
//! marks a deliberate difference, `:known-gap "reason"` a Levin bug not fixed yet; both
//! must really differ from Datalevin.
#![allow(dead_code)]

pub mod golden;

use levin_datalog::Conn;
use levin_edn::{read, Edn};
use levin_query::{q_with, FindKind, Input, Registry};

fn get<'a>(m: &'a Edn, k: &str) -> Option<&'a Edn> {
    m.get_kw("", k)
        .or_else(|| m.get(&Edn::Keyword(levin_edn::Keyword::new(None, k))))
}

/// Opens a fresh database with `schema` and `tx`.
pub fn db_with(schema: Option<&Edn>, tx: Option<&Edn>) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let conn = match schema {
        Some(s) => Conn::open(dir.path(), s).unwrap(),
        None => Conn::open(dir.path(), Edn::Map(vec![])).unwrap(),
    };
    if let Some(tx) = tx {
        conn.transact(tx).unwrap();
    }
    (dir, conn)
}

/// Runs every case of `file` (relative to tests/data) with `reg`; returns the number of
/// cases run.
pub fn run_file(file: &str, reg: &Registry) -> usize {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let (n, failures) = run_file_in(&tests.join("data"), &tests.join("golden"), file, reg);
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}

/// Runs every case of `{data}/{file}` with `reg`, comparing with Datalevin's answers in
/// `{golden}/{file}`; returns the number of cases run and a message per failing case.
pub fn run_file_in(
    data: &std::path::Path,
    golden: &std::path::Path,
    file: &str,
    reg: &Registry,
) -> (usize, Vec<String>) {
    let path = data.join(file).display().to_string();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let groups = read(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let oracle = golden::Golden::load_from(golden, file);
    let mut n = 0;
    let mut failures = vec![];
    let mut names = std::collections::HashSet::new();
    for g in groups.as_seq().unwrap() {
        let name = get(g, "name").map(|x| x.to_string()).unwrap_or_default();
        assert!(
            names.insert(name.clone()),
            "{path}: two groups named {name}"
        );
        let (_d, conn) = db_with(get(g, "schema"), get(g, "tx"));
        let db = conn.db().unwrap();
        for (i, c) in get(g, "cases")
            .and_then(|c| c.as_seq())
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            n += 1;
            let query = get(c, "q").unwrap_or_else(|| panic!("{name}: case without :q"));
            let qtext = match query {
                Edn::String(s) => s.clone(),
                other => other.to_string().into(),
            };
            let (_d2, conn2);
            let db2;
            let mut inputs: Vec<Input> = vec![Input::Db(&db)];
            if let Some(tx2) = get(c, "db2") {
                (_d2, conn2) = db_with(get(c, "schema2").or(get(g, "schema")), Some(tx2));
                db2 = conn2.db().unwrap();
                inputs.push(Input::Db(&db2));
            }
            if let Some(ins) = get(c, "in").and_then(|x| x.as_seq()) {
                inputs.extend(ins.iter().cloned().map(Input::Value));
            }
            if get(c, "no-db").is_some() {
                inputs.remove(0);
            }
            let res = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                q_with(qtext.as_str(), &inputs, reg)
            })) {
                Ok(r) => r,
                Err(_) => {
                    failures.push(format!("{name} case {i}: {qtext}\n  Levin panicked"));
                    continue;
                }
            };
            let order = match &res {
                _ if qtext.contains(":order-by") => golden::Order::Sequence,
                Ok(r) if r.kind == FindKind::Coll || (r.kind == FindKind::Rel) => {
                    golden::Order::Multiset
                }
                _ => golden::Order::Exact,
            };
            let levin = res.as_ref().map(|r| r.to_edn()).map_err(|e| e.to_string());
            if let Some(m) = golden::check(
                oracle.answer(
                    &golden::plain(get(g, "name").unwrap_or(&Edn::Nil)),
                    i,
                    query,
                ),
                &levin,
                order,
                get(c, "datalevin-differs"),
                get(c, "known-gap"),
            ) {
                failures.push(format!("{name} case {i}: {qtext}\n  {m}"));
            }
            let own = get(c, "expect").is_some() || get(c, "count").is_some();
            match (res, get(c, "error")) {
                (Ok(r), None) => {
                    // A result is a set (only `:with` keeps a bag): no row twice. A pull
                    // is made after the set: two entities may pull equal maps, and each
                    // is kept (as Datalevin keeps them).
                    let unique: std::collections::HashSet<&Vec<Edn>> = r.rows.iter().collect();
                    let bag = qtext.contains(":with") || qtext.contains("(pull ");
                    if unique.len() != r.rows.len() && !bag {
                        failures.push(format!("{name}: {qtext}\n  a row came back twice"));
                    }
                    let got = r.to_edn();
                    if let Some(cnt) = get(c, "count") {
                        if Some(r.len() as i64) != cnt.as_long() {
                            failures.push(format!(
                                "{name}: {qtext}\n  expected {cnt} rows, got {}",
                                r.len()
                            ));
                        }
                    }
                    if let Some(exp) = get(c, "expect") {
                        if got != *exp {
                            failures.push(format!(
                                "{name}: {qtext}\n  expected {exp}\n  got      {got}"
                            ));
                        }
                    }
                }
                (Ok(r), Some(e)) => failures.push(format!(
                    "{name}: {qtext}\n  expected error {e}, got {}",
                    r.to_edn()
                )),
                (Err(err), Some(e)) => {
                    let msg = err.to_string();
                    if !msg.contains(e.as_str().unwrap_or("")) {
                        failures.push(format!(
                            "{name}: {qtext}\n  expected error containing {e}, got {msg}"
                        ));
                    }
                }
                // A case without an expectation of its own is the oracle's alone.
                (Err(err), None) if own => {
                    failures.push(format!("{name}: {qtext}\n  error: {err}"))
                }
                (Err(_), None) => {}
            }
        }
    }
    (n, failures)
}

/// The registry the data files may use: `my-inc`, `ends-with-x?` and the aggregate
/// `my-sum`.
pub fn registry() -> Registry {
    Registry::new()
        .function("my-inc", |a| match a {
            [Edn::Long(n)] => Ok(Edn::Long(n + 1)),
            _ => Err("my-inc takes one integer".into()),
        })
        .function("ends-with-x?", |a| {
            Ok(Edn::Bool(
                a.first()
                    .and_then(|x| x.as_str())
                    .is_some_and(|s| s.ends_with('x')),
            ))
        })
        .aggregate("my-sum", |a| {
            let vals = a.last().and_then(|v| v.as_seq()).unwrap_or(&[]);
            Ok(Edn::Long(vals.iter().filter_map(|v| v.as_long()).sum()))
        })
}
