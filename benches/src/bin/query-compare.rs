//! query-compare: DataScript's query benchmarks (plus Datalevin's additions, aggregates,
//! recursive rules bound and unbound, `not`/`or`, nested pulls, an order-shaped data set and
//! one-transaction loads) on Levin's query engine, on the real Datalevin (one JVM through
//! `run-clj`, query cache off, JIT warmed) and on DataScript (under node, through the npm
//! package `@logseq/nbb-logseq`), on the same generated data.
//!
//! ```text
//! cargo run --release -p levin-benches --bin query-compare -- --quick
//! cargo run --release -p levin-benches --bin query-compare
//! ```
//!
//! Options: `--quick` (short samples, the smaller graphs; under a minute), `--people N`
//! (default 20,000), `--only NAME,..` (benchmark names), `--dir DIR` (scratch space for the
//! data files and Levin's databases; default the system temp dir), `--npm-dir DIR` (where
//! nbb-logseq is installed; default `$TMPDIR/levin-qbench-npm`), `--no-datascript`,
//! `--no-datalevin`, `--jvm-warmup-ms MS` (per-query JIT warm-up of Datalevin; default 3000,
//! 1000 with `--quick`), `--no-docs` (do not rewrite the section of docs/BENCHMARKS.md),
//! `--explain` (print Levin's plan of each query). The last line is
//! `smallest ratio vs Datalevin: R (QUERY)`, R being Datalevin's median time over Levin's.

#![forbid(unsafe_code)]

#[path = "../query_bench/mod.rs"]
mod query_bench;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use levin_benches::machine::{loadavg, Machine};
use query_bench::peer::Files;
use query_bench::{
    agree, benches, datalevin, datascript, datasets, fmt_ms, levin, row, Outcome, Timing,
};

const SECTION: &str = "## Query benchmark vs Datalevin and DataScript";
/// The goal of a query row vs DataScript.
const TARGET: f64 = 20.0;
/// The goal of a query row vs Datalevin.
const DL_TARGET: f64 = 5.0;
/// The goal for the one-transaction load rows (both peers).
const LOAD_TARGET: f64 = 10.0;

/// The goal of a row vs DataScript (`dl` false) or Datalevin: loads have their own.
fn target_of(name: &str, dl: bool) -> f64 {
    if name.starts_with("load") {
        LOAD_TARGET
    } else if dl {
        DL_TARGET
    } else {
        TARGET
    }
}

/// The fixed text of the section, before the run's table.
const PROSE: &str = r#"**`query-compare`** (`benches/src/bin/query-compare.rs`, `benches/src/query_bench/`) runs
[DataScript's benchmark queries](https://github.com/tonsky/datascript/blob/master/bench/datascript/bench/datascript.cljc)
(q1-q4, q5 short-circuit, qpred1, qpred2, the recursive `follows` rule on the wide and long
graphs, and `add-all`: every person in one transaction), Datalevin's additions (q2-switch,
q5 value join) and Levin's own shapes (aggregates over a cardinality-many attribute, a range
predicate, recursive rules from a bound node, and an order-shaped data set: `not` over a
reference, `or` of two values of a cardinality-many keyword, 6-pattern joins feeding
arithmetic and `sum`, grouping by two attributes, nested component pulls in `:find`, a rule
over a category tree, the load of nested component maps) on Levin's query engine, on the
real Datalevin and on DataScript, with the same data and the same query text.

```sh
cargo run --release -p levin-benches --bin query-compare -- --quick   # a few minutes
cargo run --release -p levin-benches --bin query-compare              # full
```

Options: `--quick` (shorter samples and JIT warm-up, a single load, the smaller graphs and
5,000 orders, no q5 value join), `--people N`, `--only NAME,..`, `--dir DIR` (data files and
Levin's databases), `--npm-dir DIR` (where nbb-logseq is installed; default
`$TMPDIR/levin-qbench-npm`, reused), `--no-datalevin`, `--no-datascript`, `--jvm-warmup-ms
MS`, `--no-docs` (leave this section alone), `--explain` (print Levin's plan of each query).
Each run rewrites this section with its table.

- **Data.** People: DataScript's `random-man` generator with a seeded SplitMix64 instead of
  `rand-nth`: 20,000 people (`:name`, `:last-name`, `:full-name`, 0-9 `:alias`es, `:sex`,
  `:age`, `:salary`), shuffled; explicit integer `:db/id`s so that all engines give the
  same entity ids; DataScript's schema. Graphs: DataScript's wide trees and long chains of
  `:follows`. Orders (`data::orders`): 85 categories in a tree, products with a category,
  a price and 0-2 keyword tags (cardinality many), customers with a tier, orders with a
  customer, a status and 1-4 lines (`:order/lines`, component, written as nested maps);
  20,000 orders (about 200,000 datoms; 5,000 with `--quick`). The data is written once as
  EDN files that every engine reads; parsing is not timed.
- **Datalevin** (1.2.8, the PyPI bundle of /work/shared/datalevin) runs in one JVM through
  `run-clj` and `benches/datalevin/query-bench.clj`: each data set loaded with
  `d/transact!` into a fresh directory, the query result cache turned off
  (`d/datalog-index-cache-limit db 0`), each query warmed up for at least `--jvm-warmup-ms`
  before its samples. If the JVM cannot run, the program prints `Datalevin unavailable:
  ...` and goes on.
- **DataScript** runs in node through `@logseq/nbb-logseq` (pinned in
  `benches/datascript/package.json`, installed into a scratch folder); DataScript on the
  JVM is several times faster than on V8, so that ratio overstates Levin's lead over JVM
  DataScript. If node or npm is missing the program prints `DataScript unavailable: ...`.
- **Levin** loads each data set with `Conn::transact` (no-sync commits) and times `db.q(..)`
  on one snapshot, in the benchmark process, after the peers have finished (never two
  engines at once).
- **Timing** (all engines alike): a warm-up, then samples, each running the query
  repeatedly for a minimum time and recording the mean per run; the figure is the median
  sample. The load is timed once per sample, each on a fresh empty database. The machine
  is shared (2 cores, other builds running): single runs are noisy, compare medians of
  several runs.
- **vs Datalevin**, **vs DataScript** are the peer's time over Levin's (above 1: Levin is
  faster); the goals are 5x and 20x (10x for loads). **results** compares Levin's rows with
  each peer's: the count and the rows as sets of canonical text (maps with sorted entries);
  a disagreement reads **MISMATCH**. A query an engine cannot run shows `unsupported:
  <error>`.

"#;

struct Args {
    quick: bool,
    people: usize,
    only: Vec<String>,
    dir: Option<PathBuf>,
    npm_dir: Option<PathBuf>,
    datascript: bool,
    datalevin: bool,
    jvm_warmup_ms: Option<f64>,
    docs: bool,
    explain: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: query-compare [--quick] [--people N] [--only NAME,..] [--dir DIR] \
         [--npm-dir DIR] [--no-datalevin] [--no-datascript] [--jvm-warmup-ms MS] [--no-docs] \
         [--explain]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        quick: false,
        people: 20_000,
        only: Vec::new(),
        dir: None,
        npm_dir: None,
        datascript: true,
        datalevin: true,
        jvm_warmup_ms: None,
        docs: true,
        explain: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--people" => a.people = val().parse().unwrap_or_else(|_| usage()),
            "--only" => a.only = val().split(',').map(|s| s.trim().to_string()).collect(),
            "--dir" => a.dir = Some(PathBuf::from(val())),
            "--npm-dir" => a.npm_dir = Some(PathBuf::from(val())),
            "--no-datascript" => a.datascript = false,
            "--no-datalevin" => a.datalevin = false,
            "--jvm-warmup-ms" => a.jvm_warmup_ms = Some(val().parse().unwrap_or_else(|_| usage())),
            "--no-docs" => a.docs = false,
            "--explain" => a.explain = true,
            _ => usage(),
        }
    }
    a
}

fn log(s: &str) {
    eprintln!("{s}");
}

/// One table row's verdict.
struct Row {
    name: String,
    origin: &'static str,
    dataset: String,
    dl: String,
    ds: String,
    lv: String,
    dl_ratio: Option<f64>,
    ds_ratio: Option<f64>,
    check: String,
    mismatch: bool,
}

fn cell(o: Option<&Outcome>, unavailable: bool) -> String {
    match o {
        None if unavailable => "n/a".into(),
        None => "-".into(),
        Some(o) => match (&o.error, o.median_ms) {
            (Some(e), _) => format!("unsupported: {}", one_line(e)),
            (None, Some(ms)) => fmt_ms(ms),
            _ => "?".into(),
        },
    }
}

fn one_line(s: &str) -> String {
    let s = s.replace(['\n', '|'], " ");
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

fn ratio(peer: Option<&Outcome>, lv: Option<&Outcome>) -> Option<f64> {
    match (peer.and_then(|o| o.median_ms), lv.and_then(|o| o.median_ms)) {
        (Some(x), Some(y)) if y > 0.0 => Some(x / y),
        _ => None,
    }
}

/// Levin's rows checked against each peer that ran the query: (text, any mismatch).
fn check(peers: &[(&str, Option<&Outcome>)], l: Option<&Outcome>) -> (String, bool) {
    let Some(l) = l.filter(|l| l.error.is_none()) else {
        return ("-".into(), false);
    };
    let mut parts = Vec::new();
    let mut bad = false;
    for (name, p) in peers {
        if let Some(p) = p.filter(|p| p.error.is_none()) {
            match agree(p, l) {
                Ok(what) => parts.push(format!("{what} as {name}")),
                Err(why) => {
                    bad = true;
                    parts.push(format!("**MISMATCH with {name}: {}**", one_line(&why)));
                }
            }
        }
    }
    let n = l.count.unwrap_or(0);
    if parts.is_empty() {
        (format!("({n} rows)"), false)
    } else {
        (format!("{} ({n})", parts.join("; ")), bad)
    }
}

/// The smallest ratio of a column, as the summary line says it.
fn smallest(rows: &[Row], dl: bool, unavailable: &Option<String>) -> String {
    let peer = if dl { "Datalevin" } else { "DataScript" };
    let m = rows
        .iter()
        .filter_map(|r| if dl { r.dl_ratio } else { r.ds_ratio }.map(|x| (x, r.name.clone())))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    match (m, unavailable) {
        (Some((x, name)), _) => format!("smallest ratio vs {peer}: {x:.2} ({name})"),
        (None, Some(why)) => {
            format!(
                "smallest ratio vs {peer}: n/a ({peer} unavailable: {})",
                one_line(why)
            )
        }
        (None, None) => format!("smallest ratio vs {peer}: n/a (no query ran on both)"),
    }
}

fn main() {
    let args = parse_args();
    let t = if args.quick {
        Timing::quick()
    } else {
        Timing::full()
    };
    let jvm_warmup = args
        .jvm_warmup_ms
        .unwrap_or(if args.quick { 1000.0 } else { 3000.0 });
    let started = Instant::now();
    let load_start = loadavg();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("levin-qbench-")
        .tempdir_in(&base)
        .expect("scratch directory");

    // The data, written once as EDN files that every engine reads.
    let sets = datasets(args.people, args.quick);
    let mut files: Files = HashMap::new();
    let mut sizes: HashMap<String, String> = HashMap::new();
    for d in &sets {
        let p = work.path().join(format!("{}.edn", d.name));
        std::fs::write(&p, &d.edn).expect("write data file");
        files.insert(d.name.clone(), (p, d.schema));
        sizes.insert(d.name.clone(), d.size.clone());
    }
    log(&format!(
        "data: {} files in {} ({} KiB of people)",
        sets.len(),
        work.path().display(),
        sets[0].edn.len() / 1024
    ));
    drop(sets);

    let mut list = benches(args.quick);
    if !args.only.is_empty() {
        list.retain(|b| args.only.iter().any(|o| b.name.starts_with(o.as_str())));
    }
    if args.people != 20_000 {
        for b in &mut list {
            if b.name.starts_with("load-20k") {
                b.name = format!("load-{} (one tx)", args.people);
            }
        }
    }

    // One engine at a time on a small machine: Datalevin, DataScript, then Levin.
    let mut dl_unavailable: Option<String> = None;
    let dl: HashMap<String, Outcome> = if !args.datalevin {
        dl_unavailable = Some("disabled with --no-datalevin".into());
        HashMap::new()
    } else {
        match datalevin::launcher().and_then(|run_clj| {
            datalevin::run(
                &run_clj,
                &list,
                &files,
                work.path(),
                &t,
                jvm_warmup,
                &mut |s| log(s),
            )
        }) {
            Ok(r) => r,
            Err(e) => {
                println!("Datalevin unavailable: {e}");
                dl_unavailable = Some(e);
                HashMap::new()
            }
        }
    };
    let mut ds_unavailable: Option<String> = None;
    let ds: HashMap<String, Outcome> = if !args.datascript {
        ds_unavailable = Some("disabled with --no-datascript".into());
        HashMap::new()
    } else {
        let npm = args
            .npm_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("levin-qbench-npm"));
        match datascript::install(&npm, &mut |s| log(s))
            .and_then(|nbb| datascript::run(&nbb, &list, &files, work.path(), &t, &mut |s| log(s)))
        {
            Ok(r) => r,
            Err(e) => {
                println!("DataScript unavailable: {e}");
                ds_unavailable = Some(e);
                HashMap::new()
            }
        }
    };
    let lv = levin::run(&list, &files, work.path(), &t, args.explain, &mut |s| {
        log(s)
    });

    // The table.
    let mut rows = Vec::new();
    for b in &list {
        let (d, s, l) = (dl.get(&b.name), ds.get(&b.name), lv.get(&b.name));
        let (check, mismatch) = check(&[("Datalevin", d), ("DataScript", s)], l);
        rows.push(Row {
            name: b.name.clone(),
            origin: b.origin,
            dataset: sizes.get(&b.dataset).cloned().unwrap_or_default(),
            dl: cell(d, dl_unavailable.is_some()),
            ds: cell(s, ds_unavailable.is_some()),
            lv: cell(l, false),
            dl_ratio: ratio(d, l),
            ds_ratio: ratio(s, l),
            check,
            mismatch,
        });
    }
    let mut table = String::new();
    row(
        &mut table,
        &[
            "query",
            "from",
            "data",
            "Datalevin ms",
            "DataScript ms",
            "Levin ms",
            "vs Datalevin",
            "vs DataScript",
            "results",
        ]
        .map(String::from),
    );
    row(
        &mut table,
        &[
            "---", "---", "---", "---:", "---:", "---:", "---:", "---:", "---",
        ]
        .map(String::from),
    );
    let fmt_ratio = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.2}x"));
    for r in &rows {
        row(
            &mut table,
            &[
                r.name.clone(),
                r.origin.into(),
                r.dataset.clone(),
                r.dl.clone(),
                r.ds.clone(),
                r.lv.clone(),
                fmt_ratio(r.dl_ratio),
                fmt_ratio(r.ds_ratio),
                r.check.clone(),
            ],
        );
    }
    let last_ds = smallest(&rows, false, &ds_unavailable);
    let last = smallest(&rows, true, &dl_unavailable);

    // Findings, stated plainly.
    let mut findings = Vec::new();
    for (peer, why) in [
        ("Datalevin", &dl_unavailable),
        ("DataScript", &ds_unavailable),
    ] {
        if let Some(why) = why {
            findings.push(format!("{peer} unavailable: {}", one_line(why)));
        }
    }
    for r in &rows {
        if r.mismatch {
            findings.push(format!("`{}`: the engines disagree: {}", r.name, r.check));
        }
        for (who, c) in [
            ("Levin", &r.lv),
            ("Datalevin", &r.dl),
            ("DataScript", &r.ds),
        ] {
            if c.starts_with("unsupported") {
                findings.push(format!("`{}`: {who}: {c}", r.name));
            }
        }
    }
    for (dlcol, peer, goal) in [
        (true, "Datalevin", DL_TARGET),
        (false, "DataScript", TARGET),
    ] {
        let timed: Vec<(&Row, f64)> = rows
            .iter()
            .filter_map(|r| if dlcol { r.dl_ratio } else { r.ds_ratio }.map(|x| (r, x)))
            .collect();
        let behind: Vec<String> = timed
            .iter()
            .filter(|(r, x)| *x < target_of(&r.name, dlcol))
            .map(|(r, x)| format!("{} ({x:.2}x)", r.name))
            .collect();
        if !behind.is_empty() {
            findings.push(format!(
                "Short of the goal vs {peer} ({goal:.0}x; {LOAD_TARGET:.0}x for loads) on {} of {} timed rows: {}.",
                behind.len(),
                timed.len(),
                behind.join(", ")
            ));
        }
    }

    println!();
    print!("{table}");
    for f in &findings {
        println!("- {f}");
    }
    if rows.iter().any(|r| r.mismatch) {
        println!("!!! MISMATCH: the engines disagree on at least one query (see above) !!!");
    }

    if args.docs {
        let machine = Machine::describe(work.path());
        let section = doc_section(
            &args,
            &t,
            jvm_warmup,
            &table,
            &findings,
            &[&last_ds, &last],
            &machine,
            (load_start, loadavg()),
        );
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/BENCHMARKS.md");
        match write_section(&path, &section) {
            Ok(()) => log(&format!("wrote the table to {}", path.display())),
            Err(e) => log(&format!("could not update {}: {e}", path.display())),
        }
    }
    log(&format!("total {:.1} s", started.elapsed().as_secs_f64()));
    println!("{last_ds}");
    println!("{last}");
}

#[allow(clippy::too_many_arguments)]
fn doc_section(
    args: &Args,
    t: &Timing,
    jvm_warmup: f64,
    table: &str,
    findings: &[String],
    last: &[&str],
    m: &Machine,
    load: (f64, f64),
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{SECTION}\n");
    s.push_str(PROSE);
    let _ = writeln!(
        s,
        "Last run: {} ({}, warm-up {} ms, JVM warm-up {} ms, {} samples of at least {} ms; load: {} samples{}), on {} \
         ({} CPUs, {} GiB, {}); load average {:.2} at the start, {:.2} at the end. Levin runs in this process, \
         which allocates with mimalloc (as the `levin` binary does).\n",
        levin_benches::machine::now_utc(),
        if args.quick { "`--quick`" } else { "full" },
        t.warmup_ms,
        jvm_warmup,
        t.samples,
        t.sample_ms,
        t.load_samples,
        if t.load_warmup {
            " after a warm-up load"
        } else {
            ""
        },
        m.cpu_model,
        m.nproc,
        m.mem_gib,
        m.filesystem,
        load.0,
        load.1
    );
    s.push_str(table);
    s.push('\n');
    if !findings.is_empty() {
        for f in findings {
            let _ = writeln!(s, "- {f}");
        }
        s.push('\n');
    }
    for l in last {
        let _ = writeln!(s, "`{l}`");
    }
    s
}

/// Replaces the section (from its heading to the next `## ` heading) or appends it.
fn write_section(path: &Path, section: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let new = match text.find(&format!("\n{SECTION}\n")) {
        Some(start) => {
            let start = start + 1;
            let after = start + SECTION.len();
            let end = text[after..]
                .find("\n## ")
                .map_or(text.len(), |i| after + i + 1);
            let tail = &text[end..];
            let sep = if tail.is_empty() { "" } else { "\n" };
            format!("{}{section}{sep}{tail}", &text[..start])
        }
        None => {
            let sep = if text.ends_with("\n\n") {
                ""
            } else if text.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{text}{sep}{section}")
        }
    };
    std::fs::write(path, new)
}
