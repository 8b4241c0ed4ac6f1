//! Fuzz target: Datalevin's key-value vocabulary as the server and the pod answer it
//! (`levin_datalog::kv_typed`). The input is EDN text: a vector of steps (`[:open-dbi n]`,
//! `[:open-list-dbi n]`, `[:kv-tx forms]`, `[:read "get-range" args...]`, the shape of
//! query/tests/data/kv_random.edn), applied to a fresh store. Each step must answer or
//! refuse, never panic, and a refused transaction must leave the store as it was.

#![no_main]

use levin_datalog::kv_typed::{self, KvArgs, ReadOpts};
use levin_edn::Edn;
use levin_engine::{Durability, Env, EnvOptions, Range, Read};
use libfuzzer_sys::fuzz_target;

/// Every sub-database's pairs, as bytes.
fn snapshot(env: &Env) -> Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)> {
    let r = env.read().expect("a read transaction");
    let mut out = vec![];
    for name in r.db_names().expect("the names") {
        let db = r.open_db(&name).expect("a listed database opens");
        let pairs = r
            .range(&db, Range::all())
            .expect("a range")
            .map(|kv| {
                let (k, v) = kv.expect("a pair");
                (k.to_vec(), v.to_vec())
            })
            .collect();
        out.push((name, pairs));
    }
    out
}

fn step(env: &Env, s: &[Edn]) {
    let Some(op) = s.first().and_then(Edn::as_keyword) else {
        return;
    };
    match op.name() {
        "open-dbi" | "open-list-dbi" => {
            let Some(name) = s.get(1).and_then(Edn::as_str) else {
                return;
            };
            let mut w = env.write().expect("the writer");
            if kv_typed::open_dbi(&mut w, name, op.name() == "open-list-dbi").is_ok() {
                let _ = w.commit();
            }
        }
        "kv-tx" => {
            let Some(forms) = s.get(1).and_then(Edn::as_seq) else {
                return;
            };
            let before = snapshot(env);
            let mut w = env.write().expect("the writer");
            if forms
                .iter()
                .try_for_each(|f| kv_typed::apply_form(&mut w, f))
                .is_ok()
            {
                let _ = w.commit();
            } else {
                drop(w);
                assert_eq!(snapshot(env), before, "a refused transaction wrote");
            }
        }
        "read" => {
            let Some(f) = s.get(1).and_then(Edn::as_str) else {
                return;
            };
            let mut args = vec![Edn::Nil];
            args.extend_from_slice(&s[2..]);
            let r = env.read().expect("a read transaction");
            let opts = ReadOpts {
                limit: Some(1000),
                seed: 7,
            };
            let _ = kv_typed::read_op(&r, &KvArgs { op: f, args: &args }, &opts);
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(steps) = levin_edn::read(text) else {
        return;
    };
    let Some(steps) = steps.as_seq() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let opts = EnvOptions::new()
        .durability(Durability::NoSync)
        .max_map_size(1 << 28);
    let env = Env::open_with(dir.path(), opts).expect("a fresh store opens");
    for s in steps.iter().take(32) {
        if let Some(s) = s.as_seq() {
            step(&env, s);
        }
    }
});
