//! The embedding API in Rust: opening with each kind of schema argument, snapshots
//! (isolation, `Send`), entities, reports, error variants, two connections on one
//! directory, and persistence across close and reopen.

use levin_datalog::{Conn, Db, Error, Index, Schema};
use levin_edn::{read, Edn, Keyword};

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

fn kw(s: &str) -> Keyword {
    levin_datalog::keyword(s)
}

const SCHEMA: &str = r#"{:person/name {:db/valueType :db.type/string :db/unique :db.unique/identity}
                         :person/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}
                         :person/age {:db/valueType :db.type/long}}"#;

#[test]
fn open_with_every_kind_of_schema() {
    let d = tempfile::tempdir().unwrap();
    let s = Schema::parse(SCHEMA).unwrap();
    for (i, conn) in [
        Conn::open(d.path().join("a"), SCHEMA).unwrap(),
        Conn::open(d.path().join("b"), e(SCHEMA)).unwrap(),
        Conn::open(d.path().join("c"), &s).unwrap(),
        Conn::open(d.path().join("d"), Some(s.clone())).unwrap(),
    ]
    .into_iter()
    .enumerate()
    {
        let a = conn.schema().get(&kw(":person/friend")).cloned().unwrap();
        assert!(a.is_ref() && a.is_many(), "{i}");
    }
    let conn = Conn::open(d.path().join("e"), ()).unwrap();
    assert!(conn.schema().get(&kw(":person/name")).is_none());
    assert!(conn.schema().get(&kw(":db/ident")).is_some());
    assert!(matches!(
        Conn::open(d.path().join("f"), "{:x {:db/valueType :db.type/what}}"),
        Err(Error::Schema { .. })
    ));
}

#[test]
fn snapshots_are_isolated_and_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Db>();
    assert_send::<Conn>();
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    conn.transact_str(r#"[{:person/name "Ivan" :person/age 30}]"#)
        .unwrap();
    let before = conn.db().unwrap();
    conn.transact_str(r#"[{:person/name "Ivan" :person/age 31} {:person/name "Petr"}]"#)
        .unwrap();
    let after = conn.db().unwrap();
    let pat = e("[:person/age]");
    let id = e(r#"[:person/name "Ivan"]"#);
    assert_eq!(before.pull(&pat, &id).unwrap(), e("{:person/age 30}"));
    assert_eq!(after.pull(&pat, &id).unwrap(), e("{:person/age 31}"));
    assert_eq!(before.max_eid(), 1);
    assert_eq!(after.max_eid(), 2);
    // A snapshot moves to another thread and keeps reading its own view.
    let h = std::thread::spawn(move || {
        before
            .pull(&e("[:person/age]"), &e(r#"[:person/name "Ivan"]"#))
            .unwrap()
    });
    assert_eq!(h.join().unwrap(), e("{:person/age 30}"));
    assert_eq!(after.datom_count().unwrap(), 3);
}

#[test]
fn entity_api() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let r = conn
        .transact_str(
            r#"[{:db/id "i" :person/name "Ivan" :person/friend ["p" "o"]}
                {:db/id "p" :person/name "Petr" :person/age 40}
                {:db/id "o" :person/name "Oleg"}]"#,
        )
        .unwrap();
    let (i, p) = (
        r.tempid(&e(r#""i""#)).unwrap(),
        r.tempid(&e(r#""p""#)).unwrap(),
    );
    let db = conn.db().unwrap();
    let ivan = db.entity(&e(r#"[:person/name "Ivan"]"#)).unwrap().unwrap();
    assert_eq!(ivan.id(), i);
    assert_eq!(ivan.get(":person/name").unwrap(), Some(e(r#""Ivan""#)));
    assert_eq!(ivan.get("person/age").unwrap(), None);
    let friends = ivan.get_refs(":person/friend").unwrap();
    assert_eq!(friends.len(), 2);
    assert_eq!(friends[0].id(), p);
    assert_eq!(friends[0].get(":person/age").unwrap(), Some(Edn::Long(40)));
    let back = friends[0].get_refs(":person/_friend").unwrap();
    assert_eq!(back.iter().map(|x| x.id()).collect::<Vec<_>>(), vec![i]);
    assert_eq!(
        ivan.keys().unwrap(),
        vec![kw(":person/friend"), kw(":person/name")]
    );
    assert!(matches!(
        ivan.get_refs(":person/name"),
        Err(Error::Invalid(_))
    ));
    assert!(db.entity(&Edn::Long(999)).unwrap().is_none());
    let touched = friends[0].touch().unwrap();
    assert_eq!(
        touched,
        e(&format!(
            r#"{{:db/id {p} :person/name "Petr" :person/age 40}}"#
        ))
    );
}

#[test]
fn error_variants() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        d.path(),
        r#"{:email {:db/unique :db.unique/value} :n {:db/valueType :db.type/long}}"#,
    )
    .unwrap();
    conn.transact_str(r#"[{:db/id 1 :email "a" :n 1}]"#)
        .unwrap();
    match conn.transact_str(r#"[{:db/id 2 :email "a"}]"#) {
        Err(Error::Unique { existing, attr, .. }) => {
            assert_eq!(existing, 1);
            assert_eq!(attr, ":email");
        }
        r => panic!("{r:?}"),
    }
    assert!(matches!(
        conn.transact_str("[[:db/cas 1 :n 2 3]]"),
        Err(Error::Cas { .. })
    ));
    assert!(matches!(
        conn.transact_str(r#"[[:db/add [:email "zz"] :n 3]]"#),
        Err(Error::LookupRef(_))
    ));
    let err = conn.transact_str("[[:db/add 1 :n \"x\"]]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "transaction failed on [:db/add 1 :n \"x\"]: bad value for :n: expected a value of type long, got a string \"x\""
    );
    assert!(matches!(conn.transact_str("[[:db/add"), Err(Error::Edn(_))));
}

#[test]
fn report_and_datoms() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let r = conn
        .transact(&e(r#"[{:db/id -1 :person/name "A" :person/age 1}]"#))
        .unwrap();
    assert_eq!(r.tempid(&Edn::Long(-1)), Some(1));
    assert_eq!(r.max_eid, 1);
    assert_eq!(
        r.to_edn(),
        e(&format!(
            r#"{{:tx-data [[1 :person/name "A"] [1 :person/age 1]] :tempids {{-1 1 :db/current-tx {}}} :max-eid 1}}"#,
            r.tx
        ))
    );
    let db = conn.db().unwrap();
    let ds: Vec<_> = db
        .datoms(Index::Ave, &[e(":person/age")])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].to_string(), "[1 :person/age 1]");
    assert_eq!(
        db.count_range(&kw(":person/age"), Some(&Edn::Long(0)), None)
            .unwrap(),
        1
    );
    let next = conn.transact(&e("[[:db/add 1 :person/age 2]]")).unwrap();
    assert!(
        next.tx > r.tx,
        "transaction ids grow: {} then {}",
        r.tx,
        next.tx
    );
}

#[test]
fn two_connections_share_schema_changes() {
    let d = tempfile::tempdir().unwrap();
    let a = Conn::open(d.path(), ()).unwrap();
    let b = Conn::open(d.path(), ()).unwrap();
    a.transact_str("[{:db/id 1 :new/attr 5}]").unwrap();
    // b learns of :new/attr from the stored schema, not its stale cache.
    assert_eq!(
        b.db()
            .unwrap()
            .pull(&e("[:new/attr]"), &Edn::Long(1))
            .unwrap(),
        e("{:new/attr 5}")
    );
    b.transact_str("[{:db/id 2 :new/attr 6}]").unwrap();
    assert_eq!(
        a.db()
            .unwrap()
            .count_datoms(Index::Ave, &[e(":new/attr")])
            .unwrap(),
        2
    );
    // Existing untyped values that are all longs allow the type long.
    b.update_schema("{:new/attr {:db/valueType :db.type/long}}")
        .unwrap();
    let err = a.transact_str("[{:db/id 3 :new/attr \"x\"}]").unwrap_err();
    assert!(
        err.to_string().contains("expected a value of type long"),
        "{err}"
    );
}

#[test]
fn everything_survives_reopen() {
    let d = tempfile::tempdir().unwrap();
    {
        let conn = Conn::open(d.path(), SCHEMA).unwrap();
        conn.transact_str(
            r#"[{:person/name "Ivan" :person/friend [{:person/name "Petr"}] :x [1 "two" :three]}]"#,
        )
        .unwrap();
        let db = conn.db().unwrap();
        drop(conn);
        // A snapshot outliving its connection still reads.
        assert_eq!(db.datom_count().unwrap(), 4);
    }
    let conn = Conn::open(d.path(), ()).unwrap();
    let db = conn.db().unwrap();
    assert_eq!(
        db.pull(
            &e("[* {:person/friend [:person/name]}]"),
            &e(r#"[:person/name "Ivan"]"#)
        )
        .unwrap(),
        e(
            r#"{:db/id 1 :person/name "Ivan" :person/friend [{:person/name "Petr"}] :x [1 "two" :three]}"#
        )
    );
    assert_eq!(db.max_eid(), 2);
    let r = conn.transact_str(r#"[{:person/name "Oleg"}]"#).unwrap();
    assert_eq!(r.max_eid, 3);
}

#[test]
fn layout_matches_the_format_doc() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(
        d.path(),
        "{:person/name {:db/valueType :db.type/string} :person/friend {:db/valueType :db.type/ref}}",
    )
    .unwrap();
    conn.transact_str(
        r#"[[:db/add 1 :person/name "Ivan"] [:db/add 1 :person/friend 5] [:db/add 5 :x 1]]"#,
    )
    .unwrap();
    let db = conn.db().unwrap();
    let r = db.kv();
    let eav = r.open_db("datalog/eav").unwrap();
    let ave = r.open_db("datalog/ave").unwrap();
    let vals: Vec<Vec<u8>> = r
        .list(&eav, &[0, 0, 0, 0, 0, 0, 0, 1])
        .unwrap()
        .map(|x| x.unwrap().1.to_vec())
        .collect();
    assert_eq!(
        vals,
        vec![
            vec![0, 0, 0, 2, 0x20, 0x80, 0, 0, 0, 0, 0, 0, 5],
            vec![0, 0, 0, 3, 0x40, b'I', b'v', b'a', b'n'],
        ]
    );
    let es: Vec<Vec<u8>> = r
        .list(&ave, &[0, 0, 0, 2, 0x20, 0x80, 0, 0, 0, 0, 0, 0, 5])
        .unwrap()
        .map(|x| x.unwrap().1.to_vec())
        .collect();
    assert_eq!(es, vec![vec![0, 0, 0, 0, 0, 0, 0, 1]]);
    let schema = r.open_db("datalog/schema").unwrap();
    assert_eq!(
        r.get(&schema, &[0, 0, 0, 3]).unwrap(),
        Some(&b"{:db/ident :person/name, :db/valueType :db.type/string}"[..])
    );
    let meta = r.open_db("datalog/meta").unwrap();
    assert_eq!(
        r.get(&meta, b"giant-limit").unwrap(),
        Some(&499u32.to_be_bytes()[..])
    );
    assert_eq!(db.giant_limit(), 499);
    assert_eq!(
        r.get(&meta, b"max-eid").unwrap(),
        Some(&5u64.to_be_bytes()[..])
    );
}

#[test]
fn bulk_load_and_counts() {
    let d = tempfile::tempdir().unwrap();
    let conn = Conn::open(d.path(), SCHEMA).unwrap();
    let n = 3000;
    let t = std::time::Instant::now();
    let forms: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{:db/id "p{i}" :person/name "name{i:05}" :person/age {} :person/friend ["p{}"]}}"#,
                i % 100,
                (i + 1) % n
            )
        })
        .collect();
    conn.transact_str(&format!("[{}]", forms.join(" ")))
        .unwrap();
    let load = t.elapsed();
    let db = conn.db().unwrap();
    assert_eq!(db.datom_count().unwrap(), 3 * n as u64);
    assert_eq!(
        db.count_datoms(Index::Ave, &[e(":person/age"), Edn::Long(7)])
            .unwrap(),
        (n / 100) as u64
    );
    assert_eq!(
        db.count_range(
            &kw(":person/age"),
            Some(&Edn::Long(10)),
            Some(&Edn::Long(19))
        )
        .unwrap(),
        (n / 10) as u64
    );
    let p = db
        .pull(
            &e("[:person/name {:person/friend [:person/name]}]"),
            &e(r#"[:person/name "name00042"]"#),
        )
        .unwrap();
    assert_eq!(
        p,
        e(r#"{:person/name "name00042" :person/friend [{:person/name "name00043"}]}"#)
    );
    assert!(load.as_secs() < 30, "loading {n} entities took {load:?}");
}
