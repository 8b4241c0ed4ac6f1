//! Random transactions against Datalevin: tests/data/tx_random.edn, written by
//! `scripts/random-transactions.py --seed 1 --groups 16 --steps 10` (every group kept), with
//! Datalevin's answers in tests/golden/tx_random.edn. Each `:try-tx` step's report (or
//! refusal) is compared with Datalevin's, and a refused transaction must leave the database
//! unchanged; every transaction is followed by a read (all datoms or max-eid). The generator
//! avoids the shapes where the two differ on purpose (docs/QUERY.md, "Differences from
//! Datalevin", and the entity ids they allocate), so every step must agree.
//!
//! `scripts/differential-random --tx` generates fresh files for other seeds into a
//! directory `D` (`D/data/tx_random_<seed>.edn`, Datalevin's answers in `D/golden/`) and
//! runs `random_dir` (ignored otherwise) with `LEVIN_RANDOM_DIR=D`, which reports every
//! step that disagrees.
mod common;

#[test]
fn tx_random() {
    let n = common::run_suite("tx_random.edn", 4096);
    assert!(n >= 300, "{n} steps");
}

// Reason: it is the full mode, not a CI test: its cases are generated fresh by
// `scripts/differential-random --tx` (new seeds each run) and answered by Datalevin in the same
// run, so without that directory there is nothing to compare. The script runs it with
// `--ignored`; CI covers the checked-in seed through the test above. Plan: keep it
// ignored; CI runs the checked-in seed, and people run fresh seeds with the script.
#[test]
#[ignore = "full mode, run by scripts/differential-random --tx: it needs LEVIN_RANDOM_DIR, a directory of fresh transactions with Datalevin's answers"]
fn random_dir() {
    common::golden::run_random_dir("tx_", "steps", |data, golden, f| {
        common::run_suite_in(data, golden, f, 4096)
    });
}
