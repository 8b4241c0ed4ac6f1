//! `query-scale`: how Levin's query times and memory grow with the data. Loads DataScript's
//! people data at several sizes (default 20,000, 200,000 and 1,000,000 people; `--quick`:
//! 20,000 and 100,000) and runs the people queries of `query-compare` on each, printing the
//! median time, the result count and the memory each query took, then a markdown table
//! (also written to docs/BENCHMARKS.md, section "Query scaling", unless `--no-docs`).
//!
//! Memory per query is measured in a fresh child process that opens the database and runs
//! the query once: the growth of its peak resident set (VmHWM, reset just before the query
//! through `/proc/self/clear_refs`) over its resident set before the query, i.e. the
//! query's own allocations plus the pages of the database map it touched. Levin alone: DataScript needs minutes and gigabytes at 1M people.
//!
//! `cargo run --release -p levin-benches --bin query-scale [-- --quick] [--sizes N,N,..]
//! [--dir DIR] [--no-docs]`

#![forbid(unsafe_code)]

use levin_query::DbQuery;
use std::path::PathBuf;
use std::time::Instant;

use levin_datalog::Conn;
use levin_edn::{read, Edn};
use levin_engine::{Durability, EnvOptions};
use levin_query::Input;

#[path = "../query_bench/mod.rs"]
#[expect(
    dead_code,
    reason = "the DataScript side and the comparison helpers are unused here"
)]
mod query_bench;

use query_bench::{benches, data, fmt_ms, measure, median, row, Kind, Timing};

/// People per transaction while loading (the scale is about queries; one huge transaction
/// is `query-compare`'s load benchmark).
const CHUNK: usize = 50_000;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident set to the current one (Linux 4.0+).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The people queries of `query-compare`: (name, query, extra inputs).
fn people_queries() -> Vec<(String, String, Vec<String>)> {
    benches(true)
        .into_iter()
        .filter(|b| b.dataset == "people")
        .filter_map(|b| match b.kind {
            Kind::Query { query, args } => Some((b.name, query, args)),
            Kind::Load => None,
        })
        .collect()
}

/// Runs query `index` once in a fresh child process on the database at `path` and returns
/// the growth of the child's peak resident set over its resident set before the query, KiB
/// (a fresh process, so no memory freed by earlier queries is reused).
fn child_memory(path: &std::path::Path, index: usize) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("--memory-of")
        .arg(path)
        .arg(index.to_string())
        .output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// The child side of [`child_memory`].
fn memory_of(path: &str, index: usize) {
    let opts = EnvOptions::new().max_map_size(64 << 30);
    let conn = Conn::open_with(path, data::SCHEMA, opts).expect("open");
    let db = conn.db().expect("db");
    let (_, q, args) = &people_queries()[index];
    let inputs: Vec<Input> = args
        .iter()
        .map(|a| Input::Value(read(a).expect("input")))
        .collect();
    let before = status_kib("VmRSS:");
    reset_peak();
    let _ = db.q(q.as_str(), &inputs);
    println!("{}", status_kib("VmHWM:").saturating_sub(before));
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.len() == 4 && argv[1] == "--memory-of" {
        memory_of(&argv[2], argv[3].parse().expect("index"));
        return;
    }
    let mut quick = false;
    let mut sizes: Option<Vec<usize>> = None;
    let mut dir: Option<PathBuf> = None;
    let mut docs = true;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--sizes" => {
                sizes = Some(
                    it.next()
                        .unwrap_or_default()
                        .split(',')
                        .map(|s| s.trim().parse().expect("--sizes N,N,.."))
                        .collect(),
                )
            }
            "--dir" => dir = it.next().map(PathBuf::from),
            "--no-docs" => docs = false,
            other => {
                eprintln!("usage: query-scale [--quick] [--sizes N,N,..] [--dir DIR] [--no-docs] (got {other})");
                std::process::exit(2);
            }
        }
    }
    let sizes = sizes.unwrap_or(if quick {
        vec![20_000, 100_000]
    } else {
        vec![20_000, 200_000, 1_000_000]
    });
    let t = if quick {
        Timing::quick()
    } else {
        Timing {
            warmup_ms: 200.0,
            samples: 3,
            sample_ms: 200.0,
            load_samples: 1,
            load_warmup: false,
        }
    };
    let base = dir.unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("levin-qscale-")
        .tempdir_in(&base)
        .expect("scratch directory");
    let queries = people_queries();
    // (size, load ms, datoms, rows of (name, ms, count, memory KiB))
    let mut results = vec![];
    for &n in &sizes {
        let path = work.path().join(format!("people-{n}"));
        let opts = EnvOptions::new()
            .durability(Durability::NoSync)
            .max_map_size(64 << 30);
        let conn = Conn::open_with(&path, data::SCHEMA, opts).expect("open");
        let text = data::people(n, 1);
        let all = read(&text).expect("data");
        let items = all.as_seq().map(|s| s.to_vec()).unwrap_or_default();
        drop(text);
        let started = Instant::now();
        for chunk in items.chunks(CHUNK) {
            conn.transact(&Edn::Vector(chunk.to_vec())).expect("load");
        }
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        drop(items);
        let db = conn.db().expect("db");
        let datoms = db.datom_count().unwrap_or(0);
        eprintln!("{n} people: {datoms} datoms loaded in {load_ms:.0} ms");
        let mut rows = vec![];
        for (i, (name, q, args)) in queries.iter().enumerate() {
            let inputs: Vec<Input> = args
                .iter()
                .map(|a| Input::Value(read(a).expect("input")))
                .collect();
            let mem = child_memory(&path, i);
            let first = db.q(q.as_str(), &inputs);
            let outcome = match first {
                Ok(r) => {
                    let count = r.len();
                    let samples = measure(&t, || db.q(q.as_str(), &inputs).map(|_| ()));
                    match samples {
                        Ok(s) => Ok((median(&s), count)),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            match &outcome {
                Ok((ms, count)) => eprintln!(
                    "  {name:<16} {:>10} ms  {count:>9} rows  {:>8} KiB",
                    fmt_ms(*ms),
                    mem
                ),
                Err(e) => eprintln!("  {name:<16} error: {e}"),
            }
            rows.push((name.clone(), outcome, mem));
        }
        results.push((n, load_ms, datoms, rows));
        drop(db);
        drop(conn);
        let _ = std::fs::remove_dir_all(&path);
    }

    let mut table = String::new();
    let mut head = vec!["query".to_string()];
    for (n, ..) in &results {
        head.push(format!("{n} people: ms"));
        head.push("rows".into());
        head.push("memory".into());
    }
    row(&mut table, &head);
    let mut align = vec!["---".to_string()];
    for _ in &results {
        align.extend(["---:", "---:", "---:"].map(String::from));
    }
    row(&mut table, &align);
    let mut load = vec!["load (50k people per tx)".to_string()];
    for (_, ms, datoms, _) in &results {
        load.extend([fmt_ms(*ms), format!("{datoms} datoms"), "-".into()]);
    }
    row(&mut table, &load);
    for (i, (name, ..)) in queries.iter().enumerate() {
        let mut cells = vec![name.clone()];
        for (_, _, _, rows) in &results {
            match &rows[i].1 {
                Ok((ms, count)) => cells.extend([
                    fmt_ms(*ms),
                    count.to_string(),
                    format!("{:.1} MiB", rows[i].2 as f64 / 1024.0),
                ]),
                Err(e) => cells.extend([format!("error: {e}"), "-".into(), "-".into()]),
            }
        }
        row(&mut table, &cells);
    }
    println!("{table}");
    if docs {
        let section = format!(
            "## Query scaling\n\n`cargo run --release -p levin-benches --bin query-scale{}` \
             (Levin alone; {}). Median ms per run of each people query of `query-compare` at \
             each size, its result rows, and the memory it took (in a fresh process: growth of \
             the peak resident set over the resident set before the query, including the \
             pages of the database map it touched). The machine is the \
             one described above; load average at the end {:.2}.\n\n{table}",
            if quick { " -- --quick" } else { "" },
            levin_benches::machine::now_utc(),
            levin_benches::machine::loadavg()
        );
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/BENCHMARKS.md");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let new = match text.find("## Query scaling") {
            Some(at) => {
                let end = text[at + 3..]
                    .find("\n## ")
                    .map_or(text.len(), |e| at + 3 + e + 1);
                format!("{}{section}\n{}", &text[..at], &text[end..])
            }
            None => format!(
                "{}\n{section}",
                text.trim_end_matches('\n').to_string() + "\n"
            ),
        };
        std::fs::write(&path, new).expect("write docs/BENCHMARKS.md");
    }
}
