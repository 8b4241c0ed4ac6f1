//! `RwTxn::put_list_sorted` (a bottom-up build into an empty list database, `put_list_many`
//! per key otherwise) must leave exactly what adding the pairs one by one with `put_list`
//! leaves: same pairs, same counts, a tree that passes `Env::check`, and one that later
//! writes (adds and removals) keep equal. On 512-byte pages so that lists nest and the
//! tree has several levels.

use std::collections::BTreeSet;

use levin_engine::{Env, EnvOptions, Error, Read, RwTxn};
use proptest::prelude::*;

type Pairs = BTreeSet<(Vec<u8>, Vec<u8>)>;

fn pairs_of(set: &Pairs) -> Vec<(&[u8], &[u8])> {
    set.iter().map(|(k, v)| (&k[..], &v[..])).collect()
}

fn contents(r: &dyn Read, db: &levin_engine::Db) -> Vec<(Vec<u8>, Vec<u8>)> {
    r.iter(db)
        .unwrap()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

/// Key `k` (1 to 3 bytes, so keys differ in length) and value `v` as bytes.
fn pair((k, v): (u16, u16)) -> (Vec<u8>, Vec<u8>) {
    let key = match k % 3 {
        0 => vec![(k >> 8) as u8 + 1],
        1 => k.to_be_bytes().to_vec(),
        _ => vec![1, (k >> 8) as u8, k as u8],
    };
    (key, v.to_be_bytes().to_vec())
}

fn apply(w: &mut RwTxn, db: &levin_engine::Db, sorted: bool, before: &Pairs, batch: &Pairs) {
    for (k, v) in before {
        w.put_list(db, k, v).unwrap();
    }
    if sorted {
        let added = w.put_list_sorted(db, &pairs_of(batch)).unwrap();
        assert_eq!(added as usize, batch.difference(before).count());
    } else {
        for (k, v) in batch {
            w.put_list(db, k, v).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn same_as_one_by_one(
        batch in prop::collection::btree_set((0u16..400, 0u16..3000), 0..1500),
        before in prop::collection::btree_set((0u16..400, 0u16..3000), 0..40),
        fill_first in any::<bool>(),
        later in prop::collection::vec((0u16..400, 0u16..3000, any::<bool>()), 0..60),
    ) {
        let batch: Pairs = batch.into_iter().map(pair).collect();
        // An empty database takes the bottom-up build; one with entries, the general path.
        let before: Pairs = if fill_first {
            before.into_iter().map(pair).collect()
        } else {
            Pairs::new()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut got = vec![];
        for sorted in [true, false] {
            let path = dir.path().join(if sorted { "sorted" } else { "plain" });
            let env = Env::open_with(&path, EnvOptions::new().page_size(512)).unwrap();
            let mut w = env.write().unwrap();
            let db = w.create_list_db("l").unwrap();
            apply(&mut w, &db, sorted, &before, &batch);
            w.commit().unwrap();
            let report = env.check().unwrap();
            prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
            let mut w = env.write().unwrap();
            for &(k, v, add) in &later {
                let (k, v) = pair((k, v));
                if add {
                    w.put_list(&db, &k, &v).unwrap();
                } else {
                    w.delete_list(&db, &k, &v).unwrap();
                }
            }
            w.commit().unwrap();
            let report = env.check().unwrap();
            prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
            let r = env.read().unwrap();
            let db = r.open_db("l").unwrap();
            got.push((contents(&r, &db), r.len(&db).unwrap()));
        }
        prop_assert_eq!(&got[0], &got[1]);
    }
}

#[test]
fn pairs_out_of_order_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open(dir.path()).unwrap();
    let mut w = env.write().unwrap();
    let db = w.create_list_db("l").unwrap();
    for bad in [
        vec![(&b"b"[..], &b"1"[..]), (&b"a"[..], &b"1"[..])],
        vec![(&b"a"[..], &b"2"[..]), (&b"a"[..], &b"1"[..])],
        vec![(&b"a"[..], &b"1"[..]), (&b"a"[..], &b"1"[..])],
    ] {
        match w.put_list_sorted(&db, &bad) {
            Err(Error::NotSorted { db, index: 1 }) => assert_eq!(db, "l"),
            other => panic!("expected NotSorted, got {other:?}"),
        }
    }
    assert_eq!(w.put_list_sorted(&db, &[]).unwrap(), 0);
    let plain = w.create_db("p").unwrap();
    assert!(w.put_list_sorted(&plain, &[(b"a", b"1")]).is_err());
}
