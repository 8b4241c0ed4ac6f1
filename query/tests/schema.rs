//! Data-driven tests: tests/data/schema.edn (schema).

mod common;

#[test]
fn schema() {
    common::run_suite("schema.edn", 4096);
}
