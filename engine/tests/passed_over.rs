//! A commit that recovery passes over is reported, and no write erases it silently: damage
//! to the pages of the newest single-sync commit, or to the newest meta page, looks like an
//! interrupted commit, so the file opens at the commit before; the environment says so
//! (`passed_over`, `stat`, `check`), and refuses writes until the rollback is accepted.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use levin_engine::{Env, EnvOptions, Error, PassReason, Read, DATA_FILE};
use levin_txn::TxnError;

const PS: usize = 512;

fn opts() -> EnvOptions {
    EnvOptions::new().page_size(PS).max_map_size(1 << 28)
}

/// Two acknowledged commits: `k` = "first", then `k` = "second".
fn two_commits(dir: &Path) {
    let env = Env::open_with(dir, opts()).unwrap();
    for v in [&b"first"[..], b"second"] {
        let mut w = env.write().unwrap();
        let db = w.create_db("d").unwrap();
        w.put(&db, b"k", v).unwrap();
        w.commit().unwrap();
    }
    assert_eq!(env.stat().unwrap().txn_id, 2);
}

/// The newest meta page: its slot, its meta and its written-pages record.
fn newest_meta(dir: &Path) -> (u64, levin_pager::Meta, Option<levin_pager::WrittenPages>) {
    let bytes = fs::read(dir.join(DATA_FILE)).unwrap();
    (0..2u64)
        .filter_map(|slot| {
            let page = &bytes[slot as usize * PS..(slot as usize + 1) * PS];
            levin_pager::Meta::decode(page)
                .ok()
                .map(|(m, w)| (slot, m, w))
        })
        .max_by_key(|(_, m, _)| m.txn_id)
        .unwrap()
}

fn flip_bit(path: &Path, offset: u64, bit: u8) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 1 << bit;
    f.write_all_at(&b, offset).unwrap();
    f.sync_all().unwrap();
}

fn value(env: &Env) -> Vec<u8> {
    let r = env.read().unwrap();
    let db = r.open_db("d").unwrap();
    r.get(&db, b"k").unwrap().unwrap().to_vec()
}

fn assert_write_refused(env: &Env, txn: u64) {
    match env.write() {
        Ok(_) => panic!("a write must not silently erase passed-over commit {txn}"),
        Err(Error::Txn(TxnError::PassedOver(p))) => assert_eq!(p.txn_id, txn),
        Err(e) => panic!("expected PassedOver, got {e:?}"),
    }
}

/// The reproduction of issue #22, item 1: one flipped bit in an unused byte of the first
/// page the newest meta lists.
#[test]
fn a_flipped_bit_in_the_newest_commits_pages_is_reported_and_blocks_writes() {
    let dir = tempfile::tempdir().unwrap();
    two_commits(dir.path());
    let (slot, meta, written) = newest_meta(dir.path());
    assert_eq!(meta.txn_id, 2);
    let first = written.expect("a single-sync commit lists its pages").runs[0].0;
    // An unused byte: the first byte of the page's free gap (just past its slot array).
    let page = fs::read(dir.path().join(DATA_FILE)).unwrap()
        [first as usize * PS..(first as usize + 1) * PS]
        .to_vec();
    let nkeys = u16::from_le_bytes([page[2], page[3]]) as usize;
    let upper = u16::from_le_bytes([page[4], page[5]]) as usize;
    let gap = 16 + 2 * nkeys;
    assert!(gap < upper, "the page has a free gap");
    flip_bit(
        &dir.path().join(DATA_FILE),
        first * PS as u64 + gap as u64,
        3,
    );

    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(value(&env), b"first", "the file opens at the commit before");
    // Reported: by the environment, by stat, and by check, which fails naming the commit.
    let p = env.passed_over().expect("the rollback is reported");
    assert_eq!((p.txn_id, p.meta_page, p.opened_at), (2, slot, 1));
    assert!(matches!(p.reason, PassReason::NotLanded(_)), "{p:?}");
    let stat = env.stat().unwrap();
    assert_eq!(stat.passed_over.as_ref(), Some(&p));
    assert!(!stat.rollback_accepted);
    let rep = env.check().unwrap();
    assert!(!rep.is_ok());
    assert!(rep.problems[0].what.contains("transaction 2"), "{rep:?}");
    assert_eq!(rep.passed_over.as_ref(), Some(&p));
    // No write proceeds, and the evidence is still on disk for the next open.
    assert_write_refused(&env, 2);
    drop(env);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(env.passed_over().map(|p| p.txn_id), Some(2));
    assert_write_refused(&env, 2);

    // Accepting discards the passed-over meta page durably and allows writes.
    assert_eq!(env.accept_rollback().unwrap().map(|p| p.txn_id), Some(2));
    assert!(env.check().unwrap().is_ok());
    assert!(env.stat().unwrap().rollback_accepted);
    let mut w = env.write().unwrap();
    let db = w.open_db("d").unwrap();
    w.put(&db, b"k", b"third").unwrap();
    w.commit().unwrap();
    drop(env);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(env.passed_over(), None);
    assert_eq!(value(&env), b"third");
    assert!(env.check().unwrap().is_ok());
}

/// Accepting without writing: the next open no longer reports anything.
#[test]
fn an_accepted_rollback_stays_accepted() {
    let dir = tempfile::tempdir().unwrap();
    two_commits(dir.path());
    let (slot, _, _) = newest_meta(dir.path());
    flip_bit(&dir.path().join(DATA_FILE), slot * PS as u64 + 40, 0);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert!(env.passed_over().is_some());
    env.accept_rollback().unwrap();
    drop(env);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(env.passed_over(), None);
    assert_eq!(value(&env), b"first");
    assert!(env.write().is_ok());
}

/// With `accept_rollback(true)` at open, the decision is made in advance: reported, not
/// a check failure, and writes proceed.
#[test]
fn the_option_accepts_in_advance() {
    let dir = tempfile::tempdir().unwrap();
    two_commits(dir.path());
    let (slot, _, _) = newest_meta(dir.path());
    flip_bit(&dir.path().join(DATA_FILE), slot * PS as u64 + 40, 0);
    let env = Env::open_with(dir.path(), opts().accept_rollback(true)).unwrap();
    assert!(env.passed_over().is_some());
    assert!(env.stat().unwrap().rollback_accepted);
    assert!(env.check().unwrap().is_ok());
    env.write().unwrap().commit().unwrap();
}

/// A damaged newest meta page (its checksum fails) is reported the same way; a damaged
/// older meta page is not, since the newest commit survived it.
#[test]
fn a_damaged_newest_meta_page_is_reported_and_an_older_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    two_commits(dir.path());
    let (slot, _, _) = newest_meta(dir.path());
    // A bit of the catalog's entry count: the transaction id still reads 2.
    flip_bit(&dir.path().join(DATA_FILE), slot * PS as u64 + 40, 0);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(value(&env), b"first");
    let p = env.passed_over().expect("reported");
    assert_eq!(
        (p.txn_id, p.meta_page, p.reason),
        (2, slot, PassReason::Checksum)
    );
    assert!(!env.check().unwrap().is_ok());
    assert_write_refused(&env, 2);
    drop(env);

    let dir = tempfile::tempdir().unwrap();
    two_commits(dir.path());
    let (slot, _, _) = newest_meta(dir.path());
    flip_bit(&dir.path().join(DATA_FILE), (1 - slot) * PS as u64 + 40, 0);
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(value(&env), b"second");
    assert_eq!(env.passed_over(), None);
    assert!(env.check().unwrap().is_ok());
    assert!(env.write().is_ok());
}
