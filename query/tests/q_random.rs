//! Random queries against Datalevin: tests/data/q_random.edn, written by
//! `scripts/random-queries.py --seed 1 --cases 300`, and random pull patterns asked through
//! `(pull ?e pattern)`, tests/data/q_random_pulls.edn, written by the same script with
//! `--pulls`; Datalevin's answers are in tests/golden/.
//!
//! `scripts/differential-random` generates fresh files for other seeds into a directory
//! `D` (`D/data/q_random_<seed>.edn`, Datalevin's answers in `D/golden/`) and runs
//! `random_dir` (ignored otherwise) with `LEVIN_RANDOM_DIR=D`, which reports every case that
//! disagrees.
mod q_support;

use std::path::Path;

#[test]
fn random() {
    let n = q_support::run_file("q_random.edn", &q_support::registry());
    assert!(n >= 300, "{n} cases");
}

#[test]
fn random_pulls() {
    let n = q_support::run_file("q_random_pulls.edn", &q_support::registry());
    assert!(n >= 300, "{n} cases");
}

// Ignored because it is the full mode, not a CI test: its cases are generated fresh by
// `scripts/differential-random` (new seeds each run) and answered by Datalevin in the same
// run, so without that directory there is nothing to compare. The script runs it with
// `--ignored`; CI covers the checked-in seed through the test above. Plan: keep it so.
#[test]
#[ignore = "full mode, run by scripts/differential-random: it needs LEVIN_RANDOM_DIR, a directory of fresh queries with Datalevin's answers"]
fn random_dir() {
    let dir = std::env::var("LEVIN_RANDOM_DIR")
        .expect("LEVIN_RANDOM_DIR names the directory scripts/differential-random fills");
    let (data, golden) = (Path::new(&dir).join("data"), Path::new(&dir).join("golden"));
    let mut files: Vec<String> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("{}: {e}", data.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("q_") && n.ends_with(".edn"))
        .collect();
    files.sort();
    let reg = q_support::registry();
    let (mut cases, mut failures) = (0, vec![]);
    for f in &files {
        let (n, fs) = q_support::run_file_in(&data, &golden, f, &reg);
        cases += n;
        failures.extend(fs.into_iter().map(|m| format!("{f}: {m}")));
    }
    for m in &failures {
        println!("MISMATCH {m}\n");
    }
    println!(
        "{} files, {cases} cases, {} mismatches",
        files.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}
