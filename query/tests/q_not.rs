//! Data-driven query tests: tests/data/q_not.edn.
mod q_support;

#[test]
fn not() {
    let n = q_support::run_file("q_not.edn", &q_support::registry());
    assert!(n > 0);
}
