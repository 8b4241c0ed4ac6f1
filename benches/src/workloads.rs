//! The workloads of `engine-compare`, after redb's own benchmark suite, written once against
//! [`Engine`] and run unchanged on each engine.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engines::{self, Engine, Reader, Table};
use crate::{random_keys, Rng, KEY_LEN, VALUE_LEN};

/// Seeds of the generated data; the same for every engine.
const SEED_KEYS: u64 = 0x5EED_0001;
const SEED_VALUES: u64 = 0x5EED_0002;
const SEED_INDIVIDUAL: u64 = 0x5EED_0003;
const SEED_BATCH: u64 = 0x5EED_0004;
const SEED_ORDER: u64 = 0x5EED_0005;
const SEED_LARGE: u64 = 0x5EED_0006;
const SEED_LIST: u64 = 0x5EED_0007;
const SEED_OVERWRITE: u64 = 0x5EED_0008;

/// Sizes of the workloads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Params {
    /// Entries of the bulk load (and of the sorted append load).
    pub n: usize,
    /// Individual durable writes, one key per transaction.
    pub individual: usize,
    /// Batch writes: transactions.
    pub batch_txns: usize,
    /// Batch writes: keys per transaction.
    pub batch_size: usize,
    /// Range reads (seek a random key, read `range_len` entries).
    pub range_reads: usize,
    /// Entries per range read.
    pub range_len: usize,
    /// Rounds of large values: each round writes one value of each size 2 KiB, 4 KiB, ...
    /// 2 MiB (about 4 MiB a round).
    pub large_rounds: usize,
    /// Keys of the list workload.
    pub list_keys: usize,
    /// Values per key of the list workload.
    pub list_values: usize,
    /// Keys loaded before the long-reader workload.
    pub reader_keys: usize,
    /// Overwrite transactions while the long reader is held (and again after it ends).
    pub overwrite_txns: usize,
    /// Overwrites per such transaction.
    pub overwrites_per_txn: usize,
    /// Durable commits (the default) or no-sync commits.
    pub durable: bool,
    /// Workload groups to run (`main`, `append`, `large`, `list`, `reader`); empty for all.
    #[serde(default)]
    pub only: Vec<String>,
}

/// The workload groups, in run order.
pub const GROUPS: [&str; 5] = ["main", "append", "large", "list", "reader"];

impl Params {
    fn wants(&self, group: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|g| g == group)
    }
}

impl Params {
    /// Full sizes for `n` entries.
    pub fn full(n: usize, durable: bool) -> Params {
        Params {
            n,
            individual: 10_000,
            batch_txns: 100,
            batch_size: 1000,
            range_reads: n / 2,
            range_len: 10,
            large_rounds: 64,
            list_keys: 100_000,
            list_values: 100,
            reader_keys: n.min(100_000),
            overwrite_txns: 1000,
            overwrites_per_txn: 100,
            durable,
            only: Vec::new(),
        }
    }

    /// Quick sizes (about 100k entries, well under a minute for all three engines).
    pub fn quick(durable: bool) -> Params {
        Params {
            n: 100_000,
            individual: 1000,
            batch_txns: 100,
            batch_size: 1000,
            range_reads: 50_000,
            range_len: 10,
            large_rounds: 16,
            list_keys: 2000,
            list_values: 100,
            reader_keys: 100_000,
            overwrite_txns: 100,
            overwrites_per_txn: 100,
            durable,
            only: Vec::new(),
        }
    }
}

/// What a measurement measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Elapsed milliseconds.
    Ms,
    /// Microseconds (latency percentiles).
    Us,
    /// Bytes (file sizes).
    Bytes,
}

impl Unit {
    /// True for the units of time (those count towards the worst ratio).
    pub fn is_time(self) -> bool {
        matches!(self, Unit::Ms | Unit::Us)
    }
}

/// One measurement of one engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// Workload name (the same for every engine).
    pub name: String,
    /// Unit of `value`.
    pub unit: Unit,
    /// The measured value.
    pub value: f64,
}

/// Everything one worker process (one engine, one workload group) reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupReport {
    /// The engine.
    pub engine: String,
    /// The workload group.
    pub group: String,
    /// Its measurements, in run order.
    pub measurements: Vec<Measurement>,
    /// Peak resident set (VmHWM) of the worker process, KiB; includes the pages of memory
    /// maps that were touched (Levin and LMDB read through `mmap`, redb through its cache).
    pub peak_rss_kib: u64,
    /// Wall time of the worker, seconds.
    pub total_secs: f64,
    /// 1-minute load average when the worker started and when it ended (the machine is
    /// shared; a high load means noisy numbers).
    pub loadavg: (f64, f64),
}

struct Recorder {
    engine: &'static str,
    out: Vec<Measurement>,
}

impl Recorder {
    fn time(&mut self, name: &str, d: Duration) {
        eprintln!(
            "  [{}] {name}: {:.1} ms",
            self.engine,
            d.as_secs_f64() * 1e3
        );
        self.push(name, Unit::Ms, d.as_secs_f64() * 1e3);
    }
    fn push(&mut self, name: &str, unit: Unit, value: f64) {
        match unit {
            Unit::Ms => {}
            Unit::Us => eprintln!("  [{}] {name}: {value:.0} us", self.engine),
            Unit::Bytes => eprintln!("  [{}] {name}: {value:.0} bytes", self.engine),
        }
        self.out.push(Measurement {
            name: name.to_string(),
            unit,
            value,
        });
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// Reads an existing key (see [`engines::digest`] for what is read of the value).
fn touch(r: &dyn Reader, key: &[u8]) -> usize {
    r.get(key).expect("a key that was written is missing")
}

fn value_for(rng: &mut Rng, buf: &mut [u8; VALUE_LEN]) {
    rng.fill(buf);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs every workload on engine `name` under directory `root` (fresh subdirectories per
/// workload group). Progress goes to stderr.
pub fn run_all(name: &str, root: &Path, p: &Params) -> Vec<Measurement> {
    let engine_name: &'static str = engines::ENGINES
        .iter()
        .find(|e| **e == name)
        .copied()
        .unwrap_or_else(|| panic!("unknown engine {name}"));
    let mut rec = Recorder {
        engine: engine_name,
        out: Vec::new(),
    };
    if p.wants("main") || p.wants("append") {
        let keys = random_keys(SEED_KEYS, p.n);
        if p.wants("main") {
            main_workloads(&mut rec, name, &root.join("main"), p, &keys);
        }
        if p.wants("append") {
            append_workload(&mut rec, name, &root.join("append"), p, &keys);
        }
    }
    if p.wants("large") {
        large_values(&mut rec, name, &root.join("large"), p);
    }
    if p.wants("list") {
        list_workloads(&mut rec, name, &root.join("list"), p);
    }
    if p.wants("reader") {
        long_reader(&mut rec, name, &root.join("reader"), p);
    }
    rec.out
}

fn main_workloads(rec: &mut Recorder, name: &str, dir: &Path, p: &Params, keys: &[[u8; KEY_LEN]]) {
    let mut e = engines::open(name, dir, p.durable);

    // Bulk load: N random keys in one transaction.
    let mut vrng = Rng::new(SEED_VALUES);
    let mut v = [0u8; VALUE_LEN];
    let ((), d) = timed(|| {
        e.write(Table::Main, &mut |w| {
            for k in keys {
                value_for(&mut vrng, &mut v);
                w.put(k, &v);
            }
        })
    });
    rec.time("bulk load", d);

    // Individual writes: one key per transaction; also gives the commit latency.
    let ind = random_keys(SEED_INDIVIDUAL, p.individual);
    let mut lat = Vec::with_capacity(ind.len());
    let ((), d) = timed(|| {
        for k in &ind {
            value_for(&mut vrng, &mut v);
            let t = Instant::now();
            e.write(Table::Main, &mut |w| w.put(k, &v));
            lat.push(t.elapsed());
        }
    });
    rec.time("individual writes", d);
    lat.sort_unstable();
    rec.push(
        "commit latency p50",
        Unit::Us,
        percentile(&lat, 0.50).as_secs_f64() * 1e6,
    );
    rec.push(
        "commit latency p99",
        Unit::Us,
        percentile(&lat, 0.99).as_secs_f64() * 1e6,
    );

    // Batch writes: transactions of batch_size new keys.
    let batch = random_keys(SEED_BATCH, p.batch_txns * p.batch_size);
    let ((), d) = timed(|| {
        for chunk in batch.chunks(p.batch_size.max(1)) {
            e.write(Table::Main, &mut |w| {
                for k in chunk {
                    value_for(&mut vrng, &mut v);
                    w.put(k, &v);
                }
            });
        }
    });
    rec.time("batch writes", d);

    // Random reads of existing keys in one transaction, twice.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    Rng::new(SEED_ORDER).shuffle(&mut order);
    for pass in ["random reads", "random reads (again)"] {
        let (sum, d) = timed(|| {
            let mut sum = 0usize;
            e.read(Table::Main, &mut |r| {
                for &i in &order {
                    sum += touch(r, &keys[i]);
                }
            });
            sum
        });
        black_box(sum);
        rec.time(pass, d);
    }

    // Range reads: seek a random key, read range_len entries.
    let mut rrng = Rng::new(SEED_ORDER ^ 1);
    let (sum, d) = timed(|| {
        let mut sum = 0usize;
        e.read(Table::Main, &mut |r| {
            for _ in 0..p.range_reads {
                let k = &keys[rrng.below(keys.len())];
                sum += r.range(k, p.range_len);
            }
        });
        sum
    });
    black_box(sum);
    rec.time("range reads", d);

    // Random reads in 1 and 2 threads: N reads in all, split between the threads, each
    // thread in its own read transaction.
    for threads in [1usize, 2] {
        let per = order.len() / threads;
        let eng: &dyn Engine = &*e;
        let order = &order;
        let ((), d) = timed(|| {
            std::thread::scope(|s| {
                for t in 0..threads {
                    s.spawn(move || {
                        let mut sum = 0usize;
                        eng.read(Table::Main, &mut |r| {
                            for &i in &order[t * per..(t + 1) * per] {
                                sum += touch(r, &keys[i]);
                            }
                        });
                        black_box(sum);
                    });
                }
            })
        });
        let label = if threads == 1 { "thread" } else { "threads" };
        rec.time(&format!("random reads, {threads} {label}"), d);
    }

    // Removals: half the keys in one transaction.
    let ((), d) = timed(|| {
        e.write(Table::Main, &mut |w| {
            for &i in &order[..order.len() / 2] {
                assert!(w.delete(&keys[i]), "key to remove was missing");
            }
        })
    });
    rec.time("removals", d);

    // File size before and after compaction.
    rec.push("file size", Unit::Bytes, e.file_size() as f64);
    let scratch = dir.with_extension("scratch");
    let (size, d) = timed(|| e.compact(&scratch));
    rec.time("compaction", d);
    rec.push("compacted size", Unit::Bytes, size as f64);
    drop(e);
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = std::fs::remove_dir_all(dir);
}

fn append_workload(rec: &mut Recorder, name: &str, dir: &Path, p: &Params, keys: &[[u8; KEY_LEN]]) {
    let e = engines::open(name, dir, p.durable);
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    let mut vrng = Rng::new(SEED_VALUES);
    let mut v = [0u8; VALUE_LEN];
    let ((), d) = timed(|| {
        e.write(Table::Main, &mut |w| {
            for k in &sorted {
                value_for(&mut vrng, &mut v);
                w.append(k, &v);
            }
        })
    });
    rec.time("sorted append load", d);
    rec.push("append file size", Unit::Bytes, e.file_size() as f64);
    drop(e);
    let _ = std::fs::remove_dir_all(dir);
}

fn large_values(rec: &mut Recorder, name: &str, dir: &Path, p: &Params) {
    let e = engines::open(name, dir, p.durable);
    let mut rng = Rng::new(SEED_LARGE);
    let mut buf = vec![0u8; 2 << 20];
    rng.fill(&mut buf);
    let sizes: Vec<usize> = (0..11).map(|i| 2048usize << i).collect(); // 2 KiB .. 2 MiB
    let mut items: Vec<([u8; KEY_LEN], usize)> = Vec::new();
    for _ in 0..p.large_rounds {
        for &s in &sizes {
            items.push((rng.key(), s));
        }
    }
    let ((), d) = timed(|| {
        e.write(Table::Main, &mut |w| {
            for (i, (k, s)) in items.iter().enumerate() {
                // Vary the content a little so values are not all the same prefix.
                let off = (i * 4099) % (buf.len() - s + 1);
                w.put(k, &buf[off..off + s]);
            }
        })
    });
    rec.time("large values write", d);
    rng.shuffle(&mut items);
    let (sum, d) = timed(|| {
        let mut sum = 0usize;
        e.read(Table::Main, &mut |r| {
            for (k, _) in &items {
                sum += touch(r, k);
            }
        });
        sum
    });
    black_box(sum);
    rec.time("large values read", d);
    rec.push("large values file size", Unit::Bytes, e.file_size() as f64);
    drop(e);
    let _ = std::fs::remove_dir_all(dir);
}

fn list_workloads(rec: &mut Recorder, name: &str, dir: &Path, p: &Params) {
    let e = engines::open(name, dir, p.durable);
    let keys = random_keys(SEED_LIST, p.list_keys);
    let mut vrng = Rng::new(SEED_LIST ^ 1);
    let mut first: Vec<[u8; 16]> = Vec::with_capacity(keys.len());
    let ((), d) = timed(|| {
        for chunk in keys.chunks(1000) {
            e.write(Table::List, &mut |w| {
                for k in chunk {
                    for j in 0..p.list_values {
                        let mut v = [0u8; 16];
                        vrng.fill(&mut v);
                        if j == 0 {
                            first.push(v);
                        }
                        w.put_list(k, &v);
                    }
                }
            });
        }
    });
    rec.time("list insert", d);

    let mut order: Vec<usize> = (0..keys.len()).collect();
    Rng::new(SEED_LIST ^ 2).shuffle(&mut order);
    let (count, d) = timed(|| {
        let mut count = 0usize;
        e.read(Table::List, &mut |r| {
            for &i in &order {
                count += r.list(&keys[i]).0;
            }
        });
        count
    });
    assert_eq!(count, keys.len() * p.list_values, "list values missing");
    rec.time("list iterate", d);

    let ((), d) = timed(|| {
        e.write(Table::List, &mut |w| {
            for &i in &order {
                assert!(w.delete_list(&keys[i], &first[i]), "list value missing");
            }
        })
    });
    rec.time("list delete one value", d);
    rec.push("list file size", Unit::Bytes, e.file_size() as f64);
    drop(e);
    let _ = std::fs::remove_dir_all(dir);
}

fn long_reader(rec: &mut Recorder, name: &str, dir: &Path, p: &Params) {
    let e = engines::open(name, dir, p.durable);
    let keys = random_keys(SEED_KEYS, p.reader_keys);
    let mut vrng = Rng::new(SEED_VALUES);
    let mut v = [0u8; VALUE_LEN];
    e.write(Table::Main, &mut |w| {
        for k in &keys {
            value_for(&mut vrng, &mut v);
            w.put(k, &v);
        }
    });
    let before = e.file_size();
    let mut orng = Rng::new(SEED_OVERWRITE);
    let mut overwrite = |e: &dyn Engine| {
        for _ in 0..p.overwrite_txns {
            e.write(Table::Main, &mut |w| {
                for _ in 0..p.overwrites_per_txn {
                    let k = &keys[orng.below(keys.len())];
                    value_for(&mut vrng, &mut v);
                    w.put(k, &v);
                }
            });
        }
    };
    let mut with_reader = Duration::ZERO;
    let eng: &dyn Engine = &*e;
    e.read(Table::Main, &mut |r| {
        // The reader has looked at the data: its snapshot is pinned from here on.
        black_box(touch(r, &keys[0]));
        let t = Instant::now();
        overwrite(eng);
        with_reader = t.elapsed();
    });
    let held = e.file_size();
    let (_, after_d) = timed(|| overwrite(eng));
    let after = e.file_size();
    rec.time("overwrites with a reader held", with_reader);
    rec.time("overwrites after the reader ended", after_d);
    rec.push("reader: file size before", Unit::Bytes, before as f64);
    rec.push("reader: file size while held", Unit::Bytes, held as f64);
    rec.push("reader: file size after", Unit::Bytes, after as f64);
    drop(e);
    let _ = std::fs::remove_dir_all(dir);
}
