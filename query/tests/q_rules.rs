//! Data-driven query tests: tests/data/q_rules.edn.
mod q_support;

#[test]
fn rules() {
    let n = q_support::run_file("q_rules.edn", &q_support::registry());
    assert!(n > 0);
}
