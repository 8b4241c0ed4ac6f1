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

// Reason: it is the full mode, not a CI test: its cases are generated fresh by
// `scripts/differential-random` (new seeds each run) and answered by Datalevin in the same
// run, so without that directory there is nothing to compare. The script runs it with
// `--ignored`; CI covers the checked-in seed through the test above. Plan: keep it
// ignored; CI runs the checked-in seed, and people run fresh seeds with the script.
#[test]
#[ignore = "full mode, run by scripts/differential-random: it needs LEVIN_RANDOM_DIR, a directory of fresh queries with Datalevin's answers"]
fn random_dir() {
    let reg = q_support::registry();
    q_support::golden::run_random_dir("q_", "cases", |data, golden, f| {
        q_support::run_file_in(data, golden, f, &reg)
    });
}
