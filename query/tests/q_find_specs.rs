//! Data-driven query tests: tests/data/q_find_specs.edn.
mod q_support;

#[test]
fn find_specs() {
    let n = q_support::run_file("q_find_specs.edn", &q_support::registry());
    assert!(n > 0);
}
