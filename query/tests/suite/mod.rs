//! A Datalog and a key-value workload written once against the `Connection` traits, with
//! their expected answers: the embedded tests (query/tests/connection.rs) and the remote
//! ones (client/tests/remote.rs) run the same functions.

use levin_datalog::{Index, SchemaUpdate};
use levin_edn::{read, Edn, Keyword};
use levin_engine::Range;
use levin_query::{Connection, DatalogRead, DatalogTransaction, KvConnection, KvWrite};

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

/// A small application written once for any Datalog connection.
pub fn app<C: Connection>(conn: &C) -> Result<Vec<Edn>, C::Error> {
    conn.update_schema(
        &e("{:city/name {:db/unique :db.unique/identity}
             :person/city {:db/valueType :db.type/ref}}"),
        &SchemaUpdate::default(),
    )?;
    let report = conn.transact(&e(
        r#"[{:db/id "ivan" :person/name "Ivan" :person/age 30 :person/city "m"}
            {:db/id "m" :city/name "Moscow"}]"#,
    ))?;
    assert!(report.tx > 0);
    let mut out = vec![conn.q(
        &e("[:find ?n . :in $ ?min :where [?p :person/age ?a] [(>= ?a ?min)] [?p :person/name ?n]]"),
        &[Edn::Long(18)],
    )?];
    out.push(conn.pull(
        &e("[:person/name {:person/city [:city/name]}]"),
        &Edn::Long(1),
    )?);
    // An explicit transaction that reads its own writes, then aborts.
    {
        let mut t = conn.begin()?;
        t.transact(&e(r#"[{:person/name "Petr" :person/age 10}]"#))?;
        out.push(t.q(&e("[:find (count ?p) . :where [?p :person/age]]"), &[])?);
        t.abort()?;
    }
    out.push(conn.q(&e("[:find (count ?p) . :where [?p :person/age]]"), &[])?);
    // A speculative transaction: its reads see it, then nothing of it is left.
    let count = e("[:find (count ?p) . :where [?p :person/age]]");
    let (report_tx, seen) = conn
        .with_tx(&e(r#"[{:person/name "Olga" :person/age 40}]"#), |r, t| {
            (r.tx > 0, t.q(&count, &[]))
        })?;
    out.push(Edn::Vector(vec![Edn::Bool(report_tx), seen?]));
    out.push(conn.q(&count, &[])?);
    let failed = conn.with_tx(&e("[[:db/add 1 :person/age]]"), |_, _| ());
    out.push(Edn::Bool(failed.is_err()));
    let snapshot = conn.db()?;
    out.push(Edn::Long(
        snapshot.count_datoms(Index::Ave, &[e(":person/age")])? as i64,
    ));
    out.push(Edn::Vector(
        conn.rseek_datoms(Index::Eav, &[], Some(2))?
            .iter()
            .map(|d| d.to_edn())
            .collect(),
    ));
    out.push(
        conn.entity(&e(r#"[:city/name "Moscow"]"#))?
            .unwrap_or(Edn::Nil),
    );
    // search-datoms with each part given or not, its count, and cardinality.
    let kw = |s: &str| match e(s) {
        Edn::Keyword(k) => k,
        other => panic!("not a keyword: {other}"),
    };
    let (name, age) = (kw(":person/name"), kw(":person/age"));
    let ivan = Edn::Long(1);
    let searches: [(Option<&Edn>, Option<&Keyword>, Option<&Edn>); 5] = [
        (Some(&ivan), None, None),
        (Some(&ivan), Some(&name), None),
        (None, Some(&age), Some(&Edn::Long(30))),
        (None, None, Some(&Edn::Long(30))),
        (Some(&ivan), None, Some(&Edn::Long(31))),
    ];
    for (se, sa, sv) in searches {
        let found = snapshot.search_datoms(se, sa, sv)?;
        out.push(Edn::Vector(found.iter().map(|d| d.to_edn()).collect()));
        out.push(Edn::Long(snapshot.count_search_datoms(se, sa, sv)? as i64));
    }
    out.push(Edn::Long(snapshot.cardinality(&name)? as i64));
    out.push(Edn::Long(conn.cardinality(&kw(":person/city"))? as i64));
    out.push(Edn::Long(conn.cardinality(&kw(":no/such"))? as i64));
    conn.clear()?;
    out.push(Edn::Long(conn.max_eid()? as i64));
    Ok(out)
}

/// What [`app`] returns on a fresh database.
pub fn app_expected() -> Vec<Edn> {
    vec![
        e(r#""Ivan""#),
        e(r#"{:person/name "Ivan" :person/city {:city/name "Moscow"}}"#),
        e("2"),
        e("1"),
        e("[true 2]"),
        e("1"),
        e("true"),
        e("1"),
        e(r#"[[2 :city/name "Moscow"] [1 :person/age 30]]"#),
        e(r#"{:db/id 2 :city/name "Moscow"}"#),
        // EAV order: by attribute id (`:person/city` came with the schema, first).
        e(r#"[[1 :person/city 2] [1 :person/name "Ivan"] [1 :person/age 30]]"#),
        e("3"),
        e(r#"[[1 :person/name "Ivan"]]"#),
        e("1"),
        e("[[1 :person/age 30]]"),
        e("1"),
        e("[[1 :person/age 30]]"),
        e("1"),
        e("[]"),
        e("0"),
        e("1"),
        e("1"),
        e("0"),
        e("0"),
    ]
}

/// Written once for any key-value connection.
pub fn kv_app<K: KvConnection>(kv: &K) -> Result<Vec<String>, K::Error> {
    kv.open_dbi("users", false)?;
    kv.open_dbi("tags", true)?;
    kv.transact_kv(&[
        KvWrite::Put {
            dbi: "users".into(),
            key: b"alice".to_vec(),
            value: b"engineer".to_vec(),
        },
        KvWrite::Put {
            dbi: "users".into(),
            key: b"bob".to_vec(),
            value: b"designer".to_vec(),
        },
        KvWrite::PutList {
            dbi: "tags".into(),
            key: b"alice".to_vec(),
            values: vec![b"rust".to_vec(), b"datalog".to_vec()],
        },
    ])?;
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut out = vec![];
    out.push(
        kv.get_value("users", b"alice")?
            .map(|v| s(&v))
            .unwrap_or_default(),
    );
    for (k, v) in kv.get_range("users", &Range::all().rev(), Some(1))? {
        out.push(format!("{}={}", s(&k), s(&v)));
    }
    out.push(kv.range_count("users", &Range::at_least(b"b"))?.to_string());
    out.push(kv.get_rank("users", b"bob")?.unwrap_or(99).to_string());
    out.push(
        kv.get_list("tags", b"alice")?
            .iter()
            .map(|v| s(v))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push(kv.in_list("tags", b"alice", b"rust")?.to_string());
    let mut dbis = kv.list_dbis()?;
    dbis.sort();
    out.push(dbis.join(","));
    kv.drop_dbi("tags")?;
    out.push(kv.list_dbis()?.join(","));
    Ok(out)
}

/// What [`kv_app`] returns on a fresh environment.
pub fn kv_expected() -> Vec<&'static str> {
    vec![
        "engineer",
        "bob=designer",
        "1",
        "1",
        "datalog,rust",
        "true",
        "tags,users",
        "users",
    ]
}

/// Re-indexing under a new schema, written once for any Datalog connection: untyped data
/// made typed and unique, a schema the data does not fit and a schema that is not valid
/// (both refused, changing nothing), and a re-index that keeps the schema.
pub fn re_index_app<C: Connection>(conn: &C) -> Result<Vec<Edn>, C::Error> {
    conn.transact(&e(r#"[{:email "a@x" :age 30 :nick "x"}
                         {:email "b@x" :age 40 :nick "x"}
                         {:email "c@x" :age 50 :nick "y"}]"#))?;
    let everything = || -> Result<(Vec<Edn>, Edn), C::Error> {
        let datoms = conn.datoms(Index::Eav, &[], None)?;
        Ok((
            datoms.iter().map(|d| d.to_edn()).collect(),
            conn.schema()?.to_edn(),
        ))
    };
    let query = e("[:find ?m ?a :where [?e :email ?m] [?e :age ?a]]");
    let answer = conn.q(&query, &[])?;
    let a = e(r#"[:email "a@x"]"#);
    let mut out = vec![];
    // Before: :email is not unique, so it makes no lookup ref.
    out.push(Edn::Bool(conn.pull(&e("[:age]"), &a).is_err()));
    let n = conn.re_index(Some(&e(
        "{:email {:db/valueType :db.type/string :db/unique :db.unique/identity}
          :age {:db/valueType :db.type/long}}",
    )))?;
    out.push(Edn::Long(n as i64));
    out.push(Edn::Bool(conn.q(&query, &[])? == answer));
    // The new schema is in force: a lookup ref through :email, an upsert by it, and a value
    // of the wrong type refused.
    out.push(conn.pull(&e("[:age]"), &a)?);
    conn.transact(&e(r#"[{:email "a@x" :age 31}]"#))?;
    out.push(Edn::Long(conn.max_eid()? as i64));
    out.push(Edn::Bool(
        conn.transact(&e(r#"[[:db/add 1 :age "old"]]"#)).is_err(),
    ));
    // A schema the data does not fit (two entities share :nick "x") fails it all.
    let before = everything()?;
    let err = conn.re_index(Some(&e("{:nick {:db/unique :db.unique/value}}")));
    out.push(Edn::Bool(err.is_err()));
    out.push(Edn::Bool(everything()? == before));
    // So does a schema that is not valid, and its error names the attribute.
    let err = conn.re_index(Some(&e("{:age {:db/valueType :db.type/nope}}")));
    out.push(Edn::Bool(
        err.is_err_and(|err| err.to_string().contains(":age")),
    ));
    out.push(Edn::Bool(everything()? == before));
    // No schema (or nil) keeps the stored one and every datom.
    out.push(Edn::Long(conn.re_index(None)? as i64));
    out.push(Edn::Long(conn.re_index(Some(&Edn::Nil))? as i64));
    out.push(Edn::Bool(everything()? == before));
    out.push(conn.pull(&e("[:age]"), &a)?);
    Ok(out)
}

/// What [`re_index_app`] returns on a fresh database.
pub fn re_index_expected() -> Vec<Edn> {
    vec![
        e("true"),
        e("9"),
        e("true"),
        e("{:age 30}"),
        e("3"),
        e("true"),
        e("true"),
        e("true"),
        e("true"),
        e("true"),
        e("9"),
        e("9"),
        e("true"),
        e("{:age 31}"),
    ]
}

/// The stored options through the trait: read, set, obeyed, set back. Returns whether an
/// assertion of an attribute the schema lacks succeeded: before, with the schema closed,
/// and after.
pub fn options_app<C: Connection>(conn: &C) -> Result<Vec<bool>, C::Error> {
    let start = conn.options()?;
    assert!(!start.closed_schema && !start.auto_entity_time, "{start:?}");
    let mut out = vec![conn.transact(&e("[{:known 1}]")).is_ok()];
    let mut closed = start;
    closed.closed_schema = true;
    conn.set_options(closed)?;
    assert_eq!(conn.options()?, closed);
    out.push(conn.transact(&e("[{:unknown 1}]")).is_ok());
    conn.set_options(start)?;
    out.push(conn.transact(&e("[{:unknown 1}]")).is_ok());
    Ok(out)
}
