//! Space reuse: a long-lived reader makes the file grow but keeps its snapshot and the
//! accounting intact, and pages are reused once it ends; large values (64 MiB, and 1 GiB
//! with LEVIN_FULL=1) round-trip byte-exact and are freed on overwrite and delete.

use levin_engine::{Db, Durability, Env, EnvOptions, Read};

fn assert_clean(env: &Env) {
    let rep = env.check().unwrap();
    assert!(rep.is_ok(), "check found problems: {:?}", rep.problems);
    assert_eq!(
        rep.reachable_pages + rep.free_pages + 2,
        rep.total_pages,
        "page accounting: {rep:?}"
    );
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:04}").into_bytes()
}

fn val(i: u64, round: u64) -> Vec<u8> {
    let mut v = format!("r{round}-").into_bytes();
    v.resize(40 + (i % 20) as usize, b'a' + (round % 26) as u8);
    v
}

/// `n` transactions each overwriting 3 of the 300 keys; returns the last round number.
fn overwrite(env: &Env, db: &Db, rounds: std::ops::Range<u64>) {
    for round in rounds {
        let mut w = env.write().unwrap();
        for j in 0..3 {
            let i = (round * 7 + j * 101) % 300;
            w.put(db, &key(i), &val(i, round)).unwrap();
        }
        w.commit().unwrap();
    }
}

#[test]
fn long_reader_grows_the_file_then_pages_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(
        dir.path(),
        EnvOptions::new()
            .page_size(512)
            .max_map_size(1 << 30)
            .durability(Durability::NoSync),
    )
    .unwrap();
    let db = {
        let mut w = env.write().unwrap();
        let db = w.create_db("d").unwrap();
        for i in 0..300 {
            w.put(&db, &key(i), &val(i, 0)).unwrap();
        }
        w.commit().unwrap();
        db
    };
    // Warm up: a few commits so the free list reaches its steady state.
    overwrite(&env, &db, 1..50);

    let reader = env.read().unwrap();
    let snap: Vec<(Vec<u8>, Vec<u8>)> = reader
        .iter(&db)
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(snap.len(), 300);
    let before = env.stat().unwrap();

    overwrite(&env, &db, 50..2050);
    let during = env.stat().unwrap();
    assert!(during.txn_id > reader.id() + 1000);
    assert!(
        during.readers.iter().any(|x| x.txn == reader.id()),
        "the long reader is not registered: {:?}",
        during.readers
    );
    let grown_with_reader = during.pages - before.pages;
    // Every commit must copy at least a leaf and its parents, none of which can be reused
    // while the reader pins the old snapshot.
    assert!(
        grown_with_reader >= 2000,
        "file grew by only {grown_with_reader} pages under a long reader"
    );
    assert!(during.file_size >= during.pages * 512);
    assert_clean(&env);
    // The reader's snapshot is untouched.
    let again: Vec<(Vec<u8>, Vec<u8>)> = reader
        .iter(&db)
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(snap, again, "the long reader's snapshot changed");
    let pinned = reader.id();
    drop(reader);
    assert!(!env.stat().unwrap().readers.iter().any(|x| x.txn == pinned));

    // Without the reader, the pages it pinned are freed and reused.
    overwrite(&env, &db, 2050..4050);
    let after = env.stat().unwrap();
    let grown_after = after.pages - during.pages;
    assert!(
        grown_after * 20 < grown_with_reader,
        "file kept growing after the reader ended: {grown_with_reader} pages with the reader, \
         {grown_after} after"
    );
    assert!(after.free_pages > 0);
    assert_clean(&env);
    // The latest values are all there.
    let r = env.read().unwrap();
    let mut latest = std::collections::BTreeMap::new();
    for i in 0..300 {
        latest.insert(key(i), val(i, 0));
    }
    for round in 1..4050u64 {
        for j in 0..3 {
            let i = (round * 7 + j * 101) % 300;
            latest.insert(key(i), val(i, round));
        }
    }
    let got: Vec<(Vec<u8>, Vec<u8>)> = r
        .iter(&db)
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let want: Vec<(Vec<u8>, Vec<u8>)> = latest.into_iter().collect();
    assert_eq!(got, want);
    eprintln!(
        "long reader: +{grown_with_reader} pages with the reader, +{grown_after} after; \
         {} free pages at the end",
        after.free_pages
    );
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn overflow_pages(env: &Env, name: &str) -> u64 {
    env.stat()
        .unwrap()
        .databases
        .iter()
        .find(|d| d.name == name)
        .unwrap()
        .overflow_pages
}

fn large_value_round_trip(size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        EnvOptions::new()
            .max_map_size(4 * size as u64 + (64 << 20))
            .durability(Durability::NoSync)
    };
    let page = 4096u64;
    let big = pattern(size, 1);
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        assert_eq!(env.page_size() as u64, page);
        let mut w = env.write().unwrap();
        let db = w.create_db("blobs").unwrap();
        w.put(&db, b"small", b"x").unwrap();
        w.put(&db, b"big", &big).unwrap();
        w.commit().unwrap();
        env.sync().unwrap();
        let r = env.read().unwrap();
        let v = r.get(&db, b"big").unwrap().unwrap();
        assert_eq!(v.len(), size);
        assert!(v == &big[..], "large value differs after commit");
        drop(r);
        assert!(overflow_pages(&env, "blobs") >= size as u64 / page);
        assert_clean(&env);
    }
    // Reopen and read it back from disk.
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let r = env.read().unwrap();
    let db = r.open_db("blobs").unwrap();
    assert!(r.get(&db, b"big").unwrap().unwrap() == &big[..]);
    drop(r);
    drop(big);

    // Overwrite with a different, smaller value.
    let smaller = pattern(size / 2 + 123, 2);
    let pages_before = env.stat().unwrap().pages;
    let mut w = env.write().unwrap();
    w.put(&db, b"big", &smaller).unwrap();
    assert!(w.get(&db, b"big").unwrap().unwrap() == &smaller[..]);
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert!(r.get(&db, b"big").unwrap().unwrap() == &smaller[..]);
    assert_eq!(r.get(&db, b"small").unwrap(), Some(&b"x"[..]));
    drop(r);
    let ov = overflow_pages(&env, "blobs");
    assert!(ov >= (size as u64 / 2) / page && ov < size as u64 / page);
    assert_clean(&env);

    // Delete it: its overflow pages go to the free list.
    let mut w = env.write().unwrap();
    assert!(w.delete(&db, b"big").unwrap());
    w.commit().unwrap();
    assert_eq!(overflow_pages(&env, "blobs"), 0);
    let st = env.stat().unwrap();
    assert!(
        st.free_pages >= (size as u64 / 2) / page,
        "only {} free pages after deleting a {size}-byte value",
        st.free_pages
    );
    assert_clean(&env);
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"big").unwrap(), None);
    assert_eq!(r.len(&db).unwrap(), 1);
    drop(r);

    // A new value of the same size as the deleted one fits in the freed space (two
    // commits later, once no snapshot that could be recovered to needs it).
    for _ in 0..2 {
        let mut w = env.write().unwrap();
        w.put(&db, b"small", b"y").unwrap();
        w.commit().unwrap();
    }
    let again = pattern(size / 2, 3);
    let before_again = env.stat().unwrap().pages;
    let mut w = env.write().unwrap();
    w.put(&db, b"again", &again).unwrap();
    w.commit().unwrap();
    let st = env.stat().unwrap();
    let again_pages = (size / 2) as u64 / page;
    assert!(
        st.pages - before_again < again_pages / 10,
        "freed overflow pages were not reused: a {again_pages}-page value grew the file from \
         {before_again} to {} pages",
        st.pages
    );
    assert!(st.pages < pages_before + 2 * again_pages);
    let r = env.read().unwrap();
    assert!(r.get(&db, b"again").unwrap().unwrap() == &again[..]);
    drop(r);
    assert_clean(&env);
}

#[test]
fn value_of_64_mib() {
    large_value_round_trip(64 << 20);
}

#[test]
fn value_of_1_gib_with_levin_full() {
    if std::env::var("LEVIN_FULL").as_deref() != Ok("1") {
        eprintln!("skipping the 1 GiB value test: set LEVIN_FULL=1 to run it");
        return;
    }
    large_value_round_trip(1 << 30);
}

/// Values over 4 MiB are written straight to the file in pieces that end at 2 MiB
/// boundaries of the file; smaller ones are held and written by the commit's flush in long
/// coalesced writes. Values of sizes around those boundaries, on both paths, at run starts
/// of every alignment (each value shifts the next), are read back byte for byte and with
/// checksums verified, before and after a reopen.
#[test]
fn large_values_across_piece_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        EnvOptions::new()
            .max_map_size(256 << 20)
            .durability(Durability::NoSync)
    };
    let sizes = [
        (1 << 20) + 1,
        (2 << 20) - 4096,
        2 << 20,
        (2 << 20) + 4095,
        (4 << 20) + 17,
        (1 << 20) + 3 * 4096 - 5,
        (6 << 20) - 1,
        (4 << 20) - 4096,
        (8 << 20) + 4095,
        (3 << 20) + 1,
    ];
    let values: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| pattern(s, 10 + i as u64))
        .collect();
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_db("blobs").unwrap();
        for (i, v) in values.iter().enumerate() {
            w.put(&db, &key(i as u64), v).unwrap();
            // A one-page value between them moves the next run's start by one page.
            w.put(&db, &key(100 + i as u64), &pattern(3000, i as u64))
                .unwrap();
        }
        w.commit().unwrap();
        let r = env.read().unwrap();
        for (i, v) in values.iter().enumerate() {
            assert!(
                r.get(&db, &key(i as u64)).unwrap().unwrap() == &v[..],
                "value {i}"
            );
        }
        drop(r);
        assert_clean(&env);
    }
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let r = env.read().unwrap();
    let db = r.open_db("blobs").unwrap();
    for (i, v) in values.iter().enumerate() {
        assert!(
            r.get(&db, &key(i as u64)).unwrap().unwrap() == &v[..],
            "value {i} after reopen"
        );
    }
    drop(r);
    assert_clean(&env);
}
