//! Exclusive mode keeps its reader table in process memory, so another process using the
//! environment at the same time could have pages rewritten under its reads. The data file's
//! `flock` makes that impossible: an exclusive open fails while any other process has the
//! environment open, and every other open fails while the exclusive one lasts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use levin_engine::{Env, EnvOptions};

const DIR: &str = "LEVIN_EXCLUSIVE_DIR";
const MODE: &str = "LEVIN_EXCLUSIVE_MODE";

fn opts(exclusive: bool) -> EnvOptions {
    EnvOptions::new()
        .page_size(512)
        .max_map_size(1 << 28)
        .exclusive(exclusive)
}

/// The child's entry point (a no-op unless the parent set the variables): open, report,
/// and hold the environment until killed.
#[test]
fn exclusive_child_process() {
    let (Ok(dir), Ok(mode)) = (std::env::var(DIR), std::env::var(MODE)) else {
        return;
    };
    match Env::open_with(&dir, opts(mode == "exclusive")) {
        Ok(_env) => {
            println!("opened");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        Err(e) => println!("refused: {e}"),
    }
}

/// Runs the child with `mode` and returns its first report line and the child, if alive.
fn child(dir: &std::path::Path, mode: &str) -> (String, std::process::Child) {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "exclusive_child_process", "--nocapture"])
        .env(DIR, dir)
        .env(MODE, mode)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = c.stdout.take().unwrap();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        for word in ["refused", "opened"] {
            if let Some(at) = line.find(word) {
                return (line[at..].to_string(), c);
            }
        }
    }
    let _ = c.kill();
    let _ = c.wait();
    panic!("the child reported nothing");
}

#[test]
fn an_exclusive_user_and_other_users_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    Env::open_with(dir.path(), opts(false)).unwrap();

    // A shared user here: an exclusive open elsewhere is refused.
    let env = Env::open_with(dir.path(), opts(false)).unwrap();
    let (said, mut c) = child(dir.path(), "exclusive");
    let _ = c.kill();
    let _ = c.wait();
    assert!(said.starts_with("refused"), "{said}");
    assert!(said.contains("exclusive"), "{said}");
    drop(env);

    // An exclusive user elsewhere: opens here are refused, in either mode.
    let (said, mut c) = child(dir.path(), "exclusive");
    assert_eq!(said, "opened");
    let shared = Env::open_with(dir.path(), opts(false));
    let exclusive = Env::open_with(dir.path(), opts(true));
    let _ = c.kill();
    let _ = c.wait();
    let e = shared.expect_err("a shared open while another process is exclusive");
    assert!(e.to_string().contains("exclusive mode"), "{e}");
    assert!(exclusive.is_err());
    // Once it is gone, the environment opens again.
    Env::open_with(dir.path(), opts(true)).unwrap();
}
