//! Profiling aid for the one-transaction load of `query-compare` (`load-20k`): generates
//! the same people data, then transacts it into a fresh database several times, printing
//! for each run the wall time and this thread's CPU time (from
//! `/proc/thread-self/schedstat`, so a busy machine disturbs it less).
//!
//! `cargo run --release -p levin-benches --example tx_load -- [people] [runs]`; run it
//! under `perf record` to see where a transaction's time goes.

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
    let people: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let tx = read(&data::people(people, data::PEOPLE_SEED)).expect("people data is EDN");
    let opts = || {
        EnvOptions::new()
            .durability(Durability::NoSync)
            .max_map_size(8 << 30)
    };
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("temporary directory");
        let conn = Conn::open_with(dir.path(), data::SCHEMA, opts()).expect("open");
        let (wall, cpu) = (Instant::now(), cpu_ns());
        let report = conn.transact(&tx).expect("transact");
        let cpu = cpu_ns() - cpu;
        let wall = wall.elapsed();
        println!(
            "run {run}: {people} people, {} datoms: {:.1} ms wall, {:.1} ms cpu ({:.2} us cpu per datom)",
            report.tx_data.len(),
            wall.as_secs_f64() * 1e3,
            cpu as f64 / 1e6,
            cpu as f64 / 1e3 / report.tx_data.len() as f64
        );
    }
}
