//! Profiling aid for the one-transaction loads of `query-compare` (`load-20k`,
//! `load-orders-20k`): generates the same data (people, or orders with `orders:N`), parses
//! it once, then transacts it into a fresh database several times, printing
//! for each run the wall time and this thread's CPU time (from
//! `/proc/thread-self/schedstat`, so a busy machine disturbs it less).
//!
//! `cargo run --release -p levin-benches --example tx_load -- [people|orders:N] [runs]`; run
//! it under `perf record` to see where a transaction's time goes. As in `query-compare`,
//! parsing the EDN is not timed and commits do not sync.

#![forbid(unsafe_code)]

use std::time::Instant;

use levin_datalog::Conn;
use levin_edn::read;
use levin_engine::{Durability, EnvOptions};

#[path = "../src/query_bench/data.rs"]
#[allow(dead_code)]
mod data;

/// Nanoseconds this thread has run on a CPU (0 where the kernel does not say).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let spec = args.next().unwrap_or_else(|| "20000".into());
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let (what, n, text, schema) = match spec.strip_prefix("orders:") {
        Some(n) => {
            let n: usize = n.parse().expect("orders:N takes a number");
            let text = data::orders(n, data::ORDERS_SEED);
            ("orders", n, text, data::ORDERS_SCHEMA)
        }
        None => {
            let n: usize = spec.parse().expect("a number of people or orders:N");
            (
                "people",
                n,
                data::people(n, data::PEOPLE_SEED),
                data::SCHEMA,
            )
        }
    };
    let tx = read(&text).expect("generated data is EDN");
    let opts = || {
        EnvOptions::new()
            .durability(Durability::NoSync)
            .max_map_size(8 << 30)
    };
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("temporary directory");
        let conn = Conn::open_with(dir.path(), schema, opts()).expect("open");
        let (wall, cpu) = (Instant::now(), cpu_ns());
        // The report is dropped inside the timing, as in `query-compare`.
        let datoms = conn.transact(&tx).expect("transact").tx_data.len();
        let cpu = cpu_ns() - cpu;
        let wall = wall.elapsed();
        println!(
            "run {run}: {n} {what}, {datoms} datoms: {:.1} ms wall, {:.1} ms cpu ({:.2} us cpu per datom)",
            wall.as_secs_f64() * 1e3,
            cpu as f64 / 1e6,
            cpu as f64 / 1e3 / datoms as f64
        );
    }
}
