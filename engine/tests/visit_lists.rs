//! `Read::visit_lists` (one cursor for many lists, seeking forward within the current leaf)
//! must give exactly what `Read::list` gives key by key: on 512-byte pages so lists span
//! leaves and nested trees, for keys in ascending, descending and repeated order, present
//! and absent, in a snapshot and in the writer's own view.

use std::collections::BTreeMap;

use levin_engine::{Env, EnvOptions, Read};
use proptest::prelude::*;

fn expected(r: &dyn Read, db: &levin_engine::Db, keys: &[Vec<u8>]) -> Vec<(usize, Vec<u8>)> {
    let mut out = vec![];
    for (i, k) in keys.iter().enumerate() {
        for kv in r.list(db, k).unwrap() {
            out.push((i, kv.unwrap().1.to_vec()));
        }
    }
    out
}

fn visited(r: &dyn Read, db: &levin_engine::Db, keys: &[Vec<u8>]) -> Vec<(usize, Vec<u8>)> {
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    let mut out = vec![];
    r.visit_lists(db, &refs, &mut |i, v| {
        out.push((i, v.to_vec()));
        Ok(())
    })
    .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn visit_lists_equals_list_per_key(
        data in proptest::collection::btree_map(0u16..300, proptest::collection::btree_set(0u16..2000, 1..60), 0..120),
        probe in proptest::collection::vec(0u16..320, 0..80),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::open_with(dir.path(), EnvOptions::new().page_size(512)).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_list_db("l").unwrap();
        let model: BTreeMap<u16, Vec<u16>> =
            data.iter().map(|(k, vs)| (*k, vs.iter().copied().collect())).collect();
        for (k, vs) in &model {
            for v in vs {
                w.put_list(&db, &k.to_be_bytes(), &v.to_be_bytes()).unwrap();
            }
        }
        let mut ascending: Vec<Vec<u8>> = probe.iter().map(|k| k.to_be_bytes().to_vec()).collect();
        ascending.sort();
        ascending.dedup();
        let mut descending = ascending.clone();
        descending.reverse();
        let scrambled: Vec<Vec<u8>> = probe.iter().map(|k| k.to_be_bytes().to_vec()).collect();
        for keys in [&ascending, &descending, &scrambled] {
            prop_assert_eq!(visited(&w, &db, keys), expected(&w, &db, keys));
        }
        w.commit().unwrap();
        let r = env.read().unwrap();
        let db = r.open_db("l").unwrap();
        for keys in [&ascending, &descending, &scrambled] {
            prop_assert_eq!(visited(&r, &db, keys), expected(&r, &db, keys));
        }
        // Every key present: all values, in order.
        let all: Vec<Vec<u8>> = model.keys().map(|k| k.to_be_bytes().to_vec()).collect();
        let got = visited(&r, &db, &all);
        let want: usize = model.values().map(|v| v.len()).sum();
        prop_assert_eq!(got.len(), want);
    }
}
