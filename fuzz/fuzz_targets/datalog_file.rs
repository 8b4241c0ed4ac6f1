//! Fuzz target: open a corrupted Datalog database. Page checksums are verified only by the
//! integrity check, so bytes changed inside a leaf reach the Datalog decoders (meta, schema,
//! datom keys and values of every type, giant values, tuples). Opening, reading every datom
//! through both indexes, pulling, querying, the Datalog check and a transaction on top must
//! each give an answer or an error; never panic, hang or abort.
//!
//! Input: a list of 4-byte edits (24-bit offset, byte) applied to a valid small database
//! with 512-byte pages; when the list's length is odd, the file is also truncated.

#![no_main]

use std::sync::OnceLock;

use levin_datalog::{Conn, Index};
use levin_edn::Edn;
use levin_engine::DATA_FILE;

#[path = "../support/small_file.rs"]
mod small_file;
use libfuzzer_sys::fuzz_target;
use small_file::{opts, scratch};

const SCHEMA: &str = r#"{:name {:db/unique :db.unique/identity :db/valueType :db.type/string}
 :age {:db/valueType :db.type/long}
 :score {:db/valueType :db.type/double}
 :tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}
 :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
 :address {:db/valueType :db.type/ref :db/isComponent true}
 :city {:db/valueType :db.type/string}
 :born {:db/valueType :db.type/instant}
 :id {:db/valueType :db.type/uuid :db/unique :db.unique/value}
 :price {:db/valueType :db.type/bigdec}
 :big {:db/valueType :db.type/bigint}
 :blob {:db/valueType :db.type/bytes}
 :note {}
 :pair {:db/tupleTypes [:db.type/string :db.type/long]}
 :name+age {:db/tupleAttrs [:name :age]}}"#;

/// A valid small Datalog database: every value type, a component, a tuple, a giant string
/// (longer than a key can hold), retractions, and stored options.
fn seed_file() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = scratch();
        let conn = Conn::open_with(dir.path(), SCHEMA, opts()).expect("seed conn");
        for i in 0..12 {
            let giant = "g".repeat(if i % 4 == 0 { 700 } else { 3 });
            let tx = format!(
                r#"[{{:db/id "p" :name "person{i}" :age {age} :score {i}.5 :tags [:a{t} :b]
                     {friend} :address {{:city "c{i}"}}
                    :born #inst "2020-01-0{d}T00:00:00Z"
                    :id #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6b{i:02}"
                    :price {i}.25M :big {big}000000000000000000000N :blob #bytes "0a0b{i:02}"
                    :note "{giant}" :pair ["x{i}" {i}]}}]"#,
                age = 20 + i,
                t = i % 3,
                d = 1 + i % 9,
                big = i + 1,
                friend = if i == 0 {
                    ""
                } else {
                    r#":friend [[:name "person0"]]"#
                },
            );
            conn.transact_str(&tx).expect("seed tx");
        }
        conn.transact_str(
            r#"[[:db/retract [:name "person3"] :age 23] [:db/retractEntity [:name "person5"]]]"#,
        )
        .expect("seed retraction");
        conn.merge_options(&levin_edn::read("{:auto-entity-time? true}").unwrap())
            .expect("seed options");
        drop(conn);
        std::fs::read(dir.path().join(DATA_FILE)).expect("seed file")
    })
}

/// Reads everything the read paths decode; every result may be an error.
fn read_all(conn: &Conn) {
    let _ = conn.schema();
    let _ = conn.options();
    let Ok(db) = conn.db() else { return };
    for index in [Index::Eav, Index::Ave] {
        if let Ok(it) = db.datoms(index, &[]) {
            for d in it.take(5_000) {
                if d.is_err() {
                    break;
                }
            }
        }
        if let Ok(it) = db.rseek_datoms(index, &[]) {
            for d in it.take(5_000) {
                if d.is_err() {
                    break;
                }
            }
        }
    }
    for attr in [
        ":name",
        ":tags",
        ":friend",
        ":note",
        ":pair",
        ":name+age",
        ":price",
    ] {
        let a = levin_edn::read(attr).unwrap();
        if let Ok(it) = db.datoms(Index::Ave, std::slice::from_ref(&a)) {
            for d in it.take(1_000) {
                if d.is_err() {
                    break;
                }
            }
        }
    }
    let everything = levin_edn::read("[* {:friend [:name] :address [*]}]").unwrap();
    for e in 1..=db.max_eid().min(64) {
        let _ = db.pull(&everything, &Edn::Long(e as i64));
        if let Ok(Some(ent)) = db.entity(&Edn::Long(e as i64)) {
            let _ = ent.touch();
        }
    }
    let _ = db.pull(
        &everything,
        &levin_edn::read(r#"[:name "person1"]"#).unwrap(),
    );
    for text in [
        "[:find ?e ?a ?v :where [?e ?a ?v]]",
        "[:find ?n (count ?f) :where [?e :name ?n] [?e :friend ?f]]",
        "[:find ?e :where [?e :age ?a] [(> ?a 25)] (not [?e :tags :b])]",
    ] {
        let form = levin_edn::read(text).unwrap();
        if let Ok(mut query) = levin_query::parse_query(&form) {
            query.timeout_ms = Some(200);
            let _ = levin_query::q(&query, &[levin_query::Input::Db(&db)]);
        }
    }
    drop(db);
    let _ = levin_datalog::check::check(conn.env());
}

fuzz_target!(|data: &[u8]| {
    let mut image = seed_file().to_vec();
    let edits = data.chunks_exact(4);
    let truncate = edits.len() % 2 == 1;
    for e in edits {
        let off = u32::from_le_bytes([e[0], e[1], e[2], 0]) as usize % image.len();
        image[off] = e[3];
    }
    if truncate {
        let cut = data.len() * 509 % (image.len() + 1);
        image.truncate(cut);
    }
    let dir = scratch();
    std::fs::write(dir.path().join(DATA_FILE), &image).expect("write image");
    if let Ok(conn) = Conn::open_read_only(dir.path()) {
        read_all(&conn);
    }
    // Opening for writing, then a transaction on top: succeeds or fails cleanly.
    if let Ok(conn) = Conn::open_with(dir.path(), (), opts()) {
        let _ = conn.transact_str(
            r#"[{:name "new" :age 1 :tags [:z] :friend [[:name "person1"]] :note "n"}
                [:db/retractEntity [:name "person2"]]]"#,
        );
        read_all(&conn);
    }
});
