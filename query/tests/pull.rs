//! Data-driven tests: tests/data/pull.edn (pull).

mod common;

#[test]
fn pull() {
    common::run_suite("pull.edn", 4096);
}
