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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Thousands of 8-byte keys on 512-byte pages: a tree three or four levels deep, so
    /// seeking forward past the current leaf climbs to a parent, a grandparent or the root.
    #[test]
    fn visit_lists_in_a_deep_tree(
        n in 500u64..4000,
        stride in 1u64..200,
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::open_with(dir.path(), EnvOptions::new().page_size(512)).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_list_db("l").unwrap();
        // Every third key is absent; keys carry 1-3 values (inline lists).
        for k in (0..n).filter(|k| k % 3 != 1) {
            for v in 0..(1 + (k ^ seed) % 3) {
                w.put_list(&db, &(k * 7).to_be_bytes(), &v.to_be_bytes()).unwrap();
            }
        }
        w.commit().unwrap();
        let r = env.read().unwrap();
        let db = r.open_db("l").unwrap();
        // Ascending probes with a varying gap, present and absent keys alike.
        let mut keys = vec![];
        let mut k = seed % 50;
        while k < n * 7 + 20 {
            keys.push(k.to_be_bytes().to_vec());
            k += 1 + (k.wrapping_mul(seed | 1) >> 7) % (stride * 7);
        }
        prop_assert_eq!(visited(&r, &db, &keys), expected(&r, &db, &keys));
    }
}

fn bound(kind: u8, k: u16) -> std::ops::Bound<Vec<u8>> {
    match kind % 3 {
        0 => std::ops::Bound::Unbounded,
        1 => std::ops::Bound::Included(k.to_be_bytes().to_vec()),
        _ => std::ops::Bound::Excluded(k.to_be_bytes().to_vec()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// `Read::visit_range` gives exactly the pairs `Read::range` iterates, for list and
    /// plain databases, every kind of bound, both directions.
    #[test]
    fn visit_range_equals_range(
        data in proptest::collection::btree_map(0u16..400, proptest::collection::btree_set(0u16..2000, 1..200), 0..150),
        bounds in proptest::collection::vec((0u8..3, 0u16..420, 0u8..3, 0u16..420, any::<bool>()), 1..12),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::open_with(dir.path(), EnvOptions::new().page_size(512)).unwrap();
        let mut w = env.write().unwrap();
        let list = w.create_list_db("l").unwrap();
        let plain = w.create_db("p").unwrap();
        for (k, vs) in &data {
            for v in vs {
                w.put_list(&list, &k.to_be_bytes(), &v.to_be_bytes()).unwrap();
            }
            w.put(&plain, &k.to_be_bytes(), &vs.len().to_be_bytes()).unwrap();
        }
        w.commit().unwrap();
        let r = env.read().unwrap();
        for name in ["l", "p"] {
            let db = r.open_db(name).unwrap();
            for &(lk, lo, hk, hi, rev) in &bounds {
                let mut range = levin_engine::Range::all();
                range.lo = bound(lk, lo);
                range.hi = bound(hk, hi);
                if rev {
                    range = range.rev();
                }
                let want: Vec<(Vec<u8>, Vec<u8>)> = r
                    .range(&db, range.clone())
                    .unwrap()
                    .map(|kv| { let (k, v) = kv.unwrap(); (k.to_vec(), v.to_vec()) })
                    .collect();
                let mut got = vec![];
                r.visit_range(&db, &range, &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    Ok(())
                })
                .unwrap();
                prop_assert_eq!(got, want, "{} {:?}", name, range);
            }
        }
    }
}
