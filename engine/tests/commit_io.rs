//! The I/O a commit makes, seen through a spying `IoHook`:
//! - the order of a durable commit: a small one writes its data pages, then its meta page
//!   listing them, then syncs once; a larger one (and a `NoMetaSync` one) writes its data
//!   pages, syncs, then writes the meta page (durably, in `Durable` mode);
//! - how a flush writes: pages of tree nodes in writes of at most 64 KiB, runs of overflow
//!   pages coalesced into long writes;
//! - a delete-heavy commit writes the part of the file it added in runs, short gaps of
//!   freed pages included;
//! - early writeback: when the commit will sync, the system is asked to start writing the
//!   pages while the flush goes on, one span at a time. Each request must cover only bytes
//!   already written by that flush, together they must cover all of it, and small or
//!   unsynced flushes must ask nothing.

use std::sync::{Arc, Mutex};

use levin_engine::{Db, Durability, Env, EnvOptions, Read, DATA_FILE};
use levin_pager::{IoHook, IoOp, IoVerdict, Meta, WrittenPages};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Write,
    DurableWrite,
    Writeback,
    Sync,
}

type Log = Arc<Mutex<Vec<(Op, u64, u64)>>>;

/// Lets everything through to the real file and logs writes, writeback requests and syncs.
#[derive(Debug)]
struct Spy {
    log: Log,
}

impl IoHook for Spy {
    fn decide(&self, op: IoOp<'_>) -> IoVerdict {
        let entry = match op {
            IoOp::Write {
                offset,
                data,
                durable,
            } => {
                let kind = if durable { Op::DurableWrite } else { Op::Write };
                (kind, offset, data.len() as u64)
            }
            IoOp::Sync => (Op::Sync, 0, 0),
            IoOp::Writeback { offset, len } => (Op::Writeback, offset, len),
            _ => return IoVerdict::Proceed,
        };
        self.log.lock().unwrap().push(entry);
        IoVerdict::Proceed
    }
}

fn open(dir: &std::path::Path, durability: Durability) -> (Env, Log) {
    let log: Log = Arc::default();
    let spy = Arc::new(Spy { log: log.clone() });
    let opts = EnvOptions::new()
        .max_map_size(1 << 30)
        .durability(durability)
        .io_hook(spy);
    (Env::open_with(dir, opts).unwrap(), log)
}

/// Creates database `main` in a committed transaction of its own, then empties the log.
fn create_main(env: &Env, log: &Log) -> Db {
    let mut w = env.write().unwrap();
    let db = w.create_db("main").unwrap();
    w.commit().unwrap();
    log.lock().unwrap().clear();
    db
}

/// Commits one transaction of `n` entries with 1,000-byte values, after the database was
/// created; returns the log of that commit only.
fn commit_entries(env: &Env, log: &Log, n: u32) -> Vec<(Op, u64, u64)> {
    let db = create_main(env, log);
    let mut w = env.write().unwrap();
    for i in 0..n {
        w.put(&db, &i.to_be_bytes(), &[i as u8; 1000]).unwrap();
    }
    w.commit().unwrap();
    log.lock().unwrap().clone()
}

#[test]
fn large_commits_hand_every_written_page_to_the_device_after_writing_it() {
    let dir = tempfile::tempdir().unwrap();
    let (env, log) = open(dir.path(), Durability::Durable);
    let ps = env.page_size() as u64;
    // About 4 MiB of leaves: several writeback spans.
    let events = commit_entries(&env, &log, 4000);
    let requests: Vec<(u64, u64)> = events
        .iter()
        .filter(|e| e.0 == Op::Writeback)
        .map(|e| (e.1, e.1 + e.2))
        .collect();
    assert!(
        requests.len() >= 3,
        "a 4 MiB flush makes several requests: {requests:?}"
    );
    let first_sync = events.iter().position(|e| e.0 == Op::Sync).unwrap();
    let mut written: Vec<(u64, u64)> = Vec::new();
    for (i, &(op, offset, len)) in events.iter().enumerate() {
        match op {
            Op::Write => written.push((offset, offset + len)),
            Op::Writeback => {
                assert!(i < first_sync, "writeback is asked for before the sync");
                // Every page of the request was written earlier in this commit.
                for page in (offset..offset + len).step_by(ps as usize) {
                    assert!(
                        written.iter().any(|w| w.0 <= page && page < w.1),
                        "page at byte {page} handed over before it was written"
                    );
                }
            }
            Op::Sync | Op::DurableWrite => {}
        }
    }
    // Every data page the flush wrote (all writes before the first sync; the meta page
    // comes after it) is inside some request.
    for &(op, offset, len) in &events[..first_sync] {
        if op == Op::Write {
            for page in (offset..offset + len).step_by(ps as usize) {
                assert!(
                    requests.iter().any(|r| r.0 <= page && page < r.1),
                    "page at byte {page} was written but never handed over"
                );
            }
        }
    }
}

#[test]
fn small_or_unsynced_commits_ask_nothing() {
    // A 100-entry durable commit (under 1 MiB), and a 4 MiB one that will not be synced.
    for (durability, n) in [(Durability::Durable, 100), (Durability::NoSync, 4000)] {
        let dir = tempfile::tempdir().unwrap();
        let (env, log) = open(dir.path(), durability);
        let events = commit_entries(&env, &log, n);
        assert!(events.iter().any(|e| e.0 == Op::Write));
        assert!(
            !events.iter().any(|e| e.0 == Op::Writeback),
            "{durability:?}, {n} entries: {events:?}"
        );
    }
}

#[test]
fn large_values_are_handed_over_once_written() {
    let dir = tempfile::tempdir().unwrap();
    let (env, log) = open(dir.path(), Durability::Durable);
    let db = create_main(&env, &log);
    let mut w = env.write().unwrap();
    // Larger than the 4 MiB that still goes through the dirty pages: written at once.
    w.put(&db, b"big", &vec![7u8; 5 << 20]).unwrap();
    let events = log.lock().unwrap().clone();
    assert!(
        bytes_of(&events, Op::Write) >= 5 << 20,
        "the value is written before the commit"
    );
    assert!(
        bytes_of(&events, Op::Writeback) >= 5 << 20,
        "and handed over: {events:?}"
    );
    w.commit().unwrap();
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"big").unwrap().unwrap().len(), 5 << 20);
}

/// The bytes of all logged operations of kind `op`.
fn bytes_of(events: &[(Op, u64, u64)], op: Op) -> u64 {
    events.iter().filter(|e| e.0 == op).map(|e| e.2).sum()
}

/// The longest write of the commit of `values` (each put under its own key).
fn longest_write(values: &[Vec<u8>]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let (env, log) = open(dir.path(), Durability::Durable);
    let db = create_main(&env, &log);
    let mut w = env.write().unwrap();
    for (i, v) in values.iter().enumerate() {
        w.put(&db, &(i as u32).to_be_bytes(), v).unwrap();
    }
    w.commit().unwrap();
    let events = log.lock().unwrap().clone();
    events
        .iter()
        .filter(|e| e.0 == Op::Write)
        .map(|e| e.2)
        .max()
        .unwrap()
}

#[test]
fn overflow_runs_are_written_in_long_writes_and_tree_pages_in_short_ones() {
    // Eight held 512 KiB values lie one after another at the end of the file: written
    // together, in writes longer than 2 MiB.
    let runs: Vec<Vec<u8>> = (0..8).map(|i| vec![i as u8; 512 << 10]).collect();
    let longest = longest_write(&runs);
    assert!(longest >= 2 << 20, "longest write {longest} bytes");
    assert!(
        longest <= (8 << 20) + (512 << 10) + 4096,
        "capped: {longest}"
    );
    // 4 MiB of leaves: no write longer than 64 KiB plus the page that crosses it.
    let small: Vec<Vec<u8>> = (0..4000).map(|i| vec![i as u8; 1000]).collect();
    let longest = longest_write(&small);
    assert!(
        longest <= (64 << 10) + 4096,
        "longest write {longest} bytes"
    );
}

#[test]
fn a_delete_heavy_commit_writes_the_file_it_added_without_short_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let (env, log) = open(dir.path(), Durability::Durable);
    let ps = env.page_size() as u64;
    let db = create_main(&env, &log);
    let n = 4000u32;
    let key = |i: u32| i.wrapping_mul(2_654_435_761).to_be_bytes();
    let mut w = env.write().unwrap();
    for i in 0..n {
        w.put(&db, &key(i), &[i as u8; 200]).unwrap();
    }
    w.commit().unwrap();
    let base = env.stat().unwrap().pages;
    log.lock().unwrap().clear();
    // Deleting three keys in four copies leaves to the end of the file, then merges many
    // of those copies away: the pages they had are gaps among the pages written.
    let mut w = env.write().unwrap();
    for i in (0..n).filter(|i| i % 4 != 0) {
        assert!(w.delete(&db, &key(i)).unwrap());
    }
    w.commit().unwrap();
    let events = log.lock().unwrap().clone();
    let mut added: Vec<(u64, u64)> = events
        .iter()
        .filter(|e| e.0 == Op::Write && e.1 / ps >= base)
        .map(|e| (e.1 / ps, (e.1 + e.2) / ps))
        .collect();
    added.sort_unstable();
    assert!(added.len() > 10, "several writes: {added:?}");
    // Gaps of up to 16 pages are written with zeros; only longer ones are left.
    for pair in added.windows(2) {
        let gap = pair[1].0 - pair[0].1;
        assert!(gap == 0 || gap > 16, "a gap of {gap} pages: {added:?}");
    }
    let r = env.read().unwrap();
    for i in 0..n {
        assert_eq!(
            r.get(&db, &key(i)).unwrap().is_some(),
            i % 4 == 0,
            "key {i}"
        );
    }
}

/// The meta page as the file holds it after the commit, decoded.
fn meta_on_disk(dir: &std::path::Path, offset: u64, ps: u64) -> (Meta, Option<WrittenPages>) {
    let file = std::fs::read(dir.join(DATA_FILE)).unwrap();
    Meta::decode(&file[offset as usize..(offset + ps) as usize]).unwrap()
}

#[test]
fn a_small_durable_commit_writes_its_pages_and_its_meta_then_syncs_once() {
    let dir = tempfile::tempdir().unwrap();
    let (env, log) = open(dir.path(), Durability::Durable);
    let ps = env.page_size() as u64;
    let events = commit_entries(&env, &log, 10);
    // Data pages (at page 2 and up), the meta page (slot 0 or 1) in a plain write, and one
    // sync, last.
    let (last, rest) = events.split_last().unwrap();
    assert_eq!(last.0, Op::Sync, "{events:?}");
    let (meta_write, data) = rest.split_last().unwrap();
    assert_eq!(meta_write.0, Op::Write, "{events:?}");
    assert!(meta_write.1 == 0 || meta_write.1 == ps);
    assert_eq!(meta_write.2, ps);
    assert!(!data.is_empty());
    assert!(
        data.iter().all(|e| e.0 == Op::Write && e.1 >= 2 * ps),
        "{events:?}"
    );
    // The meta lists exactly those pages, and their digest is that of the bytes now in
    // the file, which is what recovery checks.
    let (meta, written) = meta_on_disk(dir.path(), meta_write.1, ps);
    let written = written.expect("a small durable commit carries a written-pages record");
    let mut expect: Vec<(u64, u32)> = Vec::new();
    for e in data {
        let (first, count) = (e.1 / ps, (e.2 / ps) as u32);
        match expect.last_mut() {
            Some((p, n)) if *p + u64::from(*n) == first => *n += count,
            _ => expect.push((first, count)),
        }
    }
    assert_eq!(written.runs, expect);
    let file = std::fs::read(dir.path().join(DATA_FILE)).unwrap();
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    for &(first, count) in &written.runs {
        h.update(&file[(first * ps) as usize..((first + u64::from(count)) * ps) as usize]);
    }
    assert_eq!(written.digest, h.digest128());
    assert!(meta.npages * ps <= file.len() as u64);
}

#[test]
fn a_commit_without_a_record_syncs_its_pages_then_writes_the_meta_page() {
    // NoMetaSync never records; a durable commit too large for a record (1,200 values of
    // 1,000 bytes: more than 1 MiB of pages) syncs first and writes its meta durably.
    for (durability, entries, meta_op) in [
        (Durability::Durable, 1200, Op::DurableWrite),
        (Durability::NoMetaSync, 10, Op::Write),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (env, log) = open(dir.path(), durability);
        let ps = env.page_size() as u64;
        let events: Vec<_> = commit_entries(&env, &log, entries)
            .into_iter()
            .filter(|e| e.0 != Op::Writeback)
            .collect();
        let ops: Vec<Op> = events.iter().map(|e| e.0).collect();
        // Data pages (at page 2 and up), one sync, then the meta page (slot 0 or 1) alone.
        let sync = ops.iter().position(|&o| o == Op::Sync).unwrap();
        assert!(
            sync > 0,
            "{durability:?}: pages before the sync: {events:?}"
        );
        assert!(events[..sync]
            .iter()
            .all(|e| e.0 == Op::Write && e.1 >= 2 * ps));
        assert_eq!(events.len(), sync + 2, "{durability:?}: {events:?}");
        let meta = events[sync + 1];
        assert_eq!(meta.0, meta_op, "{durability:?}: {events:?}");
        assert!(
            meta.1 == 0 || meta.1 == ps,
            "{durability:?}: meta slot {}",
            meta.1
        );
        assert_eq!(meta.2, ps);
        assert_eq!(
            meta_on_disk(dir.path(), meta.1, ps).1,
            None,
            "{durability:?}"
        );
    }
    // The commit is there after a reopen.
    let dir = tempfile::tempdir().unwrap();
    {
        let (env, log) = open(dir.path(), Durability::Durable);
        commit_entries(&env, &log, 10);
    }
    let (env, _) = open(dir.path(), Durability::Durable);
    let r = env.read().unwrap();
    let db = r.open_db("main").unwrap();
    assert_eq!(
        r.get(&db, &9u32.to_be_bytes()).unwrap().unwrap(),
        &[9u8; 1000][..]
    );
}

/// How a commit reached the disk, from its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Pages, the meta page, one sync.
    SingleSync,
    /// Pages, a sync, then the meta page written durably.
    SyncThenDurableMeta,
    /// Anything else (the other durability modes).
    Other,
}

fn protocol_of(events: &[(Op, u64, u64)]) -> Protocol {
    let ops: Vec<Op> = events
        .iter()
        .map(|e| e.0)
        .filter(|&o| o != Op::Writeback)
        .collect();
    match ops.as_slice() {
        [.., Op::Write, Op::Sync] if !ops.contains(&Op::DurableWrite) => Protocol::SingleSync,
        [.., Op::Sync, Op::DurableWrite] => Protocol::SyncThenDurableMeta,
        _ => Protocol::Other,
    }
}

/// A commit writes its meta before its sync only on top of a meta this process knows to be
/// durable: the metas of a new file (synced when it was created) and its own durable
/// commits, but not the newest meta of a file it reopened, nor one after a `NoMetaSync` or
/// `NoSync` commit, unless `Env::sync` ran since.
#[test]
fn a_commit_syncs_before_its_meta_unless_the_meta_before_it_is_known_durable() {
    fn commit(env: &Env, log: &Log, i: u32) -> Protocol {
        log.lock().unwrap().clear();
        let mut w = env.write().unwrap();
        let db = w.create_db("main").unwrap();
        w.put(&db, &i.to_be_bytes(), b"v").unwrap();
        w.commit().unwrap();
        protocol_of(&log.lock().unwrap())
    }
    use Durability::{Durable, NoMetaSync, NoSync};
    use Protocol::{Other, SingleSync, SyncThenDurableMeta as SyncFirst};
    // Each step: the commit's durability, whether `Env::sync` runs just before it, how it
    // must reach the disk, and why.
    let steps = [
        (Durable, false, SingleSync, "on a new file"),
        (Durable, false, SingleSync, "after a durable commit"),
        (NoMetaSync, false, Other, "NoMetaSync"),
        (Durable, false, SyncFirst, "after NoMetaSync"),
        (Durable, false, SingleSync, "after a durable commit"),
        (NoSync, false, Other, "NoSync"),
        (Durable, false, SyncFirst, "after NoSync"),
        (NoSync, false, Other, "NoSync"),
        (Durable, true, SingleSync, "after Env::sync"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (env, log) = open(dir.path(), Durable);
    for (i, &(durability, sync_first, protocol, why)) in steps.iter().enumerate() {
        if sync_first {
            env.sync().unwrap();
        }
        env.set_durability(durability);
        assert_eq!(commit(&env, &log, i as u32), protocol, "commit {i}: {why}");
    }
    let n = steps.len() as u32;
    drop(env);
    let (env, log) = open(dir.path(), Durability::Durable);
    assert_eq!(commit(&env, &log, n), SyncFirst, "after reopening");
    assert_eq!(commit(&env, &log, n + 1), SingleSync);
    drop(env);
    // Every commit is there after reopening.
    let (env, _) = open(dir.path(), Durability::Durable);
    let r = env.read().unwrap();
    let db = r.open_db("main").unwrap();
    for i in 0..n + 2 {
        assert!(r.get(&db, &i.to_be_bytes()).unwrap().is_some(), "key {i}");
    }
}
