//! Data-driven tests: tests/data/index.edn (index).

mod common;

#[test]
fn index() {
    common::run_suite("index.edn", 4096);
}
