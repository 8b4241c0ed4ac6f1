//! Scale: one million random 16-byte keys with 100-byte values written in one transaction,
//! reopened, read back and verified by point lookups and a full scan, and checked.

use std::time::Instant;

use levin_engine::{Durability, Env, EnvOptions, Range, Read};

const N: u64 = 1_000_000;

/// SplitMix64: a seeded bijection on u64, so distinct inputs give distinct outputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Key `i`: 16 pseudo-random bytes (the first 8 are a bijection of `i`, so keys are distinct).
fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&mix(i).to_be_bytes());
    k[8..].copy_from_slice(&mix(i ^ 0x5555_5555_5555_5555).to_be_bytes());
    k
}

/// The 100-byte value of key `i`: the key, `i`, and bytes derived from the key, so a scan
/// can verify every entry and tell which key it is.
fn value(k: &[u8], i: u64) -> [u8; 100] {
    let mut v = [0u8; 100];
    let mut x = u64::from_be_bytes(k[8..].try_into().unwrap()) | 1;
    for chunk in v.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    v[..16].copy_from_slice(k);
    v[16..24].copy_from_slice(&i.to_le_bytes());
    v
}

#[test]
fn one_million_random_keys() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        EnvOptions::new()
            .max_map_size(8 << 30)
            .durability(Durability::NoSync)
            .spill_threshold(128 << 20)
    };
    let t = Instant::now();
    {
        let env = Env::open_with(dir.path(), opts()).unwrap();
        let mut w = env.write().unwrap();
        let db = w.create_db("scale").unwrap();
        for i in 0..N {
            let k = key(i);
            w.put(&db, &k, &value(&k, i)).unwrap();
        }
        assert_eq!(w.len(&db).unwrap(), N);
        w.commit().unwrap();
        env.sync().unwrap();
    }
    let load = t.elapsed();

    let t = Instant::now();
    let env = Env::open_with(dir.path(), opts()).unwrap();
    let r = env.read().unwrap();
    let db = r.open_db("scale").unwrap();
    assert_eq!(r.len(&db).unwrap(), N);
    assert_eq!(r.count(&db, &Range::all()).unwrap(), N);
    // Point lookups of every seventh key, in a different order from the insertion order.
    for j in 0..N / 7 {
        let i = (j * 7_919) % N;
        let k = key(i);
        let v = r
            .get(&db, &k)
            .unwrap()
            .unwrap_or_else(|| panic!("key {i} missing"));
        assert_eq!(v, &value(&k, i)[..], "value of key {i}");
    }
    // A full scan: sorted, every value consistent with its key, and every key seen once.
    let mut seen = vec![false; N as usize];
    let mut n = 0u64;
    let mut prev: Option<&[u8]> = None;
    for item in r.iter(&db).unwrap() {
        let (k, v) = item.unwrap();
        assert_eq!(k.len(), 16);
        let i = u64::from_le_bytes(v[16..24].try_into().unwrap());
        assert!(i < N && !seen[i as usize], "bad or repeated index {i}");
        seen[i as usize] = true;
        assert_eq!(k, &key(i)[..]);
        assert_eq!(v, &value(k, i)[..]);
        if let Some(p) = prev {
            assert!(p < k, "scan out of order");
        }
        prev = Some(k);
        n += 1;
    }
    assert_eq!(n, N);
    assert!(seen.iter().all(|&b| b));
    // Ranks agree with the scan at a few points.
    for rank in [0, 1, N / 3, N / 2, N - 1] {
        let (k, _) = r.get_by_rank(&db, rank).unwrap().unwrap();
        assert_eq!(r.rank(&db, k).unwrap(), Some(rank));
    }
    assert!(r.get_by_rank(&db, N).unwrap().is_none());
    drop(r);
    let verify = t.elapsed();

    let t = Instant::now();
    let rep = env.check().unwrap();
    assert!(rep.is_ok(), "check found problems: {:?}", &rep.problems);
    assert_eq!(rep.reachable_pages + rep.free_pages + 2, rep.total_pages);
    let st = env.stat().unwrap();
    let ds = st.databases.iter().find(|d| d.name == "scale").unwrap();
    assert_eq!(ds.entries, N);
    assert_eq!(ds.overflow_pages, 0);
    eprintln!(
        "scale: load {load:?}, reopen+verify {verify:?}, check {:?}; {} pages of {} bytes, depth {}",
        t.elapsed(),
        st.pages,
        st.page_size,
        ds.depth
    );
}
