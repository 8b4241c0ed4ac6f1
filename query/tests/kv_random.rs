//! Random key-value steps against Datalevin: tests/data/kv_random.edn, written by
//! `scripts/random-kv.py --seed 1`, with Datalevin's answers in tests/golden/. Each group is
//! a fresh store; its steps open a sub-database (`[:open-dbi n]`, `[:open-list-dbi n]`),
//! write (`[:kv-tx forms]`: one transaction, all or nothing) and read (`[:read "get-range"
//! args...]`: Datalevin's function and its arguments after the store), run here through
//! `levin_datalog::kv_typed`, the key-value vocabulary the server and the pod answer with.
//! Every answer, or refusal, must be Datalevin's; a refused transaction must change nothing.
//!
//! `scripts/differential-random --kv` generates fresh files for other seeds into a
//! directory `D` and runs `random_dir` (ignored otherwise) with `LEVIN_RANDOM_DIR=D`.
mod q_support;

use std::path::Path;

use levin_datalog::kv_typed::{self, KvArgs, ReadOpts};
use levin_edn::{read, Edn};
use levin_engine::{Env, EnvOptions, Read as _};
use q_support::golden;

#[test]
fn kv_random() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let (n, failures) = run_file_in(&tests.join("data"), &tests.join("golden"), "kv_random.edn");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(n >= 300, "{n} steps");
}

// Reason: it is the full mode, not a CI test: its steps are generated fresh by
// `scripts/differential-random --kv` (new seeds each run) and answered by Datalevin in the
// same run, so without that directory there is nothing to compare. The script runs it with
// `--ignored`; CI covers the checked-in seed through the test above. Plan: keep it
// ignored; CI runs the checked-in seed, and people run fresh seeds with the script.
#[test]
#[ignore = "full mode, run by scripts/differential-random --kv: it needs LEVIN_RANDOM_DIR, a directory of fresh key-value steps with Datalevin's answers"]
fn random_dir() {
    golden::run_random_dir("kv_", "steps", run_file_in);
}

/// Runs every group of `{data}/{file}`; returns the number of steps and a message per
/// disagreement with `{golden}/{file}`.
fn run_file_in(data: &Path, golden_dir: &Path, file: &str) -> (usize, Vec<String>) {
    let path = data.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let groups = read(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let oracle = golden::Golden::load_from(golden_dir, file);
    let (mut steps, mut failures) = (0, vec![]);
    for g in groups.as_seq().expect("a vector of groups") {
        let name = golden::plain(g.get_kw("", "name").unwrap_or(&Edn::Nil));
        let dir = tempfile::tempdir().unwrap();
        let env = Env::open_with(dir.path(), EnvOptions::new()).unwrap();
        let empty = vec![];
        let group_steps = g
            .get_kw("", "steps")
            .and_then(Edn::as_seq)
            .unwrap_or(&empty);
        for (i, st) in group_steps.iter().enumerate() {
            steps += 1;
            let s = st.as_seq().expect("a step is a vector");
            let answer = step(&env, s);
            if let Some(m) = golden::check(
                oracle.answer(&name, i, st),
                &answer,
                golden::Order::Exact,
                None,
                None,
            ) {
                failures.push(format!("{name} step {i} {st}:\n  {m}"));
            }
        }
    }
    (steps, failures)
}

/// Levin's answer to one step: `Ok(nil)` for an opened database or a committed transaction.
fn step(env: &Env, s: &[Edn]) -> Result<Edn, String> {
    let op = s[0].as_keyword().map(|k| k.name().to_string());
    match op.as_deref() {
        Some("open-dbi") | Some("open-list-dbi") => {
            let name = s[1].as_str().expect("a sub-database name");
            let mut w = env.write().map_err(|e| e.to_string())?;
            kv_typed::open_dbi(&mut w, name, op.as_deref() == Some("open-list-dbi"))
                .map_err(|e| e.to_string())?;
            w.commit().map_err(|e| e.to_string())?;
            Ok(Edn::Nil)
        }
        Some("kv-tx") => {
            let before = snapshot(env);
            let mut w = env.write().map_err(|e| e.to_string())?;
            let applied = s[1]
                .as_seq()
                .expect("a vector of forms")
                .iter()
                .try_for_each(|f| kv_typed::apply_form(&mut w, f));
            match applied {
                Ok(()) => {
                    w.commit().map_err(|e| e.to_string())?;
                    Ok(Edn::Nil)
                }
                Err(e) => {
                    drop(w);
                    assert_eq!(snapshot(env), before, "a refused transaction wrote");
                    Err(e.to_string())
                }
            }
        }
        Some("read") => {
            let f = s[1].as_str().expect("a function name");
            // The store comes first in Datalevin's arguments; kv_typed does not read it.
            let mut args = vec![Edn::Nil];
            args.extend_from_slice(&s[2..]);
            let r = env.read().map_err(|e| e.to_string())?;
            kv_typed::read_op(&r, &KvArgs { op: f, args: &args }, &ReadOpts::default())
                .map_err(|e| e.to_string())
        }
        _ => panic!("unknown key-value step {}", s[0]),
    }
}

/// Each sub-database's name and pairs, as bytes.
type Snapshot = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

/// Every sub-database's pairs: what a refused transaction must leave alone.
fn snapshot(env: &Env) -> Snapshot {
    let r = env.read().unwrap();
    let mut out = vec![];
    for name in r.db_names().unwrap() {
        let db = r.open_db(&name).unwrap();
        let pairs = r
            .range(&db, levin_engine::Range::all())
            .unwrap()
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect();
        out.push((name, pairs));
    }
    out
}
