//! query-compare: DataScript's query benchmarks (plus Datalevin's additions, an aggregate,
//! recursive rules and a one-transaction load) on Levin's query engine and on DataScript
//! (under node, through the npm package `@logseq/nbb-logseq`), on the same generated data.
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
//! `--no-docs` (do not rewrite the section of docs/BENCHMARKS.md), `--explain` (print
//! Levin's plan of each query). The last line is
//! `smallest ratio vs DataScript: R (QUERY)`, R being DataScript's median time over Levin's.

#![forbid(unsafe_code)]

#[path = "../query_bench/mod.rs"]
mod query_bench;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use levin_benches::machine::{loadavg, Machine};
use query_bench::{agree, benches, datascript, datasets, fmt_ms, levin, row, Outcome, Timing};

const SECTION: &str = "## Query benchmark vs DataScript";
const TARGET: f64 = 20.0;
/// The goal for the one-transaction load rows.
const LOAD_TARGET: f64 = 10.0;

/// The goal of a row: loads have their own.
fn target_of(name: &str) -> f64 {
    if name.starts_with("load") {
        LOAD_TARGET
    } else {
        TARGET
    }
}

/// The fixed text of the section, before the run's table.
const PROSE: &str = r#"**`query-compare`** (`benches/src/bin/query-compare.rs`, `benches/src/query_bench/`) runs
[DataScript's benchmark queries](https://github.com/tonsky/datascript/blob/master/bench/datascript/bench/datascript.cljc)
(q1-q4, q5 short-circuit, qpred1, qpred2, the recursive `follows` rule on the wide and long
graphs, and `add-all`: every person in one transaction), Datalevin's additions (q2-switch,
q5 value join) and an aggregate query, on Levin's query engine and on DataScript, with the
same data and the same query text.

```sh
cargo run --release -p levin-benches --bin query-compare -- --quick   # under a minute
cargo run --release -p levin-benches --bin query-compare              # full, about 3 minutes
```

Options: `--quick` (shorter samples, a single load, the smaller graphs, no q5 value join),
`--people N`, `--only NAME,..`, `--dir DIR` (data files and Levin's databases), `--npm-dir
DIR` (where nbb-logseq is installed; default `$TMPDIR/levin-qbench-npm`, reused),
`--no-datascript`, `--no-docs` (leave this section alone), `--explain` (print Levin's plan
of each query). Each run rewrites this section with its table.

- **Data.** DataScript's `random-man` generator with a seeded SplitMix64 instead of
  `rand-nth`: 20,000 people (`:name`, `:last-name`, `:full-name`, 0-9 `:alias`es, `:sex`,
  `:age`, `:salary`), shuffled; explicit integer `:db/id`s so that both engines give the
  same entity ids; DataScript's schema (`:alias` cardinality many, `:follows` a
  cardinality-many ref, `:id` unique identity; no value types). The data is written once as
  EDN files that both engines read; parsing is not timed.
- **DataScript** runs in node through `@logseq/nbb-logseq` (an advanced-compiled
  ClojureScript build that bundles DataScript), pinned in `benches/datascript/package.json`
  and installed by the benchmark into a scratch folder; `benches/datascript/query-bench.cljs`
  builds each database with `d/db-with` and times `d/q`. This is DataScript on V8, like
  DataScript's own `bench_cljs`; DataScript on the JVM is several times faster (its 0.18.0
  changelog: q1 1.9 ms on the JVM vs 6.4 ms on V8, q4 13.3 vs 33.6 ms), so a ratio here
  overstates Levin's lead over JVM DataScript by about that factor. If node or npm is
  missing the program prints `DataScript unavailable: ...` and runs Levin alone.
- **Levin** loads each data set with `Conn::transact` (no-sync commits) and times `db.q(..)`
  on one snapshot, in the benchmark process, after DataScript has finished.
- **Timing** (both engines alike): a warm-up, then samples, each running the query
  repeatedly for a minimum time and recording the mean per run; the figure is the median
  sample. The load is timed once per sample, each on a fresh empty database.
- **ratio** is DataScript's time over Levin's (above 1: Levin is faster); the goal is 20x.
  **results** compares the two engines' results: the count, and the rows as sets
  (canonical text); a disagreement reads **MISMATCH**. A query Levin cannot run shows
  `unsupported: <error>`.

"#;

struct Args {
    quick: bool,
    people: usize,
    only: Vec<String>,
    dir: Option<PathBuf>,
    npm_dir: Option<PathBuf>,
    datascript: bool,
    docs: bool,
    explain: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: query-compare [--quick] [--people N] [--only NAME,..] [--dir DIR] \
         [--npm-dir DIR] [--no-datascript] [--no-docs] [--explain]"
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
    ds: String,
    lv: String,
    ratio: Option<f64>,
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

fn main() {
    let args = parse_args();
    let t = if args.quick {
        Timing::quick()
    } else {
        Timing::full()
    };
    let started = Instant::now();
    let load_start = loadavg();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("levin-qbench-")
        .tempdir_in(&base)
        .expect("scratch directory");

    // The data, written once as EDN files that both engines read.
    let sets = datasets(args.people, args.quick);
    let mut files: HashMap<String, PathBuf> = HashMap::new();
    let mut sizes: HashMap<String, String> = HashMap::new();
    for d in &sets {
        let p = work.path().join(format!("{}.edn", d.name));
        std::fs::write(&p, &d.edn).expect("write data file");
        files.insert(d.name.clone(), p);
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

    // DataScript first, then Levin: never both at once on a small machine.
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
        let d = ds.get(&b.name);
        let l = lv.get(&b.name);
        let ratio = match (d.and_then(|o| o.median_ms), l.and_then(|o| o.median_ms)) {
            (Some(x), Some(y)) if y > 0.0 => Some(x / y),
            _ => None,
        };
        let (check, mismatch) = match (d, l) {
            (Some(d), Some(l)) if d.error.is_none() && l.error.is_none() => match agree(d, l) {
                Ok(what) => (format!("{what} ({})", l.count.unwrap_or(0)), false),
                Err(why) => (format!("**MISMATCH: {}**", one_line(&why)), true),
            },
            (_, Some(l)) if l.error.is_none() => {
                (format!("({} rows)", l.count.unwrap_or(0)), false)
            }
            _ => ("-".into(), false),
        };
        rows.push(Row {
            name: b.name.clone(),
            origin: b.origin,
            dataset: sizes.get(&b.dataset).cloned().unwrap_or_default(),
            ds: cell(d, ds_unavailable.is_some()),
            lv: cell(l, false),
            ratio,
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
            "DataScript ms",
            "Levin ms",
            "ratio",
            "results",
        ]
        .map(String::from),
    );
    row(
        &mut table,
        &["---", "---", "---", "---:", "---:", "---:", "---"].map(String::from),
    );
    for r in &rows {
        row(
            &mut table,
            &[
                r.name.clone(),
                r.origin.into(),
                r.dataset.clone(),
                r.ds.clone(),
                r.lv.clone(),
                r.ratio.map_or("-".into(), |x| format!("{x:.2}x")),
                r.check.clone(),
            ],
        );
    }
    let smallest = rows
        .iter()
        .filter_map(|r| r.ratio.map(|x| (x, r.name.clone())))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let last = match (&smallest, &ds_unavailable) {
        (Some((x, name)), _) => format!("smallest ratio vs DataScript: {x:.2} ({name})"),
        (None, Some(why)) => {
            format!("smallest ratio vs DataScript: n/a (DataScript unavailable: {why})")
        }
        (None, None) => "smallest ratio vs DataScript: n/a (no query ran on both)".into(),
    };

    // Findings, stated plainly.
    let mut findings = Vec::new();
    if let Some(why) = &ds_unavailable {
        findings.push(format!("DataScript unavailable: {}", one_line(why)));
    }
    for r in &rows {
        if r.mismatch {
            findings.push(format!("`{}`: the engines disagree: {}", r.name, r.check));
        }
        if r.lv.starts_with("unsupported") {
            findings.push(format!("`{}`: Levin: {}", r.name, r.lv));
        }
        if r.ds.starts_with("unsupported") {
            findings.push(format!("`{}`: DataScript: {}", r.name, r.ds));
        }
    }
    let behind: Vec<String> = rows
        .iter()
        .filter(|r| r.ratio.is_some_and(|x| x < target_of(&r.name)))
        .map(|r| format!("{} ({:.2}x)", r.name, r.ratio.unwrap_or(0.0)))
        .collect();
    if !behind.is_empty() {
        findings.push(format!(
            "Short of the goal ({TARGET:.0}x ahead of DataScript; {LOAD_TARGET:.0}x for the load) on {} of {} timed rows: {}.",
            behind.len(),
            rows.iter().filter(|r| r.ratio.is_some()).count(),
            behind.join(", ")
        ));
    }

    println!();
    print!("{table}");
    for f in &findings {
        println!("- {f}");
    }

    if args.docs {
        let machine = Machine::describe(work.path());
        let section = doc_section(
            &args,
            &t,
            &table,
            &findings,
            &last,
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
    println!("{last}");
}

fn doc_section(
    args: &Args,
    t: &Timing,
    table: &str,
    findings: &[String],
    last: &str,
    m: &Machine,
    load: (f64, f64),
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{SECTION}\n");
    s.push_str(PROSE);
    let _ = writeln!(
        s,
        "Last run: {} ({}, warm-up {} ms, {} samples of at least {} ms; load: {} samples{}), on {} \
         ({} CPUs, {} GiB, {}); load average {:.2} at the start, {:.2} at the end.\n",
        levin_benches::machine::now_utc(),
        if args.quick { "`--quick`" } else { "full" },
        t.warmup_ms,
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
    let _ = writeln!(s, "`{last}`");
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
