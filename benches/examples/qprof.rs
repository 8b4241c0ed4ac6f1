//! Profiling aid: builds the query benchmark's people database once in a directory (reused
//! on later runs), then runs one query many times, e.g. under `perf record`.
//!
//! `cargo run --release -p levin-benches --example qprof -- DIR N 'QUERY' [INPUT..]`
//! (`INPUT`s are EDN values passed after the database, rules included). With
//! `QPROF_DATA=wide:7:3` (or `long:30:5`) a new DIR gets that `:follows` graph instead
//! (`orders:20000`: the orders data set; the same variable is needed on every run);
//! `QPROF_READS=eav` (or `ave`) forces how merge scans read entities; `QPROF_FRONTIER=0`
//! evaluates recursive rules without the frontier search; `QPROF_EXPLAIN=1` prints the plan
//! of one more run after the timed ones; `QPROF_VISIT='[:find ?e ...]'` times the bare EAV
//! list reads of that query's entities instead (`QUERY` is then ignored);
//! `QPROF_SCAN=:attr` times a whole-attribute AVE scan instead, through the engine with a
//! no-op callback (`QPROF_LAYER=kv`), as entity-id pairs (`ids`) or with EDN values
//! (the default).

#![forbid(unsafe_code)]

use levin_query::DbQuery;
use std::time::Instant;

#[path = "../src/query_bench/data.rs"]
#[expect(dead_code, reason = "only the generators and the schemas are used")]
mod data;

use levin_datalog::Conn;
use levin_edn::read;
use levin_engine::{Durability, EnvOptions};
use levin_query::{GroupRead, Input, Registry};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: qprof DIR N 'QUERY' [INPUT..]");
        std::process::exit(2);
    }
    let dir = std::path::PathBuf::from(&args[0]);
    let n: usize = args[1].parse().expect("N");
    let fresh = !dir.join("data.levin").exists();
    std::fs::create_dir_all(&dir).expect("dir");
    let opts = EnvOptions::new()
        .durability(Durability::NoSync)
        .max_map_size(8 << 30);
    let spec = std::env::var("QPROF_DATA").unwrap_or_default();
    let orders = spec.starts_with("orders:");
    let schema = if orders {
        data::ORDERS_SCHEMA
    } else {
        data::SCHEMA
    };
    let conn = Conn::open_with(&dir, schema, opts).expect("open");
    if fresh {
        // QPROF_DATA=wide:DEPTH:WIDTH or long:DEPTH:WIDTH loads a follows graph instead,
        // QPROF_DATA=orders:N the orders data set of N orders.
        let text = match std::env::var("QPROF_DATA") {
            Ok(spec) if orders => data::orders(spec[7..].parse().expect("orders"), 1),
            Ok(spec) => {
                let p: Vec<&str> = spec.split(':').collect();
                let (d, w) = (p[1].parse().expect("depth"), p[2].parse().expect("width"));
                if p[0] == "wide" {
                    data::wide_graph(d, w, 1)
                } else {
                    data::long_graph(d, w)
                }
            }
            Err(_) => data::people(20_000, 1),
        };
        let tx = read(&text).expect("data");
        let t = Instant::now();
        conn.transact(&tx).expect("load");
        eprintln!("loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    }
    let db = conn.db().expect("db");
    let inputs: Vec<Input> = args[3..]
        .iter()
        .map(|s| Input::Value(read(s).expect("input")))
        .collect();
    if let Ok(ids_query) = std::env::var("QPROF_VISIT") {
        bare_list_reads(&db, &ids_query, n);
        return;
    }
    if let Ok(attr) = std::env::var("QPROF_SCAN") {
        scan_layers(&db, &attr, n);
        return;
    }
    if std::env::var_os("QPROF_RAW").is_some() {
        raw_entity_reads(&db, n);
        return;
    }
    // QPROF_READS=eav or ave forces how merge scans read entities (default: cheapest).
    let how = match std::env::var("QPROF_READS").as_deref() {
        Ok("eav") => GroupRead::Eav,
        Ok("ave") => GroupRead::Ave,
        _ => GroupRead::Cheapest,
    };
    // QPROF_FRONTIER=0 turns the frontier search for linear recursive rules off.
    let frontier = std::env::var("QPROF_FRONTIER").as_deref() != Ok("0");
    let reg = Registry::new().entity_reads(how).frontier_search(frontier);
    let mut rows = 0;
    let t = Instant::now();
    for _ in 0..n {
        rows = db
            .q_with(&args[2], &inputs, &reg)
            .expect("query")
            .rows
            .len();
    }
    eprintln!(
        "{rows} rows; {:.3} ms per run",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
    if std::env::var_os("QPROF_EXPLAIN").is_some() {
        // QPROF_EXPLAIN=1 prints the plan of one more run, warm, with the same settings.
        let mut all = vec![Input::Db(&db)];
        all.extend(inputs.iter().cloned());
        eprintln!(
            "{}",
            levin_query::explain(args[2].as_str(), &all, &reg).expect("explain")
        );
    }
}

/// Engine cost alone: every item of each "Ivan" entity's EAV list, `n` times.
fn raw_entity_reads(db: &levin_datalog::Db, n: usize) {
    let kv = db.kv();
    let eav = kv.open_db("datalog/eav").expect("eav");
    let eids = first_column_ids(db, "[:find ?e :where [?e :name \"Ivan\"]]");
    let t = Instant::now();
    let mut items = 0usize;
    for _ in 0..n {
        for e in &eids {
            for kv in kv.list(&eav, &e.to_be_bytes()).expect("list") {
                let (_, v) = kv.expect("item");
                items += v.len();
            }
        }
    }
    eprintln!(
        "{} entities, {items} item bytes; {:.3} us per entity",
        eids.len(),
        t.elapsed().as_secs_f64() * 1e6 / (n * eids.len()) as f64
    );
}

/// Engine cost alone: `Read::visit_lists` over the EAV lists of the entities in the first
/// column of `ids_query`'s answer (ascending), `n` times, nothing decoded.
fn bare_list_reads(db: &levin_datalog::Db, ids_query: &str, n: usize) {
    let kv = db.kv();
    let eav = kv.open_db("datalog/eav").expect("eav");
    let mut eids = first_column_ids(db, ids_query);
    eids.sort_unstable();
    let keys: Vec<[u8; 8]> = eids.iter().map(|e| e.to_be_bytes()).collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    let t = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..n {
        kv.visit_lists(&eav, &refs, &mut |_, v| {
            bytes += v.len();
            Ok(())
        })
        .expect("visit");
    }
    eprintln!(
        "{} entities, {bytes} item bytes; {:.3} us per entity",
        eids.len(),
        t.elapsed().as_secs_f64() * 1e6 / (n * eids.len()) as f64
    );
}

/// The entity ids in the first column of `query`'s answer.
fn first_column_ids(db: &levin_datalog::Db, query: &str) -> Vec<u64> {
    db.q(query, &[])
        .expect("q")
        .rows
        .iter()
        .filter_map(|r| r[0].as_long())
        .map(|e| e as u64)
        .collect()
}

/// Times a whole-attribute AVE scan at three layers: the engine's visit with a no-op
/// callback, `scan_id_pairs`, and `scan_attr` (values as EDN).
fn scan_layers(db: &levin_datalog::Db, attr: &str, n: usize) {
    let kw = match read(attr).expect("attr") {
        levin_edn::Edn::Keyword(k) => k,
        _ => panic!("attr"),
    };
    let a = db.schema().get(&kw).expect("attr in schema").clone();
    let range = db
        .attr_value_range(&a, None, None)
        .expect("range")
        .expect("some");
    let kv = db.kv();
    let ave = kv.open_db("datalog/ave").expect("ave");
    let mode = std::env::var("QPROF_LAYER").unwrap_or_default();
    let t = Instant::now();
    let mut count = 0u64;
    for _ in 0..n {
        match mode.as_str() {
            "kv" => kv
                .visit_range(&ave, &range, &mut |_, _| {
                    count += 1;
                    Ok(())
                })
                .expect("visit"),
            "ids" => {
                db.scan_id_pairs::<levin_datalog::Error>(&a, |_, _| {
                    count += 1;
                    Ok(())
                })
                .expect("ids");
            }
            _ => db
                .scan_attr::<levin_datalog::Error>(&a, None, |_, _| {
                    count += 1;
                    Ok(())
                })
                .expect("scan"),
        }
    }
    eprintln!(
        "{mode}: {} datoms, {:.1} ns per datom",
        count / n as u64,
        t.elapsed().as_secs_f64() * 1e9 / count as f64
    );
}
