//! Data-driven tests: tests/data/cas.edn (cas).

mod common;

#[test]
fn cas() {
    common::run_suite("cas.edn", 4096);
}
