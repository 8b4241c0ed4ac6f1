//! Data-driven query tests: tests/data/q_find_exprs.edn.
mod q_support;

#[test]
fn find_exprs() {
    let n = q_support::run_file("q_find_exprs.edn", &q_support::registry());
    assert!(n > 0);
}
