//! Transactions (tests/data/transact.edn): entity maps, :db/add and retractions,
//! cardinality, tempids, nested maps, value types, errors, atomicity and giants.

mod common;

#[test]
fn transact() {
    common::run_suite("transact.edn", 4096);
}
