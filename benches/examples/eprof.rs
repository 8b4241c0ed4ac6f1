//! Profiling aid for the engine comparison: runs one workload of `engine-compare` (after
//! the same setup) on each named engine in turn, several rounds, in one process, and prints
//! each round's times and their ratio to the first engine; e.g. under `perf record`.
//!
//! `cargo run --release -p levin-benches --example eprof -- WORKLOAD ROUNDS ENGINE[,ENGINE..]`
//! with WORKLOAD one of `removals`, `removals-split` (Levin only), `removals-bench` (the
//! main group's write history first, then deletes and commit timed apart, any engine),
//! `range`, `list-insert`, `list-iterate`, `large-read`, `compact` (the compacting copy
//! after the removals), `individual` (1,000 one-put durable transactions).
//!
//! `EPROF_PASSES=N` repeats the read passes; `EPROF_SMAPS=1` prints the process's
//! huge-page file mappings and the data-file maps after each run. `EPROF_PERF_CTL=FIFO`
//! writes `enable` / `disable` to a `perf record --control fifo:FIFO -D -1` control fifo
//! around the timed part, so that a profile holds only the timed part;
//! `EPROF_PERF_PART=deletes|commit` narrows that to one part of `removals-bench`.

#![forbid(unsafe_code)]

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use levin_benches::engines::{self, Engine, Table};
use levin_benches::{random_keys, Rng, VALUE_LEN};

fn load_main(e: &dyn Engine, n: usize) -> Vec<[u8; 24]> {
    let keys = random_keys(0x5EED_0001, n);
    let batch = random_keys(0x5EED_0004, n);
    let mut vrng = Rng::new(0x5EED_0002);
    let mut v = [0u8; VALUE_LEN];
    for set in [&keys, &batch] {
        e.write(Table::Main, &mut |w| {
            for k in set.iter() {
                vrng.fill(&mut v);
                w.put(k, &v);
            }
        });
    }
    keys
}

/// The list group's insert, at a fifth of its quick size: 2,000 keys of 100 values each,
/// 1,000 keys per transaction. Returns the keys.
fn load_lists(e: &dyn Engine) -> Vec<[u8; 24]> {
    let keys = random_keys(0x5EED_0007, 2000);
    let mut vrng = Rng::new(0x5EED_0007 ^ 1);
    for chunk in keys.chunks(1000) {
        e.write(Table::List, &mut |w| {
            for k in chunk {
                for _ in 0..100 {
                    let mut v = [0u8; 16];
                    vrng.fill(&mut v);
                    w.put_list(k, &v);
                }
            }
        });
    }
    keys
}

/// Keys bulk-loaded before the `individual` and `removals-bench` workloads: `EPROF_N`,
/// default 100,000.
fn load_size() -> usize {
    std::env::var("EPROF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// Rounds of the `large-read` workload (one value of each size 2 KiB..2 MiB per round):
/// `EPROF_ROUNDS`, default 16 (as the quick benchmark; the full one has 64).
fn large_rounds() -> usize {
    std::env::var("EPROF_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
}

/// Read passes of the read workloads: `EPROF_PASSES`, default 1 (as in the benchmark, the
/// first read after the write).
fn passes() -> usize {
    std::env::var("EPROF_PASSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn run(workload: &str, e: &mut dyn Engine) -> Duration {
    let t;
    match workload {
        "removals" => {
            let keys = load_main(e, 100_000);
            let mut order: Vec<usize> = (0..keys.len()).collect();
            Rng::new(0x5EED_0005).shuffle(&mut order);
            t = start();
            e.write(Table::Main, &mut |w| {
                for &i in &order[..order.len() / 2] {
                    assert!(w.delete(&keys[i]));
                }
            });
        }
        "removals-bench" => {
            // The main group's history before its removals: bulk load, 1,000 one-put
            // transactions, 100 transactions of 1,000 puts, a read pass; then the deletes,
            // timed apart from the commit.
            let keys = random_keys(0x5EED_0001, load_size());
            let mut vrng = Rng::new(0x5EED_0002);
            let mut v = [0u8; VALUE_LEN];
            e.write(Table::Main, &mut |w| {
                for k in &keys {
                    vrng.fill(&mut v);
                    w.put(k, &v);
                }
            });
            for k in &random_keys(0x5EED_0003, 1000) {
                vrng.fill(&mut v);
                e.write(Table::Main, &mut |w| w.put(k, &v));
            }
            for chunk in random_keys(0x5EED_0004, 100_000).chunks(1000) {
                e.write(Table::Main, &mut |w| {
                    for k in chunk {
                        vrng.fill(&mut v);
                        w.put(k, &v);
                    }
                });
            }
            let mut order: Vec<usize> = (0..keys.len()).collect();
            Rng::new(0x5EED_0005).shuffle(&mut order);
            let mut sum = 0;
            e.read(Table::Main, &mut |r| {
                for &i in &order {
                    sum += r.get(&keys[i]).unwrap_or(0);
                }
            });
            black_box(sum);
            let size0 = e.file_size();
            let (cpu0, written0) = (cpu_ns(), written_bytes());
            t = start();
            let (mut deletes, mut cpu1, mut written1) = (Duration::ZERO, 0, 0);
            e.write(Table::Main, &mut |w| {
                for &i in &order[..order.len() / 2] {
                    assert!(w.delete(&keys[i]));
                }
                deletes = t.elapsed();
                (cpu1, written1) = (cpu_ns(), written_bytes());
                perf_part_boundary();
            });
            let all = t.elapsed();
            let (cpu2, written2) = (cpu_ns(), written_bytes());
            let mib = |b: u64| b as f64 / (1 << 20) as f64;
            eprintln!(
                "  {}: deletes {:.1} ms, commit {:.1} ms; on-CPU deletes {:.1} ms, commit {:.1} ms; \
                 written {:.1} + {:.1} MiB; file {:.1} -> {:.1} MiB",
                e.name(),
                deletes.as_secs_f64() * 1e3,
                (all - deletes).as_secs_f64() * 1e3,
                (cpu1 - cpu0) as f64 / 1e6,
                (cpu2 - cpu1) as f64 / 1e6,
                mib(written1 - written0),
                mib(written2 - written1),
                mib(size0),
                mib(e.file_size()),
            );
        }
        "range" => {
            let keys = load_main(e, 100_000);
            let mut rng = Rng::new(0x5EED_0005 ^ 1);
            t = start();
            let mut sum = 0;
            e.read(Table::Main, &mut |r| {
                for _ in 0..200_000 {
                    sum += r.range(&keys[rng.below(keys.len())], 10);
                }
            });
            black_box(sum);
        }
        "list-insert" => {
            t = start();
            load_lists(e);
        }
        "list-iterate" => {
            let keys = load_lists(e);
            let mut order: Vec<usize> = (0..keys.len()).collect();
            Rng::new(0x5EED_0007 ^ 2).shuffle(&mut order);
            t = start();
            let mut count = 0;
            for _ in 0..passes() {
                e.read(Table::List, &mut |r| {
                    for &i in &order {
                        count += r.list(&keys[i]).0;
                    }
                });
            }
            black_box(count);
        }
        "large-read" => {
            let mut rng = Rng::new(0x5EED_0006);
            let mut buf = vec![0u8; 2 << 20];
            rng.fill(&mut buf);
            let mut items = Vec::new();
            for _ in 0..large_rounds() {
                for i in 0..11 {
                    items.push((rng.key(), 2048usize << i));
                }
            }
            e.write(Table::Main, &mut |w| {
                for (i, (k, s)) in items.iter().enumerate() {
                    let off = (i * 4099) % (buf.len() - s + 1);
                    w.put(k, &buf[off..off + s]);
                }
            });
            rng.shuffle(&mut items);
            t = start();
            let mut sum = 0;
            for _ in 0..passes() {
                e.read(Table::Main, &mut |r| {
                    for (k, _) in &items {
                        sum += r.get(k).unwrap();
                    }
                });
            }
            black_box(sum);
        }
        "individual" => {
            // After a bulk load of `EPROF_N` keys (default 100k), as in the benchmark: 1,000
            // transactions of one put each, durable.
            let mut vrng = Rng::new(0x5EED_0002);
            let mut v = [0u8; VALUE_LEN];
            e.write(Table::Main, &mut |w| {
                for k in &random_keys(0x5EED_0001, load_size()) {
                    vrng.fill(&mut v);
                    w.put(k, &v);
                }
            });
            let keys = random_keys(0x5EED_0003, 1000);
            let mut v = [7u8; VALUE_LEN];
            t = start();
            let mut lat = Vec::with_capacity(keys.len());
            for (i, k) in keys.iter().enumerate() {
                v[0] = i as u8;
                let c = Instant::now();
                e.write(Table::Main, &mut |w| w.put(k, &v));
                lat.push(c.elapsed());
            }
            lat.sort_unstable();
            let at = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
            eprintln!(
                "  {}: commit p50 {:.0} us, p90 {:.0}, p99 {:.0}, max {:.0}",
                e.name(),
                at(0.5),
                at(0.9),
                at(0.99),
                at(1.0)
            );
        }
        "compact" => {
            // After the removals, as in the benchmark: the compacting copy, timed.
            let keys = load_main(e, 100_000);
            let mut order: Vec<usize> = (0..keys.len()).collect();
            Rng::new(0x5EED_0005).shuffle(&mut order);
            e.write(Table::Main, &mut |w| {
                for &i in &order[..order.len() / 2] {
                    assert!(w.delete(&keys[i]));
                }
            });
            let scratch = tempfile::tempdir().expect("tempdir");
            t = start();
            let size = e.compact(scratch.path());
            let elapsed = t.elapsed();
            eprintln!(
                "  {}: compacted to {:.1} MiB",
                e.name(),
                size as f64 / (1 << 20) as f64
            );
            return elapsed;
        }
        "removals-split" => {
            // Levin only, through its own API: the deletes and the commit timed apart.
            return removals_split();
        }
        other => panic!("unknown workload {other}"),
    }
    t.elapsed()
}

static START_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Starts the timed part of a workload (and its count of page faults).
fn start() -> Instant {
    START_FAULTS.store(minor_faults(), Ordering::Relaxed);
    if perf_part().as_deref() != Some("commit") {
        perf_ctl("enable");
    }
    Instant::now()
}

/// `EPROF_PERF_PART`: `deletes` or `commit` limits the profile of `removals-bench` to that
/// part of the timed transaction; unset, the profile holds both.
fn perf_part() -> Option<String> {
    std::env::var("EPROF_PERF_PART").ok()
}

/// Called between the deletes and the commit of `removals-bench`.
fn perf_part_boundary() {
    match perf_part().as_deref() {
        Some("commit") => perf_ctl("enable"),
        Some("deletes") => perf_ctl("disable"),
        _ => {}
    }
}

/// Sends `cmd` to perf's control fifo if `EPROF_PERF_CTL` names one.
fn perf_ctl(cmd: &str) {
    if let Some(path) = std::env::var_os("EPROF_PERF_CTL") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
            let _ = writeln!(f, "{cmd}");
        }
    }
}

/// Bytes this process has passed to write system calls so far (`wchar` of
/// `/proc/self/io`), or 0 if unknown.
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`, field 1): the
/// deletes' time without the time other processes held the CPU (and without waits for I/O).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    after
        .split_whitespace()
        .nth(7)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn removals_split() -> Duration {
    use levin_engine::{Env, EnvOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = EnvOptions::new().max_map_size(engines::map_size());
    let env = Env::open_with(dir.path(), opts).expect("open");
    let mut w = env.write().expect("write");
    let db = w.create_db("main").expect("create_db");
    w.commit().expect("commit");
    let keys = random_keys(0x5EED_0001, 100_000);
    let batch = random_keys(0x5EED_0004, 100_000);
    let mut vrng = Rng::new(0x5EED_0002);
    let mut v = [0u8; VALUE_LEN];
    // Two transactions, as `load_main` (the second frees pages the first wrote).
    for set in [&keys, &batch] {
        let mut w = env.write().expect("write");
        for k in set.iter() {
            vrng.fill(&mut v);
            w.put(&db, k, &v).expect("put");
        }
        w.commit().expect("commit");
    }
    print_main_pages(&env, "before the deletes");
    let mut order: Vec<usize> = (0..keys.len()).collect();
    Rng::new(0x5EED_0005).shuffle(&mut order);
    let cpu0 = cpu_ns();
    let t = start();
    let mut w = env.write().expect("write");
    for &i in &order[..order.len() / 2] {
        assert!(w.delete(&db, &keys[i]).expect("delete"));
    }
    let deletes = t.elapsed();
    let cpu1 = cpu_ns();
    w.commit().expect("commit");
    let all = t.elapsed();
    let cpu2 = cpu_ns();
    perf_ctl("disable");
    eprintln!(
        "  deletes {:.1} ms, commit {:.1} ms; on-CPU deletes {:.1} ms, commit {:.1} ms",
        deletes.as_secs_f64() * 1e3,
        (all - deletes).as_secs_f64() * 1e3,
        (cpu1 - cpu0) as f64 / 1e6,
        (cpu2 - cpu1) as f64 / 1e6,
    );
    print_main_pages(&env, "after the commit");
    all
}

/// Prints the `main` database's entries, depth and page counts, after `when`.
fn print_main_pages(env: &levin_engine::Env, when: &str) {
    let stat = env.stat().expect("stat");
    if let Some(d) = stat.databases.iter().find(|d| d.name == "main") {
        eprintln!(
            "  {when}: {} entries, depth {}, {} branch and {} leaf pages",
            d.entries, d.depth, d.branch_pages, d.leaf_pages
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: eprof WORKLOAD ROUNDS ENGINE[,ENGINE..]");
        std::process::exit(2);
    }
    let rounds: usize = args[1].parse().expect("ROUNDS");
    let names: Vec<&str> = args[2].split(',').collect();
    let root = tempfile::tempdir().expect("tempdir");
    for round in 0..rounds {
        let mut times = Vec::new();
        for name in &names {
            let dir = root.path().join(format!("{name}-{round}"));
            let mut e = engines::open(name, &dir, true);
            times.push(run(&args[0], &mut *e));
            perf_ctl("disable");
            let faults = minor_faults() - START_FAULTS.load(Ordering::Relaxed);
            if std::env::var_os("EPROF_SMAPS").is_some() {
                let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
                for l in rollup.lines().filter(|l| l.contains("PmdMapped")) {
                    eprintln!("  {name}: {l}");
                }
                let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
                for l in maps
                    .lines()
                    .filter(|l| l.contains(root.path().to_str().unwrap_or("?")))
                {
                    eprintln!("  {name}: {l}");
                }
            }
            eprintln!("  {name}: {faults} minor faults while timed");
            drop(e);
            let _ = std::fs::remove_dir_all(Path::new(&dir));
        }
        let line: Vec<String> = names
            .iter()
            .zip(&times)
            .map(|(n, t)| {
                format!(
                    "{n} {:.1} ms ({:.2})",
                    t.as_secs_f64() * 1e3,
                    t.as_secs_f64() / times[0].as_secs_f64()
                )
            })
            .collect();
        println!("{} round {round}: {}", args[0], line.join(", "));
    }
}
