//! Reads the server streams from their snapshot (datoms, index ranges, key-value ranges
//! and lists), through the real server and the client, in results of several batches: each
//! equals the embedded answer, with a limit, in a session snapshot, and inside an explicit
//! transaction that sees its own writes.

use std::sync::Arc;

use levin_client::Client;
use levin_datalog::kv_typed::{self, KvArgs, ReadOpts};
use levin_datalog::{Conn, Datom, Index};
use levin_edn::{read, Edn, Keyword};
use levin_query::{Connection, DatalogRead, DatalogTransaction};
use levin_server::{Config, HashCost, Server};

const ADMIN_PW: &str = "admin-secret";

fn e(s: &str) -> Edn {
    read(s).unwrap()
}

fn start(root: &std::path::Path) -> Server {
    let mut config = Config::new(root);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(ADMIN_PW.into());
    config.hash_cost = HashCost::TESTING;
    Server::start(config).unwrap()
}

fn uri(server: &Server, db: &str) -> String {
    format!("levin://admin:{ADMIN_PW}@{}/{db}", server.local_addr())
}

/// `n` entities from `from`, each with a number, a name and two tags: 4 datoms apiece.
fn people(from: usize, n: usize) -> Edn {
    let tx: Vec<String> = (from..from + n)
        .map(|i| {
            format!(
                r#"{{:n {i} :name "p{i}" :tag ["t{}" "u{}"]}}"#,
                i % 7,
                i % 11
            )
        })
        .collect();
    read(&format!("[{}]", tx.join(" "))).unwrap()
}

const SCHEMA: &str = "{:tag {:db/cardinality :db.cardinality/many}}";

/// The reads compared, on any reader: several batches each, and limits around a batch.
fn datom_reads<R: DatalogRead>(r: &R) -> Result<Vec<Vec<Datom>>, R::Error> {
    let n = Keyword::new(None, "n");
    Ok(vec![
        r.datoms(Index::Eav, &[], None)?,
        r.datoms(Index::Eav, &[], Some(2_500))?,
        r.datoms(Index::Eav, &[], Some(1_000))?,
        r.datoms(Index::Eav, &[], Some(1_001))?,
        r.datoms(Index::Eav, &[], Some(0))?,
        r.datoms(Index::Ave, &[e(":tag")], None)?,
        r.datoms(Index::Ave, &[e(":tag"), e(r#""t3""#)], None)?,
        r.datoms(Index::Eav, &[e("7")], None)?,
        r.seek_datoms(Index::Eav, &[e("1500")], None)?,
        r.seek_datoms(Index::Ave, &[e(":n"), e("700")], Some(2_222))?,
        r.rseek_datoms(Index::Ave, &[e(":n"), e("2000")], None)?,
        r.rseek_datoms(Index::Eav, &[e("2600"), e(":name")], Some(3_003))?,
        r.index_range(&n, Some(&e("100")), Some(&e("2600")), None)?,
        r.index_range(&n, None, None, Some(1_234))?,
        r.index_range(&n, Some(&e("5")), Some(&e("10")), None)?,
    ])
}

#[test]
fn datom_reads_of_many_batches_are_the_embedded_answers() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let embedded_dir = tempfile::tempdir().unwrap();
    let embedded = Conn::open(embedded_dir.path(), SCHEMA).unwrap();
    let client = Arc::new(Client::connect(&uri(&server, "")).unwrap());
    let remote = client.open_db_with("big", Some(&e(SCHEMA)), None).unwrap();
    remote.transact(&people(0, 3_000)).unwrap();
    embedded.transact(&people(0, 3_000)).unwrap();

    let before = datom_reads(&embedded.db().unwrap()).unwrap();
    assert_eq!(before[0].len(), 12_000);
    assert_eq!(before[2].len(), 1_000);
    assert!(before[10].len() > 2_000, "{}", before[10].len());
    assert_eq!(datom_reads(&remote).unwrap(), before);

    // A session snapshot keeps its state while more is written.
    let snapshot = remote.db().unwrap();
    remote.transact(&people(3_000, 500)).unwrap();
    embedded.transact(&people(3_000, 500)).unwrap();
    assert_eq!(datom_reads(&snapshot).unwrap(), before);
    let after = datom_reads(&embedded.db().unwrap()).unwrap();
    assert_eq!(after[0].len(), 14_000);
    assert_eq!(datom_reads(&remote).unwrap(), after);

    // Inside an explicit transaction, reads see its own writes; others do not.
    let mut t = remote.begin().unwrap();
    t.transact(&people(3_500, 700)).unwrap();
    let mut et = embedded.begin().unwrap();
    et.transact(&people(3_500, 700)).unwrap();
    let inside = datom_reads(&et.db().unwrap()).unwrap();
    assert_eq!(inside[0].len(), 16_800);
    assert_eq!(datom_reads(&t).unwrap(), inside);
    let other = levin_client::connect(&uri(&server, "big")).unwrap();
    assert_eq!(datom_reads(&other).unwrap(), after);
    t.abort().unwrap();
    et.abort();
    assert_eq!(datom_reads(&remote).unwrap(), after);
}

/// A key-value read on the server and the same read embedded (`kv_typed::read_op`, as the
/// pod answers it), side by side.
struct Kv {
    client: Arc<Client>,
    env: levin_engine::Env,
}

impl Kv {
    fn transact(&self, forms: Vec<Edn>) {
        self.client
            .call(
                "transact-kv",
                vec![e(r#""store""#), Edn::Vector(forms.clone())],
            )
            .unwrap();
        let mut w = self.env.write().unwrap();
        for f in &forms {
            kv_typed::apply_form(&mut w, f).unwrap();
        }
        w.commit().unwrap();
    }

    fn remote(&self, op: &str, args: &str, limit: Option<i64>) -> Edn {
        let mut all = vec![e(r#""store""#)];
        all.extend(e(args).as_seq().unwrap().iter().cloned());
        let named = limit
            .map(|n| vec![(Edn::kw("", "limit"), Edn::Long(n))])
            .unwrap_or_default();
        self.client.call_with(op, all, named).unwrap()
    }

    fn embedded(&self, op: &str, args: &str, limit: Option<i64>) -> Edn {
        let mut all = vec![e(r#""store""#)];
        all.extend(e(args).as_seq().unwrap().iter().cloned());
        let a = KvArgs { op, args: &all };
        let opts = ReadOpts {
            limit: limit.map(|n| n as usize),
            seed: 0,
        };
        kv_typed::read_op(&self.env.read().unwrap(), &a, &opts).unwrap()
    }
}

/// The key-value reads compared: operation, arguments, `:limit`, how many items, and
/// whether that grows with the pairs written later (keys from 3,000 up).
type KvRead = (&'static str, &'static str, Option<i64>, usize, bool);

const KV_READS: &[KvRead] = &[
    (
        "get-range",
        r#"["pairs" [:all] :long :string]"#,
        None,
        3_000,
        true,
    ),
    (
        "get-range",
        r#"["pairs" [:all] :long :string]"#,
        Some(2_500),
        2_500,
        false,
    ),
    (
        "get-range",
        r#"["pairs" [:all-back] :long :string true]"#,
        None,
        3_000,
        true,
    ),
    (
        "get-range",
        r#"["pairs" [:closed 100 2600] :long :string]"#,
        None,
        2_501,
        false,
    ),
    (
        "get-range",
        r#"["pairs" [:at-least 2990] :long :string]"#,
        None,
        10,
        true,
    ),
    (
        "key-range",
        r#"["pairs" [:less-than 2400] :long]"#,
        None,
        2_400,
        false,
    ),
    (
        "key-range",
        r#"["pairs" [:all] :long]"#,
        Some(1_001),
        1_001,
        false,
    ),
    ("key-range", r#"["lists" [:all] :long]"#, None, 3, false),
    (
        "get-first-n",
        r#"["pairs" 2100 [:all] :long :string]"#,
        None,
        2_100,
        false,
    ),
    ("get-list", r#"["lists" 1 :long :long]"#, None, 2_200, false),
    (
        "get-list",
        r#"["lists" 1 :long :long]"#,
        Some(1_500),
        1_500,
        false,
    ),
    (
        "list-range",
        r#"["lists" [:all] :long [:all] :long]"#,
        None,
        4_700,
        false,
    ),
    (
        "list-range",
        r#"["lists" [:all] :long [:closed 100 1999] :long]"#,
        None,
        4_200,
        false,
    ),
    (
        "list-range",
        r#"["lists" [:closed 1 2] :long [:all] :long]"#,
        Some(3_000),
        3_000,
        false,
    ),
    (
        "sample-kv",
        r#"["pairs" 5000 :long :string]"#,
        None,
        3_000,
        true,
    ),
    (
        "sample-kv",
        r#"["pairs" 1500 :long :string]"#,
        None,
        1_500,
        false,
    ),
];

/// Every read of [`KV_READS`] gives the same on the server as embedded, after `extra`
/// pairs were added.
fn kv_reads_agree(kv: &Kv, extra: usize) {
    for &(op, args, limit, n, grows) in KV_READS {
        let expected = kv.embedded(op, args, limit);
        let len = expected.as_seq().map_or(0, <[Edn]>::len);
        assert_eq!(
            len,
            if grows { n + extra } else { n },
            "{op} {args} {limit:?}"
        );
        assert_eq!(
            kv.remote(op, args, limit),
            expected,
            "{op} {args} {limit:?}"
        );
    }
}

#[test]
fn key_value_reads_of_many_batches_are_the_embedded_answers() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let client = Arc::new(Client::connect(&uri(&server, "")).unwrap());
    client.open_kv("store").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kv = Kv {
        client: client.clone(),
        env: levin_engine::Env::open(dir.path()).unwrap(),
    };
    let mut w = kv.env.write().unwrap();
    kv_typed::open_dbi(&mut w, "pairs", false).unwrap();
    kv_typed::open_dbi(&mut w, "lists", true).unwrap();
    w.commit().unwrap();
    client
        .call("open-dbi", vec![e(r#""store""#), e(r#""pairs""#)])
        .unwrap();
    client
        .call("open-list-dbi", vec![e(r#""store""#), e(r#""lists""#)])
        .unwrap();
    let pairs = |from: usize, to: usize| -> Vec<Edn> {
        (from..to)
            .map(|i| e(&format!(r#"[:put "pairs" {i} "v{i}" :long :string]"#)))
            .collect()
    };
    kv.transact(pairs(0, 3_000));
    let list = |k: usize, n: usize| {
        let vs: Vec<String> = (0..n).map(|v| v.to_string()).collect();
        e(&format!(
            r#"[:put-list "lists" {k} [{}] :long :long]"#,
            vs.join(" ")
        ))
    };
    kv.transact(vec![list(1, 2_200), list(2, 2_000), list(3, 500)]);
    kv_reads_agree(&kv, 0);
    // The items themselves, not only their number.
    let all = kv.remote("get-range", r#"["pairs" [:all] :long :string]"#, None);
    let expected: Vec<Edn> = (0..3_000).map(|i| e(&format!(r#"[{i} "v{i}"]"#))).collect();
    assert_eq!(all, Edn::Vector(expected));

    // Inside an explicit transaction the reads see its own writes.
    client
        .call("open-transact-kv", vec![e(r#""store""#)])
        .unwrap();
    client
        .call(
            "transact-kv",
            vec![e(r#""store""#), Edn::Vector(pairs(3_000, 3_400))],
        )
        .unwrap();
    let mut w = kv.env.write().unwrap();
    for f in pairs(3_000, 3_400) {
        kv_typed::apply_form(&mut w, &f).unwrap();
    }
    let inside = kv_typed::read_op(
        &w,
        &KvArgs {
            op: "get-range",
            args: &[
                e(r#""store""#),
                e(r#""pairs""#),
                e("[:all]"),
                e(":long"),
                e(":string"),
            ],
        },
        &ReadOpts::default(),
    )
    .unwrap();
    assert_eq!(inside.as_seq().unwrap().len(), 3_400);
    assert_eq!(
        kv.remote("get-range", r#"["pairs" [:all] :long :string]"#, None),
        inside
    );
    w.commit().unwrap();
    client
        .call("close-transact-kv", vec![e(r#""store""#)])
        .unwrap();
    kv_reads_agree(&kv, 400);
}
