//! A reader in another process is alive for exactly as long as that process: its slot is
//! never reclaimed while it lives, whatever PID namespace it lives in (containers sharing a
//! volume), and is reclaimed once it dies. Liveness is a record lock the kernel drops at
//! death, not `kill(pid, 0)`, which in another namespace asks about a different process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use levin_engine::{Env, EnvOptions};

const DIR: &str = "LEVIN_LIVENESS_DIR";

fn opts() -> EnvOptions {
    EnvOptions::new().page_size(512).max_map_size(1 << 28)
}

/// The child's entry point (a no-op unless the parent set LEVIN_LIVENESS_DIR): hold a read
/// transaction, say so, and wait to be killed.
#[test]
fn liveness_child_process() {
    let Ok(dir) = std::env::var(DIR) else {
        return;
    };
    let env = Env::open_with(&dir, opts()).unwrap();
    let r = env.read().unwrap();
    println!("ready {} {}", std::process::id(), r.id());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn test_binary_args() -> (String, Vec<String>) {
    let exe = std::env::current_exe().unwrap().display().to_string();
    let args = [
        "--exact",
        "liveness_child_process",
        "--nocapture",
        "--test-threads",
        "1",
    ];
    (exe, args.iter().map(|s| s.to_string()).collect())
}

/// The smallest process id of at least 3 that names no process in this namespace.
fn absent_pid() -> u32 {
    (3..)
        .find(|p| !Path::new(&format!("/proc/{p}")).exists())
        .unwrap()
}

/// Runs the child in a new PID namespace where its pid is one that no process here has,
/// so `kill(pid, 0)` from here says "no such process". None if `unshare` is not allowed.
fn spawn_in_new_namespace(dir: &Path, pid: u32) -> Option<Child> {
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return None;
    }
    // In the new namespace `sh` is pid 1; each /bin/true takes the next pid; the test
    // binary, run as a child (not exec'd), gets `pid`.
    let (exe, args) = test_binary_args();
    let script = format!(
        "i=2; while [ $i -lt {pid} ]; do /bin/true; i=$((i+1)); done; \"$0\" \"$@\"; exit $?"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--kill-child", "sh", "-c", &script, &exe])
        .args(&args);
    Some(cmd.env(DIR, dir).stdout(Stdio::piped()).spawn().unwrap())
}

fn spawn_here(dir: &Path) -> Child {
    let (exe, args) = test_binary_args();
    Command::new(exe)
        .args(args)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child's "ready PID TXN" line and returns its pid as it sees itself.
fn wait_ready(child: &mut Child) -> u32 {
    let out = child.stdout.take().unwrap();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        // The harness may print "test ... " before it on the same line.
        if let Some(at) = line.find("ready ") {
            return line[at + 6..].split(' ').next().unwrap().parse().unwrap();
        }
    }
    panic!("the child ended without starting its reader");
}

/// Kills the child when dropped, so a failing assertion leaves no reader running.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn assert_alive_then_reclaimed(dir: &Path, mut child: Reaper, child_pid: u32) {
    let env = Env::open_with(dir, opts()).unwrap();
    for _ in 0..3 {
        assert_eq!(
            env.reclaim_dead_readers(),
            0,
            "a live reader's slot was reclaimed"
        );
        let readers = env.stat().unwrap().readers;
        assert_eq!(readers.len(), 1, "{readers:?}");
        assert_eq!(readers[0].pid, child_pid);
    }
    // Its snapshot is kept from reuse: a writer's reuse limit sees it.
    let mut w = env.write().unwrap();
    let db = w.create_db("d").unwrap();
    w.put(&db, b"k", b"v").unwrap();
    w.commit().unwrap();
    assert_eq!(env.stat().unwrap().readers.len(), 1);

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    // The kernel dropped the dead reader's lock; its slot is reclaimed.
    let mut reclaimed = 0;
    for _ in 0..50 {
        reclaimed += env.reclaim_dead_readers();
        if reclaimed > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(reclaimed, 1);
    assert!(env.stat().unwrap().readers.is_empty());
}

fn make_env(dir: &Path) {
    let env = Env::open_with(dir, opts()).unwrap();
    let mut w = env.write().unwrap();
    w.create_db("d").unwrap();
    w.commit().unwrap();
}

/// A reader in another PID namespace, whose pid names no process in this one.
#[test]
fn a_reader_in_another_pid_namespace_is_alive_while_it_lives() {
    let dir = tempfile::tempdir().unwrap();
    make_env(dir.path());
    let pid = absent_pid();
    let Some(mut child) = spawn_in_new_namespace(dir.path(), pid) else {
        eprintln!("skipped: `unshare --pid` is not allowed here (see the same-namespace test)");
        return;
    };
    let child_pid = wait_ready(&mut child);
    let child = Reaper(child);
    assert_eq!(child_pid, pid, "the child's pid in its namespace");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} names no process here, so kill(pid, 0) would call the reader dead"
    );
    assert_alive_then_reclaimed(dir.path(), child, child_pid);
}

/// The same in one namespace (runs everywhere).
#[test]
fn a_reader_in_another_process_is_alive_while_it_lives() {
    let dir = tempfile::tempdir().unwrap();
    make_env(dir.path());
    let mut child = spawn_here(dir.path());
    let child_pid = wait_ready(&mut child);
    assert_eq!(child_pid, child.id());
    let child = Reaper(child);
    assert_alive_then_reclaimed(dir.path(), child, child_pid);
}
