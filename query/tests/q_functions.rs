//! Data-driven query tests: tests/data/q_functions.edn.
mod q_support;

#[test]
fn functions() {
    let n = q_support::run_file("q_functions.edn", &q_support::registry());
    assert!(n > 0);
}
