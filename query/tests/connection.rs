//! Generic code written against the `Connection` and `KvConnection` traits runs on the
//! embedded connection (the client crate runs the same functions against a server).

mod suite;

use levin_datalog::Conn;
use levin_engine::Env;
use levin_query::{Connection, KvConnection};

#[test]
fn generic_datalog_code_runs_on_the_embedded_connection() {
    let d = tempfile::tempdir().unwrap();
    let conn = levin_query::connect(d.path()).unwrap();
    assert_eq!(suite::app(&conn).unwrap(), suite::app_expected());
    Connection::close(conn).unwrap();
}

#[test]
fn re_index_runs_on_the_embedded_connection() {
    let d = tempfile::tempdir().unwrap();
    let conn = levin_query::connect(d.path()).unwrap();
    assert_eq!(
        suite::re_index_app(&conn).unwrap(),
        suite::re_index_expected()
    );
}

#[test]
fn the_stored_options_through_the_trait_embedded() {
    let d = tempfile::tempdir().unwrap();
    let conn = levin_query::connect(d.path()).unwrap();
    assert_eq!(suite::options_app(&conn).unwrap(), [true, false, true]);
}

#[test]
fn generic_kv_code_runs_on_the_embedded_environment() {
    let d = tempfile::tempdir().unwrap();
    let env = Env::open(d.path()).unwrap();
    assert_eq!(suite::kv_app(&env).unwrap(), suite::kv_expected());
    // A database opened as the wrong kind is refused, naming it.
    let err = env.open_dbi("users", true).unwrap_err();
    assert!(err.to_string().contains("\"users\""), "{err}");
}

#[test]
fn the_api_types_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Conn>();
    send_sync::<Env>();
    send_sync::<levin_query::Error>();
    send_sync::<levin_query::QueryResult>();
    send_sync::<levin_query::Registry>();
}
