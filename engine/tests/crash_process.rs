//! Real process crashes: a child process (this test binary, re-run with an environment
//! variable) commits numbered transactions, each writing key `n` with a running checksum,
//! and prints every acknowledged `n`; the parent SIGKILLs it at random moments. After each
//! kill the environment must open, hold every acknowledged commit with an unbroken checksum
//! chain, and check clean. 20 rounds by default, 200 with `LEVIN_FULL=1`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use levin_engine::{Durability, Env, EnvOptions, Read};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CHILD_DIR: &str = "LEVIN_CRASH_CHILD_DIR";
const CHILD_MODE: &str = "LEVIN_CRASH_CHILD_MODE";
/// Commits per child run; after that it waits to be killed.
const COMMITS_PER_RUN: u64 = 300;

fn full() -> bool {
    std::env::var("LEVIN_FULL").is_ok_and(|v| v == "1")
}

fn options(d: Durability) -> EnvOptions {
    EnvOptions::new()
        .page_size(512)
        .spill_threshold(16 * 512)
        .max_map_size(1 << 30)
        .durability(d)
}

/// FNV-1a, 64-bit: the running checksum.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Filler stored after the checksum in commit `n`'s value: mostly none, sometimes enough
/// for overflow pages.
fn filler(n: u64) -> Vec<u8> {
    let len = if n.is_multiple_of(8) {
        (n * 7919 % 1500) as usize
    } else {
        0
    };
    (0..len).map(|i| (n as usize + i) as u8).collect()
}

fn next_sum(prev: u64, n: u64) -> u64 {
    fnv(fnv(prev, &n.to_be_bytes()), &filler(n))
}

/// Reads the chain: every key 1..=last present, in order, with the right checksums.
/// Returns `last` (0 if empty).
fn verify_chain(env: &Env) -> Result<u64, String> {
    let r = env.read().map_err(|e| e.to_string())?;
    if !r
        .db_names()
        .map_err(|e| e.to_string())?
        .contains(&"seq".to_string())
    {
        return Ok(0);
    }
    let seq = r.open_db("seq").map_err(|e| e.to_string())?;
    let mut sum = FNV_START;
    let mut last = 0u64;
    for kv in r.iter(&seq).map_err(|e| e.to_string())? {
        let (k, v) = kv.map_err(|e| e.to_string())?;
        let n = u64::from_be_bytes(k.try_into().map_err(|_| "bad key length")?);
        if n != last + 1 {
            return Err(format!("commit {} missing (next key is {n})", last + 1));
        }
        sum = next_sum(sum, n);
        let want: Vec<u8> = sum.to_be_bytes().into_iter().chain(filler(n)).collect();
        if v != want.as_slice() {
            return Err(format!("commit {n}: wrong value or checksum"));
        }
        last = n;
    }
    let meta = r.open_db("meta").map_err(|e| e.to_string())?;
    let recorded = r
        .get(&meta, b"last")
        .map_err(|e| e.to_string())?
        .map(|v| u64::from_be_bytes(v.try_into().unwrap_or([0; 8])));
    if recorded != Some(last) {
        return Err(format!(
            "meta says the last commit is {recorded:?}, seq ends at {last}"
        ));
    }
    Ok(last)
}

fn child_main(dir: &Path, mode: &str) {
    let d = match mode {
        "nometasync" => Durability::NoMetaSync,
        "nosync" => Durability::NoSync,
        _ => Durability::Durable,
    };
    let env = Env::open_with(dir, options(d)).expect("child: open");
    let last = verify_chain(&env).expect("child: chain on open");
    let mut sum = {
        let mut s = FNV_START;
        for n in 1..=last {
            s = next_sum(s, n);
        }
        s
    };
    for n in last + 1..=last + COMMITS_PER_RUN {
        sum = next_sum(sum, n);
        let mut w = env.write().expect("child: begin");
        let seq = w.create_db("seq").unwrap();
        let meta = w.create_db("meta").unwrap();
        let churn = w.create_db("churn").unwrap();
        let value: Vec<u8> = sum.to_be_bytes().into_iter().chain(filler(n)).collect();
        w.put(&seq, &n.to_be_bytes(), &value).unwrap();
        w.put(&meta, b"last", &n.to_be_bytes()).unwrap();
        // Churn: rewrite and delete keys so pages are freed and reused.
        let k = (n % 400).to_be_bytes();
        w.put(&churn, &k, &vec![n as u8; (n % 700) as usize])
            .unwrap();
        w.delete(&churn, &((n * 7) % 400).to_be_bytes()).unwrap();
        w.commit().expect("child: commit");
        println!("ack {n}");
    }
    // Done: wait to be killed (bounded, in case the parent is gone).
    for _ in 0..6000 {
        std::thread::sleep(Duration::from_millis(10));
    }
}

// Why this test is ignored: it is the child process of `sigkill_at_random_moments`, which
// re-runs this binary with `--ignored --exact crash_child` and kills it at random moments;
// run on its own it has no directory to work in and does nothing.
// Plan: keep it ignored. It is not skipped coverage: it runs every time its parent test
// runs (in scripts/test-all and CI), so no issue is needed to un-ignore it.
#[test]
// Reason: the child side of `sigkill_at_random_moments` (see above); plan: stays ignored,
// since its parent runs it on every test run.
#[ignore = "the child side of sigkill_at_random_moments; does nothing when run directly"]
fn crash_child() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        let mode = std::env::var(CHILD_MODE).unwrap_or_default();
        child_main(Path::new(&dir), &mode);
    }
}

#[test]
fn sigkill_at_random_moments() {
    use std::os::unix::process::ExitStatusExt;
    let rounds = if full() { 200 } else { 20 };
    let seed: u64 = std::env::var("LEVIN_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let stderr_path = dir.path().join("child-stderr");
    let exe = std::env::current_exe().unwrap();
    let mut acked_max = 0u64;
    let mut rounds_with_acks = 0;
    let mut unacked_survivors = 0;
    for round in 0..rounds {
        let mode = ["durable", "nometasync", "nosync"][round % 3];
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, &db)
            .env(CHILD_MODE, mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("ack ") {
                    let _ = tx.send(n.parse::<u64>().unwrap());
                }
            }
        });
        // Kill it soon after it starts, mid-open or mid-commit, or later on.
        let delay = if rng.gen_bool(0.2) {
            rng.gen_range(0..5)
        } else {
            rng.gen_range(5..60)
        };
        std::thread::sleep(Duration::from_millis(delay));
        let early_exit = child.try_wait().unwrap();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        assert!(
            early_exit.is_none() && status.signal() == Some(9),
            "round {round} ({mode}): the child exited by itself ({status:?}):\n{stderr}"
        );
        let acks: Vec<u64> = rx.try_iter().collect();
        for (i, &n) in acks.iter().enumerate() {
            let want = if i == 0 { None } else { Some(acks[i - 1] + 1) };
            assert!(
                want.is_none_or(|w| w == n) && n > acked_max,
                "round {round}: acknowledgements out of order: {acks:?} after {acked_max}"
            );
        }
        if let Some(&n) = acks.last() {
            acked_max = n;
            rounds_with_acks += 1;
        }
        // Recover in this process; every acknowledged commit must be there.
        let env = Env::open_with(&db, options(Durability::Durable))
            .unwrap_or_else(|e| panic!("round {round} ({mode}, seed {seed}): open: {e}"));
        let last = verify_chain(&env)
            .unwrap_or_else(|e| panic!("round {round} ({mode}, seed {seed}): {e}"));
        assert!(
            last >= acked_max,
            "round {round} ({mode}, seed {seed}): acknowledged commit {acked_max} lost; the file ends at {last}"
        );
        if last > acked_max {
            unacked_survivors += 1;
            acked_max = last;
        }
        let report = env.check().unwrap();
        assert!(
            report.is_ok(),
            "round {round} ({mode}, seed {seed}): {:?}",
            report.problems
        );
        assert_eq!(
            report.reachable_pages + report.free_pages + 2,
            report.total_pages,
            "round {round}: page accounting"
        );
        drop(env);
    }
    eprintln!(
        "{rounds} rounds, {acked_max} commits, {rounds_with_acks} rounds acknowledged commits, \
         {unacked_survivors} kills landed between a commit and its acknowledgement"
    );
    assert!(
        rounds_with_acks * 2 >= rounds,
        "too few rounds got as far as a commit: {rounds_with_acks} of {rounds}"
    );
}
