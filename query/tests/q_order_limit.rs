//! Data-driven query tests: tests/data/q_order_limit.edn.
mod q_support;

#[test]
fn order_limit() {
    let n = q_support::run_file("q_order_limit.edn", &q_support::registry());
    assert!(n > 0);
}
