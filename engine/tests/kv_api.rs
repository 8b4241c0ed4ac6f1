//! The KV API beyond put/get: typed tables, every range kind in both directions, counts,
//! ranks, sampling, list ranges, batches, no-overwrite and append puts, hot backup.

use levin_engine::codec::{Long, Str};
use levin_engine::{Env, EnvOptions, KvOp, PutFlags, Range, Read};

fn env() -> (tempfile::TempDir, Env) {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), EnvOptions::new().page_size(512)).unwrap();
    (dir, env)
}

#[test]
fn typed_table_orders_negative_longs_first() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let t = w.create_table::<Long, Str>("nums").unwrap();
    for i in -50i64..50 {
        t.put(&mut w, &i, &format!("n{i}")).unwrap();
    }
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(t.get(&r, &-7).unwrap(), Some("n-7"));
    let keys: Vec<i64> = t
        .range(&r, Range::all())
        .unwrap()
        .map(|x| x.unwrap().0)
        .collect();
    assert_eq!(keys, (-50..50).collect::<Vec<_>>());
    let range = Range::closed(t.key(&-3).unwrap(), t.key(&4).unwrap());
    assert_eq!(t.count(&r, &range).unwrap(), 8);
    let back: Vec<i64> = t
        .range(&r, range.rev())
        .unwrap()
        .map(|x| x.unwrap().0)
        .collect();
    assert_eq!(back, (-3..=4).rev().collect::<Vec<_>>());
}

#[test]
fn every_range_kind_forward_and_backward() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let keys: Vec<Vec<u8>> = (10u8..60).map(|i| vec![b'k', i]).collect();
    for k in &keys {
        w.put(&db, k, b"v").unwrap();
    }
    w.commit().unwrap();
    let r = env.read().unwrap();
    let a = vec![b'k', 20];
    let b = vec![b'k', 30];
    type KeyPredicate = Box<dyn Fn(&[u8]) -> bool>;
    let cases: Vec<(Range, KeyPredicate)> = vec![
        (Range::all(), Box::new(|_| true)),
        (Range::at_least(&a), Box::new(|k| k >= &[b'k', 20][..])),
        (Range::at_most(&a), Box::new(|k| k <= &[b'k', 20][..])),
        (Range::greater_than(&a), Box::new(|k| k > &[b'k', 20][..])),
        (Range::less_than(&a), Box::new(|k| k < &[b'k', 20][..])),
        (
            Range::closed(&a, &b),
            Box::new(|k| k >= &[b'k', 20][..] && k <= &[b'k', 30][..]),
        ),
        (
            Range::closed_open(&a, &b),
            Box::new(|k| k >= &[b'k', 20][..] && k < &[b'k', 30][..]),
        ),
        (
            Range::open(&a, &b),
            Box::new(|k| k > &[b'k', 20][..] && k < &[b'k', 30][..]),
        ),
        (
            Range::open_closed(&a, &b),
            Box::new(|k| k > &[b'k', 20][..] && k <= &[b'k', 30][..]),
        ),
        (Range::prefix(b"k"), Box::new(|_| true)),
        (Range::prefix(b"z"), Box::new(|_| false)),
    ];
    for (range, pred) in cases {
        let want: Vec<&Vec<u8>> = keys.iter().filter(|k| pred(k)).collect();
        let got: Vec<Vec<u8>> = r
            .range(&db, range.clone())
            .unwrap()
            .map(|x| x.unwrap().0.to_vec())
            .collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{range:?}");
        let mut back: Vec<Vec<u8>> = r
            .range(&db, range.clone().rev())
            .unwrap()
            .map(|x| x.unwrap().0.to_vec())
            .collect();
        back.reverse();
        assert_eq!(back, got, "{range:?} backward");
        assert_eq!(
            r.count(&db, &range).unwrap(),
            want.len() as u64,
            "{range:?} count"
        );
    }
    // Bounds between keys and beyond both ends.
    assert_eq!(r.count(&db, &Range::closed(b"a", b"zz")).unwrap(), 50);
    assert_eq!(
        r.range(&db, Range::less_than(b"a").rev()).unwrap().count(),
        0
    );
}

#[test]
fn empty_database_reads() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let db = w.create_db("e").unwrap();
    let l = w.create_list_db("l").unwrap();
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.first(&db).unwrap(), None);
    assert_eq!(r.last(&db).unwrap(), None);
    assert_eq!(r.count(&db, &Range::all()).unwrap(), 0);
    assert_eq!(r.get_by_rank(&db, 0).unwrap(), None);
    assert_eq!(r.rank(&db, b"x").unwrap(), None);
    assert!(r.sample(&db, 3, 1).unwrap().is_empty());
    assert_eq!(r.list_count(&l, b"x").unwrap(), 0);
    assert!(!r.in_list(&l, b"x", b"y").unwrap());
}

#[test]
fn ranks_samples_and_first_n() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    for i in 0u32..1000 {
        w.put(&db, &i.to_be_bytes(), b"x").unwrap();
    }
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.rank(&db, &500u32.to_be_bytes()).unwrap(), Some(500));
    assert_eq!(
        r.get_by_rank(&db, 999).unwrap().unwrap().0,
        &999u32.to_be_bytes()
    );
    assert_eq!(r.get_by_rank(&db, 1000).unwrap(), None);
    let s = r.sample(&db, 10, 42).unwrap();
    assert_eq!(s.len(), 10);
    let mut keys: Vec<&[u8]> = s.iter().map(|(k, _)| *k).collect();
    keys.dedup();
    assert_eq!(keys.len(), 10, "sampled entries are distinct");
    assert_eq!(
        r.sample(&db, 10, 42).unwrap(),
        s,
        "the same seed gives the same sample"
    );
    assert_eq!(r.first_n(&db, 3).unwrap().len(), 3);
}

#[test]
fn list_ranges_by_key_and_value() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let l = w.create_list_db("l").unwrap();
    for k in 0u8..5 {
        for v in 0u8..50 {
            w.put_list(&l, &[k], &[v]).unwrap();
        }
    }
    w.commit().unwrap();
    let r = env.read().unwrap();
    let got: Vec<(u8, u8)> = r
        .list_range(
            &l,
            Range::closed([1u8], [3u8]),
            Range::closed_open([10u8], [13u8]),
        )
        .unwrap()
        .map(|x| x.map(|(k, v)| (k[0], v[0])).unwrap())
        .collect();
    let want: Vec<(u8, u8)> = (1..=3)
        .flat_map(|k| (10..13).map(move |v| (k, v)))
        .collect();
    assert_eq!(got, want);
    let back: Vec<(u8, u8)> = r
        .list_range(
            &l,
            Range::closed([1u8], [3u8]).rev(),
            Range::open([10u8], [13u8]),
        )
        .unwrap()
        .map(|x| x.map(|(k, v)| (k[0], v[0])).unwrap())
        .collect();
    let want_back: Vec<(u8, u8)> = (1..=3)
        .rev()
        .flat_map(|k| (11..13).rev().map(move |v| (k, v)))
        .collect();
    assert_eq!(back, want_back);
    assert_eq!(r.list_count(&l, &[2]).unwrap(), 50);
    assert_eq!(
        r.list_count_range(&l, &[2], &Range::closed([10u8], [19u8]))
            .unwrap(),
        10
    );
    assert_eq!(
        r.list_count_range(&l, &[2], &Range::open([10u8], [19u8]))
            .unwrap(),
        8
    );
    assert_eq!(
        r.list_count_range(&l, &[2], &Range::at_least([45u8]))
            .unwrap(),
        5
    );
    assert_eq!(r.list_count_range(&l, &[2], &Range::all()).unwrap(), 50);
    assert_eq!(r.list_count_range(&l, &[9], &Range::all()).unwrap(), 0);
    let keys: Vec<Vec<u8>> = r
        .keys(&l, Range::all())
        .unwrap()
        .map(|k| k.unwrap().to_vec())
        .collect();
    assert_eq!(keys, (0u8..5).map(|k| vec![k]).collect::<Vec<_>>());
}

#[test]
fn batches_are_atomic() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let l = w.create_list_db("l").unwrap();
    w.commit().unwrap();
    env.transact(&[
        KvOp::Put {
            db: db.clone(),
            key: b"a".to_vec(),
            value: b"1".to_vec(),
        },
        KvOp::PutList {
            db: l.clone(),
            key: b"k".to_vec(),
            values: vec![b"x".to_vec(), b"y".to_vec()],
        },
    ])
    .unwrap();
    // The second op is bad input (a list op on a plain database): nothing of the batch lands.
    let err = env
        .transact(&[
            KvOp::Put {
                db: db.clone(),
                key: b"b".to_vec(),
                value: b"2".to_vec(),
            },
            KvOp::PutList {
                db: db.clone(),
                key: b"k".to_vec(),
                values: vec![b"x".to_vec()],
            },
        ])
        .unwrap_err();
    assert!(err.to_string().contains("list"), "{err}");
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"a").unwrap(), Some(&b"1"[..]));
    assert_eq!(r.get(&db, b"b").unwrap(), None);
    assert_eq!(r.list_count(&l, b"k").unwrap(), 2);
}

#[test]
fn no_overwrite_and_append() {
    let (_d, env) = env();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let keep = PutFlags {
        no_overwrite: true,
        ..PutFlags::default()
    };
    assert!(w.put_with(&db, b"a", b"1", keep).unwrap());
    assert!(!w.put_with(&db, b"a", b"2", keep).unwrap());
    assert_eq!(w.get(&db, b"a").unwrap(), Some(&b"1"[..]));
    let app = PutFlags {
        append: true,
        ..PutFlags::default()
    };
    for i in 0u32..2000 {
        let mut k = b"b".to_vec();
        k.extend_from_slice(&i.to_be_bytes());
        w.put_with(&db, &k, &[7u8; 20], app).unwrap();
    }
    assert!(
        w.put_with(&db, b"a0", b"x", app).is_err(),
        "append out of order is refused"
    );
    w.commit().unwrap();
    assert!(env.check().unwrap().is_ok());
}

#[test]
fn hot_backup_plain_and_compacted() {
    let (d, env) = env();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let l = w.create_list_db("l").unwrap();
    for i in 0u32..3000 {
        w.put(&db, &i.to_be_bytes(), &[1u8; 30]).unwrap();
        w.put_list(&l, &(i % 17).to_be_bytes(), &i.to_be_bytes())
            .unwrap();
    }
    w.commit().unwrap();
    let mut w = env.write().unwrap();
    for i in (0u32..3000).step_by(2) {
        w.delete(&db, &i.to_be_bytes()).unwrap();
    }
    w.commit().unwrap();
    // A writer is active during the copy: the copy shows the last commit only.
    let mut writer = env.write().unwrap();
    writer.put(&db, b"uncommitted", b"x").unwrap();
    for compact in [false, true] {
        let dest = d.path().join(format!("copy-{compact}"));
        env.copy_to(&dest, compact).unwrap();
        let copy = Env::open(&dest).unwrap();
        assert!(copy.check().unwrap().is_ok());
        let r = copy.read().unwrap();
        let cdb = r.open_db("d").unwrap();
        let cl = r.open_db("l").unwrap();
        assert_eq!(r.len(&cdb).unwrap(), 1500);
        assert_eq!(r.len(&cl).unwrap(), 3000);
        assert_eq!(r.get(&cdb, b"uncommitted").unwrap(), None);
        if compact {
            assert_eq!(copy.stat().unwrap().free_pages, 0);
        }
        assert!(
            env.copy_to(&dest, compact).is_err(),
            "copying over a database is refused"
        );
    }
    writer.commit().unwrap();
}
