//! Entity ids past the store's range (issue #22 item 5): explicit ids that leave no room
//! for new ones are refused, and a stored max entity id out of range is corruption, not a
//! panic.

use levin_datalog::Conn;
use levin_edn::read;
use levin_engine::{Env, EnvOptions, Read};

fn conn() -> (tempfile::TempDir, Conn) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Conn::open(dir.path(), "{:p/age {:db/valueType :db.type/long}}").unwrap();
    (dir, conn)
}

#[test]
fn an_explicit_id_at_i64_max_is_refused() {
    let (_d, conn) = conn();
    let err = conn
        .transact(&read("[[:db/add 9223372036854775807 :p/age 1]]").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
    // Nothing was kept and new ids continue from 1.
    let r = conn
        .transact(&read("[{:db/id \"x\" :p/age 2}]").unwrap())
        .unwrap();
    assert_eq!(
        r.tempids.iter().map(|(_, e)| *e).collect::<Vec<_>>(),
        vec![1]
    );
}

#[test]
fn the_largest_explicit_id_leaves_room_and_then_ids_run_out_cleanly() {
    let (_d, conn) = conn();
    conn.transact(&read("[[:db/add 9223372036854775806 :p/age 1]]").unwrap())
        .unwrap();
    let r = conn
        .transact(&read("[{:db/id \"x\" :p/age 2}]").unwrap())
        .unwrap();
    let e = r.tempids[0].1;
    assert_eq!(e, i64::MAX as u64);
    let err = conn.transact(&read("[{:p/age 3}]").unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("entity ids are exhausted"),
        "{err}"
    );
    // No id is negative.
    let db = conn.db().unwrap();
    let es: Vec<u64> = db
        .datoms(levin_datalog::Index::Eav, &[])
        .unwrap()
        .map(|d| d.unwrap().e)
        .collect();
    assert_eq!(es, vec![i64::MAX as u64 - 1, i64::MAX as u64]);
}

#[test]
fn a_stored_max_eid_out_of_range_is_corruption_not_a_panic() {
    let (d, conn) = conn();
    conn.transact(&read("[{:p/age 1}]").unwrap()).unwrap();
    drop(conn);
    let env = Env::open_with(d.path(), EnvOptions::new()).unwrap();
    let mut w = env.write().unwrap();
    let meta = w.open_db("datalog/meta").unwrap();
    w.put(&meta, b"max-eid", &u64::MAX.to_be_bytes()).unwrap();
    w.commit().unwrap();
    drop(env);
    let err = match Conn::open(d.path(), ()) {
        Ok(c) => c
            .transact(&read("[{:db/id \"x\" :p/age 2}]").unwrap())
            .unwrap_err(),
        Err(e) => e,
    };
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("max entity id"), "{err}");
}
