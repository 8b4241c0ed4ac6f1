//! Data-driven query tests: tests/data/q_types.edn, how predicates, `compare` and `str`
//! treat values of different kinds, against Datalevin's answers.
mod q_support;

#[test]
fn types() {
    let n = q_support::run_file("q_types.edn", &q_support::registry());
    assert!(n > 300, "{n} cases");
}
