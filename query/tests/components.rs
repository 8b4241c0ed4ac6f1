//! Data-driven tests: tests/data/components.edn (components).

mod common;

#[test]
fn components() {
    common::run_suite("components.edn", 4096);
}
