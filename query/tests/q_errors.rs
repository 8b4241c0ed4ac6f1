//! Data-driven query tests: tests/data/q_errors.edn.
mod q_support;

#[test]
fn errors() {
    let n = q_support::run_file("q_errors.edn", &q_support::registry());
    assert!(n > 0);
}
