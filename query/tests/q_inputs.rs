//! Data-driven query tests: tests/data/q_inputs.edn.
mod q_support;

#[test]
fn inputs() {
    let n = q_support::run_file("q_inputs.edn", &q_support::registry());
    assert!(n > 0);
}
