//! Explicit transactions, transaction ids, bounded writer waits, clearing, schema deletes
//! and renames, reverse seeks, and opening without writing.

use std::time::{Duration, Instant};

use levin_datalog::{Conn, Db, Index, SchemaUpdate};
use levin_edn::{read, Edn, Keyword};
use levin_engine::EnvOptions;

const SCHEMA: &str = "{:person/name {:db/unique :db.unique/identity}
                      :person/age {:db/valueType :db.type/long}
                      :person/friend {:db/valueType :db.type/ref
                                      :db/cardinality :db.cardinality/many}}";

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

fn kw(s: &str) -> Keyword {
    levin_datalog::keyword(s)
}

fn names(db: &Db<'_>) -> Vec<String> {
    db.datoms(Index::Ave, &[e(":person/name")])
        .unwrap()
        .map(|d| d.unwrap().v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_explicit_transaction_reads_its_own_writes_and_commits_them_at_once() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.transact(&e(r#"[{:person/name "Ivan" :person/age 30}]"#))
        .unwrap();
    let mut t = conn.begin().unwrap();
    let r1 = t
        .transact(&e(r#"[{:db/id "p" :person/name "Petr" :person/age 40}]"#))
        .unwrap();
    let petr = r1.tempid(&e(r#""p""#)).unwrap();
    // A lookup ref in a later call resolves against the first call's write.
    let r2 = t
        .transact(&e(
            r#"[[:db/add [:person/name "Petr"] :person/friend [:person/name "Ivan"]]]"#,
        ))
        .unwrap();
    assert_eq!(r1.tx, r2.tx, "one transaction, one id");
    assert_eq!(t.id(), r1.tx);
    {
        let db = t.db().unwrap();
        assert_eq!(names(&db), ["Ivan", "Petr"]);
        assert_eq!(
            db.pull(
                &e("[:person/age {:person/friend [:person/name]}]"),
                &Edn::Long(petr as i64)
            )
            .unwrap(),
            e(r#"{:person/age 40 :person/friend [{:person/name "Ivan"}]}"#)
        );
    }
    // Nobody else sees it yet.
    assert_eq!(names(&conn.db().unwrap()), ["Ivan"]);
    let id = t.commit().unwrap();
    assert_eq!(id, r1.tx);
    assert_eq!(names(&conn.db().unwrap()), ["Ivan", "Petr"]);
}

#[test]
fn an_aborted_transaction_leaves_nothing_behind() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.transact(&e(r#"[{:person/name "Ivan"}]"#)).unwrap();
    let before = conn.db().unwrap().max_eid();
    let mut t = conn.begin().unwrap();
    t.transact(&e(r#"[{:person/name "Petr"} {:new/attr 1}]"#))
        .unwrap();
    assert_eq!(names(&t.db().unwrap()), ["Ivan", "Petr"]);
    t.abort();
    let db = conn.db().unwrap();
    assert_eq!(names(&db), ["Ivan"]);
    assert_eq!(db.max_eid(), before);
    assert!(db.schema().get(&kw(":new/attr")).is_none());
    assert!(conn.schema().get(&kw(":new/attr")).is_none());
    // Dropping without commit aborts too, and frees the writer.
    let mut t = conn.begin().unwrap();
    t.transact(&e(r#"[{:person/name "Oleg"}]"#)).unwrap();
    drop(t);
    conn.transact(&e(r#"[{:person/name "Anna"}]"#)).unwrap();
    assert_eq!(names(&conn.db().unwrap()), ["Anna", "Ivan"]);
}

#[test]
fn a_failed_call_leaves_the_transaction_only_abortable() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let mut t = conn.begin().unwrap();
    t.transact(&e(r#"[{:person/name "Ivan"}]"#)).unwrap();
    let err = t
        .transact(&e(r#"[[:db/add [:person/name "Nobody"] :person/age 1]]"#))
        .unwrap_err();
    assert!(err.to_string().contains("Nobody"), "{err}");
    let again = t.transact(&e(r#"[{:person/name "Petr"}]"#)).unwrap_err();
    assert!(again.to_string().contains("abort"), "{again}");
    assert!(t.db().is_err());
    assert!(t.commit().is_err());
    assert!(names(&conn.db().unwrap()).is_empty());
    conn.transact(&e(r#"[{:person/name "Anna"}]"#)).unwrap();
}

#[test]
fn a_writer_wait_times_out_with_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let other = Conn::open(d.path(), ()).unwrap();
    other.set_writer_timeout(Some(Duration::from_millis(50)));
    let held = conn.begin().unwrap();
    let t0 = Instant::now();
    let err = other
        .transact(&e(r#"[{:person/name "Petr"}]"#))
        .unwrap_err();
    assert!(err.is_writer_busy(), "{err}");
    assert!(t0.elapsed() >= Duration::from_millis(50));
    assert!(err.to_string().contains("try again"), "{err}");
    let err = other.begin().unwrap_err();
    assert!(err.is_writer_busy(), "{err}");
    held.abort();
    other.transact(&e(r#"[{:person/name "Petr"}]"#)).unwrap();
    assert_eq!(names(&conn.db().unwrap()), ["Petr"]);
}

#[test]
fn a_writer_wait_across_processes_times_out_too() {
    // A second environment handle in a child process holds the writer; this process's
    // bounded wait gives up. Uses the test binary itself as the child.
    if let Ok(dir) = std::env::var("LEVIN_TEST_HOLD_WRITER") {
        let conn = Conn::open(&dir, ()).unwrap();
        let _t = conn.begin().unwrap();
        std::fs::write(format!("{dir}/held"), b"").unwrap();
        std::thread::sleep(Duration::from_secs(3));
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_writer_wait_across_processes_times_out_too",
            "--nocapture",
        ])
        .env("LEVIN_TEST_HOLD_WRITER", d.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = d.path().join("held");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !held.exists() {
        assert!(Instant::now() < deadline, "the child never took the writer");
        std::thread::sleep(Duration::from_millis(10));
    }
    conn.set_writer_timeout(Some(Duration::from_millis(100)));
    let err = conn.transact(&e(r#"[{:person/name "Petr"}]"#)).unwrap_err();
    assert!(err.is_writer_busy(), "{err}");
    child.wait().unwrap();
    conn.transact(&e(r#"[{:person/name "Petr"}]"#)).unwrap();
}

#[test]
fn clear_drops_every_datom_and_keeps_the_schema() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.transact(&e(
        r#"[{:person/name "Ivan" :person/age 3 :person/friend {:person/name "Petr"}}]"#,
    ))
    .unwrap();
    conn.clear().unwrap();
    let db = conn.db().unwrap();
    assert_eq!(db.datom_count().unwrap(), 0);
    assert_eq!(db.max_eid(), 0);
    assert!(db.schema().get(&kw(":person/friend")).unwrap().is_ref());
    let r = conn
        .transact(&e(r#"[{:db/id "x" :person/name "Ivan"}]"#))
        .unwrap();
    assert_eq!(r.tempid(&e(r#""x""#)), Some(1));
}

#[test]
fn an_attribute_rename_is_seen_under_the_new_name() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        d.path(),
        "{:p/name {:db/unique :db.unique/identity} :p/age {:db/valueType :db.type/long}
          :p/key {:db/valueType :db.type/tuple :db/tupleAttrs [:p/name :p/age]}}",
    )
    .unwrap();
    conn.transact(&e(r#"[{:p/name "Ivan" :p/age 30}]"#))
        .unwrap();
    let update = SchemaUpdate {
        rename: vec![(kw(":p/age"), kw(":p/years"))],
        ..SchemaUpdate::default()
    };
    conn.update_schema_with((), &update).unwrap();
    let db = conn.db().unwrap();
    assert!(db.schema().get(&kw(":p/age")).is_none());
    assert_eq!(
        db.pull(&e("[:p/years :p/key]"), &e(r#"[:p/name "Ivan"]"#))
            .unwrap(),
        e(r#"{:p/years 30 :p/key ["Ivan" 30]}"#)
    );
    assert_eq!(
        db.schema()
            .get(&kw(":p/key"))
            .unwrap()
            .tuple_attrs
            .clone()
            .unwrap(),
        vec![kw(":p/name"), kw(":p/years")]
    );
    // Writing through the new name keeps the tuple up to date.
    conn.transact(&e(r#"[{:p/name "Ivan" :p/years 31}]"#))
        .unwrap();
    assert_eq!(
        conn.db()
            .unwrap()
            .pull(&e("[:p/key]"), &e(r#"[:p/name "Ivan"]"#))
            .unwrap(),
        e(r#"{:p/key ["Ivan" 31]}"#)
    );
    // The rename survives reopening.
    drop((db, conn));
    let conn = Conn::open(d.path(), ()).unwrap();
    assert!(conn.schema().get(&kw(":p/years")).is_some());
    // A rename onto an existing name, or of an unknown one, is refused.
    let clash = SchemaUpdate {
        rename: vec![(kw(":p/years"), kw(":p/name"))],
        ..SchemaUpdate::default()
    };
    let err = conn.update_schema_with((), &clash).unwrap_err();
    assert!(err.to_string().contains("already in the schema"), "{err}");
}

#[test]
fn only_an_unused_attribute_can_be_deleted() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.update_schema("{:person/nick {:db/valueType :db.type/string}}")
        .unwrap();
    conn.transact(&e(r#"[{:person/name "Ivan" :person/age 3}]"#))
        .unwrap();
    let delete = |k: &str| SchemaUpdate {
        delete: vec![kw(k)],
        ..SchemaUpdate::default()
    };
    let err = conn
        .update_schema_with((), &delete(":person/age"))
        .unwrap_err();
    assert!(err.to_string().contains("in use by 1 datoms"), "{err}");
    assert!(conn.schema().get(&kw(":person/age")).is_some());
    conn.update_schema_with((), &delete(":person/nick"))
        .unwrap();
    assert!(conn.schema().get(&kw(":person/nick")).is_none());
    let err = conn
        .update_schema_with((), &delete(":person/nick"))
        .unwrap_err();
    assert!(err.to_string().contains("not in the schema"), "{err}");
    let reopened = Conn::open(d.path(), ()).unwrap();
    assert!(reopened.schema().get(&kw(":person/nick")).is_none());
}

#[test]
fn rseek_datoms_walks_the_index_backwards() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.transact(&e(r#"[{:db/id 1 :person/name "A" :person/age 10}
            {:db/id 2 :person/name "B" :person/age 20}
            {:db/id 3 :person/name "C" :person/age 20}
            {:db/id 4 :person/name "D" :person/age 30}]"#))
        .unwrap();
    let db = conn.db().unwrap();
    let edn = |index: Index, c: &str| -> Vec<String> {
        db.rseek_datoms(index, read(c).unwrap().as_vec().unwrap())
            .unwrap()
            .map(|d| d.unwrap().to_string())
            .collect()
    };
    assert_eq!(
        edn(Index::Ave, "[:person/age 20 2]"),
        ["[2 :person/age 20]", "[1 :person/age 10]"]
    );
    assert_eq!(
        edn(Index::Ave, "[:person/age 20]"),
        [
            "[3 :person/age 20]",
            "[2 :person/age 20]",
            "[1 :person/age 10]"
        ]
    );
    // A value that is not stored: everything before where it would sort.
    assert_eq!(
        edn(Index::Ave, "[:person/age 25]"),
        [
            "[3 :person/age 20]",
            "[2 :person/age 20]",
            "[1 :person/age 10]"
        ]
    );
    // As Datalevin, a given attribute bounds the read to itself: entities at or before 2
    // with an age, each with its ages at or before 20 when a value is given too.
    assert_eq!(
        edn(Index::Eav, "[2 :person/age]"),
        ["[2 :person/age 20]", "[1 :person/age 10]"]
    );
    assert_eq!(
        edn(Index::Eav, "[4 :person/age 20]"),
        [
            "[3 :person/age 20]",
            "[2 :person/age 20]",
            "[1 :person/age 10]"
        ]
    );
    // The entity alone: every datom back to the start, the entity's own first.
    assert_eq!(
        edn(Index::Eav, "[2]"),
        [
            "[2 :person/name \"B\"]",
            "[2 :person/age 20]",
            "[1 :person/name \"A\"]",
            "[1 :person/age 10]"
        ]
    );
    // The whole index backwards is the forward scan reversed.
    let mut forward: Vec<String> = db
        .datoms(Index::Eav, &[])
        .unwrap()
        .map(|d| d.unwrap().to_string())
        .collect();
    forward.reverse();
    assert_eq!(edn(Index::Eav, "[]"), forward);
}

#[test]
fn opening_an_existing_database_for_reading_never_writes() {
    let d = tempfile::tempdir().unwrap();
    {
        let conn = Conn::open(d.path(), SCHEMA).unwrap();
        conn.transact(&e(r#"[{:person/name "Ivan"}]"#)).unwrap();
    }
    let id_before = levin_engine::Env::open(d.path())
        .unwrap()
        .stat()
        .unwrap()
        .txn_id;
    // Opening with no schema, or with a schema it already holds, writes nothing...
    Conn::open(d.path(), ()).unwrap();
    Conn::open(d.path(), SCHEMA).unwrap();
    let env = levin_engine::Env::open(d.path()).unwrap();
    assert_eq!(env.stat().unwrap().txn_id, id_before);
    // ...and so does not wait for a writer another handle holds.
    let writer = Conn::open(d.path(), ()).unwrap();
    let held = writer.begin().unwrap();
    let conn = Conn::open_with(d.path(), (), EnvOptions::new().read_only(true)).unwrap();
    assert_eq!(names(&conn.db().unwrap()), ["Ivan"]);
    held.abort();
    // A read-only open of a directory that is not a Datalog database says so.
    let kv_only = tempfile::tempdir().unwrap();
    levin_engine::Env::open(kv_only.path()).unwrap();
    let err = Conn::open_with(kv_only.path(), (), EnvOptions::new().read_only(true)).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[test]
fn connections_and_snapshots_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Conn>();
    send::<Db<'static>>();
    send::<levin_datalog::Transaction>();
    send_sync::<levin_datalog::TxReport>();
    send_sync::<levin_datalog::Error>();
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                conn.transact(&e(&format!(r#"[{{:person/name "n{i}"}}]"#)))
                    .unwrap();
                conn.db().unwrap()
            })
        })
        .collect();
    for h in handles {
        let db = h.join().unwrap();
        assert!(!names(&db).is_empty());
    }
    assert_eq!(names(&conn.db().unwrap()).len(), 4);
}

#[test]
fn a_schema_change_in_edn_merges_and_one_built_in_rust_replaces() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.transact(&e(r#"[{:person/name "Ivan" :person/age 3}]"#))
        .unwrap();
    let name = kw(":person/name");
    // Named properties replace theirs; the others stay, as in Datalevin's update-schema.
    conn.update_schema(r#"{:person/name {:db/doc "the name"}}"#)
        .unwrap();
    let a = conn.schema().get(&name).unwrap().clone();
    assert_eq!(a.unique, Some(levin_datalog::Unique::Identity));
    assert_eq!(a.doc.as_deref(), Some("the name"));
    // nil removes a property.
    conn.update_schema("{:person/name {:db/unique nil}}")
        .unwrap();
    let a = conn.schema().get(&name).unwrap().clone();
    assert_eq!((a.unique, a.doc.as_deref()), (None, Some("the name")));
    // A definition built in Rust is taken whole: no doc left.
    let mut whole = levin_datalog::Schema::new();
    whole.insert(levin_datalog::Attr::untyped(name.clone()));
    conn.update_schema(whole).unwrap();
    assert_eq!(conn.schema().get(&name).unwrap().doc, None);
}
