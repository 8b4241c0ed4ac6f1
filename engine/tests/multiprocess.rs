//! Several processes on one environment: a writer process and reader processes run at once;
//! every reader sees only whole commits (a checksum each commit writes agrees with the data
//! the reader reads); readers and the writer are SIGKILLed at random moments and restarted;
//! afterwards the environment holds exactly the acknowledged commits, page accounting holds,
//! and the dead readers' slots are reclaimed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use levin_engine::{Durability, Env, EnvOptions, Read};

const ROLE: &str = "LEVIN_MP_ROLE";
const DIR: &str = "LEVIN_MP_DIR";

fn opts() -> EnvOptions {
    EnvOptions::new()
        .page_size(1024)
        .durability(Durability::NoSync)
}

fn value_of(n: u64) -> Vec<u8> {
    let len = 10 + (n * 7919 % 300) as usize;
    (0..len).map(|i| (n as usize * 31 + i) as u8).collect()
}

fn checksum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0u64, |acc, x| acc.wrapping_mul(1_000_003).wrapping_add(x))
}

fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Reads the whole database and checks it against the checksum stored with it.
fn verify_snapshot(env: &Env) -> Result<u64, String> {
    let r = env.read().map_err(|e| e.to_string())?;
    let db = r.open_db("d").map_err(|e| e.to_string())?;
    let Some(meta) = r.get(&db, b"~meta").map_err(|e| e.to_string())? else {
        return Ok(0);
    };
    let n = u64::from_be_bytes(meta[..8].try_into().unwrap());
    let want = u64::from_be_bytes(meta[8..16].try_into().unwrap());
    let mut hashes = Vec::new();
    for item in r.iter(&db).map_err(|e| e.to_string())? {
        let (k, v) = item.map_err(|e| e.to_string())?;
        if k != b"~meta" {
            hashes.push(hash(v));
        }
    }
    if hashes.len() as u64 != n.min(500) {
        return Err(format!(
            "snapshot of commit {n} holds {} keys",
            hashes.len()
        ));
    }
    let got = checksum(hashes.into_iter());
    if got != want {
        return Err(format!(
            "snapshot of commit {n}: checksum {got:x}, meta says {want:x}"
        ));
    }
    Ok(n)
}

/// The child processes' entry point: a no-op unless the parent set LEVIN_MP_ROLE.
#[test]
fn mp_child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let dir = std::env::var(DIR).unwrap();
    let env = match Env::open_with(&dir, opts()) {
        Ok(env) => env,
        Err(e) => {
            println!("open failed: {e}");
            return;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    match role.as_str() {
        "writer" => {
            let db = env.read().unwrap().open_db("d").unwrap();
            while Instant::now() < deadline {
                let mut w = env.write().unwrap();
                // Read the last commit number inside the write transaction: another writer
                // process may have committed since.
                let n = match w.get(&db, b"~meta").unwrap() {
                    Some(m) => u64::from_be_bytes(m[..8].try_into().unwrap()) + 1,
                    None => 1,
                };
                // Keys cycle over 500 slots, so old pages are freed and reused constantly.
                w.put(&db, format!("k{:04}", n % 500).as_bytes(), &value_of(n))
                    .unwrap();
                let mut hashes = Vec::new();
                for item in w.iter(&db).unwrap() {
                    let (k, v) = item.unwrap();
                    if k != b"~meta" {
                        hashes.push(hash(v));
                    }
                }
                let mut meta = n.to_be_bytes().to_vec();
                meta.extend_from_slice(&checksum(hashes.into_iter()).to_be_bytes());
                w.put(&db, b"~meta", &meta).unwrap();
                w.commit().unwrap();
                println!("{n}");
            }
        }
        "reader" => {
            while Instant::now() < deadline {
                if let Err(e) = verify_snapshot(&env) {
                    eprintln!("reader saw a broken snapshot: {e}");
                    std::process::exit(3);
                }
            }
        }
        // Only opens the environment; reports the outcome on stdout.
        "open" => println!("opened"),
        other => panic!("unknown role {other}"),
    }
}

fn spawn(role: &str, dir: &std::path::Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "mp_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Kills a child and returns the commits it acknowledged (writer) and whether it failed.
fn kill_and_collect(mut c: Child) -> (Vec<u64>, Option<String>) {
    let _ = c.kill();
    let out = c.wait_with_output().unwrap();
    let acked = BufReader::new(&out.stdout[..])
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let failed = (out.status.code() == Some(3) || err.contains("panicked")).then_some(err);
    (acked, failed)
}

#[test]
fn writer_and_readers_in_separate_processes_survive_kills() {
    let dir = tempfile::tempdir().unwrap();
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        let mut w = env.write().unwrap();
        w.create_db("d").unwrap();
        w.commit().unwrap();
    }
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    let rounds = if std::env::var("LEVIN_FULL").is_ok() {
        40
    } else {
        8
    };
    let mut acked_max = 0u64;
    // This process keeps the environment open throughout, so the lock file is never reset
    // between rounds: the slots of killed readers must be reclaimed, not wiped.
    let watch = Env::open_with(dir.path(), opts()).unwrap();
    let mut reclaimed = 0;
    for round in 0..rounds {
        // Two writer processes contend for the cross-process writer lock.
        let writers: Vec<Child> = (0..2).map(|_| spawn("writer", dir.path())).collect();
        let mut readers: Vec<Child> = (0..3).map(|_| spawn("reader", dir.path())).collect();
        let until = Instant::now() + Duration::from_millis(300 + next(400));
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20 + next(60)));
            // Kill a random reader mid-read and start another.
            let i = next(readers.len() as u64) as usize;
            let (_, failed) = kill_and_collect(readers.swap_remove(i));
            assert!(failed.is_none(), "round {round}: {}", failed.unwrap());
            readers.push(spawn("reader", dir.path()));
        }
        for w in writers {
            let (acked, failed) = kill_and_collect(w);
            assert!(
                failed.is_none(),
                "round {round}: writer failed: {}",
                failed.unwrap()
            );
            acked_max = acked_max.max(acked.last().copied().unwrap_or(0));
        }
        for r in readers {
            let (_, failed) = kill_and_collect(r);
            assert!(failed.is_none(), "round {round}: {}", failed.unwrap());
        }
        // All children are dead: the environment holds every acknowledged commit (and at
        // most the one in flight when the last writer died), whole.
        let n = verify_snapshot(&watch).unwrap();
        assert!(
            n >= acked_max && n <= acked_max + 1,
            "round {round}: database at commit {n}, writers acknowledged {acked_max}"
        );
        acked_max = n;
        let report = watch.check().unwrap();
        assert!(report.is_ok(), "round {round}: {:?}", report.problems);
        assert_eq!(
            report.reachable_pages + report.free_pages + 2,
            report.total_pages
        );
        reclaimed += watch.reclaim_dead_readers();
        assert!(
            watch.stat().unwrap().readers.is_empty(),
            "dead readers' slots are reclaimed"
        );
    }
    assert!(acked_max > 0, "the writers made progress");
    assert!(
        reclaimed > 0,
        "a reader killed inside a read transaction had its slot reclaimed"
    );
    drop(watch);
    // A fresh open (every user is gone, so the lock file is reset) sees the same data.
    let env = Env::open_with(dir.path(), opts()).unwrap();
    assert_eq!(verify_snapshot(&env).unwrap(), acked_max);
}

#[test]
fn a_lock_file_of_another_version_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    // While this process uses the environment, pretend the lock file was laid out by
    // another build: another process must refuse it rather than misread it.
    let lock = dir.path().join(levin_txn::LOCK_FILE);
    let f = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &99u32.to_le_bytes(), 8).unwrap();
    let out = spawn("open", dir.path()).wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("open failed: lock file") && text.contains("lock format version 99"),
        "{text}"
    );
    drop(env);
    // Once no process uses it, the next open resets it.
    let out = spawn("open", dir.path()).wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("opened"));
}
