//! The pod protocol end to end, in process: describe, invoke round trips of the Datalog and
//! key-value vars, explicit transactions, the deadlock guard, and bad input of every kind
//! (each answered with an error reply carrying the id, after which the pod keeps serving).

use std::collections::BTreeMap;
use std::time::Duration;

use levin_edn::{read, transit, Edn};
use levin_pod::bencode::{self, Reader, Value};
use levin_pod::transport::{serve, End};
use levin_pod::{Outcome, Pod};

const NS: &str = "pod.huahaiy.datalevin";

struct P {
    pod: Pod,
    n: u64,
}

/// An error reply: ex-message and ex-data.
#[derive(Debug)]
struct Failed {
    message: String,
    data: Edn,
}

impl Failed {
    fn ty(&self) -> &str {
        self.data
            .get(&Edn::kw("", "type"))
            .and_then(Edn::as_str)
            .unwrap_or("")
    }
}

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

fn dict(v: &Value) -> &BTreeMap<Vec<u8>, Value> {
    match v {
        Value::Dict(d) => d,
        other => panic!("not a dict: {other:?}"),
    }
}

impl P {
    fn new() -> P {
        P {
            pod: Pod::new(Duration::from_millis(500)),
            n: 0,
        }
    }

    fn send(&mut self, msg: Value) -> Value {
        match self.pod.handle(dict(&msg)) {
            Outcome::Reply(v) => v,
            Outcome::Shutdown => panic!("unexpected shutdown"),
        }
    }

    /// Invokes `var` with `args` (a vector, in EDN), checks the reply's id and status.
    fn call(&mut self, var: &str, args: Edn) -> Result<Edn, Failed> {
        self.n += 1;
        let id = format!("id-{}", self.n);
        let reply = self.send(Value::dict([
            ("op", Value::str("invoke")),
            ("id", Value::str(&id)),
            ("var", Value::str(format!("{NS}/{var}"))),
            ("args", Value::str(transit::write(&args))),
        ]));
        assert_eq!(reply.get("id").and_then(Value::as_str), Some(id.as_str()));
        let status: Vec<&str> = match reply.get("status") {
            Some(Value::List(l)) => l.iter().filter_map(Value::as_str).collect(),
            other => panic!("status {other:?}"),
        };
        if let Some(v) = reply.get("value") {
            assert_eq!(status, ["done"]);
            return Ok(transit::read(v.as_str().unwrap()).unwrap());
        }
        assert_eq!(status, ["done", "error"]);
        let message = reply
            .get("ex-message")
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        let data = transit::read(reply.get("ex-data").and_then(Value::as_str).unwrap()).unwrap();
        assert!(data.get(&Edn::kw("", "type")).is_some(), "{data}");
        Err(Failed { message, data })
    }

    fn ok(&mut self, var: &str, args: Edn) -> Edn {
        match self.call(var, args) {
            Ok(v) => v,
            Err(f) => panic!("{var}: {} {}", f.message, f.data),
        }
    }

    fn err(&mut self, var: &str, args: Edn) -> Failed {
        match self.call(var, args) {
            Ok(v) => panic!("{var} answered {v}"),
            Err(f) => f,
        }
    }
}

fn args(items: Vec<Edn>) -> Edn {
    Edn::Vector(items)
}

fn s(text: &str) -> Edn {
    Edn::string(text)
}

#[test]
fn describe_declares_every_var_and_is_deterministic() {
    let mut p = P::new();
    let msg = Value::dict([("op", Value::str("describe")), ("id", Value::str("d1"))]);
    let a = p.send(msg.clone());
    let b = P::new().send(msg);
    assert_eq!(bencode::to_vec(&a), bencode::to_vec(&b));
    assert_eq!(
        a.get("format").and_then(Value::as_str),
        Some("transit+json")
    );
    assert_eq!(a.get("id").and_then(Value::as_str), Some("d1"));
    assert!(a.get("ops").and_then(|o| o.get("shutdown")).is_some());
    let Some(Value::List(nss)) = a.get("namespaces") else {
        panic!()
    };
    assert_eq!(nss.len(), 1);
    assert_eq!(nss[0].get("name").and_then(Value::as_str), Some(NS));
    let Some(Value::List(vars)) = nss[0].get("vars") else {
        panic!()
    };
    let names: Vec<&str> = vars
        .iter()
        .map(|v| v.get("name").and_then(Value::as_str).unwrap())
        .collect();
    // Datalevin 0.10.7's 113 remote vars and 5 code vars.
    let expected = "get-conn create-conn close closed? conn? conn-from-db db db? empty-db init-db \
        close-db schema update-schema clear datalog-index-cache-limit transact! transact \
        transact-async* open-transact close-transact abort-transact q explain pull pull-many \
        entity touch entid datoms seek-datoms rseek-datoms search-datoms count-datoms \
        index-range cardinality max-eid analyze fulltext-datoms open-kv close-kv closed-kv? dir \
        open-dbi open-list-dbi clear-dbi drop-dbi list-dbis copy stat entries sync \
        get-env-flags set-env-flags txlog-watermarks open-tx-log create-snapshot! \
        list-snapshots gc-txlog-segments! open-transact-kv close-transact-kv abort-transact-kv \
        transact-kv transact-kv-async* get-value get-rank get-by-rank sample-kv get-first \
        get-first-n get-range key-range key-range-count range-count get-some range-filter \
        range-keep range-some range-filter-count visit visit-key-range put-list-items \
        del-list-items get-list list-count in-list? list-range list-range-count \
        list-range-first list-range-first-n list-range-filter list-range-keep list-range-some \
        list-range-filter-count visit-list visit-list-range new-search-engine add-doc \
        remove-doc clear-docs doc-indexed? doc-count search new-vector-index add-vec remove-vec \
        clear-vector-index close-vector-index vector-index-info force-vec-checkpoint! \
        vector-checkpoint-state search-vec re-index pod-fn defpodfn with-transaction-kv \
        with-transaction transact-async transact-kv-async";
    let expected: Vec<&str> = expected.split_whitespace().collect();
    assert_eq!(expected.len(), 118);
    let mut got = names.clone();
    got.sort_unstable();
    let mut want = expected.clone();
    want.sort_unstable();
    assert_eq!(got, want);
    let code: Vec<&str> = vars
        .iter()
        .filter(|v| v.get("code").is_some())
        .map(|v| v.get("name").and_then(Value::as_str).unwrap())
        .collect();
    assert_eq!(
        code,
        [
            "defpodfn",
            "with-transaction-kv",
            "with-transaction",
            "transact-async",
            "transact-kv-async"
        ]
    );
}

#[test]
fn datalog_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let d = s(dir.path().join("db").to_str().unwrap());
    let mut p = P::new();
    let conn = p.ok(
        "get-conn",
        args(vec![d.clone(), e("{:name {:db/unique :db.unique/identity} :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many} :nick {:db/cardinality :db.cardinality/many}}")]),
    );
    assert!(conn.get(&Edn::kw(NS, "conn")).is_some());
    // A second get-conn of the directory: the same handle.
    assert_eq!(p.ok("get-conn", args(vec![d.clone()])), conn);
    assert_eq!(p.ok("conn?", args(vec![conn.clone()])), Edn::Bool(true));
    assert_eq!(p.ok("closed?", args(vec![conn.clone()])), Edn::Bool(false));

    let report = p.ok(
        "transact!",
        args(vec![conn.clone(), e(r#"[{:db/id "ivan" :name "Ivan" :nick #{"V" "I"}} {:db/id -2 :name "Petr" :friend "ivan"}]"#)]),
    );
    let tempids = report.get(&Edn::kw("", "tempids")).unwrap();
    let ivan = tempids.get(&s("ivan")).and_then(Edn::as_long).unwrap();
    let petr = tempids.get(&Edn::Long(-2)).and_then(Edn::as_long).unwrap();
    let tx = tempids
        .get_kw("db", "current-tx")
        .and_then(Edn::as_long)
        .unwrap();
    assert!(tx > 0);
    let datoms = report
        .get(&Edn::kw("", "tx-data"))
        .and_then(Edn::as_seq)
        .unwrap();
    assert_eq!(datoms.len(), 5);
    let Some((tag, rep)) = datoms[0].as_tagged() else {
        panic!("{}", datoms[0])
    };
    assert_eq!(tag.to_string(), "datalevin/Datom");
    assert_eq!(rep.as_seq().unwrap().len(), 4);
    assert_eq!(rep.as_seq().unwrap()[3], Edn::Long(tx));
    // The datom tag crosses transit as ["~#datalevin/Datom", [e a v tx]].
    assert!(transit::write(&report).contains("\"~#datalevin/Datom\""));

    let db = p.ok("db", args(vec![conn.clone()]));
    assert_eq!(db.get(&Edn::kw(NS, "db")), conn.get(&Edn::kw(NS, "conn")));
    assert_eq!(p.ok("db?", args(vec![db.clone()])), Edn::Bool(true));
    // q with an input and rules.
    let q = e("[:find ?n :in $ ?x % :where (friend ?e ?f) [?f :name ?x] [?e :name ?n]]");
    let rules = e("[[(friend ?a ?b) [?a :friend ?b]]]");
    assert_eq!(
        p.ok("q", args(vec![q, db.clone(), s("Ivan"), rules])),
        e(r#"#{["Petr"]}"#)
    );
    // A query as a string (a Levin extension) and a scalar find.
    assert_eq!(
        p.ok(
            "q",
            args(vec![
                s("[:find ?e . :where [?e :name \"Ivan\"]]"),
                db.clone()
            ])
        ),
        Edn::Long(ivan)
    );
    assert_eq!(
        p.ok(
            "pull",
            args(vec![
                db.clone(),
                e("[:name {:friend [:name]}]"),
                Edn::Long(petr)
            ])
        ),
        e(r#"{:name "Petr" :friend [{:name "Ivan"}]}"#)
    );
    assert_eq!(
        p.ok(
            "pull-many",
            args(vec![
                db.clone(),
                e("[:name]"),
                e(&format!("[{ivan} {petr}]"))
            ])
        ),
        e(r#"[{:name "Ivan"} {:name "Petr"}]"#)
    );
    let ent = p.ok("entity", args(vec![db.clone(), e(r#"[:name "Ivan"]"#)]));
    assert_eq!(ent.get_kw("db", "id"), Some(&Edn::Long(ivan)));
    assert_eq!(
        ent.get(&Edn::kw("", "nick"))
            .and_then(Edn::as_set)
            .map(<[Edn]>::len),
        Some(2)
    );
    assert!(matches!(
        ent.get(&Edn::kw("", "db-name")),
        Some(Edn::Uuid(_))
    ));
    assert_eq!(p.ok("touch", args(vec![ent.clone()])), ent);
    assert_eq!(
        p.ok("entity", args(vec![db.clone(), Edn::Long(999)])),
        Edn::Nil
    );
    assert_eq!(
        p.ok("entid", args(vec![db.clone(), e(r#"[:name "Petr"]"#)])),
        Edn::Long(petr)
    );
    assert_eq!(
        p.ok("datoms", args(vec![db.clone(), e(":ave"), e(":name")])),
        e(&format!(r#"[[{ivan} :name "Ivan"] [{petr} :name "Petr"]]"#))
    );
    assert_eq!(
        p.ok(
            "datoms",
            args(vec![
                db.clone(),
                e(":eav"),
                Edn::Nil,
                Edn::Nil,
                Edn::Nil,
                Edn::Long(1)
            ])
        )
        .as_seq()
        .map(<[Edn]>::len),
        Some(1)
    );
    assert_eq!(
        p.ok(
            "rseek-datoms",
            args(vec![db.clone(), e(":ave"), e(":name")])
        )
        .as_seq()
        .unwrap()[0],
        e(&format!(r#"[{petr} :name "Petr"]"#))
    );
    assert_eq!(
        p.ok(
            "count-datoms",
            args(vec![db.clone(), Edn::Nil, e(":name"), Edn::Nil])
        ),
        Edn::Long(2)
    );
    assert_eq!(
        p.ok(
            "search-datoms",
            args(vec![db.clone(), Edn::Nil, Edn::Nil, s("Petr")])
        ),
        e(&format!(r#"[[{petr} :name "Petr"]]"#))
    );
    assert_eq!(
        p.ok(
            "index-range",
            args(vec![db.clone(), e(":name"), s("J"), Edn::Nil])
        ),
        e(&format!(r#"[[{petr} :name "Petr"]]"#))
    );
    assert_eq!(
        p.ok("cardinality", args(vec![db.clone(), e(":nick")])),
        Edn::Long(2)
    );
    let f = p.err(
        "search-datoms",
        args(vec![db.clone(), Edn::Nil, s("name"), Edn::Nil]),
    );
    assert_eq!(f.ty(), "levin/bad-argument", "{}", f.message);
    assert!(f.message.contains("attribute keyword"), "{}", f.message);
    assert_eq!(
        p.ok("max-eid", args(vec![db.clone()])),
        Edn::Long(petr.max(ivan))
    );
    let schema = p.ok("schema", args(vec![conn.clone()]));
    assert!(schema.get(&Edn::kw("", "friend")).is_some(), "{schema}");
    let schema = p.ok(
        "update-schema",
        args(vec![
            conn.clone(),
            e("{:age {:db/valueType :db.type/long}}"),
        ]),
    );
    assert!(schema.get(&Edn::kw("", "age")).is_some());
    // The snapshot taken by db does not see later writes; a fresh db does.
    p.ok(
        "transact",
        args(vec![conn.clone(), e(r#"[{:name "Oleg"}]"#)]),
    );
    let count = e("[:find (count ?e) . :where [?e :name]]");
    assert_eq!(
        p.ok("q", args(vec![count.clone(), db.clone()])),
        Edn::Long(2)
    );
    let db2 = p.ok("db", args(vec![conn.clone()]));
    assert_eq!(p.ok("q", args(vec![count.clone(), db2])), Edn::Long(3));
    let plan = p.ok(
        "explain",
        args(vec![Edn::Map(vec![]), count.clone(), conn.clone()]),
    );
    assert!(matches!(plan, Edn::Map(_)));

    // A query error.
    let f = p.err(
        "q",
        args(vec![
            e("[:find ?x :where [?x :name ?y] (nope ?y)]"),
            db.clone(),
        ]),
    );
    assert_eq!(f.ty(), "levin/query", "{}", f.message);

    p.ok("clear", args(vec![conn.clone()]));
    let db3 = p.ok("db", args(vec![conn.clone()]));
    assert_eq!(p.ok("q", args(vec![count, db3])), Edn::Nil);
    assert_eq!(p.ok("close", args(vec![conn.clone()])), Edn::Nil);
    assert_eq!(p.ok("closed?", args(vec![conn.clone()])), Edn::Bool(true));
    assert_eq!(p.ok("conn?", args(vec![conn.clone()])), Edn::Bool(false));
    assert_eq!(
        p.err("transact!", args(vec![conn, e("[]")])).ty(),
        "levin/no-such-handle"
    );
}

#[test]
fn get_conn_opts_are_stored_as_datalevin_stores_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = s(dir.path().to_str().unwrap());
    let mut p = P::new();
    let conn = p.ok(
        "get-conn",
        args(vec![
            d.clone(),
            e("{:name {:db/valueType :db.type/string}}"),
            e("{:closed-schema? true :auto-entity-time? true :validate-data? true}"),
        ]),
    );
    let f = p.err(
        "transact!",
        args(vec![conn.clone(), e(r#"[{:name "a" :other 1}]"#)]),
    );
    assert!(f.message.contains("not in the schema"), "{}", f.message);
    p.ok("transact!", args(vec![conn.clone(), e(r#"[{:name "b"}]"#)]));
    let attrs = "[:find ?a :in $ ?n :where [?e :name ?n] [?e ?a]]";
    let db = p.ok("db", args(vec![conn.clone()]));
    assert_eq!(
        p.ok("q", args(vec![e(attrs), db, s("b")])),
        e("#{[:name] [:db/created-at] [:db/updated-at]}")
    );
    p.ok("close", args(vec![conn]));
    // Opened again without opts: the stored ones still hold.
    let conn = p.ok("get-conn", args(vec![d.clone()]));
    let f = p.err(
        "transact!",
        args(vec![conn.clone(), e(r#"[{:name "c" :other 1}]"#)]),
    );
    assert!(f.message.contains("not in the schema"), "{}", f.message);
    p.ok("close", args(vec![conn]));
    // Opts name only what they change.
    let conn = p.ok(
        "get-conn",
        args(vec![d.clone(), Edn::Nil, e("{:closed-schema? false}")]),
    );
    let r = p.ok(
        "transact!",
        args(vec![conn.clone(), e(r#"[{:name "d" :other 1}]"#)]),
    );
    let stamped = r
        .get(&Edn::kw("", "tx-data"))
        .and_then(Edn::as_seq)
        .unwrap()
        .iter()
        .any(|d| d.to_string().contains(":db/updated-at"));
    assert!(stamped, "entity time is still on: {r}");
    let f = p.err(
        "get-conn",
        args(vec![d, Edn::Nil, e("{:closed-schema? :yes}")]),
    );
    assert_eq!(
        f.data.get(&Edn::kw("", "type")),
        Some(&s("levin/bad-argument"))
    );
    assert!(f.message.contains(":closed-schema?"), "{}", f.message);
}

#[test]
fn empty_init_and_conn_from_db() {
    let mut p = P::new();
    let db = p.ok("init-db", args(vec![e(r#"[[1 :name "A"] [2 :name "B"]]"#)]));
    assert_eq!(p.ok("max-eid", args(vec![db.clone()])), Edn::Long(2));
    let conn = p.ok("conn-from-db", args(vec![db.clone()]));
    assert_eq!(conn.get(&Edn::kw(NS, "conn")), db.get(&Edn::kw(NS, "db")));
    p.ok(
        "transact!",
        args(vec![conn.clone(), e(r#"[[:db/add 3 :name "C"]]"#)]),
    );
    let db2 = p.ok("db", args(vec![conn.clone()]));
    assert_eq!(p.ok("max-eid", args(vec![db2])), Edn::Long(3));
    let c2 = p.ok("create-conn", args(vec![]));
    assert_eq!(p.ok("conn?", args(vec![c2])), Edn::Bool(true));
    let empty = p.ok("empty-db", args(vec![]));
    assert_eq!(p.ok("max-eid", args(vec![empty.clone()])), Edn::Long(0));
    assert_eq!(p.ok("close-db", args(vec![empty.clone()])), Edn::Nil);
    assert_eq!(p.ok("db?", args(vec![empty])), Edn::Bool(false));
}

#[test]
fn re_index_rebuilds_a_conn_under_a_new_schema_and_answers_the_same_handle() {
    let dir = tempfile::tempdir().unwrap();
    let d = s(dir.path().join("db").to_str().unwrap());
    let mut p = P::new();
    let conn = p.ok("get-conn", args(vec![d]));
    p.ok(
        "transact!",
        args(vec![
            conn.clone(),
            e(r#"[{:email "a@x" :age 30} {:email "b@x" :age 40}]"#),
        ]),
    );
    let a = e(r#"[:email "a@x"]"#);
    let everything = |p: &mut P| {
        let db = p.ok("db", args(vec![conn.clone()]));
        (
            p.ok("datoms", args(vec![db.clone(), e(":eav")])),
            p.ok("schema", args(vec![db])),
        )
    };
    p.err("pull", args(vec![conn.clone(), e("[:age]"), a.clone()]));
    // [conn schema opts]: opts such as :backup? are ignored; the same handle comes back.
    let schema = e(
        "{:email {:db/valueType :db.type/string :db/unique :db.unique/identity}
                     :age {:db/valueType :db.type/long}}",
    );
    let again = p.ok(
        "re-index",
        args(vec![conn.clone(), schema, e("{:backup? true}")]),
    );
    assert_eq!(again, conn);
    assert_eq!(
        p.ok("pull", args(vec![conn.clone(), e("[:age]"), a.clone()])),
        e("{:age 30}")
    );
    let f = p.err(
        "transact!",
        args(vec![conn.clone(), e(r#"[[:db/add 1 :age "old"]]"#)]),
    );
    assert_eq!(f.ty(), "levin/transaction", "{}", f.message);
    // [conn opts] keeps the schema and every datom.
    let before = everything(&mut p);
    assert_eq!(p.ok("re-index", args(vec![conn.clone(), e("{}")])), conn);
    assert_eq!(p.ok("re-index", args(vec![conn.clone(), Edn::Nil])), conn);
    assert_eq!(everything(&mut p), before);
    // Refused, changing nothing: options that are not a map, a schema that is not a map
    // or that the data does not fit, and calls inside an explicit transaction.
    for (a, ty) in [
        (vec![conn.clone(), Edn::Long(1)], "levin/bad-argument"),
        (
            vec![conn.clone(), e("{:age {:db/index true}}"), s("opts")],
            "levin/bad-argument",
        ),
        (
            vec![conn.clone(), e("[:age]"), e("{}")],
            "levin/bad-argument",
        ),
        (
            vec![
                conn.clone(),
                e("{:age {:db/valueType :db.type/string}}"),
                e("{}"),
            ],
            "levin/transaction",
        ),
        (
            vec![
                conn.clone(),
                e("{:age {:db/valueType :db.type/nope}}"),
                e("{}"),
            ],
            "levin/schema",
        ),
    ] {
        let f = p.err("re-index", args(a.clone()));
        assert_eq!(f.ty(), ty, "{a:?}: {}", f.message);
        assert_eq!(everything(&mut p), before, "{a:?}");
    }
    let f = p.err("re-index", args(vec![conn.clone(), e("[:backup? true]")]));
    assert!(f.message.contains("options are a map"), "{}", f.message);
    let w = p.ok("open-transact", args(vec![conn.clone()]));
    for h in [&w, &conn] {
        let f = p.err("re-index", args(vec![h.clone(), e("{}")]));
        assert_eq!(f.ty(), "levin/transaction-state", "{}", f.message);
    }
    p.ok("abort-transact", args(vec![w]));
    assert_eq!(everything(&mut p), before);
    // Other handles: a key-value store is unsupported, a db value is not a conn, and the
    // arities are Datalevin's.
    let kv_dir = tempfile::tempdir().unwrap();
    let kv = p.ok("open-kv", args(vec![s(kv_dir.path().to_str().unwrap())]));
    let f = p.err("re-index", args(vec![kv, e("{}")]));
    assert_eq!(f.ty(), "levin/unsupported", "{}", f.message);
    assert!(f.message.contains("key-value"), "{}", f.message);
    let db = p.ok("db", args(vec![conn.clone()]));
    assert_eq!(
        p.err("re-index", args(vec![db, e("{}")])).ty(),
        "levin/bad-argument"
    );
    assert_eq!(
        p.err("re-index", args(vec![conn.clone()])).ty(),
        "levin/arity"
    );
}

#[test]
fn explicit_transactions_commit_abort_and_never_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let d = s(dir.path().to_str().unwrap());
    let mut p = P::new();
    let conn = p.ok(
        "get-conn",
        args(vec![
            d.clone(),
            e("{:name {:db/unique :db.unique/identity}}"),
        ]),
    );
    let count = e("[:find (count ?e) . :where [?e :name]]");

    let w = p.ok("open-transact", args(vec![conn.clone()]));
    assert_eq!(w.get(&Edn::kw("", "writing?")), Some(&Edn::Bool(true)));
    p.ok("transact!", args(vec![w.clone(), e(r#"[{:name "A"}]"#)]));
    // The transaction reads its own write; the connection does not see it yet.
    let wdb = p.ok("db", args(vec![w.clone()]));
    assert_eq!(p.ok("q", args(vec![count.clone(), wdb])), Edn::Long(1));
    assert_eq!(p.ok("q", args(vec![count.clone(), conn.clone()])), Edn::Nil);
    // A write through the other handle of the same database: an error, not a hang.
    let f = p.err("transact!", args(vec![conn.clone(), e(r#"[{:name "B"}]"#)]));
    assert_eq!(f.ty(), "levin/writer-busy", "{}", f.message);
    let kv = p.ok("open-kv", args(vec![d.clone()]));
    assert_eq!(
        p.err("open-dbi", args(vec![kv.clone(), s("x")])).ty(),
        "levin/writer-busy"
    );
    assert_eq!(
        p.err("open-transact", args(vec![conn.clone()])).ty(),
        "levin/transaction-state"
    );
    p.ok("close-transact", args(vec![w.clone()]));
    assert_eq!(
        p.ok("q", args(vec![count.clone(), conn.clone()])),
        Edn::Long(1)
    );
    // After the commit the store is writable again.
    p.ok("open-dbi", args(vec![kv.clone(), s("x")]));

    let w = p.ok("open-transact", args(vec![conn.clone()]));
    p.ok("transact!", args(vec![w.clone(), e(r#"[{:name "B"}]"#)]));
    p.ok("abort-transact", args(vec![w.clone()]));
    // with-transaction's close after an abort is a no-op.
    p.ok("close-transact", args(vec![w.clone()]));
    assert_eq!(
        p.ok("q", args(vec![count.clone(), conn.clone()])),
        Edn::Long(1)
    );
    assert_eq!(
        p.err("transact!", args(vec![w, e("[]")])).ty(),
        "levin/transaction-state"
    );

    // Key-value: the same.
    let wk = p.ok("open-transact-kv", args(vec![kv.clone()]));
    p.ok(
        "transact-kv",
        args(vec![wk.clone(), e(r#"[[:put "x" 1 2 :long :long]]"#)]),
    );
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                wk.clone(),
                s("x"),
                Edn::Long(1),
                e(":long"),
                e(":long")
            ])
        ),
        Edn::Long(2)
    );
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                kv.clone(),
                s("x"),
                Edn::Long(1),
                e(":long"),
                e(":long")
            ])
        ),
        Edn::Nil
    );
    assert_eq!(
        p.err(
            "transact-kv",
            args(vec![kv.clone(), e(r#"[[:put "x" 3 4 :long :long]]"#)])
        )
        .ty(),
        "levin/writer-busy"
    );
    assert_eq!(
        p.err("transact!", args(vec![conn.clone(), e(r#"[{:name "C"}]"#)]))
            .ty(),
        "levin/writer-busy"
    );
    p.ok("close-transact-kv", args(vec![wk.clone()]));
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                kv.clone(),
                s("x"),
                Edn::Long(1),
                e(":long"),
                e(":long")
            ])
        ),
        Edn::Long(2)
    );
    let wk = p.ok("open-transact-kv", args(vec![kv.clone()]));
    p.ok(
        "transact-kv",
        args(vec![
            wk.clone(),
            s("x"),
            e("[[:put 5 6]]"),
            e(":long"),
            e(":long"),
        ]),
    );
    p.ok("abort-transact-kv", args(vec![wk.clone()]));
    p.ok("close-transact-kv", args(vec![wk]));
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                kv.clone(),
                s("x"),
                Edn::Long(5),
                e(":long"),
                e(":long")
            ])
        ),
        Edn::Nil
    );
}

#[test]
fn kv_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = P::new();
    let kv = p.ok(
        "open-kv",
        args(vec![
            s(dir.path().to_str().unwrap()),
            e("{:flags #{:nosync}}"),
        ]),
    );
    assert_eq!(
        p.ok("dir", args(vec![kv.clone()])),
        s(dir.path().to_str().unwrap())
    );
    assert!(p
        .ok("get-env-flags", args(vec![kv.clone()]))
        .as_set()
        .unwrap()
        .contains(&e(":nosync")));
    p.ok("open-dbi", args(vec![kv.clone(), s("t")]));
    p.ok("open-dbi", args(vec![kv.clone(), s("m")]));
    p.ok("open-list-dbi", args(vec![kv.clone(), s("l")]));
    assert_eq!(
        p.ok("list-dbis", args(vec![kv.clone()])),
        e(r#"["l" "m" "t"]"#)
    );
    assert_eq!(
        p.ok(
            "transact-kv",
            args(vec![kv.clone(), e(r#"[[:put "t" 1 "one" :long :string] [:put "t" 2 "two" :long :string] [:put "t" 3 "three" :long :string] [:put "m" :k {:a [1 2]}] [:put "m" [1 "x"] :tuple [:long :string] :keyword]]"#)]),
        ),
        e(":transacted")
    );
    let long_str = |p: &mut P, var: &str, range: &str| {
        p.ok(
            var,
            args(vec![kv.clone(), s("t"), e(range), e(":long"), e(":string")]),
        )
    };
    assert_eq!(
        long_str(&mut p, "get-range", "[:closed 1 2]"),
        e(r#"[[1 "one"] [2 "two"]]"#)
    );
    assert_eq!(
        long_str(&mut p, "get-range", "[:closed-back 3 2]"),
        e(r#"[[3 "three"] [2 "two"]]"#)
    );
    assert_eq!(
        long_str(&mut p, "get-range", "[:greater-than 1]"),
        e(r#"[[2 "two"] [3 "three"]]"#)
    );
    assert_eq!(
        long_str(&mut p, "get-first", "[:all-back]"),
        e(r#"[3 "three"]"#)
    );
    assert_eq!(
        p.ok(
            "get-first-n",
            args(vec![
                kv.clone(),
                s("t"),
                Edn::Long(2),
                e("[:at-least 2]"),
                e(":long"),
                e(":string")
            ])
        ),
        e(r#"[[2 "two"] [3 "three"]]"#)
    );
    assert_eq!(
        p.ok(
            "key-range",
            args(vec![kv.clone(), s("t"), e("[:open 1 3]"), e(":long")])
        ),
        e("[2]")
    );
    assert_eq!(
        p.ok(
            "range-count",
            args(vec![kv.clone(), s("t"), e("[:at-most 2]"), e(":long")])
        ),
        Edn::Long(2)
    );
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                kv.clone(),
                s("t"),
                Edn::Long(2),
                e(":long"),
                e(":string")
            ])
        ),
        s("two")
    );
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                kv.clone(),
                s("t"),
                Edn::Long(2),
                e(":long"),
                e(":string"),
                Edn::Bool(false)
            ])
        ),
        e(r#"[2 "two"]"#)
    );
    // :data keys and values by default, tuples, keywords.
    assert_eq!(
        p.ok("get-value", args(vec![kv.clone(), s("m"), e(":k")])),
        e("{:a [1 2]}")
    );
    assert_eq!(
        p.ok(
            "get-value",
            args(vec![
                kv.clone(),
                s("m"),
                e(r#"[1 "x"]"#),
                e("[:long :string]"),
                e(":keyword")
            ])
        ),
        e(":tuple")
    );
    assert_eq!(
        p.ok(
            "get-rank",
            args(vec![kv.clone(), s("t"), Edn::Long(2), e(":long")])
        ),
        Edn::Long(1)
    );
    // As Datalevin: the value alone unless ignore-key? is false.
    let rank_0 = vec![kv.clone(), s("t"), Edn::Long(0), e(":long"), e(":string")];
    assert_eq!(p.ok("get-by-rank", args(rank_0.clone())), e(r#""one""#));
    let pair = [rank_0, vec![Edn::Bool(false)]].concat();
    assert_eq!(p.ok("get-by-rank", args(pair)), e(r#"[1 "one"]"#));
    assert_eq!(
        p.ok("entries", args(vec![kv.clone(), s("t")])),
        Edn::Long(3)
    );
    assert_eq!(
        p.ok("sample-kv", args(vec![kv.clone(), s("t"), Edn::Long(2)]))
            .as_seq()
            .map(<[Edn]>::len),
        Some(2)
    );
    // List dbis.
    p.ok(
        "put-list-items",
        args(vec![
            kv.clone(),
            s("l"),
            s("a"),
            e("[3 1 2]"),
            e(":string"),
            e(":long"),
        ]),
    );
    p.ok(
        "put-list-items",
        args(vec![
            kv.clone(),
            s("l"),
            s("b"),
            e("[7]"),
            e(":string"),
            e(":long"),
        ]),
    );
    assert_eq!(
        p.ok(
            "get-list",
            args(vec![kv.clone(), s("l"), s("a"), e(":string"), e(":long")])
        ),
        e("[1 2 3]")
    );
    assert_eq!(
        p.ok(
            "list-count",
            args(vec![kv.clone(), s("l"), s("a"), e(":string")])
        ),
        Edn::Long(3)
    );
    assert_eq!(
        p.ok(
            "in-list?",
            args(vec![
                kv.clone(),
                s("l"),
                s("a"),
                Edn::Long(2),
                e(":string"),
                e(":long")
            ])
        ),
        Edn::Bool(true)
    );
    let lr = |p: &mut P, var: &str, kr: &str, vr: &str| {
        p.ok(
            var,
            args(vec![
                kv.clone(),
                s("l"),
                e(kr),
                e(":string"),
                e(vr),
                e(":long"),
            ]),
        )
    };
    assert_eq!(
        lr(&mut p, "list-range", "[:all]", "[:closed 2 7]"),
        e(r#"[["a" 2] ["a" 3] ["b" 7]]"#)
    );
    assert_eq!(
        lr(&mut p, "list-range-count", "[:all]", "[:all]"),
        Edn::Long(4)
    );
    assert_eq!(
        lr(&mut p, "list-range-first", "[:all-back]", "[:all-back]"),
        e(r#"["b" 7]"#)
    );
    assert_eq!(
        p.ok(
            "key-range-count",
            args(vec![kv.clone(), s("l"), e("[:all]"), e(":string")])
        ),
        Edn::Long(2)
    );
    p.ok(
        "del-list-items",
        args(vec![
            kv.clone(),
            s("l"),
            s("a"),
            e("[1]"),
            e(":string"),
            e(":long"),
        ]),
    );
    assert_eq!(
        p.ok(
            "get-list",
            args(vec![kv.clone(), s("l"), s("a"), e(":string"), e(":long")])
        ),
        e("[2 3]")
    );
    p.ok(
        "del-list-items",
        args(vec![kv.clone(), s("l"), s("a"), e(":string")]),
    );
    assert_eq!(
        p.ok(
            "list-count",
            args(vec![kv.clone(), s("l"), s("a"), e(":string")])
        ),
        Edn::Long(0)
    );
    let st = p.ok("stat", args(vec![kv.clone(), s("t")]));
    assert_eq!(st.get(&Edn::kw("", "entries")), Some(&Edn::Long(3)));
    p.ok("clear-dbi", args(vec![kv.clone(), s("t")]));
    assert_eq!(
        p.ok("entries", args(vec![kv.clone(), s("t")])),
        Edn::Long(0)
    );
    p.ok("drop-dbi", args(vec![kv.clone(), s("t")]));
    assert_eq!(p.ok("list-dbis", args(vec![kv.clone()])), e(r#"["l" "m"]"#));
    let copy = dir.path().join("copy");
    p.ok(
        "copy",
        args(vec![kv.clone(), s(copy.to_str().unwrap()), Edn::Bool(true)]),
    );
    assert!(copy.join(levin_engine::DATA_FILE).exists());
    p.ok("sync", args(vec![kv.clone()]));
    p.ok("close-kv", args(vec![kv.clone()]));
    assert_eq!(p.ok("closed-kv?", args(vec![kv.clone()])), Edn::Bool(true));
    assert_eq!(
        p.err("get-value", args(vec![kv, s("t"), Edn::Long(1)]))
            .ty(),
        "levin/no-such-handle"
    );
}

#[test]
fn unsupported_unknown_and_wrong_calls_answer_errors_with_the_id() {
    let mut p = P::new();
    let f = p.err("search", args(vec![]));
    assert_eq!(f.ty(), "levin/unsupported");
    assert_eq!(f.data.get(&Edn::kw("", "var")), Some(&s("search")));
    assert_eq!(p.err("pod-fn", args(vec![])).ty(), "levin/unsupported");
    assert_eq!(p.err("no-such-var", args(vec![])).ty(), "levin/unknown-var");
    let f = p.err("get-conn", args(vec![]));
    assert_eq!(f.ty(), "levin/arity", "{}", f.message);
    let ghost = e(&format!(
        "{{:{NS}/conn #uuid \"00000000-0000-4000-8000-000000000000\"}}"
    ));
    assert_eq!(
        p.err("transact!", args(vec![ghost.clone(), e("[]")])).ty(),
        "levin/no-such-handle"
    );
    assert_eq!(p.err("db", args(vec![ghost])).ty(), "levin/no-such-handle");
    assert_eq!(
        p.err("transact!", args(vec![Edn::Long(1), e("[]")])).ty(),
        "levin/bad-argument"
    );

    // Malformed transit in args, an unknown op, a var outside the namespace.
    let reply = p.send(Value::dict([
        ("op", Value::str("invoke")),
        ("id", Value::str("t1")),
        ("var", Value::str(format!("{NS}/q"))),
        ("args", Value::str("[\"~:find\", ")),
    ]));
    assert_eq!(reply.get("id").and_then(Value::as_str), Some("t1"));
    assert!(reply
        .get("ex-data")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("levin/bad-transit"));
    let reply = p.send(Value::dict([
        ("op", Value::str("frobnicate")),
        ("id", Value::str("u1")),
    ]));
    assert_eq!(reply.get("id").and_then(Value::as_str), Some("u1"));
    assert!(reply
        .get("ex-data")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("levin/unknown-op"));
    let reply = p.send(Value::dict([
        ("op", Value::str("invoke")),
        ("id", Value::str("v1")),
        ("var", Value::str("clojure.core/slurp")),
        ("args", Value::str("[]")),
    ]));
    assert_eq!(reply.get("id").and_then(Value::as_str), Some("v1"));
    assert!(reply
        .get("ex-message")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("Var not found"));
}

/// Reads every reply the pod wrote.
fn replies(out: &[u8]) -> Vec<Value> {
    let mut r = Reader::new(out);
    let mut all = Vec::new();
    while let Some(v) = r.read_value().unwrap() {
        all.push(v);
    }
    all
}

fn msg(pairs: &[(&str, &str)]) -> Vec<u8> {
    bencode::to_vec(&Value::dict(pairs.iter().map(|(k, v)| (*k, Value::str(v)))))
}

#[test]
fn bad_bytes_on_the_stream_get_replies_and_the_pod_keeps_serving() {
    let mut input = Vec::new();
    input.extend_from_slice(b"this is not it! ");
    // A message cut short by the next: its id was read, so its error reply has it.
    input.extend_from_slice(b"d2:id2:c12:op6:invoke");
    input.extend(msg(&[("op", "describe"), ("id", "ok1")]));
    input.extend(msg(&[
        ("op", "invoke"),
        ("id", "ok2"),
        ("var", &format!("{NS}/conn?")),
        ("args", "[null]"),
    ]));
    input.extend(msg(&[("op", "whatever"), ("id", "ok3")]));
    // Truncated at the end of the input.
    input.extend_from_slice(b"d2:id2:z92:op6:inv");
    let mut pod = Pod::new(Duration::from_millis(100));
    let mut out = Vec::new();
    assert_eq!(serve(&mut pod, &input[..], &mut out).unwrap(), End::Eof);
    let all = replies(&out);
    let ids: Vec<&str> = all
        .iter()
        .map(|r| r.get("id").and_then(Value::as_str).unwrap())
        .collect();
    assert_eq!(ids, ["unknown", "c1", "ok1", "ok2", "ok3", "z9"]);
    assert!(all[0]
        .get("ex-message")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("bencode"));
    assert_eq!(
        all[3].get("value").and_then(Value::as_str),
        Some("[\"~#'\",false]")
    );
    for i in [0, 1, 4, 5] {
        let Some(Value::List(st)) = all[i].get("status") else {
            panic!()
        };
        assert_eq!(st.len(), 2, "{:?}", all[i]);
    }
}

#[test]
fn shutdown_ends_the_loop_without_a_reply() {
    let mut input = msg(&[("op", "describe"), ("id", "1")]);
    input.extend(msg(&[("op", "shutdown"), ("id", "2")]));
    input.extend(msg(&[("op", "describe"), ("id", "3")]));
    let mut pod = Pod::new(Duration::from_millis(100));
    let mut out = Vec::new();
    assert_eq!(
        serve(&mut pod, &input[..], &mut out).unwrap(),
        End::Shutdown
    );
    assert_eq!(replies(&out).len(), 1);
}
