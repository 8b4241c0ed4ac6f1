//! Data-driven query tests: tests/data/q_nested.edn.
mod q_support;

#[test]
fn nested() {
    let n = q_support::run_file("q_nested.edn", &q_support::registry());
    assert!(n > 0);
}
