//! Data patterns: constants, variables, `_`, omitted trailing elements, lookup refs and
//! idents in entity position, attribute variables, joins, collection sources.
mod q_support;

#[test]
fn patterns() {
    let n = q_support::run_file("q_patterns.edn", &q_support::registry());
    assert!(n > 0);
}
