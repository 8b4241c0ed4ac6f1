//! engine-compare: runs the same workloads on Levin, LMDB (heed) and redb, each engine in
//! its own child process (this binary re-executed with a hidden `--worker ENGINE`), and
//! prints a table of times with Levin's ratio to each, peak RSS per engine, and a JSON file.
//!
//! ```text
//! cargo run --release -p levin-benches --bin engine-compare -- --quick
//! cargo run --release -p levin-benches --bin engine-compare            # N = 1,000,000
//! ```
//!
//! Options: `--quick` (about 100k entries), `--n N`, `--nosync` (no-sync commits on every
//! engine instead of durable ones), `--engines levin,lmdb,redb`, `--dir DIR` (where the
//! temporary databases go; default the system temp dir), `--json PATH`, `--list-keys K`,
//! `--individual K`, `--only GROUP,..` (groups: main, append, large, list, reader),
//! `--repeat R` (run each group R times per engine, the engines taking turns; the table and
//! the ratios give each row's median over the R runs, the JSON keeps every run). The last
//! line is `worst ratio vs LMDB: R (WORKLOAD)`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use levin_benches::engines::ENGINES;
use levin_benches::machine::{loadavg, peak_rss_kib, Machine};
use levin_benches::workloads::{run_all, GroupReport, Measurement, Params, Unit, GROUPS};
use serde::Serialize;

const RESULT_PREFIX: &str = "ENGINE-COMPARE-RESULT ";

struct Args {
    quick: bool,
    nosync: bool,
    n: Option<usize>,
    engines: Vec<String>,
    dir: Option<PathBuf>,
    json: Option<PathBuf>,
    list_keys: Option<usize>,
    individual: Option<usize>,
    only: Vec<String>,
    repeat: usize,
    worker: Option<String>,
    params: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: engine-compare [--quick] [--nosync] [--n N] [--engines levin,lmdb,redb] \
         [--dir DIR] [--json PATH] [--list-keys K] [--individual K] \
         [--only main,append,large,list,reader] [--repeat R]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        quick: false,
        nosync: false,
        n: None,
        engines: ENGINES.iter().map(|s| s.to_string()).collect(),
        dir: None,
        json: None,
        list_keys: None,
        individual: None,
        only: Vec::new(),
        repeat: 1,
        worker: None,
        params: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--nosync" => a.nosync = true,
            "--n" => a.n = Some(val().parse().unwrap_or_else(|_| usage())),
            "--engines" => a.engines = val().split(',').map(|s| s.trim().to_string()).collect(),
            "--dir" => a.dir = Some(PathBuf::from(val())),
            "--json" => a.json = Some(PathBuf::from(val())),
            "--list-keys" => a.list_keys = Some(val().parse().unwrap_or_else(|_| usage())),
            "--individual" => a.individual = Some(val().parse().unwrap_or_else(|_| usage())),
            "--only" => a.only = val().split(',').map(|s| s.trim().to_string()).collect(),
            "--repeat" => {
                a.repeat = val()
                    .parse()
                    .ok()
                    .filter(|&r| r > 0)
                    .unwrap_or_else(|| usage())
            }
            "--worker" => a.worker = Some(val()),
            "--params" => a.params = Some(val()),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    for g in &a.only {
        if !GROUPS.contains(&g.as_str()) {
            eprintln!("unknown workload group {g:?}; expected some of {GROUPS:?}");
            std::process::exit(2);
        }
    }
    for e in &a.engines {
        if !ENGINES.contains(&e.as_str()) {
            eprintln!("unknown engine {e:?}; expected some of {ENGINES:?}");
            std::process::exit(2);
        }
    }
    a
}

fn main() {
    let args = parse_args();
    if let Some(engine) = &args.worker {
        worker(engine, &args);
    } else {
        parent(&args);
    }
}

/// The child: runs one workload group (`params.only`) on one engine and prints one result
/// line on stdout.
fn worker(engine: &str, args: &Args) {
    let params: Params =
        serde_json::from_str(args.params.as_deref().expect("--params")).expect("params json");
    let dir = args.dir.clone().expect("--dir");
    let load0 = loadavg();
    let t = Instant::now();
    let measurements = run_all(engine, &dir, &params);
    let report = GroupReport {
        engine: engine.to_string(),
        group: params.only.join(","),
        measurements,
        peak_rss_kib: peak_rss_kib(),
        total_secs: t.elapsed().as_secs_f64(),
        loadavg: (load0, loadavg()),
    };
    println!(
        "{RESULT_PREFIX}{}",
        serde_json::to_string(&report).expect("json")
    );
}

#[derive(Serialize)]
struct Row {
    workload: String,
    unit: Unit,
    values: BTreeMap<String, f64>,
    levin_vs_lmdb: Option<f64>,
    levin_vs_redb: Option<f64>,
}

#[derive(Serialize)]
struct Output<'a> {
    mode: &'static str,
    revision: String,
    durability: &'static str,
    params: &'a Params,
    /// Runs of each group per engine; rows hold the medians.
    repeat: usize,
    machine: &'a Machine,
    workers: &'a [GroupReport],
    rows: &'a [Row],
    worst_vs_lmdb: Option<(String, f64)>,
}

fn parent(args: &Args) {
    let durable = !args.nosync;
    let mut params = if args.quick {
        let mut p = Params::quick(durable);
        if let Some(n) = args.n {
            p = Params {
                n,
                reader_keys: n.min(p.reader_keys),
                range_reads: n / 2,
                ..p
            };
        }
        p
    } else {
        Params::full(args.n.unwrap_or(1_000_000), durable)
    };
    if let Some(k) = args.list_keys {
        params.list_keys = k;
    }
    if let Some(k) = args.individual {
        params.individual = k;
    }
    params.only = args.only.clone();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base).expect("create --dir");
    let root = tempfile::Builder::new()
        .prefix("levin-engine-compare-")
        .tempdir_in(&base)
        .expect("temp dir");
    let machine = Machine::describe(root.path());
    let revision = git_revision();
    println!(
        "engine-compare: {} mode, N = {}, {} commits, databases under {}",
        if args.quick { "quick" } else { "full" },
        params.n,
        if durable { "durable" } else { "no-sync" },
        root.path().display()
    );
    println!("levin revision: {revision}");
    println!(
        "machine: {} x {}, {} GiB RAM, {}, Linux {}",
        machine.nproc, machine.cpu_model, machine.mem_gib, machine.filesystem, machine.kernel
    );
    let exe = std::env::current_exe().expect("current_exe");
    // One worker process per (group, engine), engines interleaved group by group so that
    // each comparison is made close together in time, and each peak RSS is one group's.
    let groups: Vec<&str> = GROUPS
        .iter()
        .copied()
        .filter(|g| args.only.is_empty() || args.only.iter().any(|o| o == g))
        .collect();
    let mut reports = Vec::new();
    let mut failed = false;
    for group in &groups {
        let mut p = params.clone();
        p.only = vec![group.to_string()];
        let params_json = serde_json::to_string(&p).expect("json");
        for (run, engine) in
            (0..args.repeat).flat_map(|run| args.engines.iter().map(move |e| (run, e)))
        {
            eprintln!(
                "== {group} / {engine}, run {} of {} (load average {:.1})",
                run + 1,
                args.repeat,
                loadavg()
            );
            let dir = root.path().join(engine);
            match run_worker(&exe, engine, &dir, &params_json) {
                Ok(r) => reports.push(r),
                Err(e) => {
                    eprintln!("!! {engine} failed in {group}: {e}");
                    failed = true;
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let rows = build_rows(&reports, &groups);
    if args.repeat > 1 {
        println!("\nEach row: the median of {} runs per engine.", args.repeat);
    }
    print_table(&reports, &rows);
    let worst = rows
        .iter()
        .filter(|r| r.unit.is_time())
        .filter_map(|r| r.levin_vs_lmdb.map(|x| (r.workload.clone(), x)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let json_path = args.json.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results")
            .join(if args.quick {
                "engine-compare-quick.json"
            } else {
                "engine-compare.json"
            })
    });
    let out = Output {
        mode: if args.quick { "quick" } else { "full" },
        revision,
        durability: if durable { "durable" } else { "nosync" },
        params: &params,
        repeat: args.repeat,
        machine: &machine,
        workers: &reports,
        rows: &rows,
        worst_vs_lmdb: worst.clone(),
    };
    if let Some(parent) = json_path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&out).expect("json") + "\n",
    ) {
        Ok(()) => println!("results written to {}", json_path.display()),
        Err(e) => eprintln!("could not write {}: {e}", json_path.display()),
    }
    match worst {
        Some((w, r)) => println!("worst ratio vs LMDB: {r:.2} ({w})"),
        None => println!("worst ratio vs LMDB: n/a (no Levin and LMDB results to compare)"),
    }
    if failed {
        std::process::exit(1);
    }
}

/// The commit the benchmark was built from (with "+changes" if the work tree differs),
/// when git is at hand.
fn git_revision() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}+changes")
            } else {
                rev
            }
        }
        None => "unknown".into(),
    }
}

fn run_worker(exe: &Path, engine: &str, dir: &Path, params: &str) -> Result<GroupReport, String> {
    let mut child = Command::new(exe)
        .arg("--worker")
        .arg(engine)
        .arg("--dir")
        .arg(dir)
        .arg("--params")
        .arg(params)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut report = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("read: {e}"))?;
        if let Some(json) = line.strip_prefix(RESULT_PREFIX) {
            report = Some(serde_json::from_str(json).map_err(|e| format!("bad result: {e}"))?);
        } else {
            eprintln!("{line}");
        }
    }
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    if !status.success() {
        return Err(format!("worker exited with {status}"));
    }
    report.ok_or_else(|| "worker printed no result".to_string())
}

/// One engine's measurements in group order, plus a peak-RSS entry per group. A group run
/// several times gives each measurement's median over its runs.
fn engine_measurements(reports: &[GroupReport], engine: &str, groups: &[&str]) -> Vec<Measurement> {
    let runs = |g: &str| -> Vec<&GroupReport> {
        reports
            .iter()
            .filter(|r| r.engine == engine && r.group == g)
            .collect()
    };
    let mut out = Vec::new();
    for g in groups {
        let runs = runs(g);
        let Some(first) = runs.first() else { continue };
        for m in &first.measurements {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.measurements.iter().find(|x| x.name == m.name))
                .map(|x| x.value)
                .collect();
            out.push(Measurement {
                value: median(values),
                ..m.clone()
            });
        }
    }
    for g in groups {
        let runs = runs(g);
        if runs.is_empty() {
            continue;
        }
        out.push(Measurement {
            name: format!("peak RSS, {g} group"),
            unit: Unit::Bytes,
            value: median(
                runs.iter()
                    .map(|r| r.peak_rss_kib as f64 * 1024.0)
                    .collect(),
            ),
        });
    }
    out
}

/// The median (the mean of the middle two for an even count); `values` is not empty.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn build_rows(reports: &[GroupReport], groups: &[&str]) -> Vec<Row> {
    let mut engines: Vec<&str> = Vec::new();
    for r in reports {
        if !engines.contains(&r.engine.as_str()) {
            engines.push(&r.engine);
        }
    }
    let per_engine: Vec<(&str, Vec<Measurement>)> = engines
        .iter()
        .map(|e| (*e, engine_measurements(reports, e, groups)))
        .collect();
    let mut order: Vec<(String, Unit)> = Vec::new();
    for (_, ms) in &per_engine {
        for m in ms {
            if !order.iter().any(|(n, _)| *n == m.name) {
                order.push((m.name.clone(), m.unit));
            }
        }
    }
    order
        .into_iter()
        .map(|(name, unit)| {
            let mut values = BTreeMap::new();
            for (e, ms) in &per_engine {
                if let Some(m) = ms.iter().find(|m| m.name == name) {
                    values.insert(e.to_string(), m.value);
                }
            }
            let ratio = |other: &str| match (values.get("levin"), values.get(other)) {
                (Some(l), Some(o)) if *o > 0.0 => Some(l / o),
                _ => None,
            };
            Row {
                levin_vs_lmdb: ratio("lmdb"),
                levin_vs_redb: ratio("redb"),
                workload: name,
                unit,
                values,
            }
        })
        .collect()
}

fn fmt_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ms if v >= 10_000.0 => format!("{:.2} s", v / 1e3),
        Unit::Ms if v >= 100.0 => format!("{v:.0} ms"),
        Unit::Ms => format!("{v:.1} ms"),
        Unit::Us if v >= 10_000.0 => format!("{:.1} ms", v / 1e3),
        Unit::Us => format!("{v:.0} µs"),
        Unit::Bytes => format!("{:.1} MiB", v / (1024.0 * 1024.0)),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
}

fn print_table(reports: &[GroupReport], rows: &[Row]) {
    let mut engines: Vec<&str> = Vec::new();
    for r in reports {
        if !engines.contains(&r.engine.as_str()) {
            engines.push(&r.engine);
        }
    }
    let mut header = String::from("| workload |");
    let mut sep = String::from("|---|");
    for e in &engines {
        header += &format!(" {e} |");
        sep += "---:|";
    }
    header += " levin/lmdb | levin/redb |";
    sep += "---:|---:|";
    println!();
    println!("{header}");
    println!("{sep}");
    for r in rows {
        let mut line = format!("| {} |", r.workload);
        for e in &engines {
            line += &match r.values.get(*e) {
                Some(v) => format!(" {} |", fmt_value(r.unit, *v)),
                None => " - |".into(),
            };
        }
        line += &format!(
            " {} | {} |",
            fmt_ratio(r.levin_vs_lmdb),
            fmt_ratio(r.levin_vs_redb)
        );
        println!("{line}");
    }
    // Wall time of one run of every group (the mean over repeated runs).
    let wall = |e: &str| -> f64 {
        let runs: Vec<&GroupReport> = reports.iter().filter(|r| r.engine == e).collect();
        let groups = runs
            .iter()
            .map(|r| r.group.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            .max(1);
        let total: f64 = runs.iter().map(|r| r.total_secs).sum();
        total * groups as f64 / runs.len().max(1) as f64
    };
    let mut total = String::from("| all workers (wall) |");
    for e in &engines {
        total += &format!(" {:.1} s |", wall(e));
    }
    let ratio = |other: &str| {
        if engines.contains(&"levin") && engines.contains(&other) && wall(other) > 0.0 {
            format!("{:.2}", wall("levin") / wall(other))
        } else {
            "-".into()
        }
    };
    total += &format!(" {} | {} |", ratio("lmdb"), ratio("redb"));
    println!("{total}");
    println!();
}
