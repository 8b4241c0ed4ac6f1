//! Data-driven tests: tests/data/lookup_refs.edn (lookup refs).

mod common;

#[test]
fn lookup_refs() {
    common::run_suite("lookup_refs.edn", 4096);
}
