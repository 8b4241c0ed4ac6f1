//! On-disk format compatibility: a committed version-1 data file (tests/fixtures/v1) still
//! opens and reads back exactly; LEVIN_WRITE_FIXTURE=1 regenerates it.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use levin_engine::{Env, EnvOptions, PutFlags, Range, Read, DATA_FILE};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn opts() -> EnvOptions {
    EnvOptions::new().page_size(512).max_map_size(1 << 30)
}

fn plain_key(i: usize) -> Vec<u8> {
    format!("k{i:04}").into_bytes()
}

fn plain_value(i: usize) -> Vec<u8> {
    format!("v{i}").repeat(i % 50).into_bytes()
}

fn big_value() -> Vec<u8> {
    (0..3000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn list_a() -> Vec<Vec<u8>> {
    ["apple", "banana", "cherry", "date", "elderberry"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
}

fn list_b_value(i: u16) -> Vec<u8> {
    let mut v = i.to_be_bytes().to_vec();
    v.extend_from_slice(b"-b");
    v
}

/// Keys deleted from "plain" in the second commit.
fn deleted_plain(i: usize) -> bool {
    (100..130).contains(&i)
}

/// Values of "b" deleted in the second commit.
fn deleted_b(i: u16) -> bool {
    (200..250).contains(&i)
}

/// What the fixture holds after both commits.
fn expected_plain() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut m: BTreeMap<Vec<u8>, Vec<u8>> = (0..300)
        .filter(|&i| !deleted_plain(i))
        .map(|i| (plain_key(i), plain_value(i)))
        .collect();
    m.insert(b"big".to_vec(), big_value());
    m
}

fn expected_b() -> Vec<Vec<u8>> {
    (0..400u16)
        .filter(|&i| !deleted_b(i))
        .map(list_b_value)
        .collect()
}

/// Writes the fixture into `dir`: one commit loading everything, one deleting some of it.
/// Returns the pages in use (the high-water mark).
fn write_fixture(dir: &std::path::Path) -> u64 {
    let env = Env::open_with(dir, opts()).unwrap();
    let mut w = env.write().unwrap();
    let plain = w.create_db("plain").unwrap();
    let list = w.create_list_db("list").unwrap();
    // A sorted bulk load keeps the pages full and the fixture small.
    let append = PutFlags {
        append: true,
        ..PutFlags::default()
    };
    for i in 0..300 {
        w.put_with(&plain, &plain_key(i), &plain_value(i), append)
            .unwrap();
    }
    w.put(&plain, b"big", &big_value()).unwrap();
    for v in list_a() {
        assert!(w.put_list(&list, b"a", &v).unwrap());
    }
    for i in 0..400u16 {
        assert!(w.put_list(&list, b"b", &list_b_value(i)).unwrap());
    }
    w.commit().unwrap();
    let mut w = env.write().unwrap();
    for i in (0..300).filter(|&i| deleted_plain(i)) {
        assert!(w.delete(&plain, &plain_key(i)).unwrap());
    }
    for i in (0..400u16).filter(|&i| deleted_b(i)) {
        assert!(w.delete_list(&list, b"b", &list_b_value(i)).unwrap());
    }
    w.commit().unwrap();
    env.sync().unwrap();
    let st = env.stat().unwrap();
    assert!(
        st.free_pages > 0,
        "the fixture should have a non-empty free list"
    );
    st.pages
}

/// With LEVIN_WRITE_FIXTURE=1, (re)creates the committed fixture.
fn write_fixture_if_asked() {
    if std::env::var("LEVIN_WRITE_FIXTURE").as_deref() != Ok("1") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pages = write_fixture(tmp.path());
    // The file grows in chunks; the tail past the high-water mark was never written (it
    // is zeros) and is left out so the fixture stays small.
    let mut bytes = fs::read(tmp.path().join(DATA_FILE)).unwrap();
    let used = pages as usize * 512;
    assert!(
        bytes[used..].iter().all(|&b| b == 0),
        "data past the high-water mark"
    );
    bytes.truncate(used);
    let out = fixture_dir();
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join(DATA_FILE), &bytes).unwrap();
    let len = fs::metadata(out.join(DATA_FILE)).unwrap().len();
    assert!(
        len < 64 * 1024,
        "fixture is {len} bytes; keep it under 64 KiB"
    );
    eprintln!("wrote {} ({len} bytes)", out.join(DATA_FILE).display());
}

#[test]
fn fixture_v1_opens_and_reads() {
    write_fixture_if_asked();
    let src = fixture_dir().join(DATA_FILE);
    let original = fs::read(&src).unwrap_or_else(|e| {
        panic!(
            "missing fixture {}: {e}; run with LEVIN_WRITE_FIXTURE=1",
            src.display()
        )
    });
    assert!(original.len() < 64 * 1024);
    assert_eq!(&original[..8], b"LEVIN\0DB");
    assert_eq!(
        &original[8..12],
        &1u32.to_le_bytes(),
        "fixture format version"
    );
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(&src, tmp.path().join(DATA_FILE)).unwrap();

    // The page size comes from the file, not the options.
    let env = Env::open_with(tmp.path(), EnvOptions::new().max_map_size(1 << 30)).unwrap();
    assert_eq!(env.page_size(), 512);
    let r = env.read().unwrap();
    assert_eq!(r.id(), 2);
    assert_eq!(r.db_names().unwrap(), vec!["list", "plain"]);
    let plain = r.open_db("plain").unwrap();
    let list = r.open_db("list").unwrap();
    assert!(!plain.is_list() && list.is_list());

    // Plain: every pair, in order, forward and backward, by lookup, count and rank.
    let want = expected_plain();
    assert_eq!(want.len(), 300 - 30 + 1);
    let got: Vec<(Vec<u8>, Vec<u8>)> = r
        .iter(&plain)
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let want_v: Vec<(Vec<u8>, Vec<u8>)> = want.clone().into_iter().collect();
    assert_eq!(got, want_v);
    let back: Vec<Vec<u8>> = r
        .range(&plain, Range::all().rev())
        .unwrap()
        .map(|x| x.unwrap().0.to_vec())
        .collect();
    assert_eq!(back, want.keys().rev().cloned().collect::<Vec<_>>());
    assert_eq!(r.len(&plain).unwrap(), want.len() as u64);
    for i in 0..300 {
        let v = r.get(&plain, &plain_key(i)).unwrap();
        if deleted_plain(i) {
            assert_eq!(v, None, "k{i:04} was deleted");
        } else {
            assert_eq!(v, Some(&plain_value(i)[..]), "k{i:04}");
        }
    }
    assert_eq!(r.get(&plain, b"big").unwrap(), Some(&big_value()[..]));
    assert_eq!(
        r.count(&plain, &Range::closed_open(b"k0100", b"k0200"))
            .unwrap(),
        70
    );
    assert_eq!(r.rank(&plain, b"k0000").unwrap(), Some(1)); // after "big"
    assert_eq!(r.rank(&plain, b"k0103").unwrap(), None);

    // List: "a" inline, "b" a nested tree.
    let a: Vec<Vec<u8>> = r
        .list(&list, b"a")
        .unwrap()
        .map(|x| x.unwrap().1.to_vec())
        .collect();
    assert_eq!(a, list_a());
    let b: Vec<Vec<u8>> = r
        .list(&list, b"b")
        .unwrap()
        .map(|x| x.unwrap().1.to_vec())
        .collect();
    assert_eq!(b, expected_b());
    assert_eq!(r.list_count(&list, b"a").unwrap(), 5);
    assert_eq!(r.list_count(&list, b"b").unwrap(), 350);
    assert_eq!(r.len(&list).unwrap(), 355);
    assert!(r.in_list(&list, b"b", &list_b_value(398)).unwrap());
    assert!(!r.in_list(&list, b"b", &list_b_value(225)).unwrap());
    let keys: Vec<Vec<u8>> = r
        .keys(&list, Range::all())
        .unwrap()
        .map(|x| x.unwrap().to_vec())
        .collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
    drop(r);

    let rep = env.check().unwrap();
    assert!(rep.is_ok(), "check found problems: {:?}", rep.problems);
    assert_eq!(rep.reachable_pages + rep.free_pages + 2, rep.total_pages);
    assert!(rep.free_pages > 0, "the fixture's free list is empty");
    let st = env.stat().unwrap();
    let b_stat = st.databases.iter().find(|d| d.name == "list").unwrap();
    assert_eq!(b_stat.entries, 355);
    let p_stat = st.databases.iter().find(|d| d.name == "plain").unwrap();
    assert!(
        p_stat.overflow_pages >= 5,
        "'big' should use overflow pages"
    );

    // The current build can write to it, and the result is still sound.
    let mut w = env.write().unwrap();
    w.put(&plain, b"k0103", b"back").unwrap();
    w.delete_list(&list, b"b", &list_b_value(0)).unwrap();
    w.commit().unwrap();
    let rep = env.check().unwrap();
    assert!(rep.is_ok(), "check after writing: {:?}", rep.problems);
    assert_eq!(rep.reachable_pages + rep.free_pages + 2, rep.total_pages);
    drop(env);
    // The committed fixture itself is untouched.
    assert_eq!(fs::read(&src).unwrap(), original);
}
