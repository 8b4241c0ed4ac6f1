//! Data-driven query tests: tests/data/q_having.edn.
mod q_support;

#[test]
fn having() {
    let n = q_support::run_file("q_having.edn", &q_support::registry());
    assert!(n > 0);
}
