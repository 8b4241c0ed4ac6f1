//! Data-driven query tests: tests/data/q_pull.edn.
mod q_support;

#[test]
fn pull() {
    let n = q_support::run_file("q_pull.edn", &q_support::registry());
    assert!(n > 0);
}
