//! The client against a real server in this process, over TCP on loopback: the same
//! workloads as the embedded tests, explicit transactions, snapshots, errors with their
//! codes, TLS, and databases moving between embedded and served use.

#[path = "../../query/tests/suite/mod.rs"]
mod suite;

use std::sync::Arc;

use levin_client::{Client, ClientError};
use levin_edn::{read, Edn};
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

fn uri(server: &Server, user: &str, pw: &str, db: &str) -> String {
    format!("levin://{user}:{pw}@{}/{db}", server.local_addr())
}

#[test]
fn the_datalog_workload_runs_remotely_as_embedded() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let conn = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "people")).unwrap();
    assert_eq!(suite::app(&conn).unwrap(), suite::app_expected());
    Connection::close(conn).unwrap();
}

#[test]
fn re_index_runs_remotely_as_embedded() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let conn = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "people")).unwrap();
    assert_eq!(
        suite::re_index_app(&conn).unwrap(),
        suite::re_index_expected()
    );
}

#[test]
fn the_stored_options_through_the_trait_remote() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let conn = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "people")).unwrap();
    assert_eq!(suite::options_app(&conn).unwrap(), [true, false, true]);
}

#[test]
fn re_index_is_refused_during_explicit_transactions_and_names_bad_schemas() {
    let root = tempfile::tempdir().unwrap();
    let mut config = Config::new(root.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(ADMIN_PW.into());
    config.hash_cost = HashCost::TESTING;
    config.writer_timeout = std::time::Duration::from_millis(300);
    let server = Server::start(config).unwrap();
    let a = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "t")).unwrap();
    let b = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "t")).unwrap();
    a.transact(&e(r#"[{:age 30} {:age 40}]"#)).unwrap();
    let long = e("{:age {:db/valueType :db.type/long}}");
    // This session's own transaction on the database: refused at once, as :clear is.
    let t = a.begin().unwrap();
    let err = a.re_index(Some(&long)).unwrap_err();
    assert_eq!(err.code(), Some("transaction-state"), "{err}");
    t.abort().unwrap();
    // Another session's: it waits for the writer, then gives up as any write does.
    let t = b.begin().unwrap();
    let err = a.re_index(Some(&long)).unwrap_err();
    assert_eq!(err.code(), Some("writer-busy"), "{err}");
    t.abort().unwrap();
    assert_eq!(a.re_index(Some(&long)).unwrap(), 2);
    // Bad schemas are schema errors naming what was wrong.
    let err = a
        .re_index(Some(&e("{:age {:db/valueType :db.type/nope}}")))
        .unwrap_err();
    assert_eq!(err.code(), Some("schema"), "{err}");
    assert!(err.to_string().contains(":age"), "{err}");
    let err = a.re_index(Some(&e("[:age]"))).unwrap_err();
    assert_eq!(err.code(), Some("schema"), "{err}");
    assert!(err.to_string().contains("map"), "{err}");
    // Data the schema does not fit: the store's error, and nothing changes.
    let err = a
        .re_index(Some(&e("{:age {:db/valueType :db.type/string}}")))
        .unwrap_err();
    assert_eq!(err.code(), Some("transaction"), "{err}");
    assert!(err.to_string().contains(":age"), "{err}");
    assert_eq!(
        a.q(&e("[:find (sum ?a) . :where [_ :age ?a]]"), &[])
            .unwrap(),
        e("70")
    );
    // A key-value database has no Datalog indexes.
    let admin = Arc::new(Client::connect(&uri(&server, "admin", ADMIN_PW, "")).unwrap());
    admin.open_kv("store").unwrap();
    let err = admin
        .call("re-index", vec![Edn::String("store".into())])
        .unwrap_err();
    assert_eq!(err.code(), Some("bad-argument"), "{err}");
}

#[test]
fn the_kv_workload_runs_remotely_as_embedded() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let kv = levin_client::connect_kv(&uri(&server, "admin", ADMIN_PW, "store")).unwrap();
    assert_eq!(suite::kv_app(&kv).unwrap(), suite::kv_expected());
}

#[test]
fn explicit_transactions_and_snapshots() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let a = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "t")).unwrap();
    let b = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "t")).unwrap();
    a.transact(&e(r#"[{:name "Ivan"}]"#)).unwrap();
    let snapshot = b.db().unwrap();
    let count = e("[:find (count ?e) . :where [?e :name]]");
    {
        let mut t = a.begin().unwrap();
        t.transact(&e(r#"[{:name "Petr"}]"#)).unwrap();
        assert_eq!(
            t.q(&count, &[]).unwrap(),
            e("2"),
            "reads inside see the writes"
        );
        assert_eq!(b.q(&count, &[]).unwrap(), e("1"), "others do not");
        t.commit().unwrap();
    }
    assert_eq!(b.q(&count, &[]).unwrap(), e("2"));
    assert_eq!(
        snapshot.q(&count, &[]).unwrap(),
        e("1"),
        "a snapshot keeps its state"
    );
    {
        let mut t = a.begin().unwrap();
        t.transact(&e(r#"[{:name "Oleg"}]"#)).unwrap();
        t.abort().unwrap();
    }
    // A dropped transaction aborts too.
    {
        let mut t = a.begin().unwrap();
        t.transact(&e(r#"[{:name "Anna"}]"#)).unwrap();
    }
    assert_eq!(a.q(&count, &[]).unwrap(), e("2"));
}

#[test]
fn errors_carry_codes_and_positions() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let conn = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "t")).unwrap();
    let err = conn
        .q(
            &Edn::String("[:find ?e\n :where [?e :name \"x\"] (nope ?e)]".into()),
            &[],
        )
        .unwrap_err();
    assert_eq!(err.code(), Some("query"), "{err}");
    let err = conn
        .q(&Edn::String("[:find ?e :where [?e".into()), &[])
        .unwrap_err();
    assert_eq!(err.code(), Some("parse"), "{err}");
    match &err {
        ClientError::Server { data, .. } => {
            assert_eq!(
                data.get(&Edn::kw("", "line")),
                Some(&Edn::Long(1)),
                "{data}"
            );
        }
        other => panic!("{other}"),
    }
    let err = conn
        .transact(&e(r#"[[:db/add [:name "nobody"] :age 1]]"#))
        .unwrap_err();
    assert!(err.code().is_some(), "{err}");
    // A wrong password is refused.
    let bad = levin_client::connect(&uri(&server, "admin", "wrong", "t")).unwrap_err();
    assert_eq!(bad.code(), Some("auth-failed"), "{bad}");
}

#[test]
fn a_database_moves_between_embedded_and_served() {
    let root = tempfile::tempdir().unwrap();
    // Made embedded, under the root: the server adopts it.
    {
        let conn = levin_datalog::Conn::open(
            root.path().join("made"),
            "{:name {:db/unique :db.unique/identity}}",
        )
        .unwrap();
        conn.transact(&e(r#"[{:name "Ivan"}]"#)).unwrap();
    }
    {
        let server = start(root.path());
        let conn = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "made")).unwrap();
        assert_eq!(
            conn.q(&e("[:find ?n . :where [_ :name ?n]]"), &[]).unwrap(),
            e(r#""Ivan""#)
        );
        conn.transact(&e(r#"[{:name "Petr"}]"#)).unwrap();
        server.shutdown();
    }
    // Served, then opened embedded after the server stopped.
    let conn = levin_datalog::Conn::open(root.path().join("made"), ()).unwrap();
    let db = conn.db().unwrap();
    assert_eq!(db.entid(&e(r#"[:name "Petr"]"#)).unwrap(), Some(2));
}

#[test]
fn large_results_stream() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let conn = levin_client::connect(&uri(&server, "admin", ADMIN_PW, "big")).unwrap();
    let tx: Vec<String> = (0..5000).map(|i| format!("{{:n {i}}}")).collect();
    conn.transact(&read(&format!("[{}]", tx.join(" "))).unwrap())
        .unwrap();
    let r = conn.q(&e("[:find ?n :where [_ :n ?n]]"), &[]).unwrap();
    assert_eq!(r.as_set().map(<[Edn]>::len), Some(5000));
    let ds = conn
        .datoms(levin_datalog::Index::Ave, &[e(":n")], Some(3000))
        .unwrap();
    assert_eq!(ds.len(), 3000);
}

#[test]
fn admin_operations_through_the_client() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let admin = Arc::new(Client::connect(&uri(&server, "admin", ADMIN_PW, "")).unwrap());
    admin
        .admin("create-user", vec![e(r#""ann""#), e(r#""pw""#)])
        .unwrap();
    admin.open_db("sales").unwrap();
    assert_eq!(admin.list_databases().unwrap(), ["sales"]);
    // ann may not read sales until granted.
    let ann = levin_client::connect(&uri(&server, "ann", "pw", "sales")).unwrap_err();
    assert_eq!(ann.code(), Some("permission-denied"), "{ann}");
    admin.admin("create-role", vec![e(":reader")]).unwrap();
    admin
        .admin(
            "grant-permission",
            vec![e(":reader"), e(":view"), e(":database"), e(r#""sales""#)],
        )
        .unwrap();
    admin
        .admin("assign-role", vec![e(":reader"), e(r#""ann""#)])
        .unwrap();
    let ann = levin_client::connect(&uri(&server, "ann", "pw", "sales")).unwrap();
    assert_eq!(ann.max_eid().unwrap(), 0);
    let err = ann.transact(&e(r#"[{:name "x"}]"#)).unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
    // Revoking reaches the connected session at its next request.
    admin
        .admin(
            "revoke-permission",
            vec![e(":reader"), e(":view"), e(":database"), e(r#""sales""#)],
        )
        .unwrap();
    let err = ann.max_eid().unwrap_err();
    assert_eq!(err.code(), Some("permission-denied"), "{err}");
}

#[test]
fn tls_with_a_generated_certificate() {
    let root = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let mut config = Config::new(root.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.admin_password = Some(ADMIN_PW.into());
    config.hash_cost = HashCost::TESTING;
    config.tls = Some((cert_path.clone(), key_path));
    let server = Server::start(config).unwrap();
    let port = server.local_addr().port();
    let uri = format!(
        "levin://admin:{ADMIN_PW}@localhost:{port}/secure?ca={}",
        cert_path.display()
    );
    let conn = levin_client::connect(&uri).unwrap();
    conn.transact(&e(r#"[{:name "Ivan"}]"#)).unwrap();
    assert_eq!(
        conn.q(&e("[:find ?n . :where [_ :name ?n]]"), &[]).unwrap(),
        e(r#""Ivan""#)
    );
    // A plaintext client gets nowhere, and the server keeps serving.
    let plain = format!("levin://admin:{ADMIN_PW}@localhost:{port}/secure?timeout-ms=2000");
    assert!(levin_client::connect(&plain).is_err());
    // A client that does not trust the certificate is refused by its own TLS.
    let other = rcgen::KeyPair::generate().unwrap();
    let stranger = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&other)
        .unwrap();
    let stranger_path = certs.path().join("stranger.pem");
    std::fs::write(&stranger_path, stranger.pem()).unwrap();
    let untrusting = format!(
        "levin://admin:{ADMIN_PW}@localhost:{port}/secure?ca={}",
        stranger_path.display()
    );
    let err = levin_client::connect(&untrusting).unwrap_err();
    assert!(
        matches!(err, ClientError::Io { .. } | ClientError::Tls(_)),
        "{err}"
    );
    assert_eq!(conn.max_eid().unwrap(), 1);
}

#[test]
fn non_loopback_without_tls_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut config = Config::new(root.path());
    config.listen = "0.0.0.0:0".parse().unwrap();
    config.hash_cost = HashCost::TESTING;
    let err = Server::start(config).err().expect("refused");
    assert!(err.to_string().contains("without TLS"), "{err}");
}

#[test]
fn options_set_through_the_server_stay_with_the_database_when_opened_embedded() {
    let root = tempfile::tempdir().unwrap();
    let server = start(root.path());
    let admin = Arc::new(Client::connect(&uri(&server, "admin", ADMIN_PW, "")).unwrap());
    let conn = admin
        .open_db_with(
            "sales",
            Some(&e("{:name {:db/valueType :db.type/string}}")),
            Some(&e("{:closed-schema? true :auto-entity-time? true}")),
        )
        .unwrap();
    let err = conn.transact(&e(r#"[{:name "a" :other 1}]"#)).unwrap_err();
    assert!(err.to_string().contains("not in the schema"), "{err}");
    conn.transact(&e(r#"[{:name "b"}]"#)).unwrap();
    // Within this session's own explicit transaction, opening with options would wait
    // for the writer the session holds: refused at once.
    admin.call("open-transact", vec![e(r#""sales""#)]).unwrap();
    let err = admin
        .call(
            "open",
            vec![e(r#""sales""#), Edn::Nil, e("{:closed-schema? false}")],
        )
        .unwrap_err();
    assert_eq!(err.code(), Some("transaction-state"), "{err}");
    admin.call("abort-transact", vec![e(r#""sales""#)]).unwrap();
    drop(conn);
    drop(admin);
    server.shutdown();
    // The same directory, embedded: the options came with it.
    let embedded = levin_datalog::Conn::open(root.path().join("sales"), ()).unwrap();
    let o = embedded.options().unwrap();
    assert!(o.closed_schema && o.auto_entity_time, "{o:?}");
    let err = embedded
        .transact(&e(r#"[{:name "c" :other 1}]"#))
        .unwrap_err();
    assert!(
        matches!(err, levin_datalog::Error::ClosedSchema { .. }),
        "{err}"
    );
}
