//! Concurrency: reader snapshots stay fixed while a writer commits in another thread, the
//! writer never waits on readers, `RoTxn` moves between threads, and writers serialise.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use levin_engine::{Db, Durability, Env, EnvOptions, Range, Read, RoTxn, RwTxn};

const ACCOUNTS: u64 = 64;
const START_BALANCE: u64 = 1_000;
const TOTAL: u64 = ACCOUNTS * START_BALANCE;

fn opts() -> EnvOptions {
    EnvOptions::new()
        .page_size(512)
        .max_map_size(1 << 30)
        .durability(Durability::NoSync)
}

fn acct(i: u64) -> Vec<u8> {
    format!("acct{i:04}").into_bytes()
}

/// Live readers on snapshot `txn`.
fn readers_on(env: &Env, txn: u64) -> usize {
    env.stat()
        .unwrap()
        .readers
        .iter()
        .filter(|r| r.txn == txn)
        .count()
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

/// Sets up `ACCOUNTS` balances summing to `TOTAL` plus a commit counter.
fn setup(env: &Env) -> Db {
    let mut w = env.write().unwrap();
    let db = w.create_db("bank").unwrap();
    for i in 0..ACCOUNTS {
        w.put(&db, &acct(i), &START_BALANCE.to_be_bytes()).unwrap();
    }
    w.put(&db, b"counter", &0u64.to_be_bytes()).unwrap();
    w.commit().unwrap();
    db
}

fn u64_of(b: &[u8]) -> u64 {
    u64::from_be_bytes(b.try_into().expect("8-byte value"))
}

/// (key, value) pairs.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Everything in the snapshot, plus the balance sum and the counter.
fn snapshot(r: &RoTxn, db: &Db) -> (Pairs, u64, u64) {
    let all: Pairs = r
        .range(db, Range::prefix(b"acct"))
        .unwrap()
        .map(|x| x.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(all.len() as u64, ACCOUNTS, "an account went missing");
    let sum = all.iter().map(|(_, v)| u64_of(v)).sum();
    let counter = u64_of(r.get(db, b"counter").unwrap().expect("counter"));
    (all, sum, counter)
}

#[test]
fn snapshots_are_stable_while_a_writer_commits() {
    const COMMITS: u64 = 600;
    const READERS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let db = setup(&env);
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(READERS + 1));

    let mut readers = Vec::new();
    for t in 0..READERS {
        let (env, db, done, start) = (env.clone(), db.clone(), done.clone(), start.clone());
        readers.push(thread::spawn(move || {
            start.wait();
            let mut seen = BTreeSet::new();
            let mut last_counter = 0u64;
            let mut rounds = 0u64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let r = env.read().unwrap();
                let (first, sum, counter) = snapshot(&r, &db);
                assert_eq!(sum, TOTAL, "reader {t} saw a torn transfer");
                assert!(
                    counter >= last_counter,
                    "reader {t}: counter went back from {last_counter} to {counter}"
                );
                last_counter = counter;
                // Counter and snapshot id move together: commit n sets the counter to n.
                assert_eq!(
                    r.id(),
                    counter + 1,
                    "counter does not match the snapshot id"
                );
                seen.insert(counter);
                // Hold the snapshot a little while the writer keeps committing, then
                // read it again: nothing may have changed.
                for _ in 0..(rounds % 4) {
                    thread::yield_now();
                    let _ = r.count(&db, &Range::all()).unwrap();
                }
                let (second, sum2, counter2) = snapshot(&r, &db);
                assert_eq!(
                    first, second,
                    "reader {t}: snapshot changed during its life"
                );
                assert_eq!((sum2, counter2), (sum, counter));
                rounds += 1;
                if finished {
                    break;
                }
            }
            (seen, rounds)
        }));
    }

    let writer = {
        let (env, db, done) = (env.clone(), db.clone(), done.clone());
        thread::spawn(move || {
            start.wait();
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for n in 1..=COMMITS {
                let mut w = env.write().unwrap();
                // Move money between two accounts: the total never changes.
                for _ in 0..3 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let (a, b) = (x % ACCOUNTS, (x >> 20) % ACCOUNTS);
                    let amount = (x >> 40) % 50;
                    let va = u64_of(w.get(&db, &acct(a)).unwrap().unwrap());
                    let amount = amount.min(va);
                    w.put(&db, &acct(a), &(va - amount).to_be_bytes()).unwrap();
                    let vb = u64_of(w.get(&db, &acct(b)).unwrap().unwrap());
                    w.put(&db, &acct(b), &(vb + amount).to_be_bytes()).unwrap();
                }
                w.put(&db, b"counter", &n.to_be_bytes()).unwrap();
                w.commit().unwrap();
                if n % 100 == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    writer.join().unwrap();
    let mut all_seen = BTreeSet::new();
    for h in readers {
        let (seen, rounds) = h.join().unwrap();
        assert!(rounds > 0);
        // The last round of every reader starts after the writer finished.
        assert!(seen.contains(&COMMITS), "reader never saw the final commit");
        all_seen.extend(seen);
    }
    assert!(
        all_seen.len() > 2,
        "readers saw only {} distinct snapshots; no overlap with the writer",
        all_seen.len()
    );
    let r = env.read().unwrap();
    let (_, sum, counter) = snapshot(&r, &db);
    assert_eq!((sum, counter), (TOTAL, COMMITS));
    drop(r);
    assert_clean(&env);
}

#[test]
fn writer_never_waits_on_readers() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let db = setup(&env);
    // Four long-lived readers, each in its own thread, holding the first snapshot.
    let hold = Arc::new(Barrier::new(5));
    let release = Arc::new(Barrier::new(5));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (env, db, hold, release) = (env.clone(), db.clone(), hold.clone(), release.clone());
        readers.push(thread::spawn(move || {
            let r = env.read().unwrap();
            let before = r.get(&db, b"counter").unwrap().unwrap().to_vec();
            hold.wait();
            release.wait();
            // After the writer committed, this snapshot still shows the old state.
            let after = r.get(&db, b"counter").unwrap().unwrap().to_vec();
            assert_eq!(before, after);
            u64_of(&after)
        }));
    }
    hold.wait();
    let old_id = env.read().unwrap().id();
    // Commit in another thread so a hang becomes a timeout, not a stuck test.
    let (tx, rx) = mpsc::channel();
    {
        let (env, db) = (env.clone(), db.clone());
        thread::spawn(move || {
            let mut w = env.write().unwrap();
            for k in 0..200u64 {
                w.put(&db, &acct(k % ACCOUNTS), &k.to_be_bytes()).unwrap();
            }
            w.put(&db, b"counter", &77u64.to_be_bytes()).unwrap();
            w.commit().unwrap();
            tx.send(()).unwrap();
        });
    }
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the write transaction did not commit while readers were open");
    // A new reader sees the commit while the old ones are still open.
    let r = env.read().unwrap();
    assert_eq!(r.id(), old_id + 1);
    assert_eq!(u64_of(r.get(&db, b"counter").unwrap().unwrap()), 77);
    drop(r);
    // The four old snapshots are still registered (stat's own reader is on the new one).
    assert_eq!(readers_on(&env, old_id), 4);
    release.wait();
    for h in readers {
        assert_eq!(h.join().unwrap(), 0, "an old reader saw the new commit");
    }
    assert_eq!(readers_on(&env, old_id), 0);
    assert_clean(&env);
}

fn assert_send<T: Send>() {}

#[test]
fn read_txn_moves_to_another_thread() {
    assert_send::<RoTxn>();
    assert_send::<Env>();
    assert_send::<Db>();
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let db = setup(&env);
    let r = env.read().unwrap();
    let id = r.id();
    // Warm the transaction's database cache on this thread, then move it.
    assert!(r.get(&db, &acct(3)).unwrap().is_some());
    // A commit after the snapshot began must stay invisible to it on the other thread.
    let mut w = env.write().unwrap();
    w.put(&db, &acct(3), &5u64.to_be_bytes()).unwrap();
    w.commit().unwrap();
    let h = thread::spawn(move || {
        let (all, sum, counter) = snapshot(&r, &db);
        let v3 = u64_of(r.get(&db, &acct(3)).unwrap().unwrap());
        (r.id(), all.len(), sum, counter, v3)
    });
    let (got_id, n, sum, counter, v3) = h.join().unwrap();
    assert_eq!(got_id, id);
    assert_eq!(
        (n as u64, sum, counter, v3),
        (ACCOUNTS, TOTAL, 0, START_BALANCE)
    );
    // The reader slot was released when the transaction dropped on the other thread.
    assert_eq!(readers_on(&env, id), 0);
}

#[test]
fn second_writer_blocks_until_the_first_commits() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let db = setup(&env);
    let mut first: RwTxn = env.write().unwrap();
    first.put(&db, b"from-first", b"1").unwrap();
    let (tx, rx) = mpsc::channel();
    let second = {
        let (env, db) = (env.clone(), db.clone());
        thread::spawn(move || {
            let mut w = env.write().unwrap();
            tx.send(()).unwrap();
            // The second writer starts from the first writer's commit.
            let seen = w.get(&db, b"from-first").unwrap().map(|v| v.to_vec());
            w.put(&db, b"from-second", b"2").unwrap();
            w.commit().unwrap();
            seen
        })
    };
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(300)),
        Err(mpsc::RecvTimeoutError::Timeout),
        "a second write transaction began while the first was open"
    );
    first.commit().unwrap();
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the second writer did not proceed after the first committed");
    assert_eq!(second.join().unwrap(), Some(b"1".to_vec()));
    let r = env.read().unwrap();
    assert_eq!(r.get(&db, b"from-first").unwrap(), Some(&b"1"[..]));
    assert_eq!(r.get(&db, b"from-second").unwrap(), Some(&b"2"[..]));
    drop(r);

    // Aborting (dropping) also hands the lock on.
    let held = env.write().unwrap();
    let (tx, rx) = mpsc::channel();
    let env2 = env.clone();
    let h = thread::spawn(move || {
        let w = env2.write().unwrap();
        tx.send(()).unwrap();
        w.abort();
    });
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    drop(held);
    rx.recv_timeout(Duration::from_secs(10))
        .expect("dropping the first writer did not release the second");
    h.join().unwrap();
    assert_clean(&env);
}
