//! The query and pull parsers never panic: arbitrary text is read as EDN, parsed as a query
//! (and, when it parses, run against a tiny database with a timeout), and used as a pull
//! pattern against that database.

#![no_main]

use std::sync::OnceLock;

use levin_datalog::Conn;
use levin_edn as edn;
use levin_edn::Edn;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _dir: tempfile::TempDir,
    conn: Conn,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let conn = Conn::open(
            dir.path(),
            "{:name {:db/unique :db.unique/identity} :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}",
        )
        .unwrap();
        conn.transact_str(r#"[{:db/id "a" :name "Ivan" :age 30 :friend "b"} {:db/id "b" :name "Petr" :age 40 :friend "a"}]"#)
            .unwrap();
        Fixture { _dir: dir, conn }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(form) = edn::read(text) else { return };
    let db = fixture().conn.db().unwrap();
    if let Ok(mut query) = levin_query::parse_query(&form) {
        // Bound the work an arbitrary query can ask for.
        query.timeout_ms = Some(50);
        let _ = levin_query::q(&query, &[levin_query::Input::Db(&db)]);
    }
    let _ = db.pull(&form, &Edn::Long(1));
});
