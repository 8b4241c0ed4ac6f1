//! Every data-driven suite again with 512-byte pages: small keys make giants common
//! and list values spill into nested trees early.

mod common;

#[test]
fn all_suites_with_512_byte_pages() {
    let mut steps = 0;
    for f in [
        "transact.edn",
        "upsert.edn",
        "lookup_refs.edn",
        "components.edn",
        "cas.edn",
        "pull.edn",
        "schema.edn",
        "index.edn",
    ] {
        steps += common::run_suite(f, 512);
    }
    assert!(steps > 100, "{steps} steps");
}
