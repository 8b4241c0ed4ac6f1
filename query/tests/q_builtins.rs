//! Data-driven query tests: tests/data/q_builtins.edn.
mod q_support;

#[test]
fn builtins() {
    let n = q_support::run_file("q_builtins.edn", &q_support::registry());
    assert!(n > 0);
}
