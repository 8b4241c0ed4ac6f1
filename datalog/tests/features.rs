//! Transaction and index features matching Datalevin's: schema refusals, report snapshots
//! and metadata, speculative transactions, transaction functions, `:db/current-tx`,
//! listeners, closed schemas, entity timestamps, composite-tuple upserts, `search_datoms`,
//! `cardinality` and `squuid`. Expected values come from Datalevin 1.2.8 probes.

use std::sync::{Arc, Mutex};

use levin_datalog::{squuid, squuid_time_millis, Conn, Error, StoreOptions};
use levin_edn::{read, Edn};

fn conn(schema: &str) -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let c = Conn::open(dir.path(), schema).unwrap();
    (dir, c)
}

fn names(db: &levin_datalog::Db<'_>) -> Vec<String> {
    let mut v: Vec<String> = db
        .search_datoms(None, Some(&read(":name").unwrap()), None)
        .unwrap()
        .map(|d| d.unwrap().v.to_string())
        .collect();
    v.sort();
    v
}

fn tx_data(r: &levin_datalog::TxReport) -> Vec<String> {
    r.tx_data.iter().map(|d| d.to_edn().to_string()).collect()
}

#[test]
fn search_features_are_refused_in_a_schema() {
    let dir = tempfile::tempdir().unwrap();
    for (schema, what) in [
        (
            "{:t {:db/valueType :db.type/string :db/fulltext true}}",
            "full-text",
        ),
        ("{:t {:db.fulltext/autoDomain true}}", "full-text"),
        ("{:v {:db/valueType :db.type/vec}}", "vector"),
        ("{:d {:db/valueType :db.type/idoc}}", "idoc"),
    ] {
        let err = Conn::open(dir.path(), schema).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{schema}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(what) && msg.contains("not supported yet"),
            "{msg}"
        );
    }
    // Turning full-text off explicitly is fine.
    Conn::open(
        dir.path(),
        "{:t {:db/valueType :db.type/string :db/fulltext false}}",
    )
    .unwrap();
}

#[test]
fn report_has_snapshots_and_meta() {
    let (_d, c) = conn("{:name {:db/unique :db.unique/identity}}");
    c.transact_str(r#"[{:name "Ivan"}]"#).unwrap();
    let r = c
        .transact_with_meta(
            &read(r#"[{:name "Petr"}]"#).unwrap(),
            Some(read("{:src \"me\"}").unwrap()),
        )
        .unwrap();
    assert_eq!(r.tx_meta, Some(read("{:src \"me\"}").unwrap()));
    assert_eq!(names(&r.db_before.as_ref().unwrap().db()), ["\"Ivan\""]);
    assert_eq!(
        names(&r.db_after.as_ref().unwrap().db()),
        ["\"Ivan\"", "\"Petr\""]
    );
    assert!(r.to_edn().get(&Edn::kw("", "tx-meta")).is_some());
    // The snapshots stay as they were after more commits.
    c.transact_str(r#"[{:name "Oleg"}]"#).unwrap();
    assert_eq!(names(&r.db_after.as_ref().unwrap().db()).len(), 2);
    // max_tx is the report's transaction id, before and after.
    let after = r.db_after.as_ref().unwrap().db().max_tx();
    assert_eq!(after, r.tx);
    assert!(r.db_before.as_ref().unwrap().db().max_tx() < r.tx);
    assert!(c.db().unwrap().max_tx() > r.tx);
    // A plain transact has no metadata.
    assert_eq!(c.transact_str("[]").unwrap().tx_meta, None);
}

#[test]
fn with_is_speculative() {
    let (_d, c) = conn("{:name {:db/unique :db.unique/identity}}");
    c.transact_str(r#"[{:name "Ivan"}]"#).unwrap();
    let seen = c
        .with(&read(r#"[{:name "Spec"}]"#).unwrap(), |r, db| {
            (tx_data(r), names(db))
        })
        .unwrap();
    assert_eq!(seen.0, [r#"[2 :name "Spec"]"#]);
    assert_eq!(seen.1, ["\"Ivan\"", "\"Spec\""]);
    assert_eq!(names(&c.db().unwrap()), ["\"Ivan\""]);
    // A failing speculative transaction changes nothing either.
    assert!(c.with(&read("[[:db/add]]").unwrap(), |_, _| ()).is_err());
    c.transact_str(r#"[{:name "Petr"}]"#).unwrap();
    assert_eq!(c.db().unwrap().max_eid(), 2);
}

#[test]
fn transaction_functions() {
    let (_d, c) =
        conn("{:name {:db/unique :db.unique/identity} :age {:db/valueType :db.type/long}}");
    c.transact_str(r#"[{:name "Ivan" :age 30}]"#).unwrap();
    // [:my/inc lookup-ref n]: reads the current value from the database it is given.
    c.register_tx_fn(":my/inc", |db, args| {
        let [e, n] = args else {
            return Err(format!("expected 2 arguments, got {}", args.len()).into());
        };
        // The store's errors pass through `?`.
        let e = db.entid(e)?.ok_or("no such entity")?;
        let d = db
            .search_datoms(Some(&Edn::Long(e as i64)), Some(&Edn::kw("", "age")), None)?
            .next()
            .ok_or("no age")??;
        let age = d.v.as_long().unwrap_or(0) + n.as_long().ok_or("n is not a number")?;
        Ok(Edn::Vector(vec![Edn::Vector(vec![
            Edn::kw("db", "add"),
            Edn::Long(e as i64),
            Edn::kw("", "age"),
            Edn::Long(age),
        ])]))
    })
    .unwrap();
    // A function returning a call of another.
    c.register_tx_fn("my/twice", |_, args| {
        let call = |n: &Edn| read(&format!(r#"[:db.fn/call :my/inc [:name "Ivan"] {n}]"#)).unwrap();
        Ok(Edn::Vector(vec![call(&args[0]), call(&args[0])]))
    })
    .unwrap();
    c.register_tx_fn("my/bad", |_, _| Ok(Edn::Long(5))).unwrap();
    c.register_tx_fn("my/fail", |_, _| Err("refused".into()))
        .unwrap();

    let r = c.transact_str(r#"[[:my/inc [:name "Ivan"] 1]]"#).unwrap();
    assert_eq!(tx_data(&r), ["[1 :age 30 false]", "[1 :age 31]"]);
    let r = c
        .transact_str(r#"[[:db.fn/call :my/inc [:name "Ivan"] 10]]"#)
        .unwrap();
    assert_eq!(tx_data(&r)[1], "[1 :age 41]");
    // Both calls of one transaction see the database as of its start.
    let r = c.transact_str("[[:my/twice 2]]").unwrap();
    assert_eq!(tx_data(&r).last().unwrap(), "[1 :age 43]");

    let e = c.transact_str("[[:db.fn/call :my/none 1]]").unwrap_err();
    assert!(
        matches!(&e, Error::UnknownTxFn { name } if name == ":my/none"),
        "{e}"
    );
    let e = c.transact_str("[[:my/none 1]]").unwrap_err();
    assert!(e.to_string().contains(":my/none"), "{e}");
    let e = c.transact_str("[[:db.fn/call \"f\" 1]]").unwrap_err();
    assert!(e.to_string().contains(":db.fn/call takes the name"), "{e}");
    let e = c.transact_str("[[:my/bad]]").unwrap_err();
    assert!(
        matches!(&e, Error::TxFn { name, .. } if name == ":my/bad"),
        "{e}"
    );
    let e = c.transact_str("[[:my/fail]]").unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    assert!(!e.is_corruption());
    // The function's own error is kept as the source; a corruption it met stays one.
    #[derive(Debug)]
    struct Mine;
    impl std::fmt::Display for Mine {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("mine")
        }
    }
    impl std::error::Error for Mine {}
    c.register_tx_fn("my/typed", |_, _| Err(Box::new(Mine)))
        .unwrap();
    let e = c.transact_str("[[:my/typed]]").unwrap_err();
    let source = std::error::Error::source(&e).expect("the function's error");
    assert!(source.downcast_ref::<Mine>().is_some(), "{e}");
    assert_eq!(e.to_string(), "transaction function :my/typed failed: mine");
    c.register_tx_fn("my/corrupt", |_, _| {
        Err(Error::Corrupt("a damaged list".into()).into())
    })
    .unwrap();
    let e = c.transact_str("[[:my/corrupt]]").unwrap_err();
    assert!(e.is_corruption(), "{e}");
    // Unbounded recursion is cut off.
    c.register_tx_fn("my/loop", |_, _| Ok(read("[[:my/loop]]").unwrap()))
        .unwrap();
    let e = c.transact_str("[[:my/loop]]").unwrap_err();
    assert!(e.to_string().contains("levels deep"), "{e}");
    assert!(c.unregister_tx_fn("my/loop").unwrap());
    assert!(c.register_tx_fn("db.fn/call", |_, _| Ok(Edn::Nil)).is_err());
    assert_eq!(
        c.db()
            .unwrap()
            .pull(
                &read("[:age]").unwrap(),
                &read(r#"[:name "Ivan"]"#).unwrap()
            )
            .unwrap(),
        read("{:age 43}").unwrap()
    );
}

#[test]
fn current_tx_is_an_entity_for_metadata() {
    let (_d, c) =
        conn("{:name {:db/unique :db.unique/identity} :friend {:db/valueType :db.type/ref}}");
    c.transact_str(r#"[{:name "Ivan"}]"#).unwrap();
    let r = c
        .transact_str(
            r#"[[:db/add :db/current-tx :note "hi"] {:name "Oleg" :friend :db/current-tx}]"#,
        )
        .unwrap();
    let txe = r.tempid(&Edn::kw("db", "current-tx")).unwrap();
    assert_eq!(txe, 2);
    assert_eq!(
        tx_data(&r),
        [r#"[2 :note "hi"]"#, r#"[3 :name "Oleg"]"#, "[3 :friend 2]"]
    );
    let tempids = r.to_edn();
    let tempids = tempids.get(&Edn::kw("", "tempids")).unwrap();
    assert_eq!(
        tempids.get(&Edn::kw("db", "current-tx")),
        Some(&Edn::Long(2))
    );
    // Without it, :db/current-tx in the EDN report is the transaction id.
    let r = c.transact_str(r#"[{:name "Petr"}]"#).unwrap();
    let e = r.to_edn();
    assert_eq!(
        e.get(&Edn::kw("", "tempids"))
            .unwrap()
            .get(&Edn::kw("db", "current-tx")),
        Some(&Edn::Long(r.tx as i64))
    );
}

#[test]
fn listeners() {
    let (_d, c) = conn("{:name {:db/unique :db.unique/identity}}");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    c.listen(Edn::kw("", "k"), move |r| {
        s.lock()
            .unwrap()
            .push((tx_data(r), r.tx_meta.clone(), r.db_after.is_some()))
    });
    c.transact_with_meta(&read(r#"[{:name "L"}]"#).unwrap(), Some(Edn::Long(7)))
        .unwrap();
    // An explicit transaction's commit gives one report of all its calls.
    let mut t = c.begin().unwrap();
    t.transact(&read(r#"[{:name "M"}]"#).unwrap()).unwrap();
    t.transact(&read(r#"[{:name "N"}]"#).unwrap()).unwrap();
    t.commit().unwrap();
    // A failed transaction is not reported.
    assert!(c.transact_str("[[:db/add 1 :name \"M\"]]").is_err());
    // A panicking listener is dropped; the commit stands and others still run.
    c.listen(Edn::kw("", "boom"), |_| panic!("boom"));
    c.transact_str(r#"[{:name "P"}]"#).unwrap();
    assert!(!c.unlisten(&Edn::kw("", "boom")));
    assert!(c.unlisten(&Edn::kw("", "k")));
    c.transact_str(r#"[{:name "Q"}]"#).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(
        *seen,
        [
            (
                vec![r#"[1 :name "L"]"#.to_string()],
                Some(Edn::Long(7)),
                true
            ),
            (
                vec![
                    r#"[2 :name "M"]"#.to_string(),
                    r#"[3 :name "N"]"#.to_string()
                ],
                None,
                true
            ),
            (vec![r#"[4 :name "P"]"#.to_string()], None, true),
        ]
    );
    assert_eq!(names(&c.db().unwrap()).len(), 5);
}

#[test]
fn a_listener_may_transact() {
    let (_d, c) = conn("{:n {:db/valueType :db.type/long}}");
    let c2 = c.clone();
    c.listen(Edn::kw("", "echo"), move |r| {
        if r.tx_data.iter().any(|d| d.v == Edn::Long(1)) {
            c2.transact_str("[{:n 2}]").unwrap();
        }
    });
    c.transact_str("[{:n 1}]").unwrap();
    assert_eq!(c.db().unwrap().max_eid(), 2);
}

#[test]
fn closed_schema() {
    let (_d, c) = conn("{:name {:db/unique :db.unique/identity}}");
    c.set_closed_schema(true).unwrap();
    c.transact_str(r#"[{:name "A"}]"#).unwrap();
    for tx in [
        r#"[{:name "A" :x 1}]"#,
        "[[:db/add 1 :y 1]]",
        "[[:db/cas 1 :y nil 1]]",
    ] {
        let e = c.transact_str(tx).unwrap_err();
        assert!(matches!(e, Error::ClosedSchema { .. }), "{tx}: {e}");
        assert!(e.to_string().contains("not in the schema"), "{e}");
    }
    // Retracting an unknown attribute is a no-op, as in Datalevin.
    assert!(c
        .transact_str("[[:db/retract 1 :y 1]]")
        .unwrap()
        .tx_data
        .is_empty());
    c.update_schema("{:x {:db/valueType :db.type/long}}")
        .unwrap();
    c.transact_str(r#"[{:name "A" :x 1}]"#).unwrap();
    c.set_closed_schema(false).unwrap();
    c.transact_str("[[:db/add 1 :y 1]]").unwrap();
}

#[test]
fn options_are_stored_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let c = Conn::open(dir.path(), "{:name {:db/unique :db.unique/identity}}").unwrap();
    assert_eq!(c.options().unwrap(), StoreOptions::default());
    let on = StoreOptions::default()
        .with_edn(&read("{:closed-schema? true :auto-entity-time? true}").unwrap())
        .unwrap();
    c.set_options(on).unwrap();
    // Another connection to the same database (as another process or mode would have)
    // transacts under them at once, and so does a connection opened after a close.
    let other = Conn::open(dir.path(), ()).unwrap();
    assert_eq!(other.options().unwrap(), on);
    let e = other.transact_str("[{:name \"A\" :x 1}]").unwrap_err();
    assert!(matches!(e, Error::ClosedSchema { .. }), "{e}");
    drop((c, other));
    let c = Conn::open(dir.path(), ()).unwrap();
    assert_eq!(c.options().unwrap(), on);
    let r = c.transact_str("[{:name \"A\"}]").unwrap();
    assert!(
        r.tx_data.iter().any(|d| d.a.name() == "created-at"),
        "entity time is on: {:?}",
        r.tx_data
    );
    // Setting what is stored writes nothing, so it works on a read-only database.
    drop(c);
    let ro = Conn::open_read_only(dir.path()).unwrap();
    ro.set_options(on).unwrap();
    assert!(
        ro.set_closed_schema(false).is_err(),
        "a read-only database refuses a change"
    );
    assert_eq!(ro.options().unwrap(), on);
    drop(ro);
    let c = Conn::open(dir.path(), ()).unwrap();
    c.re_index(()).unwrap();
    assert_eq!(c.options().unwrap(), on, "re-indexing keeps the options");
    c.set_closed_schema(false).unwrap();
    c.transact_str("[{:name \"B\" :x 1}]").unwrap();
    assert!(c.options().unwrap().auto_entity_time);
}

#[test]
fn auto_entity_time() {
    let (_d, c) = conn("{:name {:db/unique :db.unique/identity}}");
    c.set_auto_entity_time(true).unwrap();
    let stamps = |r: &levin_datalog::TxReport| -> Vec<(String, bool)> {
        r.tx_data
            .iter()
            .filter(|d| d.a.namespace() == Some("db"))
            .map(|d| (d.a.to_string(), d.added))
            .collect()
    };
    let r = c.transact_str(r#"[{:name "A" :x 1}]"#).unwrap();
    assert_eq!(
        stamps(&r),
        [
            (":db/created-at".into(), true),
            (":db/updated-at".into(), true)
        ]
    );
    let created = r
        .tx_data
        .iter()
        .find(|d| d.a.name() == "created-at")
        .unwrap()
        .v
        .clone();
    assert!(created.as_long().unwrap() > 1_700_000_000_000);
    std::thread::sleep(std::time::Duration::from_millis(3));
    let r = c.transact_str(r#"[{:name "A" :x 2}]"#).unwrap();
    assert_eq!(
        stamps(&r),
        [
            (":db/updated-at".into(), false),
            (":db/updated-at".into(), true)
        ]
    );
    // A new millisecond, so the stamp changes (a stamp equal to the old one is no change).
    std::thread::sleep(std::time::Duration::from_millis(3));
    let r = c
        .transact_str(r#"[[:db/retract [:name "A"] :x 2]]"#)
        .unwrap();
    assert_eq!(
        stamps(&r),
        [
            (":db/updated-at".into(), false),
            (":db/updated-at".into(), true)
        ]
    );
    let db = c.db().unwrap();
    let p = db
        .pull(&read("[:db/created-at]").unwrap(), &Edn::Long(1))
        .unwrap();
    assert_eq!(p.get(&Edn::kw("db", "created-at")), Some(&created));
    let r = c
        .transact_str(r#"[[:db/retractEntity [:name "A"]]]"#)
        .unwrap();
    assert_eq!(r.tx_data.iter().filter(|d| d.added).count(), 0);
    assert_eq!(c.db().unwrap().datom_count().unwrap(), 0);
    // Transactions that change nothing stamp nothing.
    assert!(c.transact_str("[]").unwrap().tx_data.is_empty());
}

#[test]
fn upsert_through_a_unique_composite_tuple() {
    let (_d, c) = conn(
        "{:a {:db/valueType :db.type/long} :b {:db/valueType :db.type/long}
          :age {:db/valueType :db.type/long}
          :a+b {:db/tupleAttrs [:a :b] :db/unique :db.unique/identity}}",
    );
    let r = c.transact_str("[{:a 1 :b 2 :age 5}]").unwrap();
    assert_eq!(
        tx_data(&r),
        ["[1 :a 1]", "[1 :b 2]", "[1 :age 5]", "[1 :a+b [1 2]]"]
    );
    let r = c.transact_str("[{:a 1 :b 2 :age 6}]").unwrap();
    assert_eq!(tx_data(&r), ["[1 :age 5 false]", "[1 :age 6]"]);
    let r = c.transact_str("[{:a+b [1 2] :age 7}]").unwrap();
    assert_eq!(tx_data(&r), ["[1 :age 6 false]", "[1 :age 7]"]);
    let r = c.transact_str("[{:db/id [:a+b [1 2]] :age 8}]").unwrap();
    assert_eq!(tx_data(&r), ["[1 :age 7 false]", "[1 :age 8]"]);
    // Other parts make a new entity.
    let r = c.transact_str("[{:a 1 :b 3 :age 1}]").unwrap();
    assert_eq!(r.tx_data[0].e, 2);
    // A tuple naming one entity while the map names another is refused.
    let e = c.transact_str("[{:db/id 2 :a+b [1 2]}]").unwrap_err();
    assert!(e.to_string().contains("belongs to entity 1"), "{e}");
}

#[test]
fn search_datoms_and_cardinality() {
    let (_d, c) = conn(
        "{:name {:db/unique :db.unique/identity} :age {:db/valueType :db.type/long}
          :tags {:db/cardinality :db.cardinality/many}}",
    );
    c.transact_str(
        r#"[{:name "Ivan" :age 30} {:name "T" :tags ["x" "y"]} {:name "U" :tags ["x"]}]"#,
    )
    .unwrap();
    let db = c.db().unwrap();
    let s = |e: &str, a: &str, v: &str| -> Vec<String> {
        let arg = |x: &str| (x != "nil").then(|| read(x).unwrap());
        let (e, a, v) = (arg(e), arg(a), arg(v));
        db.search_datoms(e.as_ref(), a.as_ref(), v.as_ref())
            .unwrap()
            .map(|d| d.unwrap().to_edn().to_string())
            .collect()
    };
    let mut e1 = s("1", "nil", "nil");
    e1.sort();
    assert_eq!(e1, [r#"[1 :age 30]"#, r#"[1 :name "Ivan"]"#]);
    assert_eq!(
        s("nil", ":tags", "nil"),
        [r#"[2 :tags "x"]"#, r#"[3 :tags "x"]"#, r#"[2 :tags "y"]"#]
    );
    assert_eq!(
        s("nil", ":tags", r#""x""#),
        [r#"[2 :tags "x"]"#, r#"[3 :tags "x"]"#]
    );
    assert_eq!(
        s("nil", "nil", r#""x""#),
        [r#"[2 :tags "x"]"#, r#"[3 :tags "x"]"#]
    );
    assert_eq!(s("1", "nil", "30"), ["[1 :age 30]"]);
    assert_eq!(s("1", ":age", "30"), ["[1 :age 30]"]);
    assert_eq!(s(r#"[:name "T"]"#, ":tags", "nil").len(), 2);
    assert_eq!(s("99", "nil", "nil").len(), 0);
    assert_eq!(s("nil", "nil", "nil").len(), 7);
    assert_eq!(db.cardinality(&levin_datalog::attr("tags")).unwrap(), 2);
    assert_eq!(db.cardinality(&levin_datalog::attr("name")).unwrap(), 3);
    assert_eq!(db.cardinality(&levin_datalog::attr("nope")).unwrap(), 0);
}

#[test]
fn squuids_are_time_ordered_uuids() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ids: Vec<Edn> = (0..100).map(|_| squuid()).collect();
    for w in ids.windows(2) {
        assert_ne!(w[0], w[1]);
        assert!(squuid_time_millis(&w[0]) <= squuid_time_millis(&w[1]));
    }
    let t = squuid_time_millis(&ids[0]).unwrap();
    assert!((now - t).abs() < 2000, "{now} {t}");
    let Edn::Uuid(b) = ids[0] else { unreachable!() };
    assert_eq!(b[6] >> 4, 4);
    assert_eq!(squuid_time_millis(&Edn::Long(1)), None);
}

#[test]
fn pull_xform_through_registered_functions() {
    let (_d, c) = conn(
        "{:name {:db/unique :db.unique/identity} :tags {:db/cardinality :db.cardinality/many}
          :friend {:db/valueType :db.type/ref}}",
    );
    c.transact_str(r#"[{:name "Ivan" :tags ["x" "y"] :friend {:name "Petr"}}]"#)
        .unwrap();
    let mut fns = levin_datalog::PullFns::new();
    fns.register("str/upper", |v| match v {
        Edn::String(s) => Edn::String(s.to_uppercase().into()),
        v => v.clone(),
    })
    .register(":my/got", |v| {
        Edn::Vector(vec![Edn::kw("", "got"), v.clone()])
    })
    .register("my/drop", |_| Edn::Nil);
    let db = c.db().unwrap();
    let ivan = read(r#"[:name "Ivan"]"#).unwrap();
    let pull = |p: &str| levin_datalog::pull_with(&db, &read(p).unwrap(), &ivan, &fns);
    // Values as Datalevin 1.2.8 passes them: the value, the vector of a many
    // attribute, nil for a missing one.
    assert_eq!(
        pull("[[:name :xform str/upper]]").unwrap(),
        read(r#"{:name "IVAN"}"#).unwrap()
    );
    assert_eq!(
        pull("[[:tags :xform :my/got] [:nope :xform my/got]]").unwrap(),
        read(r#"{:tags [:got ["x" "y"]] :nope [:got nil]}"#).unwrap()
    );
    assert_eq!(
        pull("[{[:friend :xform my/got] [:name]}]").unwrap(),
        read(r#"{:friend [:got {:name "Petr"}]}"#).unwrap()
    );
    assert_eq!(
        pull("[:name [:nope :default 1 :xform my/got] [:tags :xform my/drop]]").unwrap(),
        read(r#"{:name "Ivan" :nope 1}"#).unwrap()
    );
    let e = pull("[[:name :xform my/none]]").unwrap_err();
    assert!(
        e.to_string().contains("unknown :xform function my/none"),
        "{e}"
    );
    let e = db
        .pull(&read("[[:name :xform str/upper]]").unwrap(), &ivan)
        .unwrap_err();
    assert!(e.to_string().contains("unknown :xform function"), "{e}");
    let many = levin_datalog::pull_many_with(
        &db,
        &read("[[:name :xform str/upper]]").unwrap(),
        &[Edn::Long(2)],
        &fns,
    )
    .unwrap();
    assert_eq!(many, [read(r#"{:name "PETR"}"#).unwrap()]);
}

#[test]
fn re_index_rebuilds_and_changes_the_schema() {
    let (_d, c) = conn(
        "{:name {:db/unique :db.unique/identity} :tags {:db/cardinality :db.cardinality/many}
          :friend {:db/valueType :db.type/ref}
          :a {:db/valueType :db.type/long} :b {:db/valueType :db.type/long}
          :a+b {:db/tupleAttrs [:a :b]}}",
    );
    c.transact_str(
        r#"[{:name "A" :n 1 :m [1 2] :tags ["a" "b"] :friend {:name "B" :n 2} :a 1 :b 2}]"#,
    )
    .unwrap();
    let before = |c: &Conn| common_dump(c);
    let all = before(&c);
    // Without a schema: the same datoms come back.
    assert_eq!(c.re_index(()).unwrap(), 10);
    assert_eq!(before(&c), all);
    // :n untyped -> long fits; tags many -> one keeps the first value.
    c.re_index("{:n {:db/valueType :db.type/long} :tags {:db/cardinality :db.cardinality/one}}")
        .unwrap();
    let db = c.db().unwrap();
    assert_eq!(
        db.pull(
            &read("[:n :m :tags :a+b {:friend [:n]}]").unwrap(),
            &read(r#"[:name "A"]"#).unwrap()
        )
        .unwrap(),
        read(r#"{:n 1 :m [1 2] :tags "a" :a+b [1 2] :friend {:n 2}}"#).unwrap()
    );
    assert!(!db
        .schema()
        .get(&levin_datalog::attr("tags"))
        .unwrap()
        .is_many());
    // A value that does not fit the new type fails it all.
    let snapshot = before(&c);
    let e = c
        .re_index("{:m {:db/valueType :db.type/string}}")
        .unwrap_err();
    assert!(e.to_string().contains(":m"), "{e}");
    assert_eq!(before(&c), snapshot);
    assert!(c
        .schema()
        .get(&levin_datalog::attr("m"))
        .unwrap()
        .value_type
        .is_none());
    // New entities still get new ids.
    let r = c.transact_str(r#"[{:name "C"}]"#).unwrap();
    assert_eq!(r.tx_data[0].e, 3);
}

fn common_dump(c: &Conn) -> Vec<String> {
    c.db()
        .unwrap()
        .datoms(levin_datalog::Index::Eav, &[])
        .unwrap()
        .map(|d| d.unwrap().to_edn().to_string())
        .collect()
}
