//! For the model tests: a query's rows must be the same set, each row once, whichever way
//! the merge scan reads entities (`GroupRead`).

use std::collections::HashSet;

use levin_datalog::Db;
use levin_edn::Edn;
use levin_query::{DbQuery, GroupRead, Registry};
use proptest::prelude::*;

/// Runs `text` with each `GroupRead` and checks its rows against `expected`.
pub fn same_rows_every_read(
    db: &Db,
    text: &str,
    expected: &HashSet<Vec<Edn>>,
) -> Result<(), TestCaseError> {
    for how in [GroupRead::Cheapest, GroupRead::Eav, GroupRead::Ave] {
        let reg = Registry::new().entity_reads(how);
        let rows = match db.q_with(text, &[], &reg) {
            Ok(r) => r.rows,
            Err(e) => panic!("{text}: {e}"),
        };
        let n = rows.len();
        let got: HashSet<Vec<Edn>> = rows.into_iter().collect();
        prop_assert_eq!(n, got.len(), "query {} returned a row twice", text);
        prop_assert_eq!(&got, expected, "query {} reading {:?}", text, how);
    }
    Ok(())
}
