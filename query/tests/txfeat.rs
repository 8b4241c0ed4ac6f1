//! Data-driven tests: tests/data/txfeat.edn (composite-tuple upserts, transaction
//! function errors, refused search schemas).

mod common;

#[test]
fn txfeat() {
    common::run_suite("txfeat.edn", 4096);
}
