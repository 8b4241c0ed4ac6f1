//! Hot backup while a writer keeps committing: the page-for-page copy reads the snapshot's
//! free pages, which the writer may reuse meanwhile, so it reads them with `pread` (never a
//! borrow of the map); every copy must open at one whole commit and check clean.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use levin_engine::{Durability, Env, EnvOptions, Read};

#[test]
fn page_copies_under_a_churning_writer_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::open_with(
        dir.path(),
        EnvOptions::new()
            .page_size(512)
            .max_map_size(1 << 30)
            .durability(Durability::NoSync),
    )
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let env = env.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                // Rewrite a cycle of keys so pages are freed and reused constantly; the
                // "round" key names the commit, and every value carries its round.
                let mut w = env.write().unwrap();
                let db = w.create_db("d").unwrap();
                for k in 0..40u64 {
                    let key = ((n * 40 + k) % 300).to_be_bytes();
                    w.put(&db, &key, &[(n % 251) as u8; 60]).unwrap();
                }
                w.put(&db, b"round", &n.to_be_bytes()).unwrap();
                w.commit().unwrap();
                n += 1;
            }
            n
        })
    };
    for i in 0..12 {
        let dest = dir.path().join(format!("copy{i}"));
        env.copy_to(&dest, false).unwrap();
        let copy = Env::open_with(&dest, EnvOptions::new().exclusive(true)).unwrap();
        let rep = copy.check().unwrap();
        assert!(rep.is_ok(), "copy {i}: {:?}", rep.problems);
        assert_eq!(rep.reachable_pages + rep.free_pages + 2, rep.total_pages);
        let r = copy.read().unwrap();
        if let Ok(db) = r.open_db("d") {
            let round =
                u64::from_be_bytes(r.get(&db, b"round").unwrap().unwrap().try_into().unwrap());
            // The keys the last commit wrote hold its round: one whole commit, not a mix.
            for k in 0..40u64 {
                let key = ((round * 40 + k) % 300).to_be_bytes();
                assert_eq!(r.get(&db, &key).unwrap().unwrap()[0], (round % 251) as u8);
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    let commits = writer.join().unwrap();
    assert!(commits > 12, "the writer kept committing ({commits})");
}
