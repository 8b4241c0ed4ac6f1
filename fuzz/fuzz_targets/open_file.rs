//! Fuzz target: open arbitrary or corrupted bytes as a data file. Opening, reading every
//! database forwards and backwards, counting, `check()`, and a write transaction must each
//! return valid data or an error; never panic, hang or touch memory outside the map.
//!
//! Input: the first byte picks the mode. Even: the rest is the file. Odd: the rest is a list
//! of 4-byte edits (24-bit offset, byte) applied to a valid small file with 512-byte pages
//! (several databases, list values, overflow pages, freed pages); bit 1 also truncates it.
#![no_main]

use std::sync::OnceLock;

use levin_engine::{Env, Range, Read, DATA_FILE};

#[path = "../support/small_file.rs"]
mod small_file;
use libfuzzer_sys::fuzz_target;
use small_file::{opts, scratch};

/// A valid small data file.
fn seed_file() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = scratch();
        let env = Env::open_with(dir.path(), opts()).expect("seed env");
        for round in 0..3u32 {
            let mut w = env.write().unwrap();
            let a = w.create_db("a").unwrap();
            let l = w.create_list_db("l").unwrap();
            for i in 0..60u32 {
                let v = vec![(i + round) as u8; (i as usize * 37) % 900];
                w.put(&a, format!("key{i:03}").as_bytes(), &v).unwrap();
                w.put_list(&l, format!("l{}", i % 4).as_bytes(), &i.to_be_bytes())
                    .unwrap();
            }
            for i in (0..60u32).step_by(3 + round as usize) {
                w.delete(&a, format!("key{i:03}").as_bytes()).unwrap();
            }
            w.commit().unwrap();
        }
        drop(env);
        std::fs::read(dir.path().join(DATA_FILE)).expect("seed file")
    })
}

fn exercise(env: &Env) {
    if let Ok(r) = env.read() {
        if let Ok(names) = r.db_names() {
            for name in names {
                let Ok(db) = r.open_db(&name) else { continue };
                let mut keys = Vec::new();
                if let Ok(it) = r.iter(&db) {
                    for kv in it.take(10_000) {
                        match kv {
                            Ok((k, _)) => keys.push(k.to_vec()),
                            Err(_) => break,
                        }
                    }
                }
                if let Ok(it) = r.range(&db, Range::all().rev()) {
                    for kv in it.take(10_000) {
                        if kv.is_err() {
                            break;
                        }
                    }
                }
                for k in keys.iter().step_by(7) {
                    let _ = r.get(&db, k);
                    let _ = r.rank(&db, k);
                    let _ = r.count(&db, &Range::at_least(k));
                }
                let _ = r.len(&db);
                let _ = r.get_by_rank(&db, 3);
            }
        }
    }
    let _ = env.check();
    let _ = env.stat();
    // A write on top: must succeed or fail cleanly.
    if let Ok(mut w) = env.write() {
        let ok = (|| -> levin_engine::Result<()> {
            let db = w.create_db("a")?;
            for i in 0..20u32 {
                w.put(&db, format!("new{i}").as_bytes(), &[7; 300])?;
            }
            w.delete(&db, b"key001")?;
            Ok(())
        })();
        if ok.is_ok() {
            let _ = w.commit();
        }
    }
    let _ = env.check();
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let image: Vec<u8> = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let mut img = seed_file().to_vec();
        for e in rest.chunks_exact(4) {
            let off = u32::from_le_bytes([e[0], e[1], e[2], 0]) as usize % img.len();
            img[off] = e[3];
        }
        if mode & 2 != 0 {
            let cut = (rest.len() * 512 + mode as usize) % (img.len() + 1);
            img.truncate(cut);
        }
        img
    };
    let dir = scratch();
    std::fs::write(dir.path().join(DATA_FILE), &image).expect("write image");
    if let Ok(env) = Env::open_with(dir.path(), opts()) {
        exercise(&env);
    }
});
