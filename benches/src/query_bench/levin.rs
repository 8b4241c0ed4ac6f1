//! The Levin side: loads each data set (read from the same EDN file DataScript reads) into a
//! `levin_datalog::Conn` with DataScript's schema, and times the queries in this process.

use levin_query::DbQuery;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use levin_datalog::{Conn, Db, Index};
use levin_edn::{read, Edn};
use levin_engine::{Durability, EnvOptions};
use levin_query::Input;

use super::peer::Files;
use super::{measure, median, spread, Bench, Kind, Outcome, Timing};

/// Canonical text of one value: the same on every side (strings quoted, keywords with
/// their colon, integers in decimal, map entries sorted by their text, vector elements
/// sorted: a pulled cardinality-many attribute has no order).
pub fn canon(v: &Edn) -> String {
    match v {
        Edn::Double(d) if d.fract() == 0.0 && d.abs() < 1e15 => format!("{}", *d as i64),
        Edn::Map(es) => {
            let mut v: Vec<String> = es
                .iter()
                .map(|(k, x)| format!("{} {}", canon(k), canon(x)))
                .collect();
            v.sort();
            format!("{{{}}}", v.join(", "))
        }
        Edn::Vector(xs) => {
            let mut v: Vec<String> = xs.iter().map(canon).collect();
            v.sort();
            format!("[{}]", v.join(" "))
        }
        other => other.to_string(),
    }
}

/// Canonical rows, sorted.
pub fn canon_rows(rows: &[Vec<Edn>]) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .map(|r| r.iter().map(canon).collect::<Vec<_>>().join("\t"))
        .collect();
    v.sort();
    v
}

fn opts() -> EnvOptions {
    // No-sync commits: DataScript is in memory; durability is not what is compared.
    EnvOptions::new()
        .durability(Durability::NoSync)
        .max_map_size(8 << 30)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// Datoms of user attributes (not `:db/*`), to compare with DataScript's datom count.
fn user_datoms(db: &Db) -> Result<u64, String> {
    let mut n = 0;
    for d in db.datoms(Index::Eav, &[]).map_err(|e| e.to_string())? {
        let d = d.map_err(|e| e.to_string())?;
        if d.a.namespace() != Some("db") {
            n += 1;
        }
    }
    Ok(n)
}

/// Levin's plan of `query` (`Db::explain`), indented, for `--explain`.
fn explain_text(conn: &Conn, query: &str, args: &[String]) -> String {
    let inputs: Vec<Input> = args
        .iter()
        .map(|a| Input::Value(read(a).expect("argument is EDN")))
        .collect();
    let text = match conn.db().map(|db| db.explain(query, &inputs)) {
        Ok(Ok(ex)) => ex.to_string(),
        Ok(Err(e)) => format!("explain: {e}"),
        Err(e) => format!("db: {e}"),
    };
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Runs every benchmark on Levin. `files` maps a data set name to its EDN file; databases
/// go under `dir`; `log` gets progress lines and, with `explain`, each query's plan.
pub fn run(
    benches: &[Bench],
    files: &Files,
    dir: &Path,
    t: &Timing,
    explain: bool,
    log: &mut dyn FnMut(&str),
) -> HashMap<String, Outcome> {
    let mut out = HashMap::new();
    let mut parsed: HashMap<String, Edn> = HashMap::new();
    let mut conns: HashMap<String, Result<Conn, String>> = HashMap::new();
    let mut n_dirs = 0usize;
    let mut fresh_dir = || {
        n_dirs += 1;
        let d = dir.join(format!("levin-{n_dirs}"));
        let _ = std::fs::remove_dir_all(&d);
        d
    };
    for b in benches {
        let tx = match parsed.get(&b.dataset) {
            Some(e) => e.clone(),
            None => {
                let text = std::fs::read_to_string(&files[&b.dataset].0).expect("data file");
                let e = read(&text).expect("data file is EDN");
                parsed.insert(b.dataset.clone(), e.clone());
                e
            }
        };
        let schema = files[&b.dataset].1;
        let o = match &b.kind {
            Kind::Load => load(&tx, schema, t, &mut fresh_dir),
            Kind::Query { query, args } => {
                let conn = conns.entry(b.dataset.clone()).or_insert_with(|| {
                    let started = Instant::now();
                    let c = Conn::open_with(fresh_dir(), schema, opts())
                        .map_err(|e| format!("open: {e}"))?;
                    c.transact(&tx).map_err(|e| format!("load: {e}"))?;
                    log(&format!(
                        "levin: loaded {} in {:.0} ms",
                        b.dataset,
                        started.elapsed().as_secs_f64() * 1e3
                    ));
                    Ok(c)
                });
                match conn {
                    Err(e) => Outcome {
                        error: Some(e.clone()),
                        ..Outcome::default()
                    },
                    Ok(conn) => {
                        let o = run_query(conn, query, args, t);
                        if explain && o.error.is_none() {
                            log(&explain_text(conn, query, args));
                        }
                        o
                    }
                }
            }
        };
        log(&format!(
            "levin: {:<22} {}",
            b.name,
            match (&o.error, o.median_ms) {
                (Some(e), _) => format!("error: {e}"),
                (None, Some(ms)) => format!(
                    "{ms:.3} ms ({} rows; samples {})",
                    o.count.unwrap_or(0),
                    spread(&o.samples)
                ),
                _ => "?".into(),
            }
        ));
        out.insert(b.name.clone(), o);
    }
    out
}

fn run_query(conn: &Conn, query: &str, args: &[String], t: &Timing) -> Outcome {
    let db = match conn.db() {
        Ok(db) => db,
        Err(e) => {
            return Outcome {
                error: Some(format!("db: {e}")),
                ..Outcome::default()
            }
        }
    };
    let inputs: Vec<Input> = args
        .iter()
        .map(|a| Input::Value(read(a).expect("argument is EDN")))
        .collect();
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<Outcome, String> {
        let first = db.q(query, &inputs).map_err(|e| e.to_string())?;
        let samples = measure(t, || {
            db.q(query, &inputs).map(|_| ()).map_err(|e| e.to_string())
        })?;
        Ok(Outcome {
            median_ms: Some(median(&samples)),
            samples,
            count: Some(first.len() as u64),
            rows: Some(canon_rows(&first.rows)),
            error: None,
        })
    }));
    match r {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => Outcome {
            error: Some(e),
            ..Outcome::default()
        },
        Err(p) => Outcome {
            error: Some(format!("panic: {}", panic_text(p))),
            ..Outcome::default()
        },
    }
}

fn load(
    tx: &Edn,
    schema: &str,
    t: &Timing,
    fresh_dir: &mut dyn FnMut() -> std::path::PathBuf,
) -> Outcome {
    let mut once = || -> Result<(f64, u64), String> {
        let d = fresh_dir();
        let conn = Conn::open_with(&d, schema, opts()).map_err(|e| format!("open: {e}"))?;
        let s = Instant::now();
        conn.transact(tx).map_err(|e| e.to_string())?;
        let ms = s.elapsed().as_secs_f64() * 1e3;
        let n = user_datoms(&conn.db().map_err(|e| e.to_string())?)?;
        drop(conn);
        let _ = std::fs::remove_dir_all(&d);
        Ok((ms, n))
    };
    let r = (|| -> Result<Outcome, String> {
        if t.load_warmup {
            once()?;
        }
        let mut samples = Vec::new();
        let mut count = 0;
        for _ in 0..t.load_samples.max(1) {
            let (ms, n) = once()?;
            samples.push(ms);
            count = n;
        }
        Ok(Outcome {
            median_ms: Some(median(&samples)),
            samples,
            count: Some(count),
            rows: None,
            error: None,
        })
    })();
    r.unwrap_or_else(|e| Outcome {
        error: Some(e),
        ..Outcome::default()
    })
}
