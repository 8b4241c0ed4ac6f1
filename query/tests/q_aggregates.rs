//! Data-driven query tests: tests/data/q_aggregates.edn.
mod q_support;

#[test]
fn aggregates() {
    let n = q_support::run_file("q_aggregates.edn", &q_support::registry());
    assert!(n > 0);
}
