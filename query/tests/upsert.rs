//! Data-driven tests: tests/data/upsert.edn (upsert).

mod common;

#[test]
fn upsert() {
    common::run_suite("upsert.edn", 4096);
}
