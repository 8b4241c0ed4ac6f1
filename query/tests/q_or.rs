//! Data-driven query tests: tests/data/q_or.edn.
mod q_support;

#[test]
fn or() {
    let n = q_support::run_file("q_or.edn", &q_support::registry());
    assert!(n > 0);
}
