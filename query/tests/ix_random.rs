//! Random index reads against Datalevin: tests/data/ix_random.edn, written by
//! `scripts/random-index.py --seed 1`, with Datalevin's answers in tests/golden/. Over the
//! random-query dataset, `datoms`, `seek-datoms`, `rseek-datoms`, `index-range`,
//! `count-datoms`, `search-datoms` and `cardinality`, with components and bounds in and out
//! of the data, between small transactions; each answer, in its order, must be Datalevin's.
//!
//! `scripts/differential-random --index` generates fresh files for other seeds into a
//! directory `D` and runs `random_dir` (ignored otherwise) with `LEVIN_RANDOM_DIR=D`.
mod common;

#[test]
fn ix_random() {
    let n = common::run_suite("ix_random.edn", 4096);
    assert!(n >= 300, "{n} steps");
}

// Reason: it is the full mode, not a CI test: its steps are generated fresh by
// `scripts/differential-random --index` (new seeds each run) and answered by Datalevin in
// the same run, so without that directory there is nothing to compare. The script runs it
// with `--ignored`; CI covers the checked-in seed through the test above. Plan: keep it
// ignored; CI runs the checked-in seed, and people run fresh seeds with the script.
#[test]
#[ignore = "full mode, run by scripts/differential-random --index: it needs LEVIN_RANDOM_DIR, a directory of fresh index reads with Datalevin's answers"]
fn random_dir() {
    common::golden::run_random_dir("ix_", "steps", |data, golden, f| {
        common::run_suite_in(data, golden, f, 4096)
    });
}
