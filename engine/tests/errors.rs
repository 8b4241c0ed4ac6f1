//! Errors: bad keys, unknown databases, wrong database kinds, out-of-order appends, invalid
//! page sizes, damaged, foreign, truncated and future-version files, read-only opens of
//! missing directories; and that dropped or aborted write transactions leave no trace.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use levin_btree::BtreeError;
use levin_engine::{Db, Env, EnvOptions, Error, PutFlags, Range, Read, DATA_FILE};
use levin_pager::PagerError;
use levin_txn::TxnError;

fn opts() -> EnvOptions {
    EnvOptions::new().page_size(512).max_map_size(1 << 30)
}

fn assert_clean(env: &Env) {
    let rep = env.check().unwrap();
    assert!(rep.is_ok(), "check found problems: {:?}", rep.problems);
    assert_eq!(
        rep.reachable_pages + rep.free_pages + 2,
        rep.total_pages,
        "page accounting: {rep:?}"
    );
}

fn pager_error(e: &Error) -> Option<&PagerError> {
    match e {
        Error::Txn(TxnError::Btree(BtreeError::Pager(p))) => Some(p),
        _ => None,
    }
}

/// Creates a database in `dir` with a few commits, and closes it.
fn make_db(dir: &Path) {
    let env = Env::open_with(dir, opts()).unwrap();
    for round in 0..3u32 {
        let mut w = env.write().unwrap();
        let db = w.create_db("d").unwrap();
        for i in 0..200u32 {
            w.put(&db, format!("k{i:04}").as_bytes(), &[round as u8; 50])
                .unwrap();
        }
        w.commit().unwrap();
    }
}

fn open_err(dir: &Path) -> Error {
    match Env::open_with(dir, opts()) {
        Ok(_) => panic!("opening {} should fail", dir.display()),
        Err(e) => e,
    }
}

fn patch(path: &Path, off: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn key_length_limits() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let max = env.max_key_size();
    assert!(
        max > 16 && max < 512,
        "max key size {max} for 512-byte pages"
    );
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let list = w.create_list_db("l").unwrap();
    let exact = vec![b'k'; max];
    w.put(&db, &exact, b"fits").unwrap();
    let long = vec![b'k'; max + 1];
    let e = w.put(&db, &long, b"too long").unwrap_err();
    match &e {
        Error::Txn(TxnError::Btree(BtreeError::KeyTooLong { len, max: m, .. })) => {
            assert_eq!((*len, *m), (max + 1, max));
        }
        other => panic!("expected KeyTooLong, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains(&(max + 1).to_string()) && msg.contains(&max.to_string()),
        "message does not name both lengths: {msg}"
    );
    assert!(!e.is_corruption());
    // Keys of list databases and list values are limited the same way.
    w.put_list(&list, &exact, &exact).unwrap();
    assert!(w.put_list(&list, &long, b"v").is_err());
    let e = w.put_list(&list, b"k", &long).unwrap_err();
    assert!(
        e.to_string().contains(&(max + 1).to_string()),
        "list value error: {e}"
    );
    // Bad input does not spoil the transaction.
    w.put(&db, b"after", b"ok").unwrap();
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, &exact).unwrap(), Some(&b"fits"[..]));
    assert_eq!(r.get(&db, &long).unwrap(), None);
    assert_eq!(r.get(&db, b"after").unwrap(), Some(&b"ok"[..]));
    assert_eq!(r.len(&db).unwrap(), 2);
    assert_eq!(r.list_count(&list, &exact).unwrap(), 1);
    drop(r);
    assert_clean(&env);
}

#[test]
fn the_empty_key_is_the_smallest_key() {
    // Datalevin stores "" under a :string key type; so does Levin (an empty key).
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let list = w.create_list_db("l").unwrap();
    w.put(&db, b"a", b"after").unwrap();
    w.put(&db, b"", b"empty").unwrap();
    w.put_list(&list, b"", b"").unwrap();
    w.put_list(&list, b"", b"x").unwrap();
    w.put_list(&list, b"a", b"").unwrap();
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"").unwrap(), Some(&b"empty"[..]));
    assert_eq!(r.first(&db).unwrap(), Some((&b""[..], &b"empty"[..])));
    assert_eq!(r.rank(&db, b"").unwrap(), Some(0));
    assert_eq!(r.count(&db, &Range::closed(b"", b"")).unwrap(), 1);
    let back: Vec<&[u8]> = r
        .range(&db, Range::all().rev())
        .unwrap()
        .map(|p| p.unwrap().0)
        .collect();
    assert_eq!(back, [&b"a"[..], &b""[..]]);
    assert_eq!(r.list_count(&list, b"").unwrap(), 2);
    let pairs: Vec<(&[u8], &[u8])> = r.iter(&list).unwrap().map(|p| p.unwrap()).collect();
    assert_eq!(
        pairs,
        [
            (&b""[..], &b""[..]),
            (&b""[..], &b"x"[..]),
            (&b"a"[..], &b""[..])
        ]
    );
    drop(r);
    assert_clean(&env);
    let mut w = env.write().unwrap();
    assert!(w.delete(&db, b"").unwrap());
    assert!(w.delete_list(&list, b"", b"").unwrap());
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"").unwrap(), None);
    assert_eq!(r.list_count(&list, b"").unwrap(), 1);
    drop(r);
    assert_clean(&env);
}

#[test]
fn unknown_database() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let r = env.read().unwrap();
    match r.open_db("nope") {
        Err(Error::NoSuchDatabase(n)) => assert_eq!(n, "nope"),
        other => panic!("expected NoSuchDatabase, got {other:?}"),
    }
    drop(r);
    let mut w = env.write().unwrap();
    let db = w.create_db("gone").unwrap();
    w.put(&db, b"k", b"v").unwrap();
    w.commit().unwrap();
    let mut w = env.write().unwrap();
    w.drop_db(&db).unwrap();
    // The handle outlives its database: every use is an error, not a panic.
    assert!(matches!(w.get(&db, b"k"), Err(Error::NoSuchDatabase(_))));
    assert!(matches!(
        w.put(&db, b"k", b"v"),
        Err(Error::NoSuchDatabase(_))
    ));
    assert!(matches!(w.delete(&db, b"k"), Err(Error::NoSuchDatabase(_))));
    assert!(matches!(w.drop_db(&db), Err(Error::NoSuchDatabase(_))));
    w.commit().unwrap();
    let r = env.read().unwrap();
    let e = r.get(&db, b"k").unwrap_err();
    assert!(matches!(e, Error::NoSuchDatabase(_)));
    assert!(e.to_string().contains("gone"), "{e}");
    assert!(r.db_names().unwrap().is_empty());
    drop(r);
    assert_clean(&env);
}

#[test]
fn wrong_database_kind() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    let plain: Db = w.create_db("plain").unwrap();
    let list: Db = w.create_list_db("list").unwrap();
    let e = w.put(&list, b"k", b"v").unwrap_err();
    match &e {
        Error::WrongDatabaseKind {
            name,
            actual,
            expected,
            op,
        } => assert_eq!(
            (name.as_str(), *actual, *expected, *op),
            ("list", "list", "plain", "put")
        ),
        other => panic!("expected WrongDatabaseKind, got {other:?}"),
    }
    let e = w.put_list(&plain, b"k", b"v").unwrap_err();
    assert!(
        matches!(e, Error::WrongDatabaseKind { op: "put_list", .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("\"plain\" is a plain database"),
        "{e}"
    );
    assert!(matches!(
        w.delete_list(&plain, b"k", b"v"),
        Err(Error::WrongDatabaseKind { .. })
    ));
    assert!(w.list(&plain, b"k").is_err());
    assert!(w.list_count(&plain, b"k").is_err());
    // Re-creating under the other kind is refused too.
    assert!(matches!(
        w.create_db("list"),
        Err(Error::WrongDatabaseKind { .. })
    ));
    assert!(matches!(
        w.create_list_db("plain"),
        Err(Error::WrongDatabaseKind { .. })
    ));
    w.put(&plain, b"k", b"v").unwrap();
    w.put_list(&list, b"k", b"v").unwrap();
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert!(!r.open_db("plain").unwrap().is_list());
    assert!(r.open_db("list").unwrap().is_list());
    assert_eq!((r.len(&plain).unwrap(), r.len(&list).unwrap()), (1, 1));
}

#[test]
fn append_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    let append = PutFlags {
        append: true,
        ..PutFlags::default()
    };
    for i in 0..500u32 {
        assert!(w.put_with(&db, &i.to_be_bytes(), b"v", append).unwrap());
    }
    for bad in [0u32, 250, 499] {
        let e = w
            .put_with(&db, &bad.to_be_bytes(), b"new", append)
            .unwrap_err();
        assert!(
            matches!(&e, Error::AppendOutOfOrder { db } if db == "d"),
            "{e:?}"
        );
    }
    // no_overwrite reports an existing key without changing it.
    let keep = PutFlags {
        no_overwrite: true,
        ..PutFlags::default()
    };
    assert!(!w.put_with(&db, &7u32.to_be_bytes(), b"new", keep).unwrap());
    assert!(w
        .put_with(&db, &500u32.to_be_bytes(), b"v", append)
        .unwrap());
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.len(&db).unwrap(), 501);
    for i in [0u32, 7, 250, 499, 500] {
        assert_eq!(r.get(&db, &i.to_be_bytes()).unwrap(), Some(&b"v"[..]));
    }
    drop(r);
    assert_clean(&env);
}

#[test]
fn invalid_page_sizes() {
    for size in [1000usize, 256, 0, 65536] {
        let dir = tempfile::tempdir().unwrap();
        let e = Env::open_with(dir.path(), EnvOptions::new().page_size(size)).unwrap_err();
        match pager_error(&e) {
            Some(PagerError::InvalidPageSize(s)) => assert_eq!(*s, size),
            _ => panic!("page size {size}: expected InvalidPageSize, got {e:?}"),
        }
        assert!(e.to_string().contains(&size.to_string()), "{e}");
        let data = dir.path().join(DATA_FILE);
        assert!(
            !data.exists() || fs::metadata(&data).unwrap().len() == 0,
            "an invalid page size wrote a data file"
        );
    }
}

#[test]
fn random_bytes_are_not_a_levin_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut x: u64 = 0x1234_5678_9ABC_DEF1;
    let bytes: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(dir.path().join(DATA_FILE), &bytes).unwrap();
    let e = open_err(dir.path());
    assert!(
        matches!(pager_error(&e), Some(PagerError::NotLevinFile { .. })),
        "expected NotLevinFile, got {e:?}"
    );
    assert!(e.to_string().contains("not a Levin data file"), "{e}");
    // The file was not touched.
    assert_eq!(fs::read(dir.path().join(DATA_FILE)).unwrap(), bytes);
    // Nor is a tiny file, or one of zeros.
    fs::write(dir.path().join(DATA_FILE), b"LEVIN").unwrap();
    assert!(matches!(
        pager_error(&open_err(dir.path())),
        Some(PagerError::NotLevinFile { .. })
    ));
    fs::write(dir.path().join(DATA_FILE), vec![0u8; 4096]).unwrap();
    assert!(matches!(
        pager_error(&open_err(dir.path())),
        Some(PagerError::NotLevinFile { .. })
    ));
}

#[test]
fn both_metas_damaged() {
    // Zeroed metas: nothing identifies the file any more.
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let path = dir.path().join(DATA_FILE);
    patch(&path, 0, &[0u8; 512]);
    patch(&path, 512, &[0u8; 512]);
    let e = open_err(dir.path());
    assert!(
        matches!(pager_error(&e), Some(PagerError::NotLevinFile { .. })),
        "{e:?}"
    );

    // Metas with intact magic but bad checksums: reported as corruption.
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let path = dir.path().join(DATA_FILE);
    for page in [0u64, 1] {
        // Flip a byte of the transaction id (offset 16) without fixing the CRC.
        let mut b = [0u8; 1];
        let bytes = fs::read(&path).unwrap();
        b[0] = bytes[(page * 512 + 16) as usize] ^ 0xFF;
        patch(&path, page * 512 + 16, &b);
    }
    let e = open_err(dir.path());
    assert!(e.is_corruption(), "expected corruption, got {e:?}");
    assert!(e.to_string().contains("checksum"), "{e}");
}

#[test]
fn one_damaged_meta_falls_back_to_the_previous_commit() {
    let dir = tempfile::tempdir().unwrap();
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_db("d").unwrap();
        w.put(&db, b"k", b"first").unwrap();
        w.commit().unwrap(); // txn 1: meta slot 1
        let mut w = env.write().unwrap();
        w.put(&db, b"k", b"second").unwrap();
        w.commit().unwrap(); // txn 2: meta slot 0
        assert_eq!(env.stat().unwrap().txn_id, 2);
    }
    let path = dir.path().join(DATA_FILE);
    patch(&path, 16, &[0xEE]); // damage slot 0's txn id; its CRC no longer matches
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.id(), 1);
    let db = r.open_db("d").unwrap();
    assert_eq!(r.get(&db, b"k").unwrap(), Some(&b"first"[..]));
    drop(r);
    // The damaged meta may have held an acknowledged commit: reported, and writes wait
    // for the rollback to be accepted (tests/passed_over.rs has the details).
    assert_eq!(env.passed_over().map(|p| p.meta_page), Some(0));
    assert!(env.write().is_err());
    env.accept_rollback().unwrap();
    assert_clean(&env);
    // Writing on from the recovered commit works and survives a reopen.
    let mut w = env.write().unwrap();
    w.put(&db, b"k", b"third").unwrap();
    w.commit().unwrap();
    drop(env);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"k").unwrap(), Some(&b"third"[..]));
    drop(r);
    assert_clean(&env);
}

#[test]
fn other_format_version() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let path = dir.path().join(DATA_FILE);
    let mut bytes = fs::read(&path).unwrap();
    for page in 0..2usize {
        let m = &mut bytes[page * 512..page * 512 + 512];
        assert_eq!(&m[8..12], &2u32.to_le_bytes(), "format version field");
        m[8..12].copy_from_slice(&7u32.to_le_bytes());
        let crc = crc32fast::hash(&m[..128]);
        m[128..132].copy_from_slice(&crc.to_le_bytes());
    }
    fs::write(&path, &bytes).unwrap();
    let e = open_err(dir.path());
    match pager_error(&e) {
        Some(PagerError::FormatVersion {
            found, expected, ..
        }) => assert_eq!((*found, *expected), (7, 2)),
        _ => panic!("expected FormatVersion, got {e:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("version 7") && msg.contains("versions 1 to 2"),
        "message does not name both versions: {msg}"
    );
    // The file is left as it was.
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let path = dir.path().join(DATA_FILE);
    let len = fs::metadata(&path).unwrap().len();
    assert!(len >= 20 * 512, "test database too small: {len} bytes");
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let e = open_err(dir.path());
    assert!(e.is_corruption(), "expected corruption, got {e:?}");
    assert!(
        e.to_string().contains(&(len / 2).to_string()),
        "message does not name the file size: {e}"
    );
    // Cut inside the first meta page: not recognisable at all.
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(100).unwrap();
    drop(f);
    let e = open_err(dir.path());
    assert!(
        matches!(pager_error(&e), Some(PagerError::NotLevinFile { .. })),
        "{e:?}"
    );
}

#[test]
fn read_only_open_of_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let e = Env::open_with(&missing, opts().read_only(true)).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(e.to_string().contains("does-not-exist"), "{e}");
    assert!(!missing.exists(), "a read-only open created the directory");
    // An existing but empty directory is no database either.
    let e = Env::open_with(dir.path(), opts().read_only(true)).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(!dir.path().join(DATA_FILE).exists());
    // A file where the directory should be.
    let file = dir.path().join("plain-file");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(
        Env::open_with(&file, opts()),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn read_only_env_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    let env = Env::open_with(dir.path(), opts().read_only(true)).unwrap();
    let r = env.read().unwrap();
    let db = r.open_db("d").unwrap();
    assert_eq!(r.len(&db).unwrap(), 200);
    drop(r);
    let e = env.write().err().expect("write in a read-only environment");
    assert!(e.to_string().contains("read-only"), "{e}");
}

#[test]
fn a_read_only_open_of_a_directory_open_for_writing_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    // Both opens share one file within the process; the read-only handle still refuses.
    let rw = Env::open_with(dir.path(), opts()).unwrap();
    let ro = Env::open_with(dir.path(), opts().read_only(true)).unwrap();
    assert!(ro.is_read_only() && !rw.is_read_only());
    let e = ro.write().err().expect("write through a read-only handle");
    assert!(e.to_string().contains("read-only"), "{e}");
    let e = ro
        .write_timeout(std::time::Duration::from_millis(10))
        .err()
        .expect("write through a read-only handle");
    assert!(e.to_string().contains("read-only"), "{e}");
    rw.write().unwrap().commit().unwrap();
    drop((rw, ro));
    // And a file open read-only is not opened for writing behind it.
    let ro = Env::open_with(dir.path(), opts().read_only(true)).unwrap();
    let e = Env::open_with(dir.path(), opts()).unwrap_err();
    assert!(
        e.to_string().contains("open read-only in this process"),
        "{e}"
    );
    drop(ro);
    Env::open_with(dir.path(), opts()).unwrap();
}

/// Every database's name and (key, value) pairs.
type Contents = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

fn contents(env: &Env) -> Contents {
    let r = env.read().unwrap();
    let mut out = Vec::new();
    for name in r.db_names().unwrap() {
        let db = r.open_db(&name).unwrap();
        let items = r
            .iter(&db)
            .unwrap()
            .map(|x| x.unwrap())
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        out.push((name, items));
    }
    out
}

#[test]
fn dropped_write_txn_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    for i in 0..100u32 {
        w.put(&db, &i.to_be_bytes(), b"base").unwrap();
    }
    w.commit().unwrap();
    let before = contents(&env);
    let stat_before = env.stat().unwrap();
    {
        let mut w = env.write().unwrap();
        for i in 0..300u32 {
            w.put(&db, &i.to_be_bytes(), &[9u8; 700]).unwrap();
        }
        w.delete(&db, &5u32.to_be_bytes()).unwrap();
        let other = w.create_list_db("other").unwrap();
        w.put_list(&other, b"k", b"v").unwrap();
        w.drop_db(&db).unwrap();
        // Dropped here without commit.
    }
    assert_eq!(contents(&env), before);
    let st = env.stat().unwrap();
    assert_eq!(
        (st.txn_id, st.pages, st.free_pages),
        (
            stat_before.txn_id,
            stat_before.pages,
            stat_before.free_pages
        )
    );
    assert_clean(&env);
    // The writer lock was released.
    let w = env.write().unwrap();
    assert_eq!(w.len(&db).unwrap(), 100);
}

#[test]
fn aborted_txn_leaves_no_trace_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let before;
    {
        let env = Env::open_with(dir.path(), opts().spill_threshold(4 * 512)).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_db("d").unwrap();
        for i in 0..100u32 {
            w.put(&db, &i.to_be_bytes(), b"base").unwrap();
        }
        w.commit().unwrap();
        before = contents(&env);
        // A big transaction that spills pages to the file before it is aborted.
        let mut w = env.write().unwrap();
        for i in 0..2000u32 {
            w.put(&db, &i.to_be_bytes(), &[7u8; 300]).unwrap();
        }
        let l = w.create_list_db("l").unwrap();
        w.put_list(&l, b"a", b"b").unwrap();
        w.abort();
        assert_eq!(contents(&env), before);
    }
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(contents(&env), before);
    assert_eq!(env.stat().unwrap().txn_id, 1);
    assert_clean(&env);
}

/// Rewrites the newest meta page of the database in `dir` (page size 512) with `edit`
/// applied, sealed with a valid checksum, as a crafted file would be.
fn rewrite_newest_meta(dir: &Path, edit: impl Fn(&mut levin_pager::Meta)) {
    let path = dir.join(DATA_FILE);
    let bytes = fs::read(&path).unwrap();
    let metas: Vec<(usize, levin_pager::Meta)> = (0..2)
        .filter_map(|slot| {
            let page = &bytes[slot * 512..(slot + 1) * 512];
            levin_pager::Meta::decode(page).ok().map(|(m, _)| (slot, m))
        })
        .collect();
    let (slot, mut meta) = *metas.iter().max_by_key(|(_, m)| m.txn_id).unwrap();
    edit(&mut meta);
    let mut page = vec![0u8; 512];
    meta.encode(&mut page, None);
    patch(&path, (slot * 512) as u64, &page);
}

#[test]
fn a_transaction_id_no_commit_can_follow_is_corruption_not_a_panic() {
    for id in [u64::MAX, u64::MAX - 1] {
        let dir = tempfile::tempdir().unwrap();
        make_db(dir.path());
        rewrite_newest_meta(dir.path(), |m| m.txn_id = id);
        let env = Env::open_with(dir.path(), opts()).unwrap();
        // Reading still works.
        let r = env.read().unwrap();
        let db = r.open_db("d").unwrap();
        assert_eq!(r.len(&db).unwrap(), 200);
        drop(r);
        // Writing is refused with a corruption error naming the id.
        let e = match env.write() {
            Ok(_) => panic!("a write after transaction {id} must be refused"),
            Err(e) => e,
        };
        assert!(e.is_corruption(), "{e:?}");
        assert!(e.to_string().contains(&id.to_string()), "{e}");
        // The writer lock was released: the next attempt fails the same way, not hangs.
        assert!(env.write().is_err());
    }
}

/// A drop that frees part of a tree and then meets a damaged page fails, and the write
/// transaction refuses everything after it, commit included: the half-freed tree (its first
/// pages already on the free list, the rest still in the catalog) never reaches the disk.
#[test]
fn a_drop_that_fails_part_way_poisons_the_transaction() {
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    // Damage the last leaf of the tree: the drop frees the leaves before it, then fails.
    let last_leaf = {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        // One more commit, elsewhere, so the leaf is not among the pages the newest meta
        // lists (damage to those is a passed-over commit, tested on its own).
        let mut w = env.write().unwrap();
        let other = w.create_db("other").unwrap();
        w.put(&other, b"k", b"v").unwrap();
        w.commit().unwrap();
        let r = env.read().unwrap();
        let db = r.open_db("d").unwrap();
        let info = r.tree_info(&db).unwrap();
        assert!(info.depth >= 2, "branches over leaves");
        // Down the right edge to the last leaf.
        let mut page = info.root;
        for _ in 1..info.depth {
            let n = levin_btree::node::Node::new(page, r.source().page(page).unwrap()).unwrap();
            page = n.branch(n.len() - 1).unwrap().child;
        }
        page
    };
    patch(&dir.path().join(DATA_FILE), last_leaf * 512, &[0xFF]);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    let db = w.open_db("d").unwrap();
    let e = w.drop_db(&db).unwrap_err();
    assert!(e.is_corruption(), "{e:?}");
    assert!(w.put(&db, b"k", b"v").is_err(), "later work is refused");
    assert!(w.commit().is_err(), "the failed drop must not be committed");
    // Nothing changed on disk: the database is still there, whole but for the damage.
    let r = env.read().unwrap();
    assert_eq!(r.id(), 4);
    assert!(r.open_db("d").is_ok());
}

/// A checksum-valid meta whose catalog claims more entries than a tree can hold: adding
/// an entry must neither panic on the overflow (a count past `i64::MAX`) nor wrap the
/// count silently (a count of `u64::MAX`); it is corruption, named as such.
#[test]
fn an_entry_count_past_what_a_tree_can_hold_is_corruption_not_a_panic() {
    // Past i64::MAX the count is still representable: the insert works.
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    rewrite_newest_meta(dir.path(), |m| m.catalog.entries = i64::MAX as u64);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    w.create_db("e").unwrap();
    w.commit().unwrap();
    // At u64::MAX one more entry cannot be counted.
    let dir = tempfile::tempdir().unwrap();
    make_db(dir.path());
    rewrite_newest_meta(dir.path(), |m| m.catalog.entries = u64::MAX);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    // The catalog entry is written at create or at commit; either must refuse.
    let e = match w.create_db("e").and_then(|_| w.commit()) {
        Ok(_) => panic!("counting past u64::MAX must be refused"),
        Err(e) => e,
    };
    assert!(e.is_corruption(), "{e:?}");
    assert!(e.to_string().contains("damaged"), "{e}");
}

/// A checksum-valid meta whose catalog says it has no pages: when deleting entries frees a
/// leaf or collapses the root, taking the freed pages off the stored counts must be
/// corruption, named as such, not an overflow panic. (Found by the `datalog_file` fuzz
/// target, through a nested list tree whose descriptor held too few pages.)
#[test]
fn a_page_count_smaller_than_the_pages_freed_is_corruption_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        let mut w = env.write().unwrap();
        for i in 0..120u32 {
            w.create_db(&format!("a-database-with-a-long-name-{i:04}"))
                .unwrap();
        }
        w.commit().unwrap();
    }
    rewrite_newest_meta(dir.path(), |m| {
        assert!(m.catalog.depth >= 2, "the catalog must span several pages");
        m.catalog.leaf_pages = 0;
        m.catalog.branch_pages = 0;
    });
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let mut w = env.write().unwrap();
    let mut failure = None;
    for i in 0..120u32 {
        let dropped = w
            .open_db(&format!("a-database-with-a-long-name-{i:04}"))
            .and_then(|db| w.drop_db(&db));
        if let Err(e) = dropped {
            failure = Some(e);
            break;
        }
    }
    let e = match failure {
        Some(e) => e,
        None => w
            .commit()
            .expect_err("freeing pages the counts do not hold must be refused"),
    };
    assert!(e.is_corruption(), "{e:?}");
    assert!(e.to_string().contains("damaged"), "{e}");
}

/// A damaged leaf whose list keys are out of order: iterating with a value range seeks
/// within each key, and a seek in a disordered leaf can land back where the iteration has
/// been. It must end with a corruption error, not go round forever.
#[test]
fn a_value_range_over_keys_out_of_order_ends_in_corruption_not_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        let mut w = env.write().unwrap();
        let l = w.create_list_db("l").unwrap();
        for key in [b"list-key-0", b"list-key-1", b"list-key-2"] {
            for v in [b"a", b"b", b"c"] {
                w.put_list(&l, key, v).unwrap();
            }
        }
        w.commit().unwrap();
        // A later commit that leaves the list's leaf alone: opening checks the pages the
        // newest commit wrote, and the damage below is to an older one.
        let mut w = env.write().unwrap();
        let other = w.create_db("other").unwrap();
        w.put(&other, b"k", b"v").unwrap();
        w.commit().unwrap();
    }
    // Rename the middle key so that it sorts after the last one, in place: the leaf holds
    // keys 0, 3, 2, and a search for 2 lands on 3.
    let path = dir.path().join(DATA_FILE);
    let mut bytes = fs::read(&path).unwrap();
    let at: Vec<usize> = bytes
        .windows(10)
        .enumerate()
        .filter(|(_, w)| *w == b"list-key-1")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the key is stored once");
    bytes[at[0] + 9] = b'3';
    fs::write(&path, &bytes).unwrap();

    let (done, result) = std::sync::mpsc::channel();
    let dir_path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let env = Env::open_with(&dir_path, opts()).unwrap();
        let r = env.read().unwrap();
        let l = r.open_db("l").unwrap();
        let outcome = r
            .list_range(
                &l,
                levin_engine::Range::all(),
                levin_engine::Range::closed(b"m", b"n"),
            )
            .map(|it| it.take(100).collect::<Result<Vec<_>, _>>().map(|v| v.len()));
        let _ = done.send(outcome.and_then(|x| x));
    });
    let outcome = result
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the iteration must end, not loop forever");
    let e = outcome.expect_err("keys out of order must be reported");
    assert!(e.is_corruption(), "{e:?}");
    assert!(e.to_string().contains("out of order"), "{e}");
}
