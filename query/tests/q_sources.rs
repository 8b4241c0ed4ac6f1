//! Data-driven query tests: tests/data/q_sources.edn.
mod q_support;

#[test]
fn sources() {
    let n = q_support::run_file("q_sources.edn", &q_support::registry());
    assert!(n > 0);
}
